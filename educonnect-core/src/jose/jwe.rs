//! Compact JWE (RFC 7516): the encrypted tokens of FranceConnect+ and of any
//! OpenID Connect provider that encrypts its ID tokens or userinfo to the
//! relying party.
//!
//! Only what those providers use is implemented, and everything else is
//! refused with its own error:
//!
//! - key management `RSA-OAEP`, `RSA-OAEP-256` (RSA keys of 2048 bits and
//!   more) and `ECDH-ES` on P-256 (direct key agreement, RFC 7518 §4.6);
//! - content encryption `A256GCM` and `A128GCM`;
//! - no compression (`zip`), no critical extension (`crit`).
//!
//! Decryption gives back the plaintext; a relying party then wants the signed
//! JWT inside (a nested JWT), through the one verification path:
//! [`Validation::verify_encrypted`](super::Validation::verify_encrypted).
//!
//! Failure to decrypt is one error, [`JweError::DecryptionFailed`], whether
//! the RSA padding, the key length or the tag failed: after an RSA-OAEP failure
//! decryption goes on with a random key (RFC 7516 §11.5), so that neither the
//! answer nor its timing tells an attacker which step failed.
//!
//! The relying party's keys ([`DecryptionKey`]) need the aws-lc-rs provider:
//! ring has neither RSA-OAEP nor static-key ECDH. Under ring they are refused
//! with [`KeyError::Unsupported`].

use std::fmt;

use serde_json::{Map, Value};

use super::crypto::backend::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use super::crypto::{fill_random, sha256};
use super::json::{DEFAULT_MAX_DEPTH, parse_object};
use super::jwk::{b64_member, p256_point, string_member};
use super::{Error, KeyError, Malformed, Part, b64};

/// Largest JWE read, by default: 64 KiB. FranceConnect+'s encrypted ID token
/// and userinfo are a few kilobytes.
pub const DEFAULT_MAX_JWE_LEN: usize = 64 * 1024;

/// How the content key is carried to the relying party (the header's `alg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyManagement {
    /// RSAES-OAEP with SHA-1 and MGF1-SHA-1.
    RsaOaep,
    /// RSAES-OAEP with SHA-256 and MGF1-SHA-256.
    RsaOaep256,
    /// Elliptic-curve Diffie-Hellman on P-256, ephemeral-static, the agreed
    /// key used directly (Concat KDF).
    EcdhEs,
}

impl KeyManagement {
    /// Every key management algorithm implemented.
    pub const ALL: [Self; 3] = [Self::RsaOaep, Self::RsaOaep256, Self::EcdhEs];

    /// The name in JOSE headers and JWKs.
    pub fn name(self) -> &'static str {
        match self {
            Self::RsaOaep => "RSA-OAEP",
            Self::RsaOaep256 => "RSA-OAEP-256",
            Self::EcdhEs => "ECDH-ES",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    fn is_rsa(self) -> bool {
        matches!(self, Self::RsaOaep | Self::RsaOaep256)
    }
}

impl fmt::Display for KeyManagement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How the content is encrypted (the header's `enc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ContentEncryption {
    /// AES-128 in GCM mode.
    A128Gcm,
    /// AES-256 in GCM mode. FranceConnect+'s.
    A256Gcm,
}

impl ContentEncryption {
    /// Every content encryption implemented.
    pub const ALL: [Self; 2] = [Self::A256Gcm, Self::A128Gcm];

