//! Public keys from JWKs and JWK sets, and the shared HMAC secret.
//!
//! A JWKS comes from the network: every key in it is checked when it is read
//! (type, curve, size, `use`, `key_ops`, `alg`), and a key that cannot be used
//! is skipped with its reason rather than failing the whole set, because
//! providers publish keys for other purposes (encryption, other curves) next to
//! their signing keys. Symmetric keys are always skipped: an HMAC secret only
//! ever comes from the caller's configuration ([`HmacSecret`]), which makes
//! RS256/HS256 key confusion impossible by construction.

use std::fmt;

use super::crypto::backend::{hmac, signature};
use serde_json::{Map, Value};

use super::b64;
use super::compact::HeaderCache;
use super::json::{DEFAULT_MAX_DEPTH, parse_object};
use super::{Algorithm, Error, KeyError, Malformed, Part};

/// Largest JWKS document read, by default: far above any real provider's set.
pub const DEFAULT_MAX_JWKS_LEN: usize = 256 * 1024;

/// A public key that can verify signatures, read from a JWK.
#[derive(Clone)]
pub struct VerifyingKey {
    kid: Option<String>,
    alg: Option<Algorithm>,
    material: Material,
    /// The key already parsed by the provider, when it can keep one (aws-lc-rs):
    /// parsing an EC point or an RSA modulus costs as much as a verification,
    /// so it is done once, when the key is read.
    #[cfg_attr(not(feature = "aws-lc-rs"), allow(dead_code))]
    parsed: Parsed,
}

impl PartialEq for VerifyingKey {
    fn eq(&self, other: &Self) -> bool {
        // `parsed` is derived from `material`.
        (&self.kid, self.alg, &self.material) == (&other.kid, other.alg, &other.material)
    }
}

impl Eq for VerifyingKey {}

/// Keys parsed once, per algorithm family (RSA keys serve RS256 and PS256).
#[cfg(feature = "aws-lc-rs")]
#[derive(Clone, Default)]
struct Parsed {
    main: Option<signature::ParsedPublicKey>,
    pss: Option<signature::ParsedPublicKey>,
}

#[cfg(not(feature = "aws-lc-rs"))]
#[derive(Clone, Default)]
struct Parsed;

impl Parsed {
    #[cfg(feature = "aws-lc-rs")]
    fn of(material: &Material) -> Option<Self> {
        use signature::ParsedPublicKey;
        Some(match material {
            Material::P256(point) => Self {
                main: Some(ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).ok()?),
                pss: None,
            },
            Material::Ed25519(x) => Self {
                main: Some(ParsedPublicKey::new(&signature::ED25519, x).ok()?),
                pss: None,
            },
            Material::Rsa { n, e } => {
                let der = super::der::rsa_public_key(n, e);
                Self {
                    main: Some(
                        ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &der).ok()?,
                    ),
                    pss: Some(
                        ParsedPublicKey::new(&signature::RSA_PSS_2048_8192_SHA256, &der).ok()?,
                    ),
                }
            }
        })
    }

    #[cfg(not(feature = "aws-lc-rs"))]
    #[allow(clippy::unnecessary_wraps)]
    fn of(_: &Material) -> Option<Self> {
        Some(Self)
    }
}

#[derive(Clone, PartialEq, Eq)]
enum Material {
    /// Big-endian modulus without leading zeros, and exponent.
    Rsa { n: Vec<u8>, e: Vec<u8> },
    /// Uncompressed SEC1 point, 65 bytes.
    P256(Vec<u8>),
    /// 32-byte public key.
    Ed25519(Vec<u8>),
}

impl VerifyingKey {
    /// Reads one public JWK (RFC 7517). Private members, if any, are ignored.
    pub fn from_jwk_json(json: &[u8]) -> Result<Self, Error> {
        if json.len() > DEFAULT_MAX_JWKS_LEN {
            return Err(Malformed::TooLarge {
                len: json.len(),
                limit: DEFAULT_MAX_JWKS_LEN,
            }
            .into());
        }
        let jwk = parse_object(json, Part::KeySet, DEFAULT_MAX_DEPTH)?;
        Ok(Self::from_jwk(&jwk)?)
    }

