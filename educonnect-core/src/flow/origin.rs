//! Which requests come from the service's own pages: the one rule behind
//! the gateway's forms (logout, birth-date answers) and the session of any
//! state-changing request an adapter resolves.
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
