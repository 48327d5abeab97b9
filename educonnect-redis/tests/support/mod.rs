//! What the Redis tests share: the machine's Redis from the environment, and
//! a Redis server of a test's own, on a free loopback port, for the tests
//! that stop it.

#![allow(dead_code)]

use std::net::TcpListener;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

/// The variable `.ci/run` sets to the machine's Redis.
pub(crate) const REDIS_URL_VAR: &str = "EDUCONNECT_TEST_REDIS_URL";

/// The machine's Redis: `None` (with one line saying so) when the variable
/// is not set, as on a laptop. When it is set, the tests use it and fail if
/// it cannot be reached: never a silent skip in CI.
pub(crate) fn shared_redis_url() -> Option<String> {
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

/// A Redis server of the test's own, killed on drop.
pub(crate) struct OwnRedis {
    pub(crate) port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    /// Starts `redis-server` (or `$REDIS_SERVER`) on a free loopback port,
    /// keeping nothing on disk, and waits until it answers.
    pub(crate) async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut own = Self { port, child: None };
        own.restart().await;
        own
    }

    /// The URL of this server.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Kills the server (as a crash would: no shutdown, no save).
    pub(crate) async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }

    /// Starts the server again on the same port.
    pub(crate) async fn restart(&mut self) {
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
