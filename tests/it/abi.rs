//! The plugin boundary: refusing incompatible libraries, surviving panics.

use ferrobeam::config::DevicesFile;
use ferrobeam::{resolve, Node};
use ferrobeam_device_api::abi::ABI_VERSION;
use ferrobeam_device_api::{ErrorKind, Message};
use ferrobeam_tests::{NodeProcess, Scratch};

fn in_process(scratch: &Scratch) -> (std::sync::Arc<Node>, Vec<ferrobeam::registry::LoadError>) {
    let config = DevicesFile::default_at(&scratch.dir.join("devices.toml"));
    Node::start(config).expect("store opens")
}

/// An in-process node serving `libs` (crate names), every one of which must load; the scratch
/// folder it runs in goes with it.
fn serving(name: &str, libs: &[&str]) -> (Scratch, std::sync::Arc<Node>) {
    let scratch = Scratch::new(name);
    for lib in libs {
        scratch.install(lib);
    }
    let (node, errors) = in_process(&scratch);
    assert!(errors.is_empty(), "{errors:?}");
    (scratch, node)
}

#[test]
fn a_library_built_for_another_abi_is_refused_in_one_line() {
    let scratch = Scratch::new("abi");
    let lib = scratch.install("fixture-wrong-abi");
    scratch.install("ferrobeam-message");
    let (node, errors) = in_process(&scratch);
    assert_eq!(errors.len(), 1, "{errors:?}");
    let line = errors[0].to_string();
    assert!(!line.contains('\n'), "one line: {line}");
    assert!(
        line.contains(&lib.display().to_string()),
        "names the file: {line}"
    );
    let (theirs, ours) = (
        format!("device ABI {}", ABI_VERSION + 1),
        format!("ABI {ABI_VERSION}"),
    );
    assert!(
        line.contains(&theirs) && line.contains(&ours),
        "names the versions: {line}"
    );
    assert!(line.contains("rebuild"), "says how to fix it: {line}");
    // The other library serves.
    let base = Message::new().with("a", "b");
    let v = resolve::call_with(&node, "message@1.0", "a", &base, &Message::new()).unwrap();
    assert_eq!(v.as_str(), Some("b"));
    assert!(node.registry().get("future@1.0").is_none());
}

#[test]
fn a_panicking_method_is_a_500_and_the_device_keeps_serving() {
    let (_scratch, node) = serving("panic", &["fixture-panicky", "ferrobeam-message"]);
    let e = resolve::call_with(
        &node,
        "panicky@1.0",
        "boom",
        &Message::new(),
        &Message::new(),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Failure);
    assert!(
        e.reason().contains("boom: this device always panics here"),
        "{e}"
    );
    for _ in 0..3 {
        let v = resolve::call_with(&node, "panicky@1.0", "ok", &Message::new(), &Message::new())
            .unwrap();
        assert_eq!(
            v.as_message().and_then(|m| m.get_str("still")),
            Some("alive")
        );
    }
}

#[test]
fn a_library_whose_init_panics_is_refused_and_named_in_status() {
    let scratch = Scratch::new("init");
    scratch.install("fixture-panicky");
    let path = scratch.write_config("[devices.\"panicky@1.0\".options]\npanic_in_init = true\n");
    let (node, errors) = Node::start(DevicesFile::load(&path).unwrap()).unwrap();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].to_string().contains("told to panic in init"),
        "{}",
        errors[0]
    );
    assert!(node.registry().get("panicky@1.0").is_none());
    let (status, _) = node.registry().status();
    let entry = status.iter().find(|s| s.name == "panicky@1.0").unwrap();
    assert!(!entry.loaded);
    assert!(entry.last_error.as_deref().unwrap_or("").contains("panic"));
}

#[test]
fn over_http_a_wrong_abi_plugin_is_logged_and_the_others_serve() {
    let mut scratch =
        Scratch::with_first_party("abi-http", &["fixture-wrong-abi", "fixture-panicky"]);
    let mut node =
        NodeProcess::start_in(std::mem::replace(&mut scratch, Scratch::new("unused")), "");
    let r = node.get("/~mydev@1.0/info");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("version"), Some("1.0"));
    let log = node.log();
    assert!(
        log.contains("refusing device library") && log.contains("libfixture_wrong_abi.so"),
        "{log}"
    );
    // A panic inside a device is a 500 answer, and the node goes on.
    let r = node.get("/~panicky@1.0/boom");
    assert_eq!(r.status, 500, "{}", r.text());
    assert!(node.is_alive());
    assert_eq!(node.get("/~panicky@1.0/ok").status, 200);
}

#[test]
fn a_key_no_device_method_takes_is_passed_on_without_decoding_the_call() {
    use ferrobeam::registry::CallOutcome;
    let (_scratch, node) = serving("handles", &["ferrobeam-process", "ferrobeam-message"]);
    let process = node
        .registry()
        .get("process@1.0")
        .expect("process@1.0 loads");
    let garbage = b"not a wire frame";
    // `balances` is neither a method of process@1.0 nor a key its `handle` takes (HANDLES):
    // the library answers "no such key" before reading the messages, so the node asks
    // message@1.0 next.
    assert!(matches!(
        process.call("balances", garbage, garbage, &node.opts_wire()),
        CallOutcome::Unhandled
    ));
    // `as` is one `handle` takes: the call's messages are decoded, and these are refused.
    match process.call("as", garbage, garbage, &node.opts_wire()) {
        CallOutcome::Error(e) => assert!(e.reason().contains("malformed base"), "{e:?}"),
        other => panic!("expected an error, got {other:?}"),
    }
    // Through the resolver, the state's keys are message@1.0's as before.
    let state = Message::new()
        .with("device", "process@1.0")
        .with("balances", Message::new().with("owner", "7"));
    let v = resolve::call(&node, &state, "balances", &Message::new()).unwrap();
    assert_eq!(v.as_message().and_then(|m| m.get_str("owner")), Some("7"));
}
