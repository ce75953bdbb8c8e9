//! Commitments: parsing `signature`/`signature-input`, the HMAC commitment that doubles as
//! the unsigned ID, and typed views of commitment messages (`codecs.md` §6.4, §6.5).

use crate::crypto::{address, b64url, b64url_decode, hmac_sha256, sha256};
use crate::encode::encode_skipping;
use crate::error::snippet;
use crate::sigbase::{
    add_derived, params_line, signature_base_by, ParamValue, SignatureParams, RECOGNISED_PARAMS,
};
use crate::Error;
use ferrobeam_device_api::{Message, Value};
use ferrobeam_structured::{map_order, sf};

/// The commitment device of every commitment this codec makes.
pub const DEVICE: &str = "httpsig@1.0";
/// The RSA signature algorithm.
pub const ALG_RSA_PSS_SHA512: &str = "rsa-pss-sha512";
/// The HMAC algorithm of the unsigned-ID commitment.
pub const ALG_HMAC_SHA256: &str = "hmac-sha256";
/// The HMAC key (and `keyid`) of the unsigned-ID commitment.
pub const HMAC_KEY: &str = "ao";

/// A typed view of one commitment message (an entry of `commitments`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Commitment {
    /// `commitment-device`, normally [`DEVICE`].
    pub device: String,
    /// `alg`: [`ALG_RSA_PSS_SHA512`] or [`ALG_HMAC_SHA256`].
    pub alg: String,
    /// `committer`: the signer's address (RSA commitments only).
    pub committer: Option<String>,
    /// `signature`: an SF dictionary (one member for RSA; every RSA member for HMAC).
    pub signature: Option<Vec<u8>>,
    /// `signature-input`: the matching SF dictionary.
    pub signature_input: Option<Vec<u8>>,
}

impl Commitment {
    /// Reads a commitment message; every field must be a binary.
    pub fn from_message(msg: &Message) -> Result<Self, Error> {
        let text = |key: &str| -> Result<Option<String>, Error> {
            match msg.get(key) {
                None => Ok(None),
                Some(Value::Binary(b)) => Ok(Some(crate::http::utf8(b)?.to_owned())),
                Some(other) => Err(Error::Commitment(format!(
                    "{key} is a {}",
                    other.type_name()
                ))),
            }
        };
        let bytes = |key: &str| -> Result<Option<Vec<u8>>, Error> {
            match msg.get(key) {
                None => Ok(None),
                Some(Value::Binary(b)) => Ok(Some(b.to_vec())),
                Some(other) => Err(Error::Commitment(format!(
                    "{key} is a {}",
                    other.type_name()
                ))),
            }
        };
        Ok(Commitment {
            device: text("commitment-device")?.unwrap_or_default(),
            alg: text("alg")?.unwrap_or_default(),
            committer: text("committer")?,
            signature: bytes("signature")?,
            signature_input: bytes("signature-input")?,
        })
    }

    /// The commitment as a message.
    pub fn to_message(&self) -> Message {
        let mut m = Message::with_capacity(5);
        m.insert("commitment-device", self.device.as_str());
        m.insert("alg", self.alg.as_str());
        if let Some(c) = &self.committer {
            m.insert("committer", c.as_str());
        }
        if let Some(s) = &self.signature {
            m.insert("signature", s.clone());
        }
        if let Some(s) = &self.signature_input {
            m.insert("signature-input", s.clone());
        }
        m
    }

    /// Whether this is the httpsig HMAC commitment (recomputed, never trusted).
    pub fn is_hmac(&self) -> bool {
        self.device == DEVICE && self.alg == ALG_HMAC_SHA256
    }
}

/// Whether a commitment message is the httpsig HMAC commitment.
pub(crate) fn is_hmac_message(c: &Message) -> bool {
    c.get_str("commitment-device") == Some(DEVICE) && c.get_str("alg") == Some(ALG_HMAC_SHA256)
}

/// One member of `signature-input`: the covered components and the parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct SignatureInput {
    /// The member name (`http-sig-…`).
    pub name: String,
    /// Component identifiers in the order given (`@path`, `content-digest`, …).
    pub components: Vec<String>,
    /// The inner list as received (for re-serialisation).
    pub list: sf::InnerList,
}