    /// The name in JOSE headers.
    pub fn name(self) -> &'static str {
        match self {
            Self::A128Gcm => "A128GCM",
            Self::A256Gcm => "A256GCM",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Length of the content key, in bytes.
    fn key_len(self) -> usize {
        match self {
            Self::A128Gcm => 16,
            Self::A256Gcm => 32,
        }
    }

    fn aead(self) -> &'static super::crypto::backend::aead::Algorithm {
        match self {
            Self::A128Gcm => &AES_128_GCM,
            Self::A256Gcm => &AES_256_GCM,
        }
    }
}

impl fmt::Display for ContentEncryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why an encrypted token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JweError {
    /// A compact JWE has five segments.
    #[error("a compact JWE has five dot-separated segments, this has {0}")]
    SegmentCount(usize),
    /// A segment is not strict base64url without padding.
    #[error("segment {0} of the JWE is not base64url without padding")]
    Base64(&'static str),
    /// The header's `alg` is not a key management algorithm implemented here.
    #[error("unsupported key management algorithm (alg)")]
    KeyManagementUnsupported,
    /// The header's `alg` is implemented but not allowed for these keys.
    #[error("key management {0} is not allowed")]
    KeyManagementNotAllowed(KeyManagement),
    /// The header's `enc` is not a content encryption implemented here.
    #[error("unsupported content encryption (enc)")]
    ContentEncryptionUnsupported,
    /// The header's `enc` is implemented but not allowed.
    #[error("content encryption {0} is not allowed")]
    ContentEncryptionNotAllowed(ContentEncryption),
    /// The content is compressed (`zip`): refused, as compression before
    /// encryption leaks the plaintext's content through its length.
    #[error("compressed content (zip) is not accepted")]
    Compressed,
    /// The initialization vector is not 96 bits.
    #[error("the initialization vector is {0} bytes, not 12")]
    IvLength(usize),
    /// The authentication tag is not 128 bits.
    #[error("the authentication tag is {0} bytes, not 16")]
    TagLength(usize),
    /// `ECDH-ES` carries no encrypted key; this token has one.
    #[error("ECDH-ES with an encrypted key segment")]
    UnexpectedEncryptedKey,
    /// The ephemeral public key (`epk`) is missing, malformed, or not a point
    /// of P-256.
    #[error("the ephemeral public key (epk) is missing or not a P-256 point")]
    InvalidEphemeralKey,
    /// The token could not be decrypted with the selected key: a wrong key,
    /// a damaged token, or a forged one. Deliberately one error.
    #[error("decryption failed")]
    DecryptionFailed,
    /// The plaintext is not a signed JWT (a compact JWS), or the header's
    /// `cty` says it is something else. Encryption alone proves nothing about
    /// who wrote the content.
    #[error("the encrypted content is not a signed JWT")]
    NotASignedJwt,
    /// A signed token came where the provider must encrypt.
    #[error("the token is not encrypted, and this provider must encrypt its tokens")]
    NotEncrypted,
}

/// A private key of the relying party's that decrypts tokens (`use: enc`).
pub struct DecryptionKey {
    kid: String,
    alg: KeyManagement,
    inner: provider::PrivateKey,
}

/// A public key that tokens are encrypted to: the relying party's, read from
/// its JWKS by a provider (the sandbox), or a test.
#[derive(Clone)]
pub struct EncryptionKey {
    kid: Option<String>,
    alg: KeyManagement,
    inner: provider::PublicKey,
}

/// The relying party's decryption keys, and what they accept. Several keys
/// make a rotation: the new key is published beside the old one, and tokens
/// encrypted to either decrypt until the old one is removed.
pub struct DecryptionKeys {
    keys: Vec<DecryptionKey>,
    encryptions: Vec<ContentEncryption>,
    max_len: usize,
}

impl DecryptionKey {
    /// Generates a key for `alg`: P-256 for `ECDH-ES`, RSA-2048 for the
    /// RSA-OAEP algorithms.
    pub fn generate(alg: KeyManagement, kid: impl Into<String>) -> Result<Self, Error> {
        Ok(Self {
            kid: kid.into(),
            alg,
            inner: provider::PrivateKey::generate(alg)?,
        })
    }

    /// Reads a private JWK: `{"kty":"EC","crv":"P-256","x","y","d"}` or an
    /// RSA key with all its members, with its `kid` and `alg` (one of
    /// [`KeyManagement`]'s names; required, so that the key is never used
    /// with another algorithm).
    pub fn from_jwk_json(json: &[u8]) -> Result<Self, Error> {
        let jwk = parse_object(json, Part::KeySet, DEFAULT_MAX_DEPTH)?;
        Ok(Self::from_jwk(&jwk)?)
    }

    fn from_jwk(jwk: &Map<String, Value>) -> Result<Self, KeyError> {
        let kid = string_member(jwk, "kid")?
            .ok_or(KeyError::Member("kid"))?
            .to_owned();
        if let Some(usage) = string_member(jwk, "use")?
            && usage != "enc"
        {
            return Err(KeyError::Member("use"));
        }
        let alg = string_member(jwk, "alg")?.ok_or(KeyError::Member("alg"))?;
        let alg = KeyManagement::from_name(alg).ok_or(KeyError::UnsupportedAlgorithm)?;
        if !jwk.contains_key("d") {
            return Err(KeyError::NotPrivate);
        }
        let inner = match (string_member(jwk, "kty")?, alg.is_rsa()) {
            (Some("RSA"), true) => {
                provider::PrivateKey::from_rsa(super::sign::rsa_components(jwk)?)?
            }
            (Some("EC"), false) => {
                if string_member(jwk, "crv")? != Some("P-256") {
                    return Err(KeyError::UnsupportedCurve);
                }
                provider::PrivateKey::from_p256(&b64_member(jwk, "d")?, &p256_point(jwk)?)?
            }
            (Some("RSA" | "EC"), _) => return Err(KeyError::Invalid),
            (Some(_), _) => return Err(KeyError::UnsupportedKeyType),
            (None, _) => return Err(KeyError::Member("kty")),
        };
        Ok(Self { kid, alg, inner })
    }

