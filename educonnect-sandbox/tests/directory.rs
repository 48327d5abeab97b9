//! The demo directory: the committed export files import cleanly through the
//! core's importers, with the expected records, and hold the families the
//! demo identities need.

use educonnect_core::directory::import::ExportFormat;
use educonnect_core::directory::{
    DirectoryPerson, NameQuery, PersonId, PhoneKind, PupilId, SourceId,
};
use educonnect_core::ids::Uai;
use educonnect_core::provider::EduVector;
use educonnect_sandbox::demo::{self, DemoClaims, DemoProvider};
use educonnect_sandbox::{DEMO_ACADEMIES, DEMO_SIECLE_UAI, DemoDirectory, demo_directory};

#[test]
fn the_demo_exports_import_with_an_empty_report_and_the_expected_counts() {
    let demo = DemoDirectory::import().unwrap();
    for report in &demo.reports {
        assert!(report.is_clean(), "{report:#?}");
        assert!(report.files.iter().all(|f| f.complete), "{report:#?}");
    }
    let counts: Vec<_> = demo
        .snapshots
        .iter()
        .map(|s| {
            (
                s.source().as_str().to_owned(),
                s.pupil_count(),
                s.person_count(),
                s.link_count(),
                s.school_count(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [
            ("aaf:14".to_owned(), 3, 4, 4, 2),
            ("aaf:25".to_owned(), 4, 5, 5, 2),
            (format!("siecle:{DEMO_SIECLE_UAI}"), 2, 2, 4, 1),
        ]
    );
    // AAF files are ISO-8859-15 (œ is not in ISO-8859-1), SIECLE too.
    let aaf = &demo.reports[1].files;
    assert_eq!(aaf.len(), 5);
    assert!(aaf.iter().all(|f| f.format == Some(ExportFormat::Aaf)));
    assert!(aaf.iter().all(|f| f.encoding == "ISO-8859-15"), "{aaf:#?}");
}

#[tokio::test]
async fn the_demo_exports_are_in_the_shape_academies_send() {
    let directory = demo_directory().unwrap();
    let rennes = SourceId::aaf("14").unwrap();
    let pupil = |local: &str| {
        let id = PupilId::new(rennes.clone(), local).unwrap();
        let directory = directory.clone();
        async move { directory.pupil(&id).await.unwrap().unwrap() }
    };
    // Second degree: the school by its structure's jointure (3501), the
    // class label from the structure, the SIECLE ELEVE_ID kept.
    let eloise = pupil("E14-0001").await;
    let college = Uai::parse("0350710G").unwrap();
    assert_eq!(eloise.school, Some(college));
    assert_eq!(eloise.classes, ["4EME A"]);
    assert_eq!(eloise.school_local_id.as_deref(), Some("104211"));
    let school = directory.school(&college).await.unwrap().unwrap();
    assert_eq!(school.name, "Collège Anne de Bretagne");
    assert_eq!(school.jointure.as_deref(), Some("3501"));
    // First degree (ONDE): names in ENTPersonNom/ENTPersonPrenom, the
    // school and class from ENTPersonClasses, legal authority from
    // ENTEleveAutoriteParentale.
    let lucas = pupil("E14-0002").await;
    assert_eq!(
        (lucas.birth_name.as_str(), lucas.given_names[0].as_str()),
        ("MARTIN", "Lucas")
    );
    assert_eq!(lucas.school, Some(Uai::parse("0351234B").unwrap()));
    assert_eq!(lucas.classes, ["CM2 M. Le Goff"]);
    assert_eq!(lucas.level.as_deref(), Some("CM2"));
    assert_eq!(lucas.school_local_id, None);
    let father = PersonId::new(rennes.clone(), "P14-0002").unwrap();
    let children = directory.pupils_of(&father).await.unwrap();
    assert_eq!(children.len(), 1);
    assert!(children[0].link.has_legal_authority());
    let person = directory.person(&father).await.unwrap().unwrap();
    assert_eq!(person.phone(PhoneKind::Mobile), Some("06 00 00 14 02"));
}

#[tokio::test]
async fn non_ascii_names_survive_the_encoding() {
    let directory = demo_directory().unwrap();
    assert_eq!(directory.sources().len(), 3);
    let versailles = SourceId::aaf("25").unwrap();
    let father = directory
        .person(&PersonId::new(versailles.clone(), "P25-0004").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(father.birth_name, "CŒURDEVEY");
    let children = directory.pupils_of(&father.id).await.unwrap();
    assert_eq!(children.len(), 1);
    assert_eq!(children[0].pupil.given_names, ["Maëlys", "Anne"]);
    let school = directory
        .school(&Uai::parse(DEMO_SIECLE_UAI).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(school.name, "Cité scolaire Victor Hugo");
}

#[tokio::test]
async fn every_franceconnect_parent_finds_the_records_the_demo_says() {
    let directory = demo_directory().unwrap();
    for identity in demo::of(DemoProvider::FranceConnect) {
        let DemoClaims::FranceConnect(p) = identity.claims else {
            unreachable!()
        };
        let given: Vec<&str> = p.given_name.split(' ').collect();
        let usage = (!p.preferred_username.is_empty()).then_some(p.preferred_username);
        let query = NameQuery::new(p.family_name, &given, usage);
        let candidates = directory.guardian_candidates(&query).await.unwrap();
        // The challenge shows each pupil once, however many candidate
        // records link to it.
        let mut shown = Vec::new();
        for candidate in &candidates {
            for linked in directory.pupils_of(&candidate.person.id).await.unwrap() {
                if !shown.contains(&linked.pupil.id) {
                    shown.push(linked.pupil.id.clone());
                }
            }
        }
        assert_eq!(shown.len(), identity.challenge.len(), "{}", identity.id);
    }
    // The homonym: two records, two academies.
    let martin = demo::identity(demo::FC_PARENT_WITH_HOMONYM).unwrap();
    let query = NameQuery::new("MARTIN", &["Jean-Pierre"], None);
    let candidates = directory.guardian_candidates(&query).await.unwrap();
    assert_eq!(candidates.len(), 2);
    assert_eq!(martin.challenge.iter().filter(|c| !c.mine).count(), 1);
    // The father and his namesake: one pupil, two records the name index
    // both finds (the challenge then tells them apart by their given names).
    let query = NameQuery::new("DUPONT", &["Jean", "Marc"], None);
    let candidates = directory.guardian_candidates(&query).await.unwrap();
    assert_eq!(candidates.len(), 2);
}

#[tokio::test]
async fn every_educonnect_aaf_id_names_a_record() {
    let directory = demo_directory().unwrap();
    for identity in demo::of(DemoProvider::EduConnect) {
        let DemoClaims::EduConnect(e) = identity.claims else {
            unreachable!()
        };
        for ref_id in e.ref_ids {
            let id = educonnect_core::provider::AafId::parse(ref_id).unwrap();
            let found = directory.person_by_aaf_id(&id).await.unwrap();
            assert!(found.is_some(), "{ref_id}");
        }
    }
}

/// The value of `ENTEleveStructRattachId` in the demo AAF pupil record
/// `join_key`, read from the committed files' bytes (ids and that value are
/// ASCII in the ISO-8859-15 files): `Ok(None)` for a record without one (a
/// first-degree pupil), `Err` when no file holds the record.
fn struct_rattach_id(join_key: &str) -> Result<Option<String>, ()> {
    for academy in DEMO_ACADEMIES {
        for chunk in ["0000", "0001"] {
            let path = format!(
                "{}/demo/ENT_{academy}_Complet_20260901_Eleve_{chunk}.xml",
                env!("CARGO_MANIFEST_DIR")
            );
            let bytes = std::fs::read(path).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            let Some(start) = text.find(&format!("<id>{join_key}</id>")) else {
                continue;
            };
            let record = &text[start..];
            let record = &record[..record.find("</addRequest>").unwrap()];
            let tag = "<attr name=\"ENTEleveStructRattachId\"><value>";
            let Some(at) = record.find(tag) else {
                return Ok(None);
            };
            let value = &record[at + tag.len()..];
            return Ok(Some(value[..value.find("</value>").unwrap()].to_owned()));
        }
    }
    Err(())
}

#[tokio::test]
async fn every_educonnect_guardian_has_one_vector_per_child_matching_the_demo_files() {
    let directory = demo_directory().unwrap();
    let mut checked = 0;
    for identity in demo::of(DemoProvider::EduConnect) {
        let DemoClaims::EduConnect(e) = identity.claims else {
            unreachable!()
        };
        if e.affiliations.iter().any(|a| a.starts_with("eleve")) {
            assert!(e.vectors.is_empty(), "{}", identity.id);
            continue;
        }
        assert_eq!(e.vectors.len(), identity.children.len(), "{}", identity.id);
        for (value, child) in e.vectors.iter().zip(identity.children) {
            let vector = EduVector::parse(value).unwrap();
            // The legacy guardian digits (the sandbox's documented choice).
            assert!([1, 2].contains(&vector.profile_digit()), "{value}");
            let mut pupil = None;
            for academy in DEMO_ACADEMIES {
                if let Some(DirectoryPerson::Pupil(p)) = directory
                    .person_by_aaf_join_key(academy, child)
                    .await
                    .unwrap()
                {
                    pupil = Some(p);
                }
            }
            let pupil = pupil.unwrap_or_else(|| panic!("{child} is not a demo pupil"));
            let sn = pupil.usage_name.as_deref().unwrap_or(&pupil.birth_name);
            assert_eq!(vector.family_name(), sn, "{child}");
            assert_eq!(vector.given_name(), pupil.given_names[0], "{child}");
            assert_eq!(Some(vector.uai()), pupil.school, "{child}");
            // The vector finds the child by school and school-local id
            // where the export carries that id (second degree); a
            // first-degree export carries none, and then no vector finds
            // the child.
            let by_vector = directory
                .pupil_by_school_local_id(&vector.uai(), vector.pupil_id())
                .await
                .unwrap();
            match struct_rattach_id(child).unwrap() {
                Some(local) => {
                    assert_eq!(vector.pupil_id(), local, "{child}");
                    assert_eq!(pupil.school_local_id.as_deref(), Some(local.as_str()));
                    assert_eq!(by_vector.map(|p| p.id.clone()), Some(pupil.id.clone()));
                }
                None => {
                    assert_eq!(pupil.school_local_id, None, "{child}");
                    assert!(by_vector.is_none(), "{child}");
                }
            }
            checked += 1;
        }
    }
    assert_eq!(checked, 4);
}
