//! structured@1.0 against `shared/vectors/structured.json`, plus property tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferrobeam_device_api::{Message, Value};
use ferrobeam_structured::vectors::{self, expect_eq, Failures};
use ferrobeam_structured::{from, to, Error};
use proptest::prelude::*;

#[test]
fn structured_json_vectors() {
    let mut failures = Failures::new();
    for case in vectors::cases("structured.json").unwrap() {
        let name = format!(
            "{}/{}",
            vectors::field(&case, "kind").unwrap_or("?"),
            vectors::name(&case)
        );
        failures.record(&name, run_case(&case));
    }
    failures.finish("structured.json", 83);
}

fn run_case(case: &serde_json::Value) -> Result<(), String> {
    let kind = vectors::field(case, "kind")?;
    let tabm = vectors::message(case.get("tabm").ok_or("no tabm")?)?;
    match kind {
        "message_to_tabm" => {
            let msg = vectors::message(case.get("message").ok_or("no message")?)?;
            let got = from(&msg).map_err(|e| format!("encode failed: {e}"))?;
            expect_eq("tabm", &tabm, &got)?;
            expect_ao_types_bytes(&tabm, &got)
        }
        "tabm_to_message" => match (case.get("message"), case.get("error")) {
            (Some(m), _) => {
                let want = vectors::message(m)?;
                let got = to(&tabm).map_err(|e| format!("decode failed: {e}"))?;
                expect_eq("message", &want, &got)
            }
            (None, Some(_)) => match to(&tabm) {
                Err(_) => Ok(()),
                Ok(m) => Err(format!("must fail, decoded to {m:?}")),
            },
            _ => Err("case has neither message nor error".into()),
        },
        other => Err(format!("unknown kind {other}")),
    }
}

/// Message equality ignores order; `ao-types` bytes must match exactly (they are signed).
fn expect_ao_types_bytes(want: &Message, got: &Message) -> Result<(), String> {
    expect_eq("ao-types", &want.get("ao-types"), &got.get("ao-types"))?;
    for (k, v) in want.iter() {
        if let (Value::Message(w), Some(Value::Message(g))) = (v, got.get(k.as_str())) {
            expect_ao_types_bytes(w, g)?;
        }
    }
    Ok(())
}

/// Decoding drops the legacy-TX defaults (`codecs.md` §1.3) whether they arrive typed,
/// untyped or typed empty, beside keys typed empty or not, at every depth; values that only
/// look like defaults (the float `0.0`, a non-empty `data`) stay.
#[test]
fn legacy_tx_defaults_are_dropped_on_decode() {
    let tabm = |types: &str| {
        let mut m = Message::new()
            .with("data", "")
            .with("quantity", "0")
            .with("reward", "0.0")
            .with("target", "x")
            .with("kept", "1");
        if !types.is_empty() {
            m.insert("ao-types", types);
        }
        m
    };
    let kept = |reward: Value| {
        Message::new()
            .with("reward", reward)
            .with("target", "x")
            .with("kept", "1")
    };
    let cases = [
        // Untyped: `data` is an empty binary, `quantity` the text "0" (not a default).
        ("", kept(Value::from("0.0")).with("quantity", "0")),
        // Typed, without keys typed empty: the integer 0 is a default, the float 0.0 is not.
        (
            r#"quantity="integer", reward="float""#,
            kept(Value::Float(0.0)),
        ),
        // With keys typed empty: an empty `tags` list is a default, an empty message is not.
        (
            r#"e="empty-message", quantity="integer", reward="float", tags="empty-list""#,
            kept(Value::Float(0.0)).with("e", Message::new()),
        ),
    ];
    for (types, want) in cases {
        let nested = tabm(types).with("child", tabm(types));
        let want_nested = want.clone().with("child", want.clone());
        assert_eq!(to(&tabm(types)).unwrap(), want, "ao-types {types:?}");
        assert_eq!(
            to(&nested).unwrap(),
            want_nested,
            "nested, ao-types {types:?}"
        );
        assert_eq!(
            ferrobeam_structured::to_owned(nested).unwrap(),
            want_nested,
            "by value, ao-types {types:?}"
        );
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let mut tabm = Message::new().with("leaf", "x");
    for _ in 0..100 {
        tabm = Message::new().with("n", tabm);
    }
    assert!(matches!(
        to(&tabm).map_err(|e| e.root().clone()),
        Err(Error::TooDeep(_))
    ));
    assert!(matches!(
        from(&tabm).map_err(|e| e.root().clone()),
        Err(Error::TooDeep(_))
    ));
    let mut list = Value::List(vec![1.into()]);
    for _ in 0..100 {
        list = Value::List(vec![1.into(), list]);
    }
    assert!(from(&Message::new().with("l", list)).is_err());
    // Nested typed lists inside one value: the text doubles its escapes per level, so depth
    // is bounded by input size; 12 levels decode fine.
    let mut text = b"1".to_vec();
    for _ in 0..12 {
        let mut quoted = Vec::new();
        ferrobeam_structured::sf::write_string(
            &mut quoted,
            &[b"(ao-type-list) ".as_slice(), &text].concat(),
        );
        text = quoted;
    }
    let tabm = Message::new()
        .with("l", text)
        .with("ao-types", r#"l="list""#);
    assert!(to(&tabm).is_ok());
}

#[test]
fn errors_carry_the_key_path() {
    let tabm = Message::new().with(
        "outer",
        Message::new()
            .with("n", "12345678901234567")
            .with("ao-types", r#"n="integer""#),
    );
    let err = to(&tabm).unwrap_err();
    assert!(err.to_string().starts_with("outer: n: "), "{err}");
    let rich = Message::new().with("outer", Message::new().with("x", f64::NAN));
    let err = from(&rich).unwrap_err();
    assert!(err.to_string().starts_with("outer: x: "), "{err}");
}

/// Whether a nested message is empty (`§1.3`: no keys, or `priv` alone) is asked of it as
/// given: one whose keys are all private but are not `priv` alone is a message, encoded with
/// its keys dropped, in both forms (fuzzing found `from` typing it `empty-message`).
#[test]
fn a_message_of_private_keys_is_not_empty() {
    let rich = Message::new()
        .with("a", Message::new().with("priv_x", ""))
        .with("b", Message::new().with("priv", 1))
        .with("c", Message::new().with("priv", 1).with("private", 2));
    let expected = Message::new()
        .with("a", Message::new())
        .with("c", Message::new())
        .with("ao-types", r#"b="empty-message""#);
    assert_eq!(from(&rich).unwrap(), expected);
    assert_eq!(ferrobeam_structured::from_owned(rich).unwrap(), expected);
}

// ---- property tests ----------------------------------------------------------------------

/// Keys the codecs keep as given: lower-case, not private, not regenerable, not an ID length.
fn key() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_-]{0,12}".prop_filter("special key", |k| {
        !k.starts_with("priv")
            && !ferrobeam_structured::REGENERABLE_KEYS.contains(&k.as_str())
            && !ferrobeam_structured::DEFAULT_TX_KEYS.contains(&k.as_str())
            && k != "ao-types"
    })
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        (-999_999_999_999_999i64..=999_999_999_999_999).prop_map(Value::Integer),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Value::Float),
        "[a-z_][a-z0-9_@.-]{0,10}".prop_map(Value::Atom),
    ]
}

