//! Snapshot files: what is written reads back with every lookup equal; a
//! truncated, damaged, foreign or other-version file is refused with a
//! typed error, never a panic; the (UAI, school-local id) index.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use educonnect_core::BirthDate;
use educonnect_core::directory::{
    Anomaly, Civility, CompositeDirectory, Directory, DirectoryBuilder, DirectoryPerson,
    DirectorySnapshot, LegalRank, Link, MemoryDirectory, NameQuery, PersonId, PhoneKind, Pupil,
    PupilId, RelatedPerson, Relationship, RelationshipCode, School, SnapshotError, SourceId,
};
use educonnect_core::ids::{Ine, Uai};

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

fn uai(s: &str) -> Uai {
    Uai::parse(s).unwrap()
}

/// A directory with every kind of field, presumed dates, interned levels
/// and classes, two anomalies, and a few hundred generated families.
fn rich() -> DirectorySnapshot {
    let s = SourceId::aaf("14").unwrap();
    let pupil = |local: &str| PupilId::new(s.clone(), local).unwrap();
    let person = |local: &str| PersonId::new(s.clone(), local).unwrap();
    let mut b = DirectoryBuilder::new(s.clone());
    b.add_school(
        School::new(uai("0350001L"), "Collège Anne de Bretagne")
            .with_jointure("1234")
            .with_class("6A", "6EME A")
            .with_class("5B", "5EME B"),
    );
    b.add_school(School::new(uai("0350002M"), "École Jules Ferry"));
    b.add_pupil(
        Pupil::new(pupil("E-ZOE"), "LEFÈVRE", ["Zoé", "Louise"])
            .with_usage_name("Lefèvre-Martin")
            .with_ine(Ine::parse("123456789AB").unwrap())
            .with_birth_date(BirthDate::new(2012, 3, 14).unwrap())
            .with_school(uai("0350001L"))
            .with_school_local_id("4242")
            .with_level("21111010110")
            .with_class("6EME A")
            .with_class("LATIN"),
    )
    .unwrap();
    b.add_pupil(
        Pupil::new(pupil("E-LUCAS"), "MARTIN", ["Lucas"])
            .with_birth_date(BirthDate::presumed_day(2010, 9).unwrap())
            .with_school(uai("0350002M"))
            .with_school_local_id("7"),
    )
    .unwrap();
    b.add_pupil(
        Pupil::new(pupil("E-NOBODY"), "", Vec::<String>::new())
            .with_birth_date(BirthDate::presumed_month_and_day(2011).unwrap()),
    )
    .unwrap();
    b.add_person(
        RelatedPerson::new(person("R-MOTHER"), "MARTIN", ["Anne-Marie", "Claire"])
            .with_usage_name("Lefèvre")
            .with_civility(Civility::Madame)
            .with_birth_date(BirthDate::new(1980, 5, 17).unwrap())
            .with_phone(PhoneKind::Mobile, "0612345678")
            .with_phone(PhoneKind::Sms, "0612345678")
            .with_phone(PhoneKind::Home, "0299999999")
            .with_phone(PhoneKind::Work, "0288888888")
            .with_email("anne@example.fr"),
    )
    .unwrap();
    b.add_person(
        RelatedPerson::new(person("R-FATHER"), "LEFEVRE", ["Paul"])
            .with_civility(Civility::Monsieur),
    )
    .unwrap();
    b.add_person(RelatedPerson::new(
        person("R-HOMONYM"),
        "Martin",
        ["Anne-Marie"],
    ))
    .unwrap();
    b.add_link(
        Link::new(pupil("E-ZOE"), person("R-MOTHER"), Relationship::Mother)
            .with_legal(LegalRank::First)
            .with_financial(true)
            .with_contact(true),
    )
    .unwrap();
    b.add_link(
        Link::new(pupil("E-ZOE"), person("R-FATHER"), Relationship::Father)
            .with_legal(LegalRank::First)
            .with_payment(true),
    )
    .unwrap();
    b.add_link(Link::new(
        pupil("E-LUCAS"),
        person("R-HOMONYM"),
        RelationshipCode::from_aaf(2).unwrap(),
    ))
    .unwrap();
    // A dangling link: an anomaly kept in the file.
    b.add_link(Link::new(
        pupil("E-LUCAS"),
        person("R-GONE"),
        Relationship::Other,
    ))
    .unwrap();
    for f in 0..300u32 {
        let family = ["DUPONT", "DURAND", "Le Goff", "N'Diaye", "Cœur"][f as usize % 5];
        let given = ["Marie", "Jean-Pierre", "Zoé", "Éloïse"][f as usize % 4];
        let child = pupil(&format!("P{f}"));
        b.add_pupil(
            Pupil::new(child.clone(), family, [given])
                .with_school(uai(if f % 2 == 0 { "0350001L" } else { "0350002M" }))
                .with_school_local_id(format!("{}", 1000 + f / 2))
                .with_level(["6EME", "5EME"][f as usize % 2])
                .with_class(format!("C{}", f % 7)),
        )
        .unwrap();
        let parent = person(&format!("G{f}"));
        b.add_person(RelatedPerson::new(parent.clone(), family, [given, "Marie"]))
            .unwrap();
        b.add_link(Link::new(child, parent, Relationship::Tutor).with_legal(LegalRank::Second))
            .unwrap();
    }
    b.build()
}

