//! Reading the `Cookie` header and writing `Set-Cookie`.

use std::time::Duration;

use http::HeaderMap;
use http::header::{COOKIE, HeaderValue};

/// The value of cookie `name` in the request, if sent once. A name sent
/// twice (a sibling subdomain can plant one) is treated as absent rather
/// than guessed at.
pub(crate) fn read<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut found = None;
    for header in headers.get_all(COOKIE) {
        let Ok(header) = header.to_str() else {
            continue;
        };
        for pair in header.split(';') {
            let Some((k, v)) = pair.trim().split_once('=') else {
                continue;
            };
            if k == name {
                if found.is_some() {
                    return None;
                }
                found = Some(v.trim_matches('"'));
            }
        }
    }
    found
}

/// Attributes common to the gateway's cookies.
#[derive(Debug, Clone)]
pub(crate) struct CookieAttrs {
    pub(crate) path: String,
    pub(crate) secure: bool,
}

impl CookieAttrs {
    /// `Set-Cookie` for `name=value`, `HttpOnly; SameSite=Lax`, `Secure`
    /// unless disabled for local development, expiring after `max_age`.
    pub(crate) fn set(&self, name: &str, value: &str, max_age: Duration) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let header = format!(
            "{name}={value}; Path={}; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
            self.path,
            max_age.as_secs()
        );
        // Names, paths and values are ours: letters, digits, '/', '-', '_'.
        HeaderValue::from_str(&header).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// `Set-Cookie` removing cookie `name`.
    pub(crate) fn clear(&self, name: &str) -> HeaderValue {
        self.set(name, "", Duration::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(COOKIE, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn reads_one_cookie() {
        let h = headers(&["a=1; educonnect_session=abc; b=2"]);
        assert_eq!(read(&h, "educonnect_session"), Some("abc"));
        assert_eq!(read(&h, "missing"), None);
        let h = headers(&["a=1", "educonnect_session=\"xyz\""]);
        assert_eq!(read(&h, "educonnect_session"), Some("xyz"));
    }

    #[test]
    fn a_cookie_sent_twice_is_ignored() {
        let h = headers(&["s=one; s=two"]);
        assert_eq!(read(&h, "s"), None);
        let h = headers(&["s=one", "s=two"]);
        assert_eq!(read(&h, "s"), None);
    }

    #[test]
    fn writes_attributes() {
        let attrs = CookieAttrs {
            path: "/".into(),
            secure: true,
        };
        let v = attrs.set("s", "v", Duration::from_secs(60));
        assert_eq!(v, "s=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure");
        let local = CookieAttrs {
            path: "/auth".into(),
            secure: false,
        };
        assert_eq!(
            local.clear("s"),
            "s=; Path=/auth; Max-Age=0; HttpOnly; SameSite=Lax"
        );
    }
}
