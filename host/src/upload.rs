//! `ferrobeam upload FILE [--content-type T]`: store a file on a running node as a message
//! signed by the node wallet, and print its ID — the local counterpart of the guide's
//! `arx upload` (`spec/guides/building-with-hyperbeam.txt`).
//!
//! The file becomes the HTTP body of `POST /~cache@1.0/write`, with its `content-type` and
//! `content-digest`; an RSA-PSS-SHA512 signature over those two fields (HyperBEAM's signature
//! base, `spec/codecs.md` §6.2) makes the request itself the message: `{content-type, body}`
//! with one commitment, whose ID — base64url(sha256(signature)) — is the message's ID. The node
//! verifies the signature, keeps the committed fields and stores the message at
//! `messages/<id>`, so it is readable at `/<id>` and usable as `module=<id>`. Only the node's
//! operator may write there by default (`cache@1.0`, `docs/processes.md`).

use crate::wallet::{Wallet, WalletError};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The route the upload posts to.
pub const ROUTE: &str = "/~cache@1.0/write";

/// How long the node may take to answer.
const TIMEOUT: Duration = Duration::from_secs(60);

/// Why an upload failed.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The wallet could not sign.
    #[error("signing with the node wallet: {0}")]
    Wallet(#[from] WalletError),
    /// The node URL is not `http://host:port`.
    #[error("the node URL must look like http://127.0.0.1:8734, not {0:?}")]
    Url(String),
    /// The node could not be reached or answered garbage.
    #[error("talking to the node at {url}: {why}")]
    Http {
        /// The node.
        url: String,
        /// What went wrong.
        why: String,
    },
    /// The node refused the upload.
    #[error("the node refused the upload ({status}): {body}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The node's explanation.
        body: String,
    },
    /// The node stored the message under another ID than the signature gives.
    #[error("the node answered ID {answered}, but the signed message's ID is {expected}")]
    Mismatch {
        /// What the node said.
        answered: String,
        /// What the signature gives.
        expected: String,
    },
}

/// A signed upload request, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedUpload {
    /// Header fields (lower-case names) in sending order.
    pub headers: Vec<(String, String)>,
    /// The file.
    pub body: Vec<u8>,
    /// The message ID the node must answer with.
    pub id: String,
}

/// The content type of a file from its extension (`application/octet-stream` when unknown).
///
/// ```
/// use ferrobeam::upload::content_type_of;
/// use std::path::Path;
/// assert_eq!(content_type_of(Path::new("circulating-supply.lua")), "application/lua");
/// assert_eq!(content_type_of(Path::new("x.bin")), "application/octet-stream");
/// ```
pub fn content_type_of(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("lua") => "application/lua",
        Some("json") => "application/json",
        Some("wasm") => "application/wasm",
        Some("js" | "mjs") => "application/javascript",
        Some("html" | "htm") => "text/html",
        Some("txt" | "md") => "text/plain",
        Some("css") => "text/css",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("svg") => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// Signs `body` as a message `{content-type, body}` with `wallet`.
pub fn sign(
    body: Vec<u8>,
    content_type: &str,
    wallet: &Wallet,
) -> Result<SignedUpload, UploadError> {
    let digest = format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(&body)));
    let params = format!(
        "(\"content-digest\" \"content-type\");alg=\"rsa-pss-sha512\";keyid=\"{}\"",
        wallet.keyid()
    );
    let base = format!(
        "\"content-digest\": {digest}\n\"content-type\": {}\n\"@signature-params\": {params}",
        content_type.trim()
    );
    let signature = wallet.sign(base.as_bytes())?;
    let name = signature_name(wallet.modulus());
    let id = URL_SAFE_NO_PAD.encode(Sha256::digest(&signature));
    Ok(SignedUpload {
        headers: vec![
            ("content-type".to_owned(), content_type.trim().to_owned()),
            ("content-digest".to_owned(), digest),
            (
                "signature".to_owned(),
                format!("{name}=:{}:", STANDARD.encode(&signature)),
            ),
            ("signature-input".to_owned(), format!("{name}={params}")),
        ],
        body,
        id,
    })
}

/// `http-sig-` and the hex of bytes 1..9 of sha256(n) (`spec/codecs.md` §6.1).
fn signature_name(modulus: &[u8]) -> String {
    let digest = Sha256::digest(modulus);
    let hex: String = digest[1..9].iter().map(|b| format!("{b:02x}")).collect();
    format!("http-sig-{hex}")
}