fn reopen(snapshot: &DirectorySnapshot) -> DirectorySnapshot {
    let mut file = Vec::new();
    snapshot.write_to(&mut file).unwrap();
    assert_eq!(file, snapshot.as_bytes());
    DirectorySnapshot::from_bytes(file).unwrap()
}

/// Every lookup of `a` answers the same on `b`, and the anomalies are the
/// same.
fn assert_same(a: &DirectorySnapshot, b: &DirectorySnapshot) {
    assert_eq!(a.anomalies(), b.anomalies());
    assert_same_records(a, b);
}

/// Every lookup of `a` answers the same on `b`.
fn assert_same_records(a: &DirectorySnapshot, b: &DirectorySnapshot) {
    assert_eq!(a.source(), b.source());
    assert_eq!(
        (
            a.pupil_count(),
            a.person_count(),
            a.link_count(),
            a.school_count()
        ),
        (
            b.pupil_count(),
            b.person_count(),
            b.link_count(),
            b.school_count()
        )
    );
    let pupils: Vec<Arc<Pupil>> = a.pupils().collect();
    assert_eq!(pupils, b.pupils().collect::<Vec<_>>());
    assert_eq!(
        a.persons().collect::<Vec<_>>(),
        b.persons().collect::<Vec<_>>()
    );
    for school in a.schools() {
        assert_eq!(Some(school), b.school(&school.uai));
    }
    for pupil in &pupils {
        assert_eq!(b.pupil(&pupil.id).unwrap().as_ref(), Some(pupil));
        assert_eq!(
            b.person_by_aaf_join_key("14", pupil.id.local()).unwrap(),
            Some(DirectoryPerson::Pupil(pupil.clone()))
        );
        if let (Some(uai), Some(local)) = (&pupil.school, &pupil.school_local_id) {
            let found = b.pupil_by_school_local_id(uai, local).unwrap();
            assert_eq!(found, a.pupil_by_school_local_id(uai, local).unwrap());
            assert_eq!(
                (found.school, &found.school_local_id),
                (Some(*uai), &Some(local.clone()))
            );
        }
    }
    for person in a.persons() {
        assert_eq!(b.person(&person.id).unwrap().as_ref(), Some(&person));
        assert_eq!(
            a.pupils_of(&person.id).unwrap(),
            b.pupils_of(&person.id).unwrap()
        );
        let query = NameQuery::new(
            &person.birth_name,
            &person.given_names,
            person.usage_name.as_deref(),
        );
        let candidates = b.guardian_candidates(&query);
        assert_eq!(a.guardian_candidates(&query), candidates);
        if !person.given_names.is_empty() && !person.birth_name.is_empty() {
            assert!(candidates.iter().any(|c| c.person.id == person.id));
        }
    }
}

