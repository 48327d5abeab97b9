//! The session middleware: resolves a request's session once, before the
//! handlers, and leaves the [`RequestAccess`] in the request's extensions.

use std::future::{Future, Ready, ready};
use std::pin::Pin;
use std::rc::Rc;

use actix_web::HttpMessage;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use educonnect_core::flow::Gateway;
use educonnect_core::flow::access::{RequestAccess, WhenAnonymous};

use crate::convert;

/// Reads every request's session through the [`Gateway`] (one store read
/// and touch) and keeps it for the extractors ([`CurrentUser`],
/// [`OptionalUser`], [`ForPupil`], [`WithLegalAuthority`]), which then
/// decide without touching the store again.
///
/// Requests under the gateway's base path are left alone: they are the
/// gateway's own, served by [`scope`].
///
/// ```no_run
/// # use educonnect_core::flow::Gateway;
/// # use educonnect_core::flow::access::WhenAnonymous;
/// # fn app(gateway: Gateway) {
/// use actix_web::App;
/// use educonnect_actix::{SessionMiddleware, scope};
///
/// let app = App::new()
///     .wrap(SessionMiddleware::new(gateway.clone()).when_anonymous(WhenAnonymous::Unauthorized))
///     .service(scope(gateway));
/// # }
/// ```
///
/// [`CurrentUser`]: crate::CurrentUser
/// [`OptionalUser`]: crate::OptionalUser
/// [`ForPupil`]: crate::ForPupil
/// [`WithLegalAuthority`]: crate::WithLegalAuthority
/// [`scope`]: crate::scope()
#[derive(Debug, Clone)]
pub struct SessionMiddleware {
    gateway: Gateway,
    when_anonymous: WhenAnonymous,
}

impl SessionMiddleware {
    /// A middleware reading sessions through `gateway`; anonymous requests
    /// to pages that need a user are sent to the login
    /// ([`WhenAnonymous::RedirectToLogin`]).
    pub fn new(gateway: Gateway) -> Self {
        Self {
            gateway,
            when_anonymous: WhenAnonymous::default(),
        }
    }

    /// What to answer a request that needs a user when there is none: a
    /// redirect to the login (pages, the default) or `401` (APIs).
    #[must_use]
    pub fn when_anonymous(mut self, when_anonymous: WhenAnonymous) -> Self {
        self.when_anonymous = when_anonymous;
        self
    }
}

impl<S, B> Transform<S, ServiceRequest> for SessionMiddleware
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = SessionService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(SessionService {
            service: Rc::new(service),
            config: Rc::new(self.clone()),
        }))
    }
}

/// The service [`SessionMiddleware`] puts around the application's.
pub struct SessionService<S> {
    service: Rc<S>,
    config: Rc<SessionMiddleware>,
}

impl<S> std::fmt::Debug for SessionService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionService")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<ServiceRequest> for SessionService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    forward_ready!(service);

    fn call(&self, request: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let config = Rc::clone(&self.config);
        Box::pin(async move {
            if !config.gateway.handles(request.path()) {
                let headers = convert::session_headers(request.headers());
                let method = convert::method(request.method());
                let access = RequestAccess::resolve(
                    &config.gateway,
                    &method,
                    &headers,
                    config.when_anonymous,
                )
                .await;
                request.extensions_mut().insert(access);
            }
            service.call(request).await
        })
    }
}
