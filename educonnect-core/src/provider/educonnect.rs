//! EduConnect's OpenID Connect endpoint: the preset, and the guardian or
//! pupil identity read from its userinfo.

use std::fmt;

use serde_json::{Map, Value};

use super::UserinfoClaim as C;
use super::read;
use super::{
    ConfigError, IdentityError, Issuer, ProviderEndpoints, ProviderKind, Scopes, Url, VectorProblem,
};
use crate::birthdate::BirthDate;
use crate::ids::{AafId, Ine, Uai};

/// EduConnect, the education ministry's account for parents and pupils.
///
/// Endpoints follow the Shibboleth convention under a base URL:
/// `{base}/profile/oidc/authorize`, `/token` (client credentials in the form
/// body), `/userinfo` (Bearer, plain JSON) and `/logout`. Only the last three
/// are seen in public service code; whether EduConnect publishes a discovery
/// document or a JWKS, and which issuer its ID tokens carry, is not public.
/// So the preset **assumes the issuer is the base URL**; set the real one
/// with [`with_issuer`](Self::with_issuer), the keys' URL with
/// [`with_jwks`](Self::with_jwks) (or configure the keys directly), and a
/// discovery URL with [`with_discovery`](Self::with_discovery) if there is
/// one. [`with_endpoints`](Self::with_endpoints) takes everything explicitly.
///
/// Scopes default to `openid`; services add their own (`ect.scope.cnx`...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EduConnect {
    endpoints: ProviderEndpoints,
    discovery: Option<Url>,
    scopes: Scopes,
}

impl EduConnect {
    /// The production base URL.
    pub const PRODUCTION_BASE: &'static str = "https://educonnect.education.gouv.fr/idp";

    /// The test platform's base URL.
    pub const TEST_BASE: &'static str = "https://pr4.educonnect.phm.education.gouv.fr/idp";

    /// Production.
    pub fn production() -> Self {
        Self::at_base(Self::PRODUCTION_BASE).expect("the production base is a valid URL")
    }

    /// The test platform.
    pub fn test() -> Self {
        Self::at_base(Self::TEST_BASE).expect("the test base is a valid URL")
    }

    /// An EduConnect-like IdP at another base URL (a local sandbox), with the
    /// same endpoint layout; the issuer is assumed to be the base URL.
    pub fn at_base(base: &str) -> Result<Self, ConfigError> {
        let base = Issuer::parse(base)?;
        let endpoints = ProviderEndpoints::new(
            base.clone(),
            base.endpoint("/profile/oidc/authorize")?,
            base.endpoint("/profile/oidc/token")?,
            base.endpoint("/profile/oidc/userinfo")?,
        )?
        .with_end_session(base.endpoint("/profile/oidc/logout")?)?;
        Ok(Self::with_endpoints(endpoints))
    }

    /// EduConnect with every endpoint configured explicitly.
    pub fn with_endpoints(endpoints: ProviderEndpoints) -> Self {
        Self {
            endpoints,
            discovery: None,
            scopes: Scopes::openid(),
        }
    }

    /// Replaces the issuer that ID tokens must carry.
    #[must_use]
    pub fn with_issuer(mut self, issuer: Issuer) -> Self {
        self.endpoints.issuer = issuer;
        self
    }

    /// Sets the URL of the provider's JWKS.
    pub fn with_jwks(mut self, jwks: Url) -> Result<Self, ConfigError> {
        self.endpoints = self.endpoints.with_jwks(jwks)?;
        Ok(self)
    }

    /// Sets the URL of a discovery document, for a service that prefers it to
    /// the preset's endpoints.
    pub fn with_discovery(mut self, discovery: Url) -> Result<Self, ConfigError> {
        super::check_url(&discovery)?;
        self.discovery = Some(discovery);
        Ok(self)
    }

    /// Replaces the scopes.
    #[must_use]
    pub fn with_scopes(mut self, scopes: Scopes) -> Self {
        self.scopes = scopes;
        self
    }

    /// [`ProviderKind::EduConnect`].
    pub fn kind(&self) -> ProviderKind {
        ProviderKind::EduConnect
    }

    /// The issuer and endpoints.
    pub fn endpoints(&self) -> &ProviderEndpoints {
        &self.endpoints
    }

