//! Digests, encodings and key-derived names (`codecs.md` §4, §6.1).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Base64url without padding (IDs, addresses, key IDs, boundaries).
pub fn b64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

/// Decodes base64url, with or without padding.
pub fn b64url_decode(text: &[u8]) -> Option<Vec<u8>> {
    let end = text.iter().rposition(|&c| c != b'=').map_or(0, |i| i + 1);
    URL_SAFE_NO_PAD.decode(&text[..end]).ok()
}

/// Standard base64 with padding.
pub fn b64(data: &[u8]) -> String {
    STANDARD.encode(data)
}

/// The `content-digest` header value of a body: `sha-256=:<b64(sha256(body))>:`.
///
/// ```
/// assert_eq!(
///     ferrobeam_httpsig::content_digest(b"hello"),
///     "sha-256=:LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=:"
/// );
/// ```
pub fn content_digest(body: &[u8]) -> String {
    content_digest_of(&sha256(body))
}

/// The `content-digest` header value for a SHA-256 `digest` computed elsewhere.
pub(crate) fn content_digest_of(digest: &[u8]) -> String {
    let mut out = String::with_capacity(56);
    out.push_str("sha-256=:");
    STANDARD.encode_string(digest, &mut out);
    out.push(':');
    out
}

/// HMAC-SHA256 of `data` under `key`.
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length; the error case cannot occur.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().into()
        }
        Err(_) => [0; 32],
    }
}

/// The key ID of an RSA public key: base64url of the modulus `n` (`§6.1`).
pub fn keyid(n: &[u8]) -> String {
    b64url(n)
}

/// The address (committer) of an RSA public key: base64url(sha256(n)) (`§6.1`).
///
/// ```
/// let n = [1u8; 512];
/// assert_eq!(ferrobeam_httpsig::address(&n).len(), 43);
/// ```
pub fn address(n: &[u8]) -> String {
    b64url(&sha256(n))
}

/// The signature name of a key: `http-sig-` + hex of bytes 1..9 of sha256(n) (`§6.1`).
pub fn signature_name(n: &[u8]) -> String {
    let digest = sha256(n);
    let mut out = String::from("http-sig-");
    for b in &digest[1..9] {
        out.push_str(&format!("{b:02x}"));
    }
    out
}
