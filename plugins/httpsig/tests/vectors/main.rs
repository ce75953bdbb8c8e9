//! httpsig@1.0 against `shared/vectors`: `httpsig.json`, `signature-base.json`, `ids.json`
//! and every captured client request; plus property tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod clients;
mod props;
mod signatures;
#[path = "../../benches/support/mod.rs"]
mod support;

use ferrobeam_device_api::{Message, Value};
use ferrobeam_httpsig::sigbase::{params_line, signature_base, ParamValue};
use ferrobeam_httpsig::{self as httpsig, HttpMessage, IdMode};
use ferrobeam_structured::vectors::{self, expect_eq, text, Failures};
use serde_json::Value as Json;

/// An HTTP message from a vector's `headers` object and `body_b64`.
pub fn http_of(case: &Json) -> Result<HttpMessage, String> {
    let headers = case
        .get("headers")
        .and_then(Json::as_object)
        .ok_or("no headers")?
        .iter()
        .map(|(k, v)| {
            Ok((
                k.clone(),
                v.as_str().ok_or("header not a string")?.as_bytes().to_vec(),
            ))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let body = vectors::b64(vectors::field(case, "body_b64")?)?;
    Ok(HttpMessage::new(headers, body))
}

#[test]
fn httpsig_json_vectors() {
    let mut failures = Failures::new();
    for case in vectors::cases("httpsig.json").unwrap() {
        let kind = vectors::field(&case, "kind").unwrap_or("?");
        let outcome = match kind {
            "tabm_to_http" => tabm_to_http(&case),
            "http_to_tabm" => http_to_tabm(&case),
            other => Err(format!("unknown kind {other}")),
        };
        failures.record(&format!("{kind}/{}", vectors::name(&case)), outcome);
    }
    failures.finish("httpsig.json", 80);
}

/// `to_message` (the form the codec device answers with) is `to` in message form.
pub fn same_message_form(tabm: &Message, http: &HttpMessage) -> Result<(), String> {
    let direct = httpsig::to_message(tabm).map_err(|e| format!("to_message failed: {e}"))?;
    expect_eq("to_message", &http.to_message(), &direct)
}

fn tabm_to_http(case: &Json) -> Result<(), String> {
    let tabm = vectors::message(&case["tabm"])?;
    let message = vectors::message(&case["message"])?;
    let encoded = ferrobeam_structured::from(&message).map_err(|e| format!("structured: {e}"))?;
    // The message's TABM (without the commitments that signing added).
    let mut unsigned = tabm.clone();
    unsigned.remove("commitments");
    expect_eq("structured TABM", &unsigned, &encoded)?;
    let http = httpsig::to(&tabm).map_err(|e| format!("encode failed: {e}"))?;
    same_message_form(&tabm, &http)?;
    let want = http_of(case)?;
    let got_headers: Vec<(String, String)> = http
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), text(v)))
        .collect();
    let mut want_headers: Vec<(String, String)> = want
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), text(v)))
        .collect();
    want_headers.sort();
    expect_eq("headers", &want_headers, &got_headers)?;
    if http.body != want.body {
        return Err(format!(
            "body differs\n    want: {}\n    got:  {}",
            text(&want.body),
            text(&http.body)
        ));
    }
    if let Some(mp) = case.get("multipart").filter(|m| !m.is_null()) {
        let boundary = mp["boundary"].as_str().ok_or("no boundary")?;
        let ct = http.header("content-type").map(text).unwrap_or_default();
        expect_eq(
            "boundary",
            &format!("multipart/form-data; boundary=\"{boundary}\""),
            &ct,
        )?;
        let mut body_keys = Vec::new();
        for (i, n) in mp["part_names"]
            .as_array()
            .ok_or("no part_names")?
            .iter()
            .enumerate()
        {
            if i > 0 {
                body_keys.extend_from_slice(b", ");
            }
            ferrobeam_structured::sf::write_string(
                &mut body_keys,
                n.as_str().unwrap_or("").as_bytes(),
            );
        }
        expect_eq(
            "body-keys",
            &Some(text(&body_keys)),
            &http.header("body-keys").map(text),
        )?;
    }
    match case.get("content_digest").and_then(Json::as_str) {
        Some(d) => expect_eq(
            "content-digest",
            &Some(d.to_owned()),
            &http.header("content-digest").map(text),
        ),
        None => expect_eq(
            "content-digest",
            &None,
            &http.header("content-digest").map(text),
        ),
    }
}

