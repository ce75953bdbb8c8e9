//! RSA commitments without the RSA (`codecs.md` §6.3, §6.6): everything around the signature
//! primitive, so a signer or verifier only has to run RSA-PSS-SHA512 over the base.

use crate::commitment::{
    reset_hmac, signing_fields, Commitment, SignatureInput, ALG_RSA_PSS_SHA512, DEVICE,
};
use crate::crypto::{address, b64, b64url, b64url_decode, keyid, sha256, signature_name};
use crate::encode::encode;
use crate::sigbase::{add_derived, params_line, signature_base, ParamValue};
use crate::Error;
use ferrobeam_device_api::host::operation;
use ferrobeam_device_api::{Host, Message, Value};
use ferrobeam_structured::sf;

/// The fields a signature over `msg` covers (`§6.2.1`): structured@1.0 then httpsig@1.0
/// encoding, without `signature`, `signature-input`, `body-keys` and `priv`, the body replaced
/// by its `content-digest`.
pub fn signing_fields_of(msg: &Message) -> Result<Message, Error> {
    let tabm = ferrobeam_structured::from(msg)?;
    Ok(signing_fields(encode(&tabm)?))
}

/// What a signer must sign, and how the commitment will be named (`§6.3` steps 1–2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitRequest {
    /// The signature base to sign with RSA-PSS-SHA512.
    pub base: Vec<u8>,
    /// The signature-params line (goes into `signature-input`).
    pub params_line: Vec<u8>,
    /// `http-sig-<hex>` of the key.
    pub sig_name: String,
    /// The committer address of the key.
    pub committer: String,
}

/// Prepares an RSA commitment of `msg` by the key with modulus `n`: components are the sorted
/// encoded field names (derived ones with `@`), parameters `alg`, `keyid` and — when the
/// message has `priv.hashpath` — `tag`.
pub fn prepare_commit(msg: &Message, n: &[u8]) -> Result<CommitRequest, Error> {
    let fields = signing_fields_of(msg)?;
    let mut names: Vec<&str> = fields.keys().map(|k| k.as_str()).collect();
    names.sort_unstable();
    let components = add_derived(names);
    let mut params: Vec<(&str, ParamValue)> = vec![
        ("alg", ParamValue::from(ALG_RSA_PSS_SHA512)),
        ("keyid", ParamValue::from(keyid(n))),
    ];
    if let Some(Value::Binary(tag)) = msg.get_message("priv").and_then(|p| p.get("hashpath")) {
        params.push(("tag", ParamValue::String(tag.to_vec())));
    }
    Ok(CommitRequest {
        base: signature_base(&components, &params, &fields)?,
        params_line: params_line(&components, &params),
        sig_name: signature_name(n),
        committer: address(n),
    })
}

/// Adds the RSA commitment made of `signature` (over `request.base`) to `msg` and recomputes
/// the HMAC commitment (`§6.3` steps 3–5). Returns the signed TABM; its commitment ID is
/// base64url(sha256(signature)).
pub fn finish_commit(
    msg: &Message,
    request: &CommitRequest,
    signature: &[u8],
) -> Result<Message, Error> {
    let id = b64url(&sha256(signature));
    let mut input = request.sig_name.as_bytes().to_vec();
    input.push(b'=');
    input.extend_from_slice(&request.params_line);
    let commitment = Commitment {
        device: DEVICE.to_owned(),
        alg: ALG_RSA_PSS_SHA512.to_owned(),
        committer: Some(request.committer.clone()),
        signature: Some(format!("{}=:{}:", request.sig_name, b64(signature)).into_bytes()),
        signature_input: Some(input),
    };
    let mut signed = msg.clone();
    let mut commitments = match signed.remove("commitments") {
        Some(Value::Message(c)) => c,
        _ => Message::new(),
    };
    commitments.insert(id, commitment.to_message());
    signed.insert("commitments", commitments);
    reset_hmac(&signed)
}

