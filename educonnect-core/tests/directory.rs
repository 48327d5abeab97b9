//! The `Directory` contract on `MemoryDirectory` and `CompositeDirectory`,
//! through the public API: every lookup, homonyms, usage and birth names,
//! a family across two academies, atomic replacement, deltas, redaction.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll, Waker};

use educonnect_core::BirthDate;
use educonnect_core::directory::{
    Anomaly, CompositeDirectory, Directory, DirectoryBuilder, DirectoryError, DirectoryPerson,
    DirectorySnapshot, FamilyName, GivenNameMatch, LegalRank, Link, MemoryDirectory, NameQuery,
    PersonId, PhoneKind, Pupil, PupilId, RelatedPerson, Relationship, RelationshipCode,
    RelationshipTable, School, SourceId,
};
use educonnect_core::ids::{Ine, Uai};
use educonnect_core::provider::{AafId, PivotIdentity};

/// Runs a directory future; in-memory directories are documented to be
/// ready at once, so no runtime is needed and plain threads can race.
fn ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("an in-memory directory future was not ready on first poll"),
    }
}

fn rennes() -> SourceId {
    SourceId::aaf("14").unwrap()
}

fn versailles() -> SourceId {
    SourceId::aaf("25").unwrap()
}

fn pupil_id(source: &SourceId, local: &str) -> PupilId {
    PupilId::new(source.clone(), local).unwrap()
}

fn person_id(source: &SourceId, local: &str) -> PersonId {
    PersonId::new(source.clone(), local).unwrap()
}

fn uai(s: &str) -> Uai {
    Uai::parse(s).unwrap()
}

fn date(y: u16, m: u8, d: u8) -> BirthDate {
    BirthDate::new(y, m, d).unwrap()
}

/// Rennes: Zoé Lefèvre, her mother (born Martin, uses Lefèvre), her father,
/// her grand-mother Claire Martin (no legal authority); and a homonym of the
/// mother, Anne-Marie Martin, mother of Lucas (legacy AAF code 2).
fn rennes_builder() -> DirectoryBuilder {
    let s = rennes();
    let mut b = DirectoryBuilder::new(s.clone());
    b.add_school(School::new(uai("0350001L"), "Collège Anne de Bretagne"));
    b.add_pupil(
        Pupil::new(pupil_id(&s, "E-ZOE"), "LEFEVRE", ["Zoé", "Louise"])
            .with_ine(Ine::parse("123456789AB").unwrap())
            .with_birth_date(date(2012, 3, 14))
            .with_school(uai("0350001L"))
            .with_level("6EME")
            .with_class("6A"),
    )
    .unwrap();
    b.add_pupil(
        Pupil::new(pupil_id(&s, "E-LUCAS"), "MARTIN", ["Lucas"])
            .with_birth_date(date(2010, 9, 2))
            .with_school(uai("0350002M")),
    )
    .unwrap();
    b.add_person(
        RelatedPerson::new(person_id(&s, "R-MOTHER"), "MARTIN", ["Anne-Marie"])
            .with_usage_name("Lefèvre")
            .with_phone(PhoneKind::Mobile, "0612345678"),
    )
    .unwrap();
    b.add_person(RelatedPerson::new(
        person_id(&s, "R-FATHER"),
        "LEFEVRE",
        ["Paul"],
    ))
    .unwrap();
    b.add_person(RelatedPerson::new(
        person_id(&s, "R-GRANDMA"),
        "MARTIN",
        ["Claire"],
    ))
    .unwrap();
    b.add_person(RelatedPerson::new(
        person_id(&s, "R-HOMONYM"),
        "Martin",
        ["Anne-Marie"],
    ))
    .unwrap();
    b.add_link(
        Link::new(
            pupil_id(&s, "E-ZOE"),
            person_id(&s, "R-MOTHER"),
            Relationship::Mother,
        )
        .with_legal(LegalRank::First)
        .with_financial(true)
        .with_contact(true),
    )
    .unwrap();
    b.add_link(
        Link::new(
            pupil_id(&s, "E-ZOE"),
            person_id(&s, "R-FATHER"),
            Relationship::Father,
        )
        .with_legal(LegalRank::Second)
        .with_payment(true),
    )
    .unwrap();
    b.add_link(Link::new(
        pupil_id(&s, "E-ZOE"),
        person_id(&s, "R-GRANDMA"),
        RelationshipCode::siecle(38).unwrap(),
    ))
    .unwrap();
    b.add_link(
        Link::new(
            pupil_id(&s, "E-LUCAS"),
            person_id(&s, "R-HOMONYM"),
            RelationshipCode::from_aaf(2).unwrap(),
        )
        .with_legal(LegalRank::First),
    )
    .unwrap();
    b
}

