//! One request, end to end.

use super::call_pool;
use super::codec::{self, ResponseCodec};
use super::error::{is_server_error, EdgeError};
use super::inline;
use super::limits;
use super::response::{self, Reply};
use super::Edge;
use crate::node::Node;
use crate::path;
use crate::resolve::{self, RequestKeys};
use bytes::Bytes;
use ferrobeam_device_api::{Binary, Key, Message, Value};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use std::net::SocketAddr;
use std::sync::Arc;

/// Handles one request; never fails (errors are responses). Counted in the node's metrics by
/// device, method and status, with its latency.
pub async fn handle(
    edge: Arc<Edge>,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    let started = std::time::Instant::now();
    let metrics_method = static_method_label(req.method());
    let device = if super::ops::is_ops_route(req.method(), req.uri().path()) {
        DeviceLabel::Named("node")
    } else {
        device_label(&edge.node, req.uri().path())
    };
    let in_flight = InFlight::enter(edge.node.metrics().http_in_flight.with(&[]));
    let resp = respond(edge.clone(), req, peer).await;
    drop(in_flight);
    let m = edge.node.metrics();
    let status = resp.status();
    m.http_requests
        .inc(&[device.as_str(), metrics_method, status.as_str()]);
    m.http_duration.observe(
        &[device.as_str(), metrics_method],
        started.elapsed().as_secs_f64(),
    );
    resp
}

/// The method label ([`crate::metrics::method_label`]) without copying it: the standard methods
/// are constants.
fn static_method_label(method: &Method) -> &'static str {
    match crate::metrics::method_label(method.as_str()) {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "PATCH" => "PATCH",
        "OPTIONS" => "OPTIONS",
        _ => crate::metrics::OTHER,
    }
}

/// Counts a request in flight until dropped (also when the client goes away mid-request).
struct InFlight(Arc<crate::metrics::family::Series>);

impl InFlight {
    fn enter(gauge: Arc<crate::metrics::family::Series>) -> InFlight {
        gauge.shift(1);
        InFlight(gauge)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.shift(-1);
    }
}

