//! The signature algorithms this library implements, and nothing else.

use std::fmt;
use std::str::FromStr;

use super::Error;

/// A JWS signature algorithm (RFC 7518, RFC 8037).
///
/// `none` is deliberately not representable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Algorithm {
    /// ECDSA on P-256 with SHA-256. FranceConnect v2's recommended algorithm.
    ES256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, keys of 2048 bits and more.
    RS256,
    /// RSASSA-PSS with SHA-256, keys of 2048 bits and more.
    PS256,
    /// Ed25519.
    EdDSA,
    /// HMAC with SHA-256. The secret only ever comes from the caller's
    /// configuration (FranceConnect's client secret for migrating clients).
    HS256,
}

impl Algorithm {
    /// Every algorithm, in a stable order.
    pub const ALL: [Self; 5] = [
        Self::ES256,
        Self::RS256,
        Self::PS256,
        Self::EdDSA,
        Self::HS256,
    ];

    /// The name used in JOSE headers and JWKs.
    pub fn name(self) -> &'static str {
        match self {
            Self::ES256 => "ES256",
            Self::RS256 => "RS256",
            Self::PS256 => "PS256",
            Self::EdDSA => "EdDSA",
            Self::HS256 => "HS256",
        }
    }

    /// Reads a header's `alg`. `none` in any spelling gets its own error.
    pub(crate) fn from_header(name: &str) -> Result<Self, Error> {
        match name {
            "ES256" => Ok(Self::ES256),
            "RS256" => Ok(Self::RS256),
            "PS256" => Ok(Self::PS256),
            "EdDSA" => Ok(Self::EdDSA),
            "HS256" => Ok(Self::HS256),
            n if n.eq_ignore_ascii_case("none") => Err(Error::AlgorithmNone),
            _ => Err(Error::AlgorithmUnsupported),
        }
    }

    /// A bit for [`AlgorithmSet`].
    const fn bit(self) -> u8 {
        1 << self as u8
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    /// Parses an algorithm name exactly as written in JOSE (`ES256`, `EdDSA`...).
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::from_header(s)
    }
}

/// A set of allowed algorithms: the verification policy's allow-list.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct AlgorithmSet(u8);

impl AlgorithmSet {
    /// No algorithm at all.
    pub const EMPTY: Self = Self(0);

    /// The asymmetric algorithms: ES256, RS256, PS256, EdDSA. The default
    /// policy; HS256 must be asked for explicitly.
    pub const ASYMMETRIC: Self = Self(
        Algorithm::ES256.bit()
            | Algorithm::RS256.bit()
            | Algorithm::PS256.bit()
            | Algorithm::EdDSA.bit(),
    );

    /// Whether `alg` is in the set.
    pub fn contains(self, alg: Algorithm) -> bool {
        self.0 & alg.bit() != 0
    }

    /// The set with `alg` added.
    #[must_use]
    pub fn with(self, alg: Algorithm) -> Self {
        Self(self.0 | alg.bit())
    }

    /// The algorithms in the set.
    pub fn iter(self) -> impl Iterator<Item = Algorithm> {
        Algorithm::ALL
            .into_iter()
            .filter(move |a| self.contains(*a))
    }
}

impl FromIterator<Algorithm> for AlgorithmSet {
    fn from_iter<I: IntoIterator<Item = Algorithm>>(iter: I) -> Self {
        iter.into_iter().fold(Self::EMPTY, Self::with)
    }
}

impl fmt::Debug for AlgorithmSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}
