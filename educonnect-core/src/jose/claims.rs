//! Registered claims, eIDAS levels, and the verified result.

use std::fmt;
use std::str::FromStr;

use serde_json::Number;

use super::scan::{Member, Text, walk_object};
use super::{Algorithm, Claim, ClaimError, Error, Part};

/// An eIDAS level of assurance, as FranceConnect sends it in `acr`.
/// Ordered: `Eidas1 < Eidas2 < Eidas3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Acr {
    /// `eidas1`: low. FranceConnect v2's only level.
    Eidas1,
    /// `eidas2`: substantial (FranceConnect+).
    Eidas2,
    /// `eidas3`: high (FranceConnect+).
    Eidas3,
}

impl Acr {
    /// The value as written in `acr` and `acr_values`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eidas1 => "eidas1",
            Self::Eidas2 => "eidas2",
            Self::Eidas3 => "eidas3",
        }
    }
}

impl fmt::Display for Acr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An `acr` value that is not an eIDAS level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not an eIDAS level (eidas1, eidas2, eidas3)")]
pub struct UnknownAcr;

impl FromStr for Acr {
    type Err = UnknownAcr;

    fn from_str(s: &str) -> Result<Self, UnknownAcr> {
        match s {
            "eidas1" => Ok(Self::Eidas1),
            "eidas2" => Ok(Self::Eidas2),
            "eidas3" => Ok(Self::Eidas3),
            _ => Err(UnknownAcr),
        }
    }
}

/// The registered claims of a verified token. `iss`, `sub`, `aud`, `exp` and
/// `iat` are always present: a token without them is refused.
///
/// The strings are kept in one buffer, one allocation per token rather than
/// one per claim: on an HS256 ID token the allocations alone cost a tenth of
/// the HMAC.
///
/// `Debug` shows the `sub` hashed and no `nonce`, so that the claims can
/// be logged.
#[derive(Clone)]
pub struct RegisteredClaims {
    /// The kept strings, one after another.
    text: String,
    iss: Span,
    sub: Span,
    /// The first audience; the others, if any, in `more_aud`.
    aud: Span,
    more_aud: Vec<Span>,
    exp: i64,
    iat: i64,
    nbf: Option<i64>,
    azp: Option<Span>,
    nonce: Option<Span>,
    acr: Option<Span>,
    auth_time: Option<i64>,
    jti: Option<Span>,
    /// Not a claim: the header's `kid`, for [`Verified::kid`], kept in the
    /// same buffer.
    kid: Option<Span>,
}

/// Where one string is in [`RegisteredClaims`]'s buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Span {
    start: u32,
    end: u32,
}

impl RegisteredClaims {
    /// `iss`, equal to the expected issuer.
    pub fn iss(&self) -> &str {
        self.get(self.iss)
    }

    /// `sub`, non-empty.
    pub fn sub(&self) -> &str {
        self.get(self.sub)
    }

    /// `aud`, always as a list (a single string is a list of one),
    /// containing the expected audience.
    pub fn aud(&self) -> Audiences<'_> {
        Audiences {
            claims: self,
            first: Some(self.aud),
            more: self.more_aud.iter(),
        }
    }

    /// `exp`, seconds since the Unix epoch.
    pub fn exp(&self) -> i64 {
        self.exp
    }

    /// `iat`, seconds since the Unix epoch.
    pub fn iat(&self) -> i64 {
        self.iat
    }

    /// `nbf`, seconds since the Unix epoch.
    pub fn nbf(&self) -> Option<i64> {
        self.nbf
    }

    /// `azp`.
    pub fn azp(&self) -> Option<&str> {
        self.azp.map(|span| self.get(span))
    }

    /// `nonce`.
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.map(|span| self.get(span))
    }

    /// `acr`, as sent.
    pub fn acr(&self) -> Option<&str> {
        self.acr.map(|span| self.get(span))
    }

    /// `auth_time`, seconds since the Unix epoch.
    pub fn auth_time(&self) -> Option<i64> {
        self.auth_time
    }

    /// `jti`.
    pub fn jti(&self) -> Option<&str> {
        self.jti.map(|span| self.get(span))
    }

    fn get(&self, span: Span) -> &str {
        // Spans are made with the buffer, at char boundaries: never empty
        // by mistake, but never a panic either.
        self.text
            .get(span.start as usize..span.end as usize)
            .unwrap_or_default()
    }
}

/// The audiences of a token, from [`RegisteredClaims::aud`].
#[derive(Debug, Clone)]
pub struct Audiences<'a> {
    claims: &'a RegisteredClaims,
    first: Option<Span>,
    more: std::slice::Iter<'a, Span>,
}

