//! The records a directory holds: pupils, the persons related to them, the
//! links between the two, and schools; and the ids that name them.
//!
//! Records are plain structs with public fields, so that an importer fills
//! them field by field from an export. They are `#[non_exhaustive]`: outside
//! this crate, start from `new` (the fields every source has) and set the
//! others, or chain the `with_*` methods.
//!
//! Ids are namespaced by [`SourceId`]: an AAF `ENTPersonJointure` is unique
//! within its academy's export only, a SIECLE `ELEVE_ID` or `PERSONNE_ID`
//! within one school's export only. Two records from two sources are two
//! records, even when they describe the same human being: nothing here
//! merges them (see [`CompositeDirectory`](super::CompositeDirectory) for
//! how a family spread over several sources is brought together).
//!
//! Records hold personal data: the `Debug` output of [`Pupil`] and
//! [`RelatedPerson`] shows ids only, never names, birth dates, phone numbers
//! or email addresses.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::birthdate::BirthDate;
use crate::ids::{Ine, Uai};

/// Why a value is not a valid directory id. Messages never repeat the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DirectoryIdError {
    /// A source id is not `<kind>:<code>` with a kind of lower-case ASCII
    /// letters, digits and `-`, and a code of 1 to 64 printable ASCII
    /// characters.
    #[error("a source id is <kind>:<code> (lower-case kind, printable ASCII code)")]
    SourceShape,
    /// An academy code is not 1 to 3 ASCII digits.
    #[error("an academy code is 1 to 3 digits")]
    AcademyShape,
    /// A local id is empty, longer than 256 bytes, or holds control
    /// characters.
    #[error("a local id is 1 to 256 bytes without control characters")]
    LocalIdShape,
}

/// Where a record comes from: one export of one system, e.g. `aaf:14` (the
/// AAF export of the academy of Rennes) or `siecle:0750654D` (the SIECLE
/// export of one school).
///
/// Written `<kind>:<code>`. Ids read in a source ([`PupilId`], [`PersonId`])
/// are unique within it only, so every id carries its source. Cloning is
/// cheap (a shared string).
///
/// The academy code of an AAF source is kept as written: `aaf:14` and
/// `aaf:014` are two sources. EduConnect's `{AAF}` ids are matched against it
/// exactly (see [`Directory::person_by_aaf_join_key`](super::Directory::person_by_aaf_join_key)).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SourceId(Arc<str>);

impl SourceId {
    /// The kind of an AAF export's source.
    pub const AAF: &'static str = "aaf";
    /// The kind of a SIECLE export's source.
    pub const SIECLE: &'static str = "siecle";
    /// The kind of an ONDE export's source (primary schools).
    pub const ONDE: &'static str = "onde";

    /// The AAF export of an academy, by its code (1 to 3 digits, e.g. `14`
    /// Rennes, `25` Versailles), as EduConnect writes it in `{AAF}` ids.
    pub fn aaf(academy: &str) -> Result<Self, DirectoryIdError> {
        if !is_academy_code(academy) {
            return Err(DirectoryIdError::AcademyShape);
        }
        Ok(Self(format!("{}:{academy}", Self::AAF).into()))
    }

    /// The SIECLE export of one school.
    pub fn siecle(uai: Uai) -> Self {
        Self(format!("{}:{uai}", Self::SIECLE).into())
    }

    /// Reads `<kind>:<code>`: a kind of lower-case ASCII letters, digits and
    /// `-` (1 to 16 characters), a code of 1 to 64 printable ASCII
    /// characters (no space). An `aaf` source needs an academy code.
    pub fn parse(s: &str) -> Result<Self, DirectoryIdError> {
        let (kind, code) = s.split_once(':').ok_or(DirectoryIdError::SourceShape)?;
        let kind_ok = (1..=16).contains(&kind.len())
            && kind
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        let code_ok = (1..=64).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_graphic());
        if !kind_ok || !code_ok {
            return Err(DirectoryIdError::SourceShape);
        }
        if kind == Self::AAF && !is_academy_code(code) {
            return Err(DirectoryIdError::AcademyShape);
        }
        Ok(Self(s.into()))
    }

    /// The whole id, e.g. `aaf:14`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The kind, e.g. `aaf`.
    pub fn kind(&self) -> &str {
        self.0.split_once(':').map_or("", |(kind, _)| kind)
    }

    /// The code after the kind, e.g. `14`.
    pub fn code(&self) -> &str {
        self.0.split_once(':').map_or("", |(_, code)| code)
    }

    /// The academy code, if this is an AAF source.
    pub fn academy(&self) -> Option<&str> {
        (self.kind() == Self::AAF).then(|| self.code())
    }
}