impl SignatureInput {
    /// Reads a member of a `signature-input` dictionary.
    pub fn from_member(name: &str, member: &sf::Member) -> Result<Self, Error> {
        let list = member
            .as_inner_list()
            .ok_or_else(|| Error::Signature(format!("input {name} is not an inner list")))?;
        let components = list
            .items
            .iter()
            .map(|item| {
                item.bare
                    .as_text_bytes()
                    .and_then(|b| std::str::from_utf8(b).ok())
                    .map(str::to_owned)
                    .ok_or_else(|| Error::Signature(format!("input {name}: bad component")))
            })
            .collect::<Result<_, _>>()?;
        Ok(SignatureInput {
            name: name.to_owned(),
            components,
            list: list.clone(),
        })
    }

    /// A string parameter (`keyid`, `alg`, `tag`, `nonce`).
    pub fn string_param(&self, name: &str) -> Option<&[u8]> {
        self.list.param(name).and_then(sf::BareItem::as_string)
    }

    /// The parameters HyperBEAM uses when it rebuilds the base ([`RECOGNISED_PARAMS`]),
    /// integers as integers and everything else as strings, sorted by name.
    pub fn base_params(&self) -> SignatureParams {
        let mut out: SignatureParams = self
            .list
            .params
            .iter()
            .filter(|(k, _)| RECOGNISED_PARAMS.contains(&k.as_str()))
            .filter_map(|(k, v)| {
                let value = match v {
                    sf::BareItem::Integer(i) => ParamValue::Integer(*i),
                    sf::BareItem::String(s) | sf::BareItem::ByteSequence(s) => {
                        ParamValue::String(s.clone())
                    }
                    sf::BareItem::Token(t) => ParamValue::String(t.clone().into_bytes()),
                    sf::BareItem::Decimal(_) => ParamValue::String(sf::serialize_bare_item(v)),
                    sf::BareItem::Boolean(_) => return None,
                };
                Some((k.clone(), value))
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    /// This input as a one-member `signature-input` dictionary.
    pub fn to_field(&self) -> Vec<u8> {
        // `serialize_dictionary` of the one member, without copying the list.
        let mut out = Vec::with_capacity(self.name.len() + 256);
        out.extend_from_slice(self.name.as_bytes());
        out.push(b'=');
        sf::write_inner_list(&mut out, &self.list);
        out
    }
}

/// A signature received in the `signature` / `signature-input` headers.
#[derive(Debug, Clone, PartialEq)]
pub struct ReceivedSignature {
    /// The member name shared by both headers.
    pub name: String,
    /// The raw signature bytes.
    pub signature: Vec<u8>,
    /// The `signature` member as received (its parameters are kept).
    pub member: sf::Member,
    /// The matching input.
    pub input: SignatureInput,
}

impl ReceivedSignature {
    /// The signer's public key (modulus `n`), decoded from the `keyid` parameter.
    pub fn public_key(&self) -> Result<Vec<u8>, Error> {
        let keyid = self
            .input
            .string_param("keyid")
            .ok_or_else(|| Error::Signature(format!("{}: keyid must be a string", self.name)))?;
        b64url_decode(keyid)
            .ok_or_else(|| Error::Signature(format!("{}: keyid is not base64url", self.name)))
    }

    /// The commitment ID: base64url(sha256(signature)).
    pub fn commitment_id(&self) -> String {
        b64url(&sha256(&self.signature))
    }
}

/// Pairs up the members of `signature` and `signature-input` (`§6.5`). Each signature must be
/// a byte sequence with an inner-list input of the same name whose `keyid` and `alg` are SF
/// strings.
pub fn parse_signature_headers(
    signature: &[u8],
    input: &[u8],
) -> Result<Vec<ReceivedSignature>, Error> {
    let inputs = sf::parse_dictionary(input).map_err(Error::sf("signature-input"))?;
    let sigs = sf::parse_dictionary(signature).map_err(Error::sf("signature"))?;
    let mut out = Vec::with_capacity(sigs.len());
    for (name, member) in sigs {
        let input_member = inputs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, m)| m)
            .ok_or_else(|| Error::Signature(format!("no signature-input for {name}")))?;
        let input = SignatureInput::from_member(&name, input_member)?;
        if input.string_param("keyid").is_none() || input.string_param("alg").is_none() {
            return Err(Error::Signature(format!(
                "{name}: keyid and alg must be strings"
            )));
        }
        let signature = match &member {
            sf::Member::Item(sf::Item {
                bare: sf::BareItem::ByteSequence(b),
                ..
            }) => b.clone(),
            _ => return Err(Error::Signature(format!("{name} is not a byte sequence"))),
        };
        out.push(ReceivedSignature {
            name,
            signature,
            member,
            input,
        });
    }
    Ok(out)
}

/// The `commitments` message for received signatures (`§6.5`): one RSA-style commitment per
/// signature, keyed by its commitment ID.
pub fn commitments_from_signatures(received: &[ReceivedSignature]) -> Result<Message, Error> {
    let mut out = Message::with_capacity(received.len() + 1);
    for sig in received {
        out.insert(sig.commitment_id(), commitment_of(sig)?.to_message());
    }
    Ok(out)
}

/// The commitment a received signature makes (`§6.5`).
fn commitment_of(sig: &ReceivedSignature) -> Result<Commitment, Error> {
    let n = sig.public_key()?;
    let alg = sig
        .input
        .string_param("alg")
        .ok_or_else(|| Error::Signature(format!("{}: alg must be a string", sig.name)))?;
    Ok(Commitment {
        device: DEVICE.to_owned(),
        alg: crate::http::utf8(alg)?.to_owned(),
        committer: Some(address(&n)),
        signature: Some(one_member_dictionary(&sig.name, &sig.member)),
        signature_input: Some(sig.input.to_field()),
    })
}

/// `serialize_dictionary` of the single member `name`, without copying the member.
fn one_member_dictionary(name: &str, member: &sf::Member) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 1024);
    out.extend_from_slice(name.as_bytes());
    match member {
        sf::Member::Item(sf::Item {
            bare: sf::BareItem::Boolean(true),
            params,
        }) => sf::write_params(&mut out, params),
        other => {
            out.push(b'=');
            sf::write_member(&mut out, other);
        }
    }
    out
}