    /// The key's `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The algorithm the key decrypts with.
    pub fn algorithm(&self) -> KeyManagement {
        self.alg
    }

    /// The public JWK to publish (`use: enc`, with `alg` and `kid`).
    pub fn public_jwk(&self) -> Map<String, Value> {
        let mut jwk = self.inner.public_members();
        jwk.insert("use".into(), "enc".into());
        jwk.insert("alg".into(), self.alg.name().into());
        jwk.insert("kid".into(), self.kid.clone().into());
        jwk
    }

    /// The public half, to encrypt to this key (tests, the sandbox).
    pub fn encryption_key(&self) -> EncryptionKey {
        EncryptionKey::from_jwk(&self.public_jwk()).expect("a key's own public half is valid")
    }

    /// The private JWK, to store the key. It holds the secret: write it with
    /// restricted permissions and never log it.
    pub fn to_private_jwk_json(&self) -> String {
        let mut jwk = self.public_jwk();
        self.inner.insert_private_members(&mut jwk);
        Value::Object(jwk).to_string()
    }
}

impl fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecryptionKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("secret", &"[redacted]")
            .finish()
    }
}

impl EncryptionKey {
    /// Reads a public JWK with `alg` one of [`KeyManagement`]'s names and
    /// `use`, when present, `enc`.
    pub fn from_jwk_json(json: &[u8]) -> Result<Self, Error> {
        let jwk = parse_object(json, Part::KeySet, DEFAULT_MAX_DEPTH)?;
        Ok(Self::from_jwk(&jwk)?)
    }

    /// The first key of a JWKS (`{"keys":[…]}`) that can encrypt: `use` is
    /// `enc` and its `alg` is implemented. Other keys are passed over.
    pub fn first_in_jwks(json: &[u8]) -> Result<Self, Error> {
        let set = parse_object(json, Part::KeySet, DEFAULT_MAX_DEPTH)?;
        let keys = set
            .get("keys")
            .and_then(Value::as_array)
            .ok_or(Malformed::NotAnObject(Part::KeySet))?;
        keys.iter()
            .filter_map(Value::as_object)
            .filter(|jwk| jwk.get("use").and_then(Value::as_str) == Some("enc"))
            .find_map(|jwk| Self::from_jwk(jwk).ok())
            .ok_or(Error::NoMatchingKey { kid: None })
    }

    pub(crate) fn from_jwk(jwk: &Map<String, Value>) -> Result<Self, KeyError> {
        if let Some(usage) = string_member(jwk, "use")?
            && usage != "enc"
        {
            return Err(KeyError::Member("use"));
        }
        let alg = string_member(jwk, "alg")?.ok_or(KeyError::Member("alg"))?;
        let alg = KeyManagement::from_name(alg).ok_or(KeyError::UnsupportedAlgorithm)?;
        let inner = match (string_member(jwk, "kty")?, alg.is_rsa()) {
            (Some("RSA"), true) => {
                provider::PublicKey::rsa(&b64_member(jwk, "n")?, &b64_member(jwk, "e")?)?
            }
            (Some("EC"), false) => {
                if string_member(jwk, "crv")? != Some("P-256") {
                    return Err(KeyError::UnsupportedCurve);
                }
                provider::PublicKey::P256(p256_point(jwk)?)
            }
            (Some("RSA" | "EC"), _) => return Err(KeyError::Invalid),
            (Some(_), _) => return Err(KeyError::UnsupportedKeyType),
            (None, _) => return Err(KeyError::Member("kty")),
        };
        Ok(Self {
            kid: string_member(jwk, "kid")?.map(str::to_owned),
            alg,
            inner,
        })
    }

    /// The key management algorithm tokens are encrypted with.
    pub fn algorithm(&self) -> KeyManagement {
        self.alg
    }

    /// Encrypts `plaintext` as a compact JWE with `enc`, the key's `alg` and
    /// `kid`, and `cty` when given (`"JWT"` for a nested signed token).
    pub fn encrypt(
        &self,
        plaintext: &[u8],
        enc: ContentEncryption,
        cty: Option<&str>,
    ) -> Result<String, Error> {
        let mut header = Map::new();
        header.insert("alg".into(), self.alg.name().into());
        header.insert("enc".into(), enc.name().into());
        if let Some(kid) = &self.kid {
            header.insert("kid".into(), kid.clone().into());
        }
        if let Some(cty) = cty {
            header.insert("cty".into(), cty.into());
        }
        let (cek, encrypted_key) = match self.alg {
            KeyManagement::EcdhEs => {
                let (cek, epk) = self.inner.agree_ephemeral(enc)?;
                header.insert("epk".into(), Value::Object(epk));
                (cek, Vec::new())
            }
            alg => {
                let mut cek = vec![0u8; enc.key_len()];
                fill_random(&mut cek);
                let encrypted = self.inner.rsa_encrypt(alg, &cek)?;
                (cek, encrypted)
            }
        };
        let protected = b64::encode(Value::Object(header).to_string().as_bytes());
        let mut iv = [0u8; 12];
        fill_random(&mut iv);
        let key =
            LessSafeKey::new(UnboundKey::new(enc.aead(), &cek).map_err(|_| KeyError::Invalid)?);
        let mut content = plaintext.to_vec();
        let tag = key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(iv),
                Aad::from(protected.as_bytes()),
                &mut content,
            )
            .map_err(|_| KeyError::Signing)?;
        Ok([
            protected,
            b64::encode(&encrypted_key),
            b64::encode(&iv),
            b64::encode(&content),
            b64::encode(tag.as_ref()),
        ]
        .join("."))
    }
}