fn http_to_tabm(case: &Json) -> Result<(), String> {
    let http = http_of(case)?;
    let got = httpsig::from(&http);
    // The message form decodes the same.
    let via_message = httpsig::from_message(&http.to_message());
    expect_eq("message-form decode", &got, &via_message)?;
    match (case.get("tabm"), case.get("error")) {
        (Some(t), _) => {
            let want = vectors::message(t)?;
            let got = got.map_err(|e| format!("decode failed: {e}"))?;
            expect_eq("tabm", &want, &got)
        }
        (None, Some(_)) => match got {
            Err(_) => Ok(()),
            Ok(m) => Err(format!("must fail, decoded to {m:?}")),
        },
        _ => Err("neither tabm nor error".into()),
    }
}

fn params_of(case: &Json) -> Result<Vec<(String, ParamValue)>, String> {
    case["params"]
        .as_array()
        .ok_or("no params")?
        .iter()
        .map(|p| {
            let name = p[0].as_str().ok_or("param name")?.to_owned();
            let value = match &p[1] {
                Json::String(s) => ParamValue::from(s.as_str()),
                Json::Number(n) => ParamValue::Integer(n.as_i64().ok_or("param int")?),
                other => return Err(format!("bad param value {other}")),
            };
            Ok((name, value))
        })
        .collect()
}

#[test]
fn signature_base_json_vectors() {
    let mut failures = Failures::new();
    for case in vectors::cases("signature-base.json").unwrap() {
        failures.record(vectors::name(&case), signature_base_case(&case));
    }
    failures.finish("signature-base.json", 31);
}

fn signature_base_case(case: &Json) -> Result<(), String> {
    let fields: Message = case["fields"]
        .as_object()
        .ok_or("no fields")?
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str().unwrap_or_default())))
        .collect();
    let components: Vec<&str> = case["components"]
        .as_array()
        .ok_or("no components")?
        .iter()
        .map(|c| c.as_str().unwrap_or_default())
        .collect();
    let params = params_of(case)?;
    let line = params_line(&components, &params);
    expect_eq(
        "params line",
        &vectors::field(case, "params_line")?.to_owned(),
        &text(&line),
    )?;
    let base = signature_base(&components, &params, &fields).map_err(|e| e.to_string())?;
    let want_base = vectors::field(case, "signature_base")?;
    expect_eq("signature base", &want_base.to_owned(), &text(&base))?;
    // Model cases built from a message: the same base from the message itself.
    if let Some(m) = case.get("message") {
        let msg = vectors::message(m)?;
        let from_message = match params.iter().find(|(k, _)| k == "alg").map(|(_, v)| v) {
            Some(ParamValue::String(alg)) if alg == b"hmac-sha256" => {
                httpsig::unsigned_hmac(&msg).map_err(|e| e.to_string())?.0
            }
            _ => {
                let keyid = params.iter().find(|(k, _)| k == "keyid").map(|(_, v)| v);
                let Some(ParamValue::String(keyid)) = keyid else {
                    return Err("no keyid".into());
                };
                let n = vectors::b64url(&text(keyid))?;
                httpsig::prepare_commit(&msg, &n)
                    .map_err(|e| e.to_string())?
                    .base
            }
        };
        expect_eq(
            "base from message",
            &want_base.to_owned(),
            &text(&from_message),
        )?;
    }
    Ok(())
}