    pub(crate) fn from_jwk(jwk: &Map<String, Value>) -> Result<Self, KeyError> {
        let kty = string_member(jwk, "kty")?.ok_or(KeyError::Member("kty"))?;
        if let Some(usage) = string_member(jwk, "use")?
            && usage != "sig"
        {
            return Err(KeyError::NotForSignature);
        }
        if let Some(ops) = jwk.get("key_ops") {
            let ops = ops.as_array().ok_or(KeyError::Member("key_ops"))?;
            if !ops.iter().any(|op| op.as_str() == Some("verify")) {
                return Err(KeyError::OperationNotAllowed);
            }
        }
        let alg = match string_member(jwk, "alg")? {
            None => None,
            Some(name) => Some(name.parse().map_err(|_| KeyError::UnsupportedAlgorithm)?),
        };
        let kid = string_member(jwk, "kid")?.map(str::to_owned);
        let material = match kty {
            "RSA" => {
                let n = b64_member(jwk, "n")?;
                let e = b64_member(jwk, "e")?;
                rsa_material(n, e)?
            }
            "EC" => {
                if string_member(jwk, "crv")? != Some("P-256") {
                    return Err(KeyError::UnsupportedCurve);
                }
                Material::P256(p256_point(jwk)?)
            }
            "OKP" => {
                if string_member(jwk, "crv")? != Some("Ed25519") {
                    return Err(KeyError::UnsupportedCurve);
                }
                let x = b64_member(jwk, "x")?;
                if x.len() != 32 {
                    return Err(KeyError::Member("x"));
                }
                Material::Ed25519(x)
            }
            "oct" => return Err(KeyError::Symmetric),
            _ => return Err(KeyError::UnsupportedKeyType),
        };
        if let Some(alg) = alg
            && !material.fits(alg)
        {
            return Err(KeyError::AlgorithmMismatch(alg));
        }
        // A point off the curve, or an RSA key the provider refuses, is
        // refused now rather than at each token.
        let parsed = Parsed::of(&material).ok_or(KeyError::Invalid)?;
        Ok(Self {
            kid,
            alg,
            material,
            parsed,
        })
    }

    fn from_material(kid: Option<String>, alg: Option<Algorithm>, material: Material) -> Self {
        Self {
            kid,
            alg,
            parsed: Parsed::of(&material).unwrap_or_default(),
            material,
        }
    }

    pub(crate) fn from_parts_p256(
        kid: Option<String>,
        alg: Option<Algorithm>,
        point: Vec<u8>,
    ) -> Self {
        Self::from_material(kid, alg, Material::P256(point))
    }

    pub(crate) fn from_parts_ed25519(
        kid: Option<String>,
        alg: Option<Algorithm>,
        x: Vec<u8>,
    ) -> Self {
        Self::from_material(kid, alg, Material::Ed25519(x))
    }

    pub(crate) fn from_parts_rsa(
        kid: Option<String>,
        alg: Option<Algorithm>,
        n: Vec<u8>,
        e: Vec<u8>,
    ) -> Self {
        Self::from_material(kid, alg, Material::Rsa { n, e })
    }

    /// The key's `kid`, if it has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The algorithm the JWK is restricted to, if it names one.
    pub fn algorithm(&self) -> Option<Algorithm> {
        self.alg
    }

    /// Whether this key may verify a signature made with `alg`: the key type
    /// fits and the JWK's own `alg`, when present, is the same.
    pub fn fits(&self, alg: Algorithm) -> bool {
        self.alg.is_none_or(|a| a == alg) && self.material.fits(alg)
    }

    /// Checks `signature` over `message`. The caller has checked [`fits`](Self::fits).
    pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], sig: &[u8]) -> Result<(), Error> {
        #[cfg(feature = "aws-lc-rs")]
        {
            let parsed = match (&self.material, alg) {
                (Material::Rsa { .. }, Algorithm::PS256) => self.parsed.pss.as_ref(),
                (Material::Rsa { .. }, Algorithm::RS256)
                | (Material::P256(_), Algorithm::ES256)
                | (Material::Ed25519(_), Algorithm::EdDSA) => self.parsed.main.as_ref(),
                _ => return Err(KeyError::AlgorithmMismatch(alg).into()),
            };
            if let Some(parsed) = parsed {
                return parsed
                    .verify_sig(message, sig)
                    .map_err(|_| Error::BadSignature);
            }
        }
        let result = match (&self.material, alg) {
            (Material::P256(point), Algorithm::ES256) => {
                signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, sig)
            }
            (Material::Ed25519(x), Algorithm::EdDSA) => {
                signature::UnparsedPublicKey::new(&signature::ED25519, x).verify(message, sig)
            }
            (Material::Rsa { n, e }, Algorithm::RS256) => {
                signature::RsaPublicKeyComponents { n, e }.verify(
                    &signature::RSA_PKCS1_2048_8192_SHA256,
                    message,
                    sig,
                )
            }
            (Material::Rsa { n, e }, Algorithm::PS256) => {
                signature::RsaPublicKeyComponents { n, e }.verify(
                    &signature::RSA_PSS_2048_8192_SHA256,
                    message,
                    sig,
                )
            }
            _ => return Err(KeyError::AlgorithmMismatch(alg).into()),
        };
        result.map_err(|_| Error::BadSignature)
    }

    /// The public JWK, as a JSON object.
    pub fn to_jwk(&self) -> Map<String, Value> {
        let mut jwk = Map::new();
        match &self.material {
            Material::Rsa { n, e } => {
                jwk.insert("kty".into(), "RSA".into());
                jwk.insert("n".into(), b64::encode(n).into());
                jwk.insert("e".into(), b64::encode(e).into());
            }
            Material::P256(point) => {
                jwk.insert("kty".into(), "EC".into());
                jwk.insert("crv".into(), "P-256".into());
                jwk.insert("x".into(), b64::encode(&point[1..33]).into());
                jwk.insert("y".into(), b64::encode(&point[33..]).into());
            }
            Material::Ed25519(x) => {
                jwk.insert("kty".into(), "OKP".into());
                jwk.insert("crv".into(), "Ed25519".into());
                jwk.insert("x".into(), b64::encode(x).into());
            }
        }
        jwk.insert("use".into(), "sig".into());
        if let Some(alg) = self.alg {
            jwk.insert("alg".into(), alg.name().into());
        }
        if let Some(kid) = &self.kid {
            jwk.insert("kid".into(), kid.clone().into());
        }
        jwk
    }
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.material {
            Material::Rsa { n, .. } => format!("RSA-{}", bit_len(n)),
            Material::P256(_) => "EC P-256".to_owned(),
            Material::Ed25519(_) => "OKP Ed25519".to_owned(),
        };
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("type", &kind)
            .finish()
    }
}

