//! The configuration file: TOML, every key known (an unknown one is an
//! error, not a silent default), every value checked before the proxy
//! starts, each error named by file, line, column and reason.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use educonnect_core::filiation::ActForPolicy;
use educonnect_core::provider::{EduConnect, FranceConnect};
use educonnect_settings::Settings;
use serde::Deserialize;
use toml::Spanned;

use crate::rules::{Access, Anonymous, Rule, Rules};

/// The longest lifetime of a family assertion sent to the upstream.
pub const MAX_ASSERTION_TTL: Duration = Duration::from_secs(3600);
/// The lifetime of family assertions when the file says none.
pub const DEFAULT_ASSERTION_TTL: Duration = Duration::from_secs(60);
/// Where the proxy listens when the file says nothing.
pub const DEFAULT_LISTEN: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(Ipv4Addr::LOCALHOST), 8090);

/// A configuration that cannot be used: the file, where in it (when the
/// problem has a place), and why. Shown as `file:line:column: reason`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    file: PathBuf,
    position: Option<(usize, usize)>,
    reason: String,
}

impl ConfigError {
    fn new(file: &Path, text: &str, span: Option<Range<usize>>, reason: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            position: span.map(|span| line_and_column(text, span.start)),
            reason: reason.into(),
        }
    }

    /// The file.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The line (from 1), when the problem is at one place of the file.
    pub fn line(&self) -> Option<usize> {
        self.position.map(|(line, _)| line)
    }

    /// The column (from 1, in characters), with the line.
    pub fn column(&self) -> Option<usize> {
        self.position.map(|(_, column)| column)
    }

    /// Why, in one line.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some((line, column)) => write!(
                f,
                "{}:{line}:{column}: {}",
                self.file.display(),
                self.reason
            ),
            None => write!(f, "{}: {}", self.file.display(), self.reason),
        }
    }
}

fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit_once('\n')
        .map_or(before, |(_, last)| last)
        .chars()
        .count()
        + 1;
    (line, column)
}