#[test]
fn ids_json_vectors() {
    let mut failures = Failures::new();
    for case in vectors::cases("ids.json").unwrap() {
        let kind = vectors::field(&case, "kind").unwrap_or("?").to_owned();
        let outcome = match kind.as_str() {
            "unsigned" => unsigned_id_case(&case),
            "signed" => signed_id_case(&case),
            "key" => key_case(&case),
            "received" => received_case(&case),
            other => Err(format!("unknown kind {other}")),
        };
        failures.record(&format!("{kind}/{}", vectors::name(&case)), outcome);
    }
    failures.finish("ids.json", 33);
}

fn unsigned_id_case(case: &Json) -> Result<(), String> {
    let msg = vectors::message(&case["message"])?;
    let (base, id) = httpsig::unsigned_hmac(&msg).map_err(|e| e.to_string())?;
    expect_eq(
        "hmac base",
        &vectors::field(case, "hmac_signature_base")?.to_owned(),
        &text(&base),
    )?;
    let want = vectors::field(case, "unsigned_id")?.to_owned();
    expect_eq("unsigned id", &want, &id)?;
    expect_eq(
        "id(none)",
        &want,
        &httpsig::id(&msg, IdMode::None).map_err(|e| e.to_string())?,
    )?;
    expect_eq(
        "id(default)",
        &want,
        &httpsig::id(&msg, IdMode::Default).map_err(|e| e.to_string())?,
    )
}

fn signed_id_case(case: &Json) -> Result<(), String> {
    let mut msg = vectors::message(&case["message"])?;
    let wallets = case["commitments"].as_array().ok_or("no commitments")?;
    for w in wallets {
        let wallet = vectors::load(
            w["wallet"]
                .as_str()
                .ok_or("wallet")?
                .trim_start_matches("vectors/"),
        )?;
        let n = vectors::b64url(wallet["n"].as_str().ok_or("n")?)?;
        let request = httpsig::prepare_commit(&msg, &n).map_err(|e| e.to_string())?;
        expect_eq(
            "base",
            &w["signature_base"].as_str().unwrap_or("").to_owned(),
            &text(&request.base),
        )?;
        expect_eq(
            "sig name",
            &w["sig_name"].as_str().unwrap_or("").to_owned(),
            &request.sig_name,
        )?;
        expect_eq(
            "committer",
            &w["committer"].as_str().unwrap_or("").to_owned(),
            &request.committer,
        )?;
        let sig = vectors::b64(w["signature_b64"].as_str().ok_or("signature")?)?;
        msg = httpsig::finish_commit(&msg, &request, &sig).map_err(|e| e.to_string())?;
    }
    let want = vectors::message(&case["signed_tabm"])?;
    expect_eq("signed tabm", &want, &msg)?;
    for w in wallets {
        let id = w["commitment_id"].as_str().ok_or("commitment_id")?;
        let v = httpsig::verification_input(&msg, id).map_err(|e| e.to_string())?;
        expect_eq(
            "verification base",
            &w["signature_base"].as_str().unwrap_or("").to_owned(),
            &text(&v.base),
        )?;
        expect_eq(
            "signature",
            &vectors::b64(w["signature_b64"].as_str().unwrap_or(""))?,
            &v.signature,
        )?;
    }
    let hmac_id = vectors::field(case, "hmac_commitment_id")?;
    let hmac = msg
        .get_message("commitments")
        .and_then(|c| c.get_message(hmac_id));
    if hmac.is_none() {
        return Err(format!("no HMAC commitment {hmac_id}"));
    }
    for (mode, field) in [
        (IdMode::None, "id_none"),
        (IdMode::All, "id_all"),
        (IdMode::Default, "id_default"),
    ] {
        let got = httpsig::id(&msg, mode).map_err(|e| e.to_string())?;
        expect_eq(field, &vectors::field(case, field)?.to_owned(), &got)?;
    }
    // The HMAC base of the signed message covers the first signature's components.
    let mut info = ferrobeam_structured::from(&msg).map_err(|e| e.to_string())?;
    info.remove("commitments");
    if let Some(c) = hmac {
        for k in ["signature", "signature-input"] {
            if let Some(v) = c.get(k) {
                info.insert(k, v.clone());
            }
        }
    }
    let (base, id) = httpsig::commitment::hmac_base_and_id(&info).map_err(|e| e.to_string())?;
    expect_eq(
        "hmac base",
        &vectors::field(case, "hmac_signature_base")?.to_owned(),
        &text(&base),
    )?;
    expect_eq("hmac id", &hmac_id.to_owned(), &id)?;
    // Decoding the message's HTTP form gives the same commitments back.
    let http = httpsig::to(&msg).map_err(|e| e.to_string())?;
    let decoded = httpsig::from(&http).map_err(|e| e.to_string())?;
    expect_eq(
        "decoded commitments",
        &msg.get("commitments"),
        &decoded.get("commitments"),
    )
}