fn is_academy_code(s: &str) -> bool {
    (1..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

impl TryFrom<String> for SourceId {
    type Error = DirectoryIdError;

    fn try_from(s: String) -> Result<Self, DirectoryIdError> {
        Self::parse(&s)
    }
}

impl From<SourceId> for String {
    fn from(id: SourceId) -> Self {
        id.as_str().to_owned()
    }
}

impl std::str::FromStr for SourceId {
    type Err = DirectoryIdError;

    fn from_str(s: &str) -> Result<Self, DirectoryIdError> {
        Self::parse(s)
    }
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SourceId").field(&&*self.0).finish()
    }
}

pub(crate) fn check_local(local: &str) -> Result<(), DirectoryIdError> {
    if local.is_empty() || local.len() > 256 || local.chars().any(char::is_control) {
        return Err(DirectoryIdError::LocalIdShape);
    }
    Ok(())
}

/// Both record ids: a source and an id local to it, checked on the way in,
/// serialized as `{"source": "aaf:14", "local": "..."}`.
macro_rules! record_id {
    ($(#[$doc:meta])* $name:ident, $raw:ident, $raw_name:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = $raw_name)]
        pub struct $name {
            source: SourceId,
            local: Box<str>,
        }

        impl $name {
            /// An id in `source`: `local` is 1 to 256 bytes without control
            /// characters, kept as written.
            pub fn new(source: SourceId, local: &str) -> Result<Self, DirectoryIdError> {
                check_local(local)?;
                Ok(Self {
                    source,
                    local: local.into(),
                })
            }

            /// An id whose local part was checked before (it comes from
            /// another id of the same kind).
            pub(crate) fn checked(source: SourceId, local: &str) -> Self {
                debug_assert!(check_local(local).is_ok());
                Self {
                    source,
                    local: local.into(),
                }
            }

            /// The source the id belongs to.
            pub fn source(&self) -> &SourceId {
                &self.source
            }

            /// The id within its source, as written in the export.
            pub fn local(&self) -> &str {
                &self.local
            }

            /// The id as one opaque, URL-safe path segment (base64url of the
            /// source and the local id), the same whatever a web framework
            /// decodes; read back with [`from_url_segment`](Self::from_url_segment).
            pub fn to_url_segment(&self) -> String {
                use base64::Engine;
                let joined = format!("{} {}", self.source, self.local);
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(joined)
            }

            /// Reads a segment written by [`to_url_segment`](Self::to_url_segment),
            /// checking the id as [`new`](Self::new) does.
            pub fn from_url_segment(segment: &str) -> Result<Self, DirectoryIdError> {
                use base64::Engine;
                // A source (at most 81 bytes), a space and 256 bytes, in base64.
                if segment.len() > 460 {
                    return Err(DirectoryIdError::LocalIdShape);
                }
                let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(segment)
                    .map_err(|_| DirectoryIdError::LocalIdShape)?;
                let joined = String::from_utf8(bytes).map_err(|_| DirectoryIdError::LocalIdShape)?;
                // Neither a source's kind nor its code holds a space.
                let (source, local) = joined
                    .split_once(' ')
                    .ok_or(DirectoryIdError::SourceShape)?;
                Self::new(SourceId::parse(source)?, local)
            }

            /// The id within its source, without a copy.
            #[allow(dead_code, reason = "not every kind of id needs it")]
            pub(crate) fn into_local(self) -> Box<str> {
                self.local
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({}/{})", stringify!($name), self.source, self.local)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}/{}", self.source, self.local)
            }
        }

        #[derive(Deserialize)]
        struct $raw {
            source: SourceId,
            local: String,
        }

        impl TryFrom<$raw> for $name {
            type Error = DirectoryIdError;

            fn try_from(raw: $raw) -> Result<Self, DirectoryIdError> {
                Self::new(raw.source, &raw.local)
            }
        }
    };
}

record_id!(
    /// A pupil's id: AAF `ENTPersonJointure` of an `Eleve`, SIECLE
    /// `ELEVE_ID`, within its [`SourceId`].
    ///
    /// Distinct from [`PersonId`]: SIECLE numbers pupils and related persons
    /// separately, so the same local id may name one of each.
    PupilId,
    RawPupilId,
    "RawPupilId"
);

record_id!(
    /// A related person's id: AAF `ENTPersonJointure` of a `PersRelEleve`,
    /// SIECLE `PERSONNE_ID`, within its [`SourceId`].
    PersonId,
    RawPersonId,
    "RawPersonId"
);

/// A pupil as a school's records describe them.
///
/// `Debug` shows the id and the school only.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pupil {
    /// The pupil's id in the source.
    pub id: PupilId,
    /// The national id (AAF `ENTEleveINE`, SIECLE `ID_NATIONAL`), when the
    /// export has it.
    pub ine: Option<Ine>,
    /// The birth name (SIECLE `NOM_DE_FAMILLE`, AAF `ENTPersonNomPatro`, or
    /// AAF `sn` when the birth name is missing).
    pub birth_name: String,
    /// The usage name (SIECLE `NOM_USAGE`, AAF `sn` when it differs from the
    /// birth name).
    pub usage_name: Option<String>,
    /// The first names, in order (SIECLE `PRENOM`, `PRENOM2`, `PRENOM3`; AAF
    /// `givenName`).
    pub given_names: Vec<String>,
    /// The birth date (`DATE_NAISS`, `ENTPersonDateNaissance`). A pupil
    /// without one cannot be confirmed by the birth-date challenge.
    pub birth_date: Option<BirthDate>,
    /// The school the pupil is attached to (AAF `ENTPersonStructRattach`,
    /// resolved to a UAI through the export's `EtabEducNat` records, the
    /// school of a SIECLE export).
    pub school: Option<Uai>,
    /// The pupil's id in the school's own system: SIECLE `ELEVE_ID`, AAF
    /// `ENTEleveStructRattachId`, the fourth field of EduConnect's
    /// `FrEduVecteur`. Unique within a school only: with [`school`], it
    /// joins the AAF and SIECLE records of one pupil.
    ///
    /// [`school`]: Self::school
    pub school_local_id: Option<String>,
    /// The level, as the source codes it (SIECLE `CODE_MEF`, EduConnect's
    /// `FrEduCtEleveNiveau`).
    pub level: Option<String>,
    /// Classes and groups (SIECLE `STRUCTURE`; AAF `ENTEleveClasses`, by
    /// the label its structure's `ENTStructureClasses` gives, else by code;
    /// the class name of an ONDE `ENTPersonClasses`).
    pub classes: Vec<String>,
}

