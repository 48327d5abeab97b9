//! Fixtures for the side-by-side benchmarks of ID token verification
//! (`scripts/bench-jose` runs them and writes `BENCHMARKS.md`).
//!
//! Every verifier in every bench binary checks the same tokens: a
//! FranceConnect-like ID token (the claims of `educonnect-core/benches/verify.rs`)
//! signed with ES256, RS256 (the core's committed 2048-bit test key), EdDSA and
//! HS256, each with a `kid` in a provider JWKS of several keys. The P-256 and
//! Ed25519 keys are committed under `keys/`, so every binary signs with the
//! same keys (ECDSA signatures are randomized: the ES256 signature bytes differ
//! from one process to the next, its cost does not).
//!
//! This crate is for benchmarks only and is not published; it is the one place
//! outside `educonnect_core::jose` that names `aws-lc-rs` and `ring`, to
//! measure their bare checks as floors.

#![forbid(unsafe_code)]

use aws_lc_rs::rand::SecureRandom;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use educonnect_core::jose::SigningKey;
use serde_json::{Value, json};

/// The issuer, as FranceConnect v2 writes it.
pub const ISSUER: &str = "https://oidc.franceconnect.gouv.fr/api/v2";
/// The relying party's client id, the token's `aud`.
pub const CLIENT_ID: &str = "6925fb8143c76eded44d32b40c0cb1006065f7f003de52712b78985704f39950";
/// The nonce of the login.
pub const NONCE: &str = "nonce0123456789abcdefghijklmnopqrstuv";
/// `iat` of the token, and the fixed clock of the verifiers that take one.
pub const NOW: u64 = 1_790_000_000;
/// `exp` of the token: far ahead, because `jsonwebtoken` only reads the
/// system clock (same number of digits as `NOW + 60`, so the same size).
pub const EXP: u64 = 4_000_000_000;
/// The client secret, HS256's key.
pub const HMAC_SECRET: &[u8] = b"client-secret-of-at-least-thirty-two-bytes";
/// The core's 2048-bit RSA test key, PKCS#8 DER.
pub const RSA_PKCS8: &[u8] = include_bytes!("../../../educonnect-core/tests/keys/rsa2048.pk8");
/// Its public JWK (`kid` `rsa-2048`).
pub const RSA_JWK: &str =
    include_str!("../../../educonnect-core/tests/keys/rsa2048.public.jwk.json");
/// The same RSA key as a private JWK for decryption (`use` `enc`,
/// `alg` `RSA-OAEP-256`, `kid` `rsa-2048`).
pub const RSA_ENC_JWK: &str = include_str!("../keys/rsa2048.private.enc.jwk.json");
const ES256_JWK: &str = include_str!("../keys/es256.private.jwk.json");
const EDDSA_JWK: &str = include_str!("../keys/ed25519.private.jwk.json");
/// A second, rotated-out P-256 key in the provider's JWKS: the ES256 token's
/// `kid` has to choose between two EC keys.
const OLD_ES256_KID: &str = "fc-es256-2025-11";

/// The algorithms compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    /// ECDSA P-256 SHA-256.
    ES256,
    /// RSASSA-PKCS1-v1_5 SHA-256, 2048-bit key.
    RS256,
    /// Ed25519.
    EdDSA,
    /// HMAC SHA-256 with the client secret.
    HS256,
}

impl Alg {
    /// In the order of the report.
    pub const ALL: [Self; 4] = [Self::ES256, Self::RS256, Self::EdDSA, Self::HS256];

    /// The JOSE name, also the criterion group of the algorithm.
    pub fn name(self) -> &'static str {
        match self {
            Self::ES256 => "ES256",
            Self::RS256 => "RS256",
            Self::EdDSA => "EdDSA",
            Self::HS256 => "HS256",
        }
    }

    /// The `kid` in the token's header.
    pub fn kid(self) -> &'static str {
        match self {
            Self::ES256 => "fc-es256-2026-05",
            Self::RS256 => "rsa-2048",
            Self::EdDSA => "fc-eddsa-2026-05",
            Self::HS256 => "client-secret",
        }
    }
}