impl<'a> Iterator for Audiences<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let span = self.first.take().or_else(|| self.more.next().copied())?;
        Some(self.claims.get(span))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let len = usize::from(self.first.is_some()) + self.more.len();
        (len, Some(len))
    }
}

impl ExactSizeIterator for Audiences<'_> {}

/// Claim by claim, whatever the order they came in.
impl PartialEq for RegisteredClaims {
    fn eq(&self, other: &Self) -> bool {
        self.iss() == other.iss()
            && self.sub() == other.sub()
            && self.aud().eq(other.aud())
            && self.exp == other.exp
            && self.iat == other.iat
            && self.nbf == other.nbf
            && self.azp() == other.azp()
            && self.nonce() == other.nonce()
            && self.acr() == other.acr()
            && self.auth_time == other.auth_time
            && self.jti() == other.jti()
    }
}

impl Eq for RegisteredClaims {}

impl std::fmt::Debug for RegisteredClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegisteredClaims")
            .field("iss", &self.iss())
            .field("sub", &crate::provider::RedactedSub(self.sub()))
            .field("aud", &self.aud().collect::<Vec<_>>())
            .field("exp", &self.exp)
            .field("iat", &self.iat)
            .field("nbf", &self.nbf)
            .field("azp", &self.azp())
            .field("acr", &self.acr())
            .field("auth_time", &self.auth_time)
            .finish_non_exhaustive()
    }
}

impl RegisteredClaims {
    /// Reads the registered claims of a payload with their JSON types
    /// checked; the values themselves are checked by the validation. The
    /// payload is checked as strictly as [`parse_object`](super::json::parse_object)
    /// would (one object, no duplicate names, bounded depth) in one pass that
    /// builds nothing but the registered claims: no `Map` of the whole payload.
    pub(crate) fn parse(
        payload: &str,
        kid: Option<Text<'_>>,
        max_depth: usize,
    ) -> Result<Self, Error> {
        let mut raw = Raw::default();
        walk_object(
            payload,
            Part::Payload,
            max_depth,
            Raw::slot,
            |slot, value| {
                raw.members[slot] = Some(value);
            },
        )?;
        Ok(raw.claims(kid)?)
    }
}

/// The registered members of a payload as found, types not yet checked,
/// at the index [`Raw::slot`] gives their name.
#[derive(Default)]
struct Raw<'a> {
    members: [Option<Member<'a>>; 11],
}

const ISS: usize = 0;
const SUB: usize = 1;
const AUD: usize = 2;
const EXP: usize = 3;
const IAT: usize = 4;
const NBF: usize = 5;
const AZP: usize = 6;
const NONCE: usize = 7;
const ACR: usize = 8;
const AUTH_TIME: usize = 9;
const JTI: usize = 10;

impl Raw<'_> {
    /// Where a registered claim's value goes; `None` for any other member.
    fn slot(name: &str) -> Option<usize> {
        Some(match name {
            "iss" => ISS,
            "sub" => SUB,
            "aud" => AUD,
            "exp" => EXP,
            "iat" => IAT,
            "nbf" => NBF,
            "azp" => AZP,
            "nonce" => NONCE,
            "acr" => ACR,
            "auth_time" => AUTH_TIME,
            "jti" => JTI,
            _ => return None,
        })
    }

    /// The claims with their types checked, in the order (and so with the
    /// errors) of the `Map`-based reading this replaced.
    fn claims(self, kid: Option<Text<'_>>) -> Result<RegisteredClaims, ClaimError> {
        let [
            iss,
            sub,
            aud,
            exp,
            iat,
            nbf,
            azp,
            nonce,
            acr,
            auth_time,
            jti,
        ] = self.members;
        let aud = match aud {
            None => return Err(ClaimError::Missing(Claim::Aud)),
            Some(Member::Str(a)) => (a, Vec::new()),
            Some(Member::Array(Some(list))) => {
                let mut list = list.into_iter();
                let first = list.next().ok_or(ClaimError::Invalid(Claim::Aud))?;
                (first, list.collect())
            }
            Some(_) => return Err(ClaimError::Invalid(Claim::Aud)),
        };
        let sub = required(string(sub, Claim::Sub)?, Claim::Sub)?;
        if sub.is_empty() {
            return Err(ClaimError::Invalid(Claim::Sub));
        }
        let iss = required(string(iss, Claim::Iss)?, Claim::Iss)?;
        let exp = required(date(exp, Claim::Exp)?, Claim::Exp)?;
        let iat = required(date(iat, Claim::Iat)?, Claim::Iat)?;
        let nbf = date(nbf, Claim::Nbf)?;
        let azp = string(azp, Claim::Azp)?;
        let nonce = string(nonce, Claim::Nonce)?;
        let acr = string(acr, Claim::Acr)?;
        let auth_time = date(auth_time, Claim::AuthTime)?;
        let jti = string(jti, Claim::Jti)?;

        // Values are never longer than the strings as written: one
        // allocation holds them all.
        let len = |text: Option<Text<'_>>| text.map_or(0, Text::raw_len);
        let mut text = String::with_capacity(
            iss.raw_len()
                + sub.raw_len()
                + aud.0.raw_len()
                + aud.1.iter().map(|a| a.raw_len()).sum::<usize>()
                + len(azp)
                + len(nonce)
                + len(acr)
                + len(jti)
                + len(kid),
        );
        let mut push = |value: Text<'_>| {
            let start = text.len();
            value.push_to(&mut text);
            // The payload is at most a token's size limit: well under 4 GiB.
            let at = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
            Span {
                start: at(start),
                end: at(text.len()),
            }
        };
        let (iss, sub, aud, more_aud) = (
            push(iss),
            push(sub),
            push(aud.0),
            aud.1.into_iter().map(&mut push).collect(),
        );
        let (azp, nonce, acr, jti, kid) = (
            azp.map(&mut push),
            nonce.map(&mut push),
            acr.map(&mut push),
            jti.map(&mut push),
            kid.map(&mut push),
        );
        Ok(RegisteredClaims {
            text,
            iss,
            sub,
            aud,
            more_aud,
            exp,
            iat,
            nbf,
            azp,
            nonce,
            acr,
            auth_time,
            jti,
            kid,
        })
    }
}

