//! A configured upstream provider, and what a login does with it: build the
//! authorization request, exchange the code, verify the ID token and the
//! userinfo.
//!
//! `openidconnect` carries the protocol messages (the authorization URL with
//! PKCE S256, state and nonce; the code exchange with `client_secret_post` or
//! `private_key_jwt`; the discovery document). Every token is verified by
//! [`jose`](crate::jose), never by `openidconnect`'s own verifier; the ID token
//! is taken from the token response as a string, since an encrypted one
//! (FranceConnect+) is no JWS that `openidconnect` could parse.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType,
    CoreClientAuthMethod, CoreErrorResponseType, CoreGenderClaim, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreJwsSigningAlgorithm,
    CoreResponseMode, CoreResponseType, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreSubjectIdentifierType, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessToken, AdditionalProviderMetadata, AuthType, AuthUrl, AuthorizationCode, ClientId,
    CsrfToken, EmptyAdditionalClaims, EndSessionUrl, EndpointNotSet, EndpointSet, ExtraTokenFields,
    IdToken, IssuerUrl, JsonWebKeySet, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, ProviderMetadata, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    StandardErrorResponse, StandardTokenResponse, TokenResponse, TokenUrl,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

use super::failure::{Unreachable, UpstreamError, UserinfoRejected};
use crate::clock::Clock;
use crate::http_client::{HttpClient, HttpError, HttpRequest, HttpResponse};
use crate::jose::{
    self, Acr, AlgorithmSet, CryptoProvider, DecryptionKeys, HmacSecret, KeySet, SigningKey,
    Validation,
};
use crate::jwks_cache::{ProviderKeys, ProviderTokenError};
use crate::provider::{
    ConfigError, EduConnect, FranceConnect, Issuer, ProviderEndpoints, ProviderKind, Scopes,
};

/// A client secret. Its `Debug` never shows it.
#[derive(Clone)]
pub struct ClientSecret(String);

impl ClientSecret {
    /// Wraps the secret the provider issued.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, to send to the token endpoint.
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientSecret([redacted])")
    }
}

/// An identity provider the gateway logs people in with: where it is, the
/// client credentials it issued to the service, and what to ask.
#[derive(Debug, Clone)]
pub struct Provider {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) kind: ProviderKind,
    pub(crate) endpoints: ProviderEndpoints,
    pub(crate) scopes: Scopes,
    pub(crate) acr: Option<Acr>,
    pub(crate) client_id: String,
    pub(crate) client_secret: ClientSecret,
    pub(crate) algorithms: AlgorithmSet,
    pub(crate) hs256: bool,
    pub(crate) signed_userinfo_required: bool,
    pub(crate) keys: Option<KeySet>,
    /// `private_key_jwt`: the key that signs client assertions, instead of
    /// sending the client secret.
    pub(crate) client_key: Option<Arc<SigningKey>>,
    /// The relying party's keys for a provider that encrypts its ID token
    /// and userinfo; when set, a token that is only signed is refused.
    pub(crate) decryption: Option<Arc<DecryptionKeys>>,
}

impl Provider {
    /// FranceConnect v2: id `franceconnect`, the identité pivot scopes,
    /// `acr_values` from the preset (eidas1 by default), signed userinfo
    /// required, ES256 and RS256 allowed.
    pub fn franceconnect(
        preset: FranceConnect,
        client_id: impl Into<String>,
        client_secret: ClientSecret,
    ) -> Self {
        Self {
            kind: ProviderKind::FranceConnect,
            scopes: preset.scopes().clone(),
            acr: Some(preset.acr_values()),
            algorithms: [jose::Algorithm::ES256, jose::Algorithm::RS256]
                .into_iter()
                .collect(),
            signed_userinfo_required: true,
            ..Self::oidc(
                "franceconnect",
                "FranceConnect",
                preset.endpoints().clone(),
                client_id,
                client_secret,
            )
        }
    }

