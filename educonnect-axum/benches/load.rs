//! Load test on loopback: requests per second through the session layer
//! with a valid session, next to the same handler without the layer, in the
//! same run.
//!
//! `cargo bench -p educonnect-axum --bench load`
//!
//! Three servers in this process, each on its own loopback port: the handler
//! alone; the handler behind `SessionLayer` (the session is read and touched
//! in the `MemoryStore` on every request); the same with the `CurrentUser`
//! extractor in the handler. A logged-in pupil's cookie (a real login
//! through the sandbox) is sent to all three, so requests are the same
//! bytes. Each round runs every variant for `EDUCONNECT_LOAD_SECONDS`
//! (default 3) with `EDUCONNECT_LOAD_CONNECTIONS` (default 32) keep-alive
//! connections; the rounds (`EDUCONNECT_LOAD_ROUNDS`, default 3) interleave
//! the variants so that a change in the machine's load hits them alike.
#![allow(missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use educonnect_axum::{CurrentUser, SessionLayer, routes};
use educonnect_core::MemoryStore;
use educonnect_core::flow::Gateway;
use educonnect_sandbox::agent::Agent;
use educonnect_sandbox::{Sandbox, SandboxConfig, demo, demo_directory};

async fn hello() -> &'static str {
    "bonjour"
}

async fn hello_user(CurrentUser(_user): CurrentUser) -> &'static str {
    "bonjour"
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Requests per second against `url` with `connections` concurrent
/// keep-alive connections for `seconds`; every answer must be 200.
///
/// The client is as light as can be (one hyper HTTP/1.1 connection per
/// task, the request built once), so that the figures are mostly the
/// server's work.
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
        let (sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
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
            .body(http_body_util::Empty::<bytes::Bytes>::new())
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
        env_number("EDUCONNECT_LOAD_SECONDS", 3)
    } else {
        1
    };
    let connections = env_number("EDUCONNECT_LOAD_CONNECTIONS", 32);
    let rounds = if benching {
        env_number("EDUCONNECT_LOAD_ROUNDS", 3).max(1)
    } else {
        1
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let sandbox = Sandbox::start(SandboxConfig::new().gateway(&base))
            .await
            .unwrap();
        let gateway = Gateway::builder(&base)
            .unwrap()
            .provider(sandbox.provider_educonnect())
            .store(Arc::new(MemoryStore::new()))
            .directory(demo_directory().unwrap())
            .insecure_cookies_for_local_development()
            .build()
            .unwrap();
        let layered = Router::new()
            .route("/hello", get(hello))
            .route("/hello-user", get(hello_user))
            .merge(routes(gateway.clone()))
            .layer(SessionLayer::new(gateway));
        tokio::spawn(async move { axum::serve(listener, layered).await.unwrap() });
        let plain = serve(Router::new().route("/hello", get(hello))).await;

        let pupil = Agent::log_in(&base, demo::identity(demo::EC_PUPIL).unwrap())
            .await
            .unwrap();
        let cookie = pupil.cookie_header();

        let variants = [
            ("handler alone", format!("{plain}/hello")),
            ("SessionLayer", format!("{base}/hello")),
            ("SessionLayer + CurrentUser", format!("{base}/hello-user")),
        ];
        let mut results: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
        for round in 0..rounds {
            for (i, (name, url)) in variants.iter().enumerate() {
                let rps = measure(url, &cookie, connections, seconds).await;
                println!("round {round}: {name:<28} {rps:>10.0} requests/s");
                results[i].push(rps);
            }
        }
        // Each round's ratio to the handler alone in the same round, then
        // the median over rounds: a change in the machine's load between
        // rounds does not pass for a cost of the layer.
        println!(
            "\n{connections} connections, {seconds} s per measure, {rounds} rounds (medians):"
        );
        for (i, (name, _)) in variants.iter().enumerate() {
            let rps = median(&mut results[i].clone());
            let mut ratios: Vec<f64> = (0..results[i].len())
                .map(|round| results[0][round] / results[i][round])
                .collect();
            println!(
                "{name:<28} {rps:>10.0} requests/s   {:>5.3}x the handler alone's time per request",
                median(&mut ratios)
            );
        }
        drop(sandbox);
    });
}
