//! The edge's memo of decoded requests (`ferrobeam::http::RequestCache`): a remembered decode is
//! the codecs' decode, for every captured client request, and a request that differs in any
//! byte is decoded anew.

use crate::response_cache::node_with_codecs;
use base64::Engine as _;
use ferrobeam::http::{EdgeError, RequestCache};
use ferrobeam_device_api::Message;
use ferrobeam_tests::{vectors_dir, Scratch};

/// A captured request as the edge reads it: method, target, and the HTTP message (lower-case
/// header names, repeated ones joined with ", ", and `body`).
fn captured(path: &std::path::Path) -> (String, String, Message) {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let req = &v["request"];
    let mut http = Message::new();
    for pair in req["headers"].as_array().unwrap() {
        let name = pair[0].as_str().unwrap().to_ascii_lowercase();
        let value = pair[1].as_str().unwrap();
        let joined = match http.get_str(&name) {
            Some(before) => format!("{before}, {value}"),
            None => value.to_owned(),
        };
        http.insert(name.as_str(), joined);
    }
    let body = base64::engine::general_purpose::STANDARD
        .decode(req["body_b64"].as_str().unwrap_or(""))
        .unwrap();
    if !body.is_empty() {
        http.insert("body", body);
    }
    let method = req["method"].as_str().unwrap().to_owned();
    let target = req["path"].as_str().unwrap().to_owned();
    (method, target, http)
}

fn accept_all(_: &ferrobeam::http::Decoded) -> Result<(), EdgeError> {
    Ok(())
}

fn nothing_before() -> Result<(), EdgeError> {
    Ok(())
}

/// A node with the codecs (in `scratch`, kept alive by the caller) and an empty memo.
fn node_and_memo(scratch: &str) -> (Scratch, std::sync::Arc<ferrobeam::Node>, RequestCache) {
    let scratch = Scratch::new(scratch);
    let node = node_with_codecs(&scratch);
    (scratch, node, RequestCache::new(256, 8 << 20))
}

/// hbsig's signed request (`26`): method, target and HTTP message.
fn signed_26() -> (String, String, Message) {
    captured(&vectors_dir().join("client-requests/26-hbsig-sign-send.json"))
}

#[test]
fn a_remembered_decode_is_the_codecs_decode() {
    let scratch = Scratch::new("request-cache");
    let node = node_with_codecs(&scratch);
    let memo = RequestCache::new(256, 8 << 20);
    let never = RequestCache::new(0, 0);
    let mut files: Vec<_> = std::fs::read_dir(vectors_dir().join("client-requests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n != "real-hyperbeam-response.json")
        })
        .collect();
    files.sort();
    let mut decoded = 0;
    for file in &files {
        let (method, target, http) = captured(file);
        let fresh = never.decode(&node, &http, &method, &target, nothing_before, accept_all);
        let first = memo.decode(&node, &http, &method, &target, nothing_before, accept_all);
        let again = memo.decode(&node, &http, &method, &target, nothing_before, accept_all);
        match (fresh, first, again) {
            (Ok(fresh), Ok(first), Ok(again)) => {
                for d in [&first, &again] {
                    assert_eq!(*d.tabm, *fresh.tabm, "{}", file.display());
                    assert_eq!(*d.typed, *fresh.typed, "{}", file.display());
                }
                decoded += 1;
            }
            (Err(fresh), Err(first), Err(again)) => {
                assert_eq!(first.to_string(), fresh.to_string(), "{}", file.display());
                assert_eq!(again.to_string(), fresh.to_string(), "{}", file.display());
            }
            (fresh, first, _) => panic!(
                "{}: decoding anew and through the memo disagree: {:?} / {:?}",
                file.display(),
                fresh.map(|_| ()),
                first.map(|_| ())
            ),
        }
    }
    assert!(decoded > 20, "only {decoded} captured requests decoded");
    // Every request that decoded was found again; the large ones (the 78 KB Lua spawn) are
    // decoded every time.
    let stats = memo.stats();
    assert!(stats.hits >= decoded - 3, "{stats:?}");
    assert_eq!(never.stats().hits, 0);
}

#[test]
fn a_request_differing_in_one_byte_is_decoded_anew() {
    let (_scratch, node, memo) = node_and_memo("request-cache-tampered");
    let (method, target, http) = signed_26();
    let status = |d: &ferrobeam::http::Decoded| {
        d.tabm
            .get_message("priv")
            .and_then(|p| p.get_str("signature-status"))
            .map(str::to_owned)
    };
    let good = memo
        .decode(&node, &http, &method, &target, nothing_before, accept_all)
        .unwrap();
    assert_eq!(status(&good).as_deref(), Some("verified"));
    let mut tampered = http.clone();
    let signature = http.get_str("signature").unwrap();
    // The last character before the closing colon of the signature's byte sequence.
    let at = signature.rfind(':').unwrap() - 1;
    let flipped = if &signature[at..=at] == "A" { "B" } else { "A" };
    tampered.insert(
        "signature",
        format!("{}{flipped}{}", &signature[..at], &signature[at + 1..]),
    );
    let bad = memo
        .decode(
            &node,
            &tampered,
            &method,
            &target,
            nothing_before,
            accept_all,
        )
        .unwrap();
    assert_eq!(status(&bad).as_deref(), Some("unverified"));
    // And the original is still remembered as verified.
    let again = memo
        .decode(&node, &http, &method, &target, nothing_before, accept_all)
        .unwrap();
    assert_eq!(status(&again).as_deref(), Some("verified"));
}

