//! Why a provider's claims do not make an identity, and why a provider
//! configuration is refused.
//!
//! Messages name the claim and the rule, never the value: claims carry names,
//! birth dates and birthplaces, and errors end up in logs.

use std::fmt;

use crate::birthdate::BirthDateError;
use crate::ids::IdError;

/// A userinfo (or ID token) claim, as named in [`IdentityError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum UserinfoClaim {
    /// `sub`
    Sub,
    /// `given_name`
    GivenName,
    /// `given_name_array` (FranceConnect v2)
    GivenNameArray,
    /// `family_name`
    FamilyName,
    /// `preferred_username` (FranceConnect: the usage name)
    PreferredUsername,
    /// `birthdate`
    Birthdate,
    /// `idp_birthdate` (FranceConnect: the raw date, `00` where presumed)
    IdpBirthdate,
    /// `gender`
    Gender,
    /// `birthplace`
    Birthplace,
    /// `birthcountry`
    Birthcountry,
    /// `email`
    Email,
    /// `FrEduCtPersonAffiliation`
    FrEduCtPersonAffiliation,
    /// `FrEduCtId`
    FrEduCtId,
    /// `FrEduCtRefId`
    FrEduCtRefId,
    /// `FrEduCtEleveUAI`
    FrEduCtEleveUai,
    /// `FrEduCtEleveINE`
    FrEduCtEleveIne,
    /// `FrEduCtEleveINEHash`
    FrEduCtEleveIneHash,
    /// `FrEduCtEleveNiveau`
    FrEduCtEleveNiveau,
    /// `FrEduCtDateNaissance`
    FrEduCtDateNaissance,
    /// `FrEduOrigAuth`
    FrEduOrigAuth,
    /// `FrEduVecteur`
    FrEduVecteur,
}

impl UserinfoClaim {
    /// The claim's name in the JSON object.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sub => "sub",
            Self::GivenName => "given_name",
            Self::GivenNameArray => "given_name_array",
            Self::FamilyName => "family_name",
            Self::PreferredUsername => "preferred_username",
            Self::Birthdate => "birthdate",
            Self::IdpBirthdate => "idp_birthdate",
            Self::Gender => "gender",
            Self::Birthplace => "birthplace",
            Self::Birthcountry => "birthcountry",
            Self::Email => "email",
            Self::FrEduCtPersonAffiliation => "FrEduCtPersonAffiliation",
            Self::FrEduCtId => "FrEduCtId",
            Self::FrEduCtRefId => "FrEduCtRefId",
            Self::FrEduCtEleveUai => "FrEduCtEleveUAI",
            Self::FrEduCtEleveIne => "FrEduCtEleveINE",
            Self::FrEduCtEleveIneHash => "FrEduCtEleveINEHash",
            Self::FrEduCtEleveNiveau => "FrEduCtEleveNiveau",
            Self::FrEduCtDateNaissance => "FrEduCtDateNaissance",
            Self::FrEduOrigAuth => "FrEduOrigAuth",
            Self::FrEduVecteur => "FrEduVecteur",
        }
    }
}

