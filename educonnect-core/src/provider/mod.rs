//! Upstream identity providers: where they are, what to ask them, and the
//! typed identity made from what they answer.
//!
//! - [`FranceConnect`] and [`EduConnect`] are presets: endpoints, scopes and
//!   (for FranceConnect) the eIDAS level to request. A generic OpenID Connect
//!   provider is described by a [`ProviderEndpoints`] of its own.
//! - [`Identity`] is what a login yields once the provider's token and
//!   userinfo were verified by [`jose`](crate::jose): FranceConnect's
//!   [`PivotIdentity`], an [`EduConnectIdentity`], or a generic
//!   [`OidcIdentity`]. Parsing is validation: a value that reaches these types
//!   has the shape the provider documents, or the login fails with an
//!   [`IdentityError`] naming the claim and the rule.
//!
//! Nothing here does I/O. Identities hold personal data: their `Debug` shows
//! the `sub` and nothing else that identifies a person, and errors never
//! repeat a claim's value, so both can be logged.
//!
//! ```
//! use educonnect_core::jose::Acr;
//! use educonnect_core::provider::{FranceConnect, Identity, ProviderKind};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let fc = FranceConnect::sandbox().with_usage_name();
//! assert_eq!(fc.endpoints().issuer().as_str(), FranceConnect::SANDBOX_ISSUER);
//! assert_eq!(fc.acr_values(), Acr::Eidas1);
//! assert_eq!(
//!     fc.scopes().to_string(),
//!     "openid given_name family_name birthdate gender birthplace birthcountry preferred_username",
//! );
//!
//! // The claims of the verified userinfo JWT.
//! let userinfo = serde_json::json!({
//!     "sub": "b6048e95bb134ec5b1d1e1fa69f287172e91722b9354d637a1bcf2ebb0fd2ef5v1",
//!     "given_name": "Angela Claire Louise", "family_name": "DUBOIS",
//!     "birthdate": "1962-08-24", "gender": "female",
//!     "birthplace": "75107", "birthcountry": "99100",
//! });
//! let identity = Identity::from_claims(ProviderKind::FranceConnect, userinfo.as_object().unwrap())?;
//! let Identity::FranceConnect(person) = &identity else { unreachable!() };
//! assert_eq!(person.given_names(), ["Angela", "Claire", "Louise"]);
//! assert!(!format!("{identity:?}").contains("DUBOIS"));
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::hash::{Hash, Hasher};

use serde_json::{Map, Value};
pub(crate) use url::Url;

mod educonnect;
mod error;
mod franceconnect;
mod read;

/// Re-exported from [`crate::ids`], where it lives beside the other ids.
pub use crate::ids::AafId;
pub use educonnect::{
    Affiliation, AuthOrigin, EduConnect, EduConnectIdentity, EduVector, Profile, PupilDetails,
    RefId, SchoolLevel,
};
pub use error::{ConfigError, IdentityError, UserinfoClaim, VectorProblem};
pub use franceconnect::{FranceConnect, Gender, PivotIdentity};

/// Which kind of upstream provider a login goes through; it decides how the
/// provider's claims are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProviderKind {
    /// FranceConnect v2: the identité pivot, from a signed userinfo JWT.
    FranceConnect,
    /// EduConnect's OpenID Connect endpoint: `FrEduCt*` claims.
    EduConnect,
    /// Any other OpenID Connect provider (an academy's IdP): `sub` and the
    /// claims as they are.
    Oidc,
}

impl ProviderKind {
    /// A short lower-case name, e.g. for configuration files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::FranceConnect => "franceconnect",
            Self::EduConnect => "educonnect",
            Self::Oidc => "oidc",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A provider's issuer identifier.
///
/// Kept as the exact original string: tokens are accepted only when their
/// `iss` is byte for byte this string (a parsed URL would normalize case, a
/// default port or a trailing slash, and hide a mix-up). The parsed form is
/// there to derive endpoints.
#[derive(Clone)]
pub struct Issuer {
    original: String,
    url: Url,
}

impl Issuer {
    /// Checks an issuer: an absolute `https` URL (`http` only on a loopback
    /// host, for local development), without query, fragment or credentials.
    pub fn parse(issuer: &str) -> Result<Self, ConfigError> {
        let url = Url::parse(issuer).map_err(|_| ConfigError::InvalidUrl)?;
        check_url(&url)?;
        if url.query().is_some() {
            return Err(ConfigError::IssuerWithQuery);
        }
        Ok(Self {
            original: issuer.to_owned(),
            url,
        })
    }