    /// The discovery document's URL, if one was configured.
    pub fn discovery_url(&self) -> Option<&Url> {
        self.discovery.as_ref()
    }

    /// The scopes to request.
    pub fn scopes(&self) -> &Scopes {
        &self.scopes
    }
}

/// Whether an EduConnect account is a pupil's or a legal guardian's.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// A legal guardian (`resp1d`, `resp2d`).
    Guardian,
    /// A pupil (`eleve1d`, `eleve2d`).
    Pupil,
}

/// Primary school (`1d`, premier degré) or secondary (`2d`, second degré).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SchoolLevel {
    /// Primary school (ONDE records).
    Primary,
    /// Secondary school (SIECLE records).
    Secondary,
}

/// One value of `FrEduCtPersonAffiliation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Affiliation {
    /// Guardian or pupil.
    pub profile: Profile,
    /// Primary or secondary.
    pub level: SchoolLevel,
}

impl Affiliation {
    /// Reads `eleve1d`, `eleve2d`, `resp1d` or `resp2d` (exactly).
    pub fn parse(value: &str) -> Option<Self> {
        let (profile, level) = match value {
            "eleve1d" => (Profile::Pupil, SchoolLevel::Primary),
            "eleve2d" => (Profile::Pupil, SchoolLevel::Secondary),
            "resp1d" => (Profile::Guardian, SchoolLevel::Primary),
            "resp2d" => (Profile::Guardian, SchoolLevel::Secondary),
            _ => return None,
        };
        Some(Self { profile, level })
    }

    /// The claim's value.
    pub fn as_str(self) -> &'static str {
        match (self.profile, self.level) {
            (Profile::Pupil, SchoolLevel::Primary) => "eleve1d",
            (Profile::Pupil, SchoolLevel::Secondary) => "eleve2d",
            (Profile::Guardian, SchoolLevel::Primary) => "resp1d",
            (Profile::Guardian, SchoolLevel::Secondary) => "resp2d",
        }
    }
}

/// One value of `FrEduCtRefId`: the person's id in a source system.
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefId {
    /// An AAF identity (`{AAF}...`).
    Aaf(AafId),
    /// Any other source, kept as written.
    Other(String),
}

impl fmt::Debug for RefId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Aaf(id) => f.debug_tuple("Aaf").field(id).finish(),
            Self::Other(_) => f.write_str("Other(..)"),
        }
    }
}

/// One value of `FrEduVecteur`: a child of a guardian (one value per
/// child), or a pupil themself, as the school system knows them:
/// `<profile>|<family name>|<given name>|<pupil id in the school system>|<UAI>`.
///
/// The pupil id is the one the school's own system gives (the SIECLE
/// `ELEVE_ID`, the AAF `ENTEleveStructRattachId`), unique within the school
/// `uai`: together they name one pupil record, whatever the academy.
///
/// The profile is kept as the digit sent. It tells a guardian's vector
/// from a pupil's; the legacy ATEN federation used 1 and 2 for a parent
/// (primary, secondary) and 3 and 4 for a pupil, but EduConnect's values are
/// not published, so this library does not interpret it.
///
/// `Debug` shows the profile digit only: the names are personal data, and
/// so is the pupil id with its school.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EduVector {
    profile: u8,
    family_name: String,
    given_name: String,
    pupil_id: String,
    uai: Uai,
}

impl EduVector {
    /// Longest pupil id accepted, in bytes.
    const MAX_PUPIL_ID_LEN: usize = 64;