/// Recomputes the HMAC commitment of a message (HyperBEAM's `reset_hmac`, `§6.4`).
///
/// The message (rich or TABM) is structured-encoded; existing HMAC commitments are dropped;
/// the remaining (RSA) commitments' signatures and inputs are combined into one `signature`
/// and one `signature-input` dictionary (members in name order); the HMAC base covers the
/// components of the first input (or every encoded field when unsigned). Returns the TABM with
/// `commitments` = the RSA commitments plus the new HMAC commitment under its ID.
pub fn reset_hmac(msg: &Message) -> Result<Message, Error> {
    let mut tabm = ferrobeam_structured::from(msg)?;
    let commitments = match tabm.remove("commitments") {
        None => Message::new(),
        Some(Value::Message(m)) => m,
        Some(other) => {
            return Err(Error::Commitment(format!(
                "commitments is a {}",
                other.type_name()
            )))
        }
    };
    let mut kept = Message::with_capacity(commitments.len() + 1);
    let mut signatures: Vec<(String, sf::Member)> = Vec::new();
    let mut inputs: Vec<(String, sf::Member)> = Vec::new();
    let mut ordered: Vec<(&str, &Value)> =
        commitments.iter().map(|(k, v)| (k.as_str(), v)).collect();
    ordered.sort_unstable_by(|a, b| a.0.cmp(b.0));
    for (id, value) in ordered {
        let Value::Message(c) = value else {
            return Err(Error::Commitment(format!("{id} is not a message")));
        };
        if is_hmac_message(c) {
            continue;
        }
        let (sig_name, sig) = single_member(c, "signature")?;
        upsert(&mut signatures, sig_name, sig);
        let (input_name, input) = single_member(c, "signature-input")?;
        upsert(&mut inputs, input_name, input);
        kept.insert(id, value.clone());
    }
    let mut out = with_hmac(tabm, kept, signatures, inputs)?;
    if let Some(private) = msg.get("priv") {
        out.insert("priv", private.clone());
    }
    Ok(out)
}

/// Turns a decoded request's signatures into commitments plus the HMAC commitment, as
/// [`reset_hmac`] would over the message with [`commitments_from_signatures`], without
/// re-parsing the headers.
pub(crate) fn commit_received(
    tabm: Message,
    received: &[ReceivedSignature],
) -> Result<Message, Error> {
    let tabm = ferrobeam_structured::from_owned(tabm)?;
    // An `hmac-sha256` signature is never trusted: it is recomputed below.
    let is_rsa = |sig: &&ReceivedSignature| {
        sig.input.string_param("alg") != Some(ALG_HMAC_SHA256.as_bytes())
    };
    let mut rsa = received.iter().filter(is_rsa);
    if let (Some(sig), None) = (rsa.next(), rsa.next()) {
        return commit_one_received(tabm, sig);
    }
    let mut signatures = Vec::with_capacity(received.len());
    let mut inputs = Vec::with_capacity(received.len());
    let mut kept = Message::with_capacity(received.len() + 1);
    for sig in received {
        // An `hmac-sha256` signature is never trusted: it is recomputed below.
        if sig.input.string_param("alg") == Some(ALG_HMAC_SHA256.as_bytes()) {
            continue;
        }
        upsert(&mut signatures, sig.name.clone(), sig.member.clone());
        upsert(
            &mut inputs,
            sig.name.clone(),
            sf::Member::InnerList(sig.input.list.clone()),
        );
        kept.insert(sig.commitment_id(), commitment_of(sig)?.to_message());
    }
    with_hmac(tabm, kept, signatures, inputs)
}

