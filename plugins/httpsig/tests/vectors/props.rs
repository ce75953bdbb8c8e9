//! Property tests: typed message → TABM → HTTP → TABM → typed message is the identity, and
//! garbage never panics a decoder.

use ferrobeam_device_api::{Message, Value};
use ferrobeam_httpsig::{self as httpsig, HttpMessage};
use proptest::prelude::*;

/// Keys that survive as themselves: not private, regenerable, default-TX or reserved by the
/// HTTP codec (`body` and `data` are exercised separately).
fn key() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_-]{0,10}".prop_filter("reserved", |k| {
        !k.starts_with("priv")
            && !ferrobeam_structured::DEFAULT_TX_KEYS.contains(&k.as_str())
            && !k.starts_with("hashpath")
            && !matches!(
                k.as_str(),
                "ao-types"
                    | "ao-ids"
                    | "body"
                    | "body-keys"
                    | "content-digest"
                    | "content-type"
                    | "inline-body-key"
                    | "commitments"
                    | "signature"
                    | "signature-input"
            )
    })
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        (-999_999_999_999_999i64..=999_999_999_999_999).prop_map(Value::Integer),
        any::<f64>()
            .prop_filter("finite", |x| x.is_finite())
            .prop_map(Value::Float),
        "[a-z_][a-z0-9_.-]{0,10}".prop_map(Value::Atom),
    ]
}

fn list_item() -> impl Strategy<Value = Value> {
    prop_oneof![
        scalar(),
        "[ -~]{0,12}".prop_map(|s| Value::binary(s.into_bytes()))
    ]
}

/// Header-safe binaries (no CR/LF, no leading/trailing spaces that HTTP would trim) and big
/// binaries (which travel as parts).
fn binary() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => "[!-~]([ -~]{0,20}[!-~])?".prop_map(|s| Value::binary(s.into_bytes())),
        1 => (4090usize..4200).prop_map(|n| Value::binary(vec![b'z'; n])),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        binary(),
        scalar(),
        (list_item(), proptest::collection::vec(list_item(), 0..4))
            .prop_map(|(first, rest)| Value::List(std::iter::once(first).chain(rest).collect())),
        Just(Value::List(Vec::new())),
        Just(Value::Message(Message::new())),
        Just(Value::binary(Vec::new())),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec((key(), inner.clone()), 1..4)
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

fn message() -> impl Strategy<Value = Message> {
    (
        proptest::collection::vec((key(), value()), 0..6),
        proptest::option::of("[ -~]{1,30}"),
    )
        .prop_map(|(kv, body)| {
            let mut m: Message = kv.into_iter().collect();
            if let Some(body) = body {
                m.insert("body", body);
            }
            m
        })
}

/// Fields the HTTP decoder adds that the sender did not have (§5.5: they remain).
fn without_transport_fields(mut m: Message) -> Message {
    m.remove("body-keys");
    m.remove("content-type");
    m.remove("inline-body-key");
    m
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn typed_message_round_trips_through_http(msg in message()) {
        let tabm = ferrobeam_structured::from(&msg).unwrap();
        let http = httpsig::to(&tabm).unwrap();
        let back = httpsig::from(&http).unwrap();
        prop_assert_eq!(&without_transport_fields(back.clone()), &tabm);
        let rich = ferrobeam_structured::to(&back).unwrap();
        prop_assert_eq!(without_transport_fields(rich), msg);
    }

    #[test]
    fn garbage_bodies_never_panic(
        ct in prop_oneof![
            Just("multipart/form-data; boundary=\"B\"".to_owned()),
            "[ -~]{0,40}",
        ],
        body in proptest::collection::vec(any::<u8>(), 0..200),
        sig in proptest::option::of("[ -~]{0,60}"),
    ) {
        let mut headers = vec![("content-type".to_owned(), ct.into_bytes())];
        if let Some(sig) = sig {
            headers.push(("signature".to_owned(), sig.clone().into_bytes()));
            headers.push(("signature-input".to_owned(), sig.into_bytes()));
        }
        let _ = httpsig::from(&HttpMessage::new(headers, body));
    }

    #[test]
    fn garbage_multipart_parts_never_panic(parts in proptest::collection::vec("[ -~\r\n]{0,60}", 0..5)) {
        let mut body = Vec::new();
        for p in &parts {
            body.extend_from_slice(b"--B\r\n");
            body.extend_from_slice(p.as_bytes());
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"--B--");
        let http = HttpMessage::new(vec![("content-type".into(), b"multipart/form-data; boundary=B".to_vec())], body);
        let _ = httpsig::from(&http);
    }

    #[test]
    fn garbage_signature_headers_never_panic(sig in "[ -~]{0,80}", input in "[ -~]{0,120}") {
        let _ = httpsig::commitment::parse_signature_headers(sig.as_bytes(), input.as_bytes());
    }
}

#[test]
fn deep_part_names_are_rejected() {
    let name = vec!["a"; 5_000].join("/");
    let body = format!("--B\r\ncontent-disposition: form-data;name=\"{name}\"\r\nk: v\r\n--B--");
    let http = HttpMessage::new(
        vec![(
            "content-type".into(),
            b"multipart/form-data; boundary=B".to_vec(),
        )],
        body.into_bytes(),
    );
    assert!(httpsig::from(&http).is_err());
}

/// The raw body's key is found the same way on both sides of the size up to which the encoder
/// reads every key once: `body`, else `data` (announced by `inline-body-key: data`), else the
/// key `inline-body-key` names.
#[test]
fn the_body_key_is_found_in_small_and_large_messages() {
    for extra in [2, 40] {
        let with_keys =
            |m: Message| (0..extra).fold(m, |m, i| m.with(format!("k{i}").as_str(), "v"));
        let body = httpsig::to(&with_keys(Message::new().with("body", "B"))).unwrap();
        assert_eq!(body.body, b"B", "{extra} keys, body");
        assert_eq!(body.header("inline-body-key"), None, "{extra} keys, body");

        let data = httpsig::to(&with_keys(Message::new().with("data", "D"))).unwrap();
        assert_eq!(data.body, b"D", "{extra} keys, data");
        assert_eq!(
            data.header("inline-body-key"),
            Some(&b"data"[..]),
            "{extra} keys, data"
        );

        let named = with_keys(Message::new().with("inline-body-key", "x").with("x", "X"));
        let named = httpsig::to(&named).unwrap();
        assert_eq!(named.body, b"X", "{extra} keys, inline-body-key");
        assert_eq!(httpsig::from(&named).unwrap().get_str("x"), Some("X"));
    }
}
