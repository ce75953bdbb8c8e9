//! The node's own routes, answered before any device: `/metrics` (Prometheus), `/status` (the
//! status page) and `/status/data` (its JSON). They work whatever devices are loaded, and their
//! responses are not signed: they are about the node, not AO-Core messages.

use super::Edge;
use crate::metrics::{self, text};
use crate::status;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Method, Response, StatusCode};
use std::sync::Arc;

/// The paths served here.
pub const METRICS: &str = "/metrics";
/// The status page.
pub const STATUS: &str = "/status";
/// The status page's data.
pub const STATUS_DATA: &str = "/status/data";

/// No network resources but the node's own data: the page's script, style and chart are inline.
const PAGE_POLICY: &str = "default-src 'none'; script-src 'unsafe-inline'; \
    style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; \
    form-action 'none'";

/// Whether `method path` is one of the node's own routes.
pub fn is_ops_route(method: &Method, path: &str) -> bool {
    method == Method::GET && matches!(path, METRICS | STATUS | STATUS_DATA)
}

/// Answers one of the node's own routes (see [`is_ops_route`]).
pub async fn answer(edge: &Arc<Edge>, path: &str) -> Response<Full<Bytes>> {
    let node = edge.node.clone();
    let path = path.to_owned();
    let edge_caches = [edge.requests.report(), edge.responses.report()];
    // Reading the status may call scheduler@1.0 through the ABI: off the async threads.
    let built = tokio::task::spawn_blocking(move || match path.as_str() {
        METRICS => (
            metrics::render::render(&node, &edge_caches).into_bytes(),
            text::CONTENT_TYPE,
        ),
        STATUS_DATA => (
            status::data(&node).to_string().into_bytes(),
            "application/json",
        ),
        _ => (status::PAGE.as_bytes().to_vec(), "text/html; charset=utf-8"),
    })
    .await;
    let Ok((body, content_type)) = built else {
        return super::response::plain(500, "the node failed while reading its status");
    };
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if content_type.starts_with("text/html") {
        h.insert(
            "content-security-policy",
            HeaderValue::from_static(PAGE_POLICY),
        );
    }
    resp
}
