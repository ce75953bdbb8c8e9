//! The edge's cache of encoded responses (`ferrobeam::http::ResponseCache`): a hit is
//! byte-identical to encoding again, and nothing it keys on can be stale; and the node's memo of
//! hashpath IDs.

use ferrobeam::config::DevicesFile;
use ferrobeam::http::{encode_response, Prepared, ResponseCache, ResponseCodec};
use ferrobeam::node::Node;
use ferrobeam::wallet::Wallet;
use ferrobeam_device_api::Message;
use ferrobeam_tests::{test_wallet, Scratch};
use std::sync::Arc;

/// A node in this process with the codec library and the first test wallet.
pub fn node_with_codecs(scratch: &Scratch) -> Arc<Node> {
    scratch.install("ferrobeam-codecs");
    let config = DevicesFile::default_at(&scratch.dir.join("devices.toml"));
    let wallet = Wallet::load(&test_wallet(1)).unwrap();
    let (node, errors) = Node::start_with_wallet(config, Some(wallet)).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    node
}

fn results() -> Vec<Message> {
    vec![
        Message::new()
            .with("status", 200)
            .with("name", "mydev")
            .with("count", 3)
            .with(
                "priv",
                Message::new().with("hashpath", format!("{}/info", "A".repeat(43))),
            ),
        Message::new()
            .with("status", 404)
            .with("body", "not here")
            .with("nested", Message::new().with("x", 1.5)),
        Message::new()
            .with("status", 200)
            .with("body", "{\"a\":1}")
            .with("content-type", "application/json"),
    ]
}

#[test]
fn a_cached_response_is_byte_identical_to_encoding_again() {
    let scratch = Scratch::new("response-cache");
    let node = node_with_codecs(&scratch);
    let cache = ResponseCache::new(64, 1 << 20);
    for codec in [
        ResponseCodec::Httpsig,
        ResponseCodec::Other("json@1.0".to_owned()),
    ] {
        for result in results() {
            let first = cache.encode(&node, &codec, &result).unwrap();
            let again = cache.encode(&node, &codec, &result).unwrap();
            // The signature cache holds the signature of this base now, so the uncached path
            // gives the very same bytes.
            let uncached = Prepared::from_message(encode_response(&node, &codec, &result).unwrap());
            assert_eq!(*first, uncached, "{codec:?} {result:?}");
            assert_eq!(*again, uncached, "{codec:?} {result:?}");
        }
    }
    let (hits, misses) = cache.stats();
    assert_eq!((hits, misses), (6, 6));
}

#[test]
fn a_different_result_or_codec_is_not_served_from_the_cache() {
    let scratch = Scratch::new("response-cache-keys");
    let node = node_with_codecs(&scratch);
    let cache = ResponseCache::new(64, 1 << 20);
    let a = Message::new().with("status", 200).with("v", 1);
    let b = Message::new().with("status", 200).with("v", 2);
    let ea = cache.encode(&node, &ResponseCodec::Httpsig, &a).unwrap();
    let eb = cache.encode(&node, &ResponseCodec::Httpsig, &b).unwrap();
    let json = cache
        .encode(&node, &ResponseCodec::Other("json@1.0".to_owned()), &a)
        .unwrap();
    assert_ne!(ea, eb);
    assert_ne!(ea, json);
    assert_eq!(cache.stats(), (0, 3));
}

#[test]
fn the_cache_stays_within_its_entries() {
    let scratch = Scratch::new("response-cache-bound");
    let node = node_with_codecs(&scratch);
    let cache = ResponseCache::new(8, 1 << 20);
    for i in 0..40 {
        let m = Message::new().with("status", 200).with("i", i);
        cache.encode(&node, &ResponseCodec::Httpsig, &m).unwrap();
        assert!(cache.len() <= 8, "{} entries", cache.len());
    }
}

/// Hashpath IDs (`ferrobeam::resolve::hashpath::id`) are remembered by the node: the remembered
/// ID is the one `httpsig@1.0` computes, different messages get different IDs, and a repeated
/// message is a hit.
#[test]
fn remembered_ids_are_the_codec_s_ids() {
    let scratch = Scratch::new("id-cache");
    let node = node_with_codecs(&scratch);
    let fresh = |msg: &Message| {
        ferrobeam::resolve::call_with(&node, "httpsig@1.0", "id", msg, &Message::new())
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    };
    let messages = results();
    let before = node.ids().stats();
    let first: Vec<String> = messages
        .iter()
        .map(|m| ferrobeam::resolve::hashpath::id(&node, m).unwrap())
        .collect();
    let again: Vec<String> = messages
        .iter()
        .map(|m| ferrobeam::resolve::hashpath::id(&node, m).unwrap())
        .collect();
    assert_eq!(first, again);
    for (m, id) in messages.iter().zip(&first) {
        assert_eq!(*id, fresh(m), "{m:?}");
    }
    let mut distinct = first.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), messages.len());
    let after = node.ids().stats();
    assert_eq!(after.misses - before.misses, messages.len() as u64);
    assert_eq!(after.hits - before.hits, messages.len() as u64);
}
