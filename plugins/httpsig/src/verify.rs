//! Checking signatures: over a message's commitments (`codecs.md` §6.6) and over an HTTP
//! message exactly as it was received (`spec/README.md`, "Verifying what real clients sign").
//!
//! HyperBEAM verifies a signature by decoding the message, re-encoding it and rebuilding the
//! base from the re-encoding. The npm clients lay some messages out differently from
//! HyperBEAM's encoder (`vectors/README.md`, "Known client/model disagreements"), so genuine
//! client signatures can fail that way. A receiver therefore checks the bytes as received first
//! ([`verify_received`]) and HyperBEAM's re-encoding second ([`verify_commitment`]); a message
//! a client signed verifies, a tampered one never does.

use crate::commitment::{
    is_hmac_message, parse_signature_headers, reset_hmac, Commitment, ReceivedSignature,
    ALG_HMAC_SHA256, ALG_RSA_PSS_SHA512,
};
use crate::crypto::{address, b64url, sha256};
use crate::sigbase::signature_base_with_params_line;
use crate::{rsa, verification_input, Error};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ferrobeam_device_api::{Message, Value};
use ferrobeam_structured::sf;
use sha2::{Digest, Sha256, Sha512};

/// Verifies commitment `commitment_id` of `msg` (a rich message or TABM) the way HyperBEAM
/// does: over the message's re-encoding (`§6.6`).
///
/// An RSA commitment must be `rsa-pss-sha512`, its signature must verify under its `keyid`
/// (any salt length), its `committer` must be the address of that key and its ID must be
/// base64url(sha256(signature)) — so neither the committer nor the ID a message shows can be
/// claimed falsely. An HMAC commitment verifies when recomputing it gives the same ID.
pub fn verify_commitment(msg: &Message, commitment_id: &str) -> Result<(), Error> {
    let commitment = msg
        .get_message("commitments")
        .and_then(|c| c.get_message(commitment_id))
        .ok_or_else(|| Error::UnknownCommitment(commitment_id.to_owned()))?;
    if is_hmac_message(commitment) {
        let recomputed = reset_hmac(msg)?;
        let found = recomputed
            .get_message("commitments")
            .is_some_and(|c| c.get_message(commitment_id).is_some_and(is_hmac_message));
        return if found {
            Ok(())
        } else {
            Err(Error::SignatureMismatch)
        };
    }
    let claimed = Commitment::from_message(commitment)?;
    let input = verification_input(msg, commitment_id)?;
    if input.alg != ALG_RSA_PSS_SHA512 {
        return Err(unsupported_alg(&input.alg));
    }
    check_identity(
        commitment_id,
        claimed.committer.as_deref(),
        &input.public_key,
        &input.signature,
    )?;
    rsa::verify_pss_sha512(&input.public_key, &input.base, &input.signature)
}

/// Checks every RSA commitment of `msg` (those with a `committer`) with [`verify_commitment`],
/// returning each ID with its outcome. A message without signatures gives an empty list.
pub fn verify_signed_commitments(msg: &Message) -> Vec<(String, Result<(), Error>)> {
    crate::signed_commitment_ids(msg)
        .into_iter()
        .map(|id| (id.to_owned(), verify_commitment(msg, id)))
        .collect()
}

/// The outcome of checking one received signature.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedCheck {
    /// The commitment the signature makes: base64url(sha256(signature)).
    pub commitment_id: String,
    /// The signer's address (base64url(sha256(keyid))), when the key could be read.
    pub committer: Option<String>,
    /// The `signature-input` member name.
    pub name: String,
    /// The components it covers, as listed.
    pub components: Vec<String>,
    /// `Ok` when it verifies over the bytes as received.
    pub outcome: Result<(), Error>,
}

/// Checks every signature of an HTTP message as it was received (`http`: lower-case header
/// names plus `body`), before any decoding: one line per listed component read from the
/// headers (`@x` reads field `x`, `§6.2`), the parameters as the signer serialised them, and a
/// signed `content-digest` must match the body.
///
/// `derived` supplies the fields a derived component may name that are not headers: for a
/// request the HTTP `method` and the request target as `path`; for a response its `status`.
/// Signatures whose `alg` is `hmac-sha256` are skipped (receivers recompute HMACs). A message
/// without `signature` gives an empty list; malformed signature headers are an error.
pub fn verify_received(http: &Message, derived: &Message) -> Result<Vec<ReceivedCheck>, Error> {
    let (Some(signature), Some(input)) = (http.get("signature"), http.get("signature-input"))
    else {
        return Ok(Vec::new());
    };
    let (Value::Binary(signature), Value::Binary(input)) = (signature, input) else {
        return Err(Error::Signature(
            "signature headers must be text".to_owned(),
        ));
    };
    let received = parse_signature_headers(signature, input)?;
    let body: &[u8] = http.get("body").and_then(Value::as_bytes).unwrap_or(&[]);
    let mut fields = Message::with_capacity(http.len() + derived.len());
    for (k, v) in http.iter() {
        if k.as_str() != "body" {
            fields.insert(k.clone(), v.clone());
        }
    }
    for (k, v) in derived.iter() {
        if !fields.contains_key(k.as_str()) {
            fields.insert(k.clone(), v.clone());
        }
    }
    Ok(received
        .iter()
        .filter(|sig| sig.input.string_param("alg") != Some(ALG_HMAC_SHA256.as_bytes()))
        .map(|sig| ReceivedCheck {
            commitment_id: sig.commitment_id(),
            committer: sig.public_key().ok().map(|n| address(&n)),
            name: sig.name.clone(),
            components: sig.input.components.clone(),
            outcome: check_received(sig, &fields, body),
        })
        .collect())
}

