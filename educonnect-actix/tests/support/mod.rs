//! A real actix-web server on loopback around a gateway, and a client that
//! follows no redirect.

#![allow(dead_code)]

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpResponse, HttpServer, web};
use async_trait::async_trait;
use educonnect_actix::{
    CurrentUser, ForPupil, OptionalUser, SessionMiddleware, WithLegalAuthority, scope,
};
use educonnect_core::flow::Gateway;
use educonnect_core::flow::access::{Relation, WhenAnonymous};
use educonnect_core::store::{Store, StoreError};

/// A running service.
pub(crate) struct Service {
    pub(crate) base: String,
    handle: ServerHandle,
}

impl Service {
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) async fn stop(self) {
        self.handle.stop(false).await;
    }
}

async fn me(CurrentUser(user): CurrentUser) -> String {
    format!("sub={}", user.identity().sub())
}

async fn maybe(OptionalUser(user): OptionalUser) -> String {
    match user {
        Some(user) => format!("sub={}", user.identity().sub()),
        None => "anonymous".into(),
    }
}

fn relation(relation: &Relation) -> String {
    match relation {
        Relation::Themselves => "themselves".into(),
        Relation::Guardian {
            legal_authority, ..
        } => format!("guardian legal_authority={legal_authority}"),
    }
}

async fn pupil(access: ForPupil) -> String {
    format!(
        "pupil={} {}",
        access.pupil().local(),
        relation(access.grant().relation())
    )
}

async fn sign(access: WithLegalAuthority) -> String {
    format!(
        "signed for {} by {}",
        access.pupil().local(),
        access.session().identity().sub()
    )
}

/// A loopback port, bound before the gateway is built (its public URL
/// is the service's address).
pub(crate) struct Listener {
    listener: TcpListener,
    pub(crate) base: String,
}

pub(crate) fn bind() -> Listener {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    Listener { listener, base }
}

/// Starts the service on a new port: see [`serve_on`].
pub(crate) async fn serve(gateway: Gateway, middleware: Option<WhenAnonymous>) -> Service {
    serve_on(bind(), gateway, middleware).await
}

/// Starts the service: the session middleware (unless `middleware` is
/// `None`), the gateway's scope and a few guarded routes.
pub(crate) async fn serve_on(
    listener: Listener,
    gateway: Gateway,
    middleware: Option<WhenAnonymous>,
) -> Service {
    let Listener { listener, base } = listener;
    let server = HttpServer::new(move || {
        let routes = web::scope("")
            .service(scope(gateway.clone()))
            .route("/me", web::get().to(me))
            .route("/maybe", web::get().to(maybe))
            .route("/eleves/{pupil}", web::get().to(pupil))
            .route("/eleves/{pupil}/signer", web::post().to(sign))
            // Wired wrong: no `{pupil}` in the path.
            .route("/sans-eleve", web::get().to(pupil))
            .route(
                "/public",
                web::get().to(|| async { HttpResponse::Ok().body("public") }),
            );
        let session =
            middleware.map(|when| SessionMiddleware::new(gateway.clone()).when_anonymous(when));
        App::new().service(routes.wrap(actix_web::middleware::Condition::new(
            session.is_some(),
            session.unwrap_or_else(|| SessionMiddleware::new(gateway.clone())),
        )))
    })
    .workers(1)
    .disable_signals()
    .shutdown_timeout(1)
    .listen(listener)
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    Service { base, handle }
}

/// Asserts that `response` is `core` as it left the core: same status,
/// every header value of the core's (several `Set-Cookie` included) in the
/// same order, same body byte for byte. Actix may only add its own
/// `content-length` and `date`.
pub(crate) async fn assert_exactly(
    response: reqwest::Response,
    core: http::Response<bytes::Bytes>,
) {
    assert_eq!(response.status(), core.status());
    for name in core.headers().keys() {
        let expected: Vec<_> = core.headers().get_all(name).iter().collect();
        let got: Vec<_> = response.headers().get_all(name).iter().collect();
        assert_eq!(got, expected, "{name}");
    }
    for name in response.headers().keys() {
        assert!(
            core.headers().contains_key(name) || name == "content-length" || name == "date",
            "actix added {name}"
        );
    }
    assert_eq!(response.bytes().await.unwrap(), core.body());
}

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// A store that is down: every call fails.
#[derive(Debug)]
pub(crate) struct DownStore;

fn down() -> StoreError {
    StoreError::Unavailable("connection refused".into())
}

#[async_trait]
impl Store for DownStore {
    async fn put_pending(&self, _: &str, _: Vec<u8>, _: Duration) -> Result<(), StoreError> {
        Err(down())
    }
    async fn take_pending(&self, _: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Err(down())
    }
    async fn create_session(&self, _: &str, _: Vec<u8>, _: Duration) -> Result<(), StoreError> {
        Err(down())
    }
    async fn read_session(&self, _: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Err(down())
    }
    async fn replace_session(
        &self,
        _: &str,
        _: Vec<u8>,
        _: Option<Duration>,
    ) -> Result<bool, StoreError> {
        Err(down())
    }
    async fn touch_session(&self, _: &str, _: Duration) -> Result<bool, StoreError> {
        Err(down())
    }
    async fn delete_session(&self, _: &str) -> Result<bool, StoreError> {
        Err(down())
    }
    async fn increment_counter(&self, _: &str, _: Duration) -> Result<u64, StoreError> {
        Err(down())
    }
    async fn read_counter(&self, _: &str) -> Result<u64, StoreError> {
        Err(down())
    }
    async fn reset_counter(&self, _: &str) -> Result<bool, StoreError> {
        Err(down())
    }
    async fn put_record(&self, _: &str, _: Vec<u8>) -> Result<(), StoreError> {
        Err(down())
    }
    async fn get_record(&self, _: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Err(down())
    }
    async fn delete_record(&self, _: &str) -> Result<bool, StoreError> {
        Err(down())
    }
}

pub(crate) fn down_store() -> Arc<dyn Store> {
    Arc::new(DownStore)
}
