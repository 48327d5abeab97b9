//! `educonnect demo`: what the token core does, offline, in memory: a key is
//! made, a token signed and verified, then altered, unsigned and expired
//! tokens are refused. Nothing is read or written.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use educonnect_core::FixedClock;
use educonnect_core::jose::{Algorithm, KeySet, SigningKey, Validation};
use serde_json::{Value, json};

use crate::failure::Failure;
use crate::output;

const ISSUER: &str = "https://ent.demo.example";
const AUDIENCE: &str = "bourse-demo";

/// Runs the demonstration and prints each step.
pub(crate) fn run() -> Result<(), Failure> {
    let fail = |e: educonnect_core::jose::Error| Failure::usage(format_args!("demo failed: {e}"));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let key = SigningKey::generate(Algorithm::ES256, "demo").map_err(fail)?;
    let keys = KeySet::from_jwks_json(key.public_jwks_json().as_bytes()).map_err(fail)?;
    let claims = json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": "parent-0001",
        "iat": now, "exp": now + 300,
        "children": [{"ine": "123456789AB", "uai": "0750654D", "legal_authority": true}],
    });
    let token = key.sign(&claims).map_err(fail)?;
    let validation = Validation::new(ISSUER, AUDIENCE);
    let verified = validation
        .verify::<Value>(&token, &keys)
        .map_err(fail)?
        .into_claims();

    let refused =
        |token: &str, validation: &Validation| match validation.verify::<Value>(token, &keys) {
            Ok(_) => "ACCEPTED (this is a bug)".to_owned(),
            Err(e) => format!("rejected: {e}"),
        };
    let mut altered = token.clone().into_bytes();
    let i = token.find('.').map_or(10, |dot| dot + 5);
    altered[i] = if altered[i] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8_lossy(&altered).into_owned();
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let an_hour_later = validation
        .clone()
        .clock(Arc::new(FixedClock::at_unix(now + 3600)));

    output::line(&format!(
        "EduConnect-rs demo: the token core, offline, in memory.\n\n\
         1. A new ES256 signing key, kid \"demo\". Its public JWKS, to publish:\n   {jwks}\n\n\
         2. A token signed with it (a family assertion's shape):\n   {token}\n\n\
         3. Verified for issuer {ISSUER} and audience {AUDIENCE}, its claims:\n   {verified}\n\n\
         4. The same token with one character changed: {altered}\n\
         5. The same claims with \"alg\": \"none\": {unsigned}\n\
         6. The token checked one hour later: {expired}\n\n\
         Next: `educonnect keygen`, `educonnect token sign | verify | inspect` (see README.md).",
        jwks = key.public_jwks_json(),
        altered = refused(&altered, &validation),
        unsigned = refused(&unsigned, &validation),
        expired = refused(&token, &an_hour_later),
    ))
}