impl Pupil {
    /// A pupil with a birth name and first names; the rest unknown.
    pub fn new<I>(id: PupilId, birth_name: impl Into<String>, given_names: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        Self {
            id,
            ine: None,
            birth_name: birth_name.into(),
            usage_name: None,
            given_names: given_names.into_iter().map(Into::into).collect(),
            birth_date: None,
            school: None,
            school_local_id: None,
            level: None,
            classes: Vec::new(),
        }
    }

    /// With a national id.
    pub fn with_ine(mut self, ine: Ine) -> Self {
        self.ine = Some(ine);
        self
    }

    /// With a usage name.
    pub fn with_usage_name(mut self, name: impl Into<String>) -> Self {
        self.usage_name = Some(name.into());
        self
    }

    /// The name to show, e.g. `Noé Dubois`: the first given name and the
    /// usage name if any, else the birth name. Personal data: for the
    /// pupil's family, never for logs.
    pub fn display_name(&self) -> String {
        crate::naming::display_name(
            self.given_names.first().map(String::as_str),
            Some(self.usage_name.as_deref().unwrap_or(&self.birth_name)),
        )
    }

    /// With a birth date.
    pub fn with_birth_date(mut self, date: BirthDate) -> Self {
        self.birth_date = Some(date);
        self
    }

    /// With a school.
    pub fn with_school(mut self, uai: Uai) -> Self {
        self.school = Some(uai);
        self
    }

    /// With the pupil's id in the school's own system (SIECLE `ELEVE_ID`).
    pub fn with_school_local_id(mut self, id: impl Into<String>) -> Self {
        self.school_local_id = Some(id.into());
        self
    }

    /// With a level code.
    pub fn with_level(mut self, level: impl Into<String>) -> Self {
        self.level = Some(level.into());
        self
    }

    /// With one more class or group.
    pub fn with_class(mut self, class: impl Into<String>) -> Self {
        self.classes.push(class.into());
        self
    }
}

impl fmt::Debug for Pupil {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pupil")
            .field("id", &self.id)
            .field("school", &self.school)
            .finish_non_exhaustive()
    }
}

/// A civility (SIECLE `LC_CIVILITE`, AAF `personalTitle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Civility {
    /// `M.`, Monsieur.
    Monsieur,
    /// `Mme`, Madame.
    Madame,
}

impl Civility {
    /// Reads the spellings found in exports: `M.`, `M`, `MR`, `MONSIEUR`,
    /// `Mme`, `MME`, `MADAME` (any case, surrounding spaces ignored). `None`
    /// for anything else (`Mlle` is no longer used and reads as `None` too:
    /// the record keeps no civility rather than a guessed one).
    pub fn from_code(code: &str) -> Option<Self> {
        match code.trim().to_ascii_uppercase().as_str() {
            "M." | "M" | "MR" | "MR." | "MONSIEUR" => Some(Self::Monsieur),
            "MME" | "MME." | "MADAME" => Some(Self::Madame),
            _ => None,
        }
    }
}

/// What a phone number is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PhoneKind {
    /// Mobile (SIECLE `TEL_PORTABLE`, AAF `mobile`).
    Mobile,
    /// The number the school sends text messages to (AAF
    /// `ENTPersonMobileSMS`): the one a one-time code goes to.
    Sms,
    /// Home (SIECLE `TEL_PERSONNEL`, AAF `homePhone`).
    Home,
    /// Work (SIECLE `TEL_PROFESSIONNEL`, AAF `telephoneNumber`).
    Work,
}