/// Versailles: Hugo Lefèvre, Zoé's brother, whose school recorded the mother
/// under her usage name only, with a space for the hyphen.
fn versailles_builder() -> DirectoryBuilder {
    let s = versailles();
    let mut b = DirectoryBuilder::new(s.clone());
    b.add_school(School::new(uai("0780001C"), "Lycée Hoche"));
    b.add_pupil(
        Pupil::new(pupil_id(&s, "E-HUGO"), "LEFEVRE", ["Hugo"])
            .with_birth_date(date(2008, 1, 30))
            .with_school(uai("0780001C")),
    )
    .unwrap();
    b.add_person(RelatedPerson::new(
        person_id(&s, "V-MOTHER"),
        "Lefevre",
        ["ANNE MARIE"],
    ))
    .unwrap();
    b.add_link(
        Link::new(
            pupil_id(&s, "E-HUGO"),
            person_id(&s, "V-MOTHER"),
            RelationshipCode::siecle(10).unwrap(),
        )
        .with_legal(LegalRank::First),
    )
    .unwrap();
    b
}

/// The mother's FranceConnect identity: born Martin, uses Lefèvre.
fn mother_identity() -> PivotIdentity {
    let claims = serde_json::json!({
        "sub": "fc-sub-mother",
        "given_name": "Anne-Marie Claire",
        "given_name_array": ["Anne-Marie", "Claire"],
        "family_name": "MARTIN",
        "preferred_username": "LEFÈVRE",
        "birthdate": "1980-05-17", "gender": "female",
        "birthplace": "35238", "birthcountry": "99100",
    });
    PivotIdentity::from_claims(claims.as_object().unwrap()).unwrap()
}

fn locals(candidates: &[educonnect_core::directory::Candidate]) -> Vec<String> {
    candidates.iter().map(|c| c.person.id.to_string()).collect()
}

