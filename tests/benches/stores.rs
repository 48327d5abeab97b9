//! The stores side by side, on loopback: each `Store` operation on memory,
//! Redis and PostgreSQL; `Gateway::session` on memory and on Redis with
//! 100,000 live sessions (p50 and p99); requests per second of the ENT
//! portal with two replicas on Redis next to one on memory.
//!
//! `cargo bench -p educonnect-tests --bench stores`
//!
//! Uses `EDUCONNECT_TEST_REDIS_URL` and `EDUCONNECT_TEST_DATABASE_URL`
//! (default: the machine's, `redis://127.0.0.1:6379/0` and
//! `postgres://postgres@127.0.0.1:5432/test`), under key prefixes of its
//! own. `EDUCONNECT_BENCH_SESSIONS` sets the number of live sessions
//! (default 100,000), `EDUCONNECT_LOAD_SECONDS` and
//! `EDUCONNECT_LOAD_CONNECTIONS` the load test (3 s, 32 connections).
#![allow(missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use educonnect_core::MemoryStore;
use educonnect_core::flow::{Gateway, LoginStateKey};
use educonnect_core::store::Store;
use educonnect_examples::portal;
use educonnect_postgres::PostgresStore;
use educonnect_redis::RedisStore;
use educonnect_sandbox::agent::Agent;
use educonnect_sandbox::{Sandbox, SandboxConfig, demo, demo_directory};
use educonnect_tests::{Replicas, fresh_prefix};

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// p50 and p99 of `samples`, in microseconds.
fn percentiles(samples: &mut [Duration]) -> (f64, f64) {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize].as_secs_f64() * 1e6;
    (at(0.50), at(0.99))
}

/// The latency of `n` calls of `op`, one after the other.
async fn latencies<F, Fut>(n: usize, mut op: F) -> Vec<Duration>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let start = Instant::now();
        op(i).await;
        samples.push(start.elapsed());
    }
    samples
}

const MINUTE: Duration = Duration::from_secs(60);

async fn store_operations(stores: &[(&str, Arc<dyn Store>)], n: usize) {
    println!("\n## Store operations: p50 / p99 in µs, {n} calls each, one at a time\n");
    print!("| operation |");
    for (name, _) in stores {
        print!(" {name} |");
    }
    println!();
    println!("|---|{}", "---|".repeat(stores.len()));
    let run = fresh_prefix("ops");
    let ops: [&str; 8] = [
        "put_pending",
        "take_pending",
        "mark_used",
        "create_session",
        "read_session",
        "touch_session",
        "increment_counter",
        "get_record",
    ];
    let mut table: Vec<Vec<(f64, f64)>> = vec![Vec::new(); ops.len()];
    for (_, store) in stores {
        let store = store.as_ref();
        let id = |what: &str, i: usize| format!("bench-{run}-{what}-{i}");
        for i in 0..n {
            store.put_record(&id("r", i), vec![7; 300]).await.unwrap();
        }
        let mut rows = Vec::new();
        rows.push(
            latencies(n, |i| async move {
                store
                    .put_pending(&id("p", i), vec![1; 200], MINUTE)
                    .await
                    .unwrap();
            })
            .await,
        );
        rows.push(
            latencies(n, |i| async move {
                store.take_pending(&id("p", i)).await.unwrap().unwrap();
            })
            .await,
        );
        rows.push(
            latencies(n, |i| async move {
                assert!(store.mark_used(&id("u", i), MINUTE).await.unwrap());
            })
            .await,
        );
        rows.push(
            latencies(n, |i| async move {
                store
                    .create_session(&id("s", i), vec![2; 1500], MINUTE)
                    .await
                    .unwrap();
            })
            .await,
        );
        rows.push(
            latencies(n, |i| async move {
                store.read_session(&id("s", i)).await.unwrap().unwrap();
            })
            .await,
        );
        rows.push(
            latencies(n, |i| async move {
                assert!(store.touch_session(&id("s", i), MINUTE).await.unwrap());
            })
            .await,
        );
        rows.push(
            latencies(n, |i| async move {
                store
                    .increment_counter(&id("c", i % 50), MINUTE)
                    .await
                    .unwrap();
            })
            .await,
        );
        rows.push(
            latencies(n, |i| async move {
                store.get_record(&id("r", i)).await.unwrap().unwrap();
            })
            .await,
        );
        for (row, mut samples) in table.iter_mut().zip(rows) {
            row.push(percentiles(&mut samples));
        }
        for i in 0..n {
            store.delete_session(&id("s", i)).await.unwrap();
            store.delete_record(&id("r", i)).await.unwrap();
        }
    }
    for (op, row) in ops.iter().zip(table) {
        print!("| `{op}` |");
        for (p50, p99) in row {
            print!(" {p50:.0} / {p99:.0} |");
        }
        println!();
    }
}

