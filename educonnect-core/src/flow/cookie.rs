//! Reading the `Cookie` header and writing `Set-Cookie`.

use std::time::Duration;

use http::HeaderMap;
use http::header::{COOKIE, HeaderValue};

/// The value of cookie `name` in the request, if sent once. A name sent
/// twice (a sibling subdomain can plant one) is treated as absent rather
/// than guessed at.
///
/// Each header is read as bytes and split on `;`: a pair that is not
/// visible ASCII (another site's cookie with a Latin-1 or UTF-8 byte, say)
/// is skipped alone, and the other cookies of the header are still read.
pub(crate) fn read<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    let mut found = None;
    for header in headers.get_all(COOKIE) {
        for pair in header.as_bytes().split(|&b| b == b';') {
            let Some((k, v)) = pair_of(pair) else {
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

/// One `name=value` pair of a `Cookie` header, trimmed of the spaces
/// around it, if it is visible ASCII (spaces and tabs allowed around `=`).
fn pair_of(pair: &[u8]) -> Option<(&str, &str)> {
    let pair = pair.trim_ascii();
    if !pair
        .iter()
        .all(|&b| b.is_ascii_graphic() || b == b' ' || b == b'\t')
    {
        return None;
    }
    // Only ASCII bytes: always valid UTF-8.
    let pair = std::str::from_utf8(pair).ok()?;
    let (k, v) = pair.split_once('=')?;
    Some((k.trim(), v.trim()))
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
    fn finding_4_a_non_utf8_pair_hides_no_other_cookie() {
        let mut h = HeaderMap::new();
        h.append(
            COOKIE,
            HeaderValue::from_bytes(b"a=caf\xe9; s=abc; b=\xff\xfe; c=2").unwrap(),
        );
        assert_eq!(read(&h, "s"), Some("abc"));
        assert_eq!(read(&h, "c"), Some("2"));
        assert_eq!(read(&h, "a"), None);
        assert_eq!(read(&h, "b"), None);
        // In another header of the same request too.
        let mut h = HeaderMap::new();
        h.append(
            COOKIE,
            HeaderValue::from_bytes(b"x=\xc3\xa9t\xc3\xa9").unwrap(),
        );
        h.append(COOKIE, HeaderValue::from_static("s=abc"));
        assert_eq!(read(&h, "s"), Some("abc"));
        // Sent twice, one of them next to a non-UTF-8 pair: still absent.
        let mut h = HeaderMap::new();
        h.append(COOKIE, HeaderValue::from_bytes(b"s=one; z=\x80").unwrap());
        h.append(COOKIE, HeaderValue::from_static("s=two"));
        assert_eq!(read(&h, "s"), None);
    }

    #[test]
    fn spaces_around_pairs_and_equals_signs() {
        let h = headers(&["  s = abc ;t=1"]);
        assert_eq!(read(&h, "s"), Some("abc"));
        assert_eq!(read(&h, "t"), Some("1"));
        let h = headers(&["s=a b"]);
        assert_eq!(read(&h, "s"), Some("a b"));
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