#[test]
fn every_lookup_on_one_source() {
    let s = rennes();
    let dir = MemoryDirectory::new(rennes_builder().build());
    assert_eq!(dir.sources(), [rennes()]);

    let mother = ready(dir.person(&person_id(&s, "R-MOTHER")))
        .unwrap()
        .unwrap();
    assert_eq!(mother.given_names, ["Anne-Marie"]);
    assert_eq!(mother.phone(PhoneKind::Mobile), Some("0612345678"));
    assert!(
        ready(dir.person(&person_id(&s, "R-NOBODY")))
            .unwrap()
            .is_none()
    );

    let zoe = ready(dir.pupil(&pupil_id(&s, "E-ZOE"))).unwrap().unwrap();
    assert_eq!(zoe.ine.unwrap().as_str(), "123456789AB");
    assert_eq!(zoe.school, Some(uai("0350001L")));
    assert_eq!(zoe.classes, ["6A"]);
    assert!(zoe.birth_date.unwrap().matches(2012, 3, 14));
    // Pupil and person ids are separate spaces.
    assert!(
        ready(dir.pupil(&pupil_id(&s, "R-MOTHER")))
            .unwrap()
            .is_none()
    );

    let children = ready(dir.pupils_of(&person_id(&s, "R-MOTHER"))).unwrap();
    assert_eq!(children.len(), 1);
    let link = &children[0].link;
    assert_eq!(children[0].pupil.id, pupil_id(&s, "E-ZOE"));
    assert_eq!(link.pupil, pupil_id(&s, "E-ZOE"));
    assert_eq!(link.person, person_id(&s, "R-MOTHER"));
    assert_eq!(link.relationship.relationship(), Relationship::Mother);
    assert_eq!(link.legal, Some(LegalRank::First));
    assert!(link.has_legal_authority() && link.financial && link.contact && !link.payment);

    let grandma = ready(dir.pupils_of(&person_id(&s, "R-GRANDMA"))).unwrap();
    assert_eq!(grandma.len(), 1);
    assert!(!grandma[0].link.has_legal_authority());
    assert_eq!(
        grandma[0].link.relationship.relationship(),
        Relationship::GrandParent
    );
    assert!(
        ready(dir.pupils_of(&person_id(&s, "R-NOBODY")))
            .unwrap()
            .is_empty()
    );

    // The legacy code is kept as read.
    let lucas = ready(dir.pupils_of(&person_id(&s, "R-HOMONYM"))).unwrap();
    assert_eq!(
        lucas[0].link.relationship.table(),
        RelationshipTable::LegacyAaf
    );
    assert_eq!(lucas[0].link.relationship.code(), 2);
    assert_eq!(
        lucas[0].link.relationship.relationship(),
        Relationship::Mother
    );

    let school = ready(dir.school(&uai("0350001L"))).unwrap().unwrap();
    assert_eq!(school.name, "Collège Anne de Bretagne");
    assert!(ready(dir.school(&uai("0350002M"))).unwrap().is_none());

    // AAF join keys name persons and pupils alike.
    match ready(dir.person_by_aaf_join_key("14", "R-FATHER")).unwrap() {
        Some(DirectoryPerson::Related(p)) => assert_eq!(p.id, person_id(&s, "R-FATHER")),
        other => panic!("{other:?}"),
    }
    match ready(dir.person_by_aaf_id(&AafId::parse("{AAF}14|x|E-ZOE").unwrap())).unwrap() {
        Some(DirectoryPerson::Pupil(p)) => assert_eq!(p.id, pupil_id(&s, "E-ZOE")),
        other => panic!("{other:?}"),
    }
    assert!(
        ready(dir.person_by_aaf_join_key("14", "R-NOBODY"))
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        ready(dir.person_by_aaf_join_key("25", "R-FATHER")),
        Err(DirectoryError::UnknownSource(src)) if src == versailles()
    ));
    assert!(matches!(
        ready(dir.person_by_aaf_join_key("x", "R-FATHER")),
        Err(DirectoryError::InvalidAcademy)
    ));

    // Ids of another source are an error, not an absence.
    assert!(matches!(
        ready(dir.person(&person_id(&versailles(), "R-MOTHER"))),
        Err(DirectoryError::UnknownSource(src)) if src == versailles()
    ));
    assert!(matches!(
        ready(dir.pupils_of(&person_id(&versailles(), "R-MOTHER"))),
        Err(DirectoryError::UnknownSource(_))
    ));

    let snapshot = dir.snapshot();
    assert_eq!(
        (
            snapshot.pupil_count(),
            snapshot.person_count(),
            snapshot.link_count(),
            snapshot.school_count()
        ),
        (2, 4, 4, 1)
    );
    assert!(snapshot.anomalies().is_empty());
}

#[test]
fn homonyms_all_come_back_as_candidates() {
    let dir = MemoryDirectory::new(rennes_builder().build());
    // Without the usage name: three MARTIN fit, none is chosen.
    let query = NameQuery::new("Martin", ["Anne-Marie", "Claire"], None);
    let candidates = ready(dir.guardian_candidates(&query)).unwrap();
    assert_eq!(
        locals(&candidates),
        ["aaf:14/R-HOMONYM", "aaf:14/R-MOTHER", "aaf:14/R-GRANDMA"]
    );
    let given: Vec<GivenNameMatch> = candidates.iter().map(|c| c.name_match.given).collect();
    assert_eq!(
        given,
        [
            GivenNameMatch::Prefix,
            GivenNameMatch::Prefix,
            GivenNameMatch::OneOf
        ]
    );
    // Each homonym leads to their own children only.
    let mut children: Vec<String> = candidates
        .iter()
        .flat_map(|c| ready(dir.pupils_of(&c.person.id)).unwrap())
        .map(|l| l.pupil.id.local().to_owned())
        .collect();
    children.sort();
    assert_eq!(children, ["E-LUCAS", "E-ZOE", "E-ZOE"]);

    // Another first name: none.
    let query = NameQuery::new("MARTIN", ["Sophie"], None);
    assert!(ready(dir.guardian_candidates(&query)).unwrap().is_empty());
    // An unsearchable query: none, not everyone.
    let query = NameQuery::new("", ["Claire"], None);
    assert!(ready(dir.guardian_candidates(&query)).unwrap().is_empty());
}

