//! Test support shared by the codec crates' integration tests (feature `vectors`): locating
//! `shared/vectors`, reading the typed-JSON convention of `vectors/README.md` into
//! [`Value`]s and [`Message`]s, and collecting per-case failures.
//!
//! Not part of the stable API.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ferrobeam_device_api::{Key, Message, Value};
use serde_json::Value as Json;
use std::path::PathBuf;

/// The vectors directory: `$FERROBEAM_VECTORS`, else `shared/vectors` next to the repository.
pub fn dir() -> PathBuf {
    match std::env::var_os("FERROBEAM_VECTORS") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/vectors"
        )),
    }
}

/// Reads and parses a JSON file below [`dir`].
pub fn load(relative: &str) -> Result<Json, String> {
    let path = dir().join(relative);
    let text = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The `cases` array of a vectors file.
pub fn cases(relative: &str) -> Result<Vec<Json>, String> {
    match load(relative)?.get_mut("cases").map(Json::take) {
        Some(Json::Array(cases)) => Ok(cases),
        _ => Err(format!("{relative}: no cases array")),
    }
}

/// A typed JSON value (`{"bin": …}`, `{"int": …}`, …) as a [`Value`].
pub fn value(json: &Json) -> Result<Value, String> {
    let obj = json
        .as_object()
        .filter(|o| o.len() == 1)
        .ok_or_else(|| format!("not a typed value: {json}"))?;
    let (tag, inner) = obj.iter().next().ok_or("empty typed value")?;
    Ok(match tag.as_str() {
        "bin" => Value::binary(str_of(inner)?),
        "bin_b64" => Value::binary(b64(str_of(inner)?)?),
        "int" => Value::Integer(inner.as_i64().ok_or_else(|| format!("bad int {inner}"))?),
        "float" => Value::Float(inner.as_f64().ok_or_else(|| format!("bad float {inner}"))?),
        "atom" => Value::Atom(str_of(inner)?.to_owned()),
        "list" => Value::List(
            inner
                .as_array()
                .ok_or("list is not an array")?
                .iter()
                .map(value)
                .collect::<Result<_, _>>()?,
        ),
        "map" => Value::Message(message(inner)?),
        other => return Err(format!("unknown typed-value tag {other:?}")),
    })
}

/// A JSON object of typed values as a [`Message`] (keys normalised by [`Key::new`]).
pub fn message(json: &Json) -> Result<Message, String> {
    let obj = json
        .as_object()
        .ok_or_else(|| format!("not an object: {json}"))?;
    let mut out = Message::with_capacity(obj.len());
    for (k, v) in obj {
        out.insert(Key::new(k), value(v)?);
    }
    Ok(out)
}

/// `field` of `case` as a string.
pub fn field<'a>(case: &'a Json, name: &str) -> Result<&'a str, String> {
    case.get(name)
        .and_then(Json::as_str)
        .ok_or_else(|| format!("missing string field {name:?}"))
}

/// The `name` of a case (or `"?"`).
pub fn name(case: &Json) -> &str {
    case.get("name").and_then(Json::as_str).unwrap_or("?")
}

fn str_of(json: &Json) -> Result<&str, String> {
    json.as_str().ok_or_else(|| format!("not a string: {json}"))
}

/// Standard base64 (padded) to bytes.
pub fn b64(text: &str) -> Result<Vec<u8>, String> {
    STANDARD
        .decode(text)
        .map_err(|e| format!("bad base64: {e}"))
}

/// Base64url without padding to bytes.
pub fn b64url(text: &str) -> Result<Vec<u8>, String> {
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| format!("bad base64url: {e}"))
}

/// Bytes as lossy text for messages.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Collects failures of many cases and reports them all at once.
#[derive(Debug, Default)]
pub struct Failures {
    checked: usize,
    failed: Vec<String>,
}

impl Failures {
    /// A new, empty collector.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the outcome of case `name`.
    pub fn record(&mut self, name: &str, outcome: Result<(), String>) {
        self.checked += 1;
        if let Err(why) = outcome {
            self.failed.push(format!("{name}: {why}"));
        }
    }

    /// Number of cases recorded.
    pub fn checked(&self) -> usize {
        self.checked
    }

    /// Panics listing every failure (and checks at least `min_cases` were recorded).
    #[allow(clippy::panic)]
    pub fn finish(self, what: &str, min_cases: usize) {
        assert!(
            self.failed.is_empty(),
            "{what}: {} of {} cases failed:\n  {}",
            self.failed.len(),
            self.checked,
            self.failed.join("\n  ")
        );
        assert!(
            self.checked >= min_cases,
            "{what}: only {} cases checked, expected at least {min_cases}",
            self.checked
        );
    }
}

/// `Ok` if equal, else an error showing both sides.
pub fn expect_eq<T: PartialEq + std::fmt::Debug>(
    what: &str,
    want: &T,
    got: &T,
) -> Result<(), String> {
    if want == got {
        Ok(())
    } else {
        Err(format!(
            "{what} differs\n    want: {want:?}\n    got:  {got:?}"
        ))
    }
}
