//! The schools' own records: who the pupils are, who is related to them and
//! how. The [`Directory`] trait is how the login flow asks; a
//! [`MemoryDirectory`] answers from an indexed snapshot of an export, a
//! [`CompositeDirectory`] from several sources at once.
//!
//! # Sources and ids
//!
//! Academies and schools keep their own databases, exported as AAF files
//! (one per academy) or SIECLE files (one per secondary school). Every
//! record id carries its [`SourceId`] (`aaf:14`, `siecle:0750654D`), since
//! local ids are unique within one export only. The same human being may
//! appear in several sources, as several records: nothing merges them by
//! name, because homonyms are common. How a family spread over several
//! academies ends up under one guardian is told in [`CompositeDirectory`].
//!
//! # Filling a directory
//!
//! Importers turn an export's records into [`Pupil`], [`RelatedPerson`],
//! [`Link`] and [`School`] values (plain structs with public fields; they are
//! `#[non_exhaustive]`, so code outside this crate starts from `new` and sets
//! the other fields or chains the `with_*` methods) and add them to a
//! [`DirectoryBuilder`] for the export's source. Deltas replace and remove
//! records on a builder made [`from_snapshot`](DirectoryBuilder::from_snapshot);
//! [`build`](DirectoryBuilder::build) indexes everything, and
//! [`MemoryDirectory::replace`] puts the result in service atomically.
//! Relationship codes are read with [`RelationshipCode::from_aaf`] (which
//! tells the legacy AAF codes from the SIECLE ones) or
//! [`RelationshipCode::siecle`], legal ranks with [`LegalRank::from_code`].
//!
//! # What the flow asks
//!
//! - After a FranceConnect login: [`Directory::guardian_candidates`] for a
//!   [`NameQuery`] made from the identité pivot, then
//!   [`Directory::pupils_of_many`] for the candidates, whose children's birth
//!   dates the parent then confirms.
//! - After an EduConnect login: [`Directory::person_by_aaf_join_key`] for
//!   each `{AAF}` id EduConnect sent, then [`Directory::pupils_of_many`].
//! - Later logins: [`Directory::person`] and [`Directory::pupils_of`] for
//!   the links verified before, to refresh the family claims.
//!
//! # Personal data
//!
//! Records hold names, birth dates, phone numbers. Their `Debug` output shows
//! ids only, [`NameQuery`]'s no name, and [`DirectoryError`] never carries a
//! record's content: all can be logged.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::ids::AafId;
use crate::ids::Uai;

mod compact;
mod composite;
pub mod import;
mod memory;
mod model;
pub(crate) mod names;
mod snapshot;

pub use composite::CompositeDirectory;
pub use memory::{Anomaly, DirectoryBuilder, MemoryDirectory};
pub use model::{
    Civility, DirectoryIdError, DirectoryPerson, InvalidLegalCode, LegalRank, Link, LinkedPupil,
    PersonId, Phone, PhoneKind, Pupil, PupilId, RelatedPerson, Relationship, RelationshipCode,
    RelationshipTable, School, SourceId, UnknownRelationshipCode,
};
pub use names::{
    Candidate, FamilyName, GivenNameMatch, NameMatch, NameQuery, family_name_key,
    given_name_tokens, normalize,
};
pub(crate) use snapshot::fix_checksum;
pub use snapshot::{DirectorySnapshot, SnapshotBytes, SnapshotError};

/// Where pupils and the persons related to them are looked up.
///
/// Used as `Arc<dyn Directory>`. Every lookup takes ids or names and returns
/// shared records (`Arc`), so an in-memory implementation answers without
/// copying. Implementations over a network (an LDAP directory, a database)
/// fit the same trait.
///
/// An id from a source the directory does not serve is an error
/// ([`DirectoryError::UnknownSource`]), not an absence: it means a verified
/// link points to a source that is no longer configured, which an operator
/// must hear about.
#[async_trait]
pub trait Directory: Send + Sync + fmt::Debug {
    /// The sources this directory answers for. Fixed for the life of the
    /// directory (a reload replaces records, not sources).
    fn sources(&self) -> Vec<SourceId>;

    /// The related person `id`, if the source holds it.
    async fn person(&self, id: &PersonId) -> Result<Option<Arc<RelatedPerson>>, DirectoryError>;

    /// The pupil `id`, if the source holds it.
    async fn pupil(&self, id: &PupilId) -> Result<Option<Arc<Pupil>>, DirectoryError>;

    /// The pupils the person `id` is related to, each with its link (legal
    /// authority or not: filter on [`Link::has_legal_authority`]). Empty if
    /// the person is unknown or has no link.
    async fn pupils_of(&self, id: &PersonId) -> Result<Vec<LinkedPupil>, DirectoryError>;