    /// The issuer exactly as configured: compare `iss` with this.
    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// The issuer parsed as a URL (possibly normalized: not for comparison).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// `{issuer}{path}`, with one trailing slash of the issuer dropped first,
    /// as OpenID Connect Discovery does for `/.well-known/...`.
    pub(crate) fn endpoint(&self, path: &str) -> Result<Url, ConfigError> {
        let base = self.original.strip_suffix('/').unwrap_or(&self.original);
        let url = Url::parse(&format!("{base}{path}")).map_err(|_| ConfigError::InvalidUrl)?;
        check_url(&url)?;
        Ok(url)
    }
}

impl PartialEq for Issuer {
    fn eq(&self, other: &Self) -> bool {
        self.original == other.original
    }
}

impl Eq for Issuer {}

impl PartialEq<str> for Issuer {
    fn eq(&self, other: &str) -> bool {
        self.original == other
    }
}

impl PartialEq<&str> for Issuer {
    fn eq(&self, other: &&str) -> bool {
        self.original == *other
    }
}

impl Hash for Issuer {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.original.hash(state);
    }
}

impl fmt::Debug for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Issuer").field(&self.original).finish()
    }
}

impl fmt::Display for Issuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

/// `https`, or `http` on a loopback host; a host; no credentials; no fragment.
fn check_url(url: &Url) -> Result<(), ConfigError> {
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => return Err(ConfigError::InvalidUrl),
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(ConfigError::InsecureUrl),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::InvalidUrl);
    }
    if url.fragment().is_some() {
        return Err(ConfigError::UrlWithFragment);
    }
    Ok(())
}

/// Where a provider is: its issuer and the endpoints a login uses.
///
/// Every URL passed the same check as the [`Issuer`]: `https` (`http` only on
/// a loopback host), no credentials, no fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderEndpoints {
    issuer: Issuer,
    authorization: Url,
    token: Url,
    userinfo: Url,
    jwks: Option<Url>,
    end_session: Option<Url>,
}

impl ProviderEndpoints {
    /// Endpoints configured one by one (a generic provider without
    /// discovery, or EduConnect with explicit endpoints). Add the key set and
    /// logout URLs with [`with_jwks`](Self::with_jwks) and
    /// [`with_end_session`](Self::with_end_session).
    pub fn new(
        issuer: Issuer,
        authorization: Url,
        token: Url,
        userinfo: Url,
    ) -> Result<Self, ConfigError> {
        for url in [&authorization, &token, &userinfo] {
            check_url(url)?;
        }
        Ok(Self {
            issuer,
            authorization,
            token,
            userinfo,
            jwks: None,
            end_session: None,
        })
    }

    /// Sets the JWKS URL, where the provider publishes its signing keys.
    pub fn with_jwks(mut self, jwks: Url) -> Result<Self, ConfigError> {
        check_url(&jwks)?;
        self.jwks = Some(jwks);
        Ok(self)
    }

    /// Sets the end-session (logout) URL.
    pub fn with_end_session(mut self, end_session: Url) -> Result<Self, ConfigError> {
        check_url(&end_session)?;
        self.end_session = Some(end_session);
        Ok(self)
    }

    /// The issuer, to compare with `iss` exactly.
    pub fn issuer(&self) -> &Issuer {
        &self.issuer
    }

    /// The authorization endpoint, where the browser is sent to log in.
    pub fn authorization(&self) -> &Url {
        &self.authorization
    }

    /// The token endpoint, where the code is exchanged.
    pub fn token(&self) -> &Url {
        &self.token
    }

    /// The userinfo endpoint.
    pub fn userinfo(&self) -> &Url {
        &self.userinfo
    }

    /// The JWKS endpoint, if known. Without one, the provider's keys must be
    /// configured directly.
    pub fn jwks(&self) -> Option<&Url> {
        self.jwks.as_ref()
    }

    /// The end-session (logout) endpoint, if the provider has one.
    pub fn end_session(&self) -> Option<&Url> {
        self.end_session.as_ref()
    }
}

/// The scopes of an authorization request: `openid` first, then the others in
/// the order given, without duplicates. `Display` writes the `scope`
/// parameter's value (space-separated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// Just `openid`.
    pub fn openid() -> Self {
        Self(vec!["openid".to_owned()])
    }

    /// `openid` and the given scopes. Each must be an RFC 6749 `scope-token`:
    /// printable ASCII without space, `"` or `\`.
    pub fn new<I>(scopes: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        scopes
            .into_iter()
            .try_fold(Self::openid(), |s, scope| s.with(scope.as_ref()))
    }

    /// Adds a scope (no effect if already there).
    pub fn with(self, scope: &str) -> Result<Self, ConfigError> {
        let valid = !scope.is_empty()
            && scope
                .bytes()
                .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E));
        if !valid {
            return Err(ConfigError::InvalidScope);
        }
        Ok(self.with_known(scope))
    }

    /// Adds a scope known to be valid.
    pub(crate) fn with_known(mut self, scope: &str) -> Self {
        if !self.contains(scope) {
            self.0.push(scope.to_owned());
        }
        self
    }

    /// Whether `scope` is requested.
    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    /// The scopes, `openid` first.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

