//! One request through the proxy: identity headers stripped, the gateway's
//! routes answered, the rule found and decided by the core, the request
//! forwarded with the identity, a WebSocket tunnelled.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use educonnect_core::directory::PupilId;
use educonnect_core::flow::access::{
    Denied, MAX_GATEWAY_BODY, PupilRight, Refusal, RequestAccess, WhenAnonymous, payload_too_large,
};
use educonnect_core::flow::{Gateway, Session, html};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::uri::PathAndQuery;
use http::{Method, Request, Response, StatusCode, Uri, Version};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

use crate::config::ProxyConfig;
use crate::headers::{self, ClientAddr};
use crate::rules::{Access, Anonymous, PupilSource, RequestPath, Rule, Rules};
use crate::upstream::Upstream;

/// The body of every response the proxy sends.
pub type ProxyBody = BoxBody<Bytes, hyper::Error>;

/// The header nginx's `auth_request` subrequest carries the original
/// request's target in (`proxy_set_header X-Original-URI $request_uri;`);
/// without it, `/auth/check` refuses (403).
pub const ORIGINAL_URI: HeaderName = HeaderName::from_static("x-original-uri");
/// The original request's method (`proxy_set_header X-Original-Method
/// $request_method;`), for the cross-origin check of state-changing
/// requests; `GET` when absent.
pub const ORIGINAL_METHOD: HeaderName = HeaderName::from_static("x-original-method");

/// The reverse proxy: the gateway, the rules, the upstream. Cheap to clone.
#[derive(Clone)]
pub struct Proxy {
    inner: Arc<Inner>,
}

struct Inner {
    gateway: Gateway,
    rules: Rules,
    /// `scheme://authority` (for the logs), and the base path without a
    /// trailing `/`.
    upstream_origin: String,
    upstream_path: String,
    upstream_host: HeaderValue,
    proto: HeaderValue,
    check_path: String,
    upstream: Arc<Upstream>,
    audience: String,
    ttl: Duration,
    /// By a hash of the provider, the subject and when the session was
    /// created (no key string to make for each request); the entry says
    /// whose it is. foldhash, seeded per process: the entry is checked, and
    /// the map is bounded, so a collision costs a signature, never a wrong
    /// identity.
    assertions: Mutex<HashMap<u64, Cached, foldhash::fast::RandomState>>,
    hasher: foldhash::fast::RandomState,
}

struct Cached {
    provider: String,
    sub: String,
    created_at: SystemTime,
    /// The session the headers were made for, kept so that the same
    /// session (the core's cache hands out the same one while its record
    /// does not change) is recognised by address, without comparing its
    /// family claims field by field.
    session: Session,
    headers: Arc<Vec<(HeaderName, HeaderValue)>>,
    renew_at: Instant,
}

impl Cached {
    /// Whether these headers are those of `session` as it is now.
    fn is_for(&self, session: &Session) -> bool {
        let (mine, theirs) = (self.session.family(), session.family());
        self.created_at == session.created_at()
            && self.sub == session.identity().sub()
            && self.provider == session.provider()
            && (mine.map(std::ptr::from_ref) == theirs.map(std::ptr::from_ref) || mine == theirs)
    }
}

/// The most sessions whose assertion is kept; past it the cache starts
/// over (each entry is renewed at half its lifetime anyway).
const MAX_CACHED_ASSERTIONS: usize = 10_000;

/// What a rule allowed: nobody (a public rule), or the user and the pupil.
struct Allowed {
    session: Session,
    pupil: Option<PupilId>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("upstream", &self.inner.upstream_origin)
            .field("rules", &self.inner.rules.len())
            .finish_non_exhaustive()
    }
}

impl Proxy {
    /// A proxy in front of `config.upstream`, deciding by `config.rules`
    /// with `gateway` (built with an assertion key for the family
    /// assertion header).
    pub fn new(gateway: Gateway, config: &ProxyConfig) -> Self {
        let upstream = &config.upstream;
        let scheme = upstream.scheme_str().unwrap_or("http");
        let authority = upstream.authority().map_or("", |a| a.as_str());
        let proto = match &config.public_url {
            Some(url) if url.starts_with("https:") => "https",
            _ => "http",
        };
        let address = match upstream.authority() {
            Some(a) => format!("{}:{}", a.host(), a.port_u16().unwrap_or(80)),
            None => String::new(),
        };
        let check_path = format!("{}/check", gateway.base_path());
        Self {
            inner: Arc::new(Inner {
                upstream_origin: format!("{scheme}://{authority}"),
                upstream_path: upstream.path().trim_end_matches('/').to_owned(),
                upstream_host: HeaderValue::from_str(authority)
                    .unwrap_or_else(|_| HeaderValue::from_static("localhost")),
                proto: HeaderValue::from_static(proto),
                check_path,
                upstream: Upstream::new(address),
                gateway,
                rules: config.rules.clone(),
                audience: config.assertion.audience.clone(),
                ttl: config.assertion.ttl,
                assertions: Mutex::new(HashMap::default()),
                hasher: foldhash::fast::RandomState::default(),
            }),
        }
    }

