//! Type conversions between actix-web (`http` 0.2 types) and the core
//! (`http` 1 types), by the string and byte forms both versions parse the
//! same way. Nothing here decides anything.

use actix_web::http::header::{
    HeaderMap as ActixHeaderMap, HeaderName as ActixHeaderName, HeaderValue as ActixHeaderValue,
};
use actix_web::http::{StatusCode as ActixStatusCode, Uri as ActixUri, Version as ActixVersion};
use actix_web::{HttpRequest, HttpResponse};
use bytes::Bytes;
use educonnect_core::flow::access::RESOLVE_HEADERS;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, Uri, Version};

/// A request's headers, every value of every name, in order. A header that
/// `http` 1 would not accept (none: both versions accept the same bytes)
/// is left out rather than failing the request.
pub(crate) fn headers(from: &ActixHeaderMap) -> HeaderMap {
    let mut out = HeaderMap::with_capacity(from.len());
    for (name, value) in from.iter() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            out.append(name, value);
        }
    }
    out
}

/// The headers resolving a request's session reads
/// ([`RESOLVE_HEADERS`]), and no others: the middleware converts them on
/// every request.
pub(crate) fn session_headers(from: &ActixHeaderMap) -> HeaderMap {
    let mut out = HeaderMap::new();
    for name in RESOLVE_HEADERS {
        for value in from.get_all(name.as_str()) {
            if let Ok(value) = HeaderValue::from_bytes(value.as_bytes()) {
                out.append(name.clone(), value);
            }
        }
    }
    out
}

/// A request's method. actix parsed it already, so it converts; were it
/// not to, it counts as a state-changing `POST`.
pub(crate) fn method(from: &actix_web::http::Method) -> Method {
    Method::from_bytes(from.as_str().as_bytes()).unwrap_or(Method::POST)
}

/// A request's URI; `None` if `http` 1 would not parse what actix did.
pub(crate) fn uri(from: &ActixUri) -> Option<Uri> {
    Uri::try_from(from.to_string()).ok()
}

/// A request for the gateway, with its body; `None` if its method or URI
/// does not convert (which actix's own parsing already rules out).
pub(crate) fn request(from: &HttpRequest, body: Bytes) -> Option<Request<Bytes>> {
    let method = Method::from_bytes(from.method().as_str().as_bytes()).ok()?;
    let uri = uri(from.uri())?;
    let version = match from.version() {
        ActixVersion::HTTP_09 => Version::HTTP_09,
        ActixVersion::HTTP_10 => Version::HTTP_10,
        ActixVersion::HTTP_2 => Version::HTTP_2,
        ActixVersion::HTTP_3 => Version::HTTP_3,
        _ => Version::HTTP_11,
    };
    let mut request = Request::new(body);
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = version;
    *request.headers_mut() = headers(from.headers());
    Some(request)
}

/// A core response as actix's parts: status, every header (several
/// `Set-Cookie` included), body.
#[derive(Debug, Clone)]
pub(crate) struct Parts {
    status: ActixStatusCode,
    headers: ActixHeaderMap,
    body: Bytes,
}

impl Parts {
    /// `None` if a status or header does not convert (none does: both
    /// versions accept the same codes and bytes). A response is never sent
    /// with a header missing: without its `Set-Cookie` or its
    /// `Content-Security-Policy` it would mean something else.
    pub(crate) fn from_core(from: Response<Bytes>) -> Option<Self> {
        let (head, body) = from.into_parts();
        let status = ActixStatusCode::from_u16(head.status.as_u16()).ok()?;
        let mut headers = ActixHeaderMap::with_capacity(head.headers.len());
        for (name, value) in &head.headers {
            let name = ActixHeaderName::from_bytes(name.as_str().as_bytes()).ok()?;
            let value = ActixHeaderValue::from_bytes(value.as_bytes()).ok()?;
            headers.append(name, value);
        }
        Some(Self {
            status,
            headers,
            body,
        })
    }

    /// The status.
    pub(crate) fn status(&self) -> ActixStatusCode {
        self.status
    }

    /// An actix response with the same status, headers and body.
    pub(crate) fn to_response(&self) -> HttpResponse {
        let mut response = HttpResponse::with_body(self.status, self.body.clone());
        *response.headers_mut() = self.headers.clone();
        response.map_into_boxed_body()
    }
}

/// A core response as an actix response; a bare 500 in the case that
/// cannot happen (see [`Parts::from_core`]).
pub(crate) fn response(from: Response<Bytes>) -> HttpResponse {
    match Parts::from_core(from) {
        Some(parts) => parts.to_response(),
        None => HttpResponse::InternalServerError().finish(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn every_header_value_crosses_both_ways() {
        let request = TestRequest::get()
            .uri("/auth/login?provider=fc&return_to=%2Flivret")
            .append_header(("cookie", "a=1"))
            .append_header(("cookie", "b=2"))
            .append_header(("x-custom", "v"))
            .to_http_request();
        let converted = super::request(&request, Bytes::from_static(b"body")).unwrap();
        assert_eq!(converted.method(), Method::GET);
        assert_eq!(
            converted.uri().path_and_query().unwrap().as_str(),
            "/auth/login?provider=fc&return_to=%2Flivret"
        );
        let cookies: Vec<_> = converted.headers().get_all("cookie").iter().collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        assert_eq!(converted.headers()["x-custom"], "v");
        assert_eq!(converted.body().as_ref(), b"body");

        let mut core = Response::new(Bytes::from_static(b"<p>page</p>"));
        *core.status_mut() = http::StatusCode::SEE_OTHER;
        core.headers_mut()
            .append(http::header::SET_COOKIE, HeaderValue::from_static("a=1"));
        core.headers_mut()
            .append(http::header::SET_COOKIE, HeaderValue::from_static("b=2"));
        core.headers_mut()
            .insert(http::header::LOCATION, HeaderValue::from_static("/x"));
        let parts = Parts::from_core(core).unwrap();
        assert_eq!(parts.status(), ActixStatusCode::SEE_OTHER);
        let actix = parts.to_response();
        let set: Vec<_> = actix.headers().get_all("set-cookie").collect();
        assert_eq!(set, ["a=1", "b=2"]);
        assert_eq!(actix.headers().get("location").unwrap(), "/x");
    }
}