fn check_received(sig: &ReceivedSignature, fields: &Message, body: &[u8]) -> Result<(), Error> {
    let alg = sig.input.string_param("alg").unwrap_or_default();
    if alg != ALG_RSA_PSS_SHA512.as_bytes() {
        return Err(unsupported_alg(&String::from_utf8_lossy(alg)));
    }
    let covers = |name: &str| {
        sig.input
            .components
            .iter()
            .any(|c| c.eq_ignore_ascii_case(name))
    };
    if covers("content-digest") {
        match fields.get("content-digest") {
            Some(Value::Binary(digest)) => check_content_digest(digest, body)?,
            _ => return Err(Error::MissingComponent("content-digest".to_owned())),
        }
    }
    let mut params_line = Vec::with_capacity(128);
    sf::write_member(
        &mut params_line,
        &sf::Member::InnerList(sig.input.list.clone()),
    );
    let base = signature_base_with_params_line(&sig.input.components, &params_line, fields)?;
    rsa::verify_pss_sha512(&sig.public_key()?, &base, &sig.signature)
}

/// Checks a `content-digest` field against `body` (RFC 9530): every `sha-256` / `sha-512`
/// member must match, and at least one must be present. Digests in standard base64 and in
/// base64url (what aoconnect sends for multipart bodies) are both accepted.
///
/// ```
/// use ferrobeam_httpsig::{check_content_digest, content_digest};
/// assert!(check_content_digest(content_digest(b"hello").as_bytes(), b"hello").is_ok());
/// assert!(check_content_digest(content_digest(b"hello").as_bytes(), b"hellO").is_err());
/// ```
pub fn check_content_digest(field: &[u8], body: &[u8]) -> Result<(), Error> {
    let text =
        std::str::from_utf8(field).map_err(|_| Error::ContentDigest("not text".to_owned()))?;
    let mut checked = 0;
    for member in text.split(',') {
        let Some((alg, value)) = member.trim().split_once('=') else {
            return Err(Error::ContentDigest(format!("malformed member {member:?}")));
        };
        let expected: Vec<u8> = match alg.trim().to_ascii_lowercase().as_str() {
            "sha-256" => Sha256::digest(body).to_vec(),
            "sha-512" => Sha512::digest(body).to_vec(),
            _ => continue,
        };
        let encoded = value
            .trim()
            .strip_prefix(':')
            .and_then(|v| v.strip_suffix(':'))
            .ok_or_else(|| Error::ContentDigest(format!("{alg} is not a byte sequence")))?;
        let got = decode_base64_any(encoded)
            .ok_or_else(|| Error::ContentDigest(format!("{alg} is not base64")))?;
        if got != expected {
            return Err(Error::ContentDigest(format!("{alg} differs")));
        }
        checked += 1;
    }
    if checked == 0 {
        return Err(Error::ContentDigest(
            "no sha-256 or sha-512 digest".to_owned(),
        ));
    }
    Ok(())
}

/// Standard base64 or base64url, padded or not.
fn decode_base64_any(text: &str) -> Option<Vec<u8>> {
    let trimmed = text.trim_end_matches('=');
    STANDARD
        .decode(text)
        .ok()
        .or_else(|| URL_SAFE_NO_PAD.decode(trimmed).ok())
}

/// The committer a commitment shows must be the address of the key that signed, and its ID the
/// hash of the signature.
fn check_identity(
    commitment_id: &str,
    committer: Option<&str>,
    public_key: &[u8],
    signature: &[u8],
) -> Result<(), Error> {
    let signer = address(public_key);
    if committer.is_some_and(|c| c != signer) {
        return Err(Error::Commitment(format!(
            "committer {} is not the signer {signer}",
            committer.unwrap_or_default()
        )));
    }
    let id = b64url(&sha256(signature));
    if id != commitment_id {
        return Err(Error::Commitment(format!(
            "commitment {commitment_id} is keyed by the wrong ID (its signature gives {id})"
        )));
    }
    Ok(())
}

fn unsupported_alg(alg: &str) -> Error {
    Error::Signature(format!(
        "unsupported signature algorithm {alg:?} (only {ALG_RSA_PSS_SHA512})"
    ))
}