/// A phone number as the school recorded it (not normalized).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone {
    /// What the number is for.
    pub kind: PhoneKind,
    /// The number as written in the export.
    pub number: String,
}

impl Phone {
    /// A number of this kind.
    pub fn new(kind: PhoneKind, number: impl Into<String>) -> Self {
        Self {
            kind,
            number: number.into(),
        }
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Phone")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// A person related to one or more pupils: a parent, a tutor, a relative, a
/// child-welfare officer... Whether they are a legal guardian is a property
/// of each [`Link`], not of the person: the same person may hold legal
/// authority over one child and not over another.
///
/// `Debug` shows the id only.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RelatedPerson {
    /// The person's id in the source.
    pub id: PersonId,
    /// The birth name (SIECLE `NOM_DE_FAMILLE`, AAF `ENTPersonNomPatro`, or
    /// AAF `sn` when the birth name is missing). FranceConnect's
    /// `family_name` is the birth name.
    pub birth_name: String,
    /// The usage name (SIECLE `NOM_USAGE`, AAF `sn` when it differs from the
    /// birth name), e.g. a spouse's name.
    pub usage_name: Option<String>,
    /// The first names, in order; schools usually hold the first one only.
    pub given_names: Vec<String>,
    /// The civility.
    pub civility: Option<Civility>,
    /// The birth date, rarely present in exports.
    pub birth_date: Option<BirthDate>,
    /// Phone numbers, as recorded.
    pub phones: Vec<Phone>,
    /// Email address (SIECLE `MEL`, AAF `mail`), as recorded.
    pub email: Option<String>,
}

impl RelatedPerson {
    /// A person with a birth name and first names; the rest unknown.
    pub fn new<I>(id: PersonId, birth_name: impl Into<String>, given_names: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        Self {
            id,
            birth_name: birth_name.into(),
            usage_name: None,
            given_names: given_names.into_iter().map(Into::into).collect(),
            civility: None,
            birth_date: None,
            phones: Vec::new(),
            email: None,
        }
    }

    /// With a usage name.
    pub fn with_usage_name(mut self, name: impl Into<String>) -> Self {
        self.usage_name = Some(name.into());
        self
    }

    /// With a civility.
    pub fn with_civility(mut self, civility: Civility) -> Self {
        self.civility = Some(civility);
        self
    }

    /// With a birth date.
    pub fn with_birth_date(mut self, date: BirthDate) -> Self {
        self.birth_date = Some(date);
        self
    }

    /// With one more phone number.
    pub fn with_phone(mut self, kind: PhoneKind, number: impl Into<String>) -> Self {
        self.phones.push(Phone::new(kind, number));
        self
    }

    /// With an email address.
    pub fn with_email(mut self, email: impl Into<String>) -> Self {
        self.email = Some(email.into());
        self
    }

    /// The first number of this kind, if any.
    pub fn phone(&self, kind: PhoneKind) -> Option<&str> {
        self.phones
            .iter()
            .find(|p| p.kind == kind)
            .map(|p| p.number.as_str())
    }
}

impl fmt::Debug for RelatedPerson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelatedPerson")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// How a person is related to a pupil, from the SIECLE `CODE_PARENTE` table.
/// The legacy AAF codes map onto it (see
/// [`from_legacy_aaf_code`](Self::from_legacy_aaf_code)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Relationship {
    /// 10, mother.
    Mother,
    /// 20, father.
    Father,
    /// 37, brother or sister.
    Sibling,
    /// 38, grand-parent (ascendant).
    GrandParent,
    /// 39, other family member.
    OtherFamily,
    /// 41, educator.
    Educator,
    /// 42, family assistant (assistant familial).
    FamilyAssistant,
    /// 43, child minder (garde d'enfant).
    ChildMinder,
    /// 50, tutor.
    Tutor,
    /// 51, child welfare (aide sociale à l'enfance, ASE).
    ChildWelfare,
    /// 70, the pupil themself (an adult pupil responsible for themself).
    Pupil,
    /// 90, other.
    Other,
}

impl Relationship {
    /// Every relationship, in SIECLE code order.
    pub const ALL: [Self; 12] = [
        Self::Mother,
        Self::Father,
        Self::Sibling,
        Self::GrandParent,
        Self::OtherFamily,
        Self::Educator,
        Self::FamilyAssistant,
        Self::ChildMinder,
        Self::Tutor,
        Self::ChildWelfare,
        Self::Pupil,
        Self::Other,
    ];

    /// Reads a SIECLE `CODE_PARENTE`: 10, 20, 37, 38, 39, 41, 42, 43, 50,
    /// 51, 70, 90. `None` for any other code.
    pub fn from_siecle_code(code: u8) -> Option<Self> {
        Some(match code {
            10 => Self::Mother,
            20 => Self::Father,
            37 => Self::Sibling,
            38 => Self::GrandParent,
            39 => Self::OtherFamily,
            41 => Self::Educator,
            42 => Self::FamilyAssistant,
            43 => Self::ChildMinder,
            50 => Self::Tutor,
            51 => Self::ChildWelfare,
            70 => Self::Pupil,
            90 => Self::Other,
            _ => return None,
        })
    }