impl fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptionKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

impl DecryptionKeys {
    /// The relying party's keys, newest first. Needs the aws-lc-rs provider
    /// (a key cannot be built under ring).
    pub fn new(keys: impl IntoIterator<Item = DecryptionKey>) -> Self {
        Self {
            keys: keys.into_iter().collect(),
            encryptions: ContentEncryption::ALL.to_vec(),
            max_len: DEFAULT_MAX_JWE_LEN,
        }
    }

    /// Restricts the content encryptions accepted (both GCM sizes by default).
    #[must_use]
    pub fn content_encryptions(
        mut self,
        encs: impl IntoIterator<Item = ContentEncryption>,
    ) -> Self {
        self.encryptions = encs.into_iter().collect();
        self
    }

    /// The largest token read ([`DEFAULT_MAX_JWE_LEN`] by default).
    #[must_use]
    pub fn max_len(mut self, bytes: usize) -> Self {
        self.max_len = bytes;
        self
    }

    /// The keys, newest first.
    pub fn keys(&self) -> &[DecryptionKey] {
        &self.keys
    }

    /// Whether there is no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The public JWKs to publish at the relying party's `jwks_uri`.
    pub fn public_jwks(&self) -> Vec<Map<String, Value>> {
        self.keys.iter().map(DecryptionKey::public_jwk).collect()
    }

    /// Decrypts a compact JWE with one of the keys; the plaintext.
    ///
    /// The key is the one whose `kid` the header names; without a `kid`,
    /// each key of the header's `alg` is tried in turn (a rotation's old
    /// and new keys).
    pub fn decrypt(&self, token: &[u8]) -> Result<Vec<u8>, Error> {
        self.open(&self.parse(token)?)
    }

    /// The token cut into its parts, within the size limit.
    fn parse<'a>(&self, token: &'a [u8]) -> Result<Jwe<'a>, Error> {
        if token.len() > self.max_len {
            return Err(Malformed::TooLarge {
                len: token.len(),
                limit: self.max_len,
            }
            .into());
        }
        Jwe::parse(token)
    }

    /// Decrypts a parsed token with the key its header selects.
    fn open(&self, jwe: &Jwe<'_>) -> Result<Vec<u8>, Error> {
        if !self.keys.iter().any(|k| k.alg == jwe.alg) {
            return Err(JweError::KeyManagementNotAllowed(jwe.alg).into());
        }
        if !self.encryptions.contains(&jwe.enc) {
            return Err(JweError::ContentEncryptionNotAllowed(jwe.enc).into());
        }
        let candidates = self
            .keys
            .iter()
            .filter(|k| k.alg == jwe.alg && jwe.kid.as_deref().is_none_or(|kid| kid == k.kid));
        let mut tried = false;
        for key in candidates {
            tried = true;
            match jwe.decrypt_with(key) {
                Err(Error::Jwe(JweError::DecryptionFailed)) if jwe.kid.is_none() => continue,
                other => return other,
            }
        }
        Err(if tried {
            JweError::DecryptionFailed.into()
        } else {
            Error::NoMatchingKey {
                kid: jwe.kid.clone(),
            }
        })
    }
}

impl fmt::Debug for DecryptionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DecryptionKeys")
            .field("keys", &self.keys)
            .field("encryptions", &self.encryptions)
            .finish()
    }
}

/// Whether `token` has the five segments of a compact JWE (rather than the
/// three of a JWS). Says nothing of its validity.
pub fn is_compact_jwe(token: &[u8]) -> bool {
    memchr::memchr_iter(b'.', token).count() == 4
}

/// A compact JWE cut into its parts, header read, nothing decrypted.
struct Jwe<'a> {
    alg: KeyManagement,
    enc: ContentEncryption,
    kid: Option<String>,
    header: Map<String, Value>,
    /// The protected header as sent: the AAD of the content encryption.
    protected: &'a [u8],
    encrypted_key: Vec<u8>,
    iv: [u8; 12],
    /// Ciphertext then tag, as the AEAD opens them.
    sealed: Vec<u8>,
}

