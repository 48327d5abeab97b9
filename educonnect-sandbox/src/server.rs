//! The HTTP side: the FranceConnect v2 endpoints under `/api/v2`, the
//! EduConnect endpoints under `/idp/profile/oidc`, and the handlers they
//! share. State (pending requests, codes, access tokens, issued ID tokens)
//! lives in memory behind one mutex, never held across an `await`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use educonnect_core::BirthDate;
use educonnect_core::flow::ClientSecret;
use educonnect_core::jose::crypto::{fill_random, sha256};
use educonnect_core::jose::{Algorithm, ContentEncryption, EncryptionKey, KeySet, Validation};
use serde_json::{Map, Value, json};
use subtle::ConstantTimeEq;
use url::Url;

use crate::demo::{self, DemoClaims, DemoIdentity, DemoProvider};
use crate::keys::Keys;
use crate::pages;

/// FranceConnect's lifetimes: code 30 s, access token and ID token 60 s.
pub(crate) const CODE_TTL: i64 = 30;
pub(crate) const FC_ACCESS_TOKEN_TTL: i64 = 60;
const ID_TOKEN_TTL: i64 = 60;
/// EduConnect's access tokens last 600 s.
pub(crate) const EC_ACCESS_TOKEN_TTL: i64 = 600;
/// How long the identity picker waits for a choice.
const REQUEST_TTL: i64 = 10 * 60;
/// How long an ID token is accepted as `id_token_hint` at logout: the
/// length of FranceConnect's own session.
const SESSION_TTL: i64 = 30 * 60;
/// The most entries of each kind kept at once: the sandbox answers with an
/// error rather than grow without bound.
const MAX_ENTRIES: usize = 10_000;
/// FranceConnect's qualification rules: state and nonce of at least 22
/// characters.
const MIN_STATE_NONCE: usize = 22;

/// The parameters an authorization request may carry; FranceConnect refuses
/// any other.
const AUTHORIZE_PARAMS: &[&str] = &[
    "client_id",
    "response_type",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "acr_values",
    "claims",
    "prompt",
    "idp_hint",
    "ui_locales",
    "login_hint",
    "code_challenge",
    "code_challenge_method",
];

/// The FranceConnect scopes that release claims.
const FC_SCOPES: &[&str] = &[
    "openid",
    "given_name",
    "family_name",
    "birthdate",
    "gender",
    "birthplace",
    "birthcountry",
    "preferred_username",
    "email",
    "profile",
    "identite_pivot",
];

/// Which provider an endpoint plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    FranceConnect,
    EduConnect,
}

impl Side {
    fn demo(self) -> DemoProvider {
        match self {
            Self::FranceConnect => DemoProvider::FranceConnect,
            Self::EduConnect => DemoProvider::EduConnect,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::FranceConnect => "FranceConnect",
            Self::EduConnect => "ÉduConnect",
        }
    }

    fn login_path(self) -> &'static str {
        match self {
            Self::FranceConnect => "/api/v2/login",
            Self::EduConnect => "/idp/profile/oidc/login",
        }
    }
}

/// The configuration the server needs, checked by [`crate::Sandbox::start`].
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) base_url: String,
    pub(crate) client_id: String,
    pub(crate) client_secret: ClientSecret,
    pub(crate) redirect_uris: Vec<String>,
    pub(crate) post_logout_redirect_uris: Vec<String>,
    pub(crate) algorithm: Algorithm,
    /// Seconds.
    pub(crate) code_ttl: i64,
    /// Seconds, FranceConnect then EduConnect.
    pub(crate) access_token_ttl: (i64, i64),
    /// FranceConnect+ mode: where the client publishes its keys (the
    /// `private_key_jwt` key and the key tokens are encrypted to).
    pub(crate) plus_client_jwks: Option<String>,
}

impl Settings {
    pub(crate) fn franceconnect_issuer(&self) -> String {
        format!("{}/api/v2", self.base_url)
    }

    pub(crate) fn educonnect_base(&self) -> String {
        format!("{}/idp", self.base_url)
    }

    fn issuer(&self, side: Side) -> String {
        match side {
            Side::FranceConnect => self.franceconnect_issuer(),
            Side::EduConnect => self.educonnect_base(),
        }
    }
}

/// A request waiting at the identity picker.
#[derive(Debug)]
struct PendingRequest {
    side: Side,
    /// The eIDAS level granted: what was asked, `eidas1` on FranceConnect v2.
    acr: &'static str,
    redirect_uri: String,
    state: Option<String>,
    nonce: Option<String>,
    scopes: Vec<String>,
    code_challenge: Option<String>,
    expires_at: i64,
}