/// A gateway on `store`, its portal served, and `logins` EduConnect
/// parents logged in: their cookies.
async fn gateway_with_sessions(
    store: Arc<dyn Store>,
    logins: usize,
) -> (Gateway, Vec<String>, Sandbox) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let sandbox = Sandbox::start(SandboxConfig::new().gateway(&base))
        .await
        .unwrap();
    let directory = demo_directory().unwrap();
    let gateway = Gateway::builder(&base)
        .unwrap()
        .provider(sandbox.provider_educonnect())
        .store(store)
        .directory(directory.clone())
        .insecure_cookies_for_local_development()
        .build()
        .unwrap();
    let app = portal::app(gateway.clone(), Some(directory));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let parents = [
        demo::EC_PARENT_TWO_ACADEMIES,
        demo::EC_PARENT_ONE_CHILD,
        demo::EC_PARENT_VECTOR_ONLY,
    ];
    let mut cookies = Vec::new();
    for i in 0..logins {
        let identity = demo::identity(parents[i % parents.len()]).unwrap();
        let agent = Agent::log_in(&base, identity).await.unwrap();
        cookies.push(agent.cookie_header());
    }
    (gateway, cookies, sandbox)
}

async fn session_checks(redis_url: &str, live: u64, n: usize) {
    println!(
        "\n## `Gateway::session`: p50 / p99 in µs, {n} checks of 200 real sessions, one at a time\n"
    );
    println!("| store | live sessions | p50 | p99 |");
    println!("|---|---|---|---|");
    let prefix = fresh_prefix("bench-sessions");
    let redis = RedisStore::builder(redis_url)
        .key_prefix(&prefix)
        .connect()
        .await
        .unwrap();
    // Filler: `live` sessions of a realistic size in the same key space.
    let filler = vec![b'x'; 1500];
    let mut pending = Vec::new();
    for i in 0..live {
        let redis = redis.clone();
        let filler = filler.clone();
        pending.push(async move {
            redis
                .create_session(&format!("filler-{i}"), filler, Duration::from_secs(3600))
                .await
                .unwrap();
        });
        if pending.len() == 512 {
            for op in pending.drain(..) {
                op.await;
            }
        }
    }
    for op in pending {
        op.await;
    }
    for (name, store, live) in [
        (
            "memory",
            Arc::new(MemoryStore::new()) as Arc<dyn Store>,
            200,
        ),
        (
            "Redis",
            Arc::new(redis.clone()) as Arc<dyn Store>,
            live + 200,
        ),
    ] {
        let (gateway, cookies, _sandbox) = gateway_with_sessions(store, 200).await;
        let headers: Vec<http::HeaderMap> = cookies
            .iter()
            .map(|c| {
                let mut h = http::HeaderMap::new();
                h.insert(http::header::COOKIE, c.parse().unwrap());
                h
            })
            .collect();
        let gateway = &gateway;
        let headers = &headers;
        let mut samples = latencies(n, |i| async move {
            let session = gateway.session(&headers[i % headers.len()]).await.unwrap();
            assert!(session.is_some());
        })
        .await;
        let (p50, p99) = percentiles(&mut samples);
        println!("| {name} | {live} | {p50:.0} | {p99:.0} |");
    }
    // Leave the machine's Redis as it was.
    let client = redis::Client::open(redis_url).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut connection)
        .await
        .unwrap();
    for chunk in keys.chunks(1000) {
        let _: i64 = redis::cmd("DEL")
            .arg(chunk)
            .query_async(&mut connection)
            .await
            .unwrap();
    }
}

