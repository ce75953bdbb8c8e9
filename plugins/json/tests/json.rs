//! json@1.0: spec examples (codecs.md §8), vectors reused from structured.json, signed
//! messages surviving a JSON round trip, property tests and garbage input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferrobeam_device_api::{Message, Value};
use ferrobeam_json::{deserialize, from, parse, serialize, to, Error, CONTENT_TYPE};
use ferrobeam_structured::vectors::{self, expect_eq, Failures};
use proptest::prelude::*;

#[test]
fn spec_example_as_a_tabm_and_as_a_typed_message() {
    let msg = Message::new().with("a", 1);
    let tabm = ferrobeam_structured::from(&msg).unwrap();
    assert_eq!(
        to(&tabm).unwrap(),
        br#"{"a":"1","ao-types":"a=\"integer\""}"#
    );
    assert_eq!(to(&msg).unwrap(), br#"{"a":1}"#);
    assert_eq!(
        from(br#"{"a":"1","ao-types":"a=\"integer\""}"#).unwrap(),
        msg
    );
}

#[test]
fn the_guides_typed_forward_message_uses_json_types() {
    let msg = Message::new()
        .with("key", "abc")
        .with("list", vec![Value::from(1), Value::from(2), Value::from(3)])
        .with("map", Message::new().with("abc", "123"))
        .with("bool", true)
        .with("num", 123);
    assert_eq!(
        String::from_utf8(to(&msg).unwrap()).unwrap(),
        r#"{"bool":true,"key":"abc","list":[1,2,3],"map":{"abc":"123"},"num":123}"#
    );
    assert_eq!(from(&to(&msg).unwrap()).unwrap(), msg);
}

#[test]
fn escapes_like_otp() {
    let msg = Message::new().with("s", "q\"b\\\u{8}\t\n\u{c}\r\u{1}\u{1f}\u{7f}é/");
    assert_eq!(
        to(&msg).unwrap(),
        "{\"s\":\"q\\\"b\\\\\\b\\t\\n\\f\\r\\u0001\\u001F\u{7f}é/\"}".as_bytes()
    );
    assert!(matches!(
        to(&Message::new().with("b", vec![0xffu8])),
        Err(Error::NotUtf8(_))
    ));
}

#[test]
fn keys_follow_erlang_map_order() {
    let small: Message = (0..3)
        .map(|i| (format!("k{}", 2 - i), Value::from("v")))
        .collect();
    assert_eq!(to(&small).unwrap(), br#"{"k0":"v","k1":"v","k2":"v"}"#);
    let big: Message = (0..40)
        .map(|i| (format!("k{i:02}"), Value::from("v")))
        .collect();
    let text = String::from_utf8(to(&big).unwrap()).unwrap();
    let mut keys: Vec<String> = (0..40).map(|i| format!("k{i:02}")).collect();
    ferrobeam_structured::map_order::sort_in_map_order(&mut keys, |k| k.as_bytes());
    let want = format!(
        "{{{}}}",
        keys.iter()
            .map(|k| format!("\"{k}\":\"v\""))
            .collect::<Vec<_>>()
            .join(",")
    );
    assert_eq!(text, want);
    assert_eq!(from(text.as_bytes()).unwrap(), big);
}

#[test]
fn raw_json_values_are_kept() {
    let m = from(br#"{"n": 5, "f": 2.5, "b": false, "z": null, "l": [1, "a"], "o": {"x": "y"}}"#)
        .unwrap();
    assert_eq!(m.get("n"), Some(&Value::from(5)));
    assert_eq!(m.get("f"), Some(&Value::from(2.5)));
    assert_eq!(m.get("b"), Some(&Value::from(false)));
    assert_eq!(m.get("z"), Some(&Value::atom("null")));
    assert_eq!(m.get("l"), Some(&Value::List(vec![1.into(), "a".into()])));
    assert_eq!(m.get_message("o").and_then(|o| o.get_str("x")), Some("y"));
    // The meta@1.0 config example of the spec.
    let cfg = from(br#"{"test_option":"a","test_optionb":"b","test_deep":{"c":"c"}}"#).unwrap();
    assert_eq!(
        cfg.get_message("test_deep").and_then(|d| d.get_str("c")),
        Some("c")
    );
}

#[test]
fn serialize_and_deserialize() {
    let msg = Message::new().with("x", 7).with("priv_wallet", "secret");
    let s = serialize(&msg).unwrap();
    assert_eq!(s.get_str("content-type"), Some(CONTENT_TYPE));
    assert!(!s.get_str("body").unwrap().contains("secret"));
    assert_eq!(deserialize(&s, None).unwrap(), Message::new().with("x", 7));
    let other = Message::new().with("payload", s.get("body").unwrap().clone());
    assert_eq!(
        deserialize(&other, Some("payload")).unwrap(),
        Message::new().with("x", 7)
    );
    assert!(matches!(
        deserialize(&Message::new(), None),
        Err(Error::TargetNotFound(_))
    ));
}

#[test]
fn bad_input_is_an_error() {
    for bad in [
        &b""[..],
        b"[1,2]",
        b"\"s\"",
        b"{",
        b"{\"a\":}",
        b"{\"a\": 9999999999999999999}",
        b"\xff",
    ] {
        assert!(from(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
    }
    let deep = format!("{}{}", "{\"a\":".repeat(100), "}".repeat(100));
    assert!(from(deep.as_bytes()).is_err());
    assert!(from(br#"{"a":"1234567890123456","ao-types":"a=\"integer\""}"#).is_err());
}

/// Every structured.json encoding case also survives JSON, in both forms: message → JSON →
/// message, and TABM → JSON (all strings) → the same message
/// (modulo the legacy-TX defaults that any structured decode drops).
#[test]
fn structured_vectors_round_trip_through_json() {
    let mut failures = Failures::new();
    for case in vectors::cases("structured.json").unwrap() {
        if vectors::field(&case, "kind") != Ok("message_to_tabm")
            || vectors::name(&case) == "integer-16-digits"
        {
            continue;
        }
        let outcome = (|| {
            let msg = vectors::message(&case["message"])?;
            let tabm = vectors::message(&case["tabm"])?;
            let json = match to(&msg) {
                Ok(json) => json,
                // Non-UTF-8 binaries have no JSON form.
                Err(Error::NotUtf8(_)) if vectors::name(&case) == "non-utf8-binary" => {
                    return Ok(())
                }
                Err(e) => return Err(e.to_string()),
            };
            // The TABM is written as HyperBEAM writes it: every leaf a string.
            let tabm_json = to(&tabm).map_err(|e| e.to_string())?;
            expect_eq(
                "parsed TABM JSON",
                &tabm,
                &parse(&tabm_json).map_err(|e| e.to_string())?,
            )?;
            // Both forms read back to the same typed message.
            let want = ferrobeam_structured::to(&tabm).map_err(|e| e.to_string())?;
            expect_eq("decoded", &want, &from(&json).map_err(|e| e.to_string())?)?;
            expect_eq(
                "decoded TABM JSON",
                &want,
                &from(&tabm_json).map_err(|e| e.to_string())?,
            )
        })();
        failures.record(vectors::name(&case), outcome);
    }
    failures.finish("structured.json via json@1.0", 28);
}

/// A signed message keeps its commitments (as a nested object) through JSON, and they still
/// check out: the IDs and the verifier's base are unchanged.
#[test]
fn signed_messages_survive_json() {
    let mut failures = Failures::new();
    for case in vectors::cases("ids.json").unwrap() {
        if vectors::field(&case, "kind") != Ok("signed") {
            continue;
        }
        let outcome = (|| {
            let signed = vectors::message(&case["signed_tabm"])?;
            let json = ferrobeam_json::to_tabm_json(&signed).map_err(|e| e.to_string())?;
            let back = from(&json).map_err(|e| e.to_string())?;
            for (mode, field) in [
                (ferrobeam_httpsig::IdMode::All, "id_all"),
                (ferrobeam_httpsig::IdMode::Default, "id_default"),
                (ferrobeam_httpsig::IdMode::None, "id_none"),
            ] {
                let id = ferrobeam_httpsig::id(&back, mode).map_err(|e| e.to_string())?;
                expect_eq(field, &vectors::field(&case, field)?.to_owned(), &id)?;
            }
            for c in case["commitments"].as_array().into_iter().flatten() {
                let id = c["commitment_id"].as_str().unwrap_or_default();
                let v =
                    ferrobeam_httpsig::verification_input(&back, id).map_err(|e| e.to_string())?;
                expect_eq(
                    "base",
                    &c["signature_base"].as_str().unwrap_or_default().to_owned(),
                    &vectors::text(&v.base),
                )?;
            }
            Ok(())
        })();
        failures.record(vectors::name(&case), outcome);
    }
    failures.finish("signed messages via json@1.0", 2);
}

fn key() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_-]{0,10}".prop_filter("reserved", |k| {
        !k.starts_with("priv")
            && !ferrobeam_structured::DEFAULT_TX_KEYS.contains(&k.as_str())
            && k != "ao-types"
            && k != "content-digest"
            && k != "unsigned_id"
    })
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        "\\PC{0,12}".prop_map(|s| Value::binary(s.into_bytes())),
        (-999_999_999_999_999i64..=999_999_999_999_999).prop_map(Value::Integer),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Value::Float),
        "[a-z_][a-z0-9_.-]{0,10}".prop_map(Value::Atom),
        proptest::collection::vec((-99i64..99).prop_map(Value::Integer), 1..4)
            .prop_map(Value::List),
        Just(Value::List(Vec::new())),
        Just(Value::Message(Message::new())),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        proptest::collection::vec((key(), inner), 1..4)
            .prop_map(|kv| Value::Message(kv.into_iter().collect()))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn json_round_trip(kv in proptest::collection::vec((key(), value()), 0..6)) {
        let msg: Message = kv.into_iter().collect();
        prop_assert_eq!(from(&to(&msg).unwrap()).unwrap(), msg);
    }

    #[test]
    fn garbage_never_panics(text in proptest::collection::vec(any::<u8>(), 0..80)) {
        let _ = from(&text);
    }

    #[test]
    fn garbage_json_objects_never_panic(text in "\\{(\"[a-z-]{1,5}\":\"[ -~]{0,12}\",?){0,4}\\}") {
        let _ = from(text.as_bytes());
    }
}
