//! The connections to the upstream: kept alive and reused, and a
//! connection that the upstream closed while idle costs no request.
#![allow(missing_docs)]

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{Response, StatusCode};
use http_body_util::Full;
use hyper_util::rt::TokioIo;
use support::{TestProxy, parse, raw};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn config(upstream: std::net::SocketAddr) -> String {
    format!(
        "listen = \"127.0.0.1:0\"\nupstream = \"http://{upstream}\"\n\n\
         [[rule]]\nprefix = \"/\"\naccess = \"public\"\n"
    )
}

/// A keep-alive upstream that counts the connections it accepts: a body on
/// `/body`, none (204) elsewhere.
async fn counting_upstream() -> (std::net::SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|request: http::Request<_>| async move {
                    let mut response = Response::new(Full::new(Bytes::from_static(b"a body")));
                    if request.uri().path() != "/body" {
                        *response.body_mut() = Full::new(Bytes::new());
                        *response.status_mut() = StatusCode::NO_CONTENT;
                    }
                    Ok::<_, std::convert::Infallible>(response)
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, accepted)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_upstream_connection_serves_request_after_request() {
    let (upstream, accepted) = counting_upstream().await;
    let proxy = TestProxy::start(&parse(&config(upstream))).await;
    for _ in 0..10 {
        let (status, head, body) = raw(proxy.addr, "GET", "/body", &[]).await;
        assert_eq!(status, 200, "{head}");
        assert_eq!(body, "a body");
    }
    // Read to its end, each answer gave its connection back before the
    // client saw that end.
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
    for _ in 0..5 {
        let (status, head, _) = raw(proxy.addr, "GET", "/empty", &[]).await;
        assert_eq!(status, 204, "{head}");
        // An answer without a body may be dropped unread: its connection
        // goes back once hyper is done with it, a moment later.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_the_upstream_closed_while_idle_costs_no_request() {
    // Answers one request per connection, then closes it without saying
    // so (no `Connection: close`), as an upstream's idle timeout does.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let upstream = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                    .await;
                let _ = stream.shutdown().await;
            });
        }
    });
    let proxy = TestProxy::start(&parse(&config(upstream))).await;
    for _ in 0..5 {
        let (status, head, body) = raw(proxy.addr, "GET", "/x", &[]).await;
        assert_eq!(status, 200, "{head}");
        assert_eq!(body, "ok");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
