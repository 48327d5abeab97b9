//! The pending login, sealed into the browser's login cookie.
//!
//! Between `login` and `callback` the gateway must remember the provider,
//! the nonce, the PKCE verifier and the return path of each login. Kept in
//! the [`Store`](crate::Store), they let anyone fill it anonymously with
//! `GET /auth/login` and push real users' entries out (review finding 5).
//! So they travel in the login cookie instead, sealed with AES-256-GCM under
//! a key only the gateway holds, with the `state` as associated data and an
//! expiry inside the sealed payload: `/auth/login` writes nothing to the
//! store.
//!
//! Opening the cookie is also the browser binding: a callback whose browser
//! holds no cookie sealed for that `state` (login CSRF, a forged callback)
//! is refused before anything is written, so it cannot spend the real
//! login either.
//!
//! Each cookie is sealed under its own key, derived from the gateway's
//! [`LoginStateKey`] and the `state` (HKDF-SHA256), with a random 96-bit
//! nonce: random nonces under one AES-GCM key would collide after some
//! 2^32 logins, and an attacker can start logins as fast as they like; a
//! key per `state` (256 random bits) makes a nonce collision harmless.

use std::fmt;

use crate::jose::crypto::{SEAL_NONCE_LEN as NONCE_LEN, SealingKey, SealingRoot};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::GatewayConfigError;
use crate::random::RandomSource;

/// Shortest secret accepted by [`LoginStateKey::new`], in bytes.
pub const MIN_LOGIN_STATE_KEY_LEN: usize = 32;

/// Version byte of the sealed payload, so that a later format can tell old
/// cookies apart (they are refused as expired).
const FORMAT: u8 = 1;
/// HKDF salt: the purpose of the key, so that the same secret used for
/// something else derives different keys.
const SALT: &[u8] = b"educonnect-rs login state v1";
/// Longest cookie value opened (browsers keep at most about 4 KiB per
/// cookie): anything longer is not one of ours.
pub(crate) const MAX_SEALED_LEN: usize = 4000;
/// AES-GCM tag length.
const TAG_LEN: usize = 16;

/// The secret that seals pending logins into the login cookie (see
/// [`GatewayBuilder::login_state_key`](super::GatewayBuilder::login_state_key)).
///
/// At least [`MIN_LOGIN_STATE_KEY_LEN`] random bytes. Every replica of a
/// service must have the same one, since a login may start on one and come
/// back on another. Anyone holding it can forge login cookies for any
/// `state` (though not the provider's answer to them): keep it with the
/// client secret. Its `Debug` output shows nothing of it.
#[derive(Clone)]
pub struct LoginStateKey(Vec<u8>);

impl LoginStateKey {
    /// A key from `secret`, at least [`MIN_LOGIN_STATE_KEY_LEN`] bytes of
    /// random data (such as `openssl rand 32`).
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Self, GatewayConfigError> {
        let secret = secret.into();
        if secret.len() < MIN_LOGIN_STATE_KEY_LEN {
            return Err(GatewayConfigError::LoginStateKeyTooShort);
        }
        Ok(Self(secret))
    }

    /// A new random key from `random`: what a gateway uses when none is
    /// configured (valid for this process only).
    pub(crate) fn generate(random: &dyn RandomSource) -> Self {
        let mut secret = vec![0; MIN_LOGIN_STATE_KEY_LEN];
        random.fill(&mut secret);
        Self(secret)
    }
}

impl fmt::Debug for LoginStateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LoginStateKey(<redacted>)")
    }
}

/// What the callback needs of the login it completes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PendingLogin {
    pub(crate) provider: String,
    pub(crate) nonce: String,
    pub(crate) pkce_verifier: String,
    pub(crate) return_to: String,
    /// Unix seconds after which the login is refused.
    pub(crate) expires_at: i64,
}

/// Why a login cookie could not be opened. For the log only: the user sees
/// the same "expired or already used" page for all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// Not base64, too short or too long: not a cookie of ours.
    Malformed,
    /// Sealed for another `state`, by another key, or altered.
    NotForThisState,
    /// Past its expiry (or in an older format).
    Expired,
}