#[test]
fn usage_and_birth_names() {
    let s = rennes();
    let dir = MemoryDirectory::new(rennes_builder().build());
    // FranceConnect with the usage name: the father's record (LEFEVRE Paul)
    // does not fit the mother's first names, the mother's both ways.
    let query = pivot_query(&mother_identity());
    let candidates = ready(dir.guardian_candidates(&query)).unwrap();
    let mother = candidates
        .iter()
        .find(|c| c.person.id == person_id(&s, "R-MOTHER"))
        .unwrap();
    assert_eq!(mother.name_match.record, FamilyName::Birth);
    assert_eq!(mother.name_match.query, FamilyName::Birth);
    assert_eq!(candidates.len(), 3);

    // Searching by the usage name only (a person whose FranceConnect birth
    // name is the school's usage name).
    let query = NameQuery::new("Lefèvre", ["Anne-Marie"], None);
    let candidates = ready(dir.guardian_candidates(&query)).unwrap();
    assert_eq!(locals(&candidates), ["aaf:14/R-MOTHER"]);
    assert_eq!(candidates[0].name_match.record, FamilyName::Usage);
    assert_eq!(candidates[0].name_match.query, FamilyName::Birth);
    assert_eq!(candidates[0].name_match.given, GivenNameMatch::All);

    // A school that holds only the usage name, matched by FranceConnect's
    // preferred_username.
    let v = MemoryDirectory::new(versailles_builder().build());
    let candidates = ready(v.guardian_candidates(&pivot_query(&mother_identity()))).unwrap();
    assert_eq!(locals(&candidates), ["aaf:25/V-MOTHER"]);
    assert_eq!(candidates[0].name_match.record, FamilyName::Birth);
    assert_eq!(candidates[0].name_match.query, FamilyName::Usage);
    assert_eq!(candidates[0].name_match.given, GivenNameMatch::Prefix);
}

#[test]
fn accents_ligatures_and_separators() {
    let s = SourceId::parse("siecle:0750654D").unwrap();
    let mut b = DirectoryBuilder::new(s.clone());
    let names = [
        ("P1", "LŒUILLET", "Zoé"),
        ("P2", "D'ARTAGNAN", "Hélène"),
        ("P3", "LE GOFF", "Maëlys"),
        ("P4", "Lefèvre-Dupont", "Jean-François"),
        ("P5", "Nguyễn", "Thị Ánh"),
    ];
    for (id, family, given) in names {
        b.add_person(RelatedPerson::new(person_id(&s, id), family, [given]))
            .unwrap();
    }
    let dir = MemoryDirectory::new(b.build());
    let find = |family: &str, given: &[&str]| -> Vec<String> {
        let query = NameQuery::new(family, given.iter().copied(), None);
        ready(dir.guardian_candidates(&query))
            .unwrap()
            .iter()
            .map(|c| c.person.id.local().to_owned())
            .collect()
    };
    assert_eq!(find("Loeuillet", &["ZOE"]), ["P1"]);
    assert_eq!(find("lœuillet", &["zoé", "Anne"]), ["P1"]);
    assert_eq!(find("DARTAGNAN", &["HELENE"]), ["P2"]);
    assert_eq!(find("d’Artagnan", &["Helene"]), ["P2"]);
    assert_eq!(find("Legoff", &["Maelys"]), ["P3"]);
    assert_eq!(find("LEFEVRE DUPONT", &["JEAN FRANCOIS", "Marc"]), ["P4"]);
    assert_eq!(find("Lefevre Dupont", &["Jean", "François"]), ["P4"]);
    assert_eq!(find("NGUYEN", &["Thi Anh"]), ["P5"]);
    assert!(find("Lefevre", &["Jean-François"]).is_empty());
    // The first word of a compound given name is a prefix of it...
    assert_eq!(find("Loeuillet", &["Zoe-Lou"]), ["P1"]);
    // ...the second is not.
    assert!(find("Loeuillet", &["Lou-Zoé"]).is_empty());
}