impl Material {
    fn fits(&self, alg: Algorithm) -> bool {
        matches!(
            (self, alg),
            (Self::Rsa { .. }, Algorithm::RS256 | Algorithm::PS256)
                | (Self::P256(_), Algorithm::ES256)
                | (Self::Ed25519(_), Algorithm::EdDSA)
        )
    }
}

fn rsa_material(n: Vec<u8>, e: Vec<u8>) -> Result<Material, KeyError> {
    let n = strip_leading_zeros(n);
    let e = strip_leading_zeros(e);
    let bits = bit_len(&n);
    if bits < 2048 {
        return Err(KeyError::RsaTooSmall(bits));
    }
    // ring verifies with moduli up to 8192 bits and public exponents of
    // 3 to 2^33 - 1, odd; refuse anything else now rather than at each token.
    if bits > 8192 {
        return Err(KeyError::Invalid);
    }
    let odd = e.last().is_some_and(|b| b & 1 == 1);
    let too_large = e.len() > 5 || (e.len() == 5 && e[0] > 1);
    let at_least_three = e.len() > 1 || e.first().is_some_and(|&b| b >= 3);
    if !odd || too_large || !at_least_three {
        return Err(KeyError::Invalid);
    }
    Ok(Material::Rsa { n, e })
}

fn strip_leading_zeros(mut v: Vec<u8>) -> Vec<u8> {
    let zeros = v.iter().take_while(|&&b| b == 0).count();
    v.drain(..zeros);
    v
}

fn bit_len(n: &[u8]) -> usize {
    match n.first() {
        None => 0,
        Some(&top) => n.len() * 8 - top.leading_zeros() as usize,
    }
}

pub(crate) fn string_member<'a>(
    jwk: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, KeyError> {
    match jwk.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(KeyError::Member(name)),
    }
}

/// The uncompressed SEC1 point of a P-256 JWK's `x` and `y` (32 bytes each;
/// whether it is on the curve is the provider's to check).
pub(crate) fn p256_point(jwk: &Map<String, Value>) -> Result<Vec<u8>, KeyError> {
    let (x, y) = (b64_member(jwk, "x")?, b64_member(jwk, "y")?);
    if x.len() != 32 {
        return Err(KeyError::Member("x"));
    }
    if y.len() != 32 {
        return Err(KeyError::Member("y"));
    }
    Ok([&[4u8][..], &x, &y].concat())
}

pub(crate) fn b64_member(
    jwk: &Map<String, Value>,
    name: &'static str,
) -> Result<Vec<u8>, KeyError> {
    let s = string_member(jwk, name)?.ok_or(KeyError::Member(name))?;
    b64::decode(s.as_bytes()).map_err(|()| KeyError::Member(name))
}

/// A key in a JWKS that was not taken, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedKey {
    /// Position of the key in the set's `keys` array.
    pub index: usize,
    /// Its `kid`, when it had a readable one.
    pub kid: Option<String>,
    /// Why it cannot be used.
    pub reason: KeyError,
}

/// The keys a token may be verified with: public keys from the issuer's JWKS,
/// plus an HMAC secret if the caller configured one.
///
/// A set also keeps the headers of the first tokens it verified (four): the
/// next tokens with the very same header (a provider signing with one key
/// writes the same on each) skip reading it again. Keep one set per issuer,
/// as long as its keys last.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: Vec<VerifyingKey>,
    skipped: Vec<SkippedKey>,
    hmac: Option<HmacSecret>,
    /// What the headers of the first tokens verified with this set say.
    header: HeaderCache,
}

