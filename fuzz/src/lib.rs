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
    Acr, Algorithm, DecryptionKey, DecryptionKeys, HmacSecret, KeySet, SigningKey, Validation,
    VerifyingKey,
};
use ring::hmac;

/// ES256 test key.
pub const ES256_PRIVATE_JWK: &str = r#"{"alg":"ES256","crv":"P-256","d":"DEVZBITQXyga_jgDcizGCVqLHA5OUO0W3LhquZ4PUqE","kid":"fuzz-es256","kty":"EC","use":"sig","x":"sq6KzKIbKxOgGxCzffSz38YMIGBM1RzqXY8ymvHlbSs","y":"SGj3z8OQOyplocWT0NjGw72U8S7W22lda8wub38WHK4"}"#;

/// EdDSA (Ed25519) test key.
pub const EDDSA_PRIVATE_JWK: &str = r#"{"alg":"EdDSA","crv":"Ed25519","d":"RbeKCNvXEf-VFdDtRJd8buzqdcNRUIIuKQUQMv6CLY0","kid":"fuzz-eddsa","kty":"OKP","use":"sig","x":"jFlDa8fgEK9qdbyRCBcNikZ2GjTSlUnE4gMEtRgI-Ws"}"#;

/// The RSA 2048 test key's public JWK (`kid` `rsa-2048`, no `alg`: RS256 and PS256).
pub const RSA_PUBLIC_JWK: &str =
    include_str!("../../educonnect-core/tests/keys/rsa2048.public.jwk.json");

/// The relying party's RSA-OAEP-256 decryption key (encrypted tokens).
pub const RSA_OAEP_256_PRIVATE_JWK: &str = r#"{"alg":"RSA-OAEP-256","d":"AuCnYHsNJchCqKFpOE07zpWURgo2Ta0S1g2cDvndvYwSRsgrqsi4BKoTl6h3hqCV4qC1sNK7ewpRzUTlluJ07YG7PdrBPI6OemMwwr6CaH090Q9pCoNbcfq6ctb8xuqMIYqW90uRldjzvcRimDSmogSxn7DpLUMsULoHTcybuQvzE4sw8eFrKzu5ua1ty1O6FGA_h242WjrFCFs5-RRvkZ5e9QQaKfD4AWsH0GRcXiRdiV5f1o01KmrQ9okbtibiuXGB6JoanOngd09HXc03uIhGJ2-5YXvE7Otz-vA_4SERbNjzc4OJuh1mlMZY9BbIlGGmDtFj-56VS-hj-SFLlw","dp":"TfHcYxqMC9VNUW2-KKL6VmWySqRquTQt4-i6vzpi8TasZFs5hrivcOk5B2J3Ak9qjxnsf18JdGM1s202qDR839UaCkEPAruKAwzvVUD9thQFo7tRZhOSoBebt2w0rh52Jajf2xvwQibPNpF6telPUh866ZIHq3dFxu3kmBbNyc8","dq":"ZE_xzIw87kd_NgX0G5pNHLBDwHWmFmqn9oLU0EBnNcxNZZ5tqnT1qMsDF2HLcTHeJPuNmfjhvBdSyEJpURKtVYEcmagdcZo6W0fZ6oz_V748galDP8gYeqLg3YTC0F9oVE__iMtFxfWgmeB6-7_13b6GHpddV1kiqd6ZAJSw5_8","e":"AQAB","kid":"fuzz-rsa-oaep-256","kty":"RSA","n":"xMBeUQpzVfn5j5OGIgpx_wjoy6XROv4iOHlJNDHedTMZd6O1eLEGHJpxcJd8Wk3bu8kQ1ce59plDmI7aJjSQv_E-QOaEjpFNkqyTabQwV4KNXjUtQBKvTAggeAmDPvwj0B4Mha9PCNLi8kdodD9BexRWGpWIICS-q9OsFvIeFp8ZfN5ixfiN1eK4Oah54Z6cG_V4rS8Ww_sog0e9MA0oBGToviCjw355TA-iYX1n8fmejZ4-mfi26y3egVG5jYU0nnfcq0Fm5YNSt4ZJltFLlGJiRDT0NA9jS8616VBYBbZNMgV1EtMZBHJtPYA1Q3LRwmyL7bfSgC97U1EJd2Zz7Q","p":"562LykEUIBtqBiSFmEjy0Jg-s14Gruk-l99h0WiZ25XCYiaXiiflRJdIvzImfHgzuB0Fh6_B_kQhp5XDzezyta5OmHtdW44iAJ1fi4b1yJdxsuTnELIRHCh-xoP3V6NCJX2Vz2VjHrLvB6LaJ3_Js-NPk3nX6ijz_Efi_ystlA8","q":"2WgoIeonUek9R88ee15OvbtybDBg87A81C3HHk9JddDN6BuXvdpT6Wsvhbnoz9TrguN3aEdHwbM0cVFLWbrapD30SirQFtI91KgKhJ4OpvpFTQd3VeXXtWSlj_E9AZ5tmNZjjHKMW6E0J3XPZAylEL2IfO9qLT7o_WC2ldf4DEM","qi":"cPj9ilit_WShMlxiGdBuatInC-xn1gFVIZOEX_zcVFwSU1dbs_dY7jjPktJiGsp_1U-PfVtBaHjybFxgOwSpE2RVRjvHroSALsswOl23S8LEQYhx2av_vic8DgK2bd2ND4Ny6qZk6Z3N5jT1Cq-mQH72IBCeG82Za6JfOCOTEcQ","use":"enc"}"#;

/// The relying party's ECDH-ES (P-256) decryption key.
pub const ECDH_ES_PRIVATE_JWK: &str = r#"{"alg":"ECDH-ES","crv":"P-256","d":"k3kqFcQJojGjhckXQZsQiUmV1lkoYfT6NXTCWaCJR18","kid":"fuzz-ecdh-es","kty":"EC","use":"enc","x":"tq2Dn7SvLdQO5ZfbEL13YRknP-BvC7jOtXDtDgYSMrU","y":"74PtRLI29EtDOP2a_5NCE1u5ZnvrjmjzSwuOfPhFxsE"}"#;

/// The relying party's decryption keys: RSA-OAEP-256 and ECDH-ES.
pub fn decryption_keys() -> &'static DecryptionKeys {
    static KEYS: LazyLock<DecryptionKeys> = LazyLock::new(|| {
        DecryptionKeys::new(
            [RSA_OAEP_256_PRIVATE_JWK, ECDH_ES_PRIVATE_JWK]
                .map(|jwk| DecryptionKey::from_jwk_json(jwk.as_bytes()).expect("test JWK")),
        )
    });
    &KEYS
}

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
