//! Requests per second through the proxy with a session, next to the
//! upstream direct, in the same run.
//!
//! `cargo bench -p educonnect-proxy --bench proxy`
//!
//! In this process: a small upstream (hyper, HTTP/1.1, answers `bonjour`),
//! and the proxy in front of it on the sandbox defaults, its one rule
//! `logged_in`. A parent logs in through the sandbox (EduConnect, two
//! children): every request through the proxy reads and touches the
//! session in the `MemoryStore`, gets the identity headers and the family
//! assertion (cached per session), and is forwarded over a pooled
//! connection. The same request, cookie included, is sent to the upstream
//! direct, and through the proxy on a `public` rule (no session read: the
//! cost of the extra hop alone). Each round runs both for `EDUCONNECT_PROXY_BENCH_SECONDS`
//! (default 3) with `EDUCONNECT_PROXY_BENCH_CONNECTIONS` (default 64)
//! keep-alive connections; rounds (`EDUCONNECT_PROXY_BENCH_ROUNDS`,
//! default 3) interleave the variants so that a change in the machine's load hits
//! all alike. The ratio is the proxy's time per request over the
//! upstream's (the goal: at most 1.3).
#![allow(missing_docs)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use educonnect_proxy::{ProxyConfig, Started};
use educonnect_sandbox::agent::Agent;
use educonnect_sandbox::demo;
use http_body_util::Full;
use hyper_util::rt::TokioIo;

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn upstream() -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|_request| async {
                    Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(
                        Bytes::from_static(b"bonjour"),
                    )))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

/// Requests per second against `url` with `connections` keep-alive
/// connections for `seconds`; every answer must be 200.
async fn measure(url: &str, cookie: &str, connections: u64, seconds: u64) -> f64 {
    let uri: http::Uri = url.parse().unwrap();
    let authority = uri.authority().unwrap().clone();
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut senders = Vec::new();
    for _ in 0..connections {
        let stream = tokio::net::TcpStream::connect(authority.as_str())
            .await
            .unwrap();
        stream.set_nodelay(true).unwrap();
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        senders.push(sender);
    }
    let cookie = cookie.to_owned();
    let request = move || {
        http::Request::get(uri.path())
            .header(http::header::HOST, authority.as_str())
            .header(http::header::COOKIE, cookie.as_str())
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap()
    };
    let start = Instant::now();
    let mut tasks = Vec::new();
    for mut sender in senders {
        let (done, stop, request) = (done.clone(), stop.clone(), request.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let response = sender.send_request(request()).await.unwrap();
                assert_eq!(response.status(), 200);
                http_body_util::BodyExt::collect(response.into_body())
                    .await
                    .unwrap();
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    for task in tasks {
        task.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / elapsed
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then
    // only check that everything answers, briefly.
    let benching = std::env::args().any(|a| a == "--bench");
    let seconds = if benching {
        env_number("EDUCONNECT_PROXY_BENCH_SECONDS", 3)
    } else {
        1
    };
    let connections = env_number("EDUCONNECT_PROXY_BENCH_CONNECTIONS", 64);
    let rounds = if benching {
        env_number("EDUCONNECT_PROXY_BENCH_ROUNDS", 3).max(1)
    } else {
        1
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let upstream = upstream().await;
        let text = format!(
            "listen = \"127.0.0.1:0\"\nupstream = \"http://{upstream}\"\n\n\
             [[rule]]\nprefix = \"/public\"\naccess = \"public\"\n\n\
             [[rule]]\nprefix = \"/\"\naccess = \"logged_in\"\n"
        );
        let config = ProxyConfig::parse(Path::new("bench.toml"), &text).unwrap();
        let started = Started::new(&config).await.unwrap();
        let base = started.public_url.clone();
        tokio::spawn(started.serve(std::future::pending()));
        let parent = Agent::log_in(
            &base,
            demo::identity(demo::EC_PARENT_TWO_ACADEMIES).unwrap(),
        )
        .await
        .unwrap();
        let cookie = parent.cookie_header();

        let variants = [
            ("upstream direct", format!("http://{upstream}/hello")),
            ("proxy, public rule", format!("{base}/public/hello")),
            ("proxy, logged in", format!("{base}/hello")),
        ];
        let mut results: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
        for round in 0..rounds {
            for (i, (name, url)) in variants.iter().enumerate() {
                let rps = measure(url, &cookie, connections, seconds).await;
                println!("round {round}: {name:<20} {rps:>10.0} requests/s");
                results[i].push(rps);
            }
        }
        println!(
            "\n{connections} connections, {seconds} s per measure, {rounds} rounds (medians):"
        );
        for (i, (name, _)) in variants.iter().enumerate() {
            let rps = median(&mut results[i].clone());
            let mut ratios: Vec<f64> = (0..results[i].len())
                .map(|round| results[0][round] / results[i][round])
                .collect();
            println!(
                "{name:<20} {rps:>10.0} requests/s   {:>5.3}x the upstream's time per request",
                median(&mut ratios)
            );
        }
    });
}
