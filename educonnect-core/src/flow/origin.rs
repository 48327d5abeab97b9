//! Which requests come from the service's own pages: the one rule behind
//! the gateway's forms (logout, birth-date answers) and the session of any
//! state-changing request or connection upgrade an adapter resolves.
//!
//! The session cookie is `SameSite=Lax`, which keeps it off cross-site
//! POSTs. It does not keep it off requests from another origin of the same
//! site (`autre.example.fr` posting to `ent.example.fr`), and academies'
//! services often share a site. Browsers say where a request comes from in
//! two headers that a page cannot forge. `Sec-Fetch-Site` is read first:
//! only `same-origin` (or `none`, a request the user made directly) passes.
//! Without it, `Origin` must be the service's own. `Origin: null` fails: a
//! page that sends no referrer gets it, and a page of another origin can
//! choose to be such a page. A request with neither header (not from a
//! browser, or from a very old one) passes: it carries no ambient
//! authority that the cookie's `SameSite` did not already limit.
//!
//! A WebSocket handshake is a `GET`, but not a safe one: it opens a
//! channel that acts in the user's name for as long as it lives, and
//! `SameSite=Lax` lets the cookie go along from any page of the same site.
//! Browsers send `Origin` and `Sec-Fetch-Site` with it, so it gets the rule
//! of state-changing requests ([`needs_same_origin`]). A plain `GET` from
//! elsewhere keeps the session: links from other sites must lead to a
//! logged-in page.

use http::{HeaderMap, HeaderName, Method, header};

/// `Sec-Fetch-Site`, a fetch metadata header.
pub(crate) const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// Whether a request with `headers` comes from `origin` (the service's
/// own, as `scheme://host[:port]`) by the rule above.
pub(crate) fn is_same_origin(headers: &HeaderMap, origin: &str) -> bool {
    if let Some(site) = headers.get(SEC_FETCH_SITE) {
        return matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    match headers.get(header::ORIGIN) {
        Some(value) => value.as_bytes() == origin.as_bytes(),
        None => true,
    }
}

/// Whether `method` may change state: every method but the safe ones.
pub(crate) fn is_unsafe(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// Whether the request asks to switch protocols (a WebSocket handshake,
/// or any other HTTP/1.1 upgrade): an `Upgrade` header, or `upgrade`
/// among the `Connection` options. Either is enough, so that a proxy that
/// drops one of them does not turn a handshake into a plain `GET` here.
/// (A WebSocket over HTTP/2 is a `CONNECT`: a state-changing method
/// already.)
pub(crate) fn is_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        || headers
            .get_all(header::CONNECTION)
            .iter()
            .flat_map(|value| value.as_bytes().split(|&b| b == b','))
            .any(|option| option.trim_ascii().eq_ignore_ascii_case(b"upgrade"))
}

/// Whether a request must come from the service's own origin to carry the
/// session: a state-changing method, or a connection upgrade.
pub(crate) fn needs_same_origin(method: &Method, headers: &HeaderMap) -> bool {
    is_unsafe(method) || is_upgrade(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const OURS: &str = "https://ent.example.fr";

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        for (site, ok) in [
            ("same-origin", true),
            ("none", true),
            ("same-site", false),
            ("cross-site", false),
            ("SAME-ORIGIN", false),
            ("", false),
        ] {
            assert_eq!(
                is_same_origin(&headers(&[("sec-fetch-site", site)]), OURS),
                ok,
                "{site:?}"
            );
            // Whatever Origin says: a no-referrer page of ours sends null.
            let with_null = headers(&[("sec-fetch-site", site), ("origin", "null")]);
            assert_eq!(is_same_origin(&with_null, OURS), ok, "{site:?} + null");
        }
        let lying = headers(&[("sec-fetch-site", "cross-site"), ("origin", OURS)]);
        assert!(!is_same_origin(&lying, OURS));
    }

    #[test]
    fn otherwise_the_origin_must_be_ours() {
        assert!(is_same_origin(&headers(&[("origin", OURS)]), OURS));
        for other in [
            "null",
            "https://autre.example.fr",
            "http://ent.example.fr",
            "https://ent.example.fr:8443",
            "https://ent.example.fr/",
            "",
        ] {
            assert!(
                !is_same_origin(&headers(&[("origin", other)]), OURS),
                "{other:?}"
            );
        }
    }

    #[test]
    fn no_header_is_not_a_browser_request_from_elsewhere() {
        assert!(is_same_origin(&HeaderMap::new(), OURS));
    }

    #[test]
    fn finding_12_a_websocket_handshake_needs_our_origin() {
        let handshake = headers(&[
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("sec-fetch-site", "same-site"),
        ]);
        assert!(is_upgrade(&handshake));
        assert!(needs_same_origin(&Method::GET, &handshake));
        assert!(!is_same_origin(&handshake, OURS));
        for pairs in [
            &[("upgrade", "websocket")][..],
            &[("connection", "keep-alive, Upgrade")][..],
            &[("connection", "UPGRADE")][..],
        ] {
            assert!(
                needs_same_origin(&Method::GET, &headers(pairs)),
                "{pairs:?}"
            );
        }
        for pairs in [
            &[][..],
            &[("connection", "keep-alive")][..],
            &[("connection", "upgrade-insecure")][..],
            &[("sec-fetch-site", "cross-site")][..],
        ] {
            assert!(
                !needs_same_origin(&Method::GET, &headers(pairs)),
                "{pairs:?}"
            );
        }
    }

    #[test]
    fn only_safe_methods_are_safe() {
        for method in [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE] {
            assert!(!is_unsafe(&method), "{method}");
        }
        for method in [
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::from_bytes(b"PROPFIND").unwrap(),
        ] {
            assert!(is_unsafe(&method), "{method}");
        }
    }
}
