//! Encrypted tokens (JWE), as FranceConnect+ sends them: the RFC's own
//! example, a round trip for every algorithm pair, and every refusal the
//! issue lists, played against real keys.

use educonnect_core::flow::Provider;
use educonnect_core::jose::{
    Acr, Algorithm, DecryptionKey, DecryptionKeys, Error, KeyError, KeyManagement, SigningKey,
};
use educonnect_core::provider::{ConfigError, FranceConnect};

/// FranceConnect+ configured with `keys`, an ES256 client key, `acr`.
fn plus(keys: DecryptionKeys, client: Algorithm, acr: Acr) -> Result<Provider, ConfigError> {
    Provider::franceconnect_plus(
        FranceConnect::plus_sandbox().with_acr_values(acr),
        "client",
        SigningKey::generate(client, "client-key").unwrap(),
        keys,
    )
}

#[test]
fn franceconnect_plus_configuration_errors_are_typed() {
    if cfg!(feature = "aws-lc-rs") {
        assert_eq!(
            plus(DecryptionKeys::new([]), Algorithm::ES256, Acr::Eidas2).unwrap_err(),
            ConfigError::NoDecryptionKey
        );
    } else {
        let err = plus(DecryptionKeys::new([]), Algorithm::ES256, Acr::Eidas2).unwrap_err();
        assert_eq!(err, ConfigError::CryptoProvider);
        assert!(err.to_string().contains("aws-lc-rs"), "{err}");
    }
    assert_eq!(
        plus(DecryptionKeys::new([]), Algorithm::ES256, Acr::Eidas1).unwrap_err(),
        ConfigError::AcrTooLowForPlus
    );
    assert_eq!(
        plus(DecryptionKeys::new([]), Algorithm::EdDSA, Acr::Eidas3).unwrap_err(),
        ConfigError::ClientKeyAlgorithm
    );
    assert_eq!(FranceConnect::plus_sandbox().acr_values(), Acr::Eidas2);
    assert_eq!(
        FranceConnect::plus_production()
            .endpoints()
            .issuer()
            .as_str(),
        "https://auth.franceconnect.gouv.fr/api/v2"
    );
}

/// RFC 7516 Appendix A.1: the RSA key (with the `kid` and `alg` this library
/// requires added), the token, and its plaintext.
const RFC7516_A1_KEY: &str = r#"{"kty":"RSA","kid":"rfc7516-a1","alg":"RSA-OAEP",
 "n":"oahUIoWw0K0usKNuOR6H4wkf4oBUXHTxRvgb48E-BVvxkeDNjbC4he8rUWcJoZmds2h7M70imEVhRU5djINXtqllXI4DFqcI1DgjT9LewND8MW2Krf3Spsk_ZkoFnilakGygTwpZ3uesH-PFABNIUYpOiN15dsQRkgr0vEhxN92i2asbOenSZeyaxziK72UwxrrKoExv6kc5twXTq4h-QChLOln0_mtUZwfsRaMStPs6mS6XrgxnxbWhojf663tuEQueGC-FCMfra36C9knDFGzKsNa7LZK2djYgyD3JR_MB_4NUJW_TqOQtwHYbxevoJArm-L5StowjzGy-_bq6Gw",
 "e":"AQAB",
 "d":"kLdtIj6GbDks_ApCSTYQtelcNttlKiOyPzMrXHeI-yk1F7-kpDxY4-WY5NWV5KntaEeXS1j82E375xxhWMHXyvjYecPT9fpwR_M9gV8n9Hrh2anTpTD93Dt62ypW3yDsJzBnTnrYu1iwWRgBKrEYY46qAZIrA2xAwnm2X7uGR1hghkqDp0Vqj3kbSCz1XyfCs6_LehBwtxHIyh8Ripy40p24moOAbgxVw3rxT_vlt3UVe4WO3JkJOzlpUf-KTVI2Ptgm-dARxTEtE-id-4OJr0h-K-VFs3VSndVTIznSxfyrj8ILL6MG_Uv8YAu7VILSB3lOW085-4qE3DzgrTjgyQ",
 "p":"1r52Xk46c-LsfB5P442p7atdPUrxQSy4mti_tZI3Mgf2EuFVbUoDBvaRQ-SWxkbkmoEzL7JXroSBjSrK3YIQgYdMgyAEPTPjXv_hI2_1eTSPVZfzL0lffNn03IXqWF5MDFuoUYE0hzb2vhrlN_rKrbfDIwUbTrjjgieRbwC6Cl0",
 "q":"wLb35x7hmQWZsWJmB_vle87ihgZ19S8lBEROLIsZG4ayZVe9Hi9gDVCOBmUDdaDYVTSNx_8Fyw1YYa9XGrGnDew00J28cRUoeBB_jKI1oma0Orv1T9aXIWxKwd4gvxFImOWr3QRL9KEBRzk2RatUBnmDZJTIAfwTs0g68UZHvtc",
 "dp":"ZK-YwE7diUh0qR1tR7w8WHtolDx3MZ_OTowiFvgfeQ3SiresXjm9gZ5KLhMXvo-uz-KUJWDxS5pFQ_M0evdo1dKiRTjVw_x4NyqyXPM5nULPkcpU827rnpZzAJKpdhWAgqrXGKAECQH0Xt4taznjnd_zVpAmZZq60WPMBMfKcuE",
 "dq":"Dq0gfgJ1DdFGXiLvQEZnuKEN0UUmsJBxkjydc3j4ZYdBiMRAy86x0vHCjywcMlYYg4yoC4YZa9hNVcsjqA3FeiL19rk8g6Qn29Tt0cj8qqyFpz9vNDBUfCAiJVeESOjJDZPYHdHY8v1b-o-Z2X5tvLx-TCekf7oxyeKDUqKWjis",
 "qi":"VIMpMYbPf47dT1w_zDUXfPimsSegnMOA1zTaX7aGk_8urY6R8-ZW1FxU7AlWAyLWybqq6t16VFd7hQd0y6flUK4SlOydB61gwanOsXGOAOv82cHq0E3eL4HrtZkUuKvnPrMnsUUFlfUdybVzxyjz9JF_XyaY14ardLSjf4L_FNY"}"#;