    /// The gateway.
    pub fn gateway(&self) -> &Gateway {
        &self.inner.gateway
    }

    /// Answers one request from `client`.
    pub async fn handle(
        &self,
        request: Request<Incoming>,
        client: SocketAddr,
    ) -> Response<ProxyBody> {
        self.handle_from(request, &ClientAddr::new(client.ip()))
            .await
    }

    /// Answers one request from `client` (made once per connection).
    pub(crate) async fn handle_from(
        &self,
        mut request: Request<Incoming>,
        client: &ClientAddr,
    ) -> Response<ProxyBody> {
        // Before anything else, whatever the route.
        headers::strip_identity(request.headers_mut());
        let inner = &self.inner;
        let path = request.uri().path();
        if inner.gateway.handles(path) {
            if path == inner.check_path {
                return self.check(request.headers()).await;
            }
            return self.gateway_route(request).await;
        }
        let target = target_of(request.uri());
        let Ok(parsed) = RequestPath::parse(path) else {
            tracing::info!("ambiguous path refused");
            return bad_request();
        };
        let Some(rule) = inner.rules.find(&parsed) else {
            return no_rule(&inner.gateway, target);
        };
        let decision = self
            .decide(
                rule,
                &parsed,
                request.method(),
                request.headers(),
                request.uri().query(),
                target,
                match rule.anonymous() {
                    Anonymous::Login => WhenAnonymous::RedirectToLogin,
                    Anonymous::Unauthorized => WhenAnonymous::Unauthorized,
                },
            )
            .await;
        match decision {
            Ok(allowed) => self.forward(request, client, allowed).await,
            Err(refusal) => full(refusal.into_response()),
        }
    }

    /// The core's decision for `rule`.
    #[allow(clippy::too_many_arguments)]
    async fn decide(
        &self,
        rule: &Rule,
        path: &RequestPath,
        method: &Method,
        headers: &HeaderMap,
        query: Option<&str>,
        target: &str,
        when_anonymous: WhenAnonymous,
    ) -> Result<Option<Allowed>, Refusal> {
        let right = match rule.access() {
            Access::Public => return Ok(None),
            Access::LoggedIn => None,
            Access::ActFor => Some(PupilRight::ActFor),
            Access::LegalAuthority => Some(PupilRight::LegalAuthority),
        };
        let access =
            RequestAccess::resolve(&self.inner.gateway, method, headers, when_anonymous).await;
        let Some(right) = right else {
            let session = access.user(target)?;
            return Ok(Some(Allowed {
                session: session.clone(),
                pupil: None,
            }));
        };
        let segment = match rule.pupil() {
            Some(PupilSource::Segment(index)) => {
                path.segment(*index).unwrap_or_default().to_owned()
            }
            Some(PupilSource::Query(name)) => single_query_value(query, name).unwrap_or_default(),
            None => String::new(),
        };
        let (session, grant) = access.pupil(target, &segment, right)?.into_parts();
        Ok(Some(Allowed {
            session,
            pupil: Some(grant.pupil().clone()),
        }))
    }