/// An authorization code, usable once. The sandbox knows one client: codes
/// and tokens are all its.
#[derive(Debug)]
struct CodeGrant {
    side: Side,
    acr: &'static str,
    redirect_uri: String,
    nonce: Option<String>,
    scopes: Vec<String>,
    code_challenge: Option<String>,
    identity: &'static DemoIdentity,
    auth_time: i64,
    expires_at: i64,
}

/// What an access token gives at the userinfo endpoint.
#[derive(Debug)]
struct AccessGrant {
    side: Side,
    /// FranceConnect+: the client's key the userinfo is encrypted to.
    encrypt_to: Option<EncryptionKey>,
    scopes: Vec<String>,
    identity: &'static DemoIdentity,
    expires_at: i64,
}

#[derive(Debug, Default)]
struct Grants {
    requests: HashMap<String, PendingRequest>,
    codes: HashMap<String, CodeGrant>,
    tokens: HashMap<String, AccessGrant>,
    /// SHA-256 of the ID tokens issued, for `id_token_hint`: the side and
    /// when the hint stops being accepted.
    id_tokens: HashMap<String, (Side, i64)>,
}

impl Grants {
    /// Drops what expired; `false` if still full.
    fn prune(&mut self, now: i64) -> bool {
        self.requests.retain(|_, r| r.expires_at > now);
        self.codes.retain(|_, c| c.expires_at > now);
        self.tokens.retain(|_, t| t.expires_at > now);
        self.id_tokens.retain(|_, (_, e)| *e > now);
        [
            self.requests.len(),
            self.codes.len(),
            self.tokens.len(),
            self.id_tokens.len(),
        ]
        .iter()
        .all(|n| *n < MAX_ENTRIES)
    }
}

pub(crate) struct Shared {
    settings: Settings,
    keys: Keys,
    /// The CSP `form-action` of the picker: itself, and the origins it
    /// redirects to (browsers check redirects after a form post too).
    form_action: String,
    grants: Mutex<Grants>,
}

impl Shared {
    pub(crate) fn new(settings: Settings, keys: Keys) -> Self {
        let mut form_action = String::from("'self'");
        for uri in &settings.redirect_uris {
            if let Ok(url) = Url::parse(uri) {
                let origin = url.origin().ascii_serialization();
                if !form_action.split(' ').any(|s| s == origin) {
                    form_action.push(' ');
                    form_action.push_str(&origin);
                }
            }
        }
        Self {
            settings,
            keys,
            form_action,
            grants: Mutex::new(Grants::default()),
        }
    }

    pub(crate) fn open_sessions(&self) -> usize {
        let now = now();
        self.grants()
            .id_tokens
            .values()
            .filter(|(_, expires_at)| *expires_at > now)
            .count()
    }

    fn grants(&self) -> MutexGuard<'_, Grants> {
        // A panic elsewhere while holding the lock leaves maps that are still
        // consistent (each change is one insert or remove).
        self.grants.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// 256 random bits, base64url.
    fn random_token(&self) -> Option<String> {
        let mut bytes = [0u8; 32];
        fill_random(&mut bytes);
        Some(URL_SAFE_NO_PAD.encode(bytes))
    }
}

type AppState = Arc<Shared>;

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/sandbox.css", get(css))
        // FranceConnect v2.
        .route(
            "/api/v2/.well-known/openid-configuration",
            get(fc_discovery),
        )
        .route("/api/v2/jwks", get(jwks))
        .route(
            "/api/v2/authorize",
            get(fc_authorize).post(fc_authorize_post),
        )
        .route("/api/v2/login", post(fc_login))
        .route("/api/v2/token", post(fc_token))
        .route("/api/v2/userinfo", get(fc_userinfo))
        .route("/api/v2/session/end", get(fc_session_end))
        // EduConnect.
        .route("/idp/.well-known/openid-configuration", get(ec_discovery))
        .route("/idp/profile/oidc/jwks", get(jwks))
        .route("/idp/profile/oidc/authorize", get(ec_authorize))
        .route("/idp/profile/oidc/login", post(ec_login))
        .route("/idp/profile/oidc/token", post(ec_token))
        .route("/idp/profile/oidc/userinfo", get(ec_userinfo))
        .route("/idp/profile/oidc/logout", get(ec_logout))
        .with_state(state)
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn sha256_b64(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha256(s.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Form or query parameters; `None` if one is repeated (ambiguous, so
/// refused, as OAuth 2.0 says).
fn params(raw: &[u8]) -> Option<HashMap<String, String>> {
    let mut map = HashMap::new();
    for (k, v) in url::form_urlencoded::parse(raw) {
        if map.insert(k.into_owned(), v.into_owned()).is_some() {
            return None;
        }
    }
    Some(map)
}

fn eq_ct(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

// --- static ------------------------------------------------------------------

async fn index(State(s): State<AppState>) -> Response {
    let settings = &s.settings;
    let body = format!(
        "<p>Fournisseur d'identité de démonstration, pour le développement et les tests.</p>\n\
         <ul>\n<li>FranceConnect v2 : <code>{}</code></li>\n<li>ÉduConnect : <code>{}</code></li>\n</ul>",
        pages::escape(&settings.franceconnect_issuer()),
        pages::escape(&settings.educonnect_base()),
    );
    pages::page(StatusCode::OK, "Bac à sable EduConnect-rs", &body, "'none'")
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=600"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        pages::CSS,
    )
        .into_response()
}

fn public_json(value: &Value) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=600"),
        ],
        value.to_string(),
    )
        .into_response()
}

