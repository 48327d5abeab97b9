//! The HTML the sandbox shows: the identity picker and the error and logout
//! pages. French, accessible (one `h1`, labels, visible focus, buttons in
//! reading order), usable on a phone, and under a strict Content Security
//! Policy: no script at all, styles only from `/sandbox.css`.

use std::fmt::Write;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use educonnect_core::flow::html::set_security_headers;

use crate::demo::{DemoClaims, DemoIdentity};

/// The one style sheet, served at `/sandbox.css`. Colours: text #161616 on
/// white (contrast 18:1), buttons white on #000091 (14:1), focus outline
/// #0a76f6 of 3 px; sizes in `rem` so that zoom works.
pub(crate) const CSS: &str = "\
*{box-sizing:border-box}\
body{margin:0;font-family:system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;font-size:1rem;line-height:1.5;color:#161616;background:#fff}\
main{max-width:40rem;margin:0 auto;padding:1rem}\
h1{font-size:1.5rem;margin:.5rem 0 1rem}\
.demo{border-left:.25rem solid #b34000;background:#fff4ed;padding:.5rem 1rem;margin:0 0 1rem}\
ul{list-style:none;padding:0;margin:0}\
li{margin:0 0 1rem;padding:0 0 1rem;border-bottom:1px solid #ddd}\
button{font:inherit;min-height:2.75rem;width:100%;padding:.5rem 1rem;border:0;border-radius:.25rem;background:#000091;color:#fff;cursor:pointer;text-align:left}\
button:hover{background:#1212ff}\
button.secondary{background:#fff;color:#000091;border:1px solid #000091;text-align:center}\
button:focus-visible,a:focus-visible{outline:3px solid #0a76f6;outline-offset:2px}\
a{color:#000091}\
p.details{margin:.25rem 0 0;color:#3a3a3a}\
code{word-break:break-all}\
";

pub(crate) use educonnect_core::flow::html::escape;

/// A whole page around `body` (already escaped HTML), with the security
/// headers. `form_action` is the CSP `form-action` source list.
pub(crate) fn page(status: StatusCode, title: &str, body: &str, form_action: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} – bac à sable EduConnect-rs</title>\n\
         <link rel=\"stylesheet\" href=\"/sandbox.css\">\n</head>\n<body>\n<main>\n\
         <p class=\"demo\" role=\"note\">Environnement de démonstration : identités fictives, \
         aucune donnée réelle. Ne jamais utiliser en production.</p>\n\
         <h1>{title}</h1>\n{body}\n</main>\n</body>\n</html>\n",
        title = escape(title),
    );
    let csp = format!(
        "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; \
         frame-ancestors 'none'; form-action {form_action}"
    );
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    let policy = HeaderValue::from_str(&csp)
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'"));
    set_security_headers(headers, policy);
    response
}

/// An error page: nothing is sent back to the service.
pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<p role=\"alert\">{}</p>\n<p>Aucune redirection n'a été faite vers le service.</p>",
        escape(message)
    );
    page(status, "Connexion impossible", &body, "'none'")
}

/// A date `YYYY-MM-DD` (parts may be `00`) as the French read it.
fn french_date(date: &str) -> String {
    let mut parts = date.split('-');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(y), Some("00"), _) => format!("en {y} (date présumée)"),
        (Some(y), Some(m), Some("00")) => format!("en {m}/{y} (jour présumé)"),
        (Some(y), Some(m), Some(d)) => format!("le {d}/{m}/{y}"),
        _ => date.to_owned(),
    }
}

fn details(identity: &DemoIdentity) -> String {
    match identity.claims {
        DemoClaims::FranceConnect(p) => {
            let born = if p.gender == "female" { "Née" } else { "Né" };
            let place = if p.birthplace.is_empty() {
                format!("à l'étranger (pays {})", p.birthcountry)
            } else {
                format!("commune {}", p.birthplace)
            };
            let usage = if p.preferred_username.is_empty() {
                String::new()
            } else {
                format!(", nom d'usage {}", p.preferred_username)
            };
            format!("{born} {}, {place}{usage}.", french_date(p.birthdate))
        }
        DemoClaims::EduConnect(e) => {
            let pupil = e.affiliations.iter().any(|a| a.starts_with("eleve"));
            if pupil {
                format!("Compte élève, établissement {}.", e.uai)
            } else {
                format!(
                    "Compte responsable, {} identifiant(s) AAF.",
                    e.ref_ids.len()
                )
            }
        }
    }
}

/// The identity picker: one button per demo identity, in one form posted
/// to `action` with the pending request's id.
pub(crate) fn picker(
    provider_name: &str,
    action: &str,
    request: &str,
    identities: &[&DemoIdentity],
    form_action: &str,
) -> Response {
    // `role="list"`: Safari and VoiceOver drop the list semantics of a
    // `ul` styled without bullets.
    let mut body = String::new();
    let _ = write!(
        body,
        "<p id=\"intro\">Choisissez l'identité fictive avec laquelle vous connecter \
         au service via {}.</p>\n<form method=\"post\" action=\"{}\">\n\
         <input type=\"hidden\" name=\"request\" value=\"{}\">\n<ul role=\"list\">\n",
        escape(provider_name),
        escape(action),
        escape(request),
    );
    for identity in identities {
        let _ = writeln!(
            body,
            "<li><button type=\"submit\" name=\"identity\" value=\"{id}\" \
             aria-describedby=\"details-{id}\">Se connecter en tant que {label}</button>\n\
             <p class=\"details\" id=\"details-{id}\">{details}</p></li>",
            id = escape(identity.id),
            label = escape(identity.label),
            details = escape(&details(identity)),
        );
    }
    body.push_str(
        "</ul>\n<button type=\"submit\" name=\"cancel\" value=\"1\" class=\"secondary\">\
         Annuler et revenir au service</button>\n</form>",
    );
    page(
        StatusCode::OK,
        &format!("Connexion avec {provider_name}"),
        &body,
        form_action,
    )
}

/// After a logout without a place to go back to.
pub(crate) fn logged_out() -> Response {
    page(
        StatusCode::OK,
        "Vous êtes déconnecté",
        "<p>Votre session de démonstration est terminée. Vous pouvez fermer cette page.</p>",
        "'none'",
    )
}
