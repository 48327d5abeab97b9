//! The fixed keys and policy shared by the fuzz targets, and the seed corpus
//! they are checked against.
//!
//! Every key here is a test key that protects nothing. The ES256 and EdDSA
//! private JWKs were made once with `SigningKey::generate(..).to_private_jwk_json()`;
//! the RSA key is `educonnect-core/tests/keys/rsa2048.*`. They are fixed so that
//! the committed seed tokens keep verifying: `cargo test` (in `fuzz/`) checks
//! it, and `cargo test -- --ignored write_seeds` writes the seeds anew.

use std::sync::{Arc, LazyLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use educonnect_core::FixedClock;
use educonnect_core::jose::{
    Acr, Algorithm, HmacSecret, KeySet, SigningKey, Validation, VerifyingKey,
};
use ring::hmac;

/// ES256 test key.
pub const ES256_PRIVATE_JWK: &str = r#"{"alg":"ES256","crv":"P-256","d":"DEVZBITQXyga_jgDcizGCVqLHA5OUO0W3LhquZ4PUqE","kid":"fuzz-es256","kty":"EC","use":"sig","x":"sq6KzKIbKxOgGxCzffSz38YMIGBM1RzqXY8ymvHlbSs","y":"SGj3z8OQOyplocWT0NjGw72U8S7W22lda8wub38WHK4"}"#;

/// EdDSA (Ed25519) test key.
pub const EDDSA_PRIVATE_JWK: &str = r#"{"alg":"EdDSA","crv":"Ed25519","d":"RbeKCNvXEf-VFdDtRJd8buzqdcNRUIIuKQUQMv6CLY0","kid":"fuzz-eddsa","kty":"OKP","use":"sig","x":"jFlDa8fgEK9qdbyRCBcNikZ2GjTSlUnE4gMEtRgI-Ws"}"#;

/// The RSA 2048 test key's public JWK (`kid` `rsa-2048`, no `alg`: RS256 and PS256).
pub const RSA_PUBLIC_JWK: &str =
    include_str!("../../educonnect-core/tests/keys/rsa2048.public.jwk.json");

/// The HS256 secret, as a client secret would be configured.
pub const HMAC_SECRET: &[u8] = b"educonnect-fuzz-client-secret-0123456789";

/// The policy: issuer, audience, nonce, and the fixed "now".
pub const ISSUER: &str = "https://oidc.franceconnect.gouv.fr/api/v2";
/// The client id.
pub const AUDIENCE: &str = "educonnect-fuzz-client";
/// The nonce sent with the authorization request.
pub const NONCE: &str = "n-0S6_WzA2Mj-fuzz";
/// The fixed clock, in seconds since the epoch (2026-05-28).
pub const NOW: u64 = 1_780_000_000;

/// The verification policy (every algorithm, nonce, `acr` at least eidas1,
/// fixed clock) and the key set (ES256, EdDSA, RSA 2048 and the HMAC secret).
pub fn fixture() -> &'static (Validation, KeySet) {
    static FIXTURE: LazyLock<(Validation, KeySet)> = LazyLock::new(|| {
        let policy = Validation::new(ISSUER, AUDIENCE)
            .algorithms(Algorithm::ALL)
            .clock(Arc::new(FixedClock::at_unix(NOW)))
            .nonce(NONCE)
            .min_acr(Acr::Eidas1);
        let keys = KeySet::new([
            es256().verifying_key().clone(),
            eddsa().verifying_key().clone(),
            VerifyingKey::from_jwk_json(RSA_PUBLIC_JWK.as_bytes()).expect("RSA test JWK"),
        ])
        .with_hmac_secret(HmacSecret::new(HMAC_SECRET).expect("HMAC secret"));
        (policy, keys)
    });
    &FIXTURE
}

/// The ES256 signing key.
pub fn es256() -> SigningKey {
    SigningKey::from_jwk_json(ES256_PRIVATE_JWK.as_bytes()).expect("ES256 test JWK")
}

/// The EdDSA signing key.
pub fn eddsa() -> SigningKey {
    SigningKey::from_jwk_json(EDDSA_PRIVATE_JWK.as_bytes()).expect("EdDSA test JWK")
}

/// A compact HS256 token over `payload` as it is (any bytes), signed with
/// [`HMAC_SECRET`]: the way past the signature check to the claim checks.
pub fn hs256_token(payload: &[u8]) -> Vec<u8> {
    let mut token = br#"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."#.to_vec(); // {"alg":"HS256","typ":"JWT"}
    token.extend_from_slice(URL_SAFE_NO_PAD.encode(payload).as_bytes());
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, HMAC_SECRET), &token);
    token.push(b'.');
    token.extend_from_slice(URL_SAFE_NO_PAD.encode(tag.as_ref()).as_bytes());
    token
}

#[cfg(test)]
mod tests;
