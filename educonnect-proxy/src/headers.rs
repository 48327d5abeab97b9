//! The headers the upstream reads, and the ones no client may send it.

use std::fmt::Write as _;
use std::net::IpAddr;

use educonnect_core::directory::PupilId;
use educonnect_core::flow::Session;
use educonnect_core::provider::Profile;
use http::header::{self, HeaderMap, HeaderName, HeaderValue};

/// Every identity header starts with this (lowercase; header names are
/// case-insensitive): any header so named that a client sends is removed
/// before anything else, always.
pub const PREFIX: &str = "x-educonnect-";

/// The provider's subject of the logged-in person (FranceConnect's or
/// EduConnect's `sub`).
pub const SUBJECT: HeaderName = HeaderName::from_static("x-educonnect-subject");
/// `franceconnect` or `educonnect`: whose subject it is.
pub const PROVIDER: HeaderName = HeaderName::from_static("x-educonnect-provider");
/// `guardian` or `pupil` (absent for a session without family claims).
pub const PROFILE: HeaderName = HeaderName::from_static("x-educonnect-profile");
/// The pupils the person may act for, comma-separated, each as
/// `PupilId::to_url_segment` writes it (for a pupil: themselves).
pub const CHILDREN: HeaderName = HeaderName::from_static("x-educonnect-children");
/// Among them, those over whom the person holds legal authority.
pub const LEGAL_AUTHORITY: HeaderName = HeaderName::from_static("x-educonnect-legal-authority");
/// The pupil the request's rule allowed (`act_for`, `legal_authority`).
pub const PUPIL: HeaderName = HeaderName::from_static("x-educonnect-pupil");
/// The signed family assertion (a compact JWS the upstream verifies with
/// the gateway's JWKS, `GET {base}/jwks`).
pub const FAMILY_ASSERTION: HeaderName = HeaderName::from_static("x-educonnect-family-assertion");

/// Every header this crate sends the upstream, for nginx's
/// `auth_request_set`.
pub const ALL: [HeaderName; 7] = [
    SUBJECT,
    PROVIDER,
    PROFILE,
    CHILDREN,
    LEGAL_AUTHORITY,
    PUPIL,
    FAMILY_ASSERTION,
];

/// Removes every header named with [`PREFIX`].
pub fn strip_identity(headers: &mut HeaderMap) {
    // Names are stored lowercase by `http`: a byte comparison suffices.
    let spoofed: Vec<HeaderName> = headers
        .keys()
        .filter(|name| name.as_str().starts_with(PREFIX))
        .cloned()
        .collect();
    for name in spoofed {
        headers.remove(name);
    }
}

/// Whether the request asks for a connection upgrade (a WebSocket).
pub(crate) fn wants_upgrade(headers: &HeaderMap) -> bool {
    headers.contains_key(header::UPGRADE)
        && headers
            .get_all(header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|token| token.trim().eq_ignore_ascii_case("upgrade"))
}

/// The hop-by-hop headers always removed (RFC 9110, 7.6.1), besides those
/// `Connection` names and `Upgrade`.
static HOP_BY_HOP: [HeaderName; 8] = [
    header::CONNECTION,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::PROXY_AUTHORIZATION,
    header::PROXY_AUTHENTICATE,
    HeaderName::from_static("keep-alive"),
    HeaderName::from_static("proxy-connection"),
];

/// Removes the hop-by-hop headers (RFC 9110, 7.6.1): those `Connection`
/// names, and the fixed list. `keep_upgrade` keeps `Upgrade` and a
/// `Connection: upgrade`, for a WebSocket handshake going through.
pub(crate) fn strip_hop_by_hop(headers: &mut HeaderMap, keep_upgrade: bool) {
    // Most messages carry none: one pass over the names they have is
    // cheaper than a removal (a hash and a probe) for each name of the
    // list. Names a `Connection` header lists only count when it is there.
    if !keep_upgrade
        && !headers
            .keys()
            .any(|name| *name == header::UPGRADE || HOP_BY_HOP.contains(name))
    {
        return;
    }
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|token| HeaderName::from_bytes(token.trim().as_bytes()).ok())
        .collect();
    for name in named {
        if !(keep_upgrade && name == header::UPGRADE) {
            headers.remove(name);
        }
    }
    for name in &HOP_BY_HOP {
        headers.remove(name);
    }
    if keep_upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    } else {
        headers.remove(header::UPGRADE);
    }
}

/// A client's address, and as `X-Forwarded-For` writes it: made once per
/// connection rather than formatted for each request.
#[derive(Debug, Clone)]
pub(crate) struct ClientAddr {
    value: HeaderValue,
}

impl ClientAddr {
    pub(crate) fn new(ip: IpAddr) -> Self {
        // An address is digits, dots, colons and hex letters.
        let value = HeaderValue::from_str(&ip.to_string())
            .unwrap_or_else(|_| HeaderValue::from_static("unknown"));
        Self { value }
    }
}

/// `X-Forwarded-For` (the client's address appended to any list already
/// there), `-Proto` and `-Host` (replaced).
pub(crate) fn set_forwarded(headers: &mut HeaderMap, client: &ClientAddr, proto: &HeaderValue) {
    const FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
    const PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
    const HOST: HeaderName = HeaderName::from_static("x-forwarded-host");
    let mut chain = String::new();
    for value in headers.get_all(&FOR) {
        if let Ok(value) = value.to_str() {
            chain.push_str(value);
            chain.push_str(", ");
        }
    }
    if chain.is_empty() {
        headers.insert(FOR, client.value.clone());
    } else {
        // Visible ASCII, as both parts are.
        chain.push_str(client.value.to_str().unwrap_or_default());
        if let Ok(value) = HeaderValue::from_str(&chain) {
            headers.insert(FOR, value);
        }
    }
    headers.insert(PROTO, proto.clone());
    match headers.get(header::HOST).cloned() {
        Some(host) => {
            headers.insert(HOST, host);
        }
        None => {
            headers.remove(HOST);
        }
    }
}

