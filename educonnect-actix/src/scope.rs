//! The gateway's routes, served under its base path.

use actix_web::{HttpRequest, HttpResponse, Scope, web};
use educonnect_core::flow::Gateway;
use educonnect_core::flow::access::{MAX_GATEWAY_BODY, payload_too_large};

use crate::convert;

/// The gateway's routes (login, callback, logout, verify, jwks: see
/// [`educonnect_core::flow`]) under its base path, `/auth` by default.
/// Every request under that path goes to [`Gateway::handle`] as it came
/// (method, URI, headers, body), and its response comes back whole
/// (status, every header, body): unknown routes get the gateway's 404,
/// wrong methods its 405.
///
/// Bodies over [`MAX_GATEWAY_BODY`] get the core's 413 page without
/// reaching the gateway.
pub fn scope(gateway: Gateway) -> Scope {
    web::scope(gateway.base_path()).default_service(web::to(
        move |request: HttpRequest, body: web::Payload| {
            let gateway = gateway.clone();
            async move { handle(&gateway, &request, body).await }
        },
    ))
}

async fn handle(gateway: &Gateway, request: &HttpRequest, body: web::Payload) -> HttpResponse {
    let body = match body.to_bytes_limited(MAX_GATEWAY_BODY).await {
        Ok(Ok(body)) => body,
        Ok(Err(_)) => return HttpResponse::BadRequest().finish(),
        Err(_) => return convert::response(payload_too_large()),
    };
    match convert::request(request, body) {
        Some(request) => convert::response(gateway.handle(request).await),
        // Actix parsed the method and URI by the same rules: unreachable.
        None => HttpResponse::BadRequest().finish(),
    }
}