#[test]
fn a_family_across_two_academies_through_a_composite() {
    let r = MemoryDirectory::new(rennes_builder().build());
    let v = MemoryDirectory::new(versailles_builder().build());
    let all = CompositeDirectory::new([
        Arc::new(r) as Arc<dyn Directory>,
        Arc::new(v) as Arc<dyn Directory>,
    ])
    .unwrap();
    assert_eq!(all.sources(), [rennes(), versailles()]);

    // FranceConnect: the mother is a candidate in both academies, with the
    // two homonyms of Rennes; nothing is merged.
    let candidates = ready(all.guardian_candidates(&pivot_query(&mother_identity()))).unwrap();
    assert_eq!(
        locals(&candidates),
        [
            "aaf:14/R-HOMONYM",
            "aaf:14/R-MOTHER",
            "aaf:14/R-GRANDMA",
            "aaf:25/V-MOTHER"
        ]
    );
    // The challenge confirmed the children of these two records: their
    // pupils come together under the one person who logged in.
    let confirmed = [
        person_id(&rennes(), "R-MOTHER"),
        person_id(&versailles(), "V-MOTHER"),
        person_id(&rennes(), "R-MOTHER"),
    ];
    let family = ready(all.pupils_of_many(&confirmed)).unwrap();
    let children: Vec<(String, bool)> = family
        .iter()
        .map(|l| (l.pupil.id.to_string(), l.link.has_legal_authority()))
        .collect();
    assert_eq!(
        children,
        [
            ("aaf:14/E-ZOE".to_owned(), true),
            ("aaf:25/E-HUGO".to_owned(), true)
        ]
    );
    let schools: Vec<Option<Uai>> = family.iter().map(|l| l.pupil.school).collect();
    assert_eq!(schools, [Some(uai("0350001L")), Some(uai("0780001C"))]);

    // EduConnect: one {AAF} id per academy leads to the same two records.
    let mut ids = Vec::new();
    for aaf in ["{AAF}14|x|R-MOTHER", "{AAF}25|x|V-MOTHER"] {
        match ready(all.person_by_aaf_id(&AafId::parse(aaf).unwrap())).unwrap() {
            Some(DirectoryPerson::Related(p)) => ids.push(p.id.clone()),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(ids, confirmed[..2]);
    assert_eq!(ready(all.pupils_of_many(&ids)).unwrap(), family);

    // Lookups by id go to the right academy.
    let hugo = ready(all.pupil(&pupil_id(&versailles(), "E-HUGO"))).unwrap();
    assert_eq!(hugo.unwrap().given_names, ["Hugo"]);
    assert!(
        ready(all.person(&person_id(&versailles(), "R-MOTHER")))
            .unwrap()
            .is_none()
    );
    assert!(
        ready(all.person(&person_id(&rennes(), "R-MOTHER")))
            .unwrap()
            .is_some()
    );
    assert_eq!(
        ready(all.pupils_of(&person_id(&versailles(), "V-MOTHER")))
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        ready(all.school(&uai("0780001C"))).unwrap().unwrap().name,
        "Lycée Hoche"
    );
    assert!(ready(all.school(&uai("0750654D"))).unwrap().is_none());
}

#[test]
fn composite_routing_errors() {
    let r = Arc::new(MemoryDirectory::new(rennes_builder().build()));
    let again = Arc::new(MemoryDirectory::empty(rennes()));
    assert!(matches!(
        CompositeDirectory::new([r.clone() as Arc<dyn Directory>, again]),
        Err(DirectoryError::DuplicateSource(s)) if s == rennes()
    ));
    let all = CompositeDirectory::new([r as Arc<dyn Directory>]).unwrap();
    let lille = SourceId::aaf("9").unwrap();
    assert!(matches!(
        ready(all.person(&person_id(&lille, "X"))),
        Err(DirectoryError::UnknownSource(s)) if s == lille
    ));
    assert!(matches!(
        ready(all.pupils_of_many(&[person_id(&rennes(), "R-MOTHER"), person_id(&lille, "X")])),
        Err(DirectoryError::UnknownSource(_))
    ));
    assert!(matches!(
        ready(all.person_by_aaf_join_key("9", "X")),
        Err(DirectoryError::UnknownSource(_))
    ));
    assert!(matches!(
        ready(all.person_by_aaf_join_key("", "X")),
        Err(DirectoryError::InvalidAcademy)
    ));
}

#[test]
fn composite_asks_a_schools_own_siecle_source_for_it() {
    let paris = uai("0750654D");
    let s = SourceId::siecle(paris);
    let mut b = DirectoryBuilder::new(s.clone());
    b.add_school(School::new(paris, "Lycée Henri-IV"));
    let mut r = rennes_builder();
    // A second description of the same school in another source: the
    // school's own export wins.
    r.add_school(School::new(paris, "HENRI IV (AAF)"));
    let all = CompositeDirectory::new([
        Arc::new(MemoryDirectory::new(r.build())) as Arc<dyn Directory>,
        Arc::new(MemoryDirectory::new(b.build())) as Arc<dyn Directory>,
    ])
    .unwrap();
    assert_eq!(
        ready(all.school(&paris)).unwrap().unwrap().name,
        "Lycée Henri-IV"
    );
}

#[test]
fn replacing_the_snapshot_is_atomic_and_readers_keep_the_old_one() {
    let s = rennes();
    let dir = MemoryDirectory::new(rennes_builder().build());
    let reader = dir.clone();
    let old = reader.snapshot();

    // Version 2: Zoé's father is gone.
    let mut next = DirectoryBuilder::from_snapshot(&old);
    assert!(next.remove_person(&person_id(&s, "R-FATHER")).is_some());
    assert!(
        next.remove_link(&pupil_id(&s, "E-ZOE"), &person_id(&s, "R-FATHER"))
            .is_some()
    );
    let previous = dir.replace(next.build()).unwrap();
    assert!(Arc::ptr_eq(&previous, &old));

    // The old snapshot still answers as before, the handle (and its clones)
    // with the new one.
    assert!(old.person(&person_id(&s, "R-FATHER")).unwrap().is_some());
    assert_eq!(old.pupils_of(&person_id(&s, "R-FATHER")).unwrap().len(), 1);
    assert!(
        ready(reader.person(&person_id(&s, "R-FATHER")))
            .unwrap()
            .is_none()
    );
    assert!(
        ready(reader.pupils_of(&person_id(&s, "R-FATHER")))
            .unwrap()
            .is_empty()
    );
    assert!(reader.snapshot().anomalies().is_empty());

    // A snapshot of another source is refused.
    assert!(matches!(
        dir.replace(DirectorySnapshot::empty(versailles())),
        Err(DirectoryError::SourceMismatch { .. })
    ));
}

#[test]
fn concurrent_readers_see_one_whole_version_or_the_other() {
    let s = rennes();
    // Version A: the father has one child; version B: two.
    let a = rennes_builder();
    let mut b = rennes_builder();
    b.add_pupil(Pupil::new(pupil_id(&s, "E-NEW"), "LEFEVRE", ["Max"]))
        .unwrap();
    b.add_link(Link::new(
        pupil_id(&s, "E-NEW"),
        person_id(&s, "R-FATHER"),
        Relationship::Father,
    ))
    .unwrap();
    let (a, b) = (Arc::new(a.build()), Arc::new(b.build()));
    let dir = MemoryDirectory::new(rennes_builder().build());
    let stop = Arc::new(AtomicBool::new(false));
    let start = Arc::new(Barrier::new(3));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let (dir, stop, start, s) = (dir.clone(), stop.clone(), start.clone(), s.clone());
            std::thread::spawn(move || {
                start.wait();
                let mut seen = [0u32; 2];
                while !stop.load(Ordering::Relaxed) {
                    let snapshot = dir.snapshot();
                    let children = snapshot.pupils_of(&person_id(&s, "R-FATHER")).unwrap();
                    let max = snapshot.pupil(&pupil_id(&s, "E-NEW")).unwrap();
                    // Within one snapshot, the pupil and the link agree.
                    assert_eq!(children.len() == 2, max.is_some());
                    seen[children.len() - 1] += 1;
                }
                seen
            })
        })
        .collect();
    start.wait();
    for i in 0..2000 {
        let next = if i % 2 == 0 { &b } else { &a };
        // Rebuild from the shared versions: a snapshot is moved in.
        dir.replace(DirectoryBuilder::from_snapshot(next).build())
            .unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for reader in readers {
        let seen = reader.join().unwrap();
        assert!(seen.iter().sum::<u32>() > 0);
    }
}

#[test]
fn deltas_and_anomalies() {
    let s = rennes();
    let mut b = rennes_builder();
    // Replacing a record keeps its links.
    let old = b
        .add_person(RelatedPerson::new(
            person_id(&s, "R-FATHER"),
            "LEFEVRE",
            ["Paul", "Henri"],
        ))
        .unwrap();
    assert_eq!(old.unwrap().given_names, ["Paul"]);
    // Replacing a link by its (pupil, person) pair.
    let old = b
        .add_link(
            Link::new(
                pupil_id(&s, "E-ZOE"),
                person_id(&s, "R-GRANDMA"),
                Relationship::Tutor,
            )
            .with_legal(LegalRank::First),
        )
        .unwrap();
    assert_eq!(
        old.unwrap().relationship.relationship(),
        Relationship::GrandParent
    );
    // A link to nobody, a link of no pupil.
    b.add_link(Link::new(
        pupil_id(&s, "E-ZOE"),
        person_id(&s, "R-GHOST"),
        Relationship::Other,
    ))
    .unwrap();
    b.add_link(Link::new(
        pupil_id(&s, "E-GHOST"),
        person_id(&s, "R-MOTHER"),
        Relationship::Mother,
    ))
    .unwrap();
    // Records of another source are refused.
    assert!(matches!(
        b.add_person(RelatedPerson::new(person_id(&versailles(), "X"), "X", ["Y"])),
        Err(DirectoryError::ForeignRecord { builder, record }) if builder == rennes() && record == versailles()
    ));
    assert!(matches!(
        b.add_link(Link::new(
            pupil_id(&s, "E-ZOE"),
            person_id(&versailles(), "V-MOTHER"),
            Relationship::Mother
        )),
        Err(DirectoryError::ForeignRecord { .. })
    ));
    assert_eq!(b.len(), (2, 4, 6));

    let snapshot = b.build();
    let mut anomalies = snapshot.anomalies().to_vec();
    anomalies.sort_by_key(|a| format!("{a:?}"));
    assert_eq!(
        anomalies,
        [
            Anomaly::DanglingLink {
                pupil: pupil_id(&s, "E-GHOST"),
                person: person_id(&s, "R-MOTHER")
            },
            Anomaly::DanglingLink {
                pupil: pupil_id(&s, "E-ZOE"),
                person: person_id(&s, "R-GHOST")
            },
            Anomaly::SameLegalRank {
                pupil: pupil_id(&s, "E-ZOE"),
                rank: LegalRank::First
            },
        ]
    );
    assert_eq!(snapshot.link_count(), 4);
    assert_eq!(
        snapshot
            .person(&person_id(&s, "R-FATHER"))
            .unwrap()
            .unwrap()
            .given_names,
        ["Paul", "Henri"]
    );
    assert_eq!(
        snapshot
            .pupils_of(&person_id(&s, "R-FATHER"))
            .unwrap()
            .len(),
        1
    );

    // A delta on the snapshot: Zoé leaves, with her links.
    let mut delta = DirectoryBuilder::from_snapshot(&snapshot);
    assert_eq!(delta.len(), (2, 4, 4));
    assert!(delta.remove_pupil(&pupil_id(&s, "E-ZOE")).is_some());
    assert!(delta.remove_pupil(&pupil_id(&s, "E-ZOE")).is_none());
    assert!(delta.remove_school(&uai("0350001L")).is_some());
    let next = delta.build();
    assert!(next.anomalies().is_empty());
    assert_eq!(next.link_count(), 1);
    assert!(
        next.pupils_of(&person_id(&s, "R-MOTHER"))
            .unwrap()
            .is_empty()
    );
    assert!(next.school(&uai("0350001L")).is_none());
    // Removing the links of a pupil (a modified record's links rewritten).
    let mut delta = DirectoryBuilder::from_snapshot(&next);
    assert_eq!(
        delta.remove_links_of_pupil(&pupil_id(&s, "E-LUCAS")).len(),
        1
    );
    assert_eq!(delta.build().link_count(), 0);
}

#[test]
fn order_does_not_depend_on_insertion_order() {
    let s = rennes();
    let mut forward = DirectoryBuilder::new(s.clone());
    let mut backward = DirectoryBuilder::new(s.clone());
    let ids: Vec<String> = (0..50).map(|i| format!("P{i:02}")).collect();
    for id in &ids {
        forward
            .add_person(RelatedPerson::new(person_id(&s, id), "Durand", ["Léa"]))
            .unwrap();
    }
    for id in ids.iter().rev() {
        backward
            .add_person(RelatedPerson::new(person_id(&s, id), "DURAND", ["LEA"]))
            .unwrap();
    }
    let query = NameQuery::new("durand", ["lea"], None);
    let f = forward.build().guardian_candidates(&query);
    let b = backward.build().guardian_candidates(&query);
    assert_eq!(f.len(), 50);
    assert_eq!(locals(&f), locals(&b));
    assert_eq!(f[0].person.id.local(), "P00");
    assert_eq!(f[49].person.id.local(), "P49");
}

#[test]
fn debug_output_names_ids_only() {
    let r = MemoryDirectory::new(rennes_builder().build());
    let all = CompositeDirectory::new([Arc::new(r.clone()) as Arc<dyn Directory>]).unwrap();
    let query = pivot_query(&mother_identity());
    let candidates = ready(all.guardian_candidates(&query)).unwrap();
    let children = ready(all.pupils_of(&person_id(&rennes(), "R-MOTHER"))).unwrap();
    let zoe = ready(all.person_by_aaf_join_key("14", "E-ZOE")).unwrap();
    let debug = format!(
        "{r:?} {all:?} {query:?} {candidates:?} {children:?} {zoe:?} {:?}",
        rennes_builder()
    );
    assert!(
        debug.contains("R-MOTHER") && debug.contains("E-ZOE"),
        "{debug}"
    );
    for secret in [
        "MARTIN",
        "Martin",
        "LEFEVRE",
        "Lef",
        "Anne",
        "Zoé",
        "Zo",
        "Claire",
        "0612345678",
        "2012",
        "123456789AB",
        "6A",
    ] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
}

#[test]
fn pupils_of_many_deduplicates_and_keeps_order() {
    let s = rennes();
    let dir = MemoryDirectory::new(rennes_builder().build());
    let family = ready(dir.pupils_of_many(&[
        person_id(&s, "R-FATHER"),
        person_id(&s, "R-MOTHER"),
        person_id(&s, "R-FATHER"),
        person_id(&s, "R-NOBODY"),
    ]))
    .unwrap();
    let links: Vec<(String, String)> = family
        .iter()
        .map(|l| {
            (
                l.link.person.local().to_owned(),
                l.pupil.id.local().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        links,
        [
            ("R-FATHER".to_owned(), "E-ZOE".to_owned()),
            ("R-MOTHER".to_owned(), "E-ZOE".to_owned())
        ]
    );
    assert_eq!(family[1].link.legal, Some(LegalRank::First));
    assert_eq!(family[0].link.legal, Some(LegalRank::Second));
}

/// The query the gateway makes from an identité pivot.
fn pivot_query(pivot: &educonnect_core::provider::PivotIdentity) -> NameQuery {
    NameQuery::new(pivot.family_name(), pivot.given_names(), pivot.usage_name())
}

#[test]
fn a_snapshot_lists_its_pupils_persons_and_schools() {
    let source = rennes();
    let mut builder = DirectoryBuilder::new(source.clone());
    for (local, school) in [("E1", Some("0750654D")), ("E2", None)] {
        let mut pupil = Pupil::new(pupil_id(&source, local), "LEFÈVRE", ["Zoé"]);
        pupil.school = school.map(uai);
        builder.add_pupil(pupil).unwrap();
    }
    builder
        .add_person(RelatedPerson::new(
            person_id(&source, "P1"),
            "LEFÈVRE",
            ["Anne"],
        ))
        .unwrap();
    builder.add_school(School::new(uai("0870003F"), "Collège"));
    let snapshot = builder.build();

    let mut pupils: Vec<(String, Option<Uai>)> = snapshot
        .pupils()
        .map(|p| (p.id.local().to_owned(), p.school))
        .collect();
    pupils.sort();
    assert_eq!(
        pupils,
        [
            ("E1".to_owned(), Some(uai("0750654D"))),
            ("E2".to_owned(), None)
        ]
    );
    assert_eq!(snapshot.pupils().len(), snapshot.pupil_count());
    let persons: Vec<String> = snapshot
        .persons()
        .map(|p| p.id.local().to_owned())
        .collect();
    assert_eq!(persons, ["P1"]);
    let schools: Vec<&str> = snapshot.schools().map(|s| s.name.as_str()).collect();
    assert_eq!(schools, ["Collège"]);
    assert_eq!(DirectorySnapshot::empty(source).pupils().len(), 0);
}
