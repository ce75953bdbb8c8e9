//! `ans104@1.0`: ANS-104 data items (Arweave's signed "bundled transaction" format), the wire
//! form `@permaweb/aoconnect` speaks to HyperBEAM in mainnet mode (`spec/clients.md` §3.2).
//!
//! * [`DataItem`]: the binary item — [`DataItem::parse`] (every length and ANS-104's tag limits
//!   checked), [`DataItem::serialize`], [`DataItem::verify`] (RSA-PSS-SHA256 over Arweave's deep
//!   hash, any salt length), [`DataItem::sign`], [`DataItem::id`] (`sha256(signature)`).
//! * [`from_item`] / [`to_item`]: item ⇄ message as HyperBEAM maps them (tags → keys, `data`,
//!   `target`, and an `ans104@1.0` commitment that rebuilds the exact item).
//! * [`verify_message`]: a stored or forwarded message still is what its signer signed.
//!
//! ```
//! use ferrobeam_ans104::{from_item, to_item, DataItem, Tag};
//!
//! let item = DataItem::unsigned(
//!     vec![Tag { name: b"Action".to_vec(), value: b"Balance".to_vec() }],
//!     b"hello".to_vec(),
//! );
//! let bytes = item.serialize();
//! let parsed = DataItem::parse(&bytes)?;
//! let msg = from_item(&parsed)?;
//! assert_eq!(msg.get_str("action"), Some("Balance"));
//! assert_eq!(msg.get_str("data"), Some("hello"));
//! # Ok::<(), ferrobeam_ans104::Error>(())
//! ```

mod avro;
mod error;
mod item;
mod message;
mod signature;

pub use error::Error;
pub use item::{
    check_tags, DataItem, Tag, MAX_TAGS, MAX_TAG_NAME, MAX_TAG_VALUE, RSA_4096_BYTES,
    SIGNATURE_TYPE_ARWEAVE,
};
pub use message::{
    committed_keys, from_item, is_ans104_committed, to_item, verify_message, ALG, DEVICE,
};
pub use signature::deep_hash;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

/// The MIME type of a serialised item.
pub const CONTENT_TYPE: &str = "application/ans104";

/// Decodes and verifies a received item: its message (see [`from_item`]). Unsigned items and
/// bad signatures are errors: a node accepts only items their owner signed.
pub fn decode_verified(bytes: &[u8]) -> Result<Message, Error> {
    let item = DataItem::parse(bytes)?;
    if !item.is_signed() {
        return Err(Error::Unrepresentable(
            "the data item is not signed (its signature is all zeros)".into(),
        ));
    }
    item.verify()?;
    from_item(&item)
}

use ferrobeam_device_api::Message;

pub(crate) fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub(crate) fn unb64(text: &[u8]) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}
