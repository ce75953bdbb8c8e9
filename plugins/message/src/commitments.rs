//! `message@1.0`'s commitment keys (`spec/codecs.md` §6.6, §6.7, §7.1, §9.4), over the
//! `httpsig@1.0` library.

use ferrobeam_device_api::{DeviceError, Host, Message, Value};
use ferrobeam_httpsig::Error;

fn codec_error(e: Error) -> DeviceError {
    match e {
        Error::Host(e) => e,
        Error::UnknownCommitter(_) | Error::UnknownCommitment(_) => {
            DeviceError::not_found(e.to_string())
        }
        other => DeviceError::bad_request(other.to_string()),
    }
}

/// `id` (`§7.1`).
pub fn id(base: &Message, req: &Message) -> Result<String, DeviceError> {
    ferrobeam_httpsig::id_for_request(base, req).map_err(codec_error)
}

/// `commitments`: the commitments message (404 when there is none).
pub fn all(base: &Message) -> Result<Message, DeviceError> {
    base.get_message("commitments")
        .cloned()
        .ok_or_else(|| DeviceError::not_found("the message has no commitments"))
}

/// `committers`: the distinct `committer` of every commitment, sorted.
pub fn committers(base: &Message) -> Value {
    let mut out: Vec<&str> = base
        .get_message("commitments")
        .map(|c| {
            c.iter()
                .filter_map(|(_, v)| v.as_message()?.get_str("committer"))
                .collect()
        })
        .unwrap_or_default();
    out.sort_unstable();
    out.dedup();
    Value::List(out.into_iter().map(Value::from).collect())
}

/// `committed` (`§6.7`): the keys every signature covers (the HMAC commitment's when unsigned).
pub fn committed(base: &Message) -> Result<Value, DeviceError> {
    let mut ids = ferrobeam_httpsig::signed_commitment_ids(base);
    if ids.is_empty() {
        ids = base
            .get_message("commitments")
            .map(|c| c.keys().map(|k| k.as_str()).collect())
            .unwrap_or_default();
    }
    if ids.is_empty() {
        return Err(DeviceError::bad_request(
            "the message has no commitments, so nothing is committed",
        ));
    }
    let keys = ferrobeam_httpsig::committed_keys(base, &ids).map_err(codec_error)?;
    Ok(Value::List(keys.into_iter().map(Value::from).collect()))
}

/// `verify`: every RSA signature of the target verifies (`§6.6`). The target is the base
/// (`target` absent or `self`), else the message at key `target` of the request, else of the
/// base. A message without signatures verifies trivially, as in HyperBEAM.
pub fn verify(base: &Message, req: &Message) -> Result<bool, DeviceError> {
    let target = match req.get_str("target") {
        None | Some("self") => base,
        Some(key) => req
            .get_message(key)
            .or_else(|| base.get_message(key))
            .ok_or_else(|| {
                DeviceError::bad_request(format!("verify: `{key}` is not a message to verify"))
            })?,
    };
    Ok(ferrobeam_httpsig::verify_signed_commitments(target)
        .iter()
        .all(|(_, outcome)| outcome.is_ok()))
}

/// `commit`: the base signed by the node wallet, through the node.
pub fn commit(host: &Host, base: &Message) -> Result<Message, DeviceError> {
    ferrobeam_httpsig::commit_with_host(host, base).map_err(codec_error)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ferrobeam_structured::vectors;

    fn signed_case(name: &str) -> serde_json::Value {
        vectors::cases("ids.json")
            .unwrap()
            .into_iter()
            .find(|c| c["name"] == name)
            .unwrap()
    }

    #[test]
    fn ids_and_committers_follow_the_vectors() {
        let case = signed_case("signed-two-wallets");
        let signed = vectors::message(&case["signed_tabm"]).unwrap();
        assert_eq!(
            id(&signed, &Message::new()).unwrap(),
            case["id_default"].as_str().unwrap()
        );
        assert_eq!(
            id(&signed, &Message::new().with("committers", "all")).unwrap(),
            case["id_all"].as_str().unwrap()
        );
        let mut want: Vec<Value> = case["commitments"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| Value::from(c["committer"].as_str().unwrap()))
            .collect();
        want.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        assert_eq!(committers(&signed), Value::List(want));
        assert_eq!(
            id(
                &signed,
                &Message::new().with("committers", Value::List(vec!["x".into()]))
            )
            .unwrap_err()
            .kind()
            .status(),
            404
        );
    }

    #[test]
    fn verify_checks_the_target_and_catches_tampering() {
        ferrobeam::verify::install();
        let case = signed_case("signed-test-wallet-1");
        let signed = vectors::message(&case["signed_tabm"]).unwrap();
        assert!(verify(&signed, &Message::new()).unwrap());
        let mut tampered = signed.clone();
        let key = tampered
            .keys()
            .find(|k| k.as_str() != "commitments")
            .cloned()
            .unwrap();
        tampered.insert(key, "changed");
        assert!(!verify(&tampered, &Message::new()).unwrap());
        let req = Message::new()
            .with("target", "body")
            .with("body", signed.clone());
        assert!(verify(&Message::new(), &req).unwrap());
        let req = Message::new().with("target", "body").with("body", tampered);
        assert!(!verify(&Message::new(), &req).unwrap());
        // Unsigned messages verify trivially.
        assert!(verify(&Message::new().with("a", "b"), &Message::new()).unwrap());
    }

    #[test]
    fn committed_lists_the_signed_keys() {
        let case = signed_case("signed-test-wallet-1");
        let signed = vectors::message(&case["signed_tabm"]).unwrap();
        let Value::List(keys) = committed(&signed).unwrap() else {
            panic!("not a list");
        };
        for (k, _) in case["message"].as_object().unwrap() {
            assert!(keys.contains(&Value::from(k.as_str())), "{k} not committed");
        }
    }
}