impl<'a> Jwe<'a> {
    fn parse(token: &'a [u8]) -> Result<Self, Error> {
        let segments: Vec<&[u8]> = token.split(|b| *b == b'.').collect();
        let [protected, encrypted_key, iv, ciphertext, tag] = segments[..] else {
            return Err(JweError::SegmentCount(segments.len()).into());
        };
        let header_json = b64::decode(protected).map_err(|()| JweError::Base64("header"))?;
        let header = parse_object(&header_json, Part::Header, DEFAULT_MAX_DEPTH)?;
        let name = |member: &'static str| match header.get(member) {
            Some(Value::String(name)) => Ok(name.as_str()),
            _ => Err(Malformed::HeaderMember(member)),
        };
        let alg = match name("alg")? {
            n if n.eq_ignore_ascii_case("none") => return Err(Error::AlgorithmNone),
            n => KeyManagement::from_name(n).ok_or(JweError::KeyManagementUnsupported)?,
        };
        let enc = ContentEncryption::from_name(name("enc")?)
            .ok_or(JweError::ContentEncryptionUnsupported)?;
        if header.contains_key("zip") {
            return Err(JweError::Compressed.into());
        }
        if header.contains_key("crit") {
            return Err(Error::CriticalHeader);
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.clone()),
            Some(_) => return Err(Malformed::HeaderMember("kid").into()),
        };
        let encrypted_key =
            b64::decode(encrypted_key).map_err(|()| JweError::Base64("encrypted key"))?;
        let iv = b64::decode(iv).map_err(|()| JweError::Base64("initialization vector"))?;
        let iv: [u8; 12] = iv[..]
            .try_into()
            .map_err(|_| JweError::IvLength(iv.len()))?;
        let mut sealed = b64::decode(ciphertext).map_err(|()| JweError::Base64("ciphertext"))?;
        let tag = b64::decode(tag).map_err(|()| JweError::Base64("tag"))?;
        if tag.len() != 16 {
            return Err(JweError::TagLength(tag.len()).into());
        }
        sealed.extend_from_slice(&tag);
        if alg == KeyManagement::EcdhEs && !encrypted_key.is_empty() {
            return Err(JweError::UnexpectedEncryptedKey.into());
        }
        Ok(Self {
            alg,
            enc,
            kid,
            header,
            protected,
            encrypted_key,
            iv,
            sealed,
        })
    }

    fn decrypt_with(&self, key: &DecryptionKey) -> Result<Vec<u8>, Error> {
        let cek = match self.alg {
            KeyManagement::EcdhEs => {
                let epk = match self.header.get("epk") {
                    Some(Value::Object(epk)) => epk,
                    _ => return Err(JweError::InvalidEphemeralKey.into()),
                };
                if string_member(epk, "kty").ok().flatten() != Some("EC")
                    || string_member(epk, "crv").ok().flatten() != Some("P-256")
                {
                    return Err(JweError::InvalidEphemeralKey.into());
                }
                let point = p256_point(epk).map_err(|_| JweError::InvalidEphemeralKey)?;
                let party = |member| match self.header.get(member) {
                    None => Ok(Vec::new()),
                    Some(Value::String(v)) => b64::decode(v.as_bytes())
                        .map_err(|()| Error::from(Malformed::HeaderMember(member))),
                    Some(_) => Err(Malformed::HeaderMember(member).into()),
                };
                let (apu, apv) = (party("apu")?, party("apv")?);
                key.inner
                    .agree_static(&point, |z| concat_kdf(z, self.enc, &apu, &apv))
                    .ok_or(JweError::InvalidEphemeralKey)?
            }
            alg => {
                // RFC 7516 §11.5: whatever went wrong, go on with a random
                // key of the right length, and fail at the tag.
                let mut cek = key
                    .inner
                    .rsa_decrypt(alg, &self.encrypted_key)
                    .filter(|cek| cek.len() == self.enc.key_len());
                if cek.is_none() {
                    let mut random = vec![0u8; self.enc.key_len()];
                    fill_random(&mut random);
                    cek = Some(random);
                }
                cek.unwrap_or_default()
            }
        };
        let aead = LessSafeKey::new(
            UnboundKey::new(self.enc.aead(), &cek).map_err(|_| JweError::DecryptionFailed)?,
        );
        let mut sealed = self.sealed.clone();
        let plaintext = aead
            .open_in_place(
                Nonce::assume_unique_for_key(self.iv),
                Aad::from(self.protected),
                &mut sealed,
            )
            .map_err(|_| JweError::DecryptionFailed)?;
        let len = plaintext.len();
        sealed.truncate(len);
        Ok(sealed)
    }

    /// The header's `cty`, when present.
    fn content_type(&self) -> Option<&str> {
        self.header.get("cty").and_then(Value::as_str)
    }
}

