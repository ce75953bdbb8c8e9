//! The error type of httpsig@1.0.

use ferrobeam_structured::sf::SfError;

/// Why a message could not be encoded, decoded, signed over or identified.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// structured@1.0 failed (typed values, `ao-types`).
    #[error(transparent)]
    Structured(#[from] ferrobeam_structured::Error),
    /// Un-flattening part names failed (e.g. a binary part `x` and a part `x/y`).
    #[error(transparent)]
    Flat(#[from] ferrobeam_flat::Error),
    /// A structured header or parameter did not parse.
    #[error("malformed {what}: {source}")]
    Sf {
        /// Which header or value.
        what: &'static str,
        /// The parse error.
        #[source]
        source: SfError,
    },
    /// A TABM value that is neither a binary nor a message.
    #[error("{key}: a TABM holds only binaries and messages, not a {found}")]
    NotTabm {
        /// The key.
        key: String,
        /// The value's type.
        found: &'static str,
    },
    /// The multipart body is malformed.
    #[error("multipart body: {0}")]
    Multipart(&'static str),
    /// A header name or part name that is not UTF-8.
    #[error("not UTF-8: {0:?}")]
    NotUtf8(String),
    /// `signature` without `signature-input`, a member of one without the other, or a
    /// signature or input of the wrong shape.
    #[error("signature: {0}")]
    Signature(String),
    /// A signed component is not a field of the message. A derived one (`@path`) is read from
    /// the field of its bare name, as HyperBEAM reads it, never from the request line, and the
    /// message says so.
    #[error("component {0:?} is not a field of the message{hint}", hint = derived_hint(.0))]
    MissingComponent(String),
    /// A commitment lacks a field it needs, or has the wrong shape.
    #[error("commitment: {0}")]
    Commitment(String),
    /// No commitment with this ID.
    #[error("no commitment {0:?}")]
    UnknownCommitment(String),
    /// An ID request names a committer with no commitment on the message.
    #[error("no commitment by committer {0:?}")]
    UnknownCommitter(String),
    /// An RSA signature that does not verify under its key: the signed fields were changed, or
    /// the signature was not made by that key.
    #[error("the signature does not match the signed fields and key")]
    SignatureMismatch,
    /// The `content-digest` of a signed message does not match its body.
    #[error("content-digest does not match the body: {0}")]
    ContentDigest(String),
    /// The node refused a host operation this codec needed (e.g. signing without the `sign`
    /// capability); the device error keeps its status.
    #[error("{0}")]
    Host(ferrobeam_device_api::DeviceError),
}

impl Error {
    pub(crate) fn sf(what: &'static str) -> impl FnOnce(SfError) -> Error {
        move |source| Error::Sf { what, source }
    }
}

/// Up to 64 bytes of `bytes` as text, for error messages.
pub(crate) fn snippet(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(64)]).into_owned()
}

/// What a missing derived component (`@path`) needed: the field of its bare name.
fn derived_hint(component: &str) -> String {
    match component.strip_prefix('@') {
        Some(field) => format!(
            " (HyperBEAM signs {component:?} over the field `{field}`, not the request line: \
             send `{field}` as a header)"
        ),
        None => String::new(),
    }
}
