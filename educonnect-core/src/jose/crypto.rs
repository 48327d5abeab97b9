//! The crypto provider seam: the one place that names a cryptography crate.
//!
//! Two providers implement the primitives `jose` needs, chosen at build time
//! by the crate's features, as rustls does with its `aws-lc-rs` and `ring`
//! providers:
//!
//! - **aws-lc-rs** (the `aws-lc-rs` feature, on by default): AWS-LC through
//!   `aws-lc-rs`. Everything works, including the decryption of encrypted
//!   tokens (RSA-OAEP, ECDH-ES) that FranceConnect+ sends and the generation of
//!   RSA keys.
//! - **ring** (the `ring` feature, used when `aws-lc-rs` is off): signatures,
//!   HMAC, digests and AES-GCM. ring has no RSA-OAEP and no static-key ECDH,
//!   so a configuration that needs them is refused with
//!   [`Unsupported`](super::KeyError::Unsupported) at start, never half-run.
//!
//! Both crates expose the same API for what they share, so the code above this
//! module is written once; only what exists in one provider alone is gated.
//!
//! Outside `jose`, the rest of the library and its adapters reach
//! cryptography only through the functions below ([`sha256`],
//! [`fill_random`]) and the types of `jose`.

#[cfg(feature = "aws-lc-rs")]
pub(crate) use aws_lc_rs as backend;
#[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
pub(crate) use ring as backend;

#[cfg(not(any(feature = "aws-lc-rs", feature = "ring")))]
compile_error!(
    "educonnect-core needs a crypto provider: enable the `aws-lc-rs` feature (the default) or `ring`"
);

use backend::rand::SecureRandom;

/// The crypto provider this build of the library uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CryptoProvider {
    /// AWS-LC, through aws-lc-rs: every feature.
    AwsLcRs,
    /// ring: no token decryption (JWE), no RSA key generation.
    Ring,
}

impl CryptoProvider {
    /// The provider compiled in: aws-lc-rs whenever its feature is on.
    pub const fn current() -> Self {
        if cfg!(feature = "aws-lc-rs") {
            Self::AwsLcRs
        } else {
            Self::Ring
        }
    }

    /// The provider's crate name, for logs and error messages.
    pub const fn name(self) -> &'static str {
        match self {
            Self::AwsLcRs => "aws-lc-rs",
            Self::Ring => "ring",
        }
    }

    /// Whether encrypted tokens (JWE with RSA-OAEP or ECDH-ES), and therefore
    /// FranceConnect+, are available.
    pub const fn decrypts_tokens(self) -> bool {
        matches!(self, Self::AwsLcRs)
    }
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let digest = backend::digest::digest(&backend::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// Fills `dest` from the operating system's secure random source.
///
/// # Panics
/// When the operating system cannot provide randomness at all: no login,
/// session or key can be issued safely then, and there is nothing to fall
/// back on.
pub fn fill_random(dest: &mut [u8]) {
    backend::rand::SystemRandom::new()
        .fill(dest)
        .expect("the operating system's random source failed");
}

/// An AES-256-GCM key derived with HKDF-SHA256 from a master secret, for data
/// the library seals for itself (the login cookie).
pub(crate) struct SealingKey(backend::aead::LessSafeKey);

/// The nonce length of [`SealingKey`], and the tag length it appends.
pub(crate) const SEAL_NONCE_LEN: usize = 12;
pub(crate) const SEAL_TAG_LEN: usize = 16;

/// The extracted HKDF pseudo-random key from which [`SealingKey`]s derive.
pub(crate) struct SealingRoot(backend::hkdf::Prk);

impl SealingRoot {
    /// HKDF-Extract of `secret` under `salt`.
    pub(crate) fn new(salt: &[u8], secret: &[u8]) -> Self {
        Self(backend::hkdf::Salt::new(backend::hkdf::HKDF_SHA256, salt).extract(secret))
    }

    /// HKDF-Expand with `info`: an independent key per `info`.
    pub(crate) fn key(&self, info: &[&[u8]]) -> Option<SealingKey> {
        use backend::aead::{AES_256_GCM, LessSafeKey, UnboundKey};
        let okm = self.0.expand(info, &AES_256_GCM).ok()?;
        Some(SealingKey(LessSafeKey::new(UnboundKey::from(okm))))
    }
}

impl SealingKey {
    /// Encrypts `payload` in place with `nonce` and `aad`; returns the tag.
    pub(crate) fn seal(
        &self,
        nonce: [u8; SEAL_NONCE_LEN],
        aad: &[u8],
        payload: &mut [u8],
    ) -> Option<[u8; SEAL_TAG_LEN]> {
        use backend::aead::{Aad, Nonce};
        let tag = self
            .0
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                payload,
            )
            .ok()?;
        let mut out = [0u8; SEAL_TAG_LEN];
        out.copy_from_slice(tag.as_ref());
        Some(out)
    }

    /// Decrypts `ciphertext_and_tag` in place; the plaintext, or `None` when
    /// the tag does not verify.
    pub(crate) fn open<'a>(
        &self,
        nonce: &[u8],
        aad: &[u8],
        ciphertext_and_tag: &'a mut [u8],
    ) -> Option<&'a mut [u8]> {
        use backend::aead::{Aad, Nonce};
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        self.0
            .open_in_place(nonce, Aad::from(aad), ciphertext_and_tag)
            .ok()
    }
}