#[cfg(all(test, feature = "aws-lc-rs"))]
mod tests {
    use super::*;

    /// RFC 7518 Appendix C: Bob's static key, Alice's ephemeral public key,
    /// `A128GCM` with `apu` "Alice" and `apv` "Bob".
    #[test]
    fn rfc_7518_appendix_c_key_agreement() {
        let b = |s: &str| b64::decode(s.as_bytes()).unwrap();
        let bob_point = [
            &[4u8][..],
            &b("weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ"),
            &b("e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck"),
        ]
        .concat();
        let bob = provider::PrivateKey::from_p256(
            &b("VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw"),
            &bob_point,
        )
        .unwrap();
        let alice_point = [
            &[4u8][..],
            &b("gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0"),
            &b("SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps"),
        ]
        .concat();
        let derived = bob
            .agree_static(&alice_point, |z| {
                concat_kdf(z, ContentEncryption::A128Gcm, b"Alice", b"Bob")
            })
            .unwrap();
        assert_eq!(b64::encode(&derived), "VqqN6vgjbSBcIijNcacQGg");
    }
}

/// Concat KDF (NIST SP 800-56A, RFC 7518 §4.6.2) for ECDH-ES in direct key
/// agreement: one SHA-256 round is enough for 128 or 256 bits.
fn concat_kdf(z: &[u8], enc: ContentEncryption, apu: &[u8], apv: &[u8]) -> Vec<u8> {
    let algorithm_id = enc.name().as_bytes();
    let bits = u32::try_from(enc.key_len() * 8).unwrap_or(0);
    let mut input =
        Vec::with_capacity(4 + z.len() + 28 + algorithm_id.len() + apu.len() + apv.len());
    input.extend_from_slice(&1u32.to_be_bytes());
    input.extend_from_slice(z);
    for field in [algorithm_id, apu, apv] {
        input.extend_from_slice(&u32::try_from(field.len()).unwrap_or(0).to_be_bytes());
        input.extend_from_slice(field);
    }
    input.extend_from_slice(&bits.to_be_bytes());
    sha256(&input)[..enc.key_len()].to_vec()
}

impl DecryptionKeys {
    /// Decrypts a nested JWT and gives back the signed token inside, to verify
    /// with [`Validation::verify`](super::Validation::verify) (mapping its
    /// errors with [`nested_error`]): what
    /// [`Validation::verify_encrypted`](super::Validation::verify_encrypted)
    /// does, for callers that verify the inner token on their own path.
    ///
    /// Refused: a token that is not a JWE ([`JweError::NotEncrypted`]), a
    /// `cty` other than `JWT`, a plaintext without the shape of a compact JWS
    /// ([`JweError::NotASignedJwt`]).
    pub fn decrypt_signed(&self, token: &[u8]) -> Result<Vec<u8>, Error> {
        if !is_compact_jwe(token) {
            return Err(JweError::NotEncrypted.into());
        }
        let jwe = self.parse(token)?;
        let cty_ok = jwe
            .content_type()
            .is_none_or(|cty| cty.eq_ignore_ascii_case("JWT"));
        let plaintext = self.open(&jwe)?;
        if !cty_ok || memchr::memchr_iter(b'.', &plaintext).count() != 2 {
            return Err(JweError::NotASignedJwt.into());
        }
        Ok(plaintext)
    }
}

/// The error of verifying the signed token inside a JWE: a plaintext that
/// does not even parse as a JWS (bare JSON claims, `alg: none`) is
/// [`JweError::NotASignedJwt`]; other refusals are what they are.
pub fn nested_error(error: Error) -> Error {
    match error {
        Error::Malformed(_) | Error::AlgorithmNone | Error::AlgorithmUnsupported => {
            JweError::NotASignedJwt.into()
        }
        other => other,
    }
}

/// The provider-specific half: RSA-OAEP and static ECDH exist in aws-lc-rs
/// only.
#[cfg(feature = "aws-lc-rs")]
mod provider {
    use aws_lc_rs::agreement::{self, ECDH_P256, UnparsedPublicKey};
    use aws_lc_rs::encoding::{AsBigEndian, AsDer, EcPrivateKeyBin, Pkcs8V1Der};
    use aws_lc_rs::rsa::{
        KeySize, OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256, OaepAlgorithm,
        OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey,
        PublicEncryptingKey,
    };
    use serde_json::{Map, Value};

    use super::super::der::{self, RsaPrivateComponents};
    use super::super::sign::insert_rsa_private;
    use super::super::{KeyError, b64};
    use super::{ContentEncryption, KeyManagement, concat_kdf};

