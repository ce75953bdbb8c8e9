//! `[limits]`: how large and how complex a request may be. Each limit is answered with its own
//! status and a reason naming the limit, so a client knows what to change (docs/reliability.md).

use serde::Deserialize;

/// `[limits]` of `devices.toml`. The body and header-size limits are `[node]`'s
/// `max_body_bytes` / `max_header_bytes`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Most request header fields (431 above).
    pub max_headers: usize,
    /// Longest request target, path and query, in bytes (414 above).
    pub max_path_bytes: usize,
    /// Most path segments, counting those inside sub-resolutions (400 above).
    pub max_path_steps: usize,
    /// Most parts in a multipart body, nested parts included (400 above).
    pub max_parts: usize,
    /// Deepest nesting of messages and lists in a decoded request (400 above).
    pub max_depth: usize,
    /// Longest list in a decoded request (400 above).
    pub max_list_length: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_headers: 256,
            max_path_bytes: 16 * 1024,
            max_path_steps: 128,
            max_parts: 4096,
            max_depth: 32,
            max_list_length: 65_536,
        }
    }
}

impl Limits {
    /// The names of limits set to 0 (none may be: a limit of 0 would refuse every request).
    pub fn zeros(&self) -> Vec<&'static str> {
        [
            ("max_headers", self.max_headers),
            ("max_path_bytes", self.max_path_bytes),
            ("max_path_steps", self.max_path_steps),
            ("max_parts", self.max_parts),
            ("max_depth", self.max_depth),
            ("max_list_length", self.max_list_length),
        ]
        .into_iter()
        .filter(|(_, v)| *v == 0)
        .map(|(k, _)| k)
        .collect()
    }
}
