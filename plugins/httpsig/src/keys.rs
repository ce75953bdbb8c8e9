//! Keys the codec names itself, built when compiled. A header the encoder adds refers to one
//! of these, and a message that needs the key clones it, where [`Key::new`] would check and
//! copy the text each time.

use ferrobeam_device_api::Key;

pub static AO_IDS: Key = Key::from_static("ao-ids");
pub static BODY: Key = Key::from_static("body");
pub static BODY_KEYS: Key = Key::from_static("body-keys");
pub static CONTENT_DIGEST: Key = Key::from_static("content-digest");
pub static CONTENT_TYPE: Key = Key::from_static("content-type");
pub static INLINE_BODY_KEY: Key = Key::from_static("inline-body-key");
pub static SIGNATURE: Key = Key::from_static("signature");
pub static SIGNATURE_INPUT: Key = Key::from_static("signature-input");
