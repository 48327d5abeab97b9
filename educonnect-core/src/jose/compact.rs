//! Splitting and decoding a compact JWS (RFC 7515 §7.1).

use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::json::parse_object;
use super::scan::{Member, Text, walk_object};
use super::{Algorithm, Error, Malformed, Part, b64};

/// Default largest token accepted: 16 KiB. FranceConnect's ID tokens and
/// userinfo are well under 2 KiB.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 16 * 1024;

/// A compact JWS cut into its parts, nothing decoded, nothing verified.
pub(crate) struct Compact<'a> {
    /// The header, base64url.
    pub(crate) header: &'a [u8],
    /// `header.payload`, what the signature covers.
    pub(crate) signing_input: &'a [u8],
    pub(crate) payload: &'a [u8],
    pub(crate) signature: &'a [u8],
}

/// The three segments, checked for count and size only.
fn split(token: &[u8], max_len: usize) -> Result<[&[u8]; 3], Malformed> {
    if token.len() > max_len {
        return Err(Malformed::TooLarge {
            len: token.len(),
            limit: max_len,
        });
    }
    // memchr rather than a byte-by-byte scan: on a 500-byte ID token the
    // byte loop took about 300 ns, a sixth of verification's own cost.
    let mut dots = memchr::memchr_iter(b'.', token);
    match (dots.next(), dots.next(), dots.next()) {
        (Some(first), Some(second), None) => Ok([
            &token[..first],
            &token[first + 1..second],
            &token[second + 1..],
        ]),
        _ => Err(Malformed::SegmentCount(
            memchr::memchr_iter(b'.', token).count() + 1,
        )),
    }
}

impl<'a> Compact<'a> {
    /// Splits the token into its three segments.
    pub(crate) fn split(token: &'a [u8], max_len: usize) -> Result<Self, Malformed> {
        let [header, payload, signature] = split(token, max_len)?;
        Ok(Self {
            header,
            signing_input: &token[..header.len() + 1 + payload.len()],
            payload,
            signature,
        })
    }
}

/// What a verification reads of a decoded header: `alg` (never `none`) and
/// `kid`, borrowed from the decoded bytes; a `crit` fails the token, since
/// no extension is understood.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header<'h> {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<Text<'h>>,
}

impl<'h> Header<'h> {
    /// The decoded header, checked as strictly as any object, but only
    /// `alg`, `kid` and `crit` are kept.
    pub(crate) fn parse(header: &'h [u8], max_depth: usize) -> Result<Self, Error> {
        let header = std::str::from_utf8(header).map_err(|_| Malformed::Json(Part::Header))?;
        const ALG: usize = 0;
        const KID: usize = 1;
        const CRIT: usize = 2;
        // `typ` is wanted only to be told apart by its key, as the others.
        const TYP: usize = 3;
        let (mut alg, mut kid, mut crit) = (None, None, false);
        walk_object(
            header,
            Part::Header,
            max_depth,
            |name| match name {
                "alg" => Some(ALG),
                "kid" => Some(KID),
                "crit" => Some(CRIT),
                "typ" => Some(TYP),
                _ => None,
            },
            |key, value| match key {
                ALG => alg = Some(value),
                KID => kid = Some(value),
                CRIT => crit = true,
                _ => {}
            },
        )?;
        let alg = match alg {
            Some(Member::Str(name)) => Algorithm::from_header(&name.value())?,
            _ => return Err(Malformed::HeaderMember("alg").into()),
        };
        if crit {
            return Err(Error::CriticalHeader);
        }
        let kid = match kid {
            None => None,
            Some(Member::Str(kid)) => Some(kid),
            Some(_) => return Err(Malformed::HeaderMember("kid").into()),
        };
        Ok(Self { alg, kid })
    }
}

/// The headers of the first tokens a key set verified (up to
/// [`HeaderCache::SLOTS`]), kept with the set so that the next tokens with
/// the very same header segment skip decoding and reading it: a provider
/// writes the same header on every token it signs with one key, and on an
/// HS256 ID token the header cost a tenth of the verification (about 85 ns
/// of 810 on the bench machine). Several slots, so that a key rotation's
/// old and new key, or a set used for a few algorithms, are all kept.
///
/// It maps exact bytes, and the depth limit they were read under, to what
/// [`Header::parse`] read from them: it can only give the answer a reading
/// would. Each slot is filled once, and only after a token verified, so
/// that a token nobody signed cannot take a place.
#[derive(Debug, Clone, Default)]
pub(crate) struct HeaderCache([OnceLock<KnownHeader>; HeaderCache::SLOTS]);

