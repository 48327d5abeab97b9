//! A scripted user agent, for a service's own tests: logs a demo identity in
//! to a service through the sandbox over real HTTP, as a browser would (the
//! same requests, forms and cookies), without a browser.
//!
//! It starts at the service's gateway (`{service}/auth/login`), picks the
//! identity on the sandbox's page, follows the redirects back, and answers
//! the gateway's birth-date challenge from [`DemoIdentity::challenge`]. What
//! it yields is the service's cookies: send them with the requests under
//! test.
//!
//! ```no_run
//! # async fn example() -> Result<(), educonnect_sandbox::agent::AgentError> {
//! use educonnect_sandbox::{agent::Agent, demo};
//!
//! let parent = demo::identity(demo::FC_PARENT_TWO_ACADEMIES).unwrap();
//! let agent = Agent::log_in("http://127.0.0.1:3000", parent).await?;
//! let page = agent
//!     .client()
//!     .get("http://127.0.0.1:3000/enfants")
//!     .header("cookie", agent.cookie_header())
//!     .send()
//!     .await?;
//! # Ok(()) }
//! ```

use std::fmt;

use reqwest::header::{self, HeaderMap};
use reqwest::{Client, Response, StatusCode};
use url::Url;

use crate::demo::{DemoIdentity, DemoProvider};

/// Where a login is once back at the service.
enum Reached {
    /// The birth-date challenge's form.
    Challenge(Url),
    /// The end of a login that needed none.
    Done(Url),
}

/// How many redirects one step may follow.
const MAX_REDIRECTS: usize = 8;

/// Why a scripted login did not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// A request failed (connection refused, timeout...).
    #[error("request failed: {0}")]
    Http(#[from] reqwest::Error),
    /// An answer was not what a working login gives at that step.
    #[error("{step}: unexpected answer (status {status}): {detail}")]
    Unexpected {
        /// The step: `login`, `picker`, `callback`, `challenge`.
        step: &'static str,
        /// The HTTP status.
        status: u16,
        /// What was wrong (a location, a missing form field).
        detail: String,
    },
}

/// A logged-in user agent: the service's cookies, and where the login
/// ended.
pub struct Agent {
    client: Client,
    service: Url,
    cookies: Vec<(String, String)>,
    landed: String,
}

impl fmt::Debug for Agent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Cookie values are session ids: names only.
        let names: Vec<&str> = self.cookies.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("Agent")
            .field("service", &self.service.as_str())
            .field("cookies", &names)
            .field("landed", &self.landed)
            .finish()
    }
}

impl Agent {
    /// Logs `identity` in to the service at `service` (its base URL, with
    /// the gateway under `/auth`) through the provider the identity belongs
    /// to, and comes back to `/`.
    pub async fn log_in(service: &str, identity: &DemoIdentity) -> Result<Agent, AgentError> {
        Self::log_in_through(service, provider_id(identity), identity).await
    }

    /// [`log_in`](Self::log_in) through the gateway's provider `provider`
    /// (its id in `/auth/login?provider=`), for a provider configured under
    /// another id: `franceconnectplus` for a sandbox in FranceConnect+ mode.
    pub async fn log_in_through(
        service: &str,
        provider: &str,
        identity: &DemoIdentity,
    ) -> Result<Agent, AgentError> {
        let (mut agent, next) = Self::to_challenge(service, provider, identity).await?;
        let next = match next {
            Reached::Challenge(form) => agent.answer_challenge(form, identity, true).await?,
            Reached::Done(next) => next,
        };
        agent.landed = next.path().to_owned();
        Ok(agent)
    }