fn required<T>(value: Option<T>, claim: Claim) -> Result<T, ClaimError> {
    value.ok_or(ClaimError::Missing(claim))
}

fn string<'a>(member: Option<Member<'a>>, claim: Claim) -> Result<Option<Text<'a>>, ClaimError> {
    match member {
        None => Ok(None),
        Some(Member::Str(s)) => Ok(Some(s)),
        Some(_) => Err(ClaimError::Invalid(claim)),
    }
}

/// A NumericDate (RFC 7519 §2): seconds, possibly fractional, truncated.
/// Read as serde_json reads the number (the scanner has checked it).
fn date(member: Option<Member<'_>>, claim: Claim) -> Result<Option<i64>, ClaimError> {
    let n: Number = match member {
        None => return Ok(None),
        Some(Member::Int(int)) => match i64::try_from(int) {
            Ok(seconds) => return Ok(Some(seconds)),
            Err(_) => int.into(),
        },
        Some(Member::Number(literal)) => literal.parse().map_err(|_| ClaimError::Invalid(claim))?,
        Some(_) => return Err(ClaimError::Invalid(claim)),
    };
    if let Some(i) = n.as_i64() {
        return Ok(Some(i));
    }
    match n.as_f64() {
        Some(f) if f.is_finite() && f.abs() < 1e15 => Ok(Some(f.floor() as i64)),
        _ => Err(ClaimError::Invalid(claim)),
    }
}

/// A token whose signature and claims were checked. Only this module builds
/// one: holding a `Verified` is the proof that verification happened.
#[derive(Debug, Clone)]
pub struct Verified<T> {
    pub(crate) alg: Algorithm,
    /// Also holds the header's `kid`.
    pub(crate) registered: RegisteredClaims,
    pub(crate) claims: T,
}

impl<T> Verified<T> {
    /// The algorithm that verified the signature.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The `kid` of the header, if any.
    pub fn kid(&self) -> Option<&str> {
        self.registered.kid.map(|span| self.registered.get(span))
    }

    /// The registered claims (`iss`, `sub`, `aud`, times, `nonce`, `acr`...).
    pub fn registered(&self) -> &RegisteredClaims {
        &self.registered
    }

    /// The caller's own claims type, read from the same payload.
    pub fn claims(&self) -> &T {
        &self.claims
    }

    /// The caller's claims, by value.
    pub fn into_claims(self) -> T {
        self.claims
    }