#[cfg(not(feature = "aws-lc-rs"))]
#[test]
fn under_ring_decryption_keys_are_a_clear_configuration_error() {
    for alg in KeyManagement::ALL {
        match DecryptionKey::generate(alg, "k") {
            Err(Error::Key(KeyError::Unsupported(what))) => assert!(what.contains("decrypt")),
            other => panic!("{alg}: {other:?}"),
        }
    }
    let err = DecryptionKey::from_jwk_json(RFC7516_A1_KEY.as_bytes()).unwrap_err();
    assert!(
        err.to_string()
            .contains("needs the aws-lc-rs crypto provider"),
        "{err}"
    );
    assert!(SigningKey::generate(Algorithm::RS256, "k").is_err());
}

#[cfg(feature = "aws-lc-rs")]
mod aws_lc_rs {
    use std::sync::Arc;

    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use educonnect_core::FixedClock;
    use educonnect_core::jose::{
        ContentEncryption, DecryptionKeys, EncryptionKey, JweError, KeySet, Validation,
    };
    use serde_json::{Map, Value, json};

    use super::*;

    const ISSUER: &str = "https://auth.franceconnect.gouv.fr/api/v2";
    const CLIENT_ID: &str = "client-fc-plus";
    const NOW: u64 = 1_790_000_000;
    const RFC7516_A1_TOKEN: &str = "eyJhbGciOiJSU0EtT0FFUCIsImVuYyI6IkEyNTZHQ00ifQ.OKOawDo13gRp2ojaHV7LFpZcgV7T6DVZKTyKOMTYUmKoTCVJRgckCL9kiMT03JGeipsEdY3mx_etLbbWSrFr05kLzcSr4qKAq7YN7e9jwQRb23nfa6c9d-StnImGyFDbSv04uVuxIp5Zms1gNxKKK2Da14B8S4rzVRltdYwam_lDp5XnZAYpQdb76FdIKLaVmqgfwX7XWRxv2322i-vDxRfqNzo_tETKzpVLzfiwQyeyPGLBIO56YJ7eObdv0je81860ppamavo35UgoRdbYaBcoh9QcfylQr66oc6vFWXRcZ_ZT2LawVCWTIy3brGPi6UklfCpIMfIjf7iGdXKHzg.48V1_ALb6US04U3b.5eym8TW_c8SuK0ltJ3rpYIzOeDQz7TALvtu6UG9oMo4vpzs9tX_EFShS8iB7j6jiSdiwkIr3ajwQzaBtQD_A.XFBoMYUZodetZdvTiFvSkQ";
    const RFC7516_A1_PLAINTEXT: &[u8] =
        b"The true sign of intelligence is not knowledge but imagination.";

