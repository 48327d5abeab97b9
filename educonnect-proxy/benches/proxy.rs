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
//! cost of our hop without a session). Two reference rows are the floor of
//! a reverse proxy here, forwarding to the same upstream with nothing of
//! EduConnect (no session, no rules, no header work: only the target
//! rewritten), `TCP_NODELAY` on both sides, hyper-util's `auto` server with
//! upgrades as ours: "bare proxy" with hyper-util's pooled legacy client
//! (the usual way, and what ours used before), "bare, our pool" with the
//! proxy's own upstream connections (`internal::Upstream`), what ours uses.
//!
//! Each round runs every variant for `EDUCONNECT_PROXY_BENCH_SECONDS`
//! (default 3) with `EDUCONNECT_PROXY_BENCH_CONNECTIONS` (default 64)
//! keep-alive connections; rounds (`EDUCONNECT_PROXY_BENCH_ROUNDS`,
//! default 3) interleave the variants so that a change in the machine's load hits
//! all alike. The ratios are a variant's time per request over the
//! upstream's (the goal: at most 1.3) and over each floor's (what is ours).
//! The CPU time per request is the whole process's (load generator,
//! upstream, proxies) over the requests of the measure: less sensitive to
//! other work on the machine than requests per second.
//!
//! Instruction counts, under callgrind: `EDUCONNECT_PROXY_BENCH_REQUESTS=N`
//! sends exactly N requests on each connection instead of running for a
//! time, `EDUCONNECT_PROXY_BENCH_ONLY=logged` keeps only the variants
//! whose name holds that; two runs with different N, their difference over
//! the requests, give the instructions per request without the setup.
#![allow(missing_docs)]

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use educonnect_proxy::internal::Upstream;
use educonnect_proxy::{ProxyConfig, Started};
use educonnect_sandbox::agent::Agent;
use educonnect_sandbox::demo;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;

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

/// The floor: a reverse proxy with the stack of ours and nothing else. It
/// rewrites the target to the upstream (the legacy client wants an
/// absolute URI) and hands the answer back as it comes.
async fn bare_proxy(upstream: std::net::SocketAddr) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client: Client<HttpConnector, Incoming> = Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .build(connector);
    let origin: Arc<str> = format!("http://{upstream}").into();
    tokio::spawn(async move {
        let builder = auto::Builder::new(TokioExecutor::new());
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let (client, origin) = (client.clone(), origin.clone());
            let service =
                hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
                    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
                    *request.uri_mut() = format!("{origin}{path}").parse().unwrap();
                    client.request(request)
                });
            let connection = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .into_owned();
            tokio::spawn(connection);
        }
    });
    addr
}

/// The floor on the proxy's own upstream connections: the same server, the
/// same pool as ours, nothing else.
async fn bare_proxy_our_pool(upstream: std::net::SocketAddr) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let pool = Upstream::new(upstream.to_string());
    tokio::spawn(async move {
        let builder = auto::Builder::new(TokioExecutor::new());
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let pool = pool.clone();
            let service =
                hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
                    let pool = pool.clone();
                    let path = request.uri().path_and_query().cloned();
                    *request.uri_mut() =
                        path.map_or_else(|| http::Uri::from_static("/"), http::Uri::from);
                    async move { pool.send(request).await }
                });
            let connection = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .into_owned();
            tokio::spawn(connection);
        }
    });
    addr
}

/// The CPU time this process has used so far (all threads, user and
/// system), from `/proc/self/stat`, in clock ticks of 10 ms; `None` where
/// there is no procfs.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // After the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
    let utime: f64 = fields.nth(11)?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// How long each measure runs.
#[derive(Clone, Copy)]
enum Length {
    Seconds(u64),
    /// This many requests on each connection (for instruction counts
    /// under callgrind, where time means nothing).
    Requests(u64),
}

/// One measure: requests per second, and the CPU time of the whole process
/// (load generator, upstream, proxy) per request, in microseconds.
struct Measure {
    per_second: f64,
    cpu_micros: Option<f64>,
    requests: u64,
}