    /// FranceConnect+ (eIDAS substantial or high): id `franceconnectplus`,
    /// the preset's `acr_values` (at least `eidas2`), ES256 signatures,
    /// `private_key_jwt` client authentication with `client_key` (ES256 or
    /// RS256), and ID token and userinfo encrypted to `decryption`, whose
    /// public keys the gateway publishes at `GET {base}/jwks` with the client
    /// key's.
    ///
    /// Refused with [`ConfigError::CryptoProvider`] on a build with the ring
    /// provider (no RSA-OAEP nor static-key ECDH there), and with
    /// [`ConfigError::AcrTooLowForPlus`] when the preset asks for `eidas1`.
    pub fn franceconnect_plus(
        preset: FranceConnect,
        client_id: impl Into<String>,
        client_key: SigningKey,
        decryption: DecryptionKeys,
    ) -> Result<Self, ConfigError> {
        if preset.acr_values() < Acr::Eidas2 {
            return Err(ConfigError::AcrTooLowForPlus);
        }
        Self {
            id: "franceconnectplus".into(),
            name: "FranceConnect+".into(),
            algorithms: [jose::Algorithm::ES256].into_iter().collect(),
            ..Self::franceconnect(preset, client_id, ClientSecret::new(String::new()))
        }
        .with_private_key_jwt(client_key)?
        .with_encrypted_tokens(decryption)
    }

    /// Authenticates at the token endpoint with `private_key_jwt` (a client
    /// assertion signed by `key`, ES256 or RS256) rather than the client
    /// secret. Publish the key: the gateway serves its public half at
    /// `GET {base}/jwks`.
    pub fn with_private_key_jwt(mut self, key: SigningKey) -> Result<Self, ConfigError> {
        if !matches!(
            key.algorithm(),
            jose::Algorithm::ES256 | jose::Algorithm::RS256
        ) {
            return Err(ConfigError::ClientKeyAlgorithm);
        }
        self.client_key = Some(Arc::new(key));
        Ok(self)
    }

    /// Requires the ID token and the userinfo to be encrypted to one of
    /// `keys` (nested JWTs, decrypted then verified); a token that is only
    /// signed is refused. The gateway publishes the keys' public halves at
    /// `GET {base}/jwks` (`use: enc`).
    pub fn with_encrypted_tokens(mut self, keys: DecryptionKeys) -> Result<Self, ConfigError> {
        if !CryptoProvider::current().decrypts_tokens() {
            return Err(ConfigError::CryptoProvider);
        }
        if keys.is_empty() {
            return Err(ConfigError::NoDecryptionKey);
        }
        self.decryption = Some(Arc::new(keys));
        self.signed_userinfo_required = true;
        Ok(self)
    }

    /// The public JWKs this provider's configuration needs published at the
    /// relying party's `jwks_uri`: the client assertion key (`use: sig`) and
    /// the decryption keys (`use: enc`).
    pub(crate) fn published_keys(&self) -> Vec<Map<String, Value>> {
        let mut keys: Vec<Map<String, Value>> = self
            .client_key
            .iter()
            .map(|key| key.verifying_key().to_jwk())
            .collect();
        if let Some(decryption) = &self.decryption {
            keys.extend(decryption.public_jwks());
        }
        keys
    }

    /// EduConnect's OpenID Connect endpoint: id `educonnect`, JSON or signed
    /// userinfo. Without a JWKS URL in the preset, give its keys with
    /// [`with_keys`](Self::with_keys).
    pub fn educonnect(
        preset: EduConnect,
        client_id: impl Into<String>,
        client_secret: ClientSecret,
    ) -> Self {
        Self {
            kind: ProviderKind::EduConnect,
            scopes: preset.scopes().clone(),
            ..Self::oidc(
                "educonnect",
                "ÉduConnect",
                preset.endpoints().clone(),
                client_id,
                client_secret,
            )
        }
    }