/// Requests per second to `urls` (connections spread over them in turn),
/// each a GET with `cookie`, for `seconds`; every answer must be 200.
async fn requests_per_second(urls: &[String], cookie: &str, connections: u64, seconds: u64) -> f64 {
    let done = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for c in 0..connections {
        let uri: http::Uri = urls[c as usize % urls.len()].parse().unwrap();
        let authority = uri.authority().unwrap().clone();
        let stream = tokio::net::TcpStream::connect(authority.as_str())
            .await
            .unwrap();
        stream.set_nodelay(true).unwrap();
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(connection);
        let (done, stop, cookie) = (done.clone(), stop.clone(), cookie.to_owned());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let request = http::Request::get(uri.path())
                    .header(http::header::HOST, authority.as_str())
                    .header(http::header::COOKIE, cookie.as_str())
                    .body(http_body_util::Empty::<bytes::Bytes>::new())
                    .unwrap();
                let response = sender.send_request(request).await.unwrap();
                assert_eq!(response.status(), 200);
                http_body_util::BodyExt::collect(response.into_body())
                    .await
                    .unwrap();
                done.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    for task in tasks {
        task.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / elapsed
}

async fn portal_throughput(redis_url: &str, connections: u64, seconds: u64) {
    println!(
        "\n## The ENT portal's \"Mes enfants\" page, {connections} keep-alive connections, {seconds} s\n"
    );
    println!("| setup | requests/s |");
    println!("|---|---|");
    let key = || LoginStateKey::new(*b"benchmark replicas share this key!!").unwrap();
    let prefix = fresh_prefix("bench-portal");
    let connect = || async {
        Arc::new(
            RedisStore::builder(redis_url)
                .key_prefix(&prefix)
                .connect()
                .await
                .unwrap(),
        ) as Arc<dyn Store>
    };
    let setups = [
        (
            "one replica, memory",
            vec![Arc::new(MemoryStore::new()) as Arc<dyn Store>],
        ),
        (
            "two replicas, one Redis",
            vec![connect().await, connect().await],
        ),
    ];
    for (name, stores) in setups {
        let replicas = Replicas::start(stores, key()).await;
        let parent = demo::identity(demo::EC_PARENT_TWO_ACADEMIES).unwrap();
        let agent = Agent::log_in(&replicas.public_url, parent).await.unwrap();
        let urls: Vec<String> = replicas
            .replicas
            .iter()
            .map(|r| format!("{r}/enfants"))
            .collect();
        let rps = requests_per_second(&urls, &agent.cookie_header(), connections, seconds).await;
        println!("| {name} | {rps:.0} |");
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not: then
    // everything runs once, briefly, to check it still works.
    let benching = std::env::args().any(|a| a == "--bench");
    let redis_url = env_or("EDUCONNECT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0");
    let database_url = env_or(
        "EDUCONNECT_TEST_DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/test",
    );
    let (n, live, checks, seconds) = if benching {
        (
            5_000,
            env_number("EDUCONNECT_BENCH_SESSIONS", 100_000),
            20_000,
            env_number("EDUCONNECT_LOAD_SECONDS", 3),
        )
    } else {
        (50, 1_000, 200, 1)
    };
    let connections = env_number("EDUCONNECT_LOAD_CONNECTIONS", 32);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let redis = RedisStore::builder(&redis_url)
            .key_prefix(fresh_prefix("bench-ops"))
            .connect()
            .await
            .unwrap();
        let postgres = PostgresStore::connect(&database_url).await.unwrap();
        store_operations(
            &[
                ("memory", Arc::new(MemoryStore::new())),
                ("Redis", Arc::new(redis)),
                ("PostgreSQL", Arc::new(postgres)),
            ],
            n,
        )
        .await;
        session_checks(&redis_url, live, checks).await;
        portal_throughput(&redis_url, connections, seconds).await;
    });
}