/// Requests against `url` with `connections` keep-alive connections for
/// `length`; every answer must be 200.
async fn measure(url: &str, cookie: &str, connections: u64, length: Length) -> Measure {
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
    let per_connection = match length {
        Length::Seconds(_) => u64::MAX,
        Length::Requests(n) => n,
    };
    let cpu_start = process_cpu_seconds();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for mut sender in senders {
        let (done, stop, request) = (done.clone(), stop.clone(), request.clone());
        tasks.push(tokio::spawn(async move {
            let mut sent = 0;
            while sent < per_connection && !stop.load(Ordering::Relaxed) {
                let response = sender.send_request(request()).await.unwrap();
                assert_eq!(response.status(), 200);
                http_body_util::BodyExt::collect(response.into_body())
                    .await
                    .unwrap();
                done.fetch_add(1, Ordering::Relaxed);
                sent += 1;
            }
        }));
    }
    if let Length::Seconds(seconds) = length {
        tokio::time::sleep(Duration::from_secs(seconds)).await;
        stop.store(true, Ordering::Relaxed);
    }
    let mut elapsed = start.elapsed().as_secs_f64();
    for task in tasks {
        task.await.unwrap();
    }
    if let Length::Requests(_) = length {
        elapsed = start.elapsed().as_secs_f64();
    }
    let cpu = process_cpu_seconds()
        .zip(cpu_start)
        .map(|(end, start)| end - start);
    let requests = done.load(Ordering::Relaxed);
    Measure {
        per_second: requests as f64 / elapsed,
        cpu_micros: cpu.map(|cpu| cpu * 1e6 / requests.max(1) as f64),
        requests,
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then
    // only check that everything answers, briefly.
    let benching = std::env::args().any(|a| a == "--bench");
    let length = match std::env::var("EDUCONNECT_PROXY_BENCH_REQUESTS") {
        Ok(n) => Length::Requests(
            n.parse()
                .expect("EDUCONNECT_PROXY_BENCH_REQUESTS: a number"),
        ),
        Err(_) if benching => Length::Seconds(env_number("EDUCONNECT_PROXY_BENCH_SECONDS", 3)),
        Err(_) => Length::Seconds(1),
    };
    let connections = env_number("EDUCONNECT_PROXY_BENCH_CONNECTIONS", 64);
    let rounds = if benching {
        env_number("EDUCONNECT_PROXY_BENCH_ROUNDS", 3).max(1)
    } else {
        1
    };
    // Only the variants whose name holds this (for a profile of one).
    let only = std::env::var("EDUCONNECT_PROXY_BENCH_ONLY").unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let upstream = upstream().await;
        let bare = bare_proxy(upstream).await;
        let bare_ours = bare_proxy_our_pool(upstream).await;
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
            ("bare proxy", format!("http://{bare}/hello")),
            ("bare, our pool", format!("http://{bare_ours}/hello")),
            ("proxy, public rule", format!("{base}/public/hello")),
            ("proxy, logged in", format!("{base}/hello")),
        ];
        let variants: Vec<_> = variants
            .into_iter()
            .filter(|(name, _)| name.contains(only.as_str()))
            .collect();
        let mut results: Vec<Vec<Measure>> = variants.iter().map(|_| Vec::new()).collect();
        for round in 0..rounds {
            for (i, (name, url)) in variants.iter().enumerate() {
                let m = measure(url, &cookie, connections, length).await;
                print!(
                    "round {round}: {name:<20} {:>10.0} requests/s",
                    m.per_second
                );
                match m.cpu_micros {
                    Some(cpu) => println!(" {cpu:>7.1} µs CPU/request ({} requests)", m.requests),
                    None => println!(" ({} requests)", m.requests),
                }
                results[i].push(m);
            }
        }
        match length {
            Length::Seconds(seconds) => println!(
                "\n{connections} connections, {seconds} s per measure, {rounds} rounds (medians):"
            ),
            Length::Requests(n) => println!(
                "\n{connections} connections, {n} requests each per measure, {rounds} rounds (medians):"
            ),
        }
        // Each ratio is the median of the rounds' ratios (both rows of a
        // ratio from the same round).
        let ratio = |i: usize, reference: usize| {
            let mut ratios: Vec<f64> = (0..rounds as usize)
                .map(|round| results[reference][round].per_second / results[i][round].per_second)
                .collect();
            median(&mut ratios)
        };
        let compared = variants.len() == 5;
        for (i, (name, _)) in variants.iter().enumerate() {
            let rps = median(&mut results[i].iter().map(|m| m.per_second).collect::<Vec<_>>());
            let cpu: Option<Vec<f64>> = results[i].iter().map(|m| m.cpu_micros).collect();
            print!("{name:<20} {rps:>10.0} requests/s");
            if let Some(mut cpu) = cpu {
                print!(" {:>7.1} µs CPU/request", median(&mut cpu));
            }
            if compared {
                print!(
                    "   {:>5.3}x direct, {:>5.3}x bare, {:>5.3}x bare on our pool (time per request)",
                    ratio(i, 0),
                    ratio(i, 1),
                    ratio(i, 2)
                );
            }
            println!();
        }
    });
}
