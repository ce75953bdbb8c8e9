//! The baseline of the load command: the barest hyper 1 HTTP/1.1 server, on the same runtime
//! shape as the node (tokio multi-thread, keep-alive), answering every request `hello`.
//!
//! With `--headers <file>` (lines `name: value`) every answer also carries those headers: given
//! the headers of one of the node's signed responses, this measures what sending such a response
//! costs with no work at all behind it — the bound for the node on the same machine.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{HeaderMap, Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::net::TcpListener;

fn arg(name: &str) -> Option<String> {
    std::env::args().skip_while(|a| a != name).nth(1)
}

/// `name: value` lines of `path` as headers; lines that are not valid headers are skipped.
fn headers_from(path: &str) -> std::io::Result<HeaderMap> {
    let text = std::fs::read_to_string(path)?;
    let mut headers = HeaderMap::new();
    for line in text.lines() {
        let Some((name, value)) = line.split_once(": ") else {
            continue;
        };
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.trim().as_bytes()),
            HeaderValue::from_str(value.trim()),
        ) {
            headers.append(name, value);
        }
    }
    Ok(headers)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = arg("--port").and_then(|p| p.parse().ok()).unwrap_or(0);
    let extra = Arc::new(match arg("--headers") {
        Some(path) => headers_from(&path)?,
        None => HeaderMap::new(),
    });
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    println!(
        "hello-baseline listening on http://{}",
        listener.local_addr()?
    );
    loop {
        let (stream, _) = listener.accept().await?;
        let _ = stream.set_nodelay(true);
        let extra = extra.clone();
        tokio::spawn(async move {
            let hello = move |_req: Request<hyper::body::Incoming>| {
                let mut response = Response::new(Full::new(Bytes::from_static(b"hello")));
                response.headers_mut().extend(
                    extra
                        .iter()
                        .map(|(name, value)| (name.clone(), value.clone())),
                );
                async move { Ok::<_, Infallible>(response) }
            };
            let _ = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service_fn(hello))
                .await;
        });
    }
}