/// A request's device label: a fixed word, or a loaded device's name (borrowed from its
/// handle, so counting a request copies no string).
enum DeviceLabel {
    Named(&'static str),
    Device(Arc<crate::registry::DeviceHandle>),
}

impl DeviceLabel {
    fn as_str(&self) -> &str {
        match self {
            DeviceLabel::Named(n) => n,
            DeviceLabel::Device(handle) => &handle.name,
        }
    }
}

/// The device of the path's first `~device` step, if it is loaded (`other` if not, `none`
/// without one): a label with a bounded set of values.
fn device_label(node: &Node, path: &str) -> DeviceLabel {
    let Some(after) = path.split_once('~').map(|(_, a)| a) else {
        return DeviceLabel::Named("none");
    };
    let name = after
        .split(['/', '&', '?', '~', '('])
        .next()
        .unwrap_or_default();
    match node.registry().get(name) {
        Some(handle) => DeviceLabel::Device(handle),
        None => DeviceLabel::Named(crate::metrics::OTHER),
    }
}

async fn respond(
    edge: Arc<Edge>,
    req: Request<Incoming>,
    peer: SocketAddr,
) -> Response<Full<Bytes>> {
    if super::ops::is_ops_route(req.method(), req.uri().path()) {
        return super::ops::answer(&edge, req.uri().path()).await;
    }
    let cors_request_headers = req.headers().get("access-control-request-headers").cloned();
    if req.method() == Method::OPTIONS {
        return response::preflight();
    }
    if req.method() == Method::GET && req.uri().path() == "/" && req.uri().query().is_none() {
        return response::redirect("/~meta@1.0/info");
    }
    let method = req.method().clone();
    let target = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".to_owned());
    let checked = limits::headers(req.headers().len(), &edge.limits)
        .and_then(|()| limits::target(&target, &edge.limits));
    let read = match checked {
        Ok(()) => read_http_message(&edge, req).await,
        Err(e) => Err(e),
    };
    let reply = match read {
        Ok(http) => {
            run_blocking(
                edge.clone(),
                method.as_str().to_owned(),
                target.clone(),
                http,
            )
            .await
        }
        Err(e) => Reply::Error(e, ResponseCodec::Httpsig),
    };
    let reply = match reply {
        Reply::Error(e, codec) => {
            if is_server_error(&e) {
                tracing::warn!(%peer, %method, %target, status = e.status(), "{e}");
            } else {
                tracing::debug!(%peer, %method, %target, status = e.status(), "{e}");
            }
            let edge = edge.clone();
            let encoded = tokio::task::spawn_blocking(move || {
                edge.responses
                    .encode(&edge.node, &codec, &e.to_message())
                    .map_err(|_| e)
            })
            .await;
            match encoded {
                Ok(Ok(http)) => Reply::Encoded(http),
                Ok(Err(e)) => Reply::Plain(e),
                Err(_) => Reply::Plain(EdgeError::Overloaded),
            }
        }
        other => other,
    };
    response::build(reply, cors_request_headers)
}

/// The request as an HTTP message: lower-case header names and `body`, within the limits.
async fn read_http_message(edge: &Edge, req: Request<Incoming>) -> Result<Message, EdgeError> {
    let (parts, body) = req.into_parts();
    let declared = parts
        .headers
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > edge.max_body) {
        return Err(EdgeError::BodyTooLarge {
            limit: edge.max_body,
        });
    }
    // The map's names are distinct and lower-case, so the fields need no search per key.
    let mut fields = Vec::with_capacity(parts.headers.keys_len() + 1);
    for name in parts.headers.keys() {
        let mut values = parts.headers.get_all(name).iter();
        let mut joined = values
            .next()
            .map(|first| Binary::copy_from_slice(first.as_bytes()))
            .unwrap_or_default();
        // Repeated headers are one field, joined with ", " (RFC 9110 §5.3).
        for value in values {
            joined.extend_from_slice(b", ");
            joined.extend_from_slice(value.as_bytes());
        }
        fields.push((Key::new(name.as_str()), Value::Binary(joined)));
    }
    let mut http = Message::from_entries(fields);
    let body = Limited::new(body, edge.max_body)
        .collect()
        .await
        .map_err(|e| {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                EdgeError::BodyTooLarge {
                    limit: edge.max_body,
                }
            } else {
                EdgeError::BadBody(e.to_string())
            }
        })?
        .to_bytes();
    if !body.is_empty() {
        // Taken over without a copy when the collected body holds its buffer alone.
        http.insert("body", Binary::from(body));
    }
    Ok(http)
}

/// Decodes, resolves and encodes: on this worker when the request's class has proven fast
/// ([`inline`]), else on a call thread ([`call_pool`]), holding one of the node's call slots
/// either way.
async fn run_blocking(edge: Arc<Edge>, method: String, target: String, http: Message) -> Reply {
    let class = inline::class_of(&target);
    if let Some(reply) = class
        .as_deref()
        .and_then(|class| run_on_worker(&edge, class, &method, &target, &http))
    {
        return reply;
    }
    let Ok(permit) = edge.calls.clone().acquire_owned().await else {
        return Reply::Error(EdgeError::Overloaded, ResponseCodec::Httpsig);
    };
    let shared = edge.clone();
    let mut answer = edge.pool.run(move || {
        let _permit = permit;
        shared.node.metrics().request_runs.inc(&["call_thread"]);
        let started = std::time::Instant::now();
        let reply = answer(&shared, &method, &target, &http);
        if let Some(class) = class {
            shared.inline.record(&class, started.elapsed());
        }
        reply
    });
    let deadline = tokio::time::Instant::now() + edge.call_timeout;
    // While the call waits or runs, look again now and then whether the calls ahead of it
    // have all become slow: the pool then starts another thread.
    let mut tick = call_pool::SLOW_AFTER;
    loop {
        let wake = (tokio::time::Instant::now() + tick).min(deadline);
        match tokio::time::timeout_at(wake, &mut answer).await {
            Ok(done) => {
                return done.unwrap_or_else(|_| {
                    Reply::Error(EdgeError::Overloaded, ResponseCodec::Httpsig)
                })
            }
            Err(_) if wake < deadline => {
                edge.pool.unstick();
                tick = (tick * 2).min(std::time::Duration::from_secs(1));
            }
            Err(_) => break,
        }
    }
    // The call thread cannot be stopped: the call keeps its slot (and its device's place,
    // `max_calls_per_device`) until it returns, and is counted until then.
    let past = edge.node.metrics().calls_past_timeout.with(&[]);
    past.shift(1);
    tokio::spawn(async move {
        let _ = answer.await;
        past.shift(-1);
    });
    Reply::Error(
        EdgeError::Timeout {
            secs: edge.call_timeout.as_secs(),
        },
        ResponseCodec::Httpsig,
    )
}

