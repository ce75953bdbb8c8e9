//! flat@1.0: spec examples (codecs.md §3, §12.1), round trips and garbage input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ferrobeam_device_api::{Message, Value};
use ferrobeam_flat::{deserialize, from, from_pairs, serialize, to, to_pairs};
use proptest::prelude::*;

fn m(pairs: &[(&str, Value)]) -> Message {
    pairs.iter().cloned().collect()
}

#[test]
fn eunit_examples() {
    let cases: Vec<(Message, Message)> = vec![
        (m(&[("a", "value".into())]), m(&[("a", "value".into())])),
        (
            m(&[("a/b", "value".into())]),
            m(&[("a", m(&[("b", "value".into())]).into())]),
        ),
        (
            m(&[("x/y", "1".into()), ("x/z", "2".into()), ("a", "3".into())]),
            m(&[
                ("x", m(&[("y", "1".into()), ("z", "2".into())]).into()),
                ("a", "3".into()),
            ]),
        ),
        (
            m(&[("a/b/c/d", "deep".into())]),
            m(&[(
                "a",
                m(&[("b", m(&[("c", m(&[("d", "deep".into())]).into())]).into())]).into(),
            )]),
        ),
        (Message::new(), Message::new()),
    ];
    for (flat, nested) in cases {
        assert_eq!(from(&flat).unwrap(), nested);
        assert_eq!(to(&nested).unwrap(), flat);
    }
    assert_eq!(
        deserialize(b"raw: binary").unwrap(),
        m(&[("raw", "binary".into())])
    );
}

#[test]
fn spec_serialize_example() {
    let rich = m(&[("a", 1.into()), ("b", m(&[("c", "x".into())]).into())]);
    let text = serialize(&rich).unwrap();
    assert_eq!(text, b"a: 1\nao-types: a=\"integer\"\nb/c: x\n");
    assert_eq!(deserialize(&text).unwrap(), rich);
    let config =
        deserialize(b"port: 1234\nhost: https://ao.computer\nawait-inprogress: false").unwrap();
    assert_eq!(config.get_str("host"), Some("https://ao.computer"));
    assert_eq!(config.get_str("await-inprogress"), Some("false"));
}

#[test]
fn more_than_32_lines_use_hash_order() {
    let rich: Message = (0..40)
        .map(|i| (format!("k{i:02}"), Value::from(format!("v{i}"))))
        .collect();
    let text = serialize(&rich).unwrap();
    let keys: Vec<&[u8]> = text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| &l[..3])
        .collect();
    let mut want: Vec<String> = (0..40).map(|i| format!("k{i:02}")).collect();
    ferrobeam_structured::map_order::sort_in_map_order(&mut want, |k| k.as_bytes());
    assert_eq!(keys, want.iter().map(|k| k.as_bytes()).collect::<Vec<_>>());
    assert_eq!(deserialize(&text).unwrap(), rich);
}

#[test]
fn collisions_and_bad_paths_are_errors() {
    assert!(from_pairs([("x", Value::from("raw")), ("x/y", "1".into())]).is_err());
    assert!(from_pairs([("x/y", Value::from("1")), ("x", "raw".into())]).is_err());
    assert!(from_pairs([("/", Value::from("1"))]).is_err());
    assert!(to(&m(&[("n", 1.into())])).is_err());
    // Maps merge.
    let merged = from_pairs([
        ("a", Value::from(m(&[("k", "v".into())]))),
        ("a/b", m(&[("c", "1".into())]).into()),
    ])
    .unwrap();
    assert_eq!(
        merged,
        m(&[(
            "a",
            m(&[("k", "v".into()), ("b", m(&[("c", "1".into())]).into())]).into()
        )])
    );
}

#[test]
fn id_segments_keep_their_case() {
    let id = "XgN1kN-ZyAWtYvdUlPEM3EIIi-budUx81mjcHQ1mSNU";
    let tabm = from_pairs([(format!("body/commitments/{id}/alg"), Value::from("x"))]).unwrap();
    let body = tabm
        .get_message("body")
        .unwrap()
        .get_message("commitments")
        .unwrap();
    assert!(body.get_message(id).is_some());
    assert_eq!(
        to_pairs(&tabm).unwrap()[0].0,
        format!("body/commitments/{id}/alg")
    );
}

#[test]
fn lines_with_extra_separators_are_ignored() {
    let tabm = ferrobeam_flat::deserialize_tabm(b"a: b: c\nplain\n\nk: v\r\n").unwrap();
    assert_eq!(tabm, m(&[("k", "v\r".into())]));
}

fn key() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_-]{0,8}".prop_filter("special", |k| {
        !k.starts_with("priv") && k != "ao-types" && k != "data" && k != "target"
    })
}

fn tabm() -> impl Strategy<Value = Message> {
    let leaf = "[ -9;-~]{1,12}".prop_map(|s| Value::binary(s.into_bytes()));
    let value = leaf.prop_recursive(3, 16, 4, |inner| {
        proptest::collection::vec((key(), inner), 1..4)
            .prop_map(|kv| Value::Message(kv.into_iter().collect()))
    });
    proptest::collection::vec((key(), value), 0..6).prop_map(|kv| kv.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn flatten_round_trip(t in tabm()) {
        prop_assert_eq!(from(&to(&t).unwrap()).unwrap(), t.clone());
        let text = serialize(&t).unwrap();
        prop_assert_eq!(deserialize(&text).unwrap(), t);
    }

    #[test]
    fn garbage_never_panics(text in proptest::collection::vec(any::<u8>(), 0..80)) {
        let _ = deserialize(&text);
    }
}

#[test]
fn very_deep_paths_are_rejected() {
    let path = vec!["a"; 10_000].join("/");
    assert!(matches!(
        from_pairs([(path, Value::from("x"))]),
        Err(ferrobeam_flat::Error::TooDeep(_))
    ));
}

#[test]
fn paths_drop_empty_segments_and_a_path_without_slash_is_the_key() {
    use ferrobeam_flat::Error;
    let one = |path: &str| from_pairs([(path, Value::from("v"))]);
    let nested = m(&[("a", m(&[("b", "v".into())]).into())]);
    for path in ["a/b", "/a/b", "a//b/", "A/B"] {
        assert_eq!(one(path).unwrap(), nested, "{path}");
    }
    // Without a slash the path is the key as it is, even empty.
    assert_eq!(one("").unwrap(), m(&[("", "v".into())]));
    for path in ["/", "//"] {
        assert!(matches!(one(path), Err(Error::EmptyPath(p)) if p == path));
    }
    // A binary in the way of a segment, or at the last one, is a collision.
    for pairs in [[("a", "x"), ("a/b", "y")], [("a/b", "x"), ("a/b", "y")]] {
        let pairs = pairs.map(|(k, v)| (k, Value::from(v)));
        assert!(matches!(from_pairs(pairs), Err(Error::PathCollision(p)) if p == "a/b"));
    }
    // The limit on depth counts non-empty segments.
    let at_limit = vec!["a"; ferrobeam_structured::MAX_DEPTH].join("//");
    assert!(one(&at_limit).is_ok());
    assert!(matches!(
        one(&format!("{at_limit}/a")),
        Err(Error::TooDeep(_))
    ));
}
