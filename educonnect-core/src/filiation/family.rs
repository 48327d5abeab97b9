//! Family claims from what vouches for them: a verified link (FranceConnect)
//! or EduConnect's `{AAF}` ids, each read against the directory as it is
//! now, so that a change of legal authority or a removed record counts at
//! the next login or session refresh.

use super::link::{LinkedRecord, StoredLink};
use super::{Child, FamilyClaims, PupilSelf, Verification};
use crate::directory::{
    Directory, DirectoryError, DirectoryPerson, LinkedPupil, NameQuery, PersonId, Pupil, PupilId,
    family_name_key, normalize,
};
use crate::provider::{EduConnectIdentity, EduVector, Profile};

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
        revoked_at: link.revoked_at.clone(),
    });
    Ok((claims, updated))
}

/// EduConnect vouches for the `{AAF}` ids: a guardian's children come from
/// the directory's records under them; a pupil gets their own ids. A
/// guardian's `FrEduVecteur` values add the children they name that the
/// `{AAF}` ids did not give (see [`linked_by_vectors`]).
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
            let mut linked = directory.pupils_of_many(&related).await?;
            for found in linked_by_vectors(directory, person, &linked).await? {
                if !related.contains(&found.link.person) {
                    related.push(found.link.person.clone());
                }
                linked.push(found);
            }
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

/// The links that `person`'s `FrEduVecteur` values prove and `known` does
/// not hold.
///
/// A vector names a child by school and school-local id (the SIECLE
/// `ELEVE_ID`). EduConnect vouches that the account is this child's
/// guardian; which of the child's related persons the account is, the
/// directory tells by name: the one record linked to the child whose names
/// fit the account's. The link granted is that record's own, with its own
/// rights, so a grandparent's account gets a grandparent's link.
///
/// A vector is left out, never guessed, when no pupil has that school and
/// id (a first-degree export carries none), when the pupil's names differ
/// from the vector's (an id reused for another pupil), or when no record,
/// or more than one, linked to the child fits the account's names (a
/// father and a grandfather of one name: neither is granted through the
/// vector). Left-out vectors are counted in the log, never shown.
async fn linked_by_vectors(
    directory: &dyn Directory,
    person: &EduConnectIdentity,
    known: &[LinkedPupil],
) -> Result<Vec<LinkedPupil>, DirectoryError> {
    let mut found: Vec<LinkedPupil> = Vec::new();
    let mut left_out = 0usize;
    let mut candidates = None;
    for vector in person.vectors() {
        let Some(pupil) = directory
            .pupil_by_school_local_id(&vector.uai(), vector.pupil_id())
            .await?
        else {
            left_out += 1;
            continue;
        };
        if known.iter().chain(&found).any(|l| l.pupil.id == pupil.id) {
            continue;
        }
        if !names_fit(vector, &pupil) {
            left_out += 1;
            continue;
        }
        let candidates = match &candidates {
            Some(c) => c,
            None => {
                let query = NameQuery::new(person.family_name(), [person.given_name()], None);
                candidates.insert(directory.guardian_candidates(&query).await?)
            }
        };
        let mut links: Vec<LinkedPupil> = Vec::new();
        for candidate in candidates {
            links.extend(
                directory
                    .pupils_of(&candidate.person.id)
                    .await?
                    .into_iter()
                    .filter(|l| l.pupil.id == pupil.id),
            );
        }
        match <[LinkedPupil; 1]>::try_from(links) {
            Ok([link]) => found.push(link),
            Err(_) => left_out += 1,
        }
    }
    if left_out > 0 {
        tracing::info!(
            left_out,
            "FrEduVecteur values that name no child of this account in the directory"
        );
    }
    Ok(found)
}