/// Runs the request here, on the worker, if its class has proven fast and a place and a call
/// slot are free; `None` sends it to a call thread.
fn run_on_worker(
    edge: &Edge,
    class: &str,
    method: &str,
    target: &str,
    http: &Message,
) -> Option<Reply> {
    let _place = edge.inline.admit(class)?;
    let _permit = edge.calls.try_acquire().ok()?;
    let metrics = edge.node.metrics();
    metrics.request_runs.inc(&["worker"]);
    let _running = InFlight::enter(metrics.on_workers.with(&[]));
    let started = std::time::Instant::now();
    // As on a call thread: a panic (a bug of the node's; devices' panics stay in their
    // library) costs this request, not the connection.
    let reply = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        answer(edge, method, target, http)
    }))
    .unwrap_or(Reply::Error(EdgeError::Overloaded, ResponseCodec::Httpsig));
    edge.inline.record(class, started.elapsed());
    Some(reply)
}

/// The synchronous part of a request, as a call thread runs it: decode, resolve, encode.
pub(super) fn answer(edge: &Edge, method: &str, target: &str, http: &Message) -> Reply {
    let node = &edge.node;
    let mut codec = codec::response_codec(http);
    match run(edge, method, target, http, &mut codec) {
        Ok(result) => match edge.responses.encode(node, &codec, &result) {
            Ok(encoded) => Reply::Encoded(encoded),
            Err(e) => Reply::Error(e.into(), ResponseCodec::Httpsig),
        },
        Err(e) => Reply::Error(e, codec),
    }
}

/// Decode → parse → resolve, giving the result message to encode (§10.1).
/// The decoded request may name its response codec itself (`require-codec`, `accept-codec`):
/// `codec` is updated before anything can fail after decoding.
fn run(
    edge: &Edge,
    method: &str,
    target: &str,
    http: &Message,
    codec: &mut ResponseCodec,
) -> Result<Message, EdgeError> {
    let (node, limits) = (&*edge.node, &edge.limits);
    let decoded = edge.requests.decode(
        node,
        http,
        method,
        target,
        || limits::parts(http, limits),
        |d| limits::message(&d.typed, limits),
    )?;
    if let Some(asked) = codec::requested_codec(&decoded.typed) {
        *codec = asked;
    }
    // The message's own `path` (e.g. a signed `path` header) wins over the URL.
    let path = decoded.typed.get_str("path").unwrap_or(target);
    if path != target {
        limits::target(path, limits)?;
    }
    let route = path::parse(path)?;
    let keys = RequestKeys::new(decoded.tabm.clone(), decoded.typed.clone())
        .with_query(route.query)
        .with_first_step_memo(decoded.first_step.clone());
    let result = resolve::resolve_request(node, &route.steps, &keys)?;
    Ok(with_status(result))
}

/// A result as the message to send: literals are wrapped as `{ao-result: body, body}`
/// (HyperBEAM's `force_message`), and a status is added (§9.5).
fn with_status(result: Value) -> Message {
    let mut msg = match result {
        Value::Message(m) => m,
        literal => Message::new()
            .with("ao-result", "body")
            .with("body", literal),
    };
    if !msg.contains_key("status") {
        msg.insert("status", 200);
    }
    msg
}