#[test]
fn a_snapshot_written_and_opened_again_answers_every_lookup_the_same() {
    let built = rich();
    assert_eq!(built.anomalies().len(), 2, "{:?}", built.anomalies());
    let opened = reopen(&built);
    assert_same(&built, &opened);
    // The mother's children, links and codes as given.
    let mother = PersonId::new(SourceId::aaf("14").unwrap(), "R-MOTHER").unwrap();
    let children = opened.pupils_of(&mother).unwrap();
    assert_eq!(children.len(), 1);
    let zoe = &children[0];
    assert_eq!(zoe.pupil.classes, ["6EME A", "LATIN"]);
    assert_eq!(zoe.pupil.level.as_deref(), Some("21111010110"));
    assert_eq!(zoe.link.legal, Some(LegalRank::First));
    assert!(zoe.link.financial && zoe.link.contact && !zoe.link.payment);
    let person = opened.person(&mother).unwrap().unwrap();
    assert_eq!(person.phones.len(), 4);
    assert_eq!(person.civility, Some(Civility::Madame));
    // A delta's builder gets everything back, and builds the same (the
    // dangling link was dropped by the first build: no anomaly left).
    let rebuilt = DirectoryBuilder::from_snapshot(&opened).build();
    assert_same_records(&opened, &rebuilt);
    assert_eq!(rebuilt.anomalies().len(), 1);
    // An empty snapshot too.
    let empty = DirectorySnapshot::empty(SourceId::parse("onde:35").unwrap());
    assert_same(&empty, &reopen(&empty));
}

#[test]
fn a_truncated_snapshot_is_refused() {
    let file = rich().as_bytes().to_vec();
    let len = file.len();
    for cut in [1, 7, 8, 11, 12, 40, 300, 331, len / 2, len - 1] {
        let err = DirectorySnapshot::from_bytes(file[..cut].to_vec()).unwrap_err();
        assert!(
            matches!(err, SnapshotError::Truncated { found, .. } if found == cut as u64),
            "{cut}: {err:?}"
        );
    }
    let err = DirectorySnapshot::from_bytes(file[..len - 1].to_vec()).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "the directory snapshot is truncated: {} bytes where {len} were expected",
            len - 1
        )
    );
    let mut longer = file.clone();
    longer.push(0);
    assert!(matches!(
        DirectorySnapshot::from_bytes(longer),
        Err(SnapshotError::TrailingBytes { .. })
    ));
    assert_eq!(
        DirectorySnapshot::from_bytes(Vec::new()).unwrap_err(),
        SnapshotError::NotASnapshot
    );
}

