//! The lua@5.3a vectors of `spec/process.md` §5 and §7 (L1–L3, L8, the `ao.resolve` vector,
//! the return protocol) on the device called in-process, through the wire encoding.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferrobeam_device_api::testing::{TestDevice, TestHost};
use ferrobeam_device_api::{ErrorKind, Message, Value};
use ferrobeam_lua::device::Lua53a;

const TEST_LUA: &str = r#"
function assoctable() return { a = 1, b = 2 } end
function ListTable() return { 1, 2, 3 } end
function hello(base, req) base.hello = req.name or "world" return base end
function sandboxed_fail() return os.getenv("PATH") end
function resolve_hello() return ao.resolve({ path = "/hello", hello = "Hello, AO world!" }) end
function caught() return "error", "Very bad, but Lua caught it." end
function args(a, b, c) return { first = a, second = b, third = c } end
function empty() return {} end
function loop() while true do end end
"#;
const SECOND: &str = "function test_second_script() return 4 end";

fn module(src: &str) -> Value {
    Value::from(
        Message::new()
            .with("content-type", "application/lua")
            .with("body", src),
    )
}

fn device() -> TestDevice<Lua53a> {
    let host = TestHost::new().with_resolver(|req| {
        if req.get_str("path") == Some("/hello") {
            return Ok(req.get("hello").cloned().unwrap_or(Value::from("")));
        }
        Err(ferrobeam_device_api::DeviceError::not_found("nothing here"))
    });
    TestDevice::<Lua53a>::with_host(host, Message::new()).unwrap()
}

fn base() -> Message {
    Message::new()
        .with("device", "lua@5.3a")
        .with("module", module(TEST_LUA))
}

#[test]
fn l1_an_associative_table_is_a_message_and_a_list_a_list() {
    let d = device();
    let out = d.call("assoctable", &base(), &Message::new()).unwrap();
    assert_eq!(out.as_message().unwrap().get("b"), Some(&Value::Integer(2)));
    let out = d.call("ListTable", &base(), &Message::new()).unwrap();
    assert_eq!(out, Value::List(vec![1.into(), 2.into(), 3.into()]));
    let out = d.call("empty", &base(), &Message::new()).unwrap();
    assert_eq!(out, Value::Message(Message::new()));
}

#[test]
fn l2_two_modules_load_into_one_vm() {
    let d = device();
    let b = Message::new().with("device", "lua@5.3a").with(
        "module",
        Value::List(vec![module(TEST_LUA), module(SECOND)]),
    );
    let out = d.call("test_second_script", &b, &Message::new()).unwrap();
    assert_eq!(out, Value::Integer(4));
}

#[test]
fn l3_the_base_is_kept_and_the_request_reaches_the_function() {
    let d = device();
    let b = base().with("test-value", 42);
    let out = d.call("hello", &b, &Message::new()).unwrap();
    let m = out.as_message().unwrap();
    assert_eq!(m.get("test-value"), Some(&Value::Integer(42)));
    assert_eq!(m.get_str("hello"), Some("world"));
    let out = d
        .call("hello", &b, &Message::new().with("name", "Alice"))
        .unwrap();
    assert_eq!(out.as_message().unwrap().get_str("hello"), Some("Alice"));
}

#[test]
fn function_and_parameters_override_the_key() {
    let d = device();
    let req = Message::new()
        .with("function", "args")
        .with("parameters", Value::List(vec![1.into(), "two".into()]));
    let out = d.call("anything", &base(), &req).unwrap();
    let m = out.as_message().unwrap();
    assert_eq!(m.get("first"), Some(&Value::Integer(1)));
    assert_eq!(m.get_str("second"), Some("two"));
    let names = d.call("functions", &base(), &Message::new()).unwrap();
    assert!(names
        .as_list()
        .unwrap()
        .contains(&Value::from("assoctable")));
}

#[test]
fn l8_the_sandbox_refuses_os_getenv_and_errors_have_their_status() {
    let d = device();
    let e = d
        .call("sandboxed_fail", &base(), &Message::new())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Failure, "{e}");
    assert!(e.reason().contains("getenv"), "{e}");
    let e = d.call("caught", &base(), &Message::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::BadRequest);
    assert_eq!(e.reason(), "Very bad, but Lua caught it.");
    let e = d
        .call("no_such_function", &base(), &Message::new())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let limited = base().with(
        "process",
        Message::new().with("lua-instruction-budget", 100_000),
    );
    let e = d.call("loop", &limited, &Message::new()).unwrap_err();
    assert!(
        e.reason().starts_with("lua: instruction budget exhausted"),
        "{e}"
    );
}

#[test]
fn ao_resolve_reaches_the_node() {
    let d = device();
    let out = d.call("resolve_hello", &base(), &Message::new()).unwrap();
    assert_eq!(out, Value::from("Hello, AO world!"));
}

#[test]
fn a_missing_module_is_not_found() {
    let d = device();
    let b = Message::new().with("module", "A".repeat(43));
    let e = d.call("x", &b, &Message::new()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.reason().contains("not found"), "{e}");
}