    fn policy() -> Validation {
        Validation::new(ISSUER, CLIENT_ID)
            .clock(Arc::new(FixedClock::at_unix(NOW)))
            .nonce("nonce0123456789abcdefghijklmnop")
    }

    fn claims() -> Value {
        json!({
            "iss": ISSUER, "aud": CLIENT_ID, "sub": "fc-plus-sub", "iat": NOW, "exp": NOW + 60,
            "nonce": "nonce0123456789abcdefghijklmnop", "acr": "eidas2",
        })
    }

    /// The provider's signing key and the set the relying party reads.
    fn signer() -> (SigningKey, KeySet) {
        let key = SigningKey::generate(Algorithm::ES256, "fc-plus-es256").unwrap();
        let set = KeySet::new([key.verifying_key().clone()]);
        (key, set)
    }

    fn keys(key: DecryptionKey) -> DecryptionKeys {
        DecryptionKeys::new([key])
    }

    fn refusal(token: &str, keys: &DecryptionKeys) -> Error {
        keys.decrypt(token.as_bytes())
            .expect_err("the token must be refused")
    }

    /// `token` with its protected header replaced by `header`.
    fn with_header(token: &str, header: &Value) -> String {
        let (_, rest) = token.split_once('.').unwrap();
        format!(
            "{}.{rest}",
            URL_SAFE_NO_PAD.encode(header.to_string().as_bytes())
        )
    }