/// Whether the child's names in a vector are the pupil record's: the family
/// name is the birth or usage name, the given name one of the given names,
/// compared normalized (accents, case, punctuation).
fn names_fit(vector: &EduVector, pupil: &Pupil) -> bool {
    let family = family_name_key(vector.family_name());
    let given = normalize(vector.given_name());
    let family_fits = std::iter::once(&pupil.birth_name)
        .chain(&pupil.usage_name)
        .any(|n| family_name_key(n) == family);
    family_fits && !given.is_empty() && pupil.given_names.iter().any(|g| normalize(g) == given)
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::*;
    use crate::directory::{
        DirectoryBuilder, LegalRank, Link, MemoryDirectory, RelatedPerson, Relationship, SourceId,
    };
    use crate::ids::Uai;

    const COLLEGE: &str = "0780422K";

    fn source() -> SourceId {
        SourceId::aaf("25").unwrap()
    }

    fn pupil(local: &str) -> PupilId {
        PupilId::new(source(), local).unwrap()
    }

    fn person(local: &str) -> PersonId {
        PersonId::new(source(), local).unwrap()
    }

    /// Yasmine BENALI (ELEVE_ID 209140) with her father Karim (legal
    /// authority); Léa DUPONT (ELEVE_ID 104587) with her father Jean Marc
    /// and her grandfather Jean Louis, a contact; Noé, whose export carries
    /// no school-local id.
    fn directory() -> MemoryDirectory {
        let uai = Uai::parse(COLLEGE).unwrap();
        let mut b = DirectoryBuilder::new(source());
        for (id, family, given, local) in [
            ("E1", "BENALI", "Yasmine", Some("209140")),
            ("E2", "DUPONT", "Léa", Some("104587")),
            ("E3", "DUBOIS", "Noé", None),
        ] {
            let mut p = Pupil::new(pupil(id), family, [given]).with_school(uai);
            if let Some(local) = local {
                p = p.with_school_local_id(local);
            }
            b.add_pupil(p).unwrap();
        }
        for (id, family, given) in [
            ("P1", "BENALI", &["Karim"][..]),
            ("P2", "DUPONT", &["Jean", "Marc"]),
            ("P3", "DUPONT", &["Jean", "Louis"]),
            ("P4", "DUBOIS", &["Angela"]),
        ] {
            b.add_person(RelatedPerson::new(
                person(id),
                family,
                given.iter().copied(),
            ))
            .unwrap();
        }
        for (p, r, relationship, legal) in [
            ("E1", "P1", Relationship::Father, true),
            ("E2", "P2", Relationship::Father, true),
            ("E2", "P3", Relationship::GrandParent, false),
            ("E3", "P4", Relationship::Mother, true),
        ] {
            let mut link = Link::new(pupil(p), person(r), relationship);
            if legal {
                link = link.with_legal(LegalRank::First);
            }
            b.add_link(link).unwrap();
        }
        MemoryDirectory::new(b.build())
    }

    fn guardian(given: &str, family: &str, refs: &[&str], vectors: &[&str]) -> EduConnectIdentity {
        let mut claims = Map::new();
        claims.insert("sub".into(), json!("ec-sub"));
        claims.insert("FrEduCtPersonAffiliation".into(), json!(["resp2d"]));
        claims.insert("given_name".into(), json!(given));
        claims.insert("family_name".into(), json!(family));
        if !refs.is_empty() {
            claims.insert("FrEduCtRefId".into(), json!(refs));
        }
        claims.insert(
            "FrEduVecteur".into(),
            Value::Array(vectors.iter().map(|v| json!(v)).collect()),
        );
        EduConnectIdentity::from_claims(&claims).unwrap()
    }

    async fn children(identity: &EduConnectIdentity) -> Vec<(String, bool)> {
        let claims = from_educonnect(&directory(), "educonnect", identity)
            .await
            .unwrap();
        claims
            .children()
            .iter()
            .map(|c| (c.pupil().local().to_owned(), c.legal_authority()))
            .collect()
    }

    #[tokio::test]
    async fn a_vector_finds_the_child_and_the_accounts_own_link() {
        let karim = guardian(
            "Karim",
            "Benali",
            &[],
            &["2|BENALI|Yasmine|209140|0780422K"],
        );
        assert_eq!(children(&karim).await, [("E1".to_owned(), true)]);
        let claims = from_educonnect(&directory(), "educonnect", &karim)
            .await
            .unwrap();
        assert_eq!(claims.persons(), [person("P1")]);
        assert_eq!(
            claims.children()[0].verification(),
            Verification::EduConnect
        );
    }

    #[tokio::test]
    async fn a_vector_never_chooses_between_namesakes_linked_to_the_child() {
        // "Jean DUPONT": the father and the grandfather both fit.
        let jean = guardian("Jean", "DUPONT", &[], &["2|DUPONT|Léa|104587|0780422K"]);
        assert_eq!(children(&jean).await, []);
        // The grandfather's full given names fit him alone: his own link,
        // without legal authority.
        let grandfather = guardian(
            "Jean Louis",
            "DUPONT",
            &[],
            &["2|DUPONT|Léa|104587|0780422K"],
        );
        assert_eq!(children(&grandfather).await, [("E2".to_owned(), false)]);
    }

    #[tokio::test]
    async fn a_vector_whose_child_or_account_does_not_fit_grants_nothing() {
        for vector in [
            // The id names another pupil (an ELEVE_ID reused or mistyped).
            "2|BENALI|Inès|209140|0780422K",
            "2|MARTIN|Yasmine|209140|0780422K",
            // No such pupil in that school, or that id in another school.
            "2|BENALI|Yasmine|999999|0780422K",
            "2|BENALI|Yasmine|209140|0350710G",
        ] {
            let karim = guardian("Karim", "BENALI", &[], &[vector]);
            assert_eq!(children(&karim).await, [], "{vector}");
        }
        // The account is no related person of the child.
        let stranger = guardian("Paul", "BENALI", &[], &["2|BENALI|Yasmine|209140|0780422K"]);
        assert_eq!(children(&stranger).await, []);
    }

    #[tokio::test]
    async fn vectors_add_to_the_aaf_ids_without_duplicates() {
        // Angela's {AAF} id gives Noé, whom no vector can find (no
        // school-local id in his export); a vector naming a child the
        // {AAF} ids already gave adds nothing.
        let angela = guardian(
            "Angela",
            "DUBOIS",
            &["{AAF}25||P4"],
            &["1|DUBOIS|Noé|ONDE-1|0780422K"],
        );
        assert_eq!(children(&angela).await, [("E3".to_owned(), true)]);
        let karim = guardian(
            "Karim",
            "BENALI",
            &["{AAF}25||P1"],
            &["2|BENALI|Yasmine|209140|0780422K"],
        );
        assert_eq!(children(&karim).await, [("E1".to_owned(), true)]);
    }
}
