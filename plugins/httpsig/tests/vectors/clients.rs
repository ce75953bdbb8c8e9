//! Every captured client request (`vectors/client-requests/`) decodes to the message the
//! client meant, and re-encodes the way the reference model predicts HyperBEAM would.

use ferrobeam_device_api::{Message, Value};
use ferrobeam_httpsig::{self as httpsig, HttpMessage};
use ferrobeam_structured::vectors::{self, expect_eq, text, Failures};
use serde_json::Value as Json;

/// A captured request file.
pub struct Request {
    pub json: Json,
    pub http: HttpMessage,
}

/// Loads `client-requests/<file>`.
pub fn load(file: &str) -> Result<Request, String> {
    let json = vectors::load(&format!("client-requests/{file}"))?;
    let req = &json["request"];
    let headers = req["headers"]
        .as_array()
        .ok_or("no headers")?
        .iter()
        .map(|pair| {
            let name = pair[0].as_str().ok_or("header name")?;
            let value = pair[1].as_str().ok_or("header value")?;
            Ok((name.to_owned(), value.as_bytes().to_vec()))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let body = vectors::b64(req["body_b64"].as_str().ok_or("no body_b64")?)?;
    Ok(Request {
        http: HttpMessage::new(headers, body),
        json,
    })
}

fn m(pairs: &[(&str, Value)]) -> Value {
    Value::Message(pairs.iter().cloned().collect())
}

fn list(items: &[Value]) -> Value {
    Value::List(items.to_vec())
}

/// What each client call meant (read from its `call` field): fields the decoded message must
/// have, as `slash/separated/path → value`. GET requests carry their meaning in the request
/// target (singleton parsing, not a codec), so only the absence of a body is checked there.
fn expectations(file: &str) -> Option<Vec<(&'static str, Value)>> {
    let pid = "4EueiUo0leGb2T5V7T5Vet8hpeGIsVOBXun6p479XY0";
    let sched = "g2YmEWSY2WXWWoRzsahOmOcZ0ZKJOVABb2aMhEatgg4";
    let lua_pid = "Xamzw7-MGAW1-zjbOtGkbfqxF-GBrD-tTCj0_u4ff7w";
    let schedule = "/~process@1.0/schedule";
    Some(match file {
        "06-wao-post-json-body" => vec![
            ("path", "/~mydev@1.0/hello".into()),
            ("body", r#"{"name":"Wao"}"#.into()),
        ],
        "07-wao-post-typed-multipart" => vec![
            ("path", "/~mydev@1.0/forward".into()),
            ("key", "abc".into()),
            ("list", list(&[1.into(), 2.into(), 3.into()])),
            ("map", m(&[("abc", "123".into())])),
            ("bool", true.into()),
            ("body", "test_body".into()),
        ],
        "08-wao-post-typed-headers" => vec![
            ("path", "/~message@1.0/set".into()),
            ("hello", "world".into()),
            ("num", 123.into()),
            ("float", 1.5.into()),
            ("list", list(&[1.into(), "a".into(), true.into()])),
            ("empty", "".into()),
            ("flag", false.into()),
        ],
        "09-wao-p-meta-config" => vec![
            ("path", "/~meta@1.0/info".into()),
            ("test_config", 123.into()),
            ("initialized", "permanent".into()),
        ],
        "12-wao-spawn" | "20-wao-cache-script.req1" => vec![
            ("path", schedule.into()),
            ("scheduler", sched.into()),
            ("body/device", "process@1.0".into()),
            ("body/execution-device", "test-device@1.0".into()),
            ("body/type", "Process".into()),
            ("body/scheduler", sched.into()),
        ],
        "13-wao-schedule" => vec![
            ("path", format!("/{pid}/schedule").into()),
            ("body/action", "Inc".into()),
            ("body/data", "hello".into()),
            ("body/target", pid.into()),
            ("body/type", "Message".into()),
        ],
        "19-wao-schedule-flat" => vec![
            ("path", schedule.into()),
            ("body/data", "x".into()),
            ("body/content-type", "text/plain".into()),
            ("body/target", pid.into()),
            ("body/type", "Message".into()),
        ],
        "20-wao-cache-script.req2" => vec![
            ("path", schedule.into()),
            ("body/type", "Message".into()),
            ("body/target", lua_pid.into()),
            ("body/content-type", "application/lua".into()),
        ],
        "21-wao-spawn-lua" => vec![
            ("path", schedule.into()),
            ("body/device", "process@1.0".into()),
            ("body/execution-device", "lua@5.3a".into()),
            (
                "body/module",
                "qSKMC7NrFnkHKV07QoLBmHBeq_ewTLYlYKIZzpnHOP8".into(),
            ),
            ("body/type", "Process".into()),
        ],
        "22-wao-spawnLua-hyper-aos.req1" => vec![
            ("path", schedule.into()),
            ("body/type", "Message".into()),
            ("body/target", lua_pid.into()),
            ("body/content-type", "application/lua".into()),
        ],
        "22-wao-spawnLua-hyper-aos.req3" => vec![
            ("path", schedule.into()),
            ("body/device", "process@1.0".into()),
            ("body/execution-device", "lua@5.3a".into()),
            ("body/authority", sched.into()),
            ("body/type", "Process".into()),
        ],
        "23-wao-scheduleLua" => vec![
            ("path", format!("/{pid}/schedule").into()),
            ("body/action", "Eval".into()),
            ("body/data", "1+1".into()),
            ("body/target", pid.into()),
        ],
        "25-wao-dryrun-relay" => vec![
            ("path", "/~relay@1.0/call".into()),
            ("content-type", "application/json".into()),
        ],
        "26-hbsig-sign-send" => vec![
            ("path", "/~message@1.0/set".into()),
            ("hello", "world".into()),
        ],
        "27-aoconnect-request-get-httpsig" => vec![("signing-format", "httpsig".into())],
        // aoconnect's typed list is not an SF list: HyperBEAM (and we) cannot decode it; the
        // untyped fields are checked on the TABM instead (see `check_request`).
        "28-aoconnect-request-post-httpsig" => return None,
        _ => Vec::new(),
    })
}

fn lookup<'a>(msg: &'a Message, path: &str) -> Option<&'a Value> {
    let mut parts = path.split('/');
    let mut cur = msg.get(parts.next()?)?;
    for p in parts {
        cur = cur.as_message()?.get(p)?;
    }
    Some(cur)
}

/// The captured request files (`NN-….json`), sorted.
pub fn files() -> Vec<String> {
    let dir = vectors::dir().join("client-requests");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| f.ends_with(".json") && f.as_bytes()[0].is_ascii_digit())
        .collect();
    files.sort();
    files
}

