//! Splitting a request target into steps (`spec/codecs.md` §9.1).

use std::borrow::Cow;
use std::fmt;

/// Longest segment HyperBEAM accepts.
pub const MAX_SEGMENT_BYTES: usize = 512;
/// Deepest `( … )` nesting accepted.
pub const MAX_NESTING: usize = 16;

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// An ID-shaped segment: load that message.
    Id(String),
    /// `key&k=v…`: call `key` on the current message with these request keys.
    Key {
        /// The key (method) to resolve.
        key: String,
        /// Inlined request keys.
        params: Vec<(String, Param)>,
    },
    /// `key~device&k=v…` (key may be empty, e.g. a leading `~meta@1.0`): switch the current
    /// message to `device`, then resolve `key` (if any). A key that is itself ID-shaped loads
    /// that message first (`/<id>~process@1.0`).
    As {
        /// `name@version`.
        device: String,
        /// The key, possibly empty.
        key: String,
        /// Inlined request keys.
        params: Vec<(String, Param)>,
    },
    /// `( … )`: resolve the inner path and use its result.
    Resolve(Vec<Step>),
}

/// The value of an inlined key.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// `k=v`: text, as written (quotes are kept, as HyperBEAM does).
    Text(String),
    /// `k` alone: the atom `true`.
    True,
    /// `k+type=v`: a typed value, decoded by `structured@1.0`.
    Typed {
        /// `integer`, `float`, `atom`, `list` or `map`.
        ty: String,
        /// The text to decode.
        raw: String,
    },
    /// `k=(/x/y)` or `k+resolve=/x/y`: a sub-resolution (passed to the device unevaluated,
    /// as in HyperBEAM main).
    Resolve(String),
}

/// Why a path could not be parsed. Always a 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError(pub String);

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PathError {}

fn err<T>(text: impl Into<String>) -> Result<T, PathError> {
    Err(PathError(text.into()))
}

/// A parsed request target.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Route {
    /// The path's steps.
    pub steps: Vec<Step>,
    /// Keys of the query string (`?x=1&y`): like the request's own keys, they reach every step.
    pub query: Vec<(String, Param)>,
}

/// Parses a request target (`/a/b&k=v?x=1`).
pub fn parse(target: &str) -> Result<Route, PathError> {
    let (path, query) = match split_once_outside_parens(target, b'?')? {
        Some((p, q)) => (p, parse_params(q, 0)?),
        None => (target, Vec::new()),
    };
    Ok(Route {
        steps: parse_nested(path, 0)?,
        query,
    })
}

fn parse_nested(target: &str, depth: usize) -> Result<Vec<Step>, PathError> {
    if depth > MAX_NESTING {
        return err(format!("path nests ( … ) deeper than {MAX_NESTING}"));
    }
    let (path, query) = match split_once_outside_parens(target, b'?')? {
        Some((p, q)) => (p, Some(q)),
        None => (target, None),
    };
    let mut steps = Vec::new();
    for raw in split_outside_parens(path, b'/')? {
        if raw.is_empty() {
            continue;
        }
        // Segments are percent-decoded twice (`%252F` is a `/`), then split again (§9.1).
        let once = percent_decode(raw)?;
        let twice = percent_decode(&once)?;
        for seg in split_outside_parens(&twice, b'/')? {
            if seg.is_empty() {
                continue;
            }
            if seg.len() > MAX_SEGMENT_BYTES {
                return err(format!(
                    "path segment of {} bytes; the limit is {MAX_SEGMENT_BYTES}",
                    seg.len()
                ));
            }
            steps.push(parse_segment(seg, depth)?);
        }
    }
    if let Some(query) = query {
        // A `?` inside a sub-resolution: its keys belong to that sub-path's last step.
        let params = parse_params(query, depth)?;
        if let Some(Step::Key { params: p, .. }) | Some(Step::As { params: p, .. }) =
            steps.last_mut()
        {
            p.extend(params);
        }
    }
    Ok(steps)
}