async fn jwks(State(s): State<AppState>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=600"),
        ],
        s.keys.jwks().to_owned(),
    )
        .into_response()
}

fn discovery(s: &Shared, side: Side) -> Value {
    let issuer = s.settings.issuer(side);
    let (prefix, end_session) = match side {
        Side::FranceConnect => (issuer.clone(), format!("{issuer}/session/end")),
        Side::EduConnect => (
            format!("{issuer}/profile/oidc"),
            format!("{issuer}/profile/oidc/logout"),
        ),
    };
    let mut doc = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{prefix}/authorize"),
        "token_endpoint": format!("{prefix}/token"),
        "userinfo_endpoint": format!("{prefix}/userinfo"),
        "jwks_uri": format!("{prefix}/jwks"),
        "end_session_endpoint": end_session,
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
    });
    if side == Side::FranceConnect {
        doc["acr_values_supported"] = json!(["eidas1"]);
        doc["scopes_supported"] = json!(FC_SCOPES);
        doc["userinfo_signing_alg_values_supported"] = json!(["ES256", "RS256"]);
        doc["claims_supported"] = json!([
            "sub",
            "given_name",
            "given_name_array",
            "family_name",
            "birthdate",
            "idp_birthdate",
            "gender",
            "birthplace",
            "birthcountry",
            "preferred_username",
            "email",
            "acr",
            "amr",
            "auth_time"
        ]);
    }
    // FranceConnect+ over the same endpoints.
    if side == Side::FranceConnect && s.settings.plus_client_jwks.is_some() {
        doc["acr_values_supported"] = json!(["eidas2", "eidas3"]);
        doc["token_endpoint_auth_methods_supported"] = json!(["private_key_jwt"]);
        doc["token_endpoint_auth_signing_alg_values_supported"] = json!(["ES256", "RS256"]);
        doc["id_token_signing_alg_values_supported"] = json!(["ES256"]);
        let management = json!(["RSA-OAEP", "RSA-OAEP-256", "ECDH-ES"]);
        doc["id_token_encryption_alg_values_supported"] = management.clone();
        doc["id_token_encryption_enc_values_supported"] = json!(["A256GCM"]);
        doc["userinfo_encryption_alg_values_supported"] = management;
        doc["userinfo_encryption_enc_values_supported"] = json!(["A256GCM"]);
    }
    doc
}

async fn fc_discovery(State(s): State<AppState>) -> Response {
    public_json(&discovery(&s, Side::FranceConnect))
}

async fn ec_discovery(State(s): State<AppState>) -> Response {
    public_json(&discovery(&s, Side::EduConnect))
}

// --- authorize -----------------------------------------------------------------

async fn fc_authorize(State(s): State<AppState>, RawQuery(q): RawQuery) -> Response {
    authorize(&s, Side::FranceConnect, q.unwrap_or_default().as_bytes())
}

async fn fc_authorize_post(State(s): State<AppState>, body: Bytes) -> Response {
    authorize(&s, Side::FranceConnect, &body)
}

async fn ec_authorize(State(s): State<AppState>, RawQuery(q): RawQuery) -> Response {
    authorize(&s, Side::EduConnect, q.unwrap_or_default().as_bytes())
}

/// Sends the browser back to the service with an OAuth error (only once the
/// client and the redirect URI are known to be registered).
fn redirect_error(
    redirect_uri: &str,
    error: &str,
    description: &str,
    state: Option<&str>,
) -> Response {
    tracing::info!(error, description, "authorization request refused");
    let Ok(mut url) = Url::parse(redirect_uri) else {
        return pages::error(StatusCode::BAD_REQUEST, "L'adresse de retour est invalide.");
    };
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("error", error)
            .append_pair("error_description", description);
        if let Some(state) = state {
            q.append_pair("state", state);
        }
    }
    redirect(url.as_str())
}

fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (
            StatusCode::SEE_OTHER,
            [
                (header::LOCATION, value),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
        )
            .into_response(),
        Err(_) => pages::error(StatusCode::BAD_REQUEST, "L'adresse de retour est invalide."),
    }
}

fn authorize(s: &Shared, side: Side, raw: &[u8]) -> Response {
    let settings = &s.settings;
    let Some(p) = params(raw) else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "Un paramètre de la demande est répété.",
        );
    };
    let get = |k: &str| p.get(k).map(String::as_str).filter(|v| !v.is_empty());
    // Client and redirect URI first: until both are known, nothing may be
    // sent back (an open redirect otherwise).
    if !get("client_id").is_some_and(|c| eq_ct(c, &settings.client_id)) {
        tracing::info!("authorize: unknown client_id");
        return pages::error(StatusCode::BAD_REQUEST, "Le service demandeur est inconnu.");
    }
    let Some(redirect_uri) = get("redirect_uri") else {
        return pages::error(StatusCode::BAD_REQUEST, "L'adresse de retour est absente.");
    };
    if !settings.redirect_uris.iter().any(|u| u == redirect_uri) {
        tracing::info!("authorize: unregistered redirect_uri");
        return pages::error(
            StatusCode::BAD_REQUEST,
            "L'adresse de retour n'est pas enregistrée pour ce service.",
        );
    }
    if side == Side::FranceConnect
        && let Some(unknown) = p.keys().find(|k| !AUTHORIZE_PARAMS.contains(&k.as_str()))
    {
        // Debug formatting escapes what the caller chose to send.
        tracing::info!(parameter = ?unknown.chars().take(64).collect::<String>(), "authorize: unknown parameter");
        return pages::error(
            StatusCode::BAD_REQUEST,
            "La demande contient un paramètre inconnu.",
        );
    }
    let state = get("state");
    let fail =
        |error: &str, description: &str| redirect_error(redirect_uri, error, description, state);
    if get("response_type") != Some("code") {
        return fail("unsupported_response_type", "response_type must be code");
    }
    let scopes: Vec<String> = get("scope")
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if !scopes.iter().any(|s| s == "openid") {
        return fail("invalid_scope", "scope must contain openid");
    }
    let nonce = get("nonce");
    if side == Side::FranceConnect {
        if state.is_none_or(|v| v.len() < MIN_STATE_NONCE) {
            return fail("invalid_request", "state must have at least 22 characters");
        }
        if nonce.is_none_or(|v| v.len() < MIN_STATE_NONCE) {
            return fail("invalid_request", "nonce must have at least 22 characters");
        }
    }
    let asked = |level: &str| get("acr_values").is_some_and(|a| a.split(' ').any(|v| v == level));
    // FranceConnect+ grants the highest of the levels asked; v2 only eidas1.
    let acr = match (side, settings.plus_client_jwks.is_some()) {
        (Side::EduConnect, _) => "",
        (Side::FranceConnect, false) if asked("eidas1") => "eidas1",
        (Side::FranceConnect, false) => {
            return fail("invalid_request", "acr_values must ask for eidas1");
        }
        (Side::FranceConnect, true) if asked("eidas3") => "eidas3",
        (Side::FranceConnect, true) if asked("eidas2") => "eidas2",
        (Side::FranceConnect, true) => {
            return fail(
                "invalid_request",
                "acr_values must ask for eidas2 or eidas3",
            );
        }
    };
    if get("prompt").is_some_and(|p| p.split(' ').any(|v| v == "none")) {
        return fail("invalid_request", "prompt=none is not supported");
    }
    let code_challenge = match (get("code_challenge"), get("code_challenge_method")) {
        (None, None) => None,
        (Some(c), Some("S256"))
            if c.len() == 43
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
        {
            Some(c.to_owned())
        }
        _ => {
            return fail(
                "invalid_request",
                "PKCE: only a S256 code_challenge is accepted",
            );
        }
    };
    let Some(id) = s.random_token() else {
        return pages::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Le service est momentanément indisponible.",
        );
    };
    let now = now();
    {
        let mut grants = s.grants();
        if !grants.prune(now) {
            return pages::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Trop de demandes en cours. Réessayez plus tard.",
            );
        }
        grants.requests.insert(
            id.clone(),
            PendingRequest {
                side,
                acr,
                redirect_uri: redirect_uri.to_owned(),
                state: state.map(str::to_owned),
                nonce: nonce.map(str::to_owned),
                scopes,
                code_challenge,
                expires_at: now + REQUEST_TTL,
            },
        );
    }
    let identities: Vec<&DemoIdentity> = demo::of(side.demo()).collect();
    pages::picker(
        side.name(),
        side.login_path(),
        &id,
        &identities,
        &s.form_action,
    )
}