    /// Reads one value, strictly: five fields separated by `|`; a profile
    /// of one ASCII digit; family and given names not blank, without
    /// control characters, at most 512 characters (kept as sent); a pupil
    /// id of 1 to 64 visible ASCII characters; a UAI with its key letter
    /// checked. The error names the field, never its value.
    pub fn parse(value: &str) -> Result<Self, VectorProblem> {
        let mut fields = value.split('|');
        let mut next = || fields.next().ok_or(VectorProblem::FieldCount);
        let (profile, family_name, given_name, pupil_id, uai) =
            (next()?, next()?, next()?, next()?, next()?);
        if fields.next().is_some() {
            return Err(VectorProblem::FieldCount);
        }
        let profile = match profile.as_bytes() {
            [d @ b'0'..=b'9'] => d - b'0',
            _ => return Err(VectorProblem::Profile),
        };
        let name = |s: &str, problem| {
            if s.trim().is_empty()
                || s.chars().any(char::is_control)
                || s.chars().nth(read::MAX_TEXT_CHARS).is_some()
            {
                Err(problem)
            } else {
                Ok(s.to_owned())
            }
        };
        let family_name = name(family_name, VectorProblem::FamilyName)?;
        let given_name = name(given_name, VectorProblem::GivenName)?;
        if pupil_id.is_empty()
            || pupil_id.len() > Self::MAX_PUPIL_ID_LEN
            || !pupil_id.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(VectorProblem::PupilId);
        }
        let uai = Uai::parse(uai).map_err(VectorProblem::Uai)?;
        Ok(Self {
            profile,
            family_name,
            given_name,
            pupil_id: pupil_id.to_owned(),
            uai,
        })
    }

    /// The profile digit, as sent (see above: not interpreted).
    pub fn profile_digit(&self) -> u8 {
        self.profile
    }

    /// The pupil's family name, as sent.
    pub fn family_name(&self) -> &str {
        &self.family_name
    }

    /// The pupil's given name, as sent.
    pub fn given_name(&self) -> &str {
        &self.given_name
    }

    /// The pupil's id in the school's own system (SIECLE `ELEVE_ID`, AAF
    /// `ENTEleveStructRattachId`), as sent.
    pub fn pupil_id(&self) -> &str {
        &self.pupil_id
    }

    /// The pupil's school.
    pub fn uai(&self) -> Uai {
        self.uai
    }
}

impl fmt::Debug for EduVector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EduVector")
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

/// How the person authenticated to EduConnect (`FrEduOrigAuth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuthOrigin {
    /// `ECT`: with an EduConnect login and password.
    EduConnectAccount,
    /// Any other value: through FranceConnect.
    FranceConnect,
}

/// What EduConnect says about a pupil's schooling. Each field is released
/// only if the service's agreement with EduConnect includes it.
///
/// `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct PupilDetails {
    uai: Option<Uai>,
    ine: Option<Ine>,
    ine_hash: Option<String>,
    level: Option<String>,
}

impl PupilDetails {
    /// The school (`FrEduCtEleveUAI`), key letter checked.
    pub fn uai(&self) -> Option<Uai> {
        self.uai
    }

    /// The national pupil id (`FrEduCtEleveINE`), shape checked.
    pub fn ine(&self) -> Option<Ine> {
        self.ine
    }

    /// A hash of the INE (`FrEduCtEleveINEHash`), 32 ASCII letters or digits.
    pub fn ine_hash(&self) -> Option<&str> {
        self.ine_hash.as_deref()
    }

    /// The level code (`FrEduCtEleveNiveau`), as sent: its code list is not
    /// public.
    pub fn level(&self) -> Option<&str> {
        self.level.as_deref()
    }
}

impl fmt::Debug for PupilDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PupilDetails").finish_non_exhaustive()
    }
}

/// A guardian or pupil as EduConnect's userinfo describes them.
///
/// Read by [`from_claims`](Self::from_claims):
///
/// - `sub`: a non-empty string.
/// - `FrEduCtPersonAffiliation`: a JSON array of `eleve1d`, `eleve2d`,
///   `resp1d`, `resp2d`; not empty, no other value, not pupil and guardian at
///   once (a guardian with children in primary and secondary schools has
///   both `resp` values). Duplicates are dropped.
/// - `given_name`, `family_name`: not blank.
/// - `FrEduCtId`: optional.
/// - `FrEduCtRefId`: optional, a string or an array of strings; values
///   starting `{AAF}` must have the documented form ([`AafId::parse`]).
/// - `FrEduCtDateNaissance`: optional, `YYYY-MM-DD`, a real day.
/// - `FrEduOrigAuth`: optional, `ECT` or another value ([`AuthOrigin`]).
/// - for pupils only, all optional: `FrEduCtEleveUAI` (key letter checked),
///   `FrEduCtEleveINE` (shape checked), `FrEduCtEleveINEHash`,
///   `FrEduCtEleveNiveau`. A guardian's userinfo is not read for them.
/// - `FrEduVecteur`: optional, a string or an array of at most 64 strings,
///   each read by [`EduVector::parse`]; a malformed value refuses the
///   identity ([`IdentityError::MalformedVector`]), as a malformed `{AAF}`
///   id does: a provider that sends one is misconfigured, and a child
///   silently dropped would be worse than a refused login. Duplicates are
///   dropped.
///
/// Optional claims that are absent, `null` or `""` read as `None`. EduConnect
/// does not list a guardian's children: the directory does, joined by the
/// [`aaf_ids`](Self::aaf_ids). `Debug` shows the profile, and the `sub`
/// only as the start of its SHA-256.
#[derive(Clone, PartialEq, Eq)]
pub struct EduConnectIdentity {
    sub: String,
    profile: Profile,
    affiliations: Vec<Affiliation>,
    educonnect_id: Option<String>,
    ref_ids: Vec<RefId>,
    given_name: String,
    family_name: String,
    birth_date: Option<BirthDate>,
    auth_origin: Option<AuthOrigin>,
    pupil: Option<PupilDetails>,
    vectors: Vec<EduVector>,
}