#[test]
fn a_damaged_foreign_or_newer_snapshot_is_refused() {
    let file = rich().as_bytes().to_vec();
    // One bit anywhere after the checksum and the length, in the header
    // or the body.
    for at in [33, 40, 100, 400, file.len() / 2, file.len() - 1] {
        let mut damaged = file.clone();
        damaged[at] ^= 0x10;
        assert_eq!(
            DirectorySnapshot::from_bytes(damaged).unwrap_err(),
            SnapshotError::ChecksumMismatch,
            "{at}"
        );
    }
    let mut other = file.clone();
    other[0] = b'{';
    assert_eq!(
        DirectorySnapshot::from_bytes(other).unwrap_err(),
        SnapshotError::NotASnapshot
    );
    let mut newer = file.clone();
    newer[8] = 2;
    let err = DirectorySnapshot::from_bytes(newer).unwrap_err();
    assert_eq!(
        err,
        SnapshotError::UnsupportedVersion {
            found: 2,
            supported: 1
        }
    );
    assert!(err.to_string().contains("compile the snapshot again"));
    // Damage behind a recomputed checksum (a crafted file) is found by the
    // section and record checks, or reads as another valid snapshot: no
    // byte of the file makes opening or reading it panic.
    let small = {
        let s = SourceId::aaf("14").unwrap();
        let mut b = DirectoryBuilder::new(s.clone());
        let e = PupilId::new(s.clone(), "E1").unwrap();
        let r = PersonId::new(s.clone(), "R1").unwrap();
        b.add_school(School::new(uai("0350001L"), "C").with_class("6A", "6EME A"));
        b.add_pupil(
            Pupil::new(e.clone(), "A", ["B"])
                .with_school(uai("0350001L"))
                .with_school_local_id("9")
                .with_birth_date(BirthDate::new(2012, 1, 2).unwrap())
                .with_class("6EME A"),
        )
        .unwrap();
        b.add_person(RelatedPerson::new(r.clone(), "A", ["C"]).with_phone(PhoneKind::Sms, "06"))
            .unwrap();
        b.add_link(Link::new(e, r, Relationship::Mother).with_legal(LegalRank::First))
            .unwrap();
        b.build().as_bytes().to_vec()
    };
    assert_eq!(educonnect_core::internal::snapshot_open(&small), 2);
    let mut invalid = 0;
    for at in 24..small.len() {
        for flip in [0x01, 0x80, 0xff] {
            let mut crafted = small.clone();
            crafted[at] ^= flip;
            if educonnect_core::internal::snapshot_open(&crafted) == 0 {
                invalid += 1;
            }
        }
    }
    assert!(invalid > small.len(), "{invalid}");
}

