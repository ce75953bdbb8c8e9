//! What can go wrong with a data item.

/// An ANS-104 error. Every variant is the client's fault (HTTP 400) except
/// [`Error::Crypto`]: a signature that could not be checked or made at all.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The bytes end before a field does.
    #[error("the data item ends inside its {0}")]
    Truncated(&'static str),
    /// A signature type other than 1 (Arweave RSA-4096).
    #[error("signature type {0} is not supported (only 1, Arweave RSA-PSS)")]
    SignatureType(u16),
    /// A presence byte other than 0 or 1.
    #[error("the {0} presence byte must be 0 or 1, not {1}")]
    Presence(&'static str, u8),
    /// More tags, or longer names or values, than ANS-104 allows.
    #[error("tag limits exceeded: {0}")]
    TagLimits(String),
    /// The tag block does not decode as the Avro array it declares.
    #[error("malformed tags: {0}")]
    Tags(String),
    /// The signature does not verify under the owner's key.
    #[error("the signature does not verify under the owner's key")]
    SignatureMismatch,
    /// The message cannot be an ANS-104 item (a non-text tag value, two signers, …).
    #[error("not representable as an ANS-104 item: {0}")]
    Unrepresentable(String),
    /// The message names an ANS-104 commitment that does not match it.
    #[error("the ANS-104 commitment does not match the message: {0}")]
    Commitment(String),
    /// The signature could not be checked (no node to ask, an unusable key) or made (not a
    /// verdict on the signature).
    #[error("cryptography failed: {0}")]
    Crypto(String),
}