// --- the identity picker's answer ------------------------------------------------

async fn fc_login(State(s): State<AppState>, body: Bytes) -> Response {
    login(&s, Side::FranceConnect, &body)
}

async fn ec_login(State(s): State<AppState>, body: Bytes) -> Response {
    login(&s, Side::EduConnect, &body)
}

fn login(s: &Shared, side: Side, body: &[u8]) -> Response {
    let Some(p) = params(body) else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "Un paramètre de la demande est répété.",
        );
    };
    let now = now();
    // Taken once: a second post of the same form finds nothing.
    let pending = p
        .get("request")
        .and_then(|id| s.grants().requests.remove(id))
        .filter(|r| r.expires_at > now && r.side == side);
    let Some(pending) = pending else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "Cette demande de connexion a expiré ou a déjà été utilisée. Recommencez depuis le service.",
        );
    };
    let state = pending.state.as_deref();
    if p.contains_key("cancel") {
        return redirect_error(
            &pending.redirect_uri,
            "access_denied",
            "the user cancelled",
            state,
        );
    }
    let identity = p
        .get("identity")
        .and_then(|id| demo::identity(id))
        .filter(|i| i.provider() == side.demo());
    let Some(identity) = identity else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "Cette identité de démonstration n'existe pas.",
        );
    };
    let Some(code) = s.random_token() else {
        return pages::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Le service est momentanément indisponible.",
        );
    };
    let Ok(mut url) = Url::parse(&pending.redirect_uri) else {
        return pages::error(StatusCode::BAD_REQUEST, "L'adresse de retour est invalide.");
    };
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("code", &code);
        if let Some(state) = state {
            q.append_pair("state", state);
        }
    }
    {
        let mut grants = s.grants();
        if !grants.prune(now) {
            return pages::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "Trop de demandes en cours. Réessayez plus tard.",
            );
        }
        grants.codes.insert(
            code,
            CodeGrant {
                side,
                acr: pending.acr,
                redirect_uri: pending.redirect_uri.clone(),
                nonce: pending.nonce.clone(),
                scopes: pending.scopes.clone(),
                code_challenge: pending.code_challenge.clone(),
                identity,
                auth_time: now,
                expires_at: now.saturating_add(s.settings.code_ttl),
            },
        );
    }
    tracing::info!(identity = identity.id, "demo identity chosen");
    redirect(url.as_str())
}

// --- token -------------------------------------------------------------------------

/// An OAuth error from the token or userinfo endpoint.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    tracing::info!(error, description, "request refused");
    let mut response = (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        json!({"error": error, "error_description": description}).to_string(),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        let challenge = if error == "invalid_client" {
            "Basic realm=\"sandbox\""
        } else {
            "Bearer realm=\"sandbox\", error=\"invalid_token\""
        };
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    response
}

async fn fc_token(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let client = match &s.settings.plus_client_jwks {
        None => None,
        Some(uri) => match PlusClient::fetch(uri).await {
            Ok(client) => Some(client),
            Err(reason) => {
                tracing::info!(reason, "token: the client's keys are unavailable");
                return oauth_error(
                    StatusCode::UNAUTHORIZED,
                    "invalid_client",
                    "the client's jwks_uri gives no usable keys",
                );
            }
        },
    };
    token(&s, Side::FranceConnect, &headers, &body, client.as_ref())
}

async fn ec_token(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    token(&s, Side::EduConnect, &headers, &body, None)
}

/// A FranceConnect+ client's published keys, fetched from its `jwks_uri` at
/// each code exchange (as a provider does, to follow the client's
/// rotations): the keys its client assertions are signed with, and the first
/// `use: enc` key, which tokens are encrypted to.
struct PlusClient {
    signing: KeySet,
    encryption: EncryptionKey,
}