fn parse_segment(seg: &str, depth: usize) -> Result<Step, PathError> {
    if let Some(inner) = seg.strip_prefix('(') {
        let inner = inner
            .strip_suffix(')')
            .ok_or_else(|| PathError(format!("unbalanced parentheses in `{seg}`")))?;
        return Ok(Step::Resolve(parse_nested(inner, depth + 1)?));
    }
    if is_id(seg) {
        return Ok(Step::Id(seg.to_owned()));
    }
    let cut = first_outside_parens(seg, b"&~+")?;
    let Some((at, sep)) = cut else {
        return key_step(seg, Vec::new(), depth);
    };
    let key = seg[..at].to_owned();
    let rest = &seg[at + 1..];
    match sep {
        b'+' => err(format!(
            "`{seg}`: a type suffix (+type) is only allowed on inlined keys such as `&k+integer=1`"
        )),
        b'&' => key_step(&key, parse_params(rest, depth)?, depth),
        _ => {
            let (device, params) = match split_once_outside_parens(rest, b'&')? {
                Some((d, p)) => (d, parse_params(p, depth)?),
                None => (rest, Vec::new()),
            };
            if device.is_empty() {
                return err(format!("`{seg}`: `~` must be followed by a device name"));
            }
            Ok(Step::As {
                device: device.to_owned(),
                key,
                params,
            })
        }
    }
}

/// A key step. `key=V` is HyperBEAM's shorthand for the key `key` with the inlined key
/// `key: V` (`/compute=5` is `/compute&compute=5`; `spec/process.md` §1.2).
fn key_step(raw: &str, params: Vec<(String, Param)>, depth: usize) -> Result<Step, PathError> {
    match raw.split_once('=') {
        Some((key, _)) if !key.is_empty() => {
            let mut all = parse_params(raw, depth)?;
            all.extend(params);
            Ok(Step::Key {
                key: key.to_owned(),
                params: all,
            })
        }
        _ => Ok(Step::Key {
            key: raw.to_owned(),
            params,
        }),
    }
}

/// Parses `k=v&k2&k3+integer=5` (§9.1 step 4).
fn parse_params(text: &str, depth: usize) -> Result<Vec<(String, Param)>, PathError> {
    let mut out = Vec::new();
    for part in split_outside_parens(text, b'&')? {
        if part.is_empty() {
            continue;
        }
        let (name, value) = match part.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (part, None),
        };
        let (key, ty) = match name.split_once('+') {
            Some((k, t)) => (k, Some(t)),
            None => (name, None),
        };
        if key.is_empty() {
            return err(format!("`{part}`: an inlined key needs a name"));
        }
        let key = key.to_lowercase();
        let param = match (ty, value) {
            (None, None) => Param::True,
            (Some(ty), None) => {
                return err(format!(
                    "`{part}`: a typed key needs a value (`{key}+{ty}=…`)"
                ))
            }
            (Some("resolve"), Some(v)) => {
                parse_nested(v, depth + 1)?;
                Param::Resolve(v.to_owned())
            }
            (Some(ty), Some(v)) => {
                let ty = ty.to_lowercase();
                if !matches!(ty.as_str(), "integer" | "float" | "atom" | "list" | "map") {
                    return err(format!(
                        "`{part}`: unknown type `{ty}` (use integer, float, atom, list, map or resolve)"
                    ));
                }
                if v.starts_with('(') {
                    return err(format!(
                        "`{part}`: a typed value cannot be a sub-resolution"
                    ));
                }
                Param::Typed {
                    ty,
                    raw: v.to_owned(),
                }
            }
            (None, Some(v)) if v.starts_with('(') && v.ends_with(')') => {
                parse_nested(&v[1..v.len() - 1], depth + 1)?;
                Param::Resolve(v[1..v.len() - 1].to_owned())
            }
            (None, Some(v)) => Param::Text(v.to_owned()),
        };
        out.push((key, param));
    }
    Ok(out)
}

/// Whether a segment is an ID: 43 base64url characters, or a `0x` address of 42.
pub fn is_id(seg: &str) -> bool {
    let b64url = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    match seg.len() {
        43 => b64url(seg),
        42 => seg.starts_with("0x") && seg[2..].bytes().all(|b| b.is_ascii_hexdigit()),
        _ => false,
    }
}

fn percent_decode(s: &str) -> Result<Cow<'_, str>, PathError> {
    if !s.contains('%') {
        return Ok(Cow::Borrowed(s));
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(v) => {
                    out.push(v);
                    i += 3;
                    continue;
                }
                None => return err(format!("bad percent-escape in `{s}`")),
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| PathError(format!("`{s}` does not decode to UTF-8")))
}

/// Texts at least this long are searched for separators with `memchr` when they have no
/// parentheses; a shorter one (a key, a device name: an ID is 43 bytes) is quicker to walk
/// byte by byte.
const VECTORISED_FROM: usize = 32;