/// [`commit_received`] for the usual request with one RSA signature: the combined
/// `signature`/`signature-input` of the HMAC commitment are that commitment's own fields, so
/// they are serialised once.
fn commit_one_received(tabm: Message, sig: &ReceivedSignature) -> Result<Message, Error> {
    let commitment = commitment_of(sig)?;
    let combined = Combined {
        signature: commitment.signature.clone().unwrap_or_default(),
        input: commitment.signature_input.clone().unwrap_or_default(),
        components: sig.input.components.clone(),
    };
    let mut kept = Message::with_capacity(2);
    kept.insert(sig.commitment_id(), commitment.to_message());
    with_combined_hmac(tabm, kept, Some(combined))
}

/// The combined RSA `signature` and `signature-input` an HMAC commitment carries, and the
/// components (of the first input) its base covers.
struct Combined {
    signature: Vec<u8>,
    input: Vec<u8>,
    components: Vec<String>,
}

/// Adds the HMAC commitment over `tabm` (which has no `commitments`) to the `kept` RSA
/// commitments, whose signature and input members are given, and stores them in `tabm`.
fn with_hmac(
    tabm: Message,
    kept: Message,
    mut signatures: Vec<(String, sf::Member)>,
    mut inputs: Vec<(String, sf::Member)>,
) -> Result<Message, Error> {
    let combined = if inputs.is_empty() {
        None
    } else {
        map_order::sort_in_map_order(&mut signatures, |(k, _)| k.as_bytes());
        map_order::sort_in_map_order(&mut inputs, |(k, _)| k.as_bytes());
        let (first_name, first) = &inputs[0];
        Some(Combined {
            components: SignatureInput::from_member(first_name, first)?.components,
            signature: sf::serialize_dictionary(&signatures),
            input: sf::serialize_dictionary(&inputs),
        })
    };
    with_combined_hmac(tabm, kept, combined)
}

/// [`with_hmac`] once the RSA signatures are combined (`None`: unsigned).
fn with_combined_hmac(
    mut tabm: Message,
    mut kept: Message,
    combined: Option<Combined>,
) -> Result<Message, Error> {
    let mut hmac = Message::with_capacity(4);
    let hmac_id = match combined {
        None => hmac_base_and_id(&tabm)?.1,
        Some(combined) => {
            hmac.insert("signature", combined.signature);
            hmac.insert("signature-input", combined.input);
            // The combined `signature`/`signature-input` only choose the components: the
            // encoder never sends them as fields.
            hmac_base_over(&tabm, Some(combined.components))?.1
        }
    };
    hmac.insert("commitment-device", DEVICE);
    hmac.insert("alg", ALG_HMAC_SHA256);
    kept.insert(hmac_id, hmac);
    tabm.insert("commitments", kept);
    Ok(tabm)
}

fn upsert(list: &mut Vec<(String, sf::Member)>, name: String, member: sf::Member) {
    match list.iter_mut().find(|(n, _)| *n == name) {
        Some(slot) => slot.1 = member,
        None => list.push((name, member)),
    }
}

/// The only member of the dictionary in field `key` of commitment `c`.
fn single_member(c: &Message, key: &'static str) -> Result<(String, sf::Member), Error> {
    let Some(Value::Binary(text)) = c.get(key) else {
        return Err(Error::Commitment(format!("{key} missing")));
    };
    let mut dict = sf::parse_dictionary(text).map_err(Error::sf(key))?;
    if dict.len() != 1 {
        return Err(Error::Commitment(format!(
            "{key} must have one member: {}",
            snippet(text)
        )));
    }
    dict.pop()
        .ok_or_else(|| Error::Commitment(format!("{key} is empty")))
}