fn list_item() -> impl Strategy<Value = Value> {
    prop_oneof![
        scalar(),
        "[ -~]{0,12}".prop_map(|s| Value::binary(s.into_bytes()))
    ]
}

/// Values the spec allows to round-trip: binaries, scalars, scalar lists (with nested scalar
/// lists), lists of messages, nested messages and empty values.
pub fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..16).prop_map(Value::binary),
        scalar(),
        (
            list_item(),
            proptest::collection::vec(
                prop_oneof![
                    list_item(),
                    proptest::collection::vec(list_item(), 0..3).prop_map(Value::List)
                ],
                0..4
            )
        )
            .prop_map(|(first, rest)| Value::List(std::iter::once(first).chain(rest).collect())),
        Just(Value::List(Vec::new())),
        Just(Value::Message(Message::new())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec((key(), inner.clone()), 0..4)
                .prop_map(|kv| Value::Message(kv.into_iter().collect())),
            proptest::collection::vec(
                proptest::collection::vec((key(), inner), 1..3)
                    .prop_map(|kv| Value::Message(kv.into_iter().collect::<Message>())),
                1..3
            )
            .prop_map(Value::List),
        ]
    })
}

/// Whether no key of `tabm`, at any depth or in any `ao-types`, is one the encoder drops
/// (private or regenerable).
fn keeps_none_dropped(tabm: &Message) -> bool {
    let dropped = |k: &str| k.starts_with("priv") || k == "content-digest" || k == "unsigned_id";
    let types = tabm
        .get("ao-types")
        .and_then(Value::as_bytes)
        .unwrap_or_default();
    // A rich message may hold an `ao-types` binary of its own, which need not parse.
    let typed_ok = ferrobeam_structured::parse_ao_types(types).map_or(true, |typed| {
        typed.iter().all(|(k, _)| !dropped(k.as_str()))
    });
    typed_ok
        && tabm.iter().all(|(key, value)| {
            !dropped(key.as_str()) && value.as_message().is_none_or(keeps_none_dropped)
        })
}