/// Calls `found` with the position and byte of every one of `seps` outside parentheses; an
/// error when the parentheses do not balance.
fn outside_parens(s: &str, seps: &[u8], mut found: impl FnMut(usize, u8)) -> Result<(), PathError> {
    if s.len() >= VECTORISED_FROM && separators_without_parens(s.as_bytes(), seps, &mut found) {
        return Ok(());
    }
    let unbalanced = || PathError(format!("unbalanced parentheses in `{s}`"));
    let mut depth = 0usize;
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' => depth = depth.checked_sub(1).ok_or_else(unbalanced)?,
            _ if depth == 0 && seps.contains(&b) => found(i, b),
            _ => {}
        }
    }
    if depth != 0 {
        return Err(unbalanced());
    }
    Ok(())
}

/// Calls `found` for every one of `seps` in `bytes` and says true, when `bytes` has no
/// parentheses (most paths): then every separator is outside them, and a vectorised search
/// finds them. False, having called nothing, when it has some, or there are none or over three
/// `seps`.
#[inline(never)]
fn separators_without_parens(bytes: &[u8], seps: &[u8], found: &mut impl FnMut(usize, u8)) -> bool {
    let (a, b, c) = match *seps {
        [a] => (a, a, a),
        [a, b] => (a, b, b),
        [a, b, c] => (a, b, c),
        _ => return false,
    };
    if memchr::memchr2(b'(', b')', bytes).is_some() {
        return false;
    }
    for i in memchr::memchr3_iter(a, b, c, bytes) {
        found(i, bytes[i]);
    }
    true
}

/// Splits on `sep` where not inside parentheses.
fn split_outside_parens(s: &str, sep: u8) -> Result<Vec<&str>, PathError> {
    let mut parts = Vec::new();
    let mut start = 0;
    outside_parens(s, &[sep], |i, _| {
        parts.push(&s[start..i]);
        start = i + 1;
    })?;
    parts.push(&s[start..]);
    Ok(parts)
}

fn split_once_outside_parens(s: &str, sep: u8) -> Result<Option<(&str, &str)>, PathError> {
    Ok(first_outside_parens(s, &[sep])?.map(|(i, _)| (&s[..i], &s[i + 1..])))
}

