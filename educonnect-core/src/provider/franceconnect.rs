//! FranceConnect v2: the preset, and the identité pivot read from the signed
//! userinfo.

use std::fmt;

use serde_json::{Map, Value};

use super::UserinfoClaim as C;
use super::read;
use super::{ConfigError, IdentityError, Issuer, ProviderEndpoints, ProviderKind, Scopes, Url};
use crate::birthdate::BirthDate;
use crate::ids::{InseeCode, InseeCountryCode};
use crate::jose::Acr;

/// FranceConnect v2 (the "standard" platform, eIDAS level 1).
///
/// Endpoints live under the issuer (`{issuer}/authorize`, `/token`,
/// `/userinfo`, `/jwks`, `/session/end`, and discovery at
/// `/.well-known/openid-configuration`). The ID token and the userinfo are
/// signed JWTs: verify both with [`jose::Validation`](crate::jose::Validation)
/// against the JWKS, `iss` equal to [`Issuer::as_str`], and
/// [`min_acr`](crate::jose::Validation::min_acr) set to
/// [`acr_values`](Self::acr_values).
///
/// Scopes default to the identité pivot ([`PIVOT_SCOPES`](Self::PIVOT_SCOPES)
/// after `openid`), which [`PivotIdentity`] requires in full. The usage name
/// and the email are opt-in; [`with_scopes`](Self::with_scopes) replaces the
/// whole list for a service that reads the claims some other way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FranceConnect {
    endpoints: ProviderEndpoints,
    discovery: Url,
    scopes: Scopes,
    acr_values: Acr,
}

impl FranceConnect {
    /// The integration (sandbox) platform's issuer.
    pub const SANDBOX_ISSUER: &'static str = "https://fcp-low.sbx.dev-franceconnect.fr/api/v2";

    /// The production platform's issuer.
    pub const PRODUCTION_ISSUER: &'static str = "https://oidc.franceconnect.gouv.fr/api/v2";

    /// FranceConnect+'s integration platform issuer.
    pub const PLUS_SANDBOX_ISSUER: &'static str =
        "https://auth.integ01.dev-franceconnect.fr/api/v2";

    /// FranceConnect+'s production issuer.
    pub const PLUS_PRODUCTION_ISSUER: &'static str = "https://auth.franceconnect.gouv.fr/api/v2";

    /// The scopes of the identité pivot, requested by default after `openid`.
    pub const PIVOT_SCOPES: [&'static str; 6] = [
        "given_name",
        "family_name",
        "birthdate",
        "gender",
        "birthplace",
        "birthcountry",
    ];

    /// The integration platform, with its demo identities.
    pub fn sandbox() -> Self {
        Self::custom(Self::SANDBOX_ISSUER).expect("the sandbox issuer is a valid URL")
    }

    /// The production platform.
    pub fn production() -> Self {
        Self::custom(Self::PRODUCTION_ISSUER).expect("the production issuer is a valid URL")
    }

    /// FranceConnect+'s integration platform, asking for `eidas2`. Use it
    /// with [`Provider::franceconnect_plus`](crate::flow::Provider::franceconnect_plus):
    /// its tokens are encrypted.
    pub fn plus_sandbox() -> Self {
        Self::plus_custom(Self::PLUS_SANDBOX_ISSUER).expect("the FC+ sandbox issuer is a valid URL")
    }

    /// FranceConnect+'s production platform, asking for `eidas2`.
    pub fn plus_production() -> Self {
        Self::plus_custom(Self::PLUS_PRODUCTION_ISSUER)
            .expect("the FC+ production issuer is a valid URL")
    }

    /// A FranceConnect+ deployment at another issuer (a local sandbox): the
    /// same endpoints as v2, `acr_values` `eidas2` (raise it with
    /// [`with_acr_values`](Self::with_acr_values)`(Acr::Eidas3)`).
    pub fn plus_custom(issuer: &str) -> Result<Self, ConfigError> {
        Ok(Self::custom(issuer)?.with_acr_values(Acr::Eidas2))
    }