    /// Both claim views, by value.
    pub fn into_parts(self) -> (RegisteredClaims, T) {
        (self.registered, self.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEPTH: usize = super::super::json::DEFAULT_MAX_DEPTH;

    /// Every string claim comes back from the one buffer, unescaped, next
    /// to the numbers; the same claims in another order are equal.
    #[test]
    fn claims_read_from_one_buffer() {
        let payload = r#"{"iss":"https:\/\/idp","sub":"s-1","aud":["a","\u0062",""],"exp":20,"iat":10,"nbf":5,"azp":"a","nonce":"n\"1","acr":"eidas2","auth_time":9.5,"jti":"\uD83D\uDE00"}"#;
        let claims = RegisteredClaims::parse(payload, None, DEPTH).unwrap();
        assert_eq!(claims.iss(), "https://idp");
        assert_eq!(claims.sub(), "s-1");
        assert_eq!(claims.aud().collect::<Vec<_>>(), ["a", "b", ""]);
        assert_eq!(claims.aud().len(), 3);
        assert_eq!(
            (claims.exp(), claims.iat(), claims.nbf()),
            (20, 10, Some(5))
        );
        assert_eq!(claims.azp(), Some("a"));
        assert_eq!(claims.nonce(), Some("n\"1"));
        assert_eq!(claims.acr(), Some("eidas2"));
        assert_eq!(claims.auth_time(), Some(9));
        assert_eq!(claims.jti(), Some("\u{1F600}"));

        let reordered = r#"{"jti":"😀","auth_time":9,"acr":"eidas2","nonce":"n\"1","azp":"a","nbf":5,"iat":10,"exp":20,"aud":["a","b",""],"sub":"s-1","iss":"https://idp"}"#;
        assert_eq!(
            RegisteredClaims::parse(reordered, None, DEPTH).unwrap(),
            claims
        );
        let other_aud = reordered.replace(r#""b","#, r#""c","#);
        assert_ne!(
            RegisteredClaims::parse(&other_aud, None, DEPTH).unwrap(),
            claims
        );

        let minimal = RegisteredClaims::parse(
            r#"{"iss":"i","sub":"s","aud":"only","exp":2,"iat":1}"#,
            None,
            DEPTH,
        )
        .unwrap();
        assert_eq!(minimal.aud().collect::<Vec<_>>(), ["only"]);
        assert_eq!(
            (minimal.nbf(), minimal.azp(), minimal.nonce(), minimal.acr()),
            (None, None, None, None)
        );
        assert_eq!((minimal.auth_time(), minimal.jti()), (None, None));
    }

    #[test]
    fn debug_hides_sub_and_nonce() {
        let claims = RegisteredClaims::parse(
            r#"{"iss":"i","sub":"secret-sub","aud":"a","exp":2,"iat":1,"nonce":"secret-nonce"}"#,
            None,
            DEPTH,
        )
        .unwrap();
        let shown = format!("{claims:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("\"i\""), "{shown}");
    }

    #[test]
    fn claim_types_are_checked() {
        for (payload, error) in [
            (
                r#"{"iss":"i","sub":"s","exp":2,"iat":1}"#,
                ClaimError::Missing(Claim::Aud),
            ),
            (
                r#"{"iss":"i","sub":"s","aud":[],"exp":2,"iat":1}"#,
                ClaimError::Invalid(Claim::Aud),
            ),
            (
                r#"{"iss":"i","sub":"s","aud":["a",1],"exp":2,"iat":1}"#,
                ClaimError::Invalid(Claim::Aud),
            ),
            (
                r#"{"iss":"i","sub":"","aud":"a","exp":2,"iat":1}"#,
                ClaimError::Invalid(Claim::Sub),
            ),
            (
                r#"{"iss":1,"sub":"s","aud":"a","exp":2,"iat":1}"#,
                ClaimError::Invalid(Claim::Iss),
            ),
            (
                r#"{"iss":"i","sub":"s","aud":"a","exp":"2","iat":1}"#,
                ClaimError::Invalid(Claim::Exp),
            ),
            (
                r#"{"iss":"i","sub":"s","aud":"a","exp":18446744073709551615,"iat":1}"#,
                ClaimError::Invalid(Claim::Exp),
            ),
            (
                r#"{"iss":"i","sub":"s","aud":"a","exp":1e300,"iat":1}"#,
                ClaimError::Invalid(Claim::Exp),
            ),
            (
                r#"{"iss":"i","sub":"s","aud":"a","exp":2}"#,
                ClaimError::Missing(Claim::Iat),
            ),
        ] {
            match RegisteredClaims::parse(payload, None, DEPTH) {
                Err(Error::Claim(found)) => assert_eq!(found, error, "{payload}"),
                other => panic!("{payload}: {other:?}"),
            }
        }
        let negative = RegisteredClaims::parse(
            r#"{"iss":"i","sub":"s","aud":"a","exp":-2.5,"iat":9223372036854775807}"#,
            None,
            DEPTH,
        )
        .unwrap();
        assert_eq!((negative.exp(), negative.iat()), (-3, i64::MAX));
    }
}
