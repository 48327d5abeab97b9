//! Reading typed values out of a claims object, with one error per way a
//! claim can be wrong.
//!
//! `null` counts as absent: OpenID Connect asks providers to omit a claim they
//! have no value for, and some write `null` instead.

use serde_json::{Map, Value};

use super::{IdentityError, UserinfoClaim};

/// Longest `sub` accepted, in bytes (OpenID Connect Core §2: 255 ASCII characters).
pub(super) const MAX_SUB_LEN: usize = 255;

/// Longest other text claim accepted, in characters. Far above any real name;
/// only there so that a misbehaving provider cannot fill a session store.
pub(super) const MAX_TEXT_CHARS: usize = 512;

pub(super) fn opt_str(
    claims: &Map<String, Value>,
    claim: UserinfoClaim,
) -> Result<Option<&str>, IdentityError> {
    match claims.get(claim.name()) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(IdentityError::WrongType(claim)),
    }
}

pub(super) fn req_str(
    claims: &Map<String, Value>,
    claim: UserinfoClaim,
) -> Result<&str, IdentityError> {
    opt_str(claims, claim)?.ok_or(IdentityError::Missing(claim))
}

/// Checks a text value without deciding whether empty is allowed.
pub(super) fn checked(claim: UserinfoClaim, s: &str) -> Result<&str, IdentityError> {
    if s.chars().any(char::is_control) {
        return Err(IdentityError::ControlCharacter(claim));
    }
    if s.chars().nth(MAX_TEXT_CHARS).is_some() {
        return Err(IdentityError::TooLong(claim));
    }
    Ok(s)
}

/// A required text claim: present, a string, not blank, no control
/// characters, not too long. Kept exactly as sent.
pub(super) fn req_text(
    claims: &Map<String, Value>,
    claim: UserinfoClaim,
) -> Result<String, IdentityError> {
    let s = checked(claim, req_str(claims, claim)?)?;
    if s.trim().is_empty() {
        return Err(IdentityError::Empty(claim));
    }
    Ok(s.to_owned())
}

/// An optional text claim: absent, `null`, empty or blank all read as `None`.
pub(super) fn opt_text(
    claims: &Map<String, Value>,
    claim: UserinfoClaim,
) -> Result<Option<String>, IdentityError> {
    match opt_str(claims, claim)? {
        None => Ok(None),
        Some(s) => {
            let s = checked(claim, s)?;
            Ok((!s.trim().is_empty()).then(|| s.to_owned()))
        }
    }
}

/// `sub`: required, a non-empty string of at most 255 bytes.
pub(super) fn sub(claims: &Map<String, Value>) -> Result<String, IdentityError> {
    let claim = UserinfoClaim::Sub;
    let s = req_str(claims, claim)?;
    if s.is_empty() {
        return Err(IdentityError::Empty(claim));
    }
    if s.len() > MAX_SUB_LEN {
        return Err(IdentityError::TooLong(claim));
    }
    if s.chars().any(char::is_control) {
        return Err(IdentityError::ControlCharacter(claim));
    }
    Ok(s.to_owned())
}

/// An optional array of strings.
pub(super) fn opt_str_list(
    claims: &Map<String, Value>,
    claim: UserinfoClaim,
) -> Result<Option<Vec<&str>>, IdentityError> {
    match claims.get(claim.name()) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().ok_or(IdentityError::WrongType(claim)))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(IdentityError::WrongType(claim)),
    }
}