fn first_outside_parens(s: &str, seps: &[u8]) -> Result<Option<(usize, u8)>, PathError> {
    let mut first = None;
    outside_parens(s, seps, |i, b| {
        first.get_or_insert((i, b));
    })?;
    Ok(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Step {
        Step::Key {
            key: k.into(),
            params: vec![],
        }
    }
    fn text(k: &str, v: &str) -> (String, Param) {
        (k.into(), Param::Text(v.into()))
    }

    fn steps(target: &str) -> Vec<Step> {
        parse(target).unwrap().steps
    }

    #[test]
    fn plain_keys() {
        assert_eq!(steps("/a/b/c"), vec![key("a"), key("b"), key("c")]);
        assert_eq!(steps("/"), vec![]);
        assert_eq!(steps("//a//"), vec![key("a")]);
    }

    #[test]
    fn device_steps() {
        assert_eq!(
            steps("/~meta@1.0/info"),
            vec![
                Step::As {
                    device: "meta@1.0".into(),
                    key: "".into(),
                    params: vec![]
                },
                key("info")
            ]
        );
        let pid = "XgN1kN-ZyAWtYvdUlPEM3EIIi-budUx81mjcHQ1mSNU";
        assert_eq!(
            steps(&format!("/{pid}~process@1.0/compute/counter")),
            vec![
                Step::As {
                    device: "process@1.0".into(),
                    key: pid.into(),
                    params: vec![]
                },
                key("compute"),
                key("counter")
            ]
        );
    }

    #[test]
    fn inlined_and_query_keys() {
        assert_eq!(
            steps("/a/b&k1=v1/c&k2=v2"),
            vec![
                key("a"),
                Step::Key {
                    key: "b".into(),
                    params: vec![text("k1", "v1")]
                },
                Step::Key {
                    key: "c".into(),
                    params: vec![text("k2", "v2")]
                },
            ]
        );
        let route = parse("/~mydev@1.0/info?x=1&flag").unwrap();
        assert_eq!(route.steps[1], key("info"));
        assert_eq!(
            route.query,
            vec![text("x", "1"), ("flag".into(), Param::True)]
        );
        assert_eq!(
            steps("/a&greeting=\"Hello\"")[0],
            Step::Key {
                key: "a".into(),
                params: vec![text("greeting", "\"Hello\"")]
            }
        );
    }

    #[test]
    fn key_equals_value_segments_inline_the_key() {
        assert_eq!(
            steps("/compute=5/results"),
            vec![
                Step::Key {
                    key: "compute".into(),
                    params: vec![text("compute", "5")]
                },
                key("results")
            ]
        );
        assert_eq!(
            steps("/results=3&x=1")[0],
            Step::Key {
                key: "results".into(),
                params: vec![text("results", "3"), text("x", "1")]
            }
        );
    }

    #[test]
    fn typed_keys() {
        assert_eq!(
            steps("/a&k+integer=5")[0],
            Step::Key {
                key: "a".into(),
                params: vec![(
                    "k".into(),
                    Param::Typed {
                        ty: "integer".into(),
                        raw: "5".into()
                    }
                )]
            }
        );
        assert!(parse("/a&k+int=5").is_err());
        assert!(parse("/a+integer").is_err());
    }

    #[test]
    fn sub_resolutions() {
        assert_eq!(
            steps("/a/(x/y/z)/z"),
            vec![
                key("a"),
                Step::Resolve(vec![key("x"), key("y"), key("z")]),
                key("z")
            ]
        );
        assert_eq!(
            steps("/part1/part2&test=1&b=(/x/y)/part3")[1],
            Step::Key {
                key: "part2".into(),
                params: vec![
                    text("test", "1"),
                    ("b".into(), Param::Resolve("/x/y".into()))
                ]
            }
        );
    }

    #[test]
    fn double_percent_decoding() {
        assert_eq!(steps("/a%252Fb"), vec![key("a"), key("b")]);
        assert_eq!(steps("/a%20b"), vec![key("a b")]);
    }

    #[test]
    fn malformed_paths_are_errors() {
        assert!(parse("/a(b").is_err());
        assert!(parse("/a)b").is_err());
        assert!(parse("/%zz").is_err());
        assert!(parse(&format!("/{}", "x".repeat(600))).is_err());
        assert!(parse("/a~").is_err());
        assert!(parse(&format!("/{}", "(".repeat(40) + &")".repeat(40))).is_err());
    }

    #[test]
    fn the_vectorised_search_finds_what_the_byte_loop_does() {
        // The byte loop alone: every separator outside parentheses, or unbalanced.
        fn by_bytes(s: &str, seps: &[u8]) -> Option<Vec<(usize, u8)>> {
            let mut depth = 0usize;
            let mut found = Vec::new();
            for (i, b) in s.bytes().enumerate() {
                match b {
                    b'(' => depth += 1,
                    b')' => depth = depth.checked_sub(1)?,
                    _ if depth == 0 && seps.contains(&b) => found.push((i, b)),
                    _ => {}
                }
            }
            (depth == 0).then_some(found)
        }
        let alphabet = b"ab/&~+?()%";
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for len in 0..100 {
            for _ in 0..50 {
                let text: String = (0..len)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        // Parentheses in one text of four, so that most take the fast path.
                        let pick = (state % 40) as usize;
                        let byte = alphabet[pick % alphabet.len()];
                        let plain = state % 4 != 0 && matches!(byte, b'(' | b')');
                        char::from(if plain { b'a' } else { byte })
                    })
                    .collect();
                for seps in [&b"/"[..], b"&~+", b"?&", b""] {
                    let mut found = Vec::new();
                    let fast = outside_parens(&text, seps, |i, b| found.push((i, b)))
                        .ok()
                        .map(|()| found);
                    assert_eq!(fast, by_bytes(&text, seps), "{text:?} {seps:?}");
                }
            }
        }
    }

    #[test]
    fn later_steps_of_the_dynamic_read_path() {
        let steps = steps("/now/~lua@5.3a&module=X/calculate/serialize~json@1.0");
        assert_eq!(steps.len(), 4);
        assert_eq!(
            steps[1],
            Step::As {
                device: "lua@5.3a".into(),
                key: "".into(),
                params: vec![text("module", "X")]
            }
        );
        assert_eq!(
            steps[3],
            Step::As {
                device: "json@1.0".into(),
                key: "serialize".into(),
                params: vec![]
            }
        );
    }
}
