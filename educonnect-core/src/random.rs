//! Randomness, injected: state, nonce, PKCE verifiers, session ids and error
//! references all come from a [`RandomSource`], so that a test can fix them.

use std::fmt;

/// A source of unpredictable bytes.
pub trait RandomSource: Send + Sync + fmt::Debug {
    /// Fills `dest` with random bytes.
    fn fill(&self, dest: &mut [u8]);
}

/// The operating system's secure random source (through the crypto
/// provider, [`crate::jose::crypto::fill_random`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemRandomSource;

impl RandomSource for SystemRandomSource {
    fn fill(&self, dest: &mut [u8]) {
        // The system source only fails when the OS cannot provide randomness
        // at all; there is no safe way to go on issuing logins then (it panics).
        crate::jose::crypto::fill_random(dest);
    }
}

const ALPHANUMERIC: &[u8; 62] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// `len` random letters and digits, uniformly drawn (rejection sampling: a
/// byte is kept only below 248 = 4 × 62, so that no character is likelier).
pub(crate) fn alphanumeric(random: &dyn RandomSource, len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        random.fill(&mut buf);
        for &b in &buf {
            if b < 248 && out.len() < len {
                out.push(ALPHANUMERIC[usize::from(b % 62)] as char);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphanumeric_strings_have_the_length_and_alphabet() {
        let random = SystemRandomSource;
        let a = alphanumeric(&random, 43);
        let b = alphanumeric(&random, 43);
        assert_eq!(a.len(), 43);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}