    /// Any OpenID Connect provider (an academy's or an ENT's), from endpoints
    /// given one by one: scope `openid`, the asymmetric algorithms, JSON or
    /// signed userinfo.
    pub fn oidc(
        id: impl Into<String>,
        name: impl Into<String>,
        endpoints: ProviderEndpoints,
        client_id: impl Into<String>,
        client_secret: ClientSecret,
    ) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            kind: ProviderKind::Oidc,
            endpoints,
            scopes: Scopes::openid(),
            acr: None,
            client_id: client_id.into(),
            client_secret,
            algorithms: AlgorithmSet::ASYMMETRIC,
            hs256: false,
            signed_userinfo_required: false,
            keys: None,
            client_key: None,
            decryption: None,
        }
    }

    /// Any OpenID Connect provider, from its discovery document at
    /// `{issuer}/.well-known/openid-configuration`. The document's `issuer`
    /// must be exactly `issuer`.
    pub async fn discover(
        id: impl Into<String>,
        name: impl Into<String>,
        issuer: &str,
        client_id: impl Into<String>,
        client_secret: ClientSecret,
        http: &dyn HttpClient,
    ) -> Result<Self, DiscoveryError> {
        let issuer = Issuer::parse(issuer)?;
        let endpoints = discover(&issuer, http).await?;
        Ok(Self::oidc(id, name, endpoints, client_id, client_secret))
    }

    /// Replaces the endpoints with those of the provider's discovery
    /// document at `{issuer}/.well-known/openid-configuration`, whose
    /// `issuer` must be exactly this provider's issuer. For a FranceConnect
    /// or EduConnect deployment that moved its endpoints.
    pub async fn with_discovery(mut self, http: &dyn HttpClient) -> Result<Self, DiscoveryError> {
        self.endpoints = discover(self.endpoints.issuer(), http).await?;
        Ok(self)
    }

    /// Replaces the id used in `login?provider=` and in sessions.
    #[must_use]
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self
    }

    /// Replaces the name shown on the provider choice page.
    #[must_use]
    pub fn with_display_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Replaces the scopes requested.
    #[must_use]
    pub fn with_scopes(mut self, scopes: Scopes) -> Self {
        self.scopes = scopes;
        self
    }

    /// Requires at least this eIDAS level: sent as `acr_values`, checked on
    /// the ID token's `acr`.
    #[must_use]
    pub fn with_min_acr(mut self, acr: Acr) -> Self {
        self.acr = Some(acr);
        self
    }

    /// Replaces the algorithms accepted on this provider's tokens.
    #[must_use]
    pub fn with_algorithms(mut self, algorithms: AlgorithmSet) -> Self {
        self.algorithms = algorithms;
        self
    }

    /// Also accepts HS256 tokens signed with the client secret (FranceConnect
    /// clients that have not moved to asymmetric signatures yet).
    #[must_use]
    pub fn allow_hs256_with_client_secret(mut self) -> Self {
        self.hs256 = true;
        self.algorithms = self.algorithms.with(jose::Algorithm::HS256);
        self
    }

    /// Verifies this provider's tokens with these keys instead of fetching
    /// its JWKS (a provider that publishes none, or tests).
    #[must_use]
    pub fn with_keys(mut self, keys: KeySet) -> Self {
        self.keys = Some(keys);
        self
    }

    /// The provider's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The provider's endpoints.
    pub fn endpoints(&self) -> &ProviderEndpoints {
        &self.endpoints
    }
}

/// Why a provider's discovery document could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// The issuer or an endpoint is not acceptable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The request failed.
    #[error("fetching the discovery document failed: {0}")]
    Http(#[from] HttpError),
    /// The endpoint answered with an error status.
    #[error("the discovery endpoint answered HTTP {0}")]
    Status(u16),
    /// The document is not a valid OpenID Provider Metadata document.
    #[error("the discovery document is invalid")]
    Invalid,
    /// The document's `issuer` is not the issuer it was fetched for.
    #[error("the discovery document names another issuer")]
    IssuerMismatch,
    /// The document lacks an endpoint the login needs.
    #[error("the discovery document has no {0}")]
    MissingEndpoint(&'static str),
}

/// `end_session_endpoint`, from OpenID Connect RP-Initiated Logout.
#[derive(Clone, Debug, Deserialize, Serialize)]
struct LogoutMetadata {
    end_session_endpoint: Option<EndSessionUrl>,
}

impl AdditionalProviderMetadata for LogoutMetadata {}

type Metadata = ProviderMetadata<
    LogoutMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

async fn discover(
    issuer: &Issuer,
    http: &dyn HttpClient,
) -> Result<ProviderEndpoints, DiscoveryError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.as_str().trim_end_matches('/')
    );
    let request = http::Request::get(url)
        .header(http::header::ACCEPT, "application/json")
        .body(Vec::new())
        .map_err(|_| DiscoveryError::Config(ConfigError::InvalidUrl))?;
    let response = http.send(request).await?;
    if !response.status().is_success() {
        return Err(DiscoveryError::Status(response.status().as_u16()));
    }
    let metadata: Metadata =
        serde_json::from_slice(response.body()).map_err(|_| DiscoveryError::Invalid)?;
    if metadata.issuer().as_str() != issuer.as_str() {
        return Err(DiscoveryError::IssuerMismatch);
    }
    let token = metadata
        .token_endpoint()
        .ok_or(DiscoveryError::MissingEndpoint("token_endpoint"))?;
    let userinfo = metadata
        .userinfo_endpoint()
        .ok_or(DiscoveryError::MissingEndpoint("userinfo_endpoint"))?;
    let mut endpoints = ProviderEndpoints::new(
        issuer.clone(),
        metadata.authorization_endpoint().url().clone(),
        token.url().clone(),
        userinfo.url().clone(),
    )?
    .with_jwks(metadata.jwks_uri().url().clone())?;
    if let Some(end) = &metadata.additional_metadata().end_session_endpoint {
        endpoints = endpoints.with_end_session(end.url().clone())?;
    }
    Ok(endpoints)
}