#[test]
fn pupils_are_found_by_school_and_id_in_the_school_system() {
    let snapshot = rich();
    let zoe = snapshot
        .pupil_by_school_local_id(&uai("0350001L"), "4242")
        .unwrap();
    assert_eq!(zoe.id.local(), "E-ZOE");
    // The same id in another school, an unknown id: nobody.
    assert!(
        snapshot
            .pupil_by_school_local_id(&uai("0350002M"), "4242")
            .is_none()
    );
    assert!(
        snapshot
            .pupil_by_school_local_id(&uai("0350001L"), "4243")
            .is_none()
    );
    // Two pupils with one pair (P0 and P1 share 1000, in two schools; P0
    // and P2 share 1000 and 1001 no: P2 is 1001): the pair is per school.
    let p0 = snapshot
        .pupil_by_school_local_id(&uai("0350001L"), "1000")
        .unwrap();
    let p1 = snapshot
        .pupil_by_school_local_id(&uai("0350002M"), "1000")
        .unwrap();
    assert_eq!((p0.id.local(), p1.id.local()), ("P0", "P1"));

    // Through the trait: a MemoryDirectory, a composite of two sources.
    let memory = Arc::new(MemoryDirectory::new(reopen(&snapshot)));
    let found = ready(memory.pupil_by_school_local_id(&uai("0350002M"), "7")).unwrap();
    assert_eq!(found.unwrap().id.local(), "E-LUCAS");
    let s = SourceId::siecle(uai("0750654D"));
    let mut b = DirectoryBuilder::new(s.clone());
    b.add_pupil(
        Pupil::new(PupilId::new(s, "1").unwrap(), "X", ["Y"])
            .with_school(uai("0750654D"))
            .with_school_local_id("1"),
    )
    .unwrap();
    let composite = CompositeDirectory::new([
        memory as Arc<dyn Directory>,
        Arc::new(MemoryDirectory::new(b.build())) as Arc<dyn Directory>,
    ])
    .unwrap();
    let siecle = ready(composite.pupil_by_school_local_id(&uai("0750654D"), "1")).unwrap();
    assert_eq!(siecle.unwrap().id.source().code(), "0750654D");
    let aaf = ready(composite.pupil_by_school_local_id(&uai("0350001L"), "4242")).unwrap();
    assert_eq!(aaf.unwrap().id.local(), "E-ZOE");
    assert!(
        ready(composite.pupil_by_school_local_id(&uai("0750654D"), "2"))
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_duplicate_school_pair_finds_the_first_pupil_by_id() {
    let s = SourceId::aaf("14").unwrap();
    let mut b = DirectoryBuilder::new(s.clone());
    for local in ["E3", "E1", "E2"] {
        b.add_pupil(
            Pupil::new(PupilId::new(s.clone(), local).unwrap(), "X", ["Y"])
                .with_school(uai("0350001L"))
                .with_school_local_id("55"),
        )
        .unwrap();
    }
    let snapshot = b.build();
    for _ in 0..2 {
        let found = snapshot
            .pupil_by_school_local_id(&uai("0350001L"), "55")
            .unwrap();
        assert_eq!(found.id.local(), "E1");
    }
    assert!(matches!(
        snapshot.anomalies(),
        [] | [Anomaly::DanglingLink { .. }]
    ));
}

/// The small snapshots the `snapshot_open` fuzz target starts from.
fn fuzz_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let s = SourceId::aaf("14").unwrap();
    let mut b = DirectoryBuilder::new(s.clone());
    let e = |local: &str| PupilId::new(s.clone(), local).unwrap();
    let r = |local: &str| PersonId::new(s.clone(), local).unwrap();
    b.add_school(School::new(uai("0350001L"), "Collège").with_class("6A", "6EME A"));
    b.add_pupil(
        Pupil::new(e("E1"), "LEFÈVRE", ["Zoé", "Louise"])
            .with_usage_name("MARTIN")
            .with_ine(Ine::parse("123456789AB").unwrap())
            .with_birth_date(BirthDate::presumed_day(2012, 3).unwrap())
            .with_school(uai("0350001L"))
            .with_school_local_id("4242")
            .with_level("6EME")
            .with_class("6EME A"),
    )
    .unwrap();
    b.add_pupil(Pupil::new(e("E2"), "MARTIN", ["Lucas"]))
        .unwrap();
    b.add_person(
        RelatedPerson::new(r("R1"), "MARTIN", ["Anne-Marie"])
            .with_usage_name("LEFÈVRE")
            .with_civility(Civility::Madame)
            .with_birth_date(BirthDate::new(1980, 5, 17).unwrap())
            .with_phone(PhoneKind::Sms, "0612345678")
            .with_email("a@example.fr"),
    )
    .unwrap();
    b.add_person(RelatedPerson::new(r("R2"), "LEFEVRE", ["Paul"]))
        .unwrap();
    b.add_link(Link::new(e("E1"), r("R1"), Relationship::Mother).with_legal(LegalRank::First))
        .unwrap();
    b.add_link(
        Link::new(e("E1"), r("R2"), RelationshipCode::from_aaf(1).unwrap())
            .with_legal(LegalRank::First)
            .with_financial(true),
    )
    .unwrap();
    b.add_link(Link::new(e("E2"), r("R1"), Relationship::GrandParent))
        .unwrap();
    b.add_link(Link::new(e("E9"), r("R1"), Relationship::Other))
        .unwrap();
    let family = b.build().as_bytes().to_vec();
    let empty = DirectorySnapshot::empty(SourceId::siecle(uai("0750654D")))
        .as_bytes()
        .to_vec();
    vec![("family", family), ("empty", empty)]
}

#[test]
#[ignore = "writes the fuzz seeds: run when the format changes"]
fn write_fuzz_seeds() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/snapshot_open");
    std::fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in fuzz_seeds() {
        std::fs::write(dir.join(format!("seed-{name}")), bytes).unwrap();
    }
}

#[test]
fn the_committed_fuzz_seeds_open() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/snapshot_open");
    let mut seeds = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if !path
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("seed-")
        {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        DirectorySnapshot::from_bytes(bytes.clone())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        educonnect_core::internal::snapshot_open(&bytes);
        seeds += 1;
    }
    assert_eq!(seeds, fuzz_seeds().len());
}
