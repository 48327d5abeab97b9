//! `educonnect proxy` as an operator runs it: `--check` exit codes, and a
//! proxy that serves, then stops on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A fresh directory under the system's temporary one.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "educonnect-cli-proxy-{name}-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const VALID: &str = r#"listen = "127.0.0.1:0"
upstream = "http://127.0.0.1:9"

[[rule]]
prefix = "/public"
access = "public"

[[rule]]
prefix = "/"
access = "logged_in"
"#;

fn educonnect(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_educonnect"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn check_exits_0_for_a_usable_file_and_2_with_file_line_and_reason() {
    let dir = scratch("check");
    let good = dir.join("good.toml");
    std::fs::write(&good, VALID).unwrap();
    let output = educonnect(&["proxy", "--config", good.to_str().unwrap(), "--check"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains(": ok: listen 127.0.0.1:0"), "{stdout}");
    assert!(stdout.contains("2 rules"), "{stdout}");

    for (name, text, line, reason) in [
        (
            "unknown.toml",
            VALID.replace("upstream", "upstream_url"),
            2,
            "unknown field `upstream_url`",
        ),
        (
            "url.toml",
            VALID.replace("http://127.0.0.1:9", "127.0.0.1:9"),
            2,
            "upstream",
        ),
        (
            "shadowed.toml",
            format!("{VALID}\n[[rule]]\nprefix = \"/public/x\"\naccess = \"logged_in\"\n"),
            13,
            "can never match: the rule at line 5",
        ),
    ] {
        let file = dir.join(name);
        std::fs::write(&file, text).unwrap();
        let output = educonnect(&["proxy", "--config", file.to_str().unwrap(), "--check"]);
        assert_eq!(output.status.code(), Some(2), "{name}: {output:?}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        let expected = format!("error: {}:{line}:", file.display());
        assert!(stderr.starts_with(&expected), "{name}: {stderr}");
        assert!(stderr.contains(reason), "{name}: {stderr}");
        assert!(output.stdout.is_empty());
    }
    let output = educonnect(&[
        "proxy",
        "--config",
        dir.join("missing.toml").to_str().unwrap(),
        "--check",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The running proxy, stopped even when an assertion fails.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn get(addr: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn the_proxy_serves_on_the_sandbox_and_stops_on_sigterm() {
    let dir = scratch("run");
    let file = dir.join("proxy.toml");
    std::fs::write(&file, VALID).unwrap();
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_educonnect"))
            .args(["proxy", "--config", file.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let line = lines.next().unwrap().unwrap();
    let addr = line
        .strip_prefix("listening on http://")
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();
    // The gateway's routes, on the sandbox's defaults.
    assert!(get(&addr, "/auth/jwks").starts_with("HTTP/1.1 200"));
    let login = get(&addr, "/auth/login?provider=educonnect&return_to=%2F");
    assert!(login.starts_with("HTTP/1.1 303"), "{login}");
    // Anonymous on a logged-in rule: the login; the upstream is down: 502.
    assert!(get(&addr, "/compte").starts_with("HTTP/1.1 303"));
    assert!(get(&addr, "/public/x").starts_with("HTTP/1.1 502"));

    let killed = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(TcpStream::connect(&addr).is_err());
    let _ = std::fs::remove_dir_all(&dir);
}