    /// Reads a legacy AAF link code: 1 father, 2 mother, 3 tutor, 4 other
    /// family member, 5 social care (read as child welfare, 51), 6 other,
    /// 7 the pupil. `None` for any other code.
    pub fn from_legacy_aaf_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => Self::Father,
            2 => Self::Mother,
            3 => Self::Tutor,
            4 => Self::OtherFamily,
            5 => Self::ChildWelfare,
            6 => Self::Other,
            7 => Self::Pupil,
            _ => return None,
        })
    }

    /// The SIECLE `CODE_PARENTE`.
    pub fn siecle_code(self) -> u8 {
        match self {
            Self::Mother => 10,
            Self::Father => 20,
            Self::Sibling => 37,
            Self::GrandParent => 38,
            Self::OtherFamily => 39,
            Self::Educator => 41,
            Self::FamilyAssistant => 42,
            Self::ChildMinder => 43,
            Self::Tutor => 50,
            Self::ChildWelfare => 51,
            Self::Pupil => 70,
            Self::Other => 90,
        }
    }

    /// Mother or father.
    pub fn is_parent(self) -> bool {
        matches!(self, Self::Mother | Self::Father)
    }
}

/// Which code table a [`RelationshipCode`] was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RelationshipTable {
    /// SIECLE `CODE_PARENTE` (also used by current AAF exports).
    Siecle,
    /// The codes 1 to 7 of older AAF exports.
    LegacyAaf,
}

/// A relationship as the source coded it: the [`Relationship`] and the code
/// it was read from, kept for audit and for writing it back.
///
/// Only known codes are representable: an importer meeting another code
/// reports it rather than guess.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawRelationshipCode")]
pub struct RelationshipCode {
    table: RelationshipTable,
    code: u8,
    #[serde(skip_serializing)]
    relationship: Relationship,
}

#[derive(Deserialize)]
struct RawRelationshipCode {
    table: RelationshipTable,
    code: u8,
}

/// An unknown relationship code. The message names the table, not the code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a known relationship code of the {0:?} table")]
pub struct UnknownRelationshipCode(pub RelationshipTable);

impl TryFrom<RawRelationshipCode> for RelationshipCode {
    type Error = UnknownRelationshipCode;

    fn try_from(raw: RawRelationshipCode) -> Result<Self, UnknownRelationshipCode> {
        Self::new(raw.table, raw.code).ok_or(UnknownRelationshipCode(raw.table))
    }
}

impl RelationshipCode {
    /// A code of `table`, if known there.
    pub fn new(table: RelationshipTable, code: u8) -> Option<Self> {
        let relationship = match table {
            RelationshipTable::Siecle => Relationship::from_siecle_code(code),
            RelationshipTable::LegacyAaf => Relationship::from_legacy_aaf_code(code),
        }?;
        Some(Self {
            table,
            code,
            relationship,
        })
    }

    /// A SIECLE `CODE_PARENTE`, if known.
    pub fn siecle(code: u8) -> Option<Self> {
        Self::new(RelationshipTable::Siecle, code)
    }

    /// A legacy AAF code (1 to 7), if known.
    pub fn legacy_aaf(code: u8) -> Option<Self> {
        Self::new(RelationshipTable::LegacyAaf, code)
    }

    /// The link code of an AAF `ENTElevePersRelEleve` value: 1 to 9 are
    /// legacy codes, the SIECLE table otherwise (the two do not overlap).
    pub fn from_aaf(code: u8) -> Option<Self> {
        if code < 10 {
            Self::legacy_aaf(code)
        } else {
            Self::siecle(code)
        }
    }

    /// The code in the SIECLE table, for a relationship recorded anew.
    pub fn of(relationship: Relationship) -> Self {
        Self {
            table: RelationshipTable::Siecle,
            code: relationship.siecle_code(),
            relationship,
        }
    }

    /// The relationship.
    pub fn relationship(&self) -> Relationship {
        self.relationship
    }

    /// The table the code was read from.
    pub fn table(&self) -> RelationshipTable {
        self.table
    }

    /// The code as read.
    pub fn code(&self) -> u8 {
        self.code
    }
}

impl fmt::Debug for RelationshipCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}({:?} {})", self.relationship, self.table, self.code)
    }
}

impl From<Relationship> for RelationshipCode {
    fn from(relationship: Relationship) -> Self {
        Self::of(relationship)
    }
}

/// Which of a pupil's (at most two) legal guardians: SIECLE `RESP_LEGAL`,
/// the legal field of AAF `ENTElevePersRelEleve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum LegalRank {
    /// `1`: the first legal guardian.
    First,
    /// `2`: the second legal guardian.
    Second,
}

