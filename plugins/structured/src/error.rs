//! The error type of structured@1.0.

use crate::sf::SfError;

/// Why a message could not be encoded to, or decoded from, a TABM.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A structured field (`ao-types`, a typed value) did not parse.
    #[error("malformed {what}: {source}")]
    Sf {
        /// What was being parsed.
        what: &'static str,
        /// The parse error.
        #[source]
        source: SfError,
    },
    /// An `ao-types` member is not a string or token.
    #[error("malformed ao-types member {0:?}")]
    BadAoTypes(String),
    /// A type name outside `integer float atom list map` (and `empty-*` without a value).
    #[error("unknown type {0:?}")]
    UnknownType(String),
    /// The value does not have the form its type requires.
    #[error("{expected} expected, got {got:?}")]
    TypeMismatch {
        /// The type wanted.
        expected: &'static str,
        /// The offending text (truncated).
        got: String,
    },
    /// A float that is not an Erlang float literal (`1`, `1e5`) or is not finite.
    #[error("not an Erlang float literal: {0:?}")]
    BadFloat(String),
    /// NaN or an infinity: Erlang has no such floats.
    #[error("non-finite float {0}")]
    NonFiniteFloat(f64),
    /// A `(ao-type-…)` list item without the `") "` separator.
    #[error("bad list item annotation {0:?}")]
    BadListAnnotation(String),
    /// An SF inner list where a typed value was expected.
    #[error("inner list in a typed {0}")]
    InnerList(&'static str),
    /// A numbered sub-message of type `list` with a non-integer key.
    #[error("non-integer key {0:?} in a list message")]
    ListKeyNotInteger(String),
    /// A numbered sub-message of type `list` with missing numbers.
    #[error("list message keys are not consecutive")]
    ListKeysNotConsecutive,
    /// A nested message whose `ao-types` entry is not `list`.
    #[error("nested message typed {0:?}")]
    MapWithType(String),
    /// A message inside a list whose first element is a scalar (HyperBEAM cannot encode it).
    #[error("a list whose first element is a scalar cannot hold a message")]
    MessageInScalarList,
    /// Messages or lists nested deeper than [`crate::MAX_DEPTH`].
    #[error("nesting deeper than {0} levels")]
    TooDeep(usize),
    /// A `%`-escape with non-hex digits.
    #[error("bad %-escape in {0:?}")]
    BadEscape(String),
    /// A key or atom name that is not UTF-8.
    #[error("not UTF-8: {0:?}")]
    NotUtf8(String),
    /// A value that has no place in a TABM (e.g. `ao-types` that is not a binary).
    #[error("invalid TABM: {0}")]
    InvalidTabm(String),
    /// The error happened inside the value of `key`.
    #[error("{key}: {source}")]
    AtKey {
        /// The key (nested errors chain their keys).
        key: String,
        /// What went wrong there.
        #[source]
        source: Box<Error>,
    },
}

impl Error {
    /// Wraps `self` with the key it occurred under.
    pub fn at_key(self, key: &str) -> Self {
        Error::AtKey {
            key: key.to_owned(),
            source: Box::new(self),
        }
    }

    /// The innermost error (without the keys it happened under).
    pub fn root(&self) -> &Error {
        match self {
            Error::AtKey { source, .. } => source.root(),
            other => other,
        }
    }

    pub(crate) fn sf(what: &'static str) -> impl FnOnce(SfError) -> Error {
        move |source| Error::Sf { what, source }
    }
}

/// Up to 64 bytes of `bytes`, for error messages.
pub(crate) fn snippet(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(64)];
    String::from_utf8_lossy(cut).into_owned()
}