impl OpenError {
    /// What went wrong, for the log.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "the login cookie is malformed",
            Self::NotForThisState => {
                "the login cookie was not sealed for this state (login CSRF, forged callback?)"
            }
            Self::Expired => "the login has expired",
        }
    }
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Seals and opens pending logins with the gateway's key.
pub(crate) struct Sealer {
    root: SealingRoot,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sealer(<redacted>)")
    }
}

impl Sealer {
    pub(crate) fn new(key: &LoginStateKey) -> Self {
        Self {
            root: SealingRoot::new(SALT, &key.0),
        }
    }

    /// The AES-256-GCM key of the login `state`.
    fn key(&self, state: &str) -> Option<SealingKey> {
        self.root
            .key(&[b"login-state ".as_slice(), state.as_bytes()])
    }

    /// The cookie value carrying `pending` for `state`: URL-safe base64 of
    /// nonce, ciphertext and tag. `None` if a field is too long to encode.
    pub(crate) fn seal(
        &self,
        state: &str,
        pending: &PendingLogin,
        random: &dyn RandomSource,
    ) -> Option<String> {
        let key = self.key(state)?;
        let mut nonce = [0u8; NONCE_LEN];
        random.fill(&mut nonce);
        let mut payload = encode(pending)?;
        let tag = key.seal(nonce, state.as_bytes(), &mut payload)?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + payload.len() + TAG_LEN);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&payload);
        sealed.extend_from_slice(tag.as_ref());
        Some(URL_SAFE_NO_PAD.encode(sealed))
    }

    /// The pending login sealed in `cookie` for `state`, if it is still
    /// live at `now` (Unix seconds).
    pub(crate) fn open(
        &self,
        state: &str,
        cookie: &str,
        now: i64,
    ) -> Result<PendingLogin, OpenError> {
        if cookie.len() > MAX_SEALED_LEN {
            return Err(OpenError::Malformed);
        }
        let mut sealed = URL_SAFE_NO_PAD
            .decode(cookie)
            .map_err(|_| OpenError::Malformed)?;
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(OpenError::Malformed);
        }
        let (nonce, ciphertext) = sealed.split_at_mut(NONCE_LEN);
        let key = self.key(state).ok_or(OpenError::NotForThisState)?;
        let payload = key
            .open(nonce, state.as_bytes(), ciphertext)
            .ok_or(OpenError::NotForThisState)?;
        // Sealed by us: a payload we cannot read is from another version.
        let pending = decode(payload).ok_or(OpenError::Expired)?;
        if now >= pending.expires_at {
            return Err(OpenError::Expired);
        }
        Ok(pending)
    }
}

/// `FORMAT`, the expiry (i64, big-endian), then each string as a u16
/// big-endian length and its bytes. Compact, so that the cookie stays well
/// under the browsers' 4 KiB with the longest `return_to`.
fn encode(pending: &PendingLogin) -> Option<Vec<u8>> {
    let fields = [
        &pending.provider,
        &pending.nonce,
        &pending.pkce_verifier,
        &pending.return_to,
    ];
    let len = 1 + 8 + fields.iter().map(|f| 2 + f.len()).sum::<usize>();
    let mut out = Vec::with_capacity(len + TAG_LEN);
    out.push(FORMAT);
    out.extend_from_slice(&pending.expires_at.to_be_bytes());
    for field in fields {
        out.extend_from_slice(&u16::try_from(field.len()).ok()?.to_be_bytes());
        out.extend_from_slice(field.as_bytes());
    }
    Some(out)
}