    pub(super) enum PrivateKey {
        Rsa {
            key: OaepPrivateDecryptingKey,
            components: RsaPrivateComponents,
        },
        P256 {
            key: agreement::PrivateKey,
            d: Vec<u8>,
            point: Vec<u8>,
        },
    }

    #[derive(Clone)]
    pub(super) enum PublicKey {
        Rsa(std::sync::Arc<OaepPublicEncryptingKey>),
        P256(Vec<u8>),
    }

    fn oaep(alg: KeyManagement) -> &'static OaepAlgorithm {
        if alg == KeyManagement::RsaOaep {
            &OAEP_SHA1_MGF1SHA1
        } else {
            &OAEP_SHA256_MGF1SHA256
        }
    }

    impl PrivateKey {
        pub(super) fn generate(alg: KeyManagement) -> Result<Self, KeyError> {
            if alg.is_rsa() {
                let key = PrivateDecryptingKey::generate(KeySize::Rsa2048)
                    .map_err(|_| KeyError::Generation)?;
                let pkcs8: Pkcs8V1Der<'_> = key.as_der().map_err(|_| KeyError::Generation)?;
                let components = der::read_rsa_pkcs8(pkcs8.as_ref()).ok_or(KeyError::Generation)?;
                Self::from_rsa(components)
            } else {
                let key = agreement::PrivateKey::generate(&ECDH_P256)
                    .map_err(|_| KeyError::Generation)?;
                let d: EcPrivateKeyBin<'_> = key.as_be_bytes().map_err(|_| KeyError::Generation)?;
                let point = key.compute_public_key().map_err(|_| KeyError::Generation)?;
                Self::from_p256(d.as_ref(), point.as_ref())
            }
        }

        pub(super) fn from_rsa(components: RsaPrivateComponents) -> Result<Self, KeyError> {
            let key = PrivateDecryptingKey::from_pkcs8(&der::rsa_pkcs8(&components))
                .map_err(|_| KeyError::Invalid)?;
            if key.key_size_bits() < 2048 {
                return Err(KeyError::RsaTooSmall(key.key_size_bits()));
            }
            let key = OaepPrivateDecryptingKey::new(key).map_err(|_| KeyError::Invalid)?;
            Ok(Self::Rsa { key, components })
        }

        pub(super) fn from_p256(d: &[u8], point: &[u8]) -> Result<Self, KeyError> {
            let key = agreement::PrivateKey::from_private_key(&ECDH_P256, d)
                .map_err(|_| KeyError::Invalid)?;
            let public = key.compute_public_key().map_err(|_| KeyError::Invalid)?;
            if public.as_ref() != point {
                // `x`/`y` of another key than `d`.
                return Err(KeyError::Invalid);
            }
            Ok(Self::P256 {
                key,
                d: d.to_vec(),
                point: point.to_vec(),
            })
        }

        pub(super) fn public_members(&self) -> Map<String, Value> {
            let mut jwk = Map::new();
            match self {
                Self::Rsa { components, .. } => {
                    jwk.insert("kty".into(), "RSA".into());
                    jwk.insert("n".into(), b64::encode(&components.0[0]).into());
                    jwk.insert("e".into(), b64::encode(&components.0[1]).into());
                }
                Self::P256 { point, .. } => {
                    jwk.insert("kty".into(), "EC".into());
                    jwk.insert("crv".into(), "P-256".into());
                    jwk.insert("x".into(), b64::encode(&point[1..33]).into());
                    jwk.insert("y".into(), b64::encode(&point[33..]).into());
                }
            }
            jwk
        }

        pub(super) fn insert_private_members(&self, jwk: &mut Map<String, Value>) {
            match self {
                Self::Rsa { components, .. } => insert_rsa_private(jwk, components),
                Self::P256 { d, .. } => {
                    jwk.insert("d".into(), b64::encode(d).into());
                }
            }
        }

        pub(super) fn rsa_decrypt(&self, alg: KeyManagement, encrypted: &[u8]) -> Option<Vec<u8>> {
            let Self::Rsa { key, .. } = self else {
                return None;
            };
            let mut out = vec![0u8; key.min_output_size()];
            let len = key
                .decrypt(oaep(alg), encrypted, &mut out, None)
                .ok()?
                .len();
            out.truncate(len);
            Some(out)
        }

        pub(super) fn agree_static(
            &self,
            peer: &[u8],
            kdf: impl FnOnce(&[u8]) -> Vec<u8>,
        ) -> Option<Vec<u8>> {
            let Self::P256 { key, .. } = self else {
                return None;
            };
            agreement::agree(key, UnparsedPublicKey::new(&ECDH_P256, peer), (), |z| {
                Ok(kdf(z))
            })
            .ok()
        }
    }

    impl PublicKey {
        pub(super) fn rsa(n: &[u8], e: &[u8]) -> Result<Self, KeyError> {
            let key = PublicEncryptingKey::from_der(&der::rsa_spki(n, e))
                .map_err(|_| KeyError::Invalid)?;
            if key.key_size_bits() < 2048 {
                return Err(KeyError::RsaTooSmall(key.key_size_bits()));
            }
            let key = OaepPublicEncryptingKey::new(key).map_err(|_| KeyError::Invalid)?;
            Ok(Self::Rsa(std::sync::Arc::new(key)))
        }

        pub(super) fn rsa_encrypt(
            &self,
            alg: KeyManagement,
            cek: &[u8],
        ) -> Result<Vec<u8>, KeyError> {
            let Self::Rsa(key) = self else {
                return Err(KeyError::Invalid);
            };
            let mut out = vec![0u8; key.ciphertext_size()];
            let len = key
                .encrypt(oaep(alg), cek, &mut out, None)
                .map_err(|_| KeyError::Signing)?
                .len();
            out.truncate(len);
            Ok(out)
        }

        /// An ephemeral key agreed with this static key: the content key and
        /// the `epk` JWK to send.
        pub(super) fn agree_ephemeral(
            &self,
            enc: ContentEncryption,
        ) -> Result<(Vec<u8>, Map<String, Value>), KeyError> {
            let Self::P256(point) = self else {
                return Err(KeyError::Invalid);
            };
            let ephemeral =
                agreement::PrivateKey::generate(&ECDH_P256).map_err(|_| KeyError::Generation)?;
            let public = ephemeral
                .compute_public_key()
                .map_err(|_| KeyError::Generation)?;
            let cek = agreement::agree(
                &ephemeral,
                UnparsedPublicKey::new(&ECDH_P256, point),
                KeyError::Invalid,
                |z| Ok(concat_kdf(z, enc, &[], &[])),
            )?;
            let public = public.as_ref();
            let mut epk = Map::new();
            epk.insert("kty".into(), "EC".into());
            epk.insert("crv".into(), "P-256".into());
            epk.insert("x".into(), b64::encode(&public[1..33]).into());
            epk.insert("y".into(), b64::encode(&public[33..]).into());
            Ok((cek, epk))
        }
    }
}