/// The file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Option<Spanned<String>>,
    upstream: Spanned<String>,
    public_url: Option<Spanned<String>>,
    assertion: Option<RawAssertion>,
    gateway: Option<RawGateway>,
    #[serde(default, rename = "rule")]
    rules: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAssertion {
    audience: Option<Spanned<String>>,
    ttl_seconds: Option<Spanned<u64>>,
    key_file: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGateway {
    franceconnect: Option<RawProvider>,
    educonnect: Option<RawProvider>,
    directory: Option<Vec<String>>,
    directory_uai: Option<Spanned<String>>,
    insecure_cookies: Option<bool>,
    sandbox_listen: Option<Spanned<String>>,
    redis_url: Option<Spanned<String>>,
    database_url: Option<Spanned<String>>,
    login_state_key: Option<Spanned<String>>,
    act_for_policy: Option<RawPolicy>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    /// FranceConnect's issuer, or EduConnect's base URL.
    url: Spanned<String>,
    client_id: String,
    client_secret: String,
    jwks: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawPolicy {
    LegalGuardians,
    FamilyMembers,
    AllContacts,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    prefix: Spanned<String>,
    access: Spanned<Access>,
    pupil_query: Option<Spanned<String>>,
    anonymous: Option<Spanned<Anonymous>>,
}

/// Family assertions sent to the upstream.
#[derive(Debug, Clone)]
pub struct AssertionConfig {
    /// Their `aud`: by default the upstream's origin.
    pub audience: String,
    /// Their lifetime.
    pub ttl: Duration,
    /// The private JWK that signs them (written by `educonnect keygen`);
    /// `None`: a fresh ES256 key per process, published at
    /// `GET {base}/jwks` (replicas must share a file instead).
    pub key_file: Option<PathBuf>,
}

/// A configuration that passed every check.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// The file it was read from.
    pub file: PathBuf,
    /// Where the proxy listens.
    pub listen: SocketAddr,
    /// The application's base URL (`http://` only).
    pub upstream: http::Uri,
    /// The service's URL as browsers see it (default: `http://` + listen).
    pub public_url: Option<String>,
    /// Family assertions.
    pub assertion: AssertionConfig,
    /// The gateway's settings (providers, directory, stores).
    pub settings: Settings,
    /// The access rules, in the file's order.
    pub rules: Rules,
}

impl ProxyConfig {
    /// Reads and checks `path`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::new(path, "", None, format!("cannot read: {e}")))?;
        Self::parse(path, &text)
    }

    /// Checks `text`, the content of `path` (relative paths in it are
    /// relative to the file's directory).
    pub fn parse(path: &Path, text: &str) -> Result<Self, ConfigError> {
        let error =
            |span: Option<Range<usize>>, reason: String| ConfigError::new(path, text, span, reason);
        let raw: RawConfig =
            toml::from_str(text).map_err(|e| error(e.span(), e.message().trim().to_owned()))?;
        let base_dir = path.parent().unwrap_or(Path::new("."));

        let listen = match &raw.listen {
            Some(listen) => parse_addr(listen).map_err(|r| error(Some(listen.span()), r))?,
            None => DEFAULT_LISTEN,
        };
        let upstream = parse_upstream(raw.upstream.get_ref())
            .map_err(|r| error(Some(raw.upstream.span()), r))?;
        let public_url = match &raw.public_url {
            Some(url) => {
                Some(parse_public_url(url.get_ref()).map_err(|r| error(Some(url.span()), r))?)
            }
            None => None,
        };

        let assertion = match &raw.assertion {
            None => AssertionConfig {
                audience: origin_of(&upstream),
                ttl: DEFAULT_ASSERTION_TTL,
                key_file: None,
            },
            Some(a) => {
                let ttl = match &a.ttl_seconds {
                    Some(ttl) => {
                        let value = Duration::from_secs(*ttl.get_ref());
                        if value.is_zero() || value > MAX_ASSERTION_TTL {
                            return Err(error(
                                Some(ttl.span()),
                                format!(
                                    "ttl_seconds must be between 1 and {}",
                                    MAX_ASSERTION_TTL.as_secs()
                                ),
                            ));
                        }
                        value
                    }
                    None => DEFAULT_ASSERTION_TTL,
                };
                let audience = match &a.audience {
                    Some(aud) if aud.get_ref().trim().is_empty() => {
                        return Err(error(Some(aud.span()), "audience is empty".into()));
                    }
                    Some(aud) => aud.get_ref().clone(),
                    None => origin_of(&upstream),
                };
                let key_file = a.key_file.as_ref().map(|k| base_dir.join(k.get_ref()));
                AssertionConfig {
                    audience,
                    ttl,
                    key_file,
                }
            }
        };

        let settings = gateway_settings(raw.gateway.as_ref(), listen, &public_url, base_dir)
            .map_err(|(span, reason)| error(span, reason))?;

        let mut rules = Vec::new();
        for raw_rule in &raw.rules {
            let rule = Rule::parse(
                raw_rule.prefix.get_ref(),
                *raw_rule.access.get_ref(),
                raw_rule.pupil_query.as_ref().map(|q| q.get_ref().as_str()),
                line_and_column(text, raw_rule.prefix.span().start).0,
            );
            let rule = rule.map_err(|e| {
                let span = match e.at {
                    crate::rules::At::Prefix => raw_rule.prefix.span(),
                    crate::rules::At::Access => raw_rule.access.span(),
                    crate::rules::At::Query => raw_rule
                        .pupil_query
                        .as_ref()
                        .map_or(raw_rule.prefix.span(), |q| q.span()),
                };
                error(Some(span), e.reason)
            })?;
            let rule = match &raw_rule.anonymous {
                Some(anonymous) if *raw_rule.access.get_ref() == Access::Public => {
                    return Err(error(
                        Some(anonymous.span()),
                        "anonymous is for rules that need a user, not access = \"public\"".into(),
                    ));
                }
                Some(anonymous) => rule.with_anonymous(*anonymous.get_ref()),
                None => rule,
            };
            rules.push((rule, raw_rule.prefix.span()));
        }
        if rules.is_empty() {
            return Err(error(
                None,
                "no [[rule]]: every request would be refused (add at least one, e.g. prefix = \"/\")"
                    .into(),
            ));
        }
        let rules = Rules::new(rules).map_err(|(span, reason)| error(Some(span), reason))?;

        Ok(Self {
            file: path.to_owned(),
            listen,
            upstream,
            public_url,
            assertion,
            settings,
            rules,
        })
    }
}

fn parse_addr(value: &Spanned<String>) -> Result<SocketAddr, String> {
    value
        .get_ref()
        .parse()
        .map_err(|e| format!("{e}: expected an address and port, e.g. 127.0.0.1:8090"))
}

fn parse_upstream(value: &str) -> Result<http::Uri, String> {
    let url = url::Url::parse(value).map_err(|e| format!("upstream {value:?}: {e}"))?;
    if url.scheme() == "https" {
        return Err(format!(
            "upstream {value:?}: https upstreams are not supported (the proxy forwards over plain HTTP, e.g. to 127.0.0.1)"
        ));
    }
    if url.scheme() != "http" {
        return Err(format!("upstream {value:?}: the scheme must be http"));
    }
    if url.host().is_none() {
        return Err(format!("upstream {value:?}: no host"));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(format!(
            "upstream {value:?}: a base URL only (no query, fragment or user)"
        ));
    }
    let text = url.as_str().trim_end_matches('/');
    text.parse::<http::Uri>()
        .map_err(|e| format!("upstream {value:?}: {e}"))
}

