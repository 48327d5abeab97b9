//! The few pages the gateway shows itself, in French: the choice of a
//! provider, errors, the logout confirmation. Every response carries the
//! security headers; pages have a strict Content-Security-Policy whose only
//! allowance is the hash of their own style sheet.

use std::fmt::Write;
use std::sync::OnceLock;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};

use crate::html;
pub(crate) use crate::html::escape;

const STYLE: &str = "body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,Arial,sans-serif;\
margin:0;padding:1.5rem;color:#161616;background:#f6f6f6;line-height:1.5}\
main{max-width:32rem;margin:2rem auto;background:#fff;padding:1.5rem 2rem;border-radius:.5rem;\
box-shadow:0 1px 3px rgba(0,0,0,.2)}h1{font-size:1.5rem;margin-top:0}\
a.button,button{display:block;width:100%;box-sizing:border-box;margin:.75rem 0;padding:.8rem 1rem;\
font-size:1rem;text-align:center;text-decoration:none;color:#fff;background:#000091;border:0;\
border-radius:.25rem;cursor:pointer}a.button:focus,button:focus{outline:3px solid #0a76f6;\
outline-offset:2px}.reference{font-family:ui-monospace,monospace;background:#eee;padding:.1rem .3rem}\
a.button.secondary,.secondary{color:#000091;background:#fff;border:1px solid #000091}";

/// The page's Content-Security-Policy: nothing but its own style.
fn content_security_policy() -> &'static HeaderValue {
    static CSP: OnceLock<HeaderValue> = OnceLock::new();
    CSP.get_or_init(|| policy_with_form_targets(&[]))
}

/// The policy of a page whose form submission is answered with a redirect
/// to `origins` (the logout, which continues at the providers).
pub(crate) fn policy_with_form_targets(origins: &[String]) -> HeaderValue {
    html::inline_style_policy(STYLE, origins)
}

/// The headers on everything the gateway answers ([`html::set_security_headers`]).
pub(crate) fn secure_headers(headers: &mut http::HeaderMap) {
    html::set_security_headers(headers, content_security_policy().clone());
}

/// A whole page: `title` is text, `body` is HTML already escaped.
pub(crate) fn page(status: StatusCode, title: &str, body: &str) -> Response<Bytes> {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n\
         <h1>{title}</h1>\n{body}\n</main>\n</body>\n</html>\n",
        title = escape(title),
    );
    let mut response = Response::new(Bytes::from(html));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure_headers(response.headers_mut());
    response
}

/// The provider choice: one button per provider, each a link to `login`.
pub(crate) fn provider_choice(choices: &[(String, String)]) -> Response<Bytes> {
    let mut body = String::from(
        "<p>Choisissez comment vous connecter.</p>\n<nav aria-label=\"Moyens de connexion\">\n",
    );
    for (href, label) in choices {
        let _ = writeln!(
            body,
            "<a class=\"button\" href=\"{}\">Se connecter avec {}</a>",
            escape(href),
            escape(label)
        );
    }
    body.push_str("</nav>");
    page(StatusCode::OK, "Connexion", &body)
}

/// An error: a short explanation and the reference to quote.
pub(crate) fn error(
    status: StatusCode,
    title: &str,
    message: &str,
    reference: &str,
) -> Response<Bytes> {
    let body = format!(
        "<p>{}</p>\n<p>Si le problème persiste, contactez l'assistance en indiquant la référence \
         <span class=\"reference\">{}</span>.</p>\n<p><a class=\"button secondary\" href=\"/\">Retour à l'accueil</a></p>",
        escape(message),
        escape(reference)
    );
    page(status, title, &body)
}

/// The logout confirmation: logout is a POST, so that another site cannot
/// log the user out with a link.
pub(crate) fn logout_confirmation(action: &str, policy: &HeaderValue) -> Response<Bytes> {
    let body = format!(
        "<form method=\"post\" action=\"{}\">\n<p>Voulez-vous vous déconnecter ?</p>\n\
         <button type=\"submit\">Se déconnecter</button>\n</form>\n\
         <p><a class=\"button secondary\" href=\"/\">Annuler</a></p>",
        escape(action)
    );
    let mut response = page(StatusCode::OK, "Déconnexion", &body);
    response
        .headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, policy.clone());
    response
}

/// After a FranceConnect login that no school record fits: the same page
/// whatever the records hold, so that it tells nothing about them.
pub(crate) fn no_child_found(return_to: &str) -> Response<Bytes> {
    let body = format!(
        "<p>Nous n'avons pas pu rattacher d'enfant à votre compte à partir des informations \
         transmises par FranceConnect.</p>\n<p>Pour que vos enfants soient rattachés, contactez \
         le secrétariat de leur établissement, qui vérifiera les informations enregistrées \
         pour les responsables légaux.</p>\n\
         <p><a class=\"button\" href=\"{}\">Continuer</a></p>",
        escape(return_to)
    );
    page(StatusCode::OK, "Aucun enfant rattaché", &body)
}

/// A redirect (303, so that the browser follows with a GET).
pub(crate) fn redirect(location: &str) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    secure_headers(response.headers_mut());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_logout_confirmation_may_lead_to_the_providers_only() {
        let policy = policy_with_form_targets(&["https://idp.example".to_owned()]);
        let r = logout_confirmation("/auth/logout", &policy);
        let csp = r.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(
            csp.contains("form-action 'self' https://idp.example;"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"));
        // Other pages allow their own origin only.
        let r = page(StatusCode::OK, "x", "");
        let csp = r.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(csp.contains("form-action 'self';"), "{csp}");
        // Same-origin form posts keep their Origin header.
        assert_eq!(r.headers()[header::REFERRER_POLICY], "same-origin");
    }

    #[test]
    fn pages_are_french_escaped_and_locked_down() {
        let r = error(
            StatusCode::BAD_REQUEST,
            "Connexion impossible",
            "<script>",
            "AB12-CD34",
        );
        let html = std::str::from_utf8(r.body()).unwrap();
        assert!(html.contains("lang=\"fr\""));
        assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"));
        assert!(html.contains("AB12-CD34"));
        let csp = r.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"));
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
        // The style hash in the policy is the hash of the style in the page.
        let hash = crate::jose::crypto::sha256(STYLE.as_bytes());
        use base64::Engine;
        let hash = base64::engine::general_purpose::STANDARD.encode(hash.as_ref());
        assert!(csp.contains(&hash));
        assert!(html.contains(&format!("<style>{STYLE}</style>")));
    }
}