fn key_case(case: &Json) -> Result<(), String> {
    let n = vectors::b64url(vectors::field(case, "keyid")?)?;
    expect_eq(
        "address",
        &vectors::field(case, "address")?.to_owned(),
        &httpsig::address(&n),
    )?;
    expect_eq(
        "sig name",
        &vectors::field(case, "sig_name")?.to_owned(),
        &httpsig::signature_name(&n),
    )?;
    expect_eq(
        "keyid",
        &vectors::field(case, "keyid")?.to_owned(),
        &httpsig::keyid(&n),
    )
}

fn received_case(case: &Json) -> Result<(), String> {
    if case.get("headers").is_some() {
        let tabm = httpsig::from(&http_of(case)?).map_err(|e| format!("decode: {e}"))?;
        let commitments = tabm.get_message("commitments").ok_or("no commitments")?;
        let rsa = vectors::field(case, "commitment_id")?;
        let c = commitments.get_message(rsa).ok_or("no RSA commitment")?;
        expect_eq(
            "committer",
            &vectors::field(case, "committer")?,
            &c.get_str("committer").unwrap_or(""),
        )?;
        let hmac = vectors::field(case, "hmac_commitment_id")?;
        commitments.get_message(hmac).ok_or("no HMAC commitment")?;
        expect_eq(
            "id_all",
            &vectors::field(case, "id_all")?.to_owned(),
            &httpsig::id(&tabm, IdMode::All).map_err(|e| e.to_string())?,
        )?;
        return expect_eq(
            "id_default",
            &vectors::field(case, "id_default")?.to_owned(),
            &httpsig::id(&tabm, IdMode::Default).map_err(|e| e.to_string())?,
        );
    }
    // A commitment nested in a captured request body, sent under lower-cased IDs.
    let file = vectors::name(case)
        .trim_start_matches("received-nested-")
        .to_owned();
    let request = clients::load(&format!("{file}.json"))?;
    let tabm = httpsig::from(&request.http).map_err(|e| format!("decode: {e}"))?;
    let inner = tabm.get_message("body").ok_or("no body message")?;
    let sent = inner
        .get_message("commitments")
        .ok_or("no nested commitments")?;
    let rsa_sent = vectors::field(case, "rsa_id_as_sent")?;
    if sent.get(rsa_sent).is_none() {
        return Err(format!("no commitment under {rsa_sent}"));
    }
    let rich = ferrobeam_structured::to(inner).map_err(|e| e.to_string())?;
    let rekeyed = httpsig::commitment::rekey_commitments(&rich).map_err(|e| e.to_string())?;
    let ids: Vec<&str> = rekeyed
        .get_message("commitments")
        .map(|c| c.keys().map(|k| k.as_str()).collect())
        .unwrap_or_default();
    for field in ["rsa_commitment_id", "hmac_commitment_id"] {
        let want = vectors::field(case, field)?;
        if !ids.contains(&want) {
            return Err(format!("{field} {want} not among {ids:?}"));
        }
    }
    if let (Some(hmac_sent), Some(true)) = (
        case["hmac_id_as_sent"].as_str(),
        case["hmac_id_matches_client"].as_bool(),
    ) {
        expect_eq(
            "client's HMAC id",
            &hmac_sent.to_owned(),
            &vectors::field(case, "hmac_commitment_id")?.to_lowercase(),
        )?;
    }
    Ok(())
}