type OidcClient = ClientOf<EndpointSet, EndpointSet>;

/// `openidconnect`'s client with [`Exchanged`] as its token response, before
/// (`EndpointNotSet`) and after its authorization and token URLs are set.
type ClientOf<HasAuthUrl, HasTokenUrl> = openidconnect::Client<
    EmptyAdditionalClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Exchanged,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    HasAuthUrl,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    HasTokenUrl,
    EndpointNotSet,
>;

/// The token endpoint's answer with the ID token kept as the string it is:
/// `openidconnect`'s own type parses it as a JWS, which an encrypted ID token
/// is not. [`jose`] reads it afterwards, whatever its form.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
struct Exchanged(StandardTokenResponse<RawIdToken, CoreTokenType>);

#[derive(Debug, Clone, Serialize, Deserialize)]
struct RawIdToken {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

impl ExtraTokenFields for RawIdToken {}

impl OAuth2TokenResponse for Exchanged {
    type TokenType = CoreTokenType;

    fn access_token(&self) -> &AccessToken {
        self.0.access_token()
    }

    fn token_type(&self) -> &CoreTokenType {
        self.0.token_type()
    }

    fn expires_in(&self) -> Option<std::time::Duration> {
        self.0.expires_in()
    }

    fn refresh_token(&self) -> Option<&RefreshToken> {
        self.0.refresh_token()
    }