fn decode(payload: &[u8]) -> Option<PendingLogin> {
    let (&format, rest) = payload.split_first()?;
    if format != FORMAT {
        return None;
    }
    let (expires_at, mut rest) = rest.split_first_chunk::<8>()?;
    let mut field = || -> Option<String> {
        let (len, tail) = rest.split_first_chunk::<2>()?;
        let len = usize::from(u16::from_be_bytes(*len));
        if tail.len() < len {
            return None;
        }
        let (value, tail) = tail.split_at(len);
        rest = tail;
        String::from_utf8(value.to_vec()).ok()
    };
    let pending = PendingLogin {
        provider: field()?,
        nonce: field()?,
        pkce_verifier: field()?,
        return_to: field()?,
        expires_at: i64::from_be_bytes(*expires_at),
    };
    rest.is_empty().then_some(pending)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::SystemRandomSource;

    const STATE: &str = "S7aTe0123456789abcdefghijklmnopqrstuvwxyzAB";

    fn pending() -> PendingLogin {
        PendingLogin {
            provider: "franceconnect".into(),
            nonce: "n".repeat(43),
            pkce_verifier: "v".repeat(43),
            return_to: "/livret?onglet=notes".into(),
            expires_at: 1_000,
        }
    }

    fn sealer(byte: u8) -> Sealer {
        Sealer::new(&LoginStateKey::new(vec![byte; 32]).unwrap())
    }

    #[test]
    fn seals_and_opens_for_the_same_state_until_it_expires() {
        let sealer = sealer(1);
        let cookie = sealer.seal(STATE, &pending(), &SystemRandomSource).unwrap();
        assert!(
            cookie
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(sealer.open(STATE, &cookie, 999), Ok(pending()));
        assert_eq!(sealer.open(STATE, &cookie, 1_000), Err(OpenError::Expired));
        // Two seals of the same login differ (random nonce).
        let again = sealer.seal(STATE, &pending(), &SystemRandomSource).unwrap();
        assert_ne!(cookie, again);
    }

    #[test]
    fn another_state_key_or_a_changed_byte_does_not_open() {
        let sealer = sealer(1);
        let cookie = sealer.seal(STATE, &pending(), &SystemRandomSource).unwrap();
        let other_state = STATE.replace('S', "T");
        assert_eq!(
            sealer.open(&other_state, &cookie, 0),
            Err(OpenError::NotForThisState)
        );
        assert_eq!(
            self::sealer(2).open(STATE, &cookie, 0),
            Err(OpenError::NotForThisState)
        );
        let mut bytes = URL_SAFE_NO_PAD.decode(&cookie).unwrap();
        for i in [0, NONCE_LEN, bytes.len() - 1] {
            bytes[i] ^= 1;
            let altered = URL_SAFE_NO_PAD.encode(&bytes);
            assert_eq!(
                sealer.open(STATE, &altered, 0),
                Err(OpenError::NotForThisState)
            );
            bytes[i] ^= 1;
        }
    }

    #[test]
    fn garbage_is_refused_without_panic() {
        let sealer = sealer(1);
        for garbage in ["", "abc", "!!!!", &"A".repeat(27), &"A".repeat(5000), "é"] {
            assert!(sealer.open(STATE, garbage, 0).is_err(), "{garbage:?}");
        }
    }

    #[test]
    fn the_longest_return_to_fits_a_cookie() {
        let sealer = sealer(1);
        let long = PendingLogin {
            return_to: format!("/{}", "\"".repeat(super::super::MAX_RETURN_TO - 1)),
            provider: "a-provider-with-a-long-id".into(),
            ..pending()
        };
        let cookie = sealer.seal(STATE, &long, &SystemRandomSource).unwrap();
        assert!(cookie.len() <= MAX_SEALED_LEN, "{}", cookie.len());
        assert_eq!(sealer.open(STATE, &cookie, 0), Ok(long));
    }

    #[test]
    fn payloads_decode_only_whole() {
        let bytes = encode(&pending()).unwrap();
        assert_eq!(decode(&bytes), Some(pending()));
        for len in 0..bytes.len() {
            assert_eq!(decode(&bytes[..len]), None);
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode(&longer), None);
        let mut other_format = bytes;
        other_format[0] = 2;
        assert_eq!(decode(&other_format), None);
    }

    #[test]
    fn the_key_is_long_enough_and_not_printed() {
        assert!(matches!(
            LoginStateKey::new(vec![7; 31]),
            Err(GatewayConfigError::LoginStateKeyTooShort)
        ));
        let key = LoginStateKey::new(b"0123456789abcdef0123456789abcdef".to_vec()).unwrap();
        assert!(!format!("{key:?}").contains("0123"));
        assert!(!format!("{:?}", Sealer::new(&key)).contains("0123"));
    }
}