/// Uploads `file` to the node at `node_url` (`http://host:port`), signed by `wallet`; returns
/// the stored message's ID.
pub fn upload(
    file: &Path,
    content_type: Option<&str>,
    node_url: &str,
    wallet: &Wallet,
) -> Result<String, UploadError> {
    let body = std::fs::read(file).map_err(|source| UploadError::Read {
        path: file.to_owned(),
        source,
    })?;
    let content_type = content_type.unwrap_or_else(|| content_type_of(file));
    let signed = sign(body, content_type, wallet)?;
    let answered = post(node_url, &signed)?;
    if answered != signed.id {
        return Err(UploadError::Mismatch {
            answered,
            expected: signed.id,
        });
    }
    Ok(answered)
}

/// Sends the upload and reads the `id` the node answers with.
fn post(node_url: &str, signed: &SignedUpload) -> Result<String, UploadError> {
    let authority = node_url
        .strip_prefix("http://")
        .map(|rest| rest.trim_end_matches('/'))
        .filter(|a| !a.is_empty() && !a.contains('/'))
        .ok_or_else(|| UploadError::Url(node_url.to_owned()))?;
    let http = |why: String| UploadError::Http {
        url: node_url.to_owned(),
        why,
    };
    let mut stream = TcpStream::connect(authority).map_err(|e| http(e.to_string()))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .map_err(|e| http(e.to_string()))?;
    let mut head = format!("POST {ROUTE} HTTP/1.1\r\nhost: {authority}\r\nconnection: close\r\n");
    for (k, v) in &signed.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", signed.body.len()));
    stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(&signed.body))
        .map_err(|e| http(e.to_string()))?;
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| http(e.to_string()))?;
    let response = parse_response(&raw).ok_or_else(|| http("a malformed response".to_owned()))?;
    if !(200..300).contains(&response.status) {
        return Err(UploadError::Refused {
            status: response.status,
            body: String::from_utf8_lossy(response.body).trim().to_owned(),
        });
    }
    response
        .headers
        .into_iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("id"))
        .map(|(_, v)| v)
        .ok_or_else(|| http("the answer has no `id`".to_owned()))
}

/// An HTTP/1.1 response read to the end (`connection: close`).
#[derive(Debug)]
struct Parsed<'a> {
    status: u16,
    /// Lower-case names.
    headers: Vec<(String, String)>,
    body: &'a [u8],
}

/// Parses a response read to the end.
fn parse_response(raw: &[u8]) -> Option<Parsed<'_>> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect::<Vec<_>>();
    let mut body = &raw[split + 4..];
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"))
    {
        // Only the status matters then; the `id` travels as a header.
        body = &[];
    }
    Some(Parsed {
        status,
        headers,
        body,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ferrobeam_device_api::Message;

    fn test_wallet() -> Wallet {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/vectors/wallets/test-wallet-1.json");
        Wallet::load(&path).unwrap()
    }

    #[test]
    fn the_signed_request_verifies_as_received() {
        let signed = sign(b"print('hi')".to_vec(), "application/lua", &test_wallet()).unwrap();
        let mut http = Message::new();
        for (k, v) in &signed.headers {
            http.insert(k.as_str(), v.as_str());
        }
        http.insert("body", signed.body.clone());
        crate::verify::install();
        let checks = ferrobeam_httpsig::verify_received(&http, &Message::new()).unwrap();
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].outcome, Ok(()));
        assert_eq!(checks[0].commitment_id, signed.id);
        assert_eq!(
            checks[0].committer.as_deref(),
            Some("2CX623l73yjl6SnfcezbOC13kUL9nmrpDedfOBGiab4")
        );
        // A changed byte of the file does not verify.
        http.insert("body", b"print('hI')".to_vec());
        crate::verify::install();
        let checks = ferrobeam_httpsig::verify_received(&http, &Message::new()).unwrap();
        assert!(checks[0].outcome.is_err());
    }

    #[test]
    fn urls_other_than_plain_http_are_refused() {
        let signed = sign(b"x".to_vec(), "text/plain", &test_wallet()).unwrap();
        assert!(matches!(
            post("https://x", &signed),
            Err(UploadError::Url(_))
        ));
        assert!(matches!(
            post("http://a/b", &signed),
            Err(UploadError::Url(_))
        ));
    }

    #[test]
    fn responses_are_parsed_for_status_and_headers() {
        let raw = b"HTTP/1.1 200 OK\r\nid: abc\r\ncontent-length: 0\r\n\r\n";
        let parsed = parse_response(raw).unwrap();
        assert_eq!(parsed.status, 200);
        assert!(parsed
            .headers
            .contains(&("id".to_owned(), "abc".to_owned())));
        assert!(parsed.body.is_empty());
    }
}
