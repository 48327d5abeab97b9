//! ID token verification with `openidconnect` 4: `CoreIdTokenVerifier` over
//! the same JWKS, issuer and client id (with the client secret, for HS256),
//! the fixed clock, the nonce, and an `acr` check.

use openidconnect::core::{
    CoreIdToken, CoreIdTokenClaims, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
};
use openidconnect::{ClientId, ClientSecret, IssuerUrl, Nonce};

use crate::{CLIENT_ID, HMAC_SECRET, ISSUER, NONCE, NOW};

/// A verifier and the nonce of the login.
pub struct OidcVerifier {
    verifier: CoreIdTokenVerifier<'static>,
    nonce: Nonce,
}

impl OidcVerifier {
    /// From the provider's JWKS.
    pub fn new(jwks: &str) -> Self {
        let keys: CoreJsonWebKeySet = serde_json::from_str(jwks).expect("JWKS");
        let secret = String::from_utf8(HMAC_SECRET.to_vec()).expect("ASCII secret");
        let now = chrono::DateTime::from_timestamp(NOW as i64, 0).expect("time");
        let verifier = CoreIdTokenVerifier::new_confidential_client(
            ClientId::new(CLIENT_ID.to_owned()),
            ClientSecret::new(secret),
            IssuerUrl::new(ISSUER.to_owned()).expect("issuer URL"),
            keys,
        )
        .set_allowed_algs([
            CoreJwsSigningAlgorithm::EcdsaP256Sha256,
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            CoreJwsSigningAlgorithm::EdDsa,
            CoreJwsSigningAlgorithm::HmacSha256,
        ])
        .set_time_fn(move || now)
        .set_auth_context_verifier_fn(|acr| match acr.map(|a| a.as_str()) {
            Some("eidas1" | "eidas2" | "eidas3") => Ok(()),
            _ => Err("acr is not an eIDAS level".to_owned()),
        });
        Self {
            verifier,
            nonce: Nonce::new(NONCE.to_owned()),
        }
    }

    /// Parses and verifies an ID token; the claims are returned owned.
    pub fn verify(&self, token: &str) -> Result<CoreIdTokenClaims, String> {
        let token: CoreIdToken = token.parse().map_err(|e| format!("{e}"))?;
        token
            .into_claims(&self.verifier, &self.nonce)
            .map_err(|e| format!("{e}"))
    }
}
