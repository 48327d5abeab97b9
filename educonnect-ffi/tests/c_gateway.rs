//! The C HTTP server example (`examples/c/gateway_server.c`), built with
//! `cc` and run against the sandbox over real loopback HTTP: parents log in
//! through it with the sandbox's scripted user agent, and it serves a
//! pupil's page only to those who may act for the pupil. Once as it is,
//! once under valgrind's memcheck.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use educonnect_sandbox::agent::Agent;
use educonnect_sandbox::{Sandbox, SandboxConfig, demo};

struct Server {
    child: Child,
    url: String,
    dir: std::path::PathBuf,
    _sandbox: Sandbox,
}

impl Server {
    async fn start(name: &str, under_valgrind: bool) -> Self {
        let dir = support::scratch(name);
        let binary = support::compile_c_example("gateway_server", &dir);
        let port = support::free_port();
        let url = format!("http://127.0.0.1:{port}");
        let sandbox = Sandbox::start(SandboxConfig::new().gateway(&url))
            .await
            .unwrap();
        // Relative paths are read from the configuration's directory.
        let key = educonnect_core::jose::SigningKey::generate(
            educonnect_core::jose::Algorithm::ES256,
            "c-server",
        )
        .unwrap();
        std::fs::write(dir.join("assertion.jwk.json"), key.to_private_jwk_json()).unwrap();
        let mut settings = support::sandbox_config(&url, &sandbox);
        settings["assertion_key_file"] = "assertion.jwk.json".into();
        let config = dir.join("gateway.json");
        std::fs::write(&config, serde_json::to_vec_pretty(&settings).unwrap()).unwrap();
        let mut command = if under_valgrind {
            support::valgrind(&binary)
        } else {
            Command::new(&binary)
        };
        let mut child = command
            .arg(&config)
            .arg(port.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let first = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).unwrap();
            line
        });
        let line = tokio::time::timeout(Duration::from_secs(120), first)
            .await
            .expect("the server starts within 2 minutes")
            .unwrap();
        assert_eq!(line, format!("listening on 127.0.0.1:{port}\n"));
        Self {
            child,
            url,
            dir,
            _sandbox: sandbox,
        }
    }

    /// Stops the server with SIGTERM; it must exit cleanly (and, under
    /// valgrind, without an error or a leak).
    fn stop(self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let output = self.child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> (u16, String) {
        get(&self.url, path, cookie).await
    }
}

async fn get(base: &str, path: &str, cookie: Option<&str>) -> (u16, String) {
    send(base, reqwest::Method::GET, path, cookie, &[]).await
}

