//! EduConnect-rs for axum.
//!
//! Three pieces over the core's [`Gateway`]:
//!
//! - [`routes`]: a [`Router`] serving the gateway's own routes (login,
//!   callback, logout, the birth-date challenge…) under its base path;
//! - [`SessionLayer`]: a tower layer that reads the session once per
//!   request and leaves it in the request's extensions;
//! - extractors: [`CurrentUser`] (a session, or the login / 401),
//!   [`OptionalUser`], [`ForPupil`] (403 unless the user may act for the
//!   pupil named in the path) and [`WithLegalAuthority`] (403 unless they
//!   hold legal authority over them).
//!
//! Every decision is the core's ([`educonnect_core::flow::access`]); this
//! crate converts types and wires them into axum, nothing more.
//!
//! Pupils are named in paths by a parameter called `pupil`, holding
//! [`PupilId::to_url_segment`](educonnect_core::directory::PupilId::to_url_segment).
#![forbid(unsafe_code)]

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequestParts, RawPathParams, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use bytes::Bytes;
use http::request::Parts;
use tower_layer::Layer;
use tower_service::Service;

use educonnect_core::flow::access::{
    Denied, MAX_GATEWAY_BODY, PupilAccess, PupilRight, Refusal, RequestAccess, WhenAnonymous,
    payload_too_large,
};
use educonnect_core::flow::{Gateway, Session};

/// The path parameter [`ForPupil`] and [`WithLegalAuthority`] read:
/// routes are written `/eleves/{pupil}`.
pub use educonnect_core::flow::access::PUPIL_PARAM;

/// A router serving the gateway's routes under its base path (`/auth` by
/// default). Merge it into the service's router.
pub fn routes<S>(gateway: Gateway) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let base = gateway.base_path().to_owned();
    let handler = move |request: Request| {
        let gateway = gateway.clone();
        async move { handle(&gateway, request).await }
    };
    Router::new()
        .route(&base, any(handler.clone()))
        .route(&format!("{base}/{{*route}}"), any(handler))
}

async fn handle(gateway: &Gateway, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_GATEWAY_BODY).await else {
        return into_axum(payload_too_large());
    };
    let response = gateway.handle(http::Request::from_parts(parts, body)).await;
    into_axum(response)
}

fn into_axum(response: http::Response<Bytes>) -> Response {
    response.map(Body::from)
}

/// A tower layer that reads the session of every request (one store read
/// and touch) before the service sees it, and leaves it in the request's
/// extensions for the extractors. Requests for the gateway's own routes
/// are passed through untouched.
#[derive(Debug, Clone)]
pub struct SessionLayer {
    gateway: Gateway,
    when_anonymous: WhenAnonymous,
}

impl SessionLayer {
    /// A layer over `gateway`; a request that needs a user and has none is
    /// sent to the login.
    pub fn new(gateway: Gateway) -> Self {
        Self {
            gateway,
            when_anonymous: WhenAnonymous::default(),
        }
    }

    /// What to answer a request that needs a user and has none: the login
    /// (default, for pages) or a 401 (for APIs).
    #[must_use]
    pub fn when_anonymous(mut self, when_anonymous: WhenAnonymous) -> Self {
        self.when_anonymous = when_anonymous;
        self
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service [`SessionLayer`] wraps around the application.
#[derive(Debug, Clone)]
pub struct SessionService<S> {
    inner: S,
    layer: SessionLayer,
}

impl<S> Service<Request> for SessionService<S>
where
    S: Service<Request> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        // The clone is the one not yet polled ready: keep the ready one.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let layer = self.layer.clone();
        Box::pin(async move {
            if !layer.gateway.handles(request.uri().path()) {
                let access = RequestAccess::resolve(
                    &layer.gateway,
                    request.method(),
                    request.headers(),
                    layer.when_anonymous,
                )
                .await;
                request.extensions_mut().insert(access);
            }
            inner.call(request).await
        })
    }
}

/// The rejection of every extractor here: the core's refusal (a login
/// redirect, 401, 403, 404, 503 or 500), sent as is.
#[derive(Debug)]
pub struct Rejection(Refusal);

impl Rejection {
    /// Why the request was refused.
    pub fn reason(&self) -> &Denied {
        self.0.reason()
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        into_axum(self.0.into_response())
    }
}

fn access(parts: &Parts) -> Result<&RequestAccess, Rejection> {
    parts
        .extensions
        .get::<RequestAccess>()
        .ok_or_else(|| Rejection(Refusal::not_resolved()))
}

/// The request's path and query, where a login sends the user back.
fn target(parts: &Parts) -> &str {
    parts.uri.path_and_query().map_or("/", |p| p.as_str())
}

/// The logged-in user. Without one, the request is refused as
/// [`SessionLayer::when_anonymous`] says.
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Session);

impl<S: Send + Sync> FromRequestParts<S> for CurrentUser {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
        let session = access(parts)?.user(target(parts)).map_err(Rejection)?;
        Ok(Self(session.clone()))
    }
}

/// The logged-in user, if any. Refused only when the session store is down
/// (503), since the user may well be logged in.
#[derive(Debug, Clone)]
pub struct OptionalUser(pub Option<Session>);

impl<S: Send + Sync> FromRequestParts<S> for OptionalUser {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
        let session = access(parts)?
            .optional_user(target(parts))
            .map_err(Rejection)?;
        Ok(Self(session.cloned()))
    }
}

/// The user and the pupil named by the path parameter `pupil`, if the
/// user may act for them ([`FamilyClaims::authorize`]: by default a legal
/// guardian's verified link, wider under the gateway's
/// [`ActForPolicy`]; or the pupil themselves); otherwise 403 (404 when the
/// parameter names no pupil). Dereferences to [`PupilAccess`]:
/// `session()`, `grant()`, `pupil()`.
///
/// [`FamilyClaims::authorize`]: educonnect_core::filiation::FamilyClaims::authorize
/// [`ActForPolicy`]: educonnect_core::filiation::ActForPolicy
#[derive(Debug, Clone)]
pub struct ForPupil(PupilAccess);

/// As [`ForPupil`], but only for a user holding legal authority over the
/// pupil: for decisions and signed requests.
#[derive(Debug, Clone)]
pub struct WithLegalAuthority(PupilAccess);

macro_rules! pupil_access {
    ($type:ident) => {
        impl $type {
            /// The access, owned.
            pub fn into_inner(self) -> PupilAccess {
                self.0
            }
        }

        impl std::ops::Deref for $type {
            type Target = PupilAccess;

            fn deref(&self) -> &PupilAccess {
                &self.0
            }
        }
    };
}

pupil_access!(ForPupil);
pupil_access!(WithLegalAuthority);

async fn pupil_access(parts: &mut Parts, right: PupilRight) -> Result<PupilAccess, Rejection> {
    // An absent or malformed parameter is refused like a pupil that does
    // not exist, after the login check.
    let segment = match RawPathParams::from_request_parts(parts, &()).await {
        Ok(params) => params
            .iter()
            .find(|(name, _)| *name == PUPIL_PARAM)
            .map(|(_, value)| value.to_owned())
            .unwrap_or_default(),
        Err(_) => String::new(),
    };
    access(parts)?
        .pupil(target(parts), &segment, right)
        .map_err(Rejection)
}

impl<S: Send + Sync> FromRequestParts<S> for ForPupil {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
        pupil_access(parts, PupilRight::ActFor).await.map(Self)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for WithLegalAuthority {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Rejection> {
        pupil_access(parts, PupilRight::LegalAuthority)
            .await
            .map(Self)
    }
}

/// The crate README's example, compiled as a doctest.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