impl KeySet {
    /// A set with these keys.
    pub fn new(keys: impl IntoIterator<Item = VerifyingKey>) -> Self {
        Self {
            keys: keys.into_iter().collect(),
            ..Self::default()
        }
    }

    /// Reads a JWKS document (`{"keys":[...]}`), at most
    /// [`DEFAULT_MAX_JWKS_LEN`] bytes. Keys that cannot be used are skipped and
    /// listed in [`skipped`](Self::skipped); the document itself must be
    /// well-formed.
    pub fn from_jwks_json(json: &[u8]) -> Result<Self, Error> {
        if json.len() > DEFAULT_MAX_JWKS_LEN {
            return Err(Malformed::TooLarge {
                len: json.len(),
                limit: DEFAULT_MAX_JWKS_LEN,
            }
            .into());
        }
        let doc = parse_object(json, Part::KeySet, DEFAULT_MAX_DEPTH)?;
        let Some(Value::Array(entries)) = doc.get("keys") else {
            return Err(KeyError::Member("keys").into());
        };
        let mut set = Self::default();
        for (index, entry) in entries.iter().enumerate() {
            let parsed = match entry {
                Value::Object(jwk) => VerifyingKey::from_jwk(jwk),
                _ => Err(KeyError::UnsupportedKeyType),
            };
            match parsed {
                Ok(key) => set.keys.push(key),
                Err(reason) => set.skipped.push(SkippedKey {
                    index,
                    kid: entry.get("kid").and_then(Value::as_str).map(str::to_owned),
                    reason,
                }),
            }
        }
        Ok(set)
    }

    /// Adds the shared secret for HS256. It must come from configuration (for
    /// FranceConnect, the client secret), never from a document received.
    #[must_use]
    pub fn with_hmac_secret(mut self, secret: HmacSecret) -> Self {
        self.hmac = Some(secret);
        self
    }

    /// The usable public keys.
    pub fn keys(&self) -> &[VerifyingKey] {
        &self.keys
    }

    /// The keys of the JWKS that were not taken, with the reason.
    pub fn skipped(&self) -> &[SkippedKey] {
        &self.skipped
    }

    /// Whether a key with this `kid` is in the set (whatever its algorithm).
    pub fn contains_kid(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid() == Some(kid))
    }

    /// The public keys as a JWKS document.
    pub fn to_jwks_json(&self) -> String {
        let keys: Vec<Value> = self
            .keys
            .iter()
            .map(|k| Value::Object(k.to_jwk()))
            .collect();
        serde_json::json!({ "keys": keys }).to_string()
    }

    pub(crate) fn header_cache(&self) -> &HeaderCache {
        &self.header
    }

    pub(crate) fn hmac(&self) -> Option<&HmacSecret> {
        self.hmac.as_ref()
    }

    /// The one key that must verify a token with this `alg` and `kid`.
    ///
    /// Only the header's `kid` and `alg` are used: `jku`, `x5u`, `jwk` and
    /// `x5c` never point at a key.
    pub(crate) fn select(&self, alg: Algorithm, kid: Option<&str>) -> Result<&VerifyingKey, Error> {
        let mut found = None;
        let mut count = 0;
        for key in &self.keys {
            if key.fits(alg) && (kid.is_none() || key.kid() == kid) {
                count += 1;
                found.get_or_insert(key);
            }
        }
        match (found, count) {
            (Some(key), 1) => Ok(key),
            (None, _) => Err(Error::NoMatchingKey {
                kid: kid.map(str::to_owned),
            }),
            (Some(_), count) => Err(Error::AmbiguousKey {
                kid: kid.map(str::to_owned),
                count,
            }),
        }
    }
}

/// Minimum HMAC secret length: RFC 7518 §3.2 asks for at least the hash size.
const MIN_HMAC_SECRET_LEN: usize = 32;

/// A shared secret for HS256, from configuration only. Its `Debug` never
/// shows the secret.
#[derive(Clone)]
pub struct HmacSecret(hmac::Key);

impl HmacSecret {
    /// A secret of at least 32 bytes (RFC 7518 §3.2).
    pub fn new(secret: &[u8]) -> Result<Self, Error> {
        if secret.len() < MIN_HMAC_SECRET_LEN {
            return Err(KeyError::Invalid.into());
        }
        Ok(Self(hmac::Key::new(hmac::HMAC_SHA256, secret)))
    }

    /// Checks an HS256 tag in constant time.
    pub(crate) fn verify(&self, message: &[u8], tag: &[u8]) -> Result<(), Error> {
        hmac::verify(&self.0, message, tag).map_err(|_| Error::BadSignature)
    }
}

impl fmt::Debug for HmacSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HmacSecret([redacted])")
    }
}