async fn send(
    base: &str,
    method: reqwest::Method,
    path: &str,
    cookie: Option<&str>,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut request = client.request(method, format!("{base}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// What a browser says of a form posted from the service's own pages.
const SAME_ORIGIN: &[(&str, &str)] = &[("sec-fetch-site", "same-origin")];
/// ... and of one posted from another origin of the same site.
const CROSS_SITE: &[(&str, &str)] = &[("sec-fetch-site", "same-site")];

fn pupil(source: &str, id: &str) -> String {
    format!("/eleve?source={}&id={id}", source.replace(':', "%3A"))
}

async fn log_in(server: &Server, identity: &str) -> String {
    let agent = Agent::log_in(&server.url, demo::identity(identity).unwrap())
        .await
        .unwrap();
    assert_eq!(agent.landed(), "/");
    agent.cookie_header()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_c_server_logs_parents_in_and_serves_a_pupil_to_guardians_only() {
    let server = Server::start("c-gateway", false).await;

    // Nobody logged in: no page, and the gateway's own routes answer.
    assert_eq!(server.get(&pupil("aaf:14", "E14-0001"), None).await.0, 401);
    assert_eq!(server.get("/auth/nothing-here", None).await.0, 404);
    let (status, jwks) = server.get("/auth/jwks", None).await;
    assert_eq!(status, 200);
    assert!(jwks.contains("\"kid\":\"c-server\""), "{jwks}");
    assert_eq!(server.get("/ailleurs", None).await.0, 404);

    // Angela DUBOIS, through FranceConnect and the birth-date challenge:
    // her two children, in two academies; not another family's child.
    let angela = log_in(&server, demo::FC_PARENT_TWO_ACADEMIES).await;
    let (status, page) = server
        .get(&pupil("aaf:14", "E14-0001"), Some(&angela))
        .await;
    assert_eq!((status, page.contains("E14-0001")), (200, true), "{page}");
    assert_eq!(
        server
            .get(&pupil("aaf:25", "E25-0001"), Some(&angela))
            .await
            .0,
        200
    );
    assert_eq!(
        server
            .get(&pupil("aaf:25", "E25-0004"), Some(&angela))
            .await
            .0,
        403
    );
    assert_eq!(
        server
            .get(&pupil("aaf:14", "E25-0001"), Some(&angela))
            .await
            .0,
        403
    );
    assert_eq!(
        server
            .get(&pupil("not a source", "E1"), Some(&angela))
            .await
            .0,
        400
    );
    let (status, home) = server.get("/", Some(&angela)).await;
    assert_eq!(status, 200);
    assert!(
        home.contains("<li>aaf:14/E14-0001</li>") && home.contains("<li>aaf:25/E25-0001</li>"),
        "{home}"
    );

    // Signing (a POST) needs legal authority, and the service's own origin.
    let sign = |path: String, cookie: String, headers: &'static [(&'static str, &'static str)]| {
        let base = server.url.clone();
        async move { send(&base, reqwest::Method::POST, &path, Some(&cookie), headers).await }
    };
    let (status, page) = sign(pupil("aaf:14", "E14-0001"), angela.clone(), SAME_ORIGIN).await;
    assert_eq!(
        (status, page.contains("Demande signée")),
        (200, true),
        "{page}"
    );
    assert_eq!(
        sign(pupil("aaf:14", "E14-0001"), angela.clone(), CROSS_SITE)
            .await
            .0,
        401
    );
    assert_eq!(
        sign(pupil("aaf:25", "E25-0004"), angela.clone(), SAME_ORIGIN)
            .await
            .0,
        403
    );

    // Geneviève CŒURDEVEY, a grandmother without legal authority: not
    // under the default policy, the same rule as the Rust adapters.
    let genevieve = log_in(&server, demo::FC_GRANDPARENT_WITHOUT_AUTHORITY).await;
    assert_eq!(
        server
            .get(&pupil("aaf:25", "E25-0004"), Some(&genevieve))
            .await
            .0,
        403
    );

    // Thomas CŒURDEVEY, through EduConnect: his daughter.
    let thomas = log_in(&server, demo::EC_PARENT_ONE_CHILD).await;
    assert_eq!(
        server
            .get(&pupil("aaf:25", "E25-0004"), Some(&thomas))
            .await
            .0,
        200
    );
    assert_eq!(
        server
            .get(&pupil("aaf:14", "E14-0001"), Some(&thomas))
            .await
            .0,
        403
    );

    // Several requests at once, on the server's four threads.
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let path = if i % 2 == 0 {
                pupil("aaf:14", "E14-0001")
            } else {
                pupil("aaf:25", "E25-0004")
            };
            let (base, cookie) = (server.url.clone(), angela.clone());
            tokio::spawn(async move { get(&base, &path, Some(&cookie)).await.0 })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        8,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 403).count(),
        8,
        "{statuses:?}"
    );

    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_c_server_is_clean_under_valgrind() {
    let server = Server::start("c-gateway-valgrind", true).await;
    assert_eq!(server.get(&pupil("aaf:14", "E14-0001"), None).await.0, 401);
    let angela = log_in(&server, demo::FC_PARENT_TWO_ACADEMIES).await;
    assert_eq!(
        server
            .get(&pupil("aaf:14", "E14-0001"), Some(&angela))
            .await
            .0,
        200
    );
    assert_eq!(
        server
            .get(&pupil("aaf:25", "E25-0004"), Some(&angela))
            .await
            .0,
        403
    );
    let thomas = log_in(&server, demo::EC_PARENT_ONE_CHILD).await;
    assert_eq!(
        server
            .get(&pupil("aaf:25", "E25-0004"), Some(&thomas))
            .await
            .0,
        200
    );
    server.stop();
}
