//! What an HTML page needs to be served safely, as the gateway serves its
//! own: escaping (names and schools come from providers and export files,
//! untrusted), a Content-Security-Policy that allows one inline style sheet
//! by its hash and nothing else, and the headers every response carries.
//! For services that render the session's names or serve pages beside the
//! gateway's.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;
use http::header::{self, HeaderValue};

/// Escapes text for HTML content and for quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The Content-Security-Policy of a page whose only resource is the inline
/// `<style>` element `style`: no script, no image, no framing, forms only to
/// the page's own origin and to `form_targets` (origins a form's answer
/// redirects to: browsers hold those redirects to `form-action` too).
pub fn inline_style_policy(style: &str, form_targets: &[String]) -> HeaderValue {
    let hash = crate::jose::crypto::sha256(style.as_bytes());
    let mut form_action = String::from("'self'");
    for target in form_targets {
        form_action.push(' ');
        form_action.push_str(target);
    }
    let policy = format!(
        "default-src 'none'; style-src 'sha256-{}'; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'",
        STANDARD.encode(hash.as_ref())
    );
    // An origin with a character a header cannot hold: the strictest policy.
    HeaderValue::from_str(&policy)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"))
}

/// The headers on everything the gateway answers, pages and redirects, with
/// `policy` as the Content-Security-Policy: no caching (responses carry
/// cookies, codes or a family's data), no framing, no referrer to other
/// sites (the callback URL holds the authorization code), no sniffing.
///
/// `Referrer-Policy: same-origin` rather than `no-referrer`: under
/// `no-referrer` browsers send `Origin: null` with a form POST, which a
/// service checking where its forms come from must refuse.
pub fn set_security_headers(headers: &mut HeaderMap, policy: HeaderValue) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::CONTENT_SECURITY_POLICY, policy);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_html_interprets() {
        assert_eq!(
            escape(r#"<a href="x" title='y'>Zoé & Noé</a>"#),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;Zoé &amp; Noé&lt;/a&gt;"
        );
    }

    #[test]
    fn a_policy_allows_its_style_and_named_form_targets_only() {
        let policy = inline_style_policy("body{}", &["https://idp.example".to_owned()]);
        let policy = policy.to_str().unwrap();
        let hash = STANDARD.encode(crate::jose::crypto::sha256(b"body{}"));
        assert!(
            policy.contains(&format!("style-src 'sha256-{hash}'")),
            "{policy}"
        );
        assert!(
            policy.contains("form-action 'self' https://idp.example;"),
            "{policy}"
        );
        assert!(policy.starts_with("default-src 'none'"));
        // A target that cannot be a header value gives the strictest policy.
        let broken = inline_style_policy("", &["a\nb".to_owned()]);
        assert_eq!(broken, "default-src 'none'");
    }
}