    fn header_of(token: &str) -> Map<String, Value> {
        let first = token.split('.').next().unwrap();
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(first).unwrap()).unwrap()
    }

    /// `token` with segment `i` replaced.
    fn with_segment(token: &str, i: usize, segment: &str) -> String {
        let mut parts: Vec<&str> = token.split('.').collect();
        parts[i] = segment;
        parts.join(".")
    }

    #[test]
    fn decrypts_the_rfc_7516_example() {
        let key = DecryptionKey::from_jwk_json(RFC7516_A1_KEY.as_bytes()).unwrap();
        assert_eq!(key.algorithm(), KeyManagement::RsaOaep);
        let plaintext = keys(key).decrypt(RFC7516_A1_TOKEN.as_bytes()).unwrap();
        assert_eq!(plaintext, RFC7516_A1_PLAINTEXT);
    }

    #[test]
    fn the_rfc_example_is_not_a_signed_jwt() {
        // Its plaintext is a sentence: decrypting it is not enough to accept it.
        let key = DecryptionKey::from_jwk_json(RFC7516_A1_KEY.as_bytes()).unwrap();
        let (_, set) = signer();
        let err = policy()
            .verify_encrypted::<Value>(RFC7516_A1_TOKEN, &keys(key), &set)
            .unwrap_err();
        assert_eq!(err, Error::Jwe(JweError::NotASignedJwt));
    }

    #[test]
    fn nested_jwt_round_trip_for_every_algorithm_pair() {
        let (signing, set) = signer();
        let signed = signing.sign(&claims()).unwrap();
        for alg in KeyManagement::ALL {
            let key = DecryptionKey::generate(alg, format!("rp-{alg}")).unwrap();
            let public = key.encryption_key();
            let decryption = keys(key);
            for enc in ContentEncryption::ALL {
                let token = public.encrypt(signed.as_bytes(), enc, Some("JWT")).unwrap();
                let header = header_of(&token);
                assert_eq!(header["alg"], alg.name());
                assert_eq!(header["enc"], enc.name());
                let verified = policy()
                    .verify_encrypted::<Value>(&token, &decryption, &set)
                    .unwrap_or_else(|e| panic!("{alg} {enc}: {e}"));
                assert_eq!(verified.registered().sub(), "fc-plus-sub");
                assert_eq!(verified.algorithm(), Algorithm::ES256);
            }
        }
    }

    #[test]
    fn the_inner_token_goes_through_the_one_verification_path() {
        let (_, set) = signer();
        // Signed by someone else's key: the signature check still runs.
        let stranger = SigningKey::generate(Algorithm::ES256, "fc-plus-es256").unwrap();
        let key = DecryptionKey::generate(KeyManagement::EcdhEs, "rp").unwrap();
        let token = key
            .encryption_key()
            .encrypt(
                stranger.sign(&claims()).unwrap().as_bytes(),
                ContentEncryption::A256Gcm,
                Some("JWT"),
            )
            .unwrap();
        assert_eq!(
            policy()
                .verify_encrypted::<Value>(&token, &keys(key), &set)
                .unwrap_err(),
            Error::BadSignature
        );
    }

    #[test]
    fn a_signed_token_is_refused_where_encryption_is_required() {
        let (signing, set) = signer();
        let key = DecryptionKey::generate(KeyManagement::EcdhEs, "rp").unwrap();
        let signed = signing.sign(&claims()).unwrap();
        assert_eq!(
            policy()
                .verify_encrypted::<Value>(&signed, &keys(key), &set)
                .unwrap_err(),
            Error::Jwe(JweError::NotEncrypted)
        );
    }

    #[test]
    fn a_plaintext_that_is_not_a_signed_jwt_is_refused() {
        let (signing, set) = signer();
        let key = DecryptionKey::generate(KeyManagement::RsaOaep256, "rp").unwrap();
        let public = key.encryption_key();
        let decryption = keys(key);
        let bare_claims = claims().to_string();
        let signed = signing.sign(&claims()).unwrap();
        let unsigned = {
            // alg none, empty signature.
            let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
            let payload = URL_SAFE_NO_PAD.encode(bare_claims.as_bytes());
            format!("{header}.{payload}.")
        };
        for (plaintext, cty) in [
            (bare_claims.as_str(), None),
            (bare_claims.as_str(), Some("JWT")),
            (unsigned.as_str(), Some("JWT")),
            // A signed JWT announced as something else.
            (signed.as_str(), Some("json")),
        ] {
            let token = public
                .encrypt(plaintext.as_bytes(), ContentEncryption::A256Gcm, cty)
                .unwrap();
            assert_eq!(
                policy()
                    .verify_encrypted::<Value>(&token, &decryption, &set)
                    .unwrap_err(),
                Error::Jwe(JweError::NotASignedJwt),
                "{cty:?}"
            );
        }
    }

    #[test]
    fn an_ephemeral_key_off_the_curve_is_refused() {
        let key = DecryptionKey::generate(KeyManagement::EcdhEs, "rp").unwrap();
        let token = key
            .encryption_key()
            .encrypt(b"a.b.c", ContentEncryption::A256Gcm, None)
            .unwrap();
        let decryption = keys(key);
        let header = Value::Object(header_of(&token));
        let mut off_curve = header.clone();
        // y + 1: (x, y + 1) is not on P-256 when (x, y) is.
        let mut y = URL_SAFE_NO_PAD
            .decode(header["epk"]["y"].as_str().unwrap())
            .unwrap();
        *y.last_mut().unwrap() ^= 1;
        off_curve["epk"]["y"] = URL_SAFE_NO_PAD.encode(&y).into();
        let mut short = header.clone();
        short["epk"]["x"] = "AAAA".into();
        let mut other_curve = header.clone();
        other_curve["epk"]["crv"] = "P-384".into();
        let mut missing = header.clone();
        missing.as_object_mut().unwrap().remove("epk");
        for bad in [off_curve, short, other_curve, missing] {
            assert_eq!(
                refusal(&with_header(&token, &bad), &decryption),
                Error::Jwe(JweError::InvalidEphemeralKey),
                "{bad}"
            );
        }
    }

    #[test]
    fn algorithms_outside_the_list_are_refused() {
        let ec = DecryptionKey::generate(KeyManagement::EcdhEs, "rp-ec").unwrap();
        let rsa = DecryptionKey::generate(KeyManagement::RsaOaep, "rp-rsa").unwrap();
        let rsa_token = rsa
            .encryption_key()
            .encrypt(b"a.b.c", ContentEncryption::A128Gcm, None)
            .unwrap();
        let only_ec = keys(ec);
        assert_eq!(
            refusal(&rsa_token, &only_ec),
            Error::Jwe(JweError::KeyManagementNotAllowed(KeyManagement::RsaOaep))
        );
        let only_a256 = keys(rsa).content_encryptions([ContentEncryption::A256Gcm]);
        assert_eq!(
            refusal(&rsa_token, &only_a256),
            Error::Jwe(JweError::ContentEncryptionNotAllowed(
                ContentEncryption::A128Gcm
            ))
        );
        let header = Value::Object(header_of(&rsa_token));
        for (member, value, expected) in [
            (
                "alg",
                "A128KW",
                Error::Jwe(JweError::KeyManagementUnsupported),
            ),
            ("alg", "dir", Error::Jwe(JweError::KeyManagementUnsupported)),
            (
                "alg",
                "RSA1_5",
                Error::Jwe(JweError::KeyManagementUnsupported),
            ),
            ("alg", "nOnE", Error::AlgorithmNone),
            (
                "enc",
                "A128CBC-HS256",
                Error::Jwe(JweError::ContentEncryptionUnsupported),
            ),
            (
                "enc",
                "A192GCM",
                Error::Jwe(JweError::ContentEncryptionUnsupported),
            ),
        ] {
            let mut bad = header.clone();
            bad[member] = value.into();
            assert_eq!(
                refusal(&with_header(&rsa_token, &bad), &only_a256),
                expected,
                "{value}"
            );
        }
    }

    #[test]
    fn compression_and_critical_extensions_are_refused() {
        let key = DecryptionKey::generate(KeyManagement::EcdhEs, "rp").unwrap();
        let token = key
            .encryption_key()
            .encrypt(b"a.b.c", ContentEncryption::A256Gcm, None)
            .unwrap();
        let decryption = keys(key);
        let mut zip = Value::Object(header_of(&token));
        zip["zip"] = "DEF".into();
        assert_eq!(
            refusal(&with_header(&token, &zip), &decryption),
            Error::Jwe(JweError::Compressed)
        );
        let mut crit = Value::Object(header_of(&token));
        crit["crit"] = json!(["exp"]);
        assert_eq!(
            refusal(&with_header(&token, &crit), &decryption),
            Error::CriticalHeader
        );
    }

    #[test]
    fn wrong_iv_or_tag_lengths_are_refused() {
        let key = DecryptionKey::generate(KeyManagement::RsaOaep256, "rp").unwrap();
        let token = key
            .encryption_key()
            .encrypt(b"a.b.c", ContentEncryption::A256Gcm, None)
            .unwrap();
        let decryption = keys(key);
        let b64 = |n: usize| URL_SAFE_NO_PAD.encode(vec![7u8; n]);
        for (segment, len, expected) in [
            (2, 8, JweError::IvLength(8)),
            (2, 16, JweError::IvLength(16)),
            (4, 12, JweError::TagLength(12)),
            (4, 0, JweError::TagLength(0)),
        ] {
            assert_eq!(
                refusal(&with_segment(&token, segment, &b64(len)), &decryption),
                Error::Jwe(expected)
            );
        }
        assert_eq!(
            refusal(&with_segment(&token, 2, "not base64!"), &decryption),
            Error::Jwe(JweError::Base64("initialization vector"))
        );
        assert_eq!(
            refusal(&format!("{token}.more"), &decryption),
            Error::Jwe(JweError::SegmentCount(6))
        );
    }

    #[test]
    fn tampering_and_wrong_keys_fail_alike() {
        for alg in KeyManagement::ALL {
            let key = DecryptionKey::generate(alg, "rp").unwrap();
            let token = key
                .encryption_key()
                .encrypt(b"a.b.c", ContentEncryption::A256Gcm, None)
                .unwrap();
            let decryption = keys(key);
            let mut ciphertext = URL_SAFE_NO_PAD
                .decode(token.split('.').nth(3).unwrap())
                .unwrap();
            ciphertext[0] ^= 1;
            let flipped = with_segment(&token, 3, &URL_SAFE_NO_PAD.encode(&ciphertext));
            let mut tag = URL_SAFE_NO_PAD
                .decode(token.split('.').nth(4).unwrap())
                .unwrap();
            tag[15] ^= 0x80;
            let bad_tag = with_segment(&token, 4, &URL_SAFE_NO_PAD.encode(&tag));
            let mut header = Value::Object(header_of(&token));
            header["x-extra"] = "aad".into();
            let other_aad = with_header(&token, &header);
            for bad in [flipped, bad_tag, other_aad] {
                assert_eq!(
                    refusal(&bad, &decryption),
                    Error::Jwe(JweError::DecryptionFailed),
                    "{alg}"
                );
            }
            // Another key under the same kid.
            let impostor = keys(DecryptionKey::generate(alg, "rp").unwrap());
            assert_eq!(
                refusal(&token, &impostor),
                Error::Jwe(JweError::DecryptionFailed),
                "{alg}"
            );
        }
        // RSA: a damaged encrypted key is the same answer as a bad tag.
        let key = DecryptionKey::generate(KeyManagement::RsaOaep, "rp").unwrap();
        let token = key
            .encryption_key()
            .encrypt(b"a.b.c", ContentEncryption::A256Gcm, None)
            .unwrap();
        let decryption = keys(key);
        for encrypted_key in [URL_SAFE_NO_PAD.encode([1u8; 256]), String::new()] {
            assert_eq!(
                refusal(&with_segment(&token, 1, &encrypted_key), &decryption),
                Error::Jwe(JweError::DecryptionFailed)
            );
        }
        // ECDH-ES never carries an encrypted key.
        let ec = DecryptionKey::generate(KeyManagement::EcdhEs, "ec").unwrap();
        let token = ec
            .encryption_key()
            .encrypt(b"a.b.c", ContentEncryption::A256Gcm, None)
            .unwrap();
        assert_eq!(
            refusal(&with_segment(&token, 1, "AAAA"), &keys(ec)),
            Error::Jwe(JweError::UnexpectedEncryptedKey)
        );
    }

    #[test]
    fn rotation_keeps_the_old_key_decrypting_until_it_is_removed() {
        let old = DecryptionKey::generate(KeyManagement::EcdhEs, "rp-2026-01").unwrap();
        let old_json = old.to_private_jwk_json();
        let to_old = old
            .encryption_key()
            .encrypt(b"a.b.c", ContentEncryption::A256Gcm, None)
            .unwrap();
        let new = DecryptionKey::generate(KeyManagement::EcdhEs, "rp-2026-07").unwrap();
        let new_json = new.to_private_jwk_json();
        let to_new = new
            .encryption_key()
            .encrypt(b"a.b.c", ContentEncryption::A256Gcm, None)
            .unwrap();

        // Overlap: both published, both decrypt.
        let overlap = DecryptionKeys::new([new, old]);
        let published: Vec<&str> = overlap
            .public_jwks()
            .iter()
            .map(|jwk| jwk["kid"].as_str().unwrap())
            .collect::<Vec<_>>()
            .into_iter()
            .map(|kid| if kid == "rp-2026-07" { "new" } else { "old" })
            .collect();
        assert_eq!(published, ["new", "old"]);
        for jwk in overlap.public_jwks() {
            assert_eq!(jwk["use"], "enc");
            assert!(!jwk.contains_key("d"), "a private member is published");
        }
        assert_eq!(overlap.decrypt(to_old.as_bytes()).unwrap(), b"a.b.c");
        assert_eq!(overlap.decrypt(to_new.as_bytes()).unwrap(), b"a.b.c");

        // Without a kid, each key of the algorithm is tried: the new one
        // fails, the old one opens it.
        let mut anonymous = overlap.keys()[1].public_jwk();
        anonymous.remove("kid");
        let anonymous =
            EncryptionKey::from_jwk_json(Value::Object(anonymous).to_string().as_bytes())
                .unwrap()
                .encrypt(b"a.b.c", ContentEncryption::A256Gcm, None)
                .unwrap();
        assert!(!header_of(&anonymous).contains_key("kid"));
        assert_eq!(overlap.decrypt(anonymous.as_bytes()).unwrap(), b"a.b.c");
        // Removing the kid from a token changes its AAD: refused.
        let mut header = Value::Object(header_of(&to_old));
        header.as_object_mut().unwrap().remove("kid");
        assert_eq!(
            overlap
                .decrypt(with_header(&to_old, &header).as_bytes())
                .unwrap_err(),
            Error::Jwe(JweError::DecryptionFailed)
        );

        // After the overlap: the old key is gone, its tokens are refused.
        let after =
            DecryptionKeys::new([DecryptionKey::from_jwk_json(new_json.as_bytes()).unwrap()]);
        assert_eq!(after.decrypt(to_new.as_bytes()).unwrap(), b"a.b.c");
        assert_eq!(
            after.decrypt(to_old.as_bytes()).unwrap_err(),
            Error::NoMatchingKey {
                kid: Some("rp-2026-01".into())
            }
        );
        // The stored old key still reads back and decrypts.
        let restored =
            DecryptionKeys::new([DecryptionKey::from_jwk_json(old_json.as_bytes()).unwrap()]);
        assert_eq!(restored.decrypt(to_old.as_bytes()).unwrap(), b"a.b.c");
    }

    #[test]
    fn private_jwks_round_trip_and_never_show_in_debug() {
        for alg in KeyManagement::ALL {
            let key = DecryptionKey::generate(alg, "rp").unwrap();
            let json = key.to_private_jwk_json();
            let again = DecryptionKey::from_jwk_json(json.as_bytes()).unwrap();
            assert_eq!(again.public_jwk(), key.public_jwk());
            let d: Value = serde_json::from_str(&json).unwrap();
            let d = d["d"].as_str().unwrap();
            assert!(!format!("{key:?}").contains(d));
            assert!(!format!("{:?}", keys(again)).contains(d));
        }
        // The public half alone is not a decryption key; a key with another
        // use, or without its algorithm, is refused.
        let key = DecryptionKey::generate(KeyManagement::EcdhEs, "rp").unwrap();
        let public = Value::Object(key.public_jwk()).to_string();
        assert_eq!(
            DecryptionKey::from_jwk_json(public.as_bytes()).unwrap_err(),
            Error::Key(KeyError::NotPrivate)
        );
        let mut jwk: Value = serde_json::from_str(&key.to_private_jwk_json()).unwrap();
        jwk["use"] = "sig".into();
        assert!(DecryptionKey::from_jwk_json(jwk.to_string().as_bytes()).is_err());
        jwk["use"] = "enc".into();
        jwk["alg"] = "RSA-OAEP".into();
        assert_eq!(
            DecryptionKey::from_jwk_json(jwk.to_string().as_bytes()).unwrap_err(),
            Error::Key(KeyError::Invalid)
        );
        jwk.as_object_mut().unwrap().remove("alg");
        assert_eq!(
            DecryptionKey::from_jwk_json(jwk.to_string().as_bytes()).unwrap_err(),
            Error::Key(KeyError::Member("alg"))
        );
    }

    #[test]
    fn the_first_encryption_key_of_a_jwks_is_found() {
        let signing = SigningKey::generate(Algorithm::ES256, "sig").unwrap();
        let key = DecryptionKey::generate(KeyManagement::RsaOaep256, "enc").unwrap();
        let jwks = json!({ "keys": [
            Value::Object(signing.verifying_key().to_jwk()),
            Value::Object(key.public_jwk()),
        ]});
        let found = EncryptionKey::first_in_jwks(jwks.to_string().as_bytes()).unwrap();
        assert_eq!(found.algorithm(), KeyManagement::RsaOaep256);
        let token = found
            .encrypt(b"x.y.z", ContentEncryption::A256Gcm, None)
            .unwrap();
        assert_eq!(keys(key).decrypt(token.as_bytes()).unwrap(), b"x.y.z");
        let only_signing = json!({ "keys": [Value::Object(signing.verifying_key().to_jwk())] });
        assert!(EncryptionKey::first_in_jwks(only_signing.to_string().as_bytes()).is_err());
    }

    #[test]
    fn franceconnect_plus_accepts_eidas2_and_eidas3() {
        for acr in [Acr::Eidas2, Acr::Eidas3] {
            let keys =
                DecryptionKeys::new(
                    [DecryptionKey::generate(KeyManagement::EcdhEs, "rp").unwrap()],
                );
            let provider = plus(keys, Algorithm::RS256, acr).unwrap();
            assert_eq!(provider.id(), "franceconnectplus");
        }
    }

    #[test]
    fn rsa_signing_keys_round_trip() {
        let key = SigningKey::generate(Algorithm::RS256, "client-rs256").unwrap();
        let again = SigningKey::from_jwk_json(key.to_private_jwk_json().as_bytes()).unwrap();
        assert_eq!(again.verifying_key(), key.verifying_key());
        let token = again.sign(&claims()).unwrap();
        let set = KeySet::new([key.verifying_key().clone()]);
        let verified = policy().verify::<Value>(&token, &set).unwrap();
        assert_eq!(verified.algorithm(), Algorithm::RS256);
    }
}