impl PlusClient {
    async fn fetch(uri: &str) -> Result<Self, &'static str> {
        let response = reqwest::Client::new()
            .get(uri)
            .timeout(std::time::Duration::from_secs(5))
            .send()
            .await
            .map_err(|_| "unreachable")?;
        if !response.status().is_success() {
            return Err("status");
        }
        let body = response.bytes().await.map_err(|_| "body")?;
        let signing = KeySet::from_jwks_json(&body).map_err(|_| "not a JWKS")?;
        let encryption = EncryptionKey::first_in_jwks(&body).map_err(|_| "no encryption key")?;
        Ok(Self {
            signing,
            encryption,
        })
    }

    /// Checks a `private_key_jwt` client assertion (RFC 7523): signed by one
    /// of the client's keys (ES256 or RS256), `iss` and `sub` the client id,
    /// `aud` the token endpoint, not expired.
    fn authenticates(&self, assertion: &str, client_id: &str, token_endpoint: &str) -> bool {
        Validation::new(client_id, token_endpoint)
            .algorithms([Algorithm::ES256, Algorithm::RS256])
            .verify::<Value>(assertion, &self.signing)
            .is_ok_and(|v| v.registered().sub() == client_id)
    }
}

/// The `sub` of an identity for this client: pairwise-like (one per
/// service, stable), in FranceConnect's shape (64 hex digits and `v1`).
fn sub(side: Side, client_id: &str, identity: &DemoIdentity) -> String {
    let d = sha256(format!("{side:?}\0{client_id}\0{}", identity.id).as_bytes());
    match side {
        Side::FranceConnect => format!("{}v1", hex(d.as_ref())),
        Side::EduConnect => hex(&d.as_ref()[..16]),
    }
}

fn token(
    s: &Shared,
    side: Side,
    headers: &HeaderMap,
    body: &[u8],
    plus: Option<&PlusClient>,
) -> Response {
    let settings = &s.settings;
    let Some(p) = params(body) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "repeated parameter",
        );
    };
    let get = |k: &str| p.get(k).map(String::as_str);
    if headers.contains_key(header::AUTHORIZATION) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "only client_secret_post is supported",
        );
    }
    let client_ok = get("client_id").is_some_and(|c| eq_ct(c, &settings.client_id))
        & match plus {
            // FranceConnect+: private_key_jwt only.
            Some(client) => {
                get("client_secret").is_none()
                    && get("client_assertion_type")
                        == Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
                    && get("client_assertion").is_some_and(|a| {
                        let endpoint = format!("{}/token", settings.franceconnect_issuer());
                        client.authenticates(a, &settings.client_id, &endpoint)
                    })
            }
            None => get("client_secret").is_some_and(|c| eq_ct(c, settings.client_secret.secret())),
        };
    if !client_ok {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
    }
    if get("grant_type") != Some("authorization_code") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only authorization_code",
        );
    }
    let now = now();
    // Removed before any other check: a code is spent by its first use,
    // right or wrong.
    let grant = get("code").and_then(|c| s.grants().codes.remove(c));
    let Some(grant) = grant.filter(|g| g.expires_at > now) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "unknown, expired or used code",
        );
    };
    if grant.side != side {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "code issued to another client",
        );
    }
    if get("redirect_uri") != Some(grant.redirect_uri.as_str()) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "redirect_uri differs",
        );
    }
    match (&grant.code_challenge, get("code_verifier")) {
        (None, None) => {}
        (Some(challenge), Some(verifier))
            if (43..=128).contains(&verifier.len()) && eq_ct(&sha256_b64(verifier), challenge) => {}
        _ => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "PKCE verification failed",
            );
        }
    }

    let sub = sub(side, &settings.client_id, grant.identity);
    let ttl = match side {
        Side::FranceConnect => settings.access_token_ttl.0,
        Side::EduConnect => settings.access_token_ttl.1,
    };
    let mut claims = Map::new();
    claims.insert("iss".into(), settings.issuer(side).into());
    claims.insert("sub".into(), sub.into());
    claims.insert("aud".into(), settings.client_id.clone().into());
    claims.insert("exp".into(), (now + ID_TOKEN_TTL).into());
    claims.insert("iat".into(), now.into());
    claims.insert("auth_time".into(), grant.auth_time.into());
    if let Some(nonce) = &grant.nonce {
        claims.insert("nonce".into(), nonce.clone().into());
    }
    if side == Side::FranceConnect {
        claims.insert("acr".into(), grant.acr.into());
        claims.insert("amr".into(), json!(["pwd"]));
    }
    let algorithm = match side {
        Side::FranceConnect => settings.algorithm,
        // EduConnect's algorithm is not public; ES256 like FranceConnect's.
        Side::EduConnect => Algorithm::ES256,
    };
    let encrypt_to = plus.map(|client| client.encryption.clone());
    let id_token = s
        .keys
        .sign(algorithm, &claims)
        .and_then(|signed| encrypted(signed, encrypt_to.as_ref()));
    let (Some(id_token), Some(access_token)) = (id_token, s.random_token()) else {
        return oauth_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "signing failed",
        );
    };
    {
        let mut grants = s.grants();
        if !grants.prune(now) {
            return oauth_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "too many tokens",
            );
        }
        grants.tokens.insert(
            access_token.clone(),
            AccessGrant {
                side,
                encrypt_to,
                scopes: grant.scopes.clone(),
                identity: grant.identity,
                expires_at: now.saturating_add(ttl),
            },
        );
        grants
            .id_tokens
            .insert(sha256_b64(&id_token), (side, now + SESSION_TTL));
    }
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": ttl,
            "id_token": id_token,
            "scope": grant.scopes.join(" "),
        })
        .to_string(),
    )
        .into_response()
}

