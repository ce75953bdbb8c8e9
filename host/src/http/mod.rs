//! The HTTP edge (`spec/codecs.md` §10): hyper 1 on tokio.
//!
//! One request: limits → HTTP message → `httpsig@1.0` + `structured@1.0` decode → path steps →
//! resolution on a call thread ([`call_pool`], bounded) → response codec → HTTP response. Errors become
//! messages with the right status in one place ([`error`]), never a dropped connection.
//!
//! **Identity.** `httpsig@1.0` `from` checks the request's signatures as received (then over
//! HyperBEAM's re-encoding): a failed one is dropped from `commitments` and the verdict —
//! `priv.signature-status` = `verified` / `unverified` / `unsigned`, with the reasons under
//! `priv.unverified` — reaches every step, so devices needing verified input answer 400 with
//! the reason (`ferrobeam_httpsig::from_request`). Every response, success or error, in every
//! codec, is committed by the node wallet before it is encoded (`sign`), shaped exactly as a
//! real HyperBEAM response and carrying the result's hashpath as `tag`. The exceptions are the
//! CORS preflight (`OPTIONS`, 204), the `GET /` redirect — both answered before any device, as
//! HyperBEAM's HTTP server does — the plain-text 503 of a node whose codec devices are not
//! loaded, which has nothing to sign with, and the node's own routes `/metrics`, `/status` and
//! `/status/data` ([`ops`]), which are about the node rather than AO-Core messages.
//!
//! Every request is counted in the node's metrics (`crate::metrics`) by the device of its path,
//! its method and its status, with its latency.

pub mod call_pool;
mod codec;
mod driver_watch;
mod error;
mod exchange;
pub mod inline;
mod limits;
mod ops;
pub mod request_cache;
mod response;
pub mod response_cache;
mod sign;

pub use codec::{encode_response, Decoded, ResponseCodec};
pub use error::EdgeError;
pub use request_cache::RequestCache;
pub use response::Prepared;
pub use response_cache::ResponseCache;

use crate::node::Node;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// What every connection shares.
#[derive(Debug)]
pub struct Edge {
    node: Arc<Node>,
    calls: Arc<Semaphore>,
    max_body: usize,
    limits: crate::config::Limits,
    call_timeout: std::time::Duration,
    responses: ResponseCache,
    requests: RequestCache,
    pool: call_pool::CallPool,
    inline: inline::Inline,
}

impl Edge {
    /// The edge for `node`, with its limits.
    pub fn new(node: Arc<Node>) -> Arc<Edge> {
        let config = node.config();
        // The call threads that start with the edge sign once before any client waits on them.
        // The pool holds the node weakly: its threads end a little after the edge, and must not
        // keep the node (and its store) open meanwhile.
        let signing = Arc::downgrade(&node);
        let prepare = move || {
            let node = signing.upgrade();
            if let Some(signer) = node.as_ref().and_then(|node| node.signer()) {
                if let Err(e) = signer.wallet().prepare_thread() {
                    tracing::warn!("a call thread could not sign: {e}");
                }
            }
        };
        let edge = Arc::new(Edge {
            calls: Arc::new(Semaphore::new(config.node.max_concurrent_calls)),
            max_body: config.node.max_body_bytes,
            limits: config.limits.clone(),
            call_timeout: std::time::Duration::from_secs(config.node.call_timeout_secs),
            pool: call_pool::CallPool::prepared(
                call_pool::CallPool::cores(),
                config.node.max_concurrent_calls,
                prepare,
            ),
            inline: inline::Inline::new(inline_limit()),
            responses: ResponseCache::new(
                response_cache::DEFAULT_ENTRIES,
                response_cache::DEFAULT_BYTES,
            ),
            requests: RequestCache::new(
                request_cache::DEFAULT_ENTRIES,
                request_cache::DEFAULT_BYTES,
            ),
            node,
        });
        if edge.inline.enabled() {
            let edge = Arc::downgrade(&edge);
            driver_watch::start(move || edge.upgrade().map(|e| e.inline.running() > 0));
        }
        edge
    }

    /// Answers one request on this thread, as a call thread does once the request is read:
    /// `http` is the HTTP message (lower-case header names and `body`). No limits on the
    /// connection, no metrics, no call slot: for benchmarks and embedders that run the node's
    /// pipeline in-process. A successful answer is shared with the response cache.
    pub fn answer(
        &self,
        method: &str,
        target: &str,
        http: &ferrobeam_device_api::Message,
    ) -> hyper::Response<http_body_util::Full<bytes::Bytes>> {
        response::build(exchange::answer(self, method, target, http), None)
    }
}

/// The worker threads the node's runtime should have: one per core, and one more, so that
/// requests running on workers ([`inline`]) can never take them all.
pub fn worker_threads() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from) + 1
}

/// How many requests may run on the current runtime's workers at once: all workers but one
/// (none outside a multi-threaded runtime).
fn inline_limit() -> usize {
    tokio::runtime::Handle::try_current().map_or(0, |rt| match rt.runtime_flavor() {
        tokio::runtime::RuntimeFlavor::MultiThread => rt.metrics().num_workers().saturating_sub(1),
        _ => 0,
    })
}

/// How a graceful shutdown ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drained {
    /// Every open request finished.
    All,
    /// Some were still running when the timeout (`[node] shutdown_timeout_secs`) ran out.
    TimedOut,
}

/// Serves `listener` until `shutdown` completes; then stops accepting (the listening socket is
/// closed), lets the requests in flight finish within `[node] shutdown_timeout_secs` and closes
/// idle connections.
pub async fn serve(
    edge: Arc<Edge>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Drained {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let config = edge.node.config();
    let max_headers = config.node.max_header_bytes.max(8192);
    let timeout = std::time::Duration::from_secs(config.node.shutdown_timeout_secs);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let edge = edge.clone();
        let service = service_fn(move |req| {
            let edge = edge.clone();
            async move { Ok::<_, std::convert::Infallible>(exchange::handle(edge, req, peer).await) }
        });
        let conn = http1::Builder::new()
            .max_buf_size(max_headers)
            // One buffer per response rather than a vectored write of headers and body: a
            // signed answer is a few KB, and on loopback under wrk the flat write took the
            // kernel's time per signed GET from 8.2–10.1 to 7.2–7.4 µs (BENCHMARKS.md). A large
            // body is copied once more into the buffer, which is small beside sending it.
            .writev(false)
            .keep_alive(true)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, "connection ended: {e}");
            }
        });
    }
    drop(listener);
    let in_flight = edge.node.metrics().http_in_flight.with(&[]).get() as i64;
    tracing::info!(
        in_flight,
        timeout_secs = timeout.as_secs(),
        "shutting down: no longer accepting; waiting for requests in flight"
    );
    match tokio::time::timeout(timeout, graceful.shutdown()).await {
        Ok(()) => Drained::All,
        Err(_) => {
            tracing::warn!(
                "requests still running after {} s; stopping anyway",
                timeout.as_secs()
            );
            Drained::TimedOut
        }
    }
}

/// Binds `bind:port`.
pub async fn bind(bind: &str, port: u16) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind((bind, port)).await?;
    let addr = listener.local_addr()?;
    Ok((listener, addr))
}