#[test]
fn the_check_before_decoding_runs_only_for_a_request_not_remembered() {
    let (_scratch, node, memo) = node_and_memo("request-cache-before");
    let (method, target, http) = signed_26();
    let runs = std::cell::Cell::new(0);
    let counted = || {
        runs.set(runs.get() + 1);
        Ok(())
    };
    let refuse = || Err(EdgeError::BadBody("refused before decoding".into()));
    // A request refused before decoding is not remembered: it is refused again.
    for _ in 0..2 {
        let refused = memo.decode(&node, &http, &method, &target, refuse, accept_all);
        assert!(refused.is_err());
    }
    assert_eq!(memo.stats().hits, 0);
    for _ in 0..3 {
        memo.decode(&node, &http, &method, &target, counted, accept_all)
            .unwrap();
    }
    assert_eq!(runs.get(), 1, "the check ran for a remembered request");
    assert_eq!(memo.stats().hits, 2);
}

/// A request sent again is answered from its memo (its decoding, and its first call's messages
/// and hashpath): the answers are byte for byte the first one's, signature and hashpath (`tag`)
/// included, for each form of a first call.
#[test]
fn a_request_sent_again_is_answered_exactly_as_the_first_time() {
    let node = ferrobeam_tests::NodeProcess::start("");
    for path in [
        "/~mydev@1.0/info",
        "/~meta@1.0/info",
        "/info~mydev@1.0",
        "/~message@1.0&greeting=hello/greeting",
    ] {
        // All but hyper's `date`.
        let headers = |r: &ferrobeam_tests::http::Response| -> Vec<(String, String)> {
            r.headers
                .iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("date"))
                .cloned()
                .collect()
        };
        let first = node.get(path);
        assert_eq!(first.status, 200, "{path}: {}", first.text());
        assert!(first.header("signature").is_some(), "{path}: unsigned");
        for _ in 0..3 {
            let again = node.get(path);
            assert_eq!(again.status, first.status, "{path}");
            assert_eq!(headers(&again), headers(&first), "{path}");
            assert_eq!(again.body, first.body, "{path}");
        }
    }
}

/// The memo's first call gives what resolving the path step by step gives — the result and the
/// hashpath it records — for every form of a first call, the first time and when remembered.
#[test]
fn a_remembered_first_call_resolves_as_the_steps_do() {
    use ferrobeam::resolve::{self, FirstStep, RequestKeys};
    use std::sync::Arc;
    let scratch = Scratch::new("request-cache-first-step");
    for lib in ["ferrobeam-message", "ferrobeam-meta", "mydev"] {
        scratch.install(lib);
    }
    let node = node_with_codecs(&scratch);
    let memo = RequestCache::new(256, 8 << 20);
    // A signed request's headers (its commitments reach every step), read with GET.
    let (_, _, http) = captured(&vectors_dir().join("client-requests/26-hbsig-sign-send.json"));
    let method = "GET";
    // Stored messages for `/<id>…` first steps: a small one, whose loaded base the memo keeps,
    // and one past FirstStep::MAX_BYTES, loaded again each time.
    let (small, large) = ("a".repeat(43), "b".repeat(43));
    let stored = Message::new().with("greeting", "hi").with("n", 3);
    node.store().write_message(&small, &stored).unwrap();
    let big = stored
        .clone()
        .with("data", vec![b'x'; FirstStep::MAX_BYTES]);
    node.store().write_message(&large, &big).unwrap();
    let id_targets = [
        format!("/{small}/greeting"),
        format!("/{small}~message@1.0/greeting"),
        format!("/{small}~message@1.0&extra=1/extra"),
        format!("/{large}~message@1.0/greeting"),
        format!("/{large}/n"),
    ];
    let fixed = [
        "/~mydev@1.0/info",
        "/info~mydev@1.0",
        "/~message@1.0&greeting=hello/greeting",
        "/~meta@1.0/info",
        "/~mydev@1.0/info/version",
        "/~mydev@1.0/forward?x=1",
    ];
    for target in fixed
        .iter()
        .copied()
        .chain(id_targets.iter().map(String::as_str))
    {
        let decoded = memo
            .decode(&node, &http, method, target, nothing_before, accept_all)
            .unwrap();
        let route = ferrobeam::path::parse(target).unwrap();
        let keys = RequestKeys::new(decoded.tabm.clone(), decoded.typed.clone())
            .with_query(route.query.clone());
        let stepwise = resolve::resolve(&node, &route.steps, &keys).unwrap();
        let first_step = Arc::new(FirstStep::default());
        for round in ["first", "remembered"] {
            let remembered = resolve::resolve_request(
                &node,
                &route.steps,
                &keys.clone().with_first_step_memo(first_step.clone()),
            )
            .unwrap();
            assert_eq!(remembered, stepwise, "{target}, {round}");
        }
        let hashpath = stepwise
            .as_message()
            .and_then(|m| m.get_message("priv"))
            .and_then(|p| p.get_str("hashpath"));
        assert!(
            hashpath.is_some() || stepwise.as_message().is_none(),
            "{target}: no hashpath in {stepwise:?}"
        );
    }
}
