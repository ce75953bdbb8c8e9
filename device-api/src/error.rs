//! Errors a device method returns, and how they cross the boundary.
//!
//! A [`DeviceError`] has a [`ErrorKind`] (which becomes the HTTP status, `spec/codecs.md` §9.5),
//! a human-readable reason, and optional details. The node turns it into a signed error message
//! `{status, body: reason, …details}`; it never drops the connection.

use crate::message::{Message, Value};
use std::fmt;

/// What went wrong, as the HTTP status the node answers with.
///
/// ```
/// use ferrobeam_device_api::ErrorKind;
/// assert_eq!(ErrorKind::NotFound.status(), 404);
/// assert_eq!(ErrorKind::from_status(503), ErrorKind::Unavailable);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request is malformed or not acceptable (400).
    BadRequest,
    /// The request is not signed by someone allowed to make it (401).
    Unauthorized,
    /// The device refuses the request (403).
    Forbidden,
    /// The key, device or message does not exist (404).
    NotFound,
    /// The request lost a race with another change; retrying may succeed (409).
    Conflict,
    /// The request is too large (413).
    TooLarge,
    /// The device failed (500). Panics become this.
    Failure,
    /// The device or a resource it needs is unavailable (503).
    Unavailable,
}

impl ErrorKind {
    /// The HTTP status code.
    ///
    /// ```
    /// # use ferrobeam_device_api::ErrorKind;
    /// assert_eq!(ErrorKind::Failure.status(), 500);
    /// ```
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::BadRequest => 400,
            ErrorKind::Unauthorized => 401,
            ErrorKind::Forbidden => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::TooLarge => 413,
            ErrorKind::Failure => 500,
            ErrorKind::Unavailable => 503,
        }
    }

    /// The kind for an HTTP status code; unknown 4xx codes are `BadRequest`, others `Failure`.
    ///
    /// ```
    /// # use ferrobeam_device_api::ErrorKind;
    /// assert_eq!(ErrorKind::from_status(418), ErrorKind::BadRequest);
    /// assert_eq!(ErrorKind::from_status(502), ErrorKind::Failure);
    /// ```
    pub fn from_status(status: i64) -> Self {
        match status {
            401 => ErrorKind::Unauthorized,
            403 => ErrorKind::Forbidden,
            404 => ErrorKind::NotFound,
            409 => ErrorKind::Conflict,
            413 => ErrorKind::TooLarge,
            503 => ErrorKind::Unavailable,
            400..=499 => ErrorKind::BadRequest,
            _ => ErrorKind::Failure,
        }
    }
}

/// The error a device method returns.
///
/// ```
/// use ferrobeam_device_api::{DeviceError, ErrorKind, Message};
/// let e = DeviceError::bad_request("`name` is missing from the JSON body");
/// assert_eq!(e.kind(), ErrorKind::BadRequest);
/// let m = e.to_message();
/// assert_eq!(m.get("status").and_then(|v| v.as_integer()), Some(400));
/// assert_eq!(DeviceError::from_message(&m), e);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceError {
    kind: ErrorKind,
    reason: String,
    details: Message,
}

impl DeviceError {
    /// An error of `kind` with a reason.
    ///
    /// ```
    /// # use ferrobeam_device_api::{DeviceError, ErrorKind};
    /// let e = DeviceError::new(ErrorKind::Forbidden, "only the operator may do this");
    /// assert_eq!(e.reason(), "only the operator may do this");
    /// ```
    pub fn new(kind: ErrorKind, reason: impl Into<String>) -> Self {
        DeviceError {
            kind,
            reason: reason.into(),
            details: Message::new(),
        }
    }

    /// A 400 error.
    ///
    /// ```
    /// # use ferrobeam_device_api::DeviceError;
    /// assert_eq!(DeviceError::bad_request("no").kind().status(), 400);
    /// ```
    pub fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadRequest, reason)
    }

    /// A 404 error.
    ///
    /// ```
    /// # use ferrobeam_device_api::DeviceError;
    /// assert_eq!(DeviceError::not_found("no such key").kind().status(), 404);
    /// ```
    pub fn not_found(reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, reason)
    }

    /// A 500 error.
    ///
    /// ```
    /// # use ferrobeam_device_api::DeviceError;
    /// assert_eq!(DeviceError::failure("disk full").kind().status(), 500);
    /// ```
    pub fn failure(reason: impl Into<String>) -> Self {
        Self::new(ErrorKind::Failure, reason)
    }

    /// Adds a detail field to the error message.
    ///
    /// ```
    /// # use ferrobeam_device_api::DeviceError;
    /// let e = DeviceError::bad_request("bad slot").with_detail("slot", 7);
    /// assert_eq!(e.details().get("slot").and_then(|v| v.as_integer()), Some(7));
    /// ```
    pub fn with_detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.details.insert(key, value);
        self
    }

    /// The kind (and so the HTTP status).
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The reason, for people.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Extra fields of the error message.
    pub fn details(&self) -> &Message {
        &self.details
    }

    /// The error as the message the node answers with: details, then `status` and `body`.
    ///
    /// ```
    /// # use ferrobeam_device_api::DeviceError;
    /// let m = DeviceError::not_found("gone").to_message();
    /// assert_eq!(m.get_str("body"), Some("gone"));
    /// ```
    pub fn to_message(&self) -> Message {
        let mut m = self.details.clone();
        m.insert("status", i64::from(self.kind.status()));
        m.insert("body", self.reason.as_str());
        m
    }

    /// Reads an error message back (the inverse of [`DeviceError::to_message`]). A message
    /// without a status is a failure; a non-text body is described rather than lost.
    ///
    /// ```
    /// # use ferrobeam_device_api::{DeviceError, ErrorKind, Message};
    /// let e = DeviceError::from_message(&Message::new().with("status", 404).with("body", "x"));
    /// assert_eq!(e.kind(), ErrorKind::NotFound);
    /// ```
    pub fn from_message(m: &Message) -> Self {
        let status = match m.get("status") {
            Some(Value::Integer(i)) => *i,
            Some(v) => v.as_str().and_then(|s| s.parse().ok()).unwrap_or(500),
            None => 500,
        };
        let reason = match m.get("body") {
            Some(v) => v
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{v:?}")),
            None => String::new(),
        };
        let mut details = m.clone();
        details.remove("status");
        details.remove("body");
        DeviceError {
            kind: ErrorKind::from_status(status),
            reason,
            details,
        }
    }
}

impl fmt::Display for DeviceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.reason, self.kind.status())
    }
}

impl std::error::Error for DeviceError {}