fn parse_public_url(value: &str) -> Result<String, String> {
    let url = url::Url::parse(value).map_err(|e| format!("public_url {value:?}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!(
            "public_url {value:?}: an http:// or https:// URL is needed"
        ));
    }
    if url.path() != "/" || url.query().is_some() {
        return Err(format!(
            "public_url {value:?}: the service's origin only (the proxy serves the whole site)"
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

fn origin_of(uri: &http::Uri) -> String {
    match (uri.scheme_str(), uri.authority()) {
        (Some(scheme), Some(authority)) => format!("{scheme}://{authority}"),
        _ => uri.to_string(),
    }
}

type Located = (Option<Range<usize>>, String);

/// The gateway's settings from the `[gateway]` table, read the way the
/// examples read their environment ([`Settings::from_vars`]), so that the
/// proxy and the examples accept the same values.
fn gateway_settings(
    raw: Option<&RawGateway>,
    listen: SocketAddr,
    public_url: &Option<String>,
    base_dir: &Path,
) -> Result<Settings, Located> {
    let mut vars: Vec<(&'static str, String, Option<Range<usize>>)> = Vec::new();
    vars.push(("EDUCONNECT_LISTEN", listen.to_string(), None));
    if let Some(url) = public_url {
        vars.push(("EDUCONNECT_PUBLIC_URL", url.clone(), None));
    }
    let mut policy = ActForPolicy::default();
    let mut directory = Vec::new();
    if let Some(g) = raw {
        if let Some(fc) = &g.franceconnect {
            FranceConnect::custom(fc.url.get_ref())
                .map_err(|e| (Some(fc.url.span()), format!("franceconnect url: {e}")))?;
            if let Some(jwks) = &fc.jwks {
                return Err((
                    Some(jwks.span()),
                    "franceconnect: jwks is read from the issuer's discovery".into(),
                ));
            }
            vars.push((
                "EDUCONNECT_FC_ISSUER",
                fc.url.get_ref().clone(),
                Some(fc.url.span()),
            ));
            vars.push(("EDUCONNECT_FC_CLIENT_ID", fc.client_id.clone(), None));
            vars.push((
                "EDUCONNECT_FC_CLIENT_SECRET",
                fc.client_secret.clone(),
                None,
            ));
        }
        if let Some(ec) = &g.educonnect {
            let preset = EduConnect::at_base(ec.url.get_ref())
                .map_err(|e| (Some(ec.url.span()), format!("educonnect url: {e}")))?;
            if let Some(jwks) = &ec.jwks {
                let url = url::Url::parse(jwks.get_ref())
                    .map_err(|e| (Some(jwks.span()), format!("educonnect jwks: {e}")))?;
                preset
                    .with_jwks(url)
                    .map_err(|e| (Some(jwks.span()), format!("educonnect jwks: {e}")))?;
                vars.push((
                    "EDUCONNECT_EC_JWKS",
                    jwks.get_ref().clone(),
                    Some(jwks.span()),
                ));
            }
            vars.push((
                "EDUCONNECT_EC_BASE",
                ec.url.get_ref().clone(),
                Some(ec.url.span()),
            ));
            vars.push(("EDUCONNECT_EC_CLIENT_ID", ec.client_id.clone(), None));
            vars.push((
                "EDUCONNECT_EC_CLIENT_SECRET",
                ec.client_secret.clone(),
                None,
            ));
        }
        if let Some(files) = &g.directory {
            directory = files.iter().map(|f| base_dir.join(f)).collect();
        }
        for (name, value) in [
            ("EDUCONNECT_DIRECTORY_UAI", &g.directory_uai),
            ("EDUCONNECT_REDIS_URL", &g.redis_url),
            ("EDUCONNECT_DATABASE_URL", &g.database_url),
            ("EDUCONNECT_LOGIN_STATE_KEY", &g.login_state_key),
        ] {
            if let Some(value) = value {
                vars.push((name, value.get_ref().clone(), Some(value.span())));
            }
        }
        if let Some(listen) = &g.sandbox_listen {
            parse_addr(listen).map_err(|r| (Some(listen.span()), r))?;
            vars.push((
                "EDUCONNECT_SANDBOX_LISTEN",
                listen.get_ref().clone(),
                Some(listen.span()),
            ));
        }
        if let Some(insecure) = g.insecure_cookies {
            vars.push((
                "EDUCONNECT_INSECURE_COOKIES",
                if insecure { "1" } else { "0" }.into(),
                None,
            ));
        }
        if let Some(p) = g.act_for_policy {
            policy = match p {
                RawPolicy::LegalGuardians => ActForPolicy::LegalGuardians,
                RawPolicy::FamilyMembers => ActForPolicy::FamilyMembers,
                RawPolicy::AllContacts => ActForPolicy::AllContacts,
            };
        }
    }
    let settings = Settings::from_vars(listen.port(), |name| {
        vars.iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, v, _)| v.clone())
    });
    let mut settings = settings.map_err(|e| {
        let span = match &e {
            educonnect_settings::SettingsError::Invalid { name, .. } => vars
                .iter()
                .find(|(n, _, _)| n == name)
                .and_then(|(_, _, span)| span.clone()),
            _ => None,
        };
        // The examples' messages name their variables: say the key instead.
        let reason = match &e {
            educonnect_settings::SettingsError::Invalid { reason, .. } => reason.clone(),
            other => other.to_string(),
        };
        (span, format!("[gateway]: {reason}"))
    })?;
    settings.directory = directory;
    Ok(settings.act_for_policy(policy))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_count_characters() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(line_and_column(text, 0), (1, 1));
        assert_eq!(line_and_column(text, 6), (2, 1));
        assert_eq!(line_and_column(text, 9), (2, 3));
    }
}