impl fmt::Display for UserinfoClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The claims a provider sent do not make a valid identity.
///
/// These come from the provider, after its token or userinfo was verified: a
/// failure here means the provider (or its configuration) sends something this
/// library does not accept as an identity, and no session must be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// A required claim is absent (or `null`).
    #[error("claim {0} is missing")]
    Missing(UserinfoClaim),
    /// A claim has the wrong JSON type (a number for a string, a string for
    /// an array...).
    #[error("claim {0} has the wrong JSON type")]
    WrongType(UserinfoClaim),
    /// A required text claim is empty or blank.
    #[error("claim {0} is empty")]
    Empty(UserinfoClaim),
    /// A text claim is longer than this library accepts.
    #[error("claim {0} is too long")]
    TooLong(UserinfoClaim),
    /// A text claim contains control characters.
    #[error("claim {0} contains control characters")]
    ControlCharacter(UserinfoClaim),
    /// `given_name_array` does not list the same names as `given_name`.
    #[error("given_name_array does not agree with given_name")]
    GivenNamesMismatch,
    /// A date claim is malformed or not a day of the calendar.
    #[error("claim {claim}: {error}")]
    Date {
        /// Which claim.
        claim: UserinfoClaim,
        /// What is wrong with it.
        error: BirthDateError,
    },
    /// `birthdate` is not the completed form of `idp_birthdate`.
    #[error("birthdate does not agree with idp_birthdate")]
    BirthDateMismatch,
    /// `gender` is neither `male` nor `female`.
    #[error("gender is neither \"male\" nor \"female\"")]
    UnknownGender,
    /// An identifier claim (INSEE code, UAI, INE...) is not valid.
    #[error("claim {claim}: {error}")]
    Id {
        /// Which claim.
        claim: UserinfoClaim,
        /// What is wrong with it.
        error: IdError,
    },
    /// `birthcountry` is France (`99100`) but `birthplace` is empty: a person
    /// born in France has a birth commune.
    #[error("born in France (birthcountry 99100) without a birthplace")]
    BirthplaceMissingForFrance,
    /// `FrEduCtEleveINEHash` is not 32 ASCII letters or digits.
    #[error("FrEduCtEleveINEHash is not 32 ASCII letters or digits")]
    IneHashShape,
    /// `FrEduCtPersonAffiliation` is an empty list.
    #[error("FrEduCtPersonAffiliation lists no affiliation")]
    NoAffiliation,
    /// `FrEduCtPersonAffiliation` holds a value other than `eleve1d`,
    /// `eleve2d`, `resp1d`, `resp2d`.
    #[error("FrEduCtPersonAffiliation holds an unknown affiliation")]
    UnknownAffiliation,
    /// `FrEduCtPersonAffiliation` says both pupil and guardian.
    #[error("FrEduCtPersonAffiliation mixes pupil and guardian affiliations")]
    MixedAffiliations,
    /// A `FrEduCtRefId` value starts with `{AAF}` but is not
    /// `{AAF}<academy code>|<x>|<join key>`.
    #[error("a FrEduCtRefId {{AAF}} value is malformed")]
    MalformedAafRefId,
    /// A `FrEduVecteur` value is not
    /// `<profile digit>|<family name>|<given name>|<pupil id>|<UAI>`.
    #[error("a FrEduVecteur value is malformed: {0}")]
    MalformedVector(VectorProblem),
}

/// What is wrong with a `FrEduVecteur` value (never the value itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VectorProblem {
    /// Not five fields separated by `|`.
    #[error("not five fields separated by |")]
    FieldCount,
    /// The first field is not a single ASCII digit.
    #[error("the profile is not one digit")]
    Profile,
    /// The family name is blank, too long or holds control characters.
    #[error("invalid family name")]
    FamilyName,
    /// The given name is blank, too long or holds control characters.
    #[error("invalid given name")]
    GivenName,
    /// The pupil's id in the school system is empty, longer than 64 bytes,
    /// or holds anything but visible ASCII characters.
    #[error("invalid pupil id")]
    PupilId,
    /// The UAI is not a UAI, or its key letter is wrong.
    #[error("{0}")]
    Uai(IdError),
}

/// A provider configuration (issuer, endpoint, scope) is refused. Only ever
/// caused by the service's own configuration, never by untrusted input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Not an absolute URL.
    #[error("not an absolute URL")]
    InvalidUrl,
    /// Neither `https` nor `http` on a loopback host (`localhost`,
    /// `127.0.0.0/8`, `[::1]`), which is only for local development.
    #[error("URL must use https (http only on a loopback host)")]
    InsecureUrl,
    /// An endpoint URL with a `#fragment`.
    #[error("URL must not have a fragment")]
    UrlWithFragment,
    /// An issuer with a `?query` (OpenID Connect Discovery forbids it).
    #[error("issuer must not have a query")]
    IssuerWithQuery,
    /// A scope that is empty or has characters outside RFC 6749's
    /// `scope-token` (space, `"`, `\`, controls, non-ASCII).
    #[error("invalid scope token")]
    InvalidScope,
    /// A client secret used as an HS256 key is shorter than 32 bytes.
    #[error("the client secret is too short to be an HS256 key (32 bytes at least)")]
    InvalidClientSecret,
    /// Encrypted tokens (FranceConnect+) need the aws-lc-rs crypto provider;
    /// this build uses ring, which has neither RSA-OAEP nor static-key ECDH.
    #[error(
        "encrypted tokens (FranceConnect+) need the aws-lc-rs crypto provider; this build uses ring"
    )]
    CryptoProvider,
    /// Encrypted tokens were required with no decryption key.
    #[error("encrypted tokens are required but no decryption key is configured")]
    NoDecryptionKey,
    /// A `private_key_jwt` key that is neither ES256 nor RS256.
    #[error("the client authentication key must be ES256 or RS256")]
    ClientKeyAlgorithm,
    /// FranceConnect+ asked for `eidas1`: its levels are `eidas2` and `eidas3`.
    #[error("FranceConnect+ requires acr_values eidas2 or eidas3")]
    AcrTooLowForPlus,
}
