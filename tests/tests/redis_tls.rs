//! `rediss://`: the Redis store over TLS, against a `redis-server` of the
//! test's own with a certificate made for the test (`openssl`).

use std::process::Stdio;
use std::time::Duration;

use educonnect_core::store::Store;
use educonnect_redis::{ConnectError, RedisStore};
use tokio::process::Command;

/// Runs `openssl` with `args` in `dir`.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let status = std::process::Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("openssl (Debian's openssl package)");
    assert!(status.success(), "openssl {args:?}");
}

/// An authority (`ca.pem`) and a server certificate it signed for
/// 127.0.0.1 (`cert.pem`, `key.pem`), in a directory of the test's own.
fn certificates() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("educonnect-redis-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=educonnect test CA",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    );
    openssl(
        &dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "key.pem",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        &dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "server.ext",
            "-out",
            "cert.pem",
        ],
    );
    dir
}

#[tokio::test]
async fn the_store_speaks_tls_and_checks_the_servers_certificate() {
    let dir = certificates();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _server = Command::new("redis-server")
        .args([
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .args(["--tls-port", &port.to_string(), "--tls-auth-clients", "no"])
        .arg("--tls-cert-file")
        .arg(dir.join("cert.pem"))
        .arg("--tls-key-file")
        .arg(dir.join("key.pem"))
        .arg("--tls-ca-cert-file")
        .arg(dir.join("ca.pem"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("redis-server");
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The certificate is not from a root the system trusts: refused.
    let error = RedisStore::builder(format!("rediss://127.0.0.1:{port}/0"))
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(error, ConnectError::Unreachable(_)), "{error:?}");
    // Plain text to a TLS port gets nowhere either.
    assert!(
        RedisStore::builder(format!("redis://127.0.0.1:{port}/0"))
            .connect_timeout(Duration::from_millis(500))
            .response_timeout(Duration::from_millis(500))
            .connect()
            .await
            .is_err()
    );
    // Checked against its own authority, the store works over TLS.
    let pem = std::fs::read(dir.join("ca.pem")).unwrap();
    let store = RedisStore::builder(format!("rediss://127.0.0.1:{port}/0"))
        .root_certificate_pem(pem)
        .connect()
        .await
        .unwrap();
    store
        .create_session("tls", b"claims".to_vec(), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        store.read_session("tls").await.unwrap(),
        Some(b"claims".to_vec())
    );
    std::fs::remove_dir_all(dir).unwrap();
}
