//! A real headless browser for the end-to-end tests: Debian's chromium,
//! driven through chromedriver (WebDriver) by fantoccini, and screenshots
//! of every page under `target/e2e/`.

#![allow(dead_code, reason = "each test binary uses part of it")]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;
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
    /// every button and link, a viewport for phones, nothing wider than the
    /// phone's screen, text contrast to WCAG AA, and a keyboard focus order
    /// that follows the page with a visible focus on every stop.
    pub(crate) async fn assert_accessible(&self, name: &str) {
        self.assert_basics(name).await;
        self.assert_contrast(name).await;
        self.assert_focus_order(name).await;
    }

    async fn script(&self, source: &str) -> serde_json::Value {
        self.client.execute(source, vec![]).await.expect("script")
    }

    async fn assert_basics(&self, name: &str) {
        let problems = self
            .script(
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
            )
            .await;
        let problems: Vec<String> = serde_json::from_value(problems).unwrap();
        assert!(problems.is_empty(), "{name}: {problems:?}");
    }

    /// WCAG 2 AA contrast for every visible text: 4.5:1, 3:1 for large
    /// text (24 px, or 18.66 px bold), against the background actually
    /// behind it (the nearest opaque ancestor background, translucent ones
    /// blended in; white at the root). Text on an image or gradient is not
    /// judged.
    async fn assert_contrast(&self, name: &str) {
        let problems = self
            .script(
                r#"
                const rgba = s => {
                    const m = s.match(/rgba?\(([^)]+)\)/);
                    if (!m) return null;
                    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(Number);
                    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
                };
                const blend = (top, under) =>
                    [0, 1, 2].map(i => top[i] * top[3] + under[i] * (1 - top[3]));
                const luminance = rgb => {
                    const [r, g, b] = rgb.map(c => {
                        c /= 255;
                        return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
                    });
                    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
                };
                const background = element => {
                    const layers = [];
                    for (let e = element; e; e = e.parentElement) {
                        const style = getComputedStyle(e);
                        if (style.backgroundImage !== 'none') return null;
                        const color = rgba(style.backgroundColor);
                        if (color && color[3] > 0) {
                            layers.push(color);
                            if (color[3] >= 1) break;
                        }
                    }
                    let rgb = [255, 255, 255];
                    for (const layer of layers.reverse()) rgb = blend(layer, rgb);
                    return rgb;
                };
                const problems = [];
                for (const element of document.body.querySelectorAll('*')) {
                    const text = [...element.childNodes]
                        .filter(n => n.nodeType === Node.TEXT_NODE)
                        .map(n => n.textContent).join('').trim();
                    if (!text || element.getClientRects().length === 0) continue;
                    const style = getComputedStyle(element);
                    if (style.visibility !== 'visible') continue;
                    const behind = background(element);
                    if (!behind) continue;
                    const color = rgba(style.color);
                    if (!color) {
                        problems.push(`color not understood: ${style.color}`);
                        continue;
                    }
                    const ink = blend(color, behind);
                    const [light, dark] = [luminance(ink), luminance(behind)].sort((a, b) => b - a);
                    const ratio = (light + 0.05) / (dark + 0.05);
                    const size = parseFloat(style.fontSize);
                    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
                    if (ratio < (large ? 3 : 4.5))
                        problems.push(`${ratio.toFixed(2)}:1 for "${text.slice(0, 40)}" (${style.color} on rgb(${behind.map(Math.round)}))`);
                }
                return problems;
                "#,
            )
            .await;
        let problems: Vec<String> = serde_json::from_value(problems).unwrap();
        assert!(problems.is_empty(), "{name}: contrast: {problems:?}");
    }

    /// Presses Tab from the top of the page through every focusable
    /// element: the focus must visit them in the page's order (no positive
    /// `tabindex`, nothing skipped, one stop per radio group) and show a
    /// focus indicator at each stop. Leaves the page as it was, focus aside.
    async fn assert_focus_order(&self, name: &str) {
        let expected = self
            .script(
                r#"
                const focusable = [...document.querySelectorAll(
                    'a[href], button, input:not([type=hidden]), select, textarea, [tabindex]')]
                    .filter(e => !e.disabled && e.tabIndex >= 0 && e.getClientRects().length > 0
                        && getComputedStyle(e).visibility === 'visible');
                const radios = new Set();
                const stops = focusable.filter(e => {
                    if (e.type !== 'radio' || !e.name) return true;
                    if (radios.has(e.name)) return false;
                    radios.add(e.name);
                    return true;
                });
                stops.forEach((e, i) => e.setAttribute('data-focus-stop', String(i)));
                const positive = [...document.querySelectorAll('[tabindex]')]
                    .filter(e => e.tabIndex > 0).map(e => e.outerHTML.slice(0, 60));
                // Start sequential navigation at the top of the body.
                const start = document.createElement('span');
                start.id = 'focus-order-start';
                start.tabIndex = -1;
                document.body.prepend(start);
                start.focus();
                return { stops: stops.length, positive };
                "#,
            )
            .await;
        let positive = &expected["positive"];
        assert_eq!(
            positive,
            &serde_json::json!([]),
            "{name}: positive tabindex reorders the focus"
        );
        let stops = expected["stops"].as_u64().expect("a count");
        let mut problems = Vec::new();
        for stop in 0..stops {
            let tab = KeyActions::new("keyboard".to_owned())
                .then(KeyAction::Down {
                    value: Key::Tab.into(),
                })
                .then(KeyAction::Up {
                    value: Key::Tab.into(),
                });
            self.client.perform_actions(tab).await.expect("Tab");
            let focused = self
                .script(
                    r#"
                    const e = document.activeElement;
                    const style = getComputedStyle(e);
                    const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0)
                        || style.boxShadow !== 'none';
                    return { stop: e.getAttribute('data-focus-stop'), ring,
                             what: e.outerHTML.slice(0, 60) };
                    "#,
                )
                .await;
            if focused["stop"] != serde_json::json!(stop.to_string()) {
                problems.push(format!(
                    "Tab {} reached {} instead of stop {stop}",
                    stop + 1,
                    focused["what"]
                ));
                break;
            }
            if focused["ring"] != serde_json::json!(true) {
                problems.push(format!("no visible focus on {}", focused["what"]));
            }
        }
        self.script(
            r#"
            document.getElementById('focus-order-start')?.remove();
            for (const e of document.querySelectorAll('[data-focus-stop]'))
                e.removeAttribute('data-focus-stop');
            document.activeElement?.blur();
            return null;
            "#,
        )
        .await;
        assert!(problems.is_empty(), "{name}: focus order: {problems:?}");
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

    /// Waits (up to 10 s) for a page whose title starts with `title`,
    /// after a form submission.
    pub(crate) async fn wait_for_title(&self, title: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !self.title().await.starts_with(title) {
            assert!(
                Instant::now() < deadline,
                "expected {title:?}, the browser is on {}: {}",
                self.url().await,
                self.text().await
            );
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