    /// `GET {base}/check`: nginx's `auth_request`. 200 with the identity
    /// headers, 401 (with `Location`: the login) for nobody, 403 for a
    /// refusal, 503 when the session store is down.
    async fn check(&self, request_headers: &HeaderMap) -> Response<ProxyBody> {
        let inner = &self.inner;
        let target = request_headers
            .get(&ORIGINAL_URI)
            .and_then(|v| v.to_str().ok());
        let method = request_headers
            .get(&ORIGINAL_METHOD)
            .and_then(|m| Method::from_bytes(m.as_bytes()).ok())
            .unwrap_or(Method::GET);
        let status_only = |status: StatusCode| {
            let mut response = Response::new(empty());
            *response.status_mut() = status;
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        };
        // Without the original target, nothing can be judged: refused, not
        // judged as `/` (a misconfigured nginx must fail closed).
        let Some(target) = target else {
            tracing::error!(
                "GET /auth/check without X-Original-URI: add `proxy_set_header X-Original-URI $request_uri;`"
            );
            return status_only(StatusCode::FORBIDDEN);
        };
        let Ok(uri) = target.parse::<Uri>() else {
            return status_only(StatusCode::FORBIDDEN);
        };
        let target = target_of(&uri);
        // No exception for the gateway's routes: nginx sends those to the
        // proxy itself, and asks only about what goes to the upstream
        // (`/auth/../eleves/X` must not pass for a gateway route).
        let Ok(parsed) = RequestPath::parse(uri.path()) else {
            return status_only(StatusCode::FORBIDDEN);
        };
        let Some(rule) = inner.rules.find(&parsed) else {
            return status_only(StatusCode::FORBIDDEN);
        };
        let decision = self
            .decide(
                rule,
                &parsed,
                &method,
                request_headers,
                uri.query(),
                target,
                WhenAnonymous::Unauthorized,
            )
            .await;
        match decision {
            Ok(allowed) => {
                let mut response = status_only(StatusCode::OK);
                if let Some(allowed) = allowed {
                    self.set_identity(response.headers_mut(), &allowed);
                }
                response
            }
            Err(refusal) => match refusal.reason() {
                Denied::Anonymous => {
                    let mut response = status_only(StatusCode::UNAUTHORIZED);
                    if let Ok(login) = HeaderValue::from_str(&inner.gateway.login_path(target)) {
                        response.headers_mut().insert(header::LOCATION, login);
                    }
                    response
                }
                Denied::Unavailable => status_only(StatusCode::SERVICE_UNAVAILABLE),
                _ => status_only(StatusCode::FORBIDDEN),
            },
        }
    }

    /// One of the gateway's own routes.
    async fn gateway_route(&self, request: Request<Incoming>) -> Response<ProxyBody> {
        let (parts, body) = request.into_parts();
        let body = match Limited::new(body, MAX_GATEWAY_BODY).collect().await {
            Ok(body) => body.to_bytes(),
            Err(_) => return full(payload_too_large()),
        };
        full(
            self.inner
                .gateway
                .handle(Request::from_parts(parts, body))
                .await,
        )
    }

    /// The identity headers and the assertion of `allowed`.
    fn set_identity(&self, headers: &mut HeaderMap, allowed: &Allowed) {
        for (name, value) in self.identity(&allowed.session).iter() {
            headers.insert(name, value.clone());
        }
        if let Some(pupil) = &allowed.pupil {
            headers.insert(headers::PUPIL, headers::pupil_value(pupil));
        }
    }

    /// The session's identity headers with its family assertion, made once
    /// per session and kept for half the assertion's lifetime (signing on
    /// every request would cost more than the rest of the proxy), made
    /// again at once when the session's family claims changed. The values
    /// are shared, not copied, by every request of the session.
    fn identity(&self, session: &Session) -> Arc<Vec<(HeaderName, HeaderValue)>> {
        let inner = &self.inner;
        let key = inner.hasher.hash_one((
            session.provider(),
            session.identity().sub(),
            session.created_at(),
        ));
        let now = Instant::now();
        if let Ok(cache) = inner.assertions.lock()
            && let Some(cached) = cache.get(&key)
            && cached.renew_at > now
            && cached.is_for(session)
        {
            return cached.headers.clone();
        }
        let mut identity = headers::identity(session, None);
        if session.family().is_some() {
            match inner
                .gateway
                .family_assertion(session, &inner.audience, inner.ttl)
            {
                Ok(token) => match HeaderValue::from_str(&token) {
                    Ok(value) => identity.push((headers::FAMILY_ASSERTION, value)),
                    Err(_) => tracing::warn!("a family assertion that is no header value"),
                },
                Err(e) => tracing::warn!(error = %e, "no family assertion for this request"),
            }
        }
        let identity = Arc::new(identity);
        if let Ok(mut cache) = inner.assertions.lock() {
            if cache.len() >= MAX_CACHED_ASSERTIONS {
                cache.clear();
            }
            cache.insert(
                key,
                Cached {
                    provider: session.provider().to_owned(),
                    sub: session.identity().sub().to_owned(),
                    created_at: session.created_at(),
                    session: session.clone(),
                    headers: identity.clone(),
                    renew_at: now + inner.ttl / 2,
                },
            );
        }
        identity
    }