#[test]
fn captured_client_requests() {
    ferrobeam::verify::install();
    let files = files();
    let mut failures = Failures::new();
    for file in &files {
        failures.record(file, check_request(file));
    }
    failures.finish("client-requests", 37);
}

fn check_request(file: &str) -> Result<(), String> {
    let request = load(file)?;
    let name = file.trim_end_matches(".json");
    let codec = request.http.header("codec-device").map(text);
    if codec.as_deref() == Some("ans104@1.0") {
        // aoconnect's ANS-104 data items (`content-type: application/ans104`) belong to the
        // ans104@1.0 codec, not to httpsig@1.0.
        return Ok(());
    }
    let tabm = httpsig::from(&request.http).map_err(|e| format!("httpsig decode: {e}"))?;
    let again = httpsig::to(&tabm).map_err(|e| format!("httpsig encode: {e}"))?;
    crate::same_message_form(&tabm, &again)?;
    // The message form the node sends is that HTTP message's, key for key and in order.
    let form = httpsig::to_message(&tabm).map_err(|e| format!("httpsig encode: {e}"))?;
    let keys = |m: &Message| m.keys().map(|k| k.as_str().to_owned()).collect::<Vec<_>>();
    let want = again.to_message();
    if form != want || keys(&form) != keys(&want) {
        return Err(format!(
            "to_message differs from to: {:?} against {:?}",
            keys(&form),
            keys(&want)
        ));
    }
    let signatures = request.json["signatures"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let decode_error_predicted = signatures.iter().any(|s| {
        s["model_prediction"]
            .get("hyperbeam_decode_error")
            .is_some()
    });
    let rich = match ferrobeam_structured::to(&tabm) {
        Ok(rich) if !decode_error_predicted => rich,
        Ok(_) => return Err("structured decode succeeded; the model predicts an error".into()),
        Err(_) if decode_error_predicted => {
            // The untyped fields still arrived.
            expect_eq("hello", &Some("world"), &tabm.get_str("hello"))?;
            return Ok(());
        }
        Err(e) => return Err(format!("structured decode: {e}")),
    };
    // Every unsigned header is a field, e.g. host.
    expect_eq(
        "host",
        &request.http.header("host").map(text),
        &rich.get_str("host").map(str::to_owned),
    )?;
    if let Some(fields) = expectations(name) {
        if fields.is_empty() && rich.contains_key("body") {
            return Err("request without a body decoded with one".into());
        }
        for (path, want) in fields {
            expect_eq(path, &Some(&want), &lookup(&rich, path))?;
        }
    }
    for sig in &signatures {
        check_signature(&request, &rich, sig)?;
    }
    for nested in request.json["nested_commitments"]
        .as_array()
        .into_iter()
        .flatten()
    {
        check_nested(&tabm, nested)?;
    }
    Ok(())
}

/// Re-encoding gives the content-digest the model predicts, and the verifier's base matches
/// the model's prediction line by line.
fn check_signature(request: &Request, rich: &Message, sig: &Json) -> Result<(), String> {
    let prediction = &sig["model_prediction"];
    let differ = prediction["base_lines_that_differ"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let reencoded_line = |prefix: &str| {
        differ
            .iter()
            .filter_map(|d| d["reencoded"].as_str())
            .find(|l| l.starts_with(prefix))
            .map(str::to_owned)
    };
    let retabm = ferrobeam_structured::from(rich).map_err(|e| e.to_string())?;
    let reencoded = httpsig::to(&retabm).map_err(|e| format!("re-encode: {e}"))?;
    if let Some(sent) = request.http.header("content-digest") {
        let want = reencoded_line("\"content-digest\": ")
            .map(|l| l.trim_start_matches("\"content-digest\": ").to_owned())
            .unwrap_or_else(|| text(sent));
        expect_eq(
            "re-encoded content-digest",
            &Some(want),
            &reencoded.header("content-digest").map(text),
        )?;
    }
    let id = sig["commitment_id"].as_str().ok_or("no commitment_id")?;
    let input =
        httpsig::verification_input(&retabm, id).map_err(|e| format!("verification input: {e}"))?;
    let base = text(&input.base);
    let as_sent = sig["signature_base"].as_str().ok_or("no signature_base")?;
    if prediction["hyperbeam_reencode_verifies"].as_bool() == Some(true) {
        expect_eq("re-encoded base", &as_sent.to_owned(), &base)?;
    } else {
        for d in &differ {
            let line = d["reencoded"].as_str().unwrap_or("");
            if !base.lines().any(|l| l.starts_with(line)) {
                return Err(format!("re-encoded base lacks {line:?}:\n{base}"));
            }
        }
        if base == as_sent {
            return Err(
                "re-encoded base equals the sent one; the model predicts a difference".into(),
            );
        }
    }
    expect_eq(
        "signature bytes",
        &vectors::b64(&signature_b64(request, sig)?)?,
        &input.signature,
    )
}

fn signature_b64(request: &Request, sig: &Json) -> Result<String, String> {
    let name = sig["name"].as_str().ok_or("no name")?;
    let header = text(
        request
            .http
            .header("signature")
            .ok_or("no signature header")?,
    );
    header
        .split(", ")
        .find_map(|m| m.strip_prefix(&format!("{name}=:")))
        .map(|s| s.trim_end_matches(':').to_owned())
        .ok_or_else(|| format!("no member {name}"))
}

/// A commitment a client nested in the body: the verifier's base over HyperBEAM's
/// re-encoding of the nested message is the one the model predicts.
fn check_nested(tabm: &Message, nested: &Json) -> Result<(), String> {
    let Some(want) = nested["model_prediction"]["signature_base"].as_str() else {
        return Ok(());
    };
    let inner = tabm.get_message("body").ok_or("no body message")?;
    let rich = ferrobeam_structured::to(inner).map_err(|e| e.to_string())?;
    let retabm = ferrobeam_structured::from(&rich).map_err(|e| e.to_string())?;
    let id = nested["id_as_sent"].as_str().ok_or("no id")?;
    let input = httpsig::verification_input(&retabm, id).map_err(|e| format!("nested: {e}"))?;
    expect_eq("nested base", &want.to_owned(), &text(&input.base))
}