fn message() -> impl Strategy<Value = Message> {
    proptest::collection::vec((key(), value()), 0..6).prop_map(|kv| kv.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn rich_tabm_rich_is_identity(msg in message()) {
        let tabm = from(&msg).unwrap();
        prop_assert_eq!(to(&tabm).unwrap(), msg);
    }

    #[test]
    fn garbage_tabms_never_panic(ty in "[a-z-]{1,12}", text in proptest::collection::vec(any::<u8>(), 0..40)) {
        let tabm = Message::new().with("k", text).with("ao-types", format!("k=\"{ty}\""));
        let _ = to(&tabm);
    }

    #[test]
    fn encoding_drops_private_and_regenerable_keys(
        entries in proptest::collection::vec(
            (
                prop::sample::select(vec![
                    "a", "b", "c", "priv", "priv_wallet", "content-digest", "unsigned_id",
                    "ao-types", "z",
                ]),
                prop_oneof![
                    4 => value(),
                    1 => Just(Value::Float(f64::NAN)),
                    1 => Just(Value::List(vec![1.into(), Message::new().with("a", 1).into()])),
                    1 => Just(Value::Message(Message::new().with("priv", 1).with("b", 2))),
                    // Empty (`§1.3`), and not empty though every key is private.
                    1 => Just(Value::Message(Message::new().with("priv", 1))),
                    1 => Just(Value::Message(Message::new().with("priv_x", ""))),
                ],
            ),
            0..6,
        ),
    ) {
        let msg: Message = entries.into_iter().collect();
        // `from` leaves private keys out of its copy; `from_owned` gives them to the encoder,
        // which must drop them itself. Both must come to the same TABM.
        let owned = ferrobeam_structured::from_owned(msg.clone());
        prop_assert_eq!(format!("{:?}", from(&msg)), format!("{owned:?}"));
        match owned {
            Ok(tabm) => prop_assert!(keeps_none_dropped(&tabm), "{tabm:?}"),
            // Only what HyperBEAM cannot encode either: NaN, a message in a scalar list.
            Err(e) => prop_assert!(
                matches!(e.root(), Error::NonFiniteFloat(_) | Error::MessageInScalarList),
                "{e}"
            ),
        }
    }

    #[test]
    fn typed_tabms_decode_or_fail_cleanly_and_decoded_messages_encode_back(
        entries in proptest::collection::vec(("[a-d]", "[0-9a-z\"(), -]{0,8}"), 0..5),
        child in proptest::option::of(proptest::collection::vec(("[1-3a]", "[0-9]{1,2}"), 0..3)),
        types in proptest::collection::vec(
            ("[a-e]", prop::sample::select(vec![
                "integer", "atom", "float", "list", "map", "binary",
                "empty-binary", "empty-list", "empty-message", "nonsense",
            ])),
            0..4,
        ),
    ) {
        let mut tabm: Message = entries.into_iter().collect();
        if let Some(child) = child {
            tabm.insert("e", child.into_iter().collect::<Message>());
        }
        if !types.is_empty() {
            let field = types.iter().map(|(k, t)| format!("{k}=\"{t}\"")).collect::<Vec<_>>();
            tabm.insert("ao-types", field.join(", "));
        }
        if let Ok(rich) = to(&tabm) {
            prop_assert!(rich.get("ao-types").is_none());
            let again = from(&rich).map_err(|e| TestCaseError::fail(format!("{e}: {rich:?}")))?;
            prop_assert_eq!(to(&again).map_err(|e| TestCaseError::fail(e.to_string()))?, rich);
        }
    }

    #[test]
    fn garbage_ao_types_never_panic(types in proptest::collection::vec(any::<u8>(), 0..60)) {
        let tabm = Message::new().with("k", "v").with("ao-types", types);
        let _ = to(&tabm);
    }

    #[test]
    fn garbage_structured_fields_never_panic(text in proptest::collection::vec(any::<u8>(), 0..60)) {
        let _ = ferrobeam_structured::sf::parse_item(&text);
        let _ = ferrobeam_structured::sf::parse_list(&text);
        let _ = ferrobeam_structured::sf::parse_dictionary(&text);
        let _ = ferrobeam_structured::decode_value("list", &text);
        let _ = ferrobeam_structured::decode_value("map", &text);
    }
}

#[test]
fn integers_are_written_in_decimal_across_the_whole_range() {
    // Values are spread over every magnitude: random bits shifted right by 0 to 63.
    use ferrobeam_structured::{decode_value, encode_value};
    let mut seed: u64 = 0x517c_c1b7_2722_0a95;
    let mut values = vec![i64::MIN, i64::MIN + 1, -10, -9, -1, 0, 1, 9, 10, i64::MAX];
    values.extend((0..10_000).map(|_| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (seed as i64) >> (seed % 64)
    }));
    for i in values {
        let (ty, text) = encode_value(&Value::Integer(i)).unwrap();
        assert_eq!((ty, text.as_slice()), ("integer", i.to_string().as_bytes()));
        // Reading back is bounded by structured fields' 15 digits, as in HyperBEAM.
        if i.unsigned_abs() <= 999_999_999_999_999 {
            assert_eq!(decode_value("integer", &text).unwrap(), Value::Integer(i));
        }
    }
}
