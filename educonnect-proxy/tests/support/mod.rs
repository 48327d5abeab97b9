//! What the proxy's tests share: a real upstream on loopback that records
//! the headers it is sent (and echoes WebSocket messages), a proxy started
//! from a configuration text as `educonnect proxy` starts it, raw HTTP.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use educonnect_proxy::{ProxyConfig, Started};
use futures_util::{SinkExt, StreamExt};
use http::{HeaderMap, Request, Response, StatusCode, header};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

/// One request as the upstream saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub target: String,
    pub headers: HeaderMap,
}

/// A small application on loopback: answers `upstream {target}` with a
/// header `X-EduConnect-Leak` (the proxy must not pass it on), sleeps
/// 1.5 s on paths containing `slow`, and echoes WebSocket messages on
/// paths ending in `/ws`.
pub struct Upstream {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Upstream {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let recorded = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let recorded = recorded.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| {
                        let recorded = recorded.clone();
                        async move {
                            Ok::<_, std::convert::Infallible>(answer(request, &recorded).await)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades()
                        .await;
                });
            }
        });
        Self { addr, seen }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The headers of the last request for `target` (path and query).
    pub fn last(&self, target: &str) -> Option<HeaderMap> {
        self.seen()
            .into_iter()
            .rev()
            .find(|s| s.target == target)
            .map(|s| s.headers)
    }
}

async fn answer(mut request: Request<Incoming>, seen: &Mutex<Vec<Seen>>) -> Response<Full<Bytes>> {
    let target = request
        .uri()
        .path_and_query()
        .map_or("/".to_owned(), |p| p.as_str().to_owned());
    seen.lock().unwrap().push(Seen {
        target: target.clone(),
        headers: request.headers().clone(),
    });
    if request.uri().path().ends_with("/ws") {
        let key = request
            .headers()
            .get("sec-websocket-key")
            .cloned()
            .unwrap_or_else(|| http::HeaderValue::from_static(""));
        let upgrade = hyper::upgrade::on(&mut request);
        tokio::spawn(async move {
            let Ok(upgraded) = upgrade.await else { return };
            let mut ws =
                WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
            while let Some(Ok(message)) = ws.next().await {
                if message.is_text() || message.is_binary() {
                    if ws.send(message).await.is_err() {
                        break;
                    }
                } else if message.is_close() {
                    break;
                }
            }
        });
        return Response::builder()
            .status(StatusCode::SWITCHING_PROTOCOLS)
            .header(header::UPGRADE, "websocket")
            .header(header::CONNECTION, "Upgrade")
            .header("sec-websocket-accept", derive_accept_key(key.as_bytes()))
            .body(Full::new(Bytes::new()))
            .unwrap();
    }
    if target.contains("slow") {
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    Response::builder()
        .header("x-educonnect-leak", "from the upstream")
        .header("content-type", "text/plain")
        .body(Full::new(Bytes::from(format!("upstream {target}"))))
        .unwrap()
}

/// The rules every test uses, one of each kind.
pub const RULES: &str = r#"
[[rule]]
prefix = "/public"
access = "public"

[[rule]]
prefix = "/eleves/{pupil}"
access = "act_for"

[[rule]]
prefix = "/bulletins"
access = "act_for"
pupil_query = "eleve"

[[rule]]
prefix = "/signature/{pupil}"
access = "legal_authority"

[[rule]]
prefix = "/api"
access = "logged_in"
anonymous = "unauthorized"

[[rule]]
prefix = "/"
access = "logged_in"
"#;

/// A configuration on the sandbox defaults in front of `upstream`.
pub fn config_text(upstream: &Upstream, extra_top: &str) -> String {
    format!(
        "listen = \"127.0.0.1:0\"\nupstream = \"{}\"\n{extra_top}\n{RULES}",
        upstream.url()
    )
}

pub fn parse(text: &str) -> ProxyConfig {
    ProxyConfig::parse(Path::new("test.toml"), text).unwrap()
}

/// A proxy serving in this process, as `educonnect proxy` serves.
pub struct TestProxy {
    pub base: String,
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl TestProxy {
    pub async fn start(config: &ProxyConfig) -> Self {
        let started = Started::new(config).await.unwrap();
        Self::serve(started)
    }

    pub fn serve(started: Started) -> Self {
        let addr = started.local_addr().unwrap();
        let base = started.public_url.clone();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(started.serve(async move {
            let _ = rx.await;
        }));
        Self {
            base,
            addr,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// Asks for a graceful shutdown now; the returned task ends when it is
    /// done.
    pub fn begin_shutdown(&mut self) -> JoinHandle<io::Result<()>> {
        let _ = self.shutdown.take().unwrap().send(());
        self.task.take().unwrap()
    }
}

impl Drop for TestProxy {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// A raw HTTP/1.1 exchange (`Connection: close` is added): the status,
/// the head, the body. For what a URL library would rewrite (dot
/// segments) and header names in odd cases.
pub async fn raw(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut request =
        format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut response))
        .await
        .expect("the proxy answers within 20 s")
        .unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

/// A header's value in a raw head, by name, case-insensitively.
pub fn head_value(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

/// Every `x-educonnect-*` header of `headers`, lowercase name and value.
pub fn identity_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(n, _)| n.as_str().starts_with("x-educonnect-"))
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or("?").to_owned()))
        .collect()
}
