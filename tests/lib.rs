//! Support for the workspace's end-to-end suites (`tests/*.rs`): replicas of
//! the ENT portal example behind a round-robin load balancer, on shared
//! stores, all over real HTTP on loopback.

use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use educonnect_core::filiation::AuditSink;
use educonnect_core::flow::{Gateway, LoginStateKey};
use educonnect_core::store::Store;
use educonnect_examples::portal;
use educonnect_sandbox::{Sandbox, SandboxConfig};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

/// The variable `.ci/run` sets to the machine's Redis.
pub const REDIS_URL_VAR: &str = "EDUCONNECT_TEST_REDIS_URL";

/// The machine's Redis: `None` (with one line saying so) when the variable
/// is not set, as on a laptop; set, the suites use it and fail if it cannot
/// be reached.
pub fn shared_redis_url() -> Option<String> {
    match std::env::var(REDIS_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!(
                "skipped: {REDIS_URL_VAR} is not set (.ci/run sets it to the machine's Redis)"
            );
            None
        }
    }
}

/// The variable `.ci/run` sets to the machine's PostgreSQL.
pub const DATABASE_URL_VAR: &str = "EDUCONNECT_TEST_DATABASE_URL";

/// The machine's PostgreSQL, as [`shared_redis_url`] does Redis.
pub fn shared_database_url() -> Option<String> {
    match std::env::var(DATABASE_URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!(
                "skipped: {DATABASE_URL_VAR} is not set (.ci/run sets it to the machine's PostgreSQL)"
            );
            None
        }
    }
}

/// An audit sink that passes every event on to another and counts the
/// birth-date challenges passed: how a test tells whether a login was asked
/// to prove the family link again.
#[derive(Debug)]
pub struct CountingAudit {
    inner: Arc<dyn AuditSink>,
    verified: AtomicUsize,
}

impl CountingAudit {
    /// Counting, and passing events on to `inner`.
    pub fn new(inner: Arc<dyn AuditSink>) -> Self {
        Self {
            inner,
            verified: AtomicUsize::new(0),
        }
    }

    /// How many challenges were passed.
    pub fn verified(&self) -> usize {
        self.verified.load(Ordering::Relaxed)
    }
}

impl AuditSink for CountingAudit {
    fn record(&self, event: &educonnect_core::filiation::AuditEvent) {
        if matches!(
            event,
            educonnect_core::filiation::AuditEvent::VerificationSucceeded { .. }
        ) {
            self.verified.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.record(event);
    }
}

/// A Redis server of the test's own, killed on drop.
pub struct OwnRedis {
    /// Its loopback port.
    pub port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    /// Starts `redis-server` (or `$REDIS_SERVER`) on a free loopback port,
    /// keeping nothing on disk, and waits until it answers.
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut own = Self { port, child: None };
        own.restart().await;
        own
    }

    /// The URL of this server.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Kills the server (as a crash would: no shutdown, no save).
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }

    /// Starts the server again on the same port.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "the server is running");
        let program = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
        let child = Command::new(&program)
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                &std::env::temp_dir().to_string_lossy(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {program} (Debian's redis-server package): {e}")
            });
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server did not listen on port {}", self.port);
    }
}

/// A key prefix no other run uses, so runs can share one Redis.
pub fn fresh_prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("educonnect-e2e:{test}:{}:{nanos:x}:", std::process::id())
}

/// Replicas of the portal behind one public address, as a load balancer
/// would put them: each request goes to the next replica in turn.
pub struct Replicas {
    /// The public URL (the load balancer's).
    pub public_url: String,
    /// Each replica's own URL, to address one directly.
    pub replicas: Vec<String>,
    /// How many requests each replica served through the balancer.
    served: Arc<Vec<AtomicUsize>>,
    _sandbox: Sandbox,
}

impl Replicas {
    /// Starts the sandbox, `stores.len()` portal replicas (replica `i` on
    /// `stores[i]`, all with `key`) and the balancer in front of them.
    pub async fn start(stores: Vec<Arc<dyn Store>>, key: LoginStateKey) -> Self {
        Self::start_with_audit(stores, key, None, "educonnect-e2e").await
    }

    /// The same, every replica reporting to `audit` when given, the service
    /// being the sandbox's client `client_id` (the sandbox's `sub`s are per
    /// client: a new client id is a new person to the service, whatever a
    /// database kept from an earlier run).
    pub async fn start_with_audit(
        stores: Vec<Arc<dyn Store>>,
        key: LoginStateKey,
        audit: Option<Arc<dyn AuditSink>>,
        client_id: &str,
    ) -> Self {
        let balancer = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let public_url = format!("http://{}", balancer.local_addr().unwrap());
        let sandbox = Sandbox::start(
            SandboxConfig::new()
                .client(client_id, "e2e-client-secret")
                .gateway(&public_url),
        )
        .await
        .unwrap();
        let directory = educonnect_sandbox::demo_directory().unwrap();
        let mut replicas = Vec::new();
        for store in stores {
            let mut gateway = Gateway::builder(&public_url)
                .unwrap()
                .store(store)
                .login_state_key(key.clone())
                .provider(sandbox.provider_franceconnect())
                .provider(sandbox.provider_educonnect())
                .directory(directory.clone())
                .act_for_policy(portal::ACT_FOR_POLICY)
                .insecure_cookies_for_local_development();
            if let Some(audit) = &audit {
                gateway = gateway.audit_sink(audit.clone());
            }
            let gateway = gateway.build().unwrap();
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr: SocketAddr = listener.local_addr().unwrap();
            let app = portal::app(gateway, Some(directory.clone()));
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            replicas.push(format!("http://{addr}"));
        }
        let served: Arc<Vec<AtomicUsize>> =
            Arc::new(replicas.iter().map(|_| AtomicUsize::new(0)).collect());
        let state = Balancer {
            replicas: replicas.clone(),
            next: Arc::new(AtomicUsize::new(0)),
            served: served.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        };
        let app = Router::new().fallback(forward).with_state(state);
        tokio::spawn(async move { axum::serve(balancer, app).await.unwrap() });
        Self {
            public_url,
            replicas,
            served,
            _sandbox: sandbox,
        }
    }

    /// How many requests replica `i` served through the balancer.
    pub fn served(&self, i: usize) -> usize {
        self.served[i].load(Ordering::Relaxed)
    }
}

#[derive(Clone)]
struct Balancer {
    replicas: Vec<String>,
    next: Arc<AtomicUsize>,
    served: Arc<Vec<AtomicUsize>>,
    client: reqwest::Client,
}

/// Sends the request to the next replica, as it came (method, path and
/// query, headers, body), and its answer back as it came.
async fn forward(State(balancer): State<Balancer>, request: Request) -> Response {
    let i = balancer.next.fetch_add(1, Ordering::Relaxed) % balancer.replicas.len();
    balancer.served[i].fetch_add(1, Ordering::Relaxed);
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut upstream = balancer
        .client
        .request(parts.method, format!("{}{path}", balancer.replicas[i]))
        .body(body);
    for (name, value) in &parts.headers {
        if name != "host" {
            upstream = upstream.header(name, value);
        }
    }
    let answer = upstream.send().await.unwrap();
    let mut response = Response::builder().status(answer.status());
    for (name, value) in answer.headers() {
        // The body is whole: its length is set again below.
        if name != "content-length" && name != "transfer-encoding" {
            response = response.header(name, value);
        }
    }
    response
        .body(Body::from(answer.bytes().await.unwrap()))
        .unwrap()
}