    /// What an impostor who knows the names but not the dates does: logs
    /// `identity` in up to the gateway's birth-date challenge and answers
    /// every child with a wrong date (a year off the demo answer). Returns
    /// the status of the service's answer and, for a redirect, where it
    /// goes, else its page; `Ok(None)` when the login asked no challenge.
    pub async fn guess_wrong(
        service: &str,
        identity: &DemoIdentity,
    ) -> Result<Option<(StatusCode, String)>, AgentError> {
        let (mut agent, next) =
            Self::to_challenge(service, provider_id(identity), identity).await?;
        let Reached::Challenge(form) = next else {
            return Ok(None);
        };
        let response = agent.post_answers(form, identity, false).await?;
        let status = response.status();
        let detail = match response.headers().get(header::LOCATION) {
            Some(location) => location.to_str().unwrap_or_default().to_owned(),
            None => response.text().await?,
        };
        Ok(Some((status, detail)))
    }

    /// Logs `identity` in up to the challenge, or to the end of a login
    /// that needs none.
    async fn to_challenge(
        service: &str,
        provider: &str,
        identity: &DemoIdentity,
    ) -> Result<(Agent, Reached), AgentError> {
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let service = Url::parse(service).map_err(|e| unexpected("login", 0, e.to_string()))?;
        let mut agent = Agent {
            client,
            service,
            cookies: Vec::new(),
            landed: String::new(),
        };

        // The gateway sends the browser to the provider.
        let login = agent.service_url(&format!("/auth/login?provider={provider}&return_to=%2F"))?;
        let response = agent.get_service(login).await?;
        let authorize = redirect_target(&response, "login")?;

        // The sandbox's picker: one form, one button per identity.
        let picker = agent.client.get(authorize.clone()).send().await?;
        let status = picker.status();
        let html = picker.text().await?;
        if status != StatusCode::OK {
            return Err(unexpected("picker", status.as_u16(), first_line(&html)));
        }
        let request = attribute_after(&html, "name=\"request\" value=\"")
            .ok_or_else(|| unexpected("picker", 200, "no request field".into()))?;
        let action = attribute_after(&html, "<form method=\"post\" action=\"")
            .ok_or_else(|| unexpected("picker", 200, "no form".into()))?;
        let action = authorize
            .join(&action)
            .map_err(|e| unexpected("picker", 200, e.to_string()))?;
        let chosen = agent
            .client
            .post(action)
            .form(&[("request", request.as_str()), ("identity", identity.id)])
            .send()
            .await?;
        let callback = redirect_target(&chosen, "picker")?;

        // Back at the service: a session, or the challenge first.
        let response = agent.get_service(callback).await?;
        let next = redirect_target(&response, "callback")?;
        if next.path() == "/auth/verify" {
            Ok((agent, Reached::Challenge(next)))
        } else {
            Ok((agent, Reached::Done(next)))
        }
    }

    /// The HTTP client it used (no redirects followed, no cookie store).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The service's cookies, as a `Cookie` header value.
    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// The path the login ended on (`/` after a complete login).
    pub fn landed(&self) -> &str {
        &self.landed
    }

    async fn answer_challenge(
        &mut self,
        form_url: Url,
        identity: &DemoIdentity,
        right: bool,
    ) -> Result<Url, AgentError> {
        let response = self.post_answers(form_url, identity, right).await?;
        redirect_target(&response, "challenge")
    }

