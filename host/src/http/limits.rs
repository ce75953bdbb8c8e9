//! The request limits of `[limits]` (and `[node]`'s body and header sizes), checked as early as
//! each can be: header count on arrival, the target before parsing, multipart parts before
//! decoding, nesting and list length on the decoded message.

use super::error::{EdgeError, LimitExceeded};
use crate::config::Limits;
use ferrobeam_device_api::{Message, Value};

/// At most `max_headers` header fields.
pub fn headers(count: usize, limits: &Limits) -> Result<(), EdgeError> {
    exceeds(
        "max_headers",
        "header fields",
        count,
        limits.max_headers,
        431,
    )
}

/// The request target: its length, and how many path segments it has, counting those inside
/// sub-resolutions (`/a/(b/c)/d` has four).
pub fn target(target: &str, limits: &Limits) -> Result<(), EdgeError> {
    exceeds(
        "max_path_bytes",
        "the request target's length in bytes",
        target.len(),
        limits.max_path_bytes,
        414,
    )?;
    let path = target.split('?').next().unwrap_or("");
    let steps = path
        .split(['/', '(', ')'])
        .filter(|s| !s.is_empty())
        .count();
    exceeds(
        "max_path_steps",
        "path segments",
        steps,
        limits.max_path_steps,
        400,
    )
}

/// The parts of a multipart body: every delimiter line `--<boundary>` counts, so nested parts
/// do too.
pub fn parts(http: &Message, limits: &Limits) -> Result<(), EdgeError> {
    let (Some(content_type), Some(body)) = (
        http.get_str("content-type"),
        http.get("body").and_then(Value::as_bytes),
    ) else {
        return Ok(());
    };
    let Some(boundary) = boundary(content_type) else {
        return Ok(());
    };
    let delimiter = format!("--{boundary}");
    let count = count_occurrences(body, delimiter.as_bytes()).saturating_sub(1);
    exceeds("max_parts", "multipart parts", count, limits.max_parts, 400)
}

/// Nesting depth and list lengths of a decoded request.
pub fn message(msg: &Message, limits: &Limits) -> Result<(), EdgeError> {
    let mut longest = 0;
    let depth = walk_message(msg, 1, limits.max_depth, &mut longest);
    exceeds(
        "max_depth",
        "nesting depth of the request's messages and lists",
        depth,
        limits.max_depth,
        400,
    )?;
    exceeds(
        "max_list_length",
        "a list's length",
        longest,
        limits.max_list_length,
        400,
    )
}

/// The depth of `msg` (1 for a flat message), stopping once past `cap`.
fn walk_message(msg: &Message, depth: usize, cap: usize, longest: &mut usize) -> usize {
    msg.iter()
        .map(|(_, v)| walk_value(v, depth, cap, longest))
        .max()
        .unwrap_or(depth)
        .max(depth)
}

fn walk_value(v: &Value, depth: usize, cap: usize, longest: &mut usize) -> usize {
    if depth > cap {
        return depth;
    }
    match v {
        Value::Message(m) => walk_message(m, depth + 1, cap, longest),
        Value::List(items) => {
            *longest = (*longest).max(items.len());
            items
                .iter()
                .map(|i| walk_value(i, depth + 1, cap, longest))
                .max()
                .unwrap_or(depth + 1)
        }
        _ => depth,
    }
}

fn boundary(content_type: &str) -> Option<&str> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"'))
            .filter(|b| !b.is_empty())
    })
}

/// Non-overlapping occurrences of `needle` in `hay` (a vectorised search: a byte-by-byte
/// comparison cost a third of the node's time on a 78 KB multipart request).
fn count_occurrences(hay: &[u8], needle: &[u8]) -> usize {
    if needle.is_empty() {
        return 0;
    }
    memchr::memmem::find_iter(hay, needle).count()
}

fn exceeds(
    name: &'static str,
    what: &'static str,
    found: usize,
    max: usize,
    status: u16,
) -> Result<(), EdgeError> {
    if found <= max {
        return Ok(());
    }
    Err(EdgeError::Limit(LimitExceeded {
        name,
        what,
        found,
        max,
        status,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small() -> Limits {
        Limits {
            max_headers: 2,
            max_path_bytes: 20,
            max_path_steps: 3,
            max_parts: 2,
            max_depth: 3,
            max_list_length: 2,
        }
    }

    #[test]
    fn each_limit_names_itself_with_its_status() {
        let l = small();
        assert_eq!(headers(3, &l).unwrap_err().status(), 431);
        assert_eq!(target(&"/x".repeat(11), &l).unwrap_err().status(), 414);
        let e = target("/a/(b/c)/d", &l).unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(e.to_string().contains("max_path_steps"), "{e}");
        assert!(target("/a/b?x=1/2/3/4", &l).is_ok());
        let body = b"--B\r\na\r\n--B\r\nb\r\n--B\r\nc\r\n--B--".to_vec();
        let http = Message::new()
            .with("content-type", "multipart/form-data; boundary=\"B\"")
            .with("body", body);
        assert!(parts(&http, &l)
            .unwrap_err()
            .to_string()
            .contains("max_parts"));
        let deep = Message::new().with(
            "a",
            Message::new().with("b", Message::new().with("c", Message::new().with("d", 1))),
        );
        assert!(message(&deep, &l)
            .unwrap_err()
            .to_string()
            .contains("max_depth"));
        let long = Message::new().with("l", Value::List(vec![1.into(), 2.into(), 3.into()]));
        assert!(message(&long, &l)
            .unwrap_err()
            .to_string()
            .contains("max_list_length"));
        assert!(message(&Message::new().with("x", Message::new()), &l).is_ok());
    }

    #[test]
    fn parts_are_counted_by_their_delimiters_without_overlaps() {
        assert_eq!(count_occurrences(b"--B--B--B", b"--B"), 3);
        assert_eq!(count_occurrences(b"aaaa", b"aa"), 2);
        assert_eq!(count_occurrences(b"ab", b"abc"), 0);
        assert_eq!(count_occurrences(b"abc", b""), 0);
        // Two parts are within a limit of two, however long they are.
        let part = "x".repeat(100_000);
        let body = format!("--B\r\n{part}\r\n--B\r\n{part}\r\n--B--");
        let http = Message::new()
            .with("content-type", "multipart/form-data; boundary=\"B\"")
            .with("body", body);
        assert!(parts(&http, &small()).is_ok());
    }
}
