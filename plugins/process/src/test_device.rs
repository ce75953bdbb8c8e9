//! `test-device@1.0`: the small execution device `wao`'s `hb.spawn` names by default, as in
//! HyperBEAM's `dev_test` — so a process spawned by the npm client computes before Lua exists.
//!
//! Each slot's `compute` sets `random-key: random-value`, `results: {assignment-slot: <slot>}`
//! and puts the slot at the front of `already-seen`. ferrobeam's version also counts the
//! messages it has computed (`count`, the process message excluded), copies a message's
//! `outbox` (a message or list) to `results/outbox` so tests can drive `patch@1.0` and `push`,
//! fails a slot whose message carries `test-error` (400, with that text) so tests can see an
//! execution error, and keeps only the most recent [`SEEN_LIMIT`] slots in `already-seen` —
//! HyperBEAM's list
//! grows without bound, which would make every state, and so every read of it, grow with the
//! schedule.

use ferrobeam_device_api::{
    device_methods, Device, DeviceError, InitContext, Message, Opts, Value,
};

/// How many slots `already-seen` remembers.
pub const SEEN_LIMIT: usize = 64;

/// The `test-device@1.0` device.
#[derive(Debug)]
pub struct TestDevice;

impl Device for TestDevice {
    const NAME: &'static str = "test-device@1.0";
    fn init(_ctx: InitContext) -> Result<Self, DeviceError> {
        Ok(TestDevice)
    }
}

impl TestDevice {
    /// `info`: what this device is.
    pub fn info(
        &self,
        _base: &Message,
        _req: &Message,
        _opts: &Opts,
    ) -> Result<Message, DeviceError> {
        Ok(Message::new().with("version", "1.0").with(
            "description",
            "Test device for the AO-Core process machinery",
        ))
    }

    /// `init`: an empty `already-seen` and `count: 0`.
    pub fn init(
        &self,
        base: &Message,
        _req: &Message,
        _opts: &Opts,
    ) -> Result<Message, DeviceError> {
        Ok(base
            .clone()
            .with("already-seen", Value::List(Vec::new()))
            .with("count", 0))
    }

    /// `compute`: one slot (the request is its assignment).
    pub fn compute(
        &self,
        base: &Message,
        req: &Message,
        _opts: &Opts,
    ) -> Result<Message, DeviceError> {
        compute(base, req)
    }

    /// `snapshot`: nothing to save beyond the state itself.
    pub fn snapshot(
        &self,
        _base: &Message,
        _req: &Message,
        _opts: &Opts,
    ) -> Result<Message, DeviceError> {
        Ok(Message::new())
    }

    /// `normalize`: the state is complete as stored.
    pub fn normalize(
        &self,
        base: &Message,
        _req: &Message,
        _opts: &Opts,
    ) -> Result<Message, DeviceError> {
        Ok(base.clone())
    }

    /// `test_func`: a constant, as in HyperBEAM.
    pub fn test_func(
        &self,
        _base: &Message,
        _req: &Message,
        _opts: &Opts,
    ) -> Result<&'static str, DeviceError> {
        Ok("GOOD FUNCTION")
    }
}

/// The state after the assignment `req`.
pub fn compute(base: &Message, req: &Message) -> Result<Message, DeviceError> {
    let slot = req
        .get("slot")
        .cloned()
        .ok_or_else(|| DeviceError::bad_request("test-device@1.0: the assignment has no `slot`"))?;
    let mut seen: Vec<Value> = base
        .get("already-seen")
        .and_then(Value::as_list)
        .map(<[Value]>::to_vec)
        .unwrap_or_default();
    seen.insert(0, slot.clone());
    seen.truncate(SEEN_LIMIT);
    let body = req.get_message("body");
    if let Some(error) = body.and_then(|b| b.get("test-error")) {
        return Err(DeviceError::bad_request(format!(
            "test-device@1.0 was asked to fail: {}",
            error.as_str().unwrap_or("test-error")
        )));
    }
    let is_process = body.is_some_and(crate::ids::is_process);
    let count = base.get("count").and_then(Value::as_integer).unwrap_or(0) + i64::from(!is_process);
    let mut results = Message::new().with("assignment-slot", slot);
    if let Some(outbox) = body.and_then(|b| b.get("outbox")) {
        if matches!(outbox, Value::Message(_) | Value::List(_)) {
            results.insert("outbox", outbox.clone());
        }
    }
    let mut out = base.clone();
    out.insert("random-key", "random-value");
    out.insert("results", results);
    out.insert("already-seen", Value::List(seen));
    out.insert("count", count);
    Ok(out)
}

device_methods!(TestDevice {
    info,
    init,
    compute,
    snapshot,
    normalize,
    test_func
});

#[cfg(test)]
mod tests {
    use super::*;

    fn assignment(slot: i64, body: Message) -> Message {
        Message::new().with("slot", slot).with("body", body)
    }

    #[test]
    fn results_carry_the_assignment_slot_and_seen_slots_lead_with_the_newest() {
        let s0 = compute(
            &Message::new(),
            &assignment(0, Message::new().with("type", "Process")),
        )
        .unwrap();
        let s1 = compute(&s0, &assignment(1, Message::new().with("type", "Message"))).unwrap();
        let s2 = compute(&s1, &assignment(2, Message::new())).unwrap();
        assert_eq!(
            s2.get_message("results")
                .and_then(|r| r.get("assignment-slot")),
            Some(&Value::Integer(2))
        );
        assert_eq!(
            s2.get("already-seen"),
            Some(&Value::List(vec![2.into(), 1.into(), 0.into()]))
        );
        assert_eq!(s2.get("count"), Some(&Value::Integer(2)));
        assert_eq!(s2.get_str("random-key"), Some("random-value"));
    }

    #[test]
    fn a_message_asking_for_an_error_fails_its_slot() {
        let e = compute(
            &Message::new(),
            &assignment(1, Message::new().with("test-error", "boom")),
        )
        .unwrap_err();
        assert_eq!(e.kind().status(), 400);
        assert!(e.reason().ends_with("boom"), "{e}");
    }

    #[test]
    fn already_seen_is_bounded_and_outboxes_are_copied() {
        let mut state = Message::new();
        for slot in 0..200 {
            state = compute(&state, &assignment(slot, Message::new())).unwrap();
        }
        assert_eq!(
            state
                .get("already-seen")
                .and_then(Value::as_list)
                .map(<[Value]>::len),
            Some(SEEN_LIMIT)
        );
        let outbox =
            Message::new().with("1", Message::new().with("device", "patch@1.0").with("x", 1));
        let out = compute(
            &state,
            &assignment(200, Message::new().with("outbox", outbox.clone())),
        )
        .unwrap();
        assert_eq!(
            out.get_message("results")
                .and_then(|r| r.get_message("outbox")),
            Some(&outbox)
        );
    }
}
