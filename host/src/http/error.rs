//! Every way a request can fail, mapped to its HTTP status in one place.

use ferrobeam_device_api::{DeviceError, ErrorKind, Message};
use std::fmt;

/// A failed request.
#[derive(Debug, Clone, PartialEq)]
pub enum EdgeError {
    /// The body is over the configured limit.
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body could not be read.
    BadBody(String),
    /// The path does not parse.
    BadPath(String),
    /// A device (or the codec) said no.
    Device(DeviceError),
    /// A request limit of `[limits]` was exceeded.
    Limit(LimitExceeded),
    /// Every device call slot stayed busy.
    Overloaded,
    /// The request ran longer than `call_timeout_secs`.
    Timeout {
        /// The timeout.
        secs: u64,
    },
}

/// Which limit a request exceeded, and by how much.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitExceeded {
    /// The setting's name in `devices.toml`.
    pub name: &'static str,
    /// What was counted.
    pub what: &'static str,
    /// What the request had.
    pub found: usize,
    /// The limit.
    pub max: usize,
    /// 400, 414 or 431.
    pub status: u16,
}

impl EdgeError {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            EdgeError::BodyTooLarge { .. } => 413,
            EdgeError::BadBody(_) | EdgeError::BadPath(_) => 400,
            EdgeError::Device(e) => e.kind().status(),
            EdgeError::Limit(l) => l.status,
            EdgeError::Overloaded => 503,
            EdgeError::Timeout { .. } => 504,
        }
    }

    /// The error as the message the node answers with.
    pub fn to_message(&self) -> Message {
        match self {
            EdgeError::Device(e) => e.to_message(),
            other => Message::new()
                .with("status", i64::from(other.status()))
                .with("body", other.to_string()),
        }
    }
}

impl fmt::Display for EdgeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EdgeError::BodyTooLarge { limit } => {
                write!(
                    f,
                    "request body is larger than this node's limit of {limit} bytes"
                )
            }
            EdgeError::BadBody(why) => write!(f, "request body could not be read: {why}"),
            EdgeError::BadPath(why) => write!(f, "malformed path: {why}"),
            EdgeError::Device(e) => f.write_str(e.reason()),
            EdgeError::Limit(l) => write!(
                f,
                "{} ({}) is over this node's limit of {} (`{}` in [limits])",
                l.what, l.found, l.max, l.name
            ),
            EdgeError::Overloaded => f.write_str("the node is overloaded; retry shortly"),
            EdgeError::Timeout { secs } => write!(
                f,
                "the request did not finish within {secs} s (`call_timeout_secs`); the device call goes on until it returns"
            ),
        }
    }
}

impl From<DeviceError> for EdgeError {
    fn from(e: DeviceError) -> Self {
        EdgeError::Device(e)
    }
}

impl From<crate::path::PathError> for EdgeError {
    fn from(e: crate::path::PathError) -> Self {
        EdgeError::BadPath(e.0)
    }
}

/// Whether an error is the node's fault (logged as such).
pub fn is_server_error(e: &EdgeError) -> bool {
    matches!(e, EdgeError::Device(d) if matches!(d.kind(), ErrorKind::Failure | ErrorKind::Unavailable))
}