impl EduConnectIdentity {
    /// Reads and checks the identity from EduConnect's userinfo claims.
    pub fn from_claims(claims: &Map<String, Value>) -> Result<Self, IdentityError> {
        let sub = read::sub(claims)?;
        let affiliations = affiliations(claims)?;
        let profile = affiliations[0].profile;
        if affiliations.iter().any(|a| a.profile != profile) {
            return Err(IdentityError::MixedAffiliations);
        }
        let given_name = read::req_text(claims, C::GivenName)?;
        let family_name = read::req_text(claims, C::FamilyName)?;
        let educonnect_id = read::opt_text(claims, C::FrEduCtId)?;
        let ref_ids = ref_ids(claims)?;
        let vectors = vectors(claims)?;
        let birth_date = match nonempty(claims, C::FrEduCtDateNaissance)? {
            None => None,
            Some(s) => Some(
                BirthDate::parse_iso(s).map_err(|error| IdentityError::Date {
                    claim: C::FrEduCtDateNaissance,
                    error,
                })?,
            ),
        };
        let auth_origin = nonempty(claims, C::FrEduOrigAuth)?.map(|s| match s {
            "ECT" => AuthOrigin::EduConnectAccount,
            _ => AuthOrigin::FranceConnect,
        });
        let pupil = match profile {
            Profile::Pupil => Some(pupil_details(claims)?),
            Profile::Guardian => None,
        };
        Ok(Self {
            sub,
            profile,
            affiliations,
            educonnect_id,
            ref_ids,
            given_name,
            family_name,
            birth_date,
            auth_origin,
            pupil,
            vectors,
        })
    }

    /// EduConnect's `sub` for this person.
    pub fn sub(&self) -> &str {
        &self.sub
    }

    /// Guardian or pupil.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// Every affiliation, sorted, at least one, all of [`profile`](Self::profile).
    pub fn affiliations(&self) -> &[Affiliation] {
        &self.affiliations
    }

    /// EduConnect's own stable id (`FrEduCtId`), if released.
    pub fn educonnect_id(&self) -> Option<&str> {
        self.educonnect_id.as_deref()
    }

    /// Every `FrEduCtRefId` value, in the order sent, without duplicates.
    pub fn ref_ids(&self) -> &[RefId] {
        &self.ref_ids
    }

    /// The AAF identities among the [`ref_ids`](Self::ref_ids): one per
    /// academy directory the person is known in.
    pub fn aaf_ids(&self) -> impl Iterator<Item = &AafId> {
        self.ref_ids.iter().filter_map(|r| match r {
            RefId::Aaf(id) => Some(id),
            RefId::Other(_) => None,
        })
    }

    /// The first name(s), as sent.
    pub fn given_name(&self) -> &str {
        &self.given_name
    }

    /// The family name, as sent.
    pub fn family_name(&self) -> &str {
        &self.family_name
    }

    /// The birth date (`FrEduCtDateNaissance`), if released.
    pub fn birth_date(&self) -> Option<BirthDate> {
        self.birth_date
    }

    /// How the person authenticated, if released.
    pub fn auth_origin(&self) -> Option<AuthOrigin> {
        self.auth_origin
    }

    /// A pupil's schooling; `None` for a guardian.
    pub fn pupil(&self) -> Option<&PupilDetails> {
        self.pupil.as_ref()
    }

