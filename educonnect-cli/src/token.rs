//! `educonnect token sign | verify | inspect`.

use std::sync::Arc;
use std::time::Duration;

use educonnect_core::FixedClock;
use educonnect_core::jose::danger::decode_unverified;
use educonnect_core::jose::{
    Algorithm, AlgorithmSet, DEFAULT_MAX_JWKS_LEN, HmacSecret, KeySet, SigningKey, SkippedKey,
    Validation,
};
use serde_json::{Map, Value};

use crate::cli::{InspectArgs, KeySource, SignArgs, VerifyArgs};
use crate::failure::{Failure, describe_key_error, note};
use crate::{claims, input, output};

/// Largest private JWK file read: a P-256 or Ed25519 JWK is under 300 bytes.
const MAX_KEY_FILE: usize = 64 * 1024;
/// Largest claims file read.
const MAX_CLAIMS_FILE: usize = 1024 * 1024;
/// Largest HS256 secret file read.
const MAX_SECRET_FILE: usize = 64 * 1024;

/// The banner `inspect` prints before anything else.
pub(crate) const UNVERIFIED_BANNER: &str = "UNVERIFIED — signature and claims not checked";

/// Signs the claims with the private JWK and prints the compact JWS.
pub(crate) fn sign(args: &SignArgs) -> Result<(), Failure> {
    let jwk = input::file(&args.key, MAX_KEY_FILE, "key file")?;
    let key = SigningKey::from_jwk_json(&jwk).map_err(|e| {
        Failure::usage(format_args!(
            "cannot use key file {:?}: {}",
            args.key,
            describe_key_error(&e)
        ))
    })?;
    let claims = match args.claims.strip_prefix('@') {
        Some(path) => input::file(path.as_ref(), MAX_CLAIMS_FILE, "claims file")?,
        None => args.claims.as_bytes().to_vec(),
    };
    let claims = claims::parse_object(&claims).map_err(Failure::usage)?;
    let token = key
        .sign(&claims)
        .map_err(|e| Failure::usage(format_args!("cannot sign: {e}")))?;
    output::line(&token)
}

/// Verifies the token and prints its claims as one line of JSON.
pub(crate) fn verify(args: &VerifyArgs) -> Result<(), Failure> {
    let (keys, algorithms) = key_set(&args.key, args.alg.as_deref())?;
    for skipped in keys.skipped() {
        note(&skipped_note(skipped));
    }

    let mut validation =
        Validation::new(args.issuer.as_str(), args.audience.as_str()).algorithms(algorithms.iter());
    if let Some(nonce) = &args.nonce {
        validation = validation.nonce(nonce.as_str());
    }
    if let Some(acr) = args.acr_min {
        validation = validation.min_acr(acr);
    }
    if let Some(seconds) = args.leeway {
        validation = validation.leeway(Duration::from_secs(seconds));
    }
    if let Some(now) = args.now {
        validation = validation.clock(Arc::new(FixedClock::at_unix(now)));
    }

    let token = input::token(&args.token)?;
    let verified = validation
        .verify::<Map<String, Value>>(&token, &keys)
        .map_err(|e| Failure::rejected(&e))?;
    let claims = serde_json::to_string(verified.claims())
        .map_err(|e| Failure::usage(format_args!("cannot print the claims: {e}")))?;
    output::line(&claims)
}

/// Decodes the token without verifying it and prints a warning, its header
/// and its claims.
pub(crate) fn inspect(args: &InspectArgs) -> Result<(), Failure> {
    let token = input::token(&args.token)?;
    let decoded = decode_unverified(&token).map_err(|e| Failure::malformed(&e))?;
    let pretty = |map: Map<String, Value>| {
        serde_json::to_string_pretty(&Value::Object(map))
            .map_err(|e| Failure::usage(format_args!("cannot print the token: {e}")))
    };
    let header = pretty(decoded.header)?;
    let claims = pretty(decoded.claims)?;
    output::line(&format!(
        "{UNVERIFIED_BANNER}\nheader:\n{header}\nclaims:\n{claims}"
    ))
}

/// The keys from `--jwks` or `--secret-file`, and the allowed algorithms:
/// those of `--alg`, checked against the key source, or the source's default
/// (asymmetric for a JWKS, HS256 for a secret).
fn key_set(
    source: &KeySource,
    alg: Option<&[Algorithm]>,
) -> Result<(KeySet, AlgorithmSet), Failure> {
    let allowed: Option<AlgorithmSet> = alg.map(|list| list.iter().copied().collect());
    match (&source.jwks, &source.secret_file) {
        (Some(path), None) => {
            if allowed.is_some_and(|a| a.contains(Algorithm::HS256)) {
                return Err(Failure::usage(
                    "HS256 needs --secret-file: an HMAC secret never comes from a JWKS",
                ));
            }
            let json = input::file(path, DEFAULT_MAX_JWKS_LEN, "JWKS")?;
            let keys = KeySet::from_jwks_json(&json).map_err(|e| {
                Failure::usage(format_args!(
                    "cannot use JWKS {path:?}: {}",
                    describe_key_error(&e)
                ))
            })?;
            Ok((keys, allowed.unwrap_or(AlgorithmSet::ASYMMETRIC)))
        }
        (None, Some(path)) => {
            let hs256 = AlgorithmSet::EMPTY.with(Algorithm::HS256);
            if allowed.is_some_and(|a| a != hs256) {
                return Err(Failure::usage(
                    "--secret-file verifies HS256 tokens only: use --alg HS256 or leave --alg out",
                ));
            }
            let bytes = input::file(path, MAX_SECRET_FILE, "secret file")?;
            let secret = bytes
                .strip_suffix(b"\n")
                .map(|s| s.strip_suffix(b"\r").unwrap_or(s))
                .unwrap_or(&bytes);
            let secret = HmacSecret::new(secret).map_err(|_| {
                Failure::usage(format_args!(
                    "the secret in {path:?} is too short: HS256 needs at least 32 bytes"
                ))
            })?;
            Ok((KeySet::default().with_hmac_secret(secret), hs256))
        }
        // clap's argument group makes the key source exactly one of the two.
        _ => Err(Failure::usage(
            "give exactly one of --jwks and --secret-file",
        )),
    }
}

/// `note: key #i (kid "...") skipped: reason`, the kid escaped and truncated.
fn skipped_note(skipped: &SkippedKey) -> String {
    const MAX_KID_CHARS: usize = 64;
    let kid = match &skipped.kid {
        None => "no kid".to_owned(),
        Some(kid) => {
            let mut shown: String = kid
                .chars()
                .take(MAX_KID_CHARS)
                .flat_map(char::escape_debug)
                .collect();
            if kid.chars().nth(MAX_KID_CHARS).is_some() {
                shown.push('…');
            }
            format!("kid \"{shown}\"")
        }
    };
    format!(
        "note: key #{} ({kid}) skipped: {}",
        skipped.index, skipped.reason
    )
}
