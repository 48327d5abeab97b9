//! `auth_request` as an operator deploys it: Debian's nginx in front of a
//! small upstream, asking the proxy's `GET /auth/check` about every
//! request, and passing the identity on with `auth_request_set`. Fails
//! (never skips) when nginx is not installed: `apt-get install nginx`, or
//! `scripts/test`.
#![allow(missing_docs)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use educonnect_sandbox::agent::Agent;
use educonnect_sandbox::demo;
use support::{TestProxy, Upstream, config_text, identity_headers, parse, raw};

/// nginx, from the PATH or where Debian puts it.
fn nginx_binary() -> PathBuf {
    let candidates = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/usr/local/sbin")])
        .map(|dir| dir.join("nginx"));
    for candidate in candidates {
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!(
        "nginx is not installed: this test runs Debian's nginx in front of the proxy \
         (`apt-get install -y nginx`, or run scripts/test, which installs it)"
    );
}

/// The running nginx, stopped even when an assertion fails.
struct Nginx {
    child: Child,
    dir: PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The headers nginx copies from the check's answer to the upstream.
const IDENTITY: [&str; 7] = [
    "subject",
    "provider",
    "profile",
    "children",
    "legal_authority",
    "pupil",
    "family_assertion",
];

fn nginx_conf(dir: &Path, port: u16, proxy: u16, upstream: u16) -> String {
    let d = dir.display();
    let mut copy = String::new();
    for name in IDENTITY {
        let header = format!("X-EduConnect-{}", name.replace('_', "-"));
        copy.push_str(&format!(
            "            auth_request_set $ec_{name} $upstream_http_x_educonnect_{name};\n\
             \x20           proxy_set_header {header} $ec_{name};\n"
        ));
    }
    // As root, workers would switch to `nobody`, who cannot write here.
    let user = if is_root() { "user root;\n" } else { "" };
    format!(
        r#"{user}daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;

    server {{
        listen 127.0.0.1:{port};

        # The gateway's routes: login, callback, logout, jwks.
        location /auth/ {{
            proxy_pass http://127.0.0.1:{proxy};
            proxy_set_header Host $http_host;
        }}

        # The check, for nginx only.
        location = /auth/check {{
            internal;
            proxy_pass http://127.0.0.1:{proxy};
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Original-URI $request_uri;
            proxy_set_header X-Original-Method $request_method;
        }}

        location / {{
            auth_request /auth/check;
            auth_request_set $ec_login $upstream_http_location;
            error_page 401 = @login;
{copy}            proxy_pass http://127.0.0.1:{upstream};
        }}

        location @login {{
            return 302 $ec_login;
        }}
    }}
}}
"#
    )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

async fn start_nginx(port: u16, proxy: u16, upstream: u16) -> Nginx {
    let binary = nginx_binary();
    let dir = std::env::temp_dir().join(format!("educonnect-nginx-{}-{port}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("nginx.conf");
    std::fs::write(&conf, nginx_conf(&dir, port, proxy, upstream)).unwrap();
    let child = Command::new(&binary)
        .arg("-p")
        .arg(&dir)
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-c")
        .arg(&conf)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
    let mut nginx = Nginx { child, dir };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return nginx;
        }
        if let Ok(Some(status)) = nginx.child.try_wait() {
            let log = std::fs::read_to_string(nginx.dir.join("error.log")).unwrap_or_default();
            let mut stderr = String::new();
            if let Some(mut e) = nginx.child.stderr.take() {
                let _ = std::io::Read::read_to_string(&mut e, &mut stderr);
            }
            panic!("nginx exited ({status}): {stderr}\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("nginx does not listen on 127.0.0.1:{port}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_auth_request_in_front_of_an_upstream() {
    let upstream = Upstream::start().await;
    let nginx_port = free_port();
    let nginx_base = format!("http://127.0.0.1:{nginx_port}");
    // The proxy answers nginx only; browsers see nginx's URL.
    let config = parse(&config_text(
        &upstream,
        &format!("public_url = \"{nginx_base}\""),
    ));
    let proxy = TestProxy::start(&config).await;
    let _nginx = start_nginx(nginx_port, proxy.addr.port(), upstream.addr.port()).await;
    let nginx_addr: std::net::SocketAddr = format!("127.0.0.1:{nginx_port}").parse().unwrap();

    // Anonymous: public passes without identity (a forged one removed),
    // the rest is sent to the login (401 → @login).
    let forged = [
        ("X-EduConnect-Subject", "forged"),
        ("X-EduConnect-Pupil", "forged"),
    ];
    let (status, head, body) = raw(nginx_addr, "GET", "/public/page", &forged).await;
    assert_eq!(status, 200, "{head}");
    assert_eq!(body, "upstream /public/page");
    assert!(identity_headers(&upstream.last("/public/page").unwrap()).is_empty());
    let (status, head, _) = raw(nginx_addr, "GET", "/compte?x=1", &forged).await;
    assert_eq!(status, 302, "{head}");
    let location = support::head_value(&head, "location").unwrap();
    assert!(
        location.ends_with("/auth/login?return_to=%2Fcompte%3Fx%3D1"),
        "{location}"
    );
    assert!(upstream.last("/compte?x=1").is_none());
    // The check is not reachable from outside.
    let (status, _, _) = raw(nginx_addr, "GET", "/auth/check", &[]).await;
    assert_eq!(status, 404);

    // Logged in through nginx.
    let parent = Agent::log_in(
        &nginx_base,
        demo::identity(demo::EC_PARENT_TWO_ACADEMIES).unwrap(),
    )
    .await
    .unwrap();
    let pupil = Agent::log_in(&nginx_base, demo::identity(demo::EC_PUPIL).unwrap())
        .await
        .unwrap();
    let cookie = parent.cookie_header();
    let with_cookie = [forged[0], forged[1], ("Cookie", cookie.as_str())];
    let (status, head, _) = raw(nginx_addr, "GET", "/compte", &with_cookie).await;
    assert_eq!(status, 200, "{head}");
    let seen = upstream.last("/compte").unwrap();
    assert_eq!(seen.get("x-educonnect-profile").unwrap(), "guardian");
    assert_ne!(seen.get("x-educonnect-subject").unwrap(), "forged");
    assert!(seen.get("x-educonnect-pupil").is_none(), "{seen:?}");
    assert!(seen.get("x-educonnect-family-assertion").is_some());
    let child = seen
        .get("x-educonnect-children")
        .unwrap()
        .to_str()
        .unwrap()
        .split(", ")
        .next()
        .unwrap()
        .to_owned();

    let (status, _, _) = raw(nginx_addr, "GET", &format!("/eleves/{child}"), &with_cookie).await;
    assert_eq!(status, 200);
    let seen = upstream.last(&format!("/eleves/{child}")).unwrap();
    assert_eq!(seen.get("x-educonnect-pupil").unwrap(), child.as_str());

    // Another pupil's page, and legal authority a pupil does not hold: 403.
    let pupil_cookie = pupil.cookie_header();
    let (status, _, _) = raw(nginx_addr, "GET", "/compte", &[("Cookie", &pupil_cookie)]).await;
    assert_eq!(status, 200);
    let maelys = upstream
        .last("/compte")
        .unwrap()
        .get("x-educonnect-children")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let (status, _, _) = raw(
        nginx_addr,
        "GET",
        &format!("/eleves/{maelys}"),
        &with_cookie,
    )
    .await;
    assert_eq!(status, 403);
    assert!(upstream.last(&format!("/eleves/{maelys}")).is_none());
    // nginx normalizes the path for its locations but sends the raw one
    // in X-Original-URI: the check refuses what it could misread.
    for sneaky in [
        format!("/auth/../eleves/{maelys}"),
        format!("/public/../eleves/{maelys}"),
        format!("/auth/%2e%2e/eleves/{maelys}"),
    ] {
        let (status, head, _) = raw(nginx_addr, "GET", &sneaky, &with_cookie).await;
        assert!(matches!(status, 400 | 403 | 404), "{sneaky}: {head}");
    }
    assert!(upstream.last(&format!("/eleves/{maelys}")).is_none());
    let (status, _, _) = raw(
        nginx_addr,
        "GET",
        &format!("/signature/{maelys}"),
        &[("Cookie", &pupil_cookie)],
    )
    .await;
    assert_eq!(status, 403);
    let (status, _, _) = raw(
        nginx_addr,
        "GET",
        &format!("/bulletins?eleve={maelys}"),
        &[("Cookie", &pupil_cookie)],
    )
    .await;
    assert_eq!(status, 200);
}