/// The identity a login yields, read from the provider's verified claims.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Identity {
    /// A person logged in through FranceConnect.
    FranceConnect(PivotIdentity),
    /// A guardian or pupil logged in through EduConnect.
    EduConnect(EduConnectIdentity),
    /// A person logged in through another OpenID Connect provider.
    Oidc(OidcIdentity),
}

impl Identity {
    /// Reads the identity of a provider of this kind from its verified
    /// claims (the userinfo, merged with the ID token's where the flow does
    /// so). FranceConnect claims must hold the whole identité pivot.
    pub fn from_claims(
        kind: ProviderKind,
        claims: &Map<String, Value>,
    ) -> Result<Self, IdentityError> {
        match kind {
            ProviderKind::FranceConnect => {
                PivotIdentity::from_claims(claims).map(Self::FranceConnect)
            }
            ProviderKind::EduConnect => {
                EduConnectIdentity::from_claims(claims).map(Self::EduConnect)
            }
            ProviderKind::Oidc => OidcIdentity::from_claims(claims).map(Self::Oidc),
        }
    }

    /// The provider's subject identifier for this person.
    pub fn sub(&self) -> &str {
        match self {
            Self::FranceConnect(p) => p.sub(),
            Self::EduConnect(p) => p.sub(),
            Self::Oidc(p) => p.sub(),
        }
    }

    /// The name to greet the person with, e.g. `Marie Dupont`: the first
    /// given name and the usage name if any, else the family name. For a
    /// generic provider, its `given_name` and `family_name` claims when
    /// present. Personal data: show it to the person, never log it.
    pub fn display_name(&self) -> String {
        let (given, family) = match self {
            Self::FranceConnect(p) => (
                p.given_names().first().map(String::as_str),
                Some(p.usage_name().unwrap_or(p.family_name())),
            ),
            Self::EduConnect(p) => (p.given_name().split(' ').next(), Some(p.family_name())),
            Self::Oidc(p) => (
                p.claims().get("given_name").and_then(Value::as_str),
                p.claims().get("family_name").and_then(Value::as_str),
            ),
        };
        crate::naming::display_name(given, family)
    }

    /// Which kind of provider this identity came from.
    pub fn kind(&self) -> ProviderKind {
        match self {
            Self::FranceConnect(_) => ProviderKind::FranceConnect,
            Self::EduConnect(_) => ProviderKind::EduConnect,
            Self::Oidc(_) => ProviderKind::Oidc,
        }
    }
}

/// A person from a generic OpenID Connect provider: a `sub` and the claims as
/// they came, for the service to read. `Debug` shows the claim names, never
/// their values, and the `sub` only as the start of its SHA-256.
#[derive(Clone, PartialEq, Eq)]
pub struct OidcIdentity {
    sub: String,
    claims: Map<String, Value>,
}

impl OidcIdentity {
    /// Reads `sub` (required, a non-empty string of at most 255 bytes) and
    /// keeps every claim.
    pub fn from_claims(claims: &Map<String, Value>) -> Result<Self, IdentityError> {
        Ok(Self {
            sub: read::sub(claims)?,
            claims: claims.clone(),
        })
    }

    /// The provider's subject identifier.
    pub fn sub(&self) -> &str {
        &self.sub
    }

    /// All the claims, `sub` included.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.claims
    }
}

impl fmt::Debug for OidcIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OidcIdentity")
            .field("sub", &RedactedSub(&self.sub))
            .field("claims", &self.claims.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A provider's `sub` as `Debug` shows it: `sha256:` and the first 8
/// characters of its SHA-256 (base64url), the start of the `sub_hash` of
/// the audit events and logs. A `sub` is a pseudonymous id, still personal
/// data, and with some providers a stable id across services: it must not
/// reach logs through a `{:?}`.
pub(crate) struct RedactedSub<'a>(pub(crate) &'a str);

impl fmt::Debug for RedactedSub<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use base64::Engine;
        let digest = crate::jose::crypto::sha256(self.0.as_bytes());
        let mut hash = [0u8; 8];
        // 6 bytes are 8 base64 characters exactly.
        let written = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode_slice(&digest.as_ref()[..6], &mut hash)
            .map_err(|_| fmt::Error)?;
        let hash = std::str::from_utf8(&hash[..written]).map_err(|_| fmt::Error)?;
        write!(f, "\"sha256:{hash}…\"")
    }
}

#[cfg(test)]
mod tests;
