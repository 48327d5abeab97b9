//! Family claims from what vouches for them: a verified link (FranceConnect)
//! or EduConnect's `{AAF}` ids, each read against the directory as it is
//! now, so that a change of legal authority or a removed record counts at
//! the next login or session refresh.

use super::link::{LinkedRecord, StoredLink};
use super::{Child, FamilyClaims, PupilSelf, Verification};
use crate::directory::{
    Directory, DirectoryError, DirectoryPerson, LinkedPupil, PersonId, PupilId,
};
use crate::provider::{EduConnectIdentity, Profile};

/// A child entry from the directory's link, with the rights of that link
/// alone.
pub(crate) fn child_of(linked: &LinkedPupil, verification: Verification) -> Child {
    Child::new(
        linked.pupil.id.clone(),
        linked.link.relationship,
        linked.link.has_legal_authority(),
        verification,
    )
    .with_ine(linked.pupil.ine)
    .with_uai(linked.pupil.school)
}

/// The family of a verified link, and the link as it should now be stored
/// when the directory no longer backs all of it (`None`: unchanged).
///
/// A record of a source the directory does not serve (an academy removed
/// from the configuration) keeps its pupils in the link, and they are
/// listed as unavailable in the claims, beside the other children.
pub(crate) async fn from_link(
    directory: &dyn Directory,
    provider: &str,
    sub: &str,
    link: &StoredLink,
) -> Result<(FamilyClaims, Option<StoredLink>), DirectoryError> {
    let mut children: Vec<Child> = Vec::new();
    let mut unavailable: Vec<PupilId> = Vec::new();
    let mut kept: Vec<LinkedRecord> = Vec::with_capacity(link.records.len());
    let mut changed = false;
    for record in &link.records {
        let linked = match directory.pupils_of(&record.person).await {
            Ok(linked) => linked,
            Err(DirectoryError::UnknownSource(source)) => {
                tracing::warn!(%source, "a verified link to a source the directory does not serve");
                unavailable.extend(record.pupils.iter().cloned());
                kept.push(record.clone());
                continue;
            }
            Err(e) => return Err(e),
        };
        let mut still = record.clone();
        still
            .pupils
            .retain(|p| linked.iter().any(|l| &l.pupil.id == p));
        if still.pupils.len() != record.pupils.len() {
            changed = true;
        }
        for l in linked.iter().filter(|l| still.pupils.contains(&l.pupil.id)) {
            children.push(child_of(l, record.verification));
        }
        if still.pupils.is_empty() {
            changed = true;
        } else {
            kept.push(still);
        }
    }
    let persons: Vec<PersonId> = kept.iter().map(|r| r.person.clone()).collect();
    let claims =
        FamilyClaims::guardian(provider, sub, persons, children).with_unavailable(unavailable);
    let updated = changed.then(|| StoredLink {
        records: kept,
        revoked: link.revoked.clone(),
    });
    Ok((claims, updated))
}

/// EduConnect vouches for the `{AAF}` ids: a guardian's children come from
/// the directory's records under them; a pupil gets their own ids.
pub(crate) async fn from_educonnect(
    directory: &dyn Directory,
    provider: &str,
    person: &EduConnectIdentity,
) -> Result<FamilyClaims, DirectoryError> {
    let mut related: Vec<PersonId> = Vec::new();
    let mut own_pupil: Option<PupilId> = None;
    for aaf in person.aaf_ids() {
        match directory.person_by_aaf_id(aaf).await {
            Ok(Some(DirectoryPerson::Related(p))) => {
                if !related.contains(&p.id) {
                    related.push(p.id.clone());
                }
            }
            Ok(Some(DirectoryPerson::Pupil(p))) => {
                own_pupil.get_or_insert_with(|| p.id.clone());
            }
            Ok(None) => {}
            // An academy this service does not serve: its children are
            // simply not here.
            Err(DirectoryError::UnknownSource(source)) => {
                tracing::info!(%source, "an {{AAF}} id of a source the directory does not serve");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(match person.profile() {
        Profile::Guardian => {
            let linked = directory.pupils_of_many(&related).await?;
            FamilyClaims::guardian(
                provider,
                person.sub(),
                related,
                linked.iter().map(|l| child_of(l, Verification::EduConnect)),
            )
        }
        Profile::Pupil => {
            let details = person.pupil();
            FamilyClaims::of_pupil(
                provider,
                person.sub(),
                PupilSelf::new(
                    own_pupil,
                    details.and_then(|d| d.ine()),
                    details.and_then(|d| d.uai()),
                ),
            )
        }
    })
}