#[derive(Debug, Clone)]
struct KnownHeader {
    segment: Box<[u8]>,
    max_depth: usize,
    alg: Algorithm,
    kid: Option<Box<str>>,
}

impl HeaderCache {
    /// How many headers a set keeps.
    pub(crate) const SLOTS: usize = 4;

    /// The header read from `segment` under `max_depth`, if it is one of
    /// those kept.
    pub(crate) fn get(&self, segment: &[u8], max_depth: usize) -> Option<Header<'_>> {
        self.0
            .iter()
            .map_while(OnceLock::get)
            .find(|known| known.max_depth == max_depth && *known.segment == *segment)
            .map(|known| Header {
                alg: known.alg,
                kid: known.kid.as_deref().map(Text::unescaped),
            })
    }

    /// Keeps `header`, read from `segment` under `max_depth`, in the first
    /// free slot, if there is one.
    pub(crate) fn remember(&self, segment: &[u8], max_depth: usize, header: Header<'_>) {
        // Full (the usual case once a set has seen its provider's headers),
        // or kept already: nothing to build.
        if self.0[Self::SLOTS - 1].get().is_some() || self.get(segment, max_depth).is_some() {
            return;
        }
        let mut known = Some(KnownHeader {
            segment: segment.into(),
            max_depth,
            alg: header.alg,
            kid: header.kid.map(|kid| kid.value().into()),
        });
        for slot in &self.0 {
            // A slot another thread filled meanwhile hands the value back,
            // for the next one (two threads keeping the same new header at
            // once may take two slots: a slot lost, nothing else).
            match known.take().map(|header| slot.set(header)) {
                Some(Err(again)) => known = Some(again),
                _ => return,
            }
        }
    }
}

/// A token's header and claims, decoded but **not verified**: for display and
/// diagnosis only, never for a decision.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Unverified {
    /// The JOSE header.
    pub header: Map<String, Value>,
    /// The claims.
    pub claims: Map<String, Value>,
}

/// Decodes a compact JWS without verifying anything but its shape (three
/// segments, strict base64url, JSON objects without duplicate members, size and
/// depth limits). Use it to show a token to a person, never to trust one.
pub fn decode_unverified(token: &[u8]) -> Result<Unverified, Error> {
    let max_depth = super::json::DEFAULT_MAX_DEPTH;
    let [header, payload, signature] = split(token, DEFAULT_MAX_TOKEN_LEN)?;
    let header = b64::decode(header).map_err(|()| Malformed::Base64(Part::Header))?;
    let header = parse_object(&header, Part::Header, max_depth)?;
    let payload = b64::decode(payload).map_err(|()| Malformed::Base64(Part::Payload))?;
    let claims = parse_object(&payload, Part::Payload, max_depth)?;
    b64::decode(signature).map_err(|()| Malformed::Base64(Part::Signature))?;
    Ok(Unverified { header, claims })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_counts_segments() {
        assert_eq!(split(b"a.b", 100), Err(Malformed::SegmentCount(2)));
        assert_eq!(split(b"a.b.c.d", 100), Err(Malformed::SegmentCount(4)));
        assert_eq!(split(b"", 100), Err(Malformed::SegmentCount(1)));
        assert_eq!(split(b"a.b.c.", 100), Err(Malformed::SegmentCount(4)));
        assert_eq!(split(b"a.b.c", 100).unwrap(), [&b"a"[..], b"b", b"c"]);
        assert_eq!(split(b"..", 100).unwrap(), [&b""[..], b"", b""]);
        assert_eq!(split(b"ab..c", 100).unwrap(), [&b"ab"[..], b"", b"c"]);
        assert_eq!(
            split(&[b'.'; 200], 100),
            Err(Malformed::TooLarge {
                len: 200,
                limit: 100
            })
        );
    }
}