/// Under ring: no RSA-OAEP, no static-key ECDH. Keys cannot be built, so the
/// decryption paths are never reached.
#[cfg(not(feature = "aws-lc-rs"))]
mod provider {
    use serde_json::{Map, Value};

    use super::super::KeyError;
    use super::super::der::RsaPrivateComponents;
    use super::{ContentEncryption, KeyManagement};

    const WHAT: &str = "decrypting tokens (RSA-OAEP, ECDH-ES)";

    pub(super) enum PrivateKey {}

    #[derive(Clone)]
    pub(super) enum PublicKey {
        #[allow(dead_code)] // read under aws-lc-rs only
        P256(Vec<u8>),
    }

    impl PrivateKey {
        pub(super) fn generate(_: KeyManagement) -> Result<Self, KeyError> {
            Err(KeyError::Unsupported(WHAT))
        }

        pub(super) fn from_rsa(_: RsaPrivateComponents) -> Result<Self, KeyError> {
            Err(KeyError::Unsupported(WHAT))
        }

        pub(super) fn from_p256(_: &[u8], _: &[u8]) -> Result<Self, KeyError> {
            Err(KeyError::Unsupported(WHAT))
        }

        pub(super) fn public_members(&self) -> Map<String, Value> {
            match *self {}
        }

        pub(super) fn insert_private_members(&self, _: &mut Map<String, Value>) {
            match *self {}
        }

        pub(super) fn rsa_decrypt(&self, _: KeyManagement, _: &[u8]) -> Option<Vec<u8>> {
            match *self {}
        }

        pub(super) fn agree_static(
            &self,
            _: &[u8],
            _: impl FnOnce(&[u8]) -> Vec<u8>,
        ) -> Option<Vec<u8>> {
            match *self {}
        }
    }

    impl PublicKey {
        pub(super) fn rsa(_: &[u8], _: &[u8]) -> Result<Self, KeyError> {
            Err(KeyError::Unsupported("encrypting with RSA-OAEP"))
        }

        pub(super) fn rsa_encrypt(&self, _: KeyManagement, _: &[u8]) -> Result<Vec<u8>, KeyError> {
            Err(KeyError::Unsupported("encrypting with RSA-OAEP"))
        }

        pub(super) fn agree_ephemeral(
            &self,
            _: ContentEncryption,
        ) -> Result<(Vec<u8>, Map<String, Value>), KeyError> {
            // ring has ephemeral ECDH, but without a way to decrypt the
            // result in the same build there is nothing to test it against.
            Err(KeyError::Unsupported("encrypting with ECDH-ES"))
        }
    }
}