/// `signed` as it is, or, for a FranceConnect+ client, encrypted to its key
/// (A256GCM, a nested JWT).
fn encrypted(signed: String, to: Option<&EncryptionKey>) -> Option<String> {
    match to {
        None => Some(signed),
        Some(key) => key
            .encrypt(signed.as_bytes(), ContentEncryption::A256Gcm, Some("JWT"))
            .ok(),
    }
}

// --- userinfo ------------------------------------------------------------------------

async fn fc_userinfo(State(s): State<AppState>, headers: HeaderMap) -> Response {
    userinfo(&s, Side::FranceConnect, &headers)
}

async fn ec_userinfo(State(s): State<AppState>, headers: HeaderMap) -> Response {
    userinfo(&s, Side::EduConnect, &headers)
}

/// `1992-11-00` → `1992-11-01`, `1992-00-00` → `1992-01-01`: FranceConnect's
/// completed form of a presumed date (the core reads unknown parts as 1).
fn completed_date(raw: &str) -> String {
    match BirthDate::parse_raw(raw) {
        Ok(d) => format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day()),
        // Demo data only; a test checks every demo date reads.
        Err(_) => raw.to_owned(),
    }
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `FrEduCtDateConnexion`'s format, `YYYY-MM-DD hh:mm:ss.mmm` (UTC).
fn connection_date(unix: i64) -> String {
    let (y, m, d) = civil_from_days(unix.div_euclid(86_400));
    let secs = unix.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}.000",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn pivot_claims(identity: &DemoIdentity, scopes: &[String], claims: &mut Map<String, Value>) {
    let DemoClaims::FranceConnect(p) = identity.claims else {
        return;
    };
    let has = |s: &str| scopes.iter().any(|x| x == s);
    let pivot = has("identite_pivot");
    if pivot || has("given_name") {
        claims.insert("given_name".into(), p.given_name.into());
        claims.insert(
            "given_name_array".into(),
            json!(
                p.given_name
                    .split(' ')
                    .filter(|w| !w.is_empty())
                    .collect::<Vec<_>>()
            ),
        );
    }
    if pivot || has("family_name") {
        claims.insert("family_name".into(), p.family_name.into());
    }
    if pivot || has("birthdate") {
        claims.insert("birthdate".into(), completed_date(p.birthdate).into());
        claims.insert("idp_birthdate".into(), p.birthdate.into());
    }
    if pivot || has("gender") {
        claims.insert("gender".into(), p.gender.into());
    }
    if pivot || has("birthplace") {
        claims.insert("birthplace".into(), p.birthplace.into());
    }
    if pivot || has("birthcountry") {
        claims.insert("birthcountry".into(), p.birthcountry.into());
    }
    if has("preferred_username") || has("profile") {
        claims.insert("preferred_username".into(), p.preferred_username.into());
    }
    if has("email") {
        claims.insert("email".into(), p.email.into());
    }
}

fn educonnect_claims(identity: &DemoIdentity, now: i64, claims: &mut Map<String, Value>) {
    let DemoClaims::EduConnect(e) = identity.claims else {
        return;
    };
    claims.insert("FrEduCtPersonAffiliation".into(), json!(e.affiliations));
    claims.insert("FrEduCtId".into(), e.educonnect_id.into());
    if !e.ref_ids.is_empty() {
        claims.insert("FrEduCtRefId".into(), json!(e.ref_ids));
    }
    if !e.vectors.is_empty() {
        claims.insert("FrEduVecteur".into(), json!(e.vectors));
    }
    claims.insert("given_name".into(), e.given_name.into());
    claims.insert("family_name".into(), e.family_name.into());
    claims.insert("FrEduOrigAuth".into(), "ECT".into());
    claims.insert("FrEduCtDateConnexion".into(), connection_date(now).into());
    for (name, value) in [
        ("FrEduCtDateNaissance", e.birth_date),
        ("FrEduCtEleveINE", e.ine),
        ("FrEduCtEleveUAI", e.uai),
        ("FrEduCtEleveNiveau", e.level),
    ] {
        if !value.is_empty() {
            claims.insert(name.into(), value.into());
        }
    }
}