    /// Every `FrEduVecteur` value, in the order sent, without duplicates:
    /// for a guardian one per child, for a pupil their own. Empty when the
    /// claim is not released.
    pub fn vectors(&self) -> &[EduVector] {
        &self.vectors
    }
}

impl fmt::Debug for EduConnectIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EduConnectIdentity")
            .field("sub", &super::RedactedSub(&self.sub))
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

/// An optional string claim where `""` means absent.
fn nonempty(claims: &Map<String, Value>, claim: C) -> Result<Option<&str>, IdentityError> {
    Ok(read::opt_str(claims, claim)?.filter(|s| !s.is_empty()))
}

fn affiliations(claims: &Map<String, Value>) -> Result<Vec<Affiliation>, IdentityError> {
    let claim = C::FrEduCtPersonAffiliation;
    let values = read::opt_str_list(claims, claim)?.ok_or(IdentityError::Missing(claim))?;
    let mut affiliations = values
        .into_iter()
        .map(|v| Affiliation::parse(v).ok_or(IdentityError::UnknownAffiliation))
        .collect::<Result<Vec<_>, _>>()?;
    if affiliations.is_empty() {
        return Err(IdentityError::NoAffiliation);
    }
    affiliations.sort_unstable();
    affiliations.dedup();
    Ok(affiliations)
}

fn ref_ids(claims: &Map<String, Value>) -> Result<Vec<RefId>, IdentityError> {
    let claim = C::FrEduCtRefId;
    // One value may come as a plain string; the reference shows no example.
    let values = match claims.get(claim.name()) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(s)) => vec![s.as_str()],
        Some(_) => read::opt_str_list(claims, claim)?.unwrap_or_default(),
    };
    let mut ids: Vec<RefId> = Vec::with_capacity(values.len());
    for value in values {
        let id = if value.starts_with("{AAF}") {
            RefId::Aaf(AafId::parse(value).map_err(|_| IdentityError::MalformedAafRefId)?)
        } else {
            let value = read::checked(claim, value)?;
            if value.trim().is_empty() {
                return Err(IdentityError::Empty(claim));
            }
            RefId::Other(value.to_owned())
        };
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    Ok(ids)
}

/// The most `FrEduVecteur` values accepted (one per child).
const MAX_VECTORS: usize = 64;

fn vectors(claims: &Map<String, Value>) -> Result<Vec<EduVector>, IdentityError> {
    let claim = C::FrEduVecteur;
    let values = match claims.get(claim.name()) {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::String(s)) if s.is_empty() => return Ok(Vec::new()),
        Some(Value::String(s)) => vec![s.as_str()],
        Some(_) => read::opt_str_list(claims, claim)?.unwrap_or_default(),
    };
    if values.len() > MAX_VECTORS {
        return Err(IdentityError::TooLong(claim));
    }
    let mut vectors: Vec<EduVector> = Vec::with_capacity(values.len());
    for value in values {
        let vector = EduVector::parse(value).map_err(IdentityError::MalformedVector)?;
        if !vectors.contains(&vector) {
            vectors.push(vector);
        }
    }
    Ok(vectors)
}

fn pupil_details(claims: &Map<String, Value>) -> Result<PupilDetails, IdentityError> {
    let uai = nonempty(claims, C::FrEduCtEleveUai)?
        .map(|s| {
            Uai::parse(s).map_err(|error| IdentityError::Id {
                claim: C::FrEduCtEleveUai,
                error,
            })
        })
        .transpose()?;
    let ine = nonempty(claims, C::FrEduCtEleveIne)?
        .map(|s| {
            Ine::parse(s).map_err(|error| IdentityError::Id {
                claim: C::FrEduCtEleveIne,
                error,
            })
        })
        .transpose()?;
    let ine_hash = match nonempty(claims, C::FrEduCtEleveIneHash)? {
        None => None,
        Some(h) if h.len() == 32 && h.bytes().all(|b| b.is_ascii_alphanumeric()) => {
            Some(h.to_owned())
        }
        Some(_) => return Err(IdentityError::IneHashShape),
    };
    let level = read::opt_text(claims, C::FrEduCtEleveNiveau)?;
    Ok(PupilDetails {
        uai,
        ine,
        ine_hash,
        level,
    })
}
