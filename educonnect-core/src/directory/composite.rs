//! [`CompositeDirectory`]: several sources (academies, schools) behind one
//! [`Directory`].

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use super::model::{
    DirectoryPerson, LinkedPupil, PersonId, Pupil, PupilId, RelatedPerson, School, SourceId,
};
use super::names::{Candidate, NameQuery};
use super::{Directory, DirectoryError};
use crate::ids::Uai;

/// Several directories, each serving its own sources, asked as one.
///
/// Lookups by id go to the directory serving the id's source (a hash
/// lookup), lookups by AAF join key to the one serving `aaf:<academy>`;
/// name searches ask every directory and concatenate the candidates, in the
/// order the directories were given.
///
/// # One guardian, children in several academies
///
/// A parent whose children attend schools in two academies is two records,
/// one in each academy's export, with two [`PersonId`]s. The composite does
/// **not** merge records by name: two records with the same names are as
/// likely to be homonyms as one person. The records come together through
/// what the login proves instead:
///
/// - **EduConnect** sends one `{AAF}` id per academy where it knows the
///   person (`FrEduCtRefId`). The flow resolves each with
///   [`person_by_aaf_id`](Directory::person_by_aaf_id) and asks
///   [`pupils_of_many`](Directory::pupils_of_many) with all the resulting
///   ids: the children of both academies come back together.
/// - **FranceConnect** yields one identity; the name search returns a
///   candidate in each academy (and homonyms). The confirmation challenge
///   asks for the birth dates of the candidates' children; every candidate
///   whose children the parent confirms is the same person, and the flow
///   asks [`pupils_of_many`](Directory::pupils_of_many) with those records'
///   ids. The verified links (FranceConnect `sub` ↔ each record) are then
///   stored, so the next login needs no challenge.
///
/// Either way, one person holds several records, and the family claims list
/// every child once per link.
pub struct CompositeDirectory {
    directories: Vec<Arc<dyn Directory>>,
    by_source: HashMap<SourceId, usize>,
}

impl CompositeDirectory {
    /// A composite over `directories`. Fails with
    /// [`DirectoryError::DuplicateSource`] if two of them serve the same
    /// source.
    pub fn new<I>(directories: I) -> Result<Self, DirectoryError>
    where
        I: IntoIterator<Item = Arc<dyn Directory>>,
    {
        let directories: Vec<Arc<dyn Directory>> = directories.into_iter().collect();
        let mut by_source = HashMap::new();
        for (i, directory) in directories.iter().enumerate() {
            for source in directory.sources() {
                if by_source.insert(source.clone(), i).is_some() {
                    return Err(DirectoryError::DuplicateSource(source));
                }
            }
        }
        Ok(Self {
            directories,
            by_source,
        })
    }

    /// The directories, in the order given.
    pub fn directories(&self) -> &[Arc<dyn Directory>] {
        &self.directories
    }

    /// The directory serving `source`.
    pub fn directory_for(&self, source: &SourceId) -> Result<&Arc<dyn Directory>, DirectoryError> {
        self.by_source
            .get(source)
            .map(|&i| &self.directories[i])
            .ok_or_else(|| DirectoryError::UnknownSource(source.clone()))
    }
}

impl fmt::Debug for CompositeDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompositeDirectory")
            .field("directories", &self.directories)
            .finish()
    }
}

#[async_trait]
impl Directory for CompositeDirectory {
    fn sources(&self) -> Vec<SourceId> {
        let mut sources: Vec<SourceId> = self.by_source.keys().cloned().collect();
        sources.sort();
        sources
    }

    async fn person(&self, id: &PersonId) -> Result<Option<Arc<RelatedPerson>>, DirectoryError> {
        self.directory_for(id.source())?.person(id).await
    }

    async fn pupil(&self, id: &PupilId) -> Result<Option<Arc<Pupil>>, DirectoryError> {
        self.directory_for(id.source())?.pupil(id).await
    }

    async fn pupils_of(&self, id: &PersonId) -> Result<Vec<LinkedPupil>, DirectoryError> {
        self.directory_for(id.source())?.pupils_of(id).await
    }

    async fn pupils_of_many(&self, ids: &[PersonId]) -> Result<Vec<LinkedPupil>, DirectoryError> {
        // Each directory is asked once, with its ids in the caller's order;
        // results come back in the order of each directory's first id.
        let mut batches: Vec<(usize, Vec<PersonId>)> = Vec::new();
        for id in ids {
            let Some(&d) = self.by_source.get(id.source()) else {
                return Err(DirectoryError::UnknownSource(id.source().clone()));
            };
            match batches.iter_mut().find(|(i, _)| *i == d) {
                Some((_, batch)) => batch.push(id.clone()),
                None => batches.push((d, vec![id.clone()])),
            }
        }
        let mut out = Vec::new();
        for (d, batch) in batches {
            out.extend(self.directories[d].pupils_of_many(&batch).await?);
        }
        Ok(out)
    }

    async fn guardian_candidates(
        &self,
        query: &NameQuery,
    ) -> Result<Vec<Candidate>, DirectoryError> {
        let mut out = Vec::new();
        for directory in &self.directories {
            out.extend(directory.guardian_candidates(query).await?);
        }
        Ok(out)
    }

    async fn person_by_aaf_join_key(
        &self,
        academy: &str,
        join_key: &str,
    ) -> Result<Option<DirectoryPerson>, DirectoryError> {
        let source = SourceId::aaf(academy).map_err(|_| DirectoryError::InvalidAcademy)?;
        self.directory_for(&source)?
            .person_by_aaf_join_key(academy, join_key)
            .await
    }

    /// Asks the directory serving the school's SIECLE source first, if any,
    /// then every directory in order: schools are described by the sources
    /// that list them, so this is one question per directory, not a scan of
    /// records.
    async fn school(&self, uai: &Uai) -> Result<Option<School>, DirectoryError> {
        let own = self.by_source.get(&SourceId::siecle(*uai)).copied();
        if let Some(d) = own
            && let Some(school) = self.directories[d].school(uai).await?
        {
            return Ok(Some(school));
        }
        for (d, directory) in self.directories.iter().enumerate() {
            if Some(d) == own {
                continue;
            }
            if let Some(school) = directory.school(uai).await? {
                return Ok(Some(school));
            }
        }
        Ok(None)
    }

    /// Asks every directory in order; the first pupil found answers.
    async fn pupil_by_school_local_id(
        &self,
        uai: &Uai,
        local_id: &str,
    ) -> Result<Option<Arc<Pupil>>, DirectoryError> {
        for directory in &self.directories {
            if let Some(pupil) = directory.pupil_by_school_local_id(uai, local_id).await? {
                return Ok(Some(pupil));
            }
        }
        Ok(None)
    }

    fn export_of(&self, source: &SourceId) -> Option<Arc<str>> {
        self.directory_for(source).ok()?.export_of(source)
    }
}