/// The value of [`PUPIL`] for `pupil`.
pub(crate) fn pupil_value(pupil: &PupilId) -> HeaderValue {
    text_value(&pupil.to_url_segment())
}

/// The identity headers of `session` (and of the pupil the rule allowed),
/// without the assertion.
pub(crate) fn identity(
    session: &Session,
    pupil: Option<&PupilId>,
) -> Vec<(HeaderName, HeaderValue)> {
    let mut out = Vec::with_capacity(6);
    out.push((SUBJECT, text_value(session.identity().sub())));
    out.push((PROVIDER, text_value(session.provider())));
    if let Some(family) = session.family() {
        out.push((
            PROFILE,
            HeaderValue::from_static(match family.profile() {
                Profile::Guardian => "guardian",
                Profile::Pupil => "pupil",
            }),
        ));
        let mut children = String::new();
        let mut legal = String::new();
        let own = family.pupil().and_then(|p| p.id());
        let ids = family.children().iter().map(|c| c.pupil()).chain(own);
        for id in ids {
            if family.may_act_for(id) {
                push_listed(&mut children, &id.to_url_segment());
            }
            if family.has_legal_authority_over(id) {
                push_listed(&mut legal, &id.to_url_segment());
            }
        }
        out.push((CHILDREN, text_value(&children)));
        out.push((LEGAL_AUTHORITY, text_value(&legal)));
    }
    if let Some(pupil) = pupil {
        out.push((PUPIL, text_value(&pupil.to_url_segment())));
    }
    out
}

fn push_listed(list: &mut String, item: &str) {
    if !list.split(", ").any(|present| present == item) {
        if !list.is_empty() {
            list.push_str(", ");
        }
        list.push_str(item);
    }
}

/// A header value for `text`: as is when it is visible ASCII, else
/// percent-encoded (a subject is opaque; the upstream compares it).
fn text_value(text: &str) -> HeaderValue {
    if let Ok(value) = HeaderValue::from_str(text)
        && text.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        && !text.contains('%')
    {
        return value;
    }
    let mut encoded = String::with_capacity(text.len() * 3);
    for b in text.bytes() {
        if b.is_ascii_graphic() && b != b'%' {
            encoded.push(b as char);
        } else {
            let _ = write!(encoded, "%{b:02X}");
        }
    }
    HeaderValue::from_str(&encoded).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spoofed_identity_headers_go_whatever_their_case() {
        let mut headers = HeaderMap::new();
        for name in [
            "X-EduConnect-Subject",
            "x-educonnect-pupil",
            "X-EDUCONNECT-ANYTHING",
        ] {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_static("forged"),
            );
        }
        headers.insert("x-educonnect", HeaderValue::from_static("kept"));
        headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        strip_identity(&mut headers);
        assert_eq!(headers.len(), 2, "{headers:?}");
    }

    #[test]
    fn hop_by_hop_headers_go() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-private, upgrade"),
        );
        headers.insert("x-private", HeaderValue::from_static("1"));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert(header::TE, HeaderValue::from_static("trailers"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        let mut upgrade = headers.clone();
        strip_hop_by_hop(&mut headers, false);
        assert_eq!(headers.len(), 1, "{headers:?}");
        strip_hop_by_hop(&mut upgrade, true);
        assert_eq!(upgrade.get(header::UPGRADE).unwrap(), "websocket");
        assert_eq!(upgrade.get(header::CONNECTION).unwrap(), "upgrade");
        assert!(!upgrade.contains_key("x-private"));
    }

    #[test]
    fn hop_by_hop_headers_go_without_a_connection_header_too() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::TRANSFER_ENCODING,
            HeaderValue::from_static("chunked"),
        );
        headers.insert("proxy-connection", HeaderValue::from_static("close"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("h2c"));
        headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        let mut none = HeaderMap::new();
        none.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
        let untouched = none.clone();
        strip_hop_by_hop(&mut headers, false);
        strip_hop_by_hop(&mut none, false);
        assert_eq!(headers, untouched);
        assert_eq!(none, untouched);
    }

    #[test]
    fn the_client_is_appended_to_a_forwarded_chain() {
        const FOR: &str = "x-forwarded-for";
        let client = ClientAddr::new("2001:db8::1".parse().unwrap());
        let proto = HeaderValue::from_static("https");
        let mut alone = HeaderMap::new();
        set_forwarded(&mut alone, &client, &proto);
        assert_eq!(alone.get(FOR).unwrap(), "2001:db8::1");
        assert!(!alone.contains_key("x-forwarded-host"));
        let mut chained = HeaderMap::new();
        chained.append(FOR, HeaderValue::from_static("203.0.113.9"));
        chained.append(FOR, HeaderValue::from_static("198.51.100.1"));
        chained.insert(header::HOST, HeaderValue::from_static("ent.example"));
        set_forwarded(&mut chained, &client, &proto);
        assert_eq!(
            chained.get_all(FOR).iter().collect::<Vec<_>>(),
            ["203.0.113.9, 198.51.100.1, 2001:db8::1"]
        );
        assert_eq!(chained.get("x-forwarded-proto").unwrap(), "https");
        assert_eq!(chained.get("x-forwarded-host").unwrap(), "ent.example");
    }

    #[test]
    fn odd_subjects_are_encoded() {
        assert_eq!(text_value("abc-123"), "abc-123");
        assert_eq!(text_value("é%\n"), "%C3%A9%25%0A");
    }
}