    /// Reads the challenge form and posts the demo answers (`right`), or
    /// each date a year off.
    async fn post_answers(
        &mut self,
        form_url: Url,
        identity: &DemoIdentity,
        right: bool,
    ) -> Result<Response, AgentError> {
        let response = self.get_service(form_url.clone()).await?;
        let status = response.status();
        let html = response.text().await?;
        if status != StatusCode::OK {
            return Err(unexpected("challenge", status.as_u16(), first_line(&html)));
        }
        let mut answers: Vec<(String, String)> = Vec::new();
        for (i, fieldset) in html.split("<fieldset>").skip(1).enumerate() {
            let answer = identity
                .challenge
                .iter()
                .find(|a| {
                    fieldset.contains(&format!("« {} »", a.initial)) && fieldset.contains(a.school)
                })
                .ok_or_else(|| {
                    unexpected("challenge", 200, format!("no demo answer for child {i}"))
                })?;
            if answer.mine || !right {
                // A wrong answer is a whole date, a year off.
                let (day, month, year) = if right {
                    (answer.day, answer.month, answer.year)
                } else {
                    (answer.day.max(1), answer.month.max(1), answer.year - 1)
                };
                answers.push((format!("day_{i}"), day.to_string()));
                answers.push((format!("month_{i}"), month.to_string()));
                answers.push((format!("year_{i}"), year.to_string()));
            } else {
                answers.push((format!("not_mine_{i}"), "1".into()));
            }
        }
        let origin = self.service.origin().ascii_serialization();
        let response = self
            .client
            .post(form_url)
            .header(header::COOKIE, self.cookie_header())
            .header(header::ORIGIN, origin)
            .form(&answers)
            .send()
            .await?;
        self.keep_cookies(response.headers());
        Ok(response)
    }

    fn service_url(&self, path: &str) -> Result<Url, AgentError> {
        self.service
            .join(path)
            .map_err(|e| unexpected("login", 0, e.to_string()))
    }

    /// A GET to the service with its cookies, following redirects that stay
    /// on the service's own routes under `/auth`, keeping new cookies.
    async fn get_service(&mut self, url: Url) -> Result<Response, AgentError> {
        let mut url = url;
        for _ in 0..MAX_REDIRECTS {
            let response = self
                .client
                .get(url.clone())
                .header(header::COOKIE, self.cookie_header())
                .send()
                .await?;
            self.keep_cookies(response.headers());
            // The gateway's internal hops (`/auth/...` → `/auth/...`) are
            // followed; anything else is for the caller to look at.
            let internal = response
                .headers()
                .get(header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .filter(|next| {
                    response.status().is_redirection()
                        && next.origin() == self.service.origin()
                        && next.path().starts_with("/auth/")
                        && next.path() != "/auth/verify"
                });
            match internal {
                Some(next) => url = next,
                None => return Ok(response),
            }
        }
        Err(unexpected("login", 0, "too many redirects".into()))
    }

    fn keep_cookies(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(header::SET_COOKIE) {
            let Ok(value) = value.to_str() else { continue };
            let pair = value.split(';').next().unwrap_or("");
            let Some((name, cookie)) = pair.split_once('=') else {
                continue;
            };
            let (name, cookie) = (name.trim().to_owned(), cookie.trim().to_owned());
            self.cookies.retain(|(n, _)| *n != name);
            let expired = value
                .split(';')
                .any(|attr| attr.trim().eq_ignore_ascii_case("max-age=0"));
            if !expired && !cookie.is_empty() {
                self.cookies.push((name, cookie));
            }
        }
    }
}

/// The id a gateway gives the provider of `identity` by default.
fn provider_id(identity: &DemoIdentity) -> &'static str {
    match identity.provider() {
        DemoProvider::FranceConnect => "franceconnect",
        DemoProvider::EduConnect => "educonnect",
    }
}

fn unexpected(step: &'static str, status: u16, detail: String) -> AgentError {
    AgentError::Unexpected {
        step,
        status,
        detail,
    }
}

fn redirect_target(response: &Response, step: &'static str) -> Result<Url, AgentError> {
    let status = response.status();
    let location = response
        .headers()
        .get(header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .filter(|_| status.is_redirection())
        .ok_or_else(|| unexpected(step, status.as_u16(), "no redirect".into()))?;
    response
        .url()
        .join(location)
        .map_err(|e| unexpected(step, status.as_u16(), e.to_string()))
}

fn attribute_after(html: &str, before: &str) -> Option<String> {
    let start = html.find(before)? + before.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].replace("&amp;", "&"))
}

fn first_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or("")
        .chars()
        .take(200)
        .collect()
}
