//! Signature bases, HyperBEAM's dialect of RFC 9421 (`codecs.md` §6.2).
//!
//! One line `"<name>": <value>` per component, joined by LF, then
//! `"@signature-params": <params line>`. A *derived* component such as `@path` keeps its `@`
//! in the params line but its line reads the message field `path` (no RFC 9421 derivation).
//! Parameters are emitted in name order.

use crate::Error;
use ferrobeam_device_api::{Key, Message, Value};
use ferrobeam_structured::sf;
use std::borrow::Cow;

/// Components HyperBEAM treats as derived: `@` is added to these names in component lists.
pub const DERIVED_COMPONENTS: [&str; 9] = [
    "method",
    "target-uri",
    "authority",
    "scheme",
    "request-target",
    "path",
    "query",
    "query-param",
    "status",
];

/// Signature parameters HyperBEAM keeps when it rebuilds a base from a received input (note
/// `expired`, not RFC 9421's `expires`, which is dropped).
pub const RECOGNISED_PARAMS: [&str; 6] = ["alg", "created", "expired", "keyid", "nonce", "tag"];

/// A signature parameter value: integers are written bare, everything else as an SF string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamValue {
    /// `;created=1733165109501`
    Integer(i64),
    /// `;keyid="…"`
    String(Vec<u8>),
}

impl From<&str> for ParamValue {
    fn from(s: &str) -> Self {
        ParamValue::String(s.as_bytes().to_vec())
    }
}

impl From<String> for ParamValue {
    fn from(s: String) -> Self {
        ParamValue::String(s.into_bytes())
    }
}

impl From<i64> for ParamValue {
    fn from(i: i64) -> Self {
        ParamValue::Integer(i)
    }
}

/// Signature parameters as `(name, value)` pairs (emitted sorted by name).
pub type SignatureParams = Vec<(String, ParamValue)>;

/// Adds `@` to bare names that are derived components (`path` → `@path`), keeping the order.
///
/// ```
/// use ferrobeam_httpsig::sigbase::add_derived;
/// assert_eq!(add_derived(["ao-types", "path"]), ["ao-types", "@path"]);
/// ```
pub fn add_derived<I, S>(names: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    names
        .into_iter()
        .map(|n| {
            let n = n.as_ref();
            if DERIVED_COMPONENTS.contains(&n) {
                format!("@{n}")
            } else {
                n.to_owned()
            }
        })
        .collect()
}

/// The signature-params line: `("c1" "c2");k1=v1;k2=v2` with component identifiers
/// lower-cased and parameters sorted by name.
///
/// ```
/// use ferrobeam_httpsig::sigbase::{params_line, ParamValue};
/// let line = params_line(
///     &["Content-Length", "@method", "@Path"],
///     &[("nonce", "foobar".into()), ("created", ParamValue::Integer(1733165109501))],
/// );
/// assert_eq!(line, br#"("content-length" "@method" "@path");created=1733165109501;nonce="foobar""#);
/// ```
pub fn params_line<C, P>(components: &[C], params: &[(P, ParamValue)]) -> Vec<u8>
where
    C: AsRef<str>,
    P: AsRef<str>,
{
    let mut out = Vec::with_capacity(64 + components.len() * 16);
    out.push(b'(');
    for (i, c) in components.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        sf::write_string(&mut out, c.as_ref().to_ascii_lowercase().as_bytes());
    }
    out.push(b')');
    let mut sorted: Vec<&(P, ParamValue)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
    for (name, value) in sorted {
        out.push(b';');
        out.extend_from_slice(name.as_ref().as_bytes());
        out.push(b'=');
        match value {
            ParamValue::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
            ParamValue::String(s) => sf::write_string(&mut out, s),
        }
    }
    out
}

