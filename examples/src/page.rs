//! The examples' page shell: French, readable on a phone, one style sheet
//! allowed by its hash and nothing else, never cached.

use std::fmt::Write;
use std::sync::OnceLock;

use educonnect_core::flow::html;
pub use educonnect_core::flow::html::escape;
use educonnect_core::flow::{Gateway, Session};
use http::header::{self, HeaderValue};
use http::{Response, StatusCode};

const STYLE: &str = "\
*{box-sizing:border-box}\
body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,Arial,sans-serif;margin:0;color:#161616;\
background:#f6f6f6;line-height:1.5}\
header{background:#fff;border-bottom:1px solid #ddd;padding:.75rem 1rem;display:flex;flex-wrap:wrap;\
align-items:center;justify-content:space-between;gap:.5rem}\
header .brand{font-weight:700;color:#000091;text-decoration:none;font-size:1.1rem}\
header form{margin:0}\
main{max-width:40rem;margin:1.5rem auto;background:#fff;padding:1.25rem 1.5rem;border-radius:.5rem;\
box-shadow:0 1px 3px rgba(0,0,0,.2)}\
h1{font-size:1.5rem;margin-top:0}h2{font-size:1.2rem}\
a{color:#000091}a:focus,button:focus,input:focus,select:focus,textarea:focus{outline:3px solid #0a76f6;outline-offset:2px}\
.button,button{display:inline-block;padding:.7rem 1rem;font-size:1rem;text-align:center;text-decoration:none;\
color:#fff;background:#000091;border:0;border-radius:.25rem;cursor:pointer}\
.secondary{color:#000091;background:#fff;border:1px solid #000091}\
.fc-group{margin:1.5rem 0}\
.fc{display:inline-flex;align-items:center;gap:.75rem;min-height:3.5rem;padding:.5rem 1.5rem .5rem 1rem;\
background:#000091;color:#fff;text-decoration:none;border-radius:0}\
.fc:hover{background:#1212ff}.fc svg{flex:none}\
.fc span{display:block;line-height:1.2}.fc .login{font-size:.95rem}.fc .brand{font-size:1.1rem;font-weight:700}\
.fc-help{font-size:.9rem;margin:.5rem 0 0}\
.ec{display:inline-flex;align-items:center;gap:.5rem;min-height:3.5rem;padding:.5rem 1.5rem;\
background:#fff;color:#000091;border:2px solid #000091;text-decoration:none;font-weight:700}\
ul.cards{list-style:none;padding:0}ul.cards li{border:1px solid #ddd;border-radius:.25rem;padding:.75rem 1rem;margin:.5rem 0}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid #ddd}\
td.grade{text-align:right}th.grade{text-align:right}\
label{display:block;font-weight:600;margin-top:1rem}\
input,select,textarea{display:block;width:100%;font-size:1rem;padding:.5rem;margin-top:.25rem;border:1px solid #666;border-radius:.25rem}\
.check{display:flex;gap:.6rem;align-items:flex-start;margin-top:1rem}\
.check input{display:inline-block;width:1.25rem;height:1.25rem;margin:.15rem 0 0;flex:none}\
.check label{margin:0;font-weight:400}\
.notice{background:#e8edff;border-left:4px solid #000091;padding:.5rem .75rem}\
.muted{color:#3a3a3a;font-size:.9rem}";

fn content_security_policy() -> &'static HeaderValue {
    static CSP: OnceLock<HeaderValue> = OnceLock::new();
    CSP.get_or_init(|| html::inline_style_policy(STYLE, &[]))
}

/// A whole page of `site`: `title` is text, `body` is HTML already escaped.
/// The header bar greets the `session`'s user, with a link to the
/// `gateway`'s logout. Framework-neutral, so that both examples share it.
pub fn page(
    status: StatusCode,
    site: &str,
    gateway: &Gateway,
    session: Option<&Session>,
    title: &str,
    body: &str,
) -> Response<String> {
    let mut bar = format!("<a class=\"brand\" href=\"/\">{}</a>", escape(site));
    if let Some(session) = session {
        // A link to the gateway's confirmation page, whose form may lead
        // on to the provider's logout (its policy allows that target).
        let _ = write!(
            bar,
            "<span><span class=\"muted\">{} </span>\
             <a class=\"button secondary\" href=\"{}\">Se déconnecter</a></span>",
            escape(&session.identity().display_name()),
            escape(&format!("{}/logout", gateway.base_path())),
        );
    }
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} – {site}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <header>{bar}</header>\n<main>\n<h1>{title}</h1>\n{body}\n</main>\n</body>\n</html>\n",
        title = escape(title),
        site = escape(site),
    );
    let mut response = Response::new(html);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // Pages show a family's data: never stored, nor framed.
    html::set_security_headers(headers, content_security_policy().clone());
    response
}