/// One signed ID token, and what the bare floors check.
#[derive(Debug, Clone)]
pub struct Token {
    /// Its algorithm.
    pub alg: Alg,
    /// The compact JWS.
    pub compact: String,
    /// `header.payload`, what the signature covers.
    pub signing_input: Vec<u8>,
    /// The decoded signature.
    pub signature: Vec<u8>,
}

/// An encrypted ID token (RSA-OAEP-256 + A256GCM, as FranceConnect encrypts
/// for clients that ask for it), with its parts decoded for the bare floor.
#[derive(Debug, Clone)]
pub struct EncryptedToken {
    /// The compact JWE; its plaintext is the RS256 ID token (`cty` `JWT`).
    pub compact: String,
    /// The base64url protected header, the AAD of AES-GCM.
    pub protected_b64: String,
    /// The RSA-OAEP-encrypted content key.
    pub encrypted_key: Vec<u8>,
    /// The 96-bit IV.
    pub iv: [u8; 12],
    /// Ciphertext followed by the 16-byte tag.
    pub ciphertext_and_tag: Vec<u8>,
    /// The plaintext expected.
    pub plaintext: Vec<u8>,
}

/// The public key material of the provider, as bytes for the floors.
#[derive(Debug, Clone)]
pub struct PublicKeys {
    /// Uncompressed SEC1 P-256 point of the ES256 key.
    pub p256_point: Vec<u8>,
    /// Ed25519 public key.
    pub ed25519: Vec<u8>,
    /// RSA modulus, big-endian.
    pub rsa_n: Vec<u8>,
    /// RSA public exponent, big-endian.
    pub rsa_e: Vec<u8>,
}

/// Everything a bench binary needs.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// One token per algorithm, in [`Alg::ALL`] order.
    pub tokens: Vec<Token>,
    /// The provider's JWKS: the current and a rotated-out P-256 key, the RSA
    /// key and the Ed25519 key, each with `kid` and `use` (`alg` on all but RSA).
    pub jwks: String,
    /// The same keys as bytes.
    pub public: PublicKeys,
}

impl Fixture {
    /// The token of `alg`.
    pub fn token(&self, alg: Alg) -> &Token {
        self.tokens
            .iter()
            .find(|t| t.alg == alg)
            .expect("one token per algorithm")
    }
}

/// base64url without padding.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding.
pub fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("base64url")
}

/// The claims of a FranceConnect ID token.
pub fn id_token_claims() -> Value {
    json!({
        "iss": ISSUER,
        "sub": "b6048e95bb134ec5b1d1e1fa69f287172e91722b9354d637a1bcf2ebb0fd2ef5v1",
        "aud": CLIENT_ID,
        "exp": EXP,
        "iat": NOW,
        "auth_time": NOW - 5,
        "nonce": NONCE,
        "acr": "eidas1",
    })
}

/// `header.payload` with the header `{"alg","kid","typ"}` that
/// [`SigningKey::sign`] writes.
fn signing_input(alg: Alg) -> String {
    signing_input_with(alg.name(), alg.kid())
}

/// `header.payload`: the ID token's claims under a header with this `alg`
/// and `kid`.
fn signing_input_with(alg: &str, kid: &str) -> String {
    let header = json!({"alg": alg, "typ": "JWT", "kid": kid});
    format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(id_token_claims().to_string().as_bytes())
    )
}

/// `signing_input` signed with HS256 and the client secret.
fn hs256_token(signing_input: &str) -> String {
    let hmac = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, HMAC_SECRET);
    let tag = ring::hmac::sign(&hmac, signing_input.as_bytes());
    format!("{signing_input}.{}", b64(tag.as_ref()))
}