fn userinfo(s: &Shared, side: Side, headers: &HeaderMap) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(token) = bearer else {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_token", "no bearer token");
    };
    let now = now();
    let found = {
        let grants = s.grants();
        grants
            .tokens
            .get(token)
            .filter(|g| g.expires_at > now && g.side == side)
            .map(|g| (g.scopes.clone(), g.identity, g.encrypt_to.clone()))
    };
    let Some((scopes, identity, encrypt_to)) = found else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "unknown or expired access token",
        );
    };
    let mut claims = Map::new();
    let client_id = &s.settings.client_id;
    claims.insert("sub".into(), sub(side, client_id, identity).into());
    match side {
        Side::FranceConnect => {
            claims.insert("iss".into(), s.settings.issuer(side).into());
            claims.insert("aud".into(), client_id.clone().into());
            claims.insert("iat".into(), now.into());
            claims.insert("exp".into(), (now + ID_TOKEN_TTL).into());
            pivot_claims(identity, &scopes, &mut claims);
            let jwt = s
                .keys
                .sign(s.settings.algorithm, &claims)
                .and_then(|signed| encrypted(signed, encrypt_to.as_ref()));
            let Some(jwt) = jwt else {
                return oauth_error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "signing failed",
                );
            };
            (
                [
                    (header::CONTENT_TYPE, "application/jwt"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                jwt,
            )
                .into_response()
        }
        Side::EduConnect => {
            educonnect_claims(identity, now, &mut claims);
            (
                [
                    (header::CONTENT_TYPE, "application/json"),
                    (header::CACHE_CONTROL, "no-store"),
                ],
                Value::Object(claims).to_string(),
            )
                .into_response()
        }
    }
}

// --- logout ----------------------------------------------------------------------------

async fn fc_session_end(State(s): State<AppState>, RawQuery(q): RawQuery) -> Response {
    logout(&s, Side::FranceConnect, q.unwrap_or_default().as_bytes())
}

async fn ec_logout(State(s): State<AppState>, RawQuery(q): RawQuery) -> Response {
    logout(&s, Side::EduConnect, q.unwrap_or_default().as_bytes())
}

fn logout(s: &Shared, side: Side, raw: &[u8]) -> Response {
    let Some(p) = params(raw) else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "Un paramètre de la demande est répété.",
        );
    };
    let get = |k: &str| p.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let target = get("post_logout_redirect_uri");
    if let Some(target) = target
        && !s
            .settings
            .post_logout_redirect_uris
            .iter()
            .any(|u| u == target)
    {
        tracing::info!("logout: unregistered post_logout_redirect_uri");
        return pages::error(
            StatusCode::BAD_REQUEST,
            "L'adresse de retour après déconnexion n'est pas enregistrée pour ce service.",
        );
    }
    let now = now();
    let known = get("id_token_hint").is_some_and(|hint| {
        let mut grants = s.grants();
        grants
            .id_tokens
            .remove(&sha256_b64(hint))
            .is_some_and(|(issued_by, expires_at)| issued_by == side && expires_at > now)
    });
    // FranceConnect requires the hint: it names the session to end.
    if !known && (side == Side::FranceConnect || get("id_token_hint").is_some()) {
        tracing::info!("logout: missing or unknown id_token_hint");
        return pages::error(
            StatusCode::BAD_REQUEST,
            "Cette session est inconnue ou déjà terminée.",
        );
    }
    let Some(target) = target else {
        return pages::logged_out();
    };
    let Ok(mut url) = Url::parse(target) else {
        return pages::error(StatusCode::BAD_REQUEST, "L'adresse de retour est invalide.");
    };
    if let Some(state) = get("state") {
        url.query_pairs_mut().append_pair("state", state);
    }
    redirect(url.as_str())
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Grants hold codes and tokens: never printed.
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(completed_date("1992-11-00"), "1992-11-01");
        assert_eq!(completed_date("1992-00-00"), "1992-01-01");
        assert_eq!(completed_date("1982-08-24"), "1982-08-24");
        for identity in demo::IDENTITIES {
            if let DemoClaims::FranceConnect(p) = identity.claims {
                assert!(BirthDate::parse_raw(p.birthdate).is_ok(), "{}", identity.id);
            }
        }
        assert_eq!(connection_date(0), "1970-01-01 00:00:00.000");
        assert_eq!(connection_date(1_790_000_000), "2026-09-21 14:13:20.000");
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert!(params(b"a=1&b=2").is_some());
        assert!(params(b"a=1&a=2").is_none());
    }
}
