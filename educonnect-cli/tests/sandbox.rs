//! `educonnect sandbox` as a developer runs it: it prints where it listens,
//! the demo client and identities, and answers there until stopped.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The running sandbox, stopped even when an assertion fails.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A GET over plain HTTP/1.1, the whole response as text.
fn get(base: &str, path: &str) -> String {
    let addr = base.strip_prefix("http://").unwrap();
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
fn sandbox_prints_its_settings_and_serves() {
    let mut child = Running(
        Command::new(env!("CARGO_BIN_EXE_educonnect"))
            .args([
                "sandbox",
                "--listen",
                "127.0.0.1:0",
                "--redirect-uri",
                "http://localhost:4000/auth/callback",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        let done = line.starts_with("Ctrl-C");
        printed.push(line);
        if done {
            break;
        }
    }
    let value = |label: &str| {
        printed
            .iter()
            .find_map(|l| l.strip_prefix(label))
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("no {label} in {printed:#?}"))
    };
    let base = value("base URL:");
    let issuer = value("FranceConnect issuer:");
    assert_eq!(issuer, format!("{base}/api/v2"));
    assert_eq!(
        value("redirect URI:"),
        "http://localhost:4000/auth/callback"
    );
    assert!(value("client id:").len() > 8);
    let text = printed.join("\n");
    assert!(text.contains("fc-angela-dubois"), "{text}");
    assert!(
        text.contains("challenge: « É » at Collège Anne de Bretagne: 27/03/2012"),
        "{text}"
    );

    let discovery = get(&base, "/api/v2/.well-known/openid-configuration");
    assert!(discovery.starts_with("HTTP/1.1 200"), "{discovery}");
    assert!(
        discovery.contains(&format!("\"issuer\":\"{issuer}\"")),
        "{discovery}"
    );
}

#[test]
fn sandbox_refuses_a_non_loopback_address() {
    let output = Command::new(env!("CARGO_BIN_EXE_educonnect"))
        .args(["sandbox", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("loopback"));
}