/// HS256 ID tokens with the same claims as the fixture's and other headers
/// (other `kid`s), more than a key set keeps: verified first with a set,
/// they fill its header cache, so that the fixture's token is read in full
/// each time.
pub fn hs256_tokens_with_other_headers() -> Vec<String> {
    (2..10)
        .map(|n| hs256_token(&signing_input_with("HS256", &format!("client-secret-{n}"))))
        .collect()
}

fn token(alg: Alg, compact: String) -> Token {
    let (input, sig) = compact.rsplit_once('.').expect("compact JWS");
    Token {
        alg,
        signing_input: input.as_bytes().to_vec(),
        signature: unb64(sig),
        compact,
    }
}

fn jwk_bytes(jwk: &Value, name: &str) -> Vec<u8> {
    unb64(jwk[name].as_str().expect("JWK member"))
}

/// The public JWK of a private one.
fn public_jwk(private: &str) -> Value {
    let mut jwk: Value = serde_json::from_str(private).expect("JWK");
    jwk.as_object_mut().expect("object").remove("d");
    jwk
}

/// A fresh P-256 public JWK with this `kid` (a key that is only there to be
/// skipped over).
fn decoy_p256(kid: &str) -> Value {
    let key = SigningKey::generate(educonnect_core::jose::Algorithm::ES256, kid).expect("P-256");
    Value::Object(key.verifying_key().to_jwk())
}

/// A fresh Ed25519 public JWK with this `kid`.
fn decoy_ed25519(kid: &str) -> Value {
    let key = SigningKey::generate(educonnect_core::jose::Algorithm::EdDSA, kid).expect("Ed25519");
    Value::Object(key.verifying_key().to_jwk())
}

/// Signs the tokens and builds the JWKS.
pub fn fixture() -> Fixture {
    let claims = id_token_claims();
    let es256 = SigningKey::from_jwk_json(ES256_JWK.as_bytes()).expect("ES256 key");
    let eddsa = SigningKey::from_jwk_json(EDDSA_JWK.as_bytes()).expect("EdDSA key");
    assert_eq!(es256.kid(), Alg::ES256.kid());
    assert_eq!(eddsa.kid(), Alg::EdDSA.kid());

    let rsa = ring::signature::RsaKeyPair::from_pkcs8(RSA_PKCS8).expect("RSA key");
    let input = signing_input(Alg::RS256);
    let mut sig = vec![0; rsa.public().modulus_len()];
    rsa.sign(
        &ring::signature::RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut sig,
    )
    .expect("RS256");
    let rs256 = format!("{input}.{}", b64(&sig));

    let hs256 = hs256_token(&signing_input(Alg::HS256));

    let tokens = vec![
        token(Alg::ES256, es256.sign(&claims).expect("ES256 token")),
        token(Alg::RS256, rs256),
        token(Alg::EdDSA, eddsa.sign(&claims).expect("EdDSA token")),
        token(Alg::HS256, hs256),
    ];
    for t in &tokens {
        assert_eq!(
            t.signing_input,
            signing_input(t.alg).as_bytes(),
            "{:?}: same header and payload for every algorithm",
            t.alg
        );
    }

    let es256_jwk = public_jwk(ES256_JWK);
    let eddsa_jwk = public_jwk(EDDSA_JWK);
    let rsa_jwk: Value = serde_json::from_str(RSA_JWK).expect("RSA JWK");
    let public = PublicKeys {
        p256_point: [
            &[4u8][..],
            &jwk_bytes(&es256_jwk, "x"),
            &jwk_bytes(&es256_jwk, "y"),
        ]
        .concat(),
        ed25519: jwk_bytes(&eddsa_jwk, "x"),
        rsa_n: jwk_bytes(&rsa_jwk, "n"),
        rsa_e: jwk_bytes(&rsa_jwk, "e"),
    };
    let jwks = json!({"keys": [decoy_p256(OLD_ES256_KID), es256_jwk, rsa_jwk, eddsa_jwk]});
    Fixture {
        tokens,
        jwks: jwks.to_string(),
        public,
    }
}