    /// A FranceConnect v2 deployment at another issuer (a local sandbox, a
    /// future platform). The issuer normally ends in `/api/v2`.
    pub fn custom(issuer: &str) -> Result<Self, ConfigError> {
        let issuer = Issuer::parse(issuer)?;
        let endpoints = ProviderEndpoints::new(
            issuer.clone(),
            issuer.endpoint("/authorize")?,
            issuer.endpoint("/token")?,
            issuer.endpoint("/userinfo")?,
        )?
        .with_jwks(issuer.endpoint("/jwks")?)?
        .with_end_session(issuer.endpoint("/session/end")?)?;
        let scopes = Self::PIVOT_SCOPES
            .into_iter()
            .fold(Scopes::openid(), Scopes::with_known);
        Ok(Self {
            discovery: issuer.endpoint("/.well-known/openid-configuration")?,
            endpoints,
            scopes,
            acr_values: Acr::Eidas1,
        })
    }

    /// Also asks for the usage name (`preferred_username`).
    #[must_use]
    pub fn with_usage_name(mut self) -> Self {
        self.scopes = self.scopes.with_known("preferred_username");
        self
    }

    /// Also asks for the email. It may differ between a person's identity
    /// providers: never recognize an account by the email alone.
    #[must_use]
    pub fn with_email(mut self) -> Self {
        self.scopes = self.scopes.with_known("email");
        self
    }

    /// Replaces the scopes. [`PivotIdentity`] needs the six pivot scopes.
    #[must_use]
    pub fn with_scopes(mut self, scopes: Scopes) -> Self {
        self.scopes = scopes;
        self
    }

    /// Replaces the requested eIDAS level (default `eidas1`, the only level of
    /// FranceConnect v2; higher levels are FranceConnect+'s).
    #[must_use]
    pub fn with_acr_values(mut self, acr: Acr) -> Self {
        self.acr_values = acr;
        self
    }

    /// [`ProviderKind::FranceConnect`].
    pub fn kind(&self) -> ProviderKind {
        ProviderKind::FranceConnect
    }

    /// The issuer and endpoints.
    pub fn endpoints(&self) -> &ProviderEndpoints {
        &self.endpoints
    }

    /// The discovery document's URL.
    pub fn discovery_url(&self) -> &Url {
        &self.discovery
    }

    /// The scopes to request.
    pub fn scopes(&self) -> &Scopes {
        &self.scopes
    }

    /// The `acr_values` to request, and the least `acr` to accept in the ID
    /// token.
    pub fn acr_values(&self) -> Acr {
        self.acr_values
    }
}

/// A person's gender as FranceConnect states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gender {
    /// `female`
    Female,
    /// `male`
    Male,
}

impl Gender {
    /// The claim's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Female => "female",
            Self::Male => "male",
        }
    }
}

/// The identité pivot: who a person is according to the civil registry, as
/// FranceConnect vouches for it.
///
/// Read from the verified userinfo by [`from_claims`](Self::from_claims), which
/// checks every rule FranceConnect documents:
///
/// - `sub`: a non-empty string (at most 255 bytes).
/// - `given_name`: first names separated by spaces, split into
///   [`given_names`](Self::given_names). When `given_name_array` is present it
///   must list the same words in the same order, and then it gives the split:
///   a single first name that contains a space stays whole.
/// - `family_name`: the birth name, not blank.
/// - `preferred_username`: the usage name; absent or empty means none.
/// - `birthdate`: `YYYY-MM-DD`, a real calendar day. When `idp_birthdate` is
///   present (`YYYY-MM-00` or `YYYY-00-00` for a presumed date, else the same
///   full date), `birthdate` must be its completed form (`YYYY-MM-01`,
///   `YYYY-01-01`) and it sets the [`precision`](BirthDate::precision).
///   Without it the date is taken as exact.
/// - `gender`: `male` or `female`.
/// - `birthplace`: an INSEE commune code, or the empty string for a person
///   born abroad.
/// - `birthcountry`: an INSEE country code (`99XXX`); `99100` (France)
///   requires a birthplace.
/// - `email`: optional.
///
/// Names are kept as sent, only checked for control characters and size:
/// comparing them with school records is the directory's job, after
/// normalization. `Debug` shows only the start of the `sub`'s SHA-256.
#[derive(Clone, PartialEq, Eq)]
pub struct PivotIdentity {
    sub: String,
    given_names: Vec<String>,
    family_name: String,
    usage_name: Option<String>,
    birthdate: BirthDate,
    gender: Gender,
    birthplace: Option<InseeCode>,
    birthcountry: InseeCountryCode,
    email: Option<String>,
}

