//! The gateway's routes, served under its base path.

use actix_web::{HttpRequest, HttpResponse, Scope, web};
use bytes::Bytes;
use educonnect_core::flow::Gateway;

use crate::convert;

/// Largest request body passed to the gateway: its forms (logout, the
/// birth-date challenge) are a few hundred bytes.
pub const MAX_BODY: usize = 64 * 1024;

/// The gateway's routes (login, callback, logout, verify, jwks: see
/// [`educonnect_core::flow`]) under its base path, `/auth` by default.
/// Every request under that path goes to [`Gateway::handle`] as it came
/// (method, URI, headers, body), and its response comes back whole
/// (status, every header, body): unknown routes get the gateway's 404,
/// wrong methods its 405.
///
/// Bodies over [`MAX_BODY`] are refused by actix with `413 Payload Too
/// Large` before reaching the gateway.
pub fn scope(gateway: Gateway) -> Scope {
    web::scope(gateway.base_path())
        .app_data(web::PayloadConfig::new(MAX_BODY))
        .default_service(web::to(move |request: HttpRequest, body: Bytes| {
            let gateway = gateway.clone();
            async move { handle(&gateway, &request, body).await }
        }))
}

async fn handle(gateway: &Gateway, request: &HttpRequest, body: Bytes) -> HttpResponse {
    match convert::request(request, body) {
        Some(request) => convert::response(gateway.handle(request).await),
        // Actix parsed the method and URI by the same rules: unreachable.
        None => HttpResponse::BadRequest().finish(),
    }
}