/// The signature base over `fields` (the encoded message, `§6.2.1`): what is signed or
/// verified. A component that is not a binary field of `fields` is an error.
///
/// ```
/// use ferrobeam_device_api::Message;
/// use ferrobeam_httpsig::sigbase::signature_base;
/// let fields = Message::new().with("path", "/x").with("method", "GET");
/// let base = signature_base(&["@method", "@path"], &[("alg", "hmac-sha256".into()), ("keyid", "ao".into())], &fields).unwrap();
/// assert_eq!(base, b"\"method\": GET\n\"path\": /x\n\"@signature-params\": (\"@method\" \"@path\");alg=\"hmac-sha256\";keyid=\"ao\"");
/// ```
pub fn signature_base<C, P>(
    components: &[C],
    params: &[(P, ParamValue)],
    fields: &Message,
) -> Result<Vec<u8>, Error>
where
    C: AsRef<str>,
    P: AsRef<str>,
{
    signature_base_with_params_line(components, &params_line(components, params), fields)
}

/// [`signature_base`] with the signature-params line given as bytes, e.g. the inner list of a
/// received `signature-input` re-serialised, so a base can be rebuilt exactly as its signer
/// wrote it (parameters in the signer's order, unrecognised ones kept).
///
/// ```
/// use ferrobeam_device_api::Message;
/// use ferrobeam_httpsig::sigbase::signature_base_with_params_line;
/// let fields = Message::new().with("a", "1");
/// let base = signature_base_with_params_line(&["a"], br#"("a");keyid="k";alg="x""#, &fields).unwrap();
/// assert_eq!(base, b"\"a\": 1\n\"@signature-params\": (\"a\");keyid=\"k\";alg=\"x\"");
/// ```
pub fn signature_base_with_params_line<C>(
    components: &[C],
    params_line: &[u8],
    fields: &Message,
) -> Result<Vec<u8>, Error>
where
    C: AsRef<str>,
{
    signature_base_by(components, params_line, |name| match fields.get(name) {
        Some(Value::Binary(v)) => Some(v),
        _ => None,
    })
}

/// [`signature_base_with_params_line`] over any field lookup: `field(name)` is the binary value
/// of the (normalised) field `name`, if there is one.
pub(crate) fn signature_base_by<'f, C>(
    components: &[C],
    params_line: &[u8],
    field: impl Fn(&str) -> Option<&'f [u8]>,
) -> Result<Vec<u8>, Error>
where
    C: AsRef<str>,
{
    let mut out = Vec::with_capacity(256 + params_line.len());
    for component in components {
        let id = component.as_ref();
        let name = Key::new(id.strip_prefix('@').unwrap_or(id));
        let Some(value) = field(name.as_str()) else {
            return Err(Error::MissingComponent(id.to_owned()));
        };
        sf::write_string(&mut out, name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(&trim_value(value));
        out.push(b'\n');
    }
    if components.is_empty() {
        out.push(b'\n');
    }
    // The component lines end with LF already; the params line follows.
    out.extend_from_slice(b"\"@signature-params\": ");
    out.extend_from_slice(params_line);
    Ok(out)
}

/// A field value as it appears in a base: leading and trailing spaces removed, then every LF
/// replaced by a space.
///
/// ```
/// use ferrobeam_httpsig::sigbase::trim_value;
/// assert_eq!(&*trim_value(b"   hello\nworld  "), b"hello world");
/// assert_eq!(&*trim_value(b"   "), b"");
/// ```
pub fn trim_value(value: &[u8]) -> Cow<'_, [u8]> {
    let start = value.iter().position(|&b| b != b' ').unwrap_or(value.len());
    let end = value
        .iter()
        .rposition(|&b| b != b' ')
        .map_or(start, |i| i + 1);
    let trimmed = &value[start..end];
    if trimmed.contains(&b'\n') {
        Cow::Owned(
            trimmed
                .iter()
                .map(|&b| if b == b'\n' { b' ' } else { b })
                .collect(),
        )
    } else {
        Cow::Borrowed(trimmed)
    }
}