    /// Sends the request on to the upstream, with the identity.
    async fn forward(
        &self,
        mut request: Request<Incoming>,
        client: &ClientAddr,
        allowed: Option<Allowed>,
    ) -> Response<ProxyBody> {
        let inner = &self.inner;
        let upgrade =
            request.version() == Version::HTTP_11 && headers::wants_upgrade(request.headers());
        // In origin form, as HTTP/1.1 sends it: the request's own path and
        // query when the upstream has no base path (already checked by
        // `http`: shared, not parsed again).
        let path_and_query = match request.uri().path_and_query() {
            Some(p) if inner.upstream_path.is_empty() => Ok(p.clone()),
            p => PathAndQuery::try_from(format!(
                "{}{}",
                inner.upstream_path,
                p.map_or("/", |p| p.as_str())
            )),
        };
        let Ok(path_and_query) = path_and_query else {
            return bad_request();
        };
        let uri = Uri::from(path_and_query);
        // HTTP/2 names the host in the target (`:authority`).
        if !request.headers().contains_key(header::HOST)
            && let Some(authority) = request.uri().authority()
            && let Ok(host) = HeaderValue::from_str(authority.as_str())
        {
            request.headers_mut().insert(header::HOST, host);
        }
        let headers = request.headers_mut();
        headers::strip_hop_by_hop(headers, upgrade);
        headers::set_forwarded(headers, client, &inner.proto);
        headers.insert(header::HOST, inner.upstream_host.clone());
        if let Some(allowed) = &allowed {
            self.set_identity(headers, allowed);
        }
        *request.uri_mut() = uri;
        *request.version_mut() = Version::HTTP_11;
        let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut request));

        let mut response = match inner.upstream.send(request).await {
            Ok(response) => response,
            Err(e) => {
                tracing::warn!(error = %e, "upstream unreachable");
                return page(
                    StatusCode::BAD_GATEWAY,
                    "Service momentanément indisponible",
                );
            }
        };
        headers::strip_identity(response.headers_mut());
        if let Some(client_upgrade) = client_upgrade
            && response.status() == StatusCode::SWITCHING_PROTOCOLS
        {
            let upstream_upgrade = hyper::upgrade::on(&mut response);
            tokio::spawn(async move {
                match tokio::try_join!(client_upgrade, upstream_upgrade) {
                    Ok((client, upstream)) => {
                        let (mut client, mut upstream) =
                            (TokioIo::new(client), TokioIo::new(upstream));
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                    Err(e) => tracing::debug!(error = %e, "upgrade failed"),
                }
            });
            let (parts, _) = response.into_parts();
            return Response::from_parts(parts, empty());
        }
        headers::strip_hop_by_hop(response.headers_mut(), false);
        response.map(BodyExt::boxed)
    }
}

/// The request's path and query: where a login sends the user back.
fn target_of(uri: &Uri) -> &str {
    uri.path_and_query().map_or("/", |p| p.as_str())
}

/// The value of `name` in `query` if it is given exactly once (given
/// twice, an upstream could read the other one).
fn single_query_value(query: Option<&str>, name: &str) -> Option<String> {
    let mut found = None;
    for (key, value) in url::form_urlencoded::parse(query?.as_bytes()) {
        if key == name {
            if found.is_some() {
                return None;
            }
            found = Some(value.into_owned());
        }
    }
    found
}

fn empty() -> ProxyBody {
    Empty::new().map_err(|never| match never {}).boxed()
}

fn full(response: Response<Bytes>) -> Response<ProxyBody> {
    response.map(|body| Full::new(body).map_err(|never| match never {}).boxed())
}

/// A page of the proxy's own, with the gateway's security headers.
fn page(status: StatusCode, title: &str) -> Response<ProxyBody> {
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><title>{0}</title></head>\
         <body><h1>{0}</h1></body></html>\n",
        html::escape(title)
    );
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    html::set_security_headers(headers, html::inline_style_policy("", &[]));
    full(response)
}

fn bad_request() -> Response<ProxyBody> {
    page(StatusCode::BAD_REQUEST, "Requête invalide")
}

/// A path no rule covers: refused, as a page that does not exist.
fn no_rule(gateway: &Gateway, target: &str) -> Response<ProxyBody> {
    full(
        Refusal::new(
            gateway,
            Denied::NotAPupil,
            WhenAnonymous::RedirectToLogin,
            target,
        )
        .into_response(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_pupil_given_twice_is_nobody() {
        assert_eq!(
            single_query_value(Some("a=1&eleve=X"), "eleve").as_deref(),
            Some("X")
        );
        assert_eq!(single_query_value(Some("eleve=X&eleve=Y"), "eleve"), None);
        assert_eq!(single_query_value(Some("a=1"), "eleve"), None);
        assert_eq!(single_query_value(None, "eleve"), None);
    }
}