impl PivotIdentity {
    /// Reads and checks the identité pivot from FranceConnect's verified
    /// userinfo claims.
    pub fn from_claims(claims: &Map<String, Value>) -> Result<Self, IdentityError> {
        let sub = read::sub(claims)?;
        let given_names = given_names(claims)?;
        let family_name = read::req_text(claims, C::FamilyName)?;
        let usage_name = read::opt_text(claims, C::PreferredUsername)?;
        let birthdate = birthdate(claims)?;
        let gender = match read::req_str(claims, C::Gender)? {
            "female" => Gender::Female,
            "male" => Gender::Male,
            _ => return Err(IdentityError::UnknownGender),
        };
        let birthplace = match read::req_str(claims, C::Birthplace)? {
            "" => None,
            code => Some(InseeCode::parse(code).map_err(|error| IdentityError::Id {
                claim: C::Birthplace,
                error,
            })?),
        };
        let birthcountry = InseeCountryCode::parse(read::req_str(claims, C::Birthcountry)?)
            .map_err(|error| IdentityError::Id {
                claim: C::Birthcountry,
                error,
            })?;
        // A commune code with a country other than France is let through:
        // the reference only ties the empty birthplace to birth abroad, and
        // the codes of overseas collectivities are not settled there.
        if birthplace.is_none() && birthcountry.is_france() {
            return Err(IdentityError::BirthplaceMissingForFrance);
        }
        let email = read::opt_text(claims, C::Email)?;
        Ok(Self {
            sub,
            given_names,
            family_name,
            usage_name,
            birthdate,
            gender,
            birthplace,
            birthcountry,
            email,
        })
    }

    /// FranceConnect's `sub`: pairwise (one per service), stable across the
    /// person's identity providers.
    pub fn sub(&self) -> &str {
        &self.sub
    }

    /// The first names, in order; never empty.
    pub fn given_names(&self) -> &[String] {
        &self.given_names
    }

    /// The birth name (`family_name`).
    pub fn family_name(&self) -> &str {
        &self.family_name
    }

    /// The usage name (`preferred_username`), if the person has one and it
    /// was asked for.
    pub fn usage_name(&self) -> Option<&str> {
        self.usage_name.as_deref()
    }

    /// The birth date, with its precision.
    pub fn birthdate(&self) -> BirthDate {
        self.birthdate
    }

    /// The gender.
    pub fn gender(&self) -> Gender {
        self.gender
    }

    /// The birth commune; `None` for a person born abroad.
    pub fn birthplace(&self) -> Option<InseeCode> {
        self.birthplace
    }

    /// The birth country.
    pub fn birthcountry(&self) -> InseeCountryCode {
        self.birthcountry
    }

    /// Whether the person was born in France (`birthcountry` 99100).
    pub fn born_in_france(&self) -> bool {
        self.birthcountry.is_france()
    }

    /// The email, if asked for. Not an identity proof.
    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }
}

impl fmt::Debug for PivotIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PivotIdentity")
            .field("sub", &super::RedactedSub(&self.sub))
            .finish_non_exhaustive()
    }
}

fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(' ').filter(|w| !w.is_empty())
}

fn given_names(claims: &Map<String, Value>) -> Result<Vec<String>, IdentityError> {
    let given = read::req_text(claims, C::GivenName)?;
    let Some(array) = read::opt_str_list(claims, C::GivenNameArray)? else {
        return Ok(words(&given).map(str::to_owned).collect());
    };
    let mut names = Vec::with_capacity(array.len());
    for name in array {
        let name = read::checked(C::GivenNameArray, name)?;
        if name.trim().is_empty() {
            return Err(IdentityError::Empty(C::GivenNameArray));
        }
        names.push(words(name).collect::<Vec<_>>().join(" "));
    }
    if !names.iter().flat_map(|n| words(n)).eq(words(&given)) {
        return Err(IdentityError::GivenNamesMismatch);
    }
    Ok(names)
}

fn birthdate(claims: &Map<String, Value>) -> Result<BirthDate, IdentityError> {
    let date_error = |claim| move |error| IdentityError::Date { claim, error };
    let completed = BirthDate::parse_iso(read::req_str(claims, C::Birthdate)?)
        .map_err(date_error(C::Birthdate))?;
    let Some(raw) = read::opt_str(claims, C::IdpBirthdate)? else {
        return Ok(completed);
    };
    let raw = BirthDate::parse_raw(raw).map_err(date_error(C::IdpBirthdate))?;
    // A presumed raw date reads with its unknown parts as 1: exactly the
    // completed form FranceConnect puts in `birthdate`.
    let ymd = |d: &BirthDate| (d.year(), d.month(), d.day());
    if ymd(&raw) != ymd(&completed) {
        return Err(IdentityError::BirthDateMismatch);
    }
    Ok(raw)
}