impl LegalRank {
    /// Reads `RESP_LEGAL` (or the legal field of `ENTElevePersRelEleve`):
    /// `1` or `2` are a rank, `0` is no legal authority (`Ok(None)`),
    /// anything else is an error the importer reports.
    pub fn from_code(code: u8) -> Result<Option<Self>, InvalidLegalCode> {
        match code {
            0 => Ok(None),
            1 => Ok(Some(Self::First)),
            2 => Ok(Some(Self::Second)),
            _ => Err(InvalidLegalCode),
        }
    }

    /// `1` or `2`.
    pub fn code(self) -> u8 {
        match self {
            Self::First => 1,
            Self::Second => 2,
        }
    }
}

impl From<LegalRank> for u8 {
    fn from(rank: LegalRank) -> Self {
        rank.code()
    }
}

impl TryFrom<u8> for LegalRank {
    type Error = InvalidLegalCode;

    fn try_from(code: u8) -> Result<Self, InvalidLegalCode> {
        LegalRank::from_code(code)?.ok_or(InvalidLegalCode)
    }
}

/// A legal guardian code other than 0, 1 or 2 (or 0 where a rank is
/// required).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a legal guardian code is 0 (none), 1 or 2")]
pub struct InvalidLegalCode;

/// The link between a pupil and a related person (SIECLE
/// `RESPONSABLE_ELEVE`, one value of AAF `ENTElevePersRelEleve`).
///
/// Holds ids and codes only, no personal data, so it is `Debug` as it is and
/// can travel in a session.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Link {
    /// The pupil.
    pub pupil: PupilId,
    /// The related person.
    pub person: PersonId,
    /// How the person is related to the pupil.
    pub relationship: RelationshipCode,
    /// The legal guardian rank, `None` for a person without legal authority
    /// over this pupil.
    pub legal: Option<LegalRank>,
    /// Financially responsible (`RESP_FINANCIER`).
    pub financial: bool,
    /// To be contacted (`PERS_CONTACT`).
    pub contact: bool,
    /// Pays (`PERS_PAIMENT`).
    pub payment: bool,
}

impl Link {
    /// A link without legal authority, not financial, not a contact, not
    /// paying; set the fields that apply.
    pub fn new(
        pupil: PupilId,
        person: PersonId,
        relationship: impl Into<RelationshipCode>,
    ) -> Self {
        Self {
            pupil,
            person,
            relationship: relationship.into(),
            legal: None,
            financial: false,
            contact: false,
            payment: false,
        }
    }

    /// With legal authority, at this rank.
    pub fn with_legal(mut self, rank: LegalRank) -> Self {
        self.legal = Some(rank);
        self
    }

    /// Financially responsible.
    pub fn with_financial(mut self, financial: bool) -> Self {
        self.financial = financial;
        self
    }

    /// To be contacted.
    pub fn with_contact(mut self, contact: bool) -> Self {
        self.contact = contact;
        self
    }

    /// Paying.
    pub fn with_payment(mut self, payment: bool) -> Self {
        self.payment = payment;
        self
    }

    /// Whether the person holds legal authority over the pupil (legal rank
    /// 1 or 2).
    pub fn has_legal_authority(&self) -> bool {
        self.legal.is_some()
    }
}

/// A school (AAF `EtabEducNat`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct School {
    /// The UAI, its key letter checked.
    pub uai: Uai,
    /// The name (AAF `ENTStructureNomCourant` without its `-ac-<ACADEMY>`
    /// suffix).
    pub name: String,
    /// The structure's id inside its AAF export (`ENTStructureJointure`),
    /// which pupils' `ENTPersonStructRattach` and `ENTEleveClasses` name:
    /// kept so that a delta naming it resolves without the structures'
    /// file.
    pub jointure: Option<String>,
    /// The classes (`ENTStructureClasses`): code and label.
    pub classes: Vec<(String, String)>,
}

impl School {
    /// A school.
    pub fn new(uai: Uai, name: impl Into<String>) -> Self {
        Self {
            uai,
            name: name.into(),
            jointure: None,
            classes: Vec::new(),
        }
    }

    /// With its AAF jointure.
    pub fn with_jointure(mut self, jointure: impl Into<String>) -> Self {
        self.jointure = Some(jointure.into());
        self
    }

    /// With one more class, by code and label.
    pub fn with_class(mut self, code: impl Into<String>, label: impl Into<String>) -> Self {
        self.classes.push((code.into(), label.into()));
        self
    }

    /// The label of the class `code`, if the school gives one.
    pub fn class_label(&self, code: &str) -> Option<&str> {
        self.classes
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, label)| label.as_str())
    }
}

/// What an AAF join key names: a pupil or a related person (the two share
/// one `ENTPersonJointure` space within an academy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirectoryPerson {
    /// A pupil.
    Pupil(Arc<Pupil>),
    /// A related person.
    Related(Arc<RelatedPerson>),
}