    /// The pupils of several persons, in the order of `ids`, each link once:
    /// what the flow asks for a person known under several records (several
    /// `{AAF}` ids, or several candidates confirmed by the challenge), so
    /// that siblings from every source come together.
    async fn pupils_of_many(&self, ids: &[PersonId]) -> Result<Vec<LinkedPupil>, DirectoryError> {
        let mut out: Vec<LinkedPupil> = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            if ids[..i].contains(id) {
                continue;
            }
            out.extend(self.pupils_of(id).await?);
        }
        Ok(out)
    }

    /// The related persons whose names fit `query` (see [`NameQuery`]):
    /// candidates, never a decision. Homonyms all come back; the flow tells
    /// them apart with the confirmation challenge.
    async fn guardian_candidates(
        &self,
        query: &NameQuery,
    ) -> Result<Vec<Candidate>, DirectoryError>;

    /// What the AAF join key (`ENTPersonJointure`) `join_key` names in the
    /// AAF export of `academy` (the academy code as EduConnect writes it in
    /// `{AAF}<academy>|<x>|<join key>`): a related person or a pupil.
    /// `Ok(None)` if this directory serves that academy's source and has no
    /// such key; [`DirectoryError::UnknownSource`] if it does not serve it.
    async fn person_by_aaf_join_key(
        &self,
        academy: &str,
        join_key: &str,
    ) -> Result<Option<DirectoryPerson>, DirectoryError>;

    /// What an EduConnect `{AAF}` id names: see
    /// [`person_by_aaf_join_key`](Self::person_by_aaf_join_key).
    async fn person_by_aaf_id(
        &self,
        id: &AafId,
    ) -> Result<Option<DirectoryPerson>, DirectoryError> {
        self.person_by_aaf_join_key(id.academy(), id.join_key())
            .await
    }

    /// The school `uai`, if a source of this directory describes it.
    async fn school(&self, uai: &Uai) -> Result<Option<School>, DirectoryError>;

    /// The pupil of the school `uai` whose id in the school's own system
    /// ([`Pupil::school_local_id`]: SIECLE `ELEVE_ID`, AAF
    /// `ENTEleveStructRattachId`, the fourth field of EduConnect's
    /// `FrEduVecteur`) is `local_id`, from any source of this directory.
    ///
    /// The default answers `Ok(None)`: a directory without this index
    /// finds no pupil this way. [`DirectorySnapshot`] and
    /// [`MemoryDirectory`] index it (the first pupil by id if a source has
    /// several with the same pair); [`CompositeDirectory`] asks each of its
    /// directories.
    async fn pupil_by_school_local_id(
        &self,
        uai: &Uai,
        local_id: &str,
    ) -> Result<Option<Arc<Pupil>>, DirectoryError> {
        let _ = (uai, local_id);
        Ok(None)
    }

    /// Which export the records of `source` come from now (see
    /// [`DirectorySnapshot::export`]): kept with each link verified against
    /// them, so an operator can tell which data a parent was checked on.
    /// The default answers `None`.
    fn export_of(&self, source: &SourceId) -> Option<Arc<str>> {
        let _ = source;
        None
    }
}

/// A [`Directory`] lookup or a directory update failed.
///
/// Messages never include names or other personal data; they may include
/// source ids, which are not personal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DirectoryError {
    /// An id names a source this directory does not serve (a stale verified
    /// link, a configuration that lost an academy).
    #[error("no directory serves the source {0}")]
    UnknownSource(SourceId),
    /// An academy code that is not 1 to 3 digits.
    #[error("not an academy code")]
    InvalidAcademy,
    /// A record given to a [`DirectoryBuilder`] belongs to another source.
    /// A bug in an importer, never caused by a lookup.
    #[error("a record of source {record} was given to the builder of source {builder}")]
    ForeignRecord {
        /// The builder's source.
        builder: SourceId,
        /// The record's source.
        record: SourceId,
    },
    /// A snapshot of another source was given to a [`MemoryDirectory`] to
    /// replace its own. A bug in the calling service.
    #[error("a snapshot of source {snapshot} cannot replace the directory of source {directory}")]
    SourceMismatch {
        /// The directory's source.
        directory: SourceId,
        /// The snapshot's source.
        snapshot: SourceId,
    },
    /// Two directories given to a [`CompositeDirectory`] serve the same
    /// source: a lookup would not know which to ask.
    #[error("two directories serve the source {0}")]
    DuplicateSource(SourceId),
    /// A builder was given more than it can index (over 4 GiB of local
    /// ids: an export of giant ids). The record is refused, nothing else
    /// is lost.
    #[error("the directory cannot index that many local ids")]
    TooLarge,
    /// The backend could not be reached or answered with an error (a
    /// network directory). The source says why.
    #[error("the directory is unavailable")]
    Unavailable(#[source] Box<dyn StdError + Send + Sync + 'static>),
}