    fn scopes(&self) -> Option<&Vec<Scope>> {
        self.0.scopes()
    }
}

impl
    TokenResponse<
        EmptyAdditionalClaims,
        CoreGenderClaim,
        CoreJweContentEncryptionAlgorithm,
        CoreJwsSigningAlgorithm,
    > for Exchanged
{
    /// Never parsed by `openidconnect`: see [`Exchanged`].
    fn id_token(
        &self,
    ) -> Option<
        &IdToken<
            EmptyAdditionalClaims,
            CoreGenderClaim,
            CoreJweContentEncryptionAlgorithm,
            CoreJwsSigningAlgorithm,
        >,
    > {
        None
    }
}

/// How long a `private_key_jwt` client assertion lives.
const CLIENT_ASSERTION_TTL: i64 = 60;

/// A provider ready for logins: its `openidconnect` client and its keys.
#[derive(Debug)]
pub(crate) struct Upstream {
    pub(crate) config: Provider,
    client: OidcClient,
    keys: ProviderKeys,
    http: Arc<dyn HttpClient>,
    clock: Arc<dyn Clock>,
}

/// The outcome of a callback at the provider: a verified identity.
#[derive(Debug)]
pub(crate) struct Completed {
    /// The verified userinfo claims.
    pub(crate) claims: Map<String, Value>,
    /// The raw ID token, kept for `id_token_hint` at logout.
    pub(crate) id_token: String,
    pub(crate) acr: Option<String>,
    pub(crate) auth_time: Option<i64>,
}

impl Upstream {
    pub(crate) fn new(
        config: Provider,
        redirect_uri: &Url,
        http: Arc<dyn HttpClient>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ConfigError> {
        let endpoints = &config.endpoints;
        let issuer = IssuerUrl::new(endpoints.issuer().as_str().to_owned())
            .map_err(|_| ConfigError::InvalidUrl)?;
        let mut client = ClientOf::<EndpointNotSet, EndpointNotSet>::new(
            ClientId::new(config.client_id.clone()),
            issuer,
            JsonWebKeySet::default(),
        )
        .set_auth_uri(AuthUrl::from_url(endpoints.authorization().clone()))
        .set_token_uri(TokenUrl::from_url(endpoints.token().clone()))
        .set_auth_type(AuthType::RequestBody)
        .set_redirect_uri(RedirectUrl::from_url(redirect_uri.clone()));
        if config.client_key.is_none() {
            // `client_secret_post`; with `private_key_jwt` the body carries
            // `client_id` and the assertion instead.
            client = client.set_client_secret(openidconnect::ClientSecret::new(
                config.client_secret.secret().to_owned(),
            ));
        }
        let mut keys = match (&config.keys, endpoints.jwks()) {
            (Some(keys), _) => ProviderKeys::fixed(keys.clone(), clock.clone()),
            (None, Some(jwks)) => {
                let uri = jwks.as_str().parse().map_err(|_| ConfigError::InvalidUrl)?;
                ProviderKeys::remote(uri, http.clone(), clock.clone())
            }
            (None, None) => ProviderKeys::fixed(KeySet::default(), clock.clone()),
        };
        if config.hs256 {
            let secret = HmacSecret::new(config.client_secret.secret().as_bytes())
                .map_err(|_| ConfigError::InvalidClientSecret)?;
            keys = keys.with_hmac_secret(secret);
        }
        Ok(Self {
            config,
            client,
            keys,
            http,
            clock,
        })
    }

    /// The URL to send the browser to.
    pub(crate) fn authorization_url(&self, state: &str, nonce: &str, pkce_verifier: &str) -> Url {
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            pkce_verifier.to_owned(),
        ));
        let (state, nonce) = (state.to_owned(), nonce.to_owned());
        let mut request = self
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .set_pkce_challenge(challenge);
        // openidconnect always asks for `openid` first.
        for scope in self.config.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.to_owned()));
        }
        if let Some(acr) = self.config.acr {
            request = request.add_extra_param("acr_values", acr.as_str());
        }
        request.url().0
    }

    fn validation(&self) -> Validation {
        Validation::new(
            self.config.endpoints.issuer().as_str(),
            self.config.client_id.as_str(),
        )
        .algorithms(self.config.algorithms.iter())
        .clock(self.clock.clone())
    }

    /// Exchanges the code, verifies the ID token and the userinfo.
    pub(crate) async fn complete(
        &self,
        code: &str,
        pkce_verifier: &str,
        nonce: &str,
    ) -> Result<Completed, UpstreamError> {
        let http = Http(&*self.http);
        let mut request = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned()));
        if let Some(key) = &self.config.client_key {
            request = request
                .add_extra_param(
                    "client_assertion_type",
                    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                )
                .add_extra_param("client_assertion", self.client_assertion(key)?);
        }
        let response = request.request_async(&http).await.map_err(|e| match e {
            RequestTokenError::ServerResponse(r) => UpstreamError::Refused(r.error().to_string()),
            RequestTokenError::Request(e) => UpstreamError::TokenEndpoint(Unreachable::Http(e)),
            RequestTokenError::Parse(_, _) => UpstreamError::TokenEndpoint(Unreachable::Unreadable),
            RequestTokenError::Other(_) => UpstreamError::TokenEndpoint(Unreachable::Unexpected),
        })?;
        let id_token = response
            .0
            .extra_fields()
            .id_token
            .clone()
            .ok_or(UpstreamError::NoIdToken)?;

        let mut validation = self.validation().nonce(nonce);
        if let Some(acr) = self.config.acr {
            validation = validation.min_acr(acr);
        }
        let signed = self.signed(&id_token).map_err(UpstreamError::IdToken)?;
        let verified = self
            .keys
            .verify::<serde::de::IgnoredAny>(&signed, &validation)
            .await
            .map_err(|e| match e {
                ProviderTokenError::Token(t) => UpstreamError::IdToken(jose::nested_error(t)),
                ProviderTokenError::Keys(k) => UpstreamError::Keys(k),
            })?;
        let registered = verified.registered();

        let claims = self
            .userinfo(response.access_token().secret(), registered.sub())
            .await?;
        Ok(Completed {
            claims,
            acr: registered.acr().map(str::to_owned),
            auth_time: registered.auth_time(),
            id_token,
        })
    }

    /// Fetches the userinfo: a JWT verified like the ID token (always, for
    /// FranceConnect), or JSON where the provider allows it. Its `sub` must
    /// be the ID token's.
    async fn userinfo(
        &self,
        access_token: &str,
        sub: &str,
    ) -> Result<Map<String, Value>, UpstreamError> {
        let request = http::Request::get(self.config.endpoints.userinfo().as_str())
            .header(
                http::header::AUTHORIZATION,
                format!("Bearer {access_token}"),
            )
            .header(http::header::ACCEPT, "application/jwt, application/json")
            .body(Vec::new())
            .map_err(|_| UpstreamError::UserinfoEndpoint(Unreachable::Unexpected))?;
        let response = self
            .http
            .send(request)
            .await
            .map_err(|e| UpstreamError::UserinfoEndpoint(Unreachable::Http(e)))?;
        if !response.status().is_success() {
            return Err(UpstreamError::UserinfoEndpoint(Unreachable::Status(
                response.status().as_u16(),
            )));
        }
        let content_type = response
            .headers()
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let claims = if content_type.starts_with("application/jwt") {
            let token = std::str::from_utf8(response.body())
                .map_err(|_| UpstreamError::Userinfo(UserinfoRejected::NotText))?
                .trim();
            let signed = self
                .signed(token)
                .map_err(|e| UpstreamError::Userinfo(UserinfoRejected::Token(e)))?;
            self.keys
                .verify::<Map<String, Value>>(&signed, &self.validation())
                .await
                .map_err(|e| match e {
                    ProviderTokenError::Token(t) => {
                        UpstreamError::Userinfo(UserinfoRejected::Token(jose::nested_error(t)))
                    }
                    ProviderTokenError::Keys(k) => UpstreamError::Keys(k),
                })?
                .into_claims()
        } else if self.config.signed_userinfo_required {
            return Err(UpstreamError::Userinfo(UserinfoRejected::NotSigned));
        } else if content_type.starts_with("application/json") {
            jose::parse_json_object(response.body())
                .map_err(|e| UpstreamError::Userinfo(UserinfoRejected::Json(e)))?
        } else {
            return Err(UpstreamError::UserinfoEndpoint(Unreachable::Unexpected));
        };
        match claims.get("sub") {
            Some(Value::String(s)) if s == sub => Ok(claims),
            _ => Err(UpstreamError::Userinfo(UserinfoRejected::SubMismatch)),
        }
    }

    /// The signed token to verify: `token` itself, or, for a provider that
    /// encrypts, the signed JWT inside it (a token that is only signed is
    /// refused then).
    fn signed(&self, token: &str) -> Result<String, jose::Error> {
        let Some(decryption) = &self.config.decryption else {
            return Ok(token.to_owned());
        };
        let plaintext = decryption.decrypt_signed(token.as_bytes())?;
        // decrypt_signed checked the shape of a compact JWS, all ASCII dots
        // and base64url; anything else fails here, not later.
        String::from_utf8(plaintext).map_err(|_| jose::JweError::NotASignedJwt.into())
    }

    /// A `private_key_jwt` client assertion (RFC 7523): `iss` and `sub` the
    /// client id, `aud` the token endpoint, a minute of life, a random `jti`.
    fn client_assertion(&self, key: &SigningKey) -> Result<String, UpstreamError> {
        let now = self.clock.unix_seconds();
        let mut jti = [0u8; 16];
        jose::crypto::fill_random(&mut jti);
        let claims = serde_json::json!({
            "iss": self.config.client_id,
            "sub": self.config.client_id,
            "aud": self.config.endpoints.token().as_str(),
            "iat": now,
            "exp": now + CLIENT_ASSERTION_TTL,
            "jti": jti.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        });
        key.sign(&claims)
            .map_err(|_| UpstreamError::TokenEndpoint(Unreachable::Unexpected))
    }

    /// The provider's logout URL, if it has one.
    pub(crate) fn end_session_url(
        &self,
        id_token: &str,
        state: &str,
        post_logout_redirect_uri: &str,
    ) -> Option<Url> {
        let mut url = self.config.endpoints.end_session()?.clone();
        url.query_pairs_mut()
            .append_pair("id_token_hint", id_token)
            .append_pair("state", state)
            .append_pair("post_logout_redirect_uri", post_logout_redirect_uri);
        Some(url)
    }
}

/// Lends our [`HttpClient`] to `openidconnect`.
struct Http<'a>(&'a dyn HttpClient);

impl<'c> openidconnect::AsyncHttpClient<'c> for Http<'_> {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        self.0.send(request)
    }
}