/// Whether two byte strings are equal, in a time that depends on their
/// length only: the differences are OR-ed together eight bytes at a time and
/// the result compared once with `subtle`, which keeps the compiler from
/// turning the comparison into an early exit. `subtle`'s slice comparison
/// costs ten times more per byte.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u64;
    let (a_words, b_words) = (a.chunks_exact(8), b.chunks_exact(8));
    for (x, y) in a_words.remainder().iter().zip(b_words.remainder()) {
        diff |= u64::from(x ^ y);
    }
    for (x, y) in a_words.zip(b_words) {
        let word = |bytes: &[u8]| u64::from_le_bytes(bytes.try_into().unwrap_or([0; 8]));
        diff |= word(x) ^ word(y);
    }
    subtle::ConstantTimeEq::ct_eq(&diff, &0).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Equal strings of every length are equal; one bit changed at any
    /// place (in the eight-byte words or the remainder) or one byte more or
    /// less is not.
    #[test]
    fn constant_time_eq_finds_every_difference() {
        for len in 0..40 {
            let a: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(31)).collect();
            assert!(constant_time_eq(&a, &a.clone()), "{len}");
            for at in 0..len {
                for bit in [0x01, 0x80] {
                    let mut b = a.clone();
                    b[at] ^= bit;
                    assert!(!constant_time_eq(&a, &b), "{len} {at} {bit}");
                }
            }
            let mut longer = a.clone();
            longer.push(0);
            assert!(!constant_time_eq(&a, &longer), "{len}");
            assert!(!constant_time_eq(&longer, &a), "{len}");
        }
    }

    #[test]
    fn sha256_of_abc() {
        // FIPS 180-2, appendix B.1.
        assert_eq!(
            sha256(b"abc")[..4],
            [0xba, 0x78, 0x16, 0xbf],
            "SHA-256(\"abc\") starts ba7816bf"
        );
    }

    #[test]
    fn sealing_keys_differ_per_info_and_refuse_tampering() {
        let root = SealingRoot::new(b"salt", b"a master secret of enough bytes");
        let (a, b) = (root.key(&[b"one"]).unwrap(), root.key(&[b"two"]).unwrap());
        let mut data = *b"hello";
        let tag = a.seal([7; 12], b"aad", &mut data).unwrap();
        let mut sealed = [&data[..], &tag[..]].concat();
        let mut copy = sealed.clone();
        assert!(b.open(&[7; 12], b"aad", &mut copy).is_none());
        let mut copy = sealed.clone();
        assert!(a.open(&[7; 12], b"other", &mut copy).is_none());
        assert_eq!(a.open(&[7; 12], b"aad", &mut sealed).unwrap(), b"hello");
    }

    #[test]
    fn names_the_provider_compiled_in() {
        let provider = CryptoProvider::current();
        assert_eq!(
            provider.name(),
            if cfg!(feature = "aws-lc-rs") {
                "aws-lc-rs"
            } else {
                "ring"
            }
        );
        assert_eq!(provider.decrypts_tokens(), cfg!(feature = "aws-lc-rs"));
    }
}