/// The HMAC signature base and ID of a TABM (`§6.4` steps 2–4). If the TABM carries a
/// `signature-input` (the combined RSA inputs), the base covers the first input's components;
/// otherwise it covers every field of the encoding. Components are stripped of `@`, get `@`
/// back if derived, and are sorted.
pub fn hmac_base_and_id(tabm: &Message) -> Result<(Vec<u8>, String), Error> {
    let components = match tabm.get("signature-input") {
        Some(Value::Binary(input)) => {
            let dict = sf::parse_dictionary(input).map_err(Error::sf("signature-input"))?;
            let (name, member) = dict
                .first()
                .ok_or_else(|| Error::Signature("empty signature-input".into()))?;
            Some(SignatureInput::from_member(name, member)?.components)
        }
        _ => None,
    };
    hmac_base_over(tabm, components)
}

/// The HMAC base and ID over `tabm`, covering `components` (or every encoded field).
fn hmac_base_over(
    tabm: &Message,
    components: Option<Vec<String>>,
) -> Result<(Vec<u8>, String), Error> {
    // The signing fields (`signing_fields`), read in place from the encoding.
    let enc = encode_skipping(tabm, &["body-keys"])?;
    let field = |name: &str| match name {
        "body-keys" => None,
        _ => enc.headers.get(name).map(AsRef::as_ref),
    };
    let mut components = match &components {
        Some(names) => add_derived(names.iter().map(|n| n.strip_prefix('@').unwrap_or(n))),
        None => add_derived(
            enc.headers
                .keys()
                .filter(|&k| k != "body-keys")
                .map(|k| k.strip_prefix('@').unwrap_or(k)),
        ),
    };
    components.sort_unstable();
    let params = [
        ("alg", ParamValue::from(ALG_HMAC_SHA256)),
        ("keyid", ParamValue::from(HMAC_KEY)),
    ];
    let base = signature_base_by(&components, &params_line(&components, &params), field)?;
    let id = b64url(&hmac_sha256(HMAC_KEY.as_bytes(), &base));
    Ok((base, id))
}

/// The fields a signature covers (`§6.2.1`): the encoded headers without `body-keys`, with the
/// body replaced by its `content-digest` (which the encoder has already put among the headers
/// whenever there is a body).
pub(crate) fn signing_fields(enc: crate::encode::Encoded<'_>) -> Message {
    let mut fields = Message::with_capacity(enc.headers.len());
    for (k, v) in enc.headers {
        if k != "body-keys" {
            fields.insert(k.into_key(), Value::binary(v));
        }
    }
    fields
}

/// The `signature` and `signature-input` headers a TABM with these `commitments` travels with:
/// those of its HMAC commitment, which combines every RSA signature (`§5.1` step 8).
pub(crate) fn signature_headers(commitments: &Value) -> Option<(&[u8], &[u8])> {
    commitments
        .as_message()?
        .iter()
        .filter_map(|(_, c)| c.as_message())
        .filter(|c| c.get_str("alg") == Some(ALG_HMAC_SHA256))
        .filter_map(|c| match (c.get("signature"), c.get("signature-input")) {
            (Some(Value::Binary(s)), Some(Value::Binary(i))) => Some((s.as_slice(), i.as_slice())),
            _ => None,
        })
        .next_back()
}

/// Re-keys the commitments of a received message: RSA commitments under
/// base64url(sha256(signature)), HMAC commitments recomputed. Clients (hbsig) send the IDs of
/// nested commitments lower-cased in part names, so receivers recompute them.
pub fn rekey_commitments(msg: &Message) -> Result<Message, Error> {
    let mut msg = msg.clone();
    let Some(Value::Message(commitments)) = msg.remove("commitments") else {
        return reset_hmac(&msg);
    };
    let mut rekeyed = Message::with_capacity(commitments.len());
    for (_, value) in commitments {
        let Value::Message(c) = &value else {
            return Err(Error::Commitment("commitment is not a message".into()));
        };
        if is_hmac_message(c) {
            continue;
        }
        let (_, member) = single_member(c, "signature")?;
        let id = match member {
            sf::Member::Item(sf::Item {
                bare: sf::BareItem::ByteSequence(sig),
                ..
            }) => b64url(&sha256(&sig)),
            _ => return Err(Error::Signature("signature is not a byte sequence".into())),
        };
        rekeyed.insert(id, value);
    }
    msg.insert("commitments", rekeyed);
    reset_hmac(&msg)
}