/// A JWKS of `n` keys (`n >= 1`) whose last is the ES256 token's key: P-256,
/// Ed25519 and RSA keys in turn before it, each with its own `kid`.
pub fn jwks_of(n: usize) -> String {
    assert!(n >= 1);
    let rsa: Value = serde_json::from_str(RSA_JWK).expect("RSA JWK");
    let mut keys: Vec<Value> = (0..n - 1)
        .map(|i| {
            let kid = format!("rotated-{i:02}");
            match i % 3 {
                0 => decoy_p256(&kid),
                1 => decoy_ed25519(&kid),
                _ => {
                    let mut jwk = rsa.clone();
                    jwk["kid"] = kid.into();
                    jwk
                }
            }
        })
        .collect();
    keys.push(public_jwk(ES256_JWK));
    json!({ "keys": keys }).to_string()
}

/// The RSA test key's public half in PKCS#1 `RSAPublicKey` DER form, for aws-lc-rs's
/// parsed-key floor.
pub fn rsa_public_der() -> Vec<u8> {
    use aws_lc_rs::signature::KeyPair;
    aws_lc_rs::signature::RsaKeyPair::from_pkcs8(RSA_PKCS8)
        .expect("RSA key")
        .public_key()
        .as_ref()
        .to_vec()
}

/// The RS256 ID token, encrypted to the RSA test key with RSA-OAEP-256 and
/// A256GCM: `{"alg":"RSA-OAEP-256","enc":"A256GCM","cty":"JWT","kid":"rsa-2048"}`.
pub fn encrypted_id_token(fixture: &Fixture) -> EncryptedToken {
    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    use aws_lc_rs::rsa::{OAEP_SHA256_MGF1SHA256, OaepPublicEncryptingKey, PrivateDecryptingKey};

    let plaintext = fixture.token(Alg::RS256).compact.as_bytes().to_vec();
    let header = json!({"alg": "RSA-OAEP-256", "enc": "A256GCM", "cty": "JWT", "kid": "rsa-2048"});
    let protected_b64 = b64(header.to_string().as_bytes());

    let rng = aws_lc_rs::rand::SystemRandom::new();
    let mut cek = [0u8; 32];
    let mut iv = [0u8; 12];
    rng.fill(&mut cek).expect("random");
    rng.fill(&mut iv).expect("random");

    let private = PrivateDecryptingKey::from_pkcs8(RSA_PKCS8).expect("RSA key");
    let public = OaepPublicEncryptingKey::new(private.public_key()).expect("RSA public key");
    let mut encrypted_key = vec![0; public.ciphertext_size()];
    let len = public
        .encrypt(&OAEP_SHA256_MGF1SHA256, &cek, &mut encrypted_key, None)
        .expect("RSA-OAEP")
        .len();
    encrypted_key.truncate(len);

    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &cek).expect("AES key"));
    let mut ciphertext_and_tag = plaintext.clone();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(iv),
        Aad::from(protected_b64.as_bytes()),
        &mut ciphertext_and_tag,
    )
    .expect("AES-GCM");
    let (ciphertext, tag) = ciphertext_and_tag.split_at(ciphertext_and_tag.len() - 16);
    let compact = format!(
        "{protected_b64}.{}.{}.{}.{}",
        b64(&encrypted_key),
        b64(&iv),
        b64(ciphertext),
        b64(tag)
    );
    EncryptedToken {
        compact,
        protected_b64,
        encrypted_key,
        iv,
        ciphertext_and_tag,
        plaintext,
    }
}

/// The criterion settings of every bench binary: short warm-up and
/// measurement so that `scripts/bench-jose` stays within minutes on two cores.
/// Arguments (`--quick`, a filter) still apply on top.
pub fn criterion() -> criterion::Criterion {
    criterion::Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3))
        .sample_size(50)
        .configure_from_args()
}

pub mod jsonwebtoken_peer;
pub mod openidconnect_peer;
