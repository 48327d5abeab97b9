//! A real headless browser for the end-to-end tests: Debian's chromium,
//! driven through chromedriver (WebDriver) by fantoccini, and screenshots
//! of every page under `target/e2e/`.

#![allow(dead_code, reason = "each test binary uses part of it")]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

/// The browser and its driver process (killed on drop).
pub(crate) struct Browser {
    pub(crate) client: Client,
    driver: Child,
    shots: PathBuf,
    _profile: TempDir,
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tool(env: &str, names: &[&str]) -> PathBuf {
    if let Some(path) = std::env::var_os(env) {
        return PathBuf::from(path);
    }
    for name in names {
        for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "{} not found (set {env}): the browser tests need Debian's chromium and chromium-driver \
         (`apt-get install chromium chromium-driver`; scripts/test installs them)",
        names[0]
    );
}

impl Browser {
    /// Starts chromedriver on a free port and a headless chromium sized like
    /// a phone. Screenshots of test `name` go to `target/e2e/<name>/`.
    pub(crate) async fn start(name: &str) -> Browser {
        let chromium = tool("CHROMIUM", &["chromium", "chromium-browser"]);
        let chromedriver = tool("CHROMEDRIVER", &["chromedriver"]);
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let target = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .parent()
            .expect("target/tmp has a parent")
            .to_owned();
        let profile = target
            .join("tmp")
            .join(format!("chromium-{name}-{}", std::process::id()));
        let shots = target.join("e2e").join(name);
        std::fs::create_dir_all(&shots).unwrap();
        let capabilities = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                // Headless, as root in a container, with no traffic of
                // its own (the machine's network is closed): what the
                // tests see is only what the services serve.
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=412,915",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        });
        let capabilities = match capabilities {
            serde_json::Value::Object(map) => map,
            _ => unreachable!(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        let client = loop {
            // chromedriver speaks plain HTTP on loopback: no TLS stack.
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            let attempt = ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await;
            match attempt {
                Ok(client) => break client,
                Err(e) if Instant::now() > deadline => panic!("chromium did not start: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        };
        Browser {
            client,
            driver,
            shots,
            _profile: TempDir(profile),
        }
    }

    /// Saves a PNG of the page as `target/e2e/<test>/<name>.png`, after
    /// checking the page's basic accessibility.
    pub(crate) async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
        self.assert_accessible(name).await;
    }

    /// What every page must have, checked in the rendered page: French as
    /// its language, a title, one `h1`, a label for every field, a name for
    /// every button and link, a viewport for phones, and nothing wider than
    /// the phone's screen.
    pub(crate) async fn assert_accessible(&self, name: &str) {
        let problems = self
            .client
            .execute(
                r#"
                const problems = [];
                if (document.documentElement.lang !== 'fr') problems.push('lang is not fr');
                if (!document.title.trim()) problems.push('no title');
                const h1 = document.querySelectorAll('h1').length;
                if (h1 !== 1) problems.push(h1 + ' h1');
                if (!document.querySelector('meta[name=viewport]')) problems.push('no viewport');
                for (const field of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
                    const labelled = (field.id && document.querySelector('label[for="' + field.id + '"]'))
                        || field.getAttribute('aria-label') || field.closest('label');
                    if (!labelled) problems.push('field without a label: ' + (field.name || field.id));
                }
                for (const control of document.querySelectorAll('button, a[href]')) {
                    const name = (control.innerText || control.getAttribute('aria-label') || control.title || '').trim();
                    if (!name) problems.push('control without a name: ' + control.outerHTML.slice(0, 80));
                }
                if (document.documentElement.scrollWidth > window.innerWidth + 1)
                    problems.push('wider than the screen: ' + document.documentElement.scrollWidth);
                return problems;
                "#,
                vec![],
            )
            .await
            .expect("script");
        let problems: Vec<String> = serde_json::from_value(problems).unwrap();
        assert!(problems.is_empty(), "{name}: {problems:?}");
    }

    pub(crate) async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigation");
    }

    pub(crate) async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on the page: {e}"))
            .click()
            .await
            .expect("click");
    }

    /// The page's visible text.
    pub(crate) async fn text(&self) -> String {
        self.client
            .find(Locator::Css("body"))
            .await
            .expect("a body")
            .text()
            .await
            .expect("text")
    }

    pub(crate) async fn title(&self) -> String {
        self.client.title().await.expect("title")
    }

    /// Waits (up to 10 s) for the browser to be on `path`, after a click
    /// that navigates; saves the page as `unexpected-<path>` otherwise.
    pub(crate) async fn wait_for_path(&self, path: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let url = self.url().await;
            if url.path() == path {
                return;
            }
            if Instant::now() > deadline {
                self.screenshot(&format!("unexpected{}", path.replace('/', "-")))
                    .await;
                panic!(
                    "expected {path}, the browser is on {url}: {}",
                    self.text().await
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) async fn url(&self) -> url::Url {
        self.client.current_url().await.expect("url")
    }

    pub(crate) async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}