/// A pupil with the link that ties them to the person asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedPupil {
    /// The link, with its relationship and legal authority.
    pub link: Link,
    /// The pupil.
    pub pupil: Arc<Pupil>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pupil_is_shown_by_first_given_name_and_name_in_use() {
        let id = PupilId::new(SourceId::aaf("25").unwrap(), "E1").unwrap();
        let pupil = Pupil::new(id.clone(), "DUBOIS", ["Noé", "Jean"]);
        assert_eq!(pupil.display_name(), "Noé DUBOIS");
        assert_eq!(pupil.with_usage_name("MARTIN").display_name(), "Noé MARTIN");
        let nameless = Pupil::new(id, "DUBOIS", Vec::<String>::new());
        assert_eq!(nameless.display_name(), "DUBOIS");
    }

    #[test]
    fn siecle_codes() {
        let table = [
            (10, Relationship::Mother),
            (20, Relationship::Father),
            (37, Relationship::Sibling),
            (38, Relationship::GrandParent),
            (39, Relationship::OtherFamily),
            (41, Relationship::Educator),
            (42, Relationship::FamilyAssistant),
            (43, Relationship::ChildMinder),
            (50, Relationship::Tutor),
            (51, Relationship::ChildWelfare),
            (70, Relationship::Pupil),
            (90, Relationship::Other),
        ];
        for (code, relationship) in table {
            assert_eq!(Relationship::from_siecle_code(code), Some(relationship));
            assert_eq!(relationship.siecle_code(), code);
        }
        assert_eq!(
            Relationship::ALL.map(Relationship::siecle_code),
            table.map(|(c, _)| c)
        );
        let known: Vec<u8> = table.iter().map(|(c, _)| *c).collect();
        for code in (0..=u8::MAX).filter(|c| !known.contains(c)) {
            assert_eq!(Relationship::from_siecle_code(code), None, "{code}");
        }
        assert!(Relationship::Mother.is_parent() && Relationship::Father.is_parent());
        assert!(!Relationship::Tutor.is_parent());
    }

    #[test]
    fn legacy_aaf_codes() {
        let table = [
            (1, Relationship::Father),
            (2, Relationship::Mother),
            (3, Relationship::Tutor),
            (4, Relationship::OtherFamily),
            (5, Relationship::ChildWelfare),
            (6, Relationship::Other),
            (7, Relationship::Pupil),
        ];
        for (code, relationship) in table {
            assert_eq!(Relationship::from_legacy_aaf_code(code), Some(relationship));
        }
        for code in [0, 8, 9, 10, 20, 255] {
            assert_eq!(Relationship::from_legacy_aaf_code(code), None, "{code}");
        }
    }

    #[test]
    fn relationship_codes_keep_their_table_and_code() {
        let legacy_mother = RelationshipCode::from_aaf(2).unwrap();
        assert_eq!(legacy_mother.relationship(), Relationship::Mother);
        assert_eq!(legacy_mother.table(), RelationshipTable::LegacyAaf);
        assert_eq!(legacy_mother.code(), 2);
        let siecle_mother = RelationshipCode::from_aaf(10).unwrap();
        assert_eq!(siecle_mother.relationship(), Relationship::Mother);
        assert_eq!(siecle_mother.table(), RelationshipTable::Siecle);
        assert_eq!(siecle_mother.code(), 10);
        // Same relationship, different provenance.
        assert_ne!(legacy_mother, siecle_mother);
        // 2 is a legacy code only, 10 a SIECLE code only.
        assert_eq!(RelationshipCode::siecle(2), None);
        assert_eq!(RelationshipCode::legacy_aaf(10), None);
        assert_eq!(RelationshipCode::from_aaf(8), None);
        assert_eq!(RelationshipCode::from_aaf(11), None);
        assert_eq!(RelationshipCode::of(Relationship::Tutor).code(), 50);
        assert_eq!(format!("{legacy_mother:?}"), "Mother(LegacyAaf 2)");
    }

    #[test]
    fn relationship_codes_serialize_and_check_on_the_way_back() {
        let code = RelationshipCode::legacy_aaf(5).unwrap();
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, r#"{"table":"legacy_aaf","code":5}"#);
        let back: RelationshipCode = serde_json::from_str(&json).unwrap();
        assert_eq!(back, code);
        assert_eq!(back.relationship(), Relationship::ChildWelfare);
        assert!(
            serde_json::from_str::<RelationshipCode>(r#"{"table":"siecle","code":5}"#).is_err()
        );
        assert_eq!(
            serde_json::to_string(&Relationship::GrandParent).unwrap(),
            r#""grand_parent""#
        );
    }

    #[test]
    fn legal_ranks() {
        assert_eq!(LegalRank::from_code(0), Ok(None));
        assert_eq!(LegalRank::from_code(1), Ok(Some(LegalRank::First)));
        assert_eq!(LegalRank::from_code(2), Ok(Some(LegalRank::Second)));
        assert_eq!(LegalRank::from_code(3), Err(InvalidLegalCode));
        assert_eq!(serde_json::to_string(&LegalRank::Second).unwrap(), "2");
        assert!(serde_json::from_str::<LegalRank>("0").is_err());
        assert!(serde_json::from_str::<LegalRank>("3").is_err());
    }

    #[test]
    fn source_ids() {
        let rennes = SourceId::aaf("14").unwrap();
        assert_eq!(rennes.as_str(), "aaf:14");
        assert_eq!(rennes.kind(), "aaf");
        assert_eq!(rennes.academy(), Some("14"));
        assert_eq!(SourceId::parse("aaf:14").unwrap(), rennes);
        let school = SourceId::siecle(Uai::parse("0750654D").unwrap());
        assert_eq!(school.as_str(), "siecle:0750654D");
        assert_eq!(school.code(), "0750654D");
        assert_eq!(school.academy(), None);
        assert_eq!(SourceId::aaf("1234"), Err(DirectoryIdError::AcademyShape));
        assert_eq!(SourceId::aaf(""), Err(DirectoryIdError::AcademyShape));
        assert_eq!(
            SourceId::parse("aaf:x1"),
            Err(DirectoryIdError::AcademyShape)
        );
        for bad in [
            "", "aaf", ":14", "AAF:14", "aaf 14", "onde:", "onde:a b", "x:é",
        ] {
            assert_eq!(
                SourceId::parse(bad),
                Err(DirectoryIdError::SourceShape),
                "{bad:?}"
            );
        }
        assert_eq!(serde_json::to_string(&rennes).unwrap(), r#""aaf:14""#);
        assert!(serde_json::from_str::<SourceId>(r#""aaf:1x""#).is_err());
    }

    #[test]
    fn record_ids_are_checked_and_namespaced() {
        let rennes = SourceId::aaf("14").unwrap();
        let versailles = SourceId::aaf("25").unwrap();
        let a = PersonId::new(rennes.clone(), "1234").unwrap();
        let b = PersonId::new(versailles, "1234").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.local(), "1234");
        assert_eq!(a.to_string(), "aaf:14/1234");
        assert_eq!(format!("{a:?}"), "PersonId(aaf:14/1234)");
        assert_eq!(
            PersonId::new(rennes.clone(), ""),
            Err(DirectoryIdError::LocalIdShape)
        );
        assert_eq!(
            PupilId::new(rennes.clone(), "a\nb"),
            Err(DirectoryIdError::LocalIdShape)
        );
        assert!(PupilId::new(rennes.clone(), &"x".repeat(257)).is_err());
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, r#"{"source":"aaf:14","local":"1234"}"#);
        assert_eq!(serde_json::from_str::<PersonId>(&json).unwrap(), a);
        assert!(serde_json::from_str::<PersonId>(r#"{"source":"aaf:14","local":""}"#).is_err());
    }

    #[test]
    fn civilities() {
        for code in ["M.", "M", "Mr", "MONSIEUR", " m. "] {
            assert_eq!(
                Civility::from_code(code),
                Some(Civility::Monsieur),
                "{code}"
            );
        }
        for code in ["Mme", "MME", "Madame", "mme."] {
            assert_eq!(Civility::from_code(code), Some(Civility::Madame), "{code}");
        }
        for code in ["", "Mlle", "Dr", "X"] {
            assert_eq!(Civility::from_code(code), None, "{code}");
        }
    }

    #[test]
    fn debug_shows_ids_only() {
        let source = SourceId::aaf("14").unwrap();
        let date = BirthDate::new(2012, 3, 14).unwrap();
        let pupil = Pupil::new(
            PupilId::new(source.clone(), "E1").unwrap(),
            "Lefèvre",
            ["Zoé"],
        )
        .with_usage_name("Dupont")
        .with_ine(Ine::parse("123456789AB").unwrap())
        .with_birth_date(date)
        .with_level("21111010110")
        .with_school_local_id("4242")
        .with_class("6A");
        let person = RelatedPerson::new(PersonId::new(source, "R1").unwrap(), "Lefèvre", ["Anne"])
            .with_usage_name("Dupont")
            .with_civility(Civility::Madame)
            .with_birth_date(date)
            .with_phone(PhoneKind::Mobile, "0612345678")
            .with_phone(PhoneKind::Home, "0298765432")
            .with_email("anne@example.fr");
        let debug = format!("{pupil:?} {person:?} {:?}", person.phones);
        assert!(debug.contains("E1") && debug.contains("R1"), "{debug}");
        for secret in [
            "Lef",
            "Zo",
            "Dup",
            "Anne",
            "anne@",
            "0612345678",
            "0298765432",
            "2012",
            "123456789AB",
            "6A",
            "2111",
            "4242",
        ] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert_eq!(person.phone(PhoneKind::Home), Some("0298765432"));
        assert_eq!(person.phone(PhoneKind::Sms), None);
    }
}