/// Everything needed to check one RSA commitment: RSA-PSS-SHA512 verify `signature` over
/// `base` with the public key whose modulus is `public_key` (any salt length).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationInput {
    /// The base, rebuilt from HyperBEAM's re-encoding of the message (`§6.6`).
    pub base: Vec<u8>,
    /// The signer's modulus `n` (from `keyid`).
    pub public_key: Vec<u8>,
    /// The raw signature.
    pub signature: Vec<u8>,
    /// The commitment's `alg`.
    pub alg: String,
}

/// Rebuilds what commitment `commitment_id` of `msg` signed, the way HyperBEAM's verifier does
/// (`§6.6`): merge the commitment's fields into the message, re-encode (structured, httpsig;
/// `content-digest` recomputed from the re-encoded body), parse its input and rebuild the base
/// with the recognised parameters in name order.
pub fn verification_input(msg: &Message, commitment_id: &str) -> Result<VerificationInput, Error> {
    let commitment = msg
        .get_message("commitments")
        .and_then(|c| c.get_message(commitment_id))
        .ok_or_else(|| Error::UnknownCommitment(commitment_id.to_owned()))?;
    let typed = Commitment::from_message(commitment)?;
    let (Some(sig_field), Some(input_field)) = (&typed.signature, &typed.signature_input) else {
        return Err(Error::Commitment(
            "signature or signature-input missing".into(),
        ));
    };
    let mut merged = msg.clone();
    for key in ["alg", "committer", "signature", "signature-input"] {
        let value = commitment
            .get(key)
            .ok_or_else(|| Error::Commitment(format!("{key} missing")))?;
        merged.insert(key, value.clone());
    }
    let mut fields = signing_fields_of(&merged)?;
    fields.insert("signature", sig_field.clone());
    fields.insert("signature-input", input_field.clone());

    let inputs = sf::parse_dictionary(input_field).map_err(Error::sf("signature-input"))?;
    let [(name, member)] = inputs.as_slice() else {
        return Err(Error::Commitment(
            "signature-input must have one member".into(),
        ));
    };
    let input = SignatureInput::from_member(name, member)?;
    let public_key = input
        .string_param("keyid")
        .and_then(b64url_decode)
        .ok_or_else(|| Error::Signature("keyid missing or not base64url".into()))?;
    let base = signature_base(&input.components, &input.base_params(), &fields)?;
    let sigs = sf::parse_dictionary(sig_field).map_err(Error::sf("signature"))?;
    let signature = match sigs.as_slice() {
        [(
            _,
            sf::Member::Item(sf::Item {
                bare: sf::BareItem::ByteSequence(s),
                ..
            }),
        )] => s.clone(),
        _ => {
            return Err(Error::Signature(
                "signature must be one byte sequence".into(),
            ))
        }
    };
    Ok(VerificationInput {
        base,
        public_key,
        signature,
        alg: typed.alg,
    })
}

/// Commits `msg` with the node wallet through the node's host operations (`§6.3`): reads the
/// node's key ID (`node/identity`), builds the base, has the node sign it (`sign`, which needs
/// the `sign` capability in `devices.toml`) and adds the commitment and the recomputed HMAC
/// commitment. Returns the signed message in typed form (commitments included).
///
/// The private key never reaches the caller: only the base goes to the node and only the
/// signature comes back. A refusal by the node keeps its status ([`Error::Host`]).
pub fn commit_with_host(host: &Host, msg: &Message) -> Result<Message, Error> {
    let identity = host
        .call(operation::NODE_IDENTITY, &Message::new())
        .map_err(Error::Host)?;
    let keyid = identity
        .as_message()
        .and_then(|m| m.get("keyid"))
        .and_then(Value::as_bytes)
        .and_then(b64url_decode)
        .ok_or_else(|| Error::Signature("the node's identity has no usable keyid".into()))?;
    let request = prepare_commit(msg, &keyid)?;
    let signed = host
        .call(
            operation::SIGN,
            &Message::new().with("data", request.base.clone()),
        )
        .map_err(Error::Host)?;
    let signature = signed
        .as_message()
        .and_then(|m| m.get("signature"))
        .and_then(Value::as_bytes)
        .ok_or_else(|| Error::Signature("the node's sign answer has no signature".into()))?;
    let tabm = finish_commit(msg, &request, signature)?;
    Ok(ferrobeam_structured::to_owned(tabm)?)
}
