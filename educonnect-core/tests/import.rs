//! The AAF and SIECLE importers on files in the real formats, written here:
//! ISO-8859-15 bytes, compound and usage names, homonyms, a family over two
//! academies, presumed birth dates, malformed records, deltas.

use std::sync::Arc;

use educonnect_core::DatePrecision;
use educonnect_core::directory::import::{
    ExportFormat, Import, ImportIssue, ImportMode, ImportOptions, ImportReport, IssueEffect,
    IssueReason, LinkProblem, MalformedXml, Unreadable, sniff,
};
use educonnect_core::directory::{
    Anomaly, CompositeDirectory, Directory, DirectorySnapshot, LegalRank, MemoryDirectory,
    NameQuery, PersonId, PhoneKind, PupilId, Relationship, RelationshipTable, SourceId,
};
use educonnect_core::ids::{IdError, Uai};
use encoding_rs::ISO_8859_15;

// ---------------------------------------------------------------------------
// Writers of the real formats.

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// One AAF request: `op` is `add`, `modify` or `delete`.
fn request(op: &str, id: &str, attrs: &[(&str, &[&str])]) -> String {
    let mut out = format!(
        "  <{op}Request>\n    <operationalAttributes><attr name=\"categoriePersonne\"></attr></operationalAttributes>\n    <identifier><id>{}</id></identifier>\n",
        escape(id)
    );
    if op != "delete" {
        out.push_str("    <attributes>\n");
        for (name, values) in attrs {
            out.push_str(&format!("      <attr name=\"{name}\">"));
            for v in *values {
                out.push_str(&format!("<value>{}</value>", escape(v)));
            }
            out.push_str("</attr>\n");
        }
        out.push_str("    </attributes>\n");
    }
    out.push_str(&format!("  </{op}Request>\n"));
    out
}

fn add(id: &str, attrs: &[(&str, &[&str])]) -> String {
    request("add", id, attrs)
}

/// An AAF file in ISO-8859-15, with its declaration and DOCTYPE.
fn aaf(requests: &[String]) -> Vec<u8> {
    let text = format!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?>\n<!DOCTYPE ficAlimMENESR SYSTEM \"ficAlimMENESR.dtd\">\n<ficAlimMENESR>\n{}</ficAlimMENESR>\n",
        requests.concat()
    );
    latin9(&text)
}

/// `text` in ISO-8859-15; every character must be representable.
fn latin9(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = ISO_8859_15.encode(text);
    assert!(!unmappable, "not ISO-8859-15: {text}");
    bytes.into_owned()
}

fn pupil(id: &str, sn: &str, given: &str, date: &str, links: &[&str]) -> String {
    add(
        id,
        &[
            ("ENTPersonJointure", &[id]),
            ("sn", &[sn]),
            ("givenName", &[given]),
            ("ENTPersonDateNaissance", &[date]),
            ("ENTPersonStructRattach", &["0750654D"]),
            ("ENTEleveStructRattachId", &["4242"]),
            ("ENTPersonProfils", &["National_ELV"]),
            ("ENTElevePersRelEleve", links),
        ],
    )
}

fn parent(id: &str, sn: &str, given: &str) -> String {
    add(
        id,
        &[
            ("ENTPersonJointure", &[id]),
            ("sn", &[sn]),
            ("givenName", &[given]),
            ("ENTPersonProfils", &["National_TUT"]),
        ],
    )
}

fn aaf14() -> SourceId {
    SourceId::aaf("14").unwrap()
}

fn pupil_id(source: &SourceId, id: &str) -> PupilId {
    PupilId::new(source.clone(), id).unwrap()
}

fn person_id(source: &SourceId, id: &str) -> PersonId {
    PersonId::new(source.clone(), id).unwrap()
}

/// Imports AAF files (name, bytes) as a full export.
fn import_aaf(source: SourceId, files: &[(&str, Vec<u8>)]) -> (DirectorySnapshot, ImportReport) {
    let mut import = Import::full(source);
    for (name, bytes) in files {
        import.aaf(name, bytes.as_slice()).unwrap();
    }
    import.finish()
}

/// The issues whose reason is `reason`.
fn issues_with<'r>(report: &'r ImportReport, reason: &IssueReason) -> Vec<&'r ImportIssue> {
    report
        .issues
        .iter()
        .filter(|i| i.reason == *reason)
        .collect()
}

/// The one issue with `reason`, for `record`.
fn one_issue<'r>(report: &'r ImportReport, record: &str, reason: IssueReason) -> &'r ImportIssue {
    let found: Vec<_> = issues_with(report, &reason)
        .into_iter()
        .filter(|i| i.record_id.as_deref() == Some(record))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "{reason:?} for {record}: {:#?}",
        report.issues
    );
    found[0]
}

const ELEVE: &str = "ENT_14_Complet_20250905_Eleve_0000.xml";
const PERSREL: &str = "ENT_14_Complet_20250905_PersRelEleve_0000.xml";

// ---------------------------------------------------------------------------
// AAF

#[test]
fn aaf_full_export_in_iso_8859_15() {
    let eleves = aaf(&[
        add(
            "E1",
            &[
                ("ENTPersonJointure", &["E1"]),
                ("sn", &["Lefèvre-Œuvrard"]),
                ("ENTPersonNomPatro", &["Lefèvre"]),
                ("givenName", &["Zoé"]),
                ("ENTPersonAutresPrenoms", &["Zoé", "Ÿsaline", "Šárka"]),
                ("ENTPersonDateNaissance", &["14/03/2012"]),
                ("ENTEleveINE", &["123456789AB"]),
                ("ENTEleveClasses", &["0750654D$5EME B", "0750654D$LATIN"]),
                ("ENTPersonStructRattach", &["0750654D"]),
                ("ENTEleveStructRattachId", &["70012"]),
                (
                    "ENTElevePersRelEleve",
                    &["P1$10$1$1$1$1", "P2$2$0$2$1$0", "P3$38$0$0$1$0"],
                ),
                ("ENTEleveAutoriteParentale", &["P1", "P2"]),
            ],
        ),
        pupil("E2", "Dœuf", "Œdipe", "01/09/2010", &["P1$10$1$1$1$1"]),
    ]);
    // The file really is ISO-8859-15: Œ is 0xBC, é 0xE9, Ÿ 0xBE.
    for byte in [0xBC, 0xE9, 0xBE, 0xA6, 0xBD] {
        assert!(eleves.contains(&byte), "{byte:#x}");
    }
    assert!(std::str::from_utf8(&eleves).is_err());
    let parents = aaf(&[
        add(
            "P1",
            &[
                ("ENTPersonJointure", &["P1"]),
                ("sn", &["Lefèvre-Œuvrard"]),
                ("ENTPersonNomPatro", &["Œuvrard"]),
                ("givenName", &["Hélène"]),
                ("personalTitle", &["Mme"]),
                ("mobile", &["06 12 34 56 78"]),
                ("ENTPersonMobileSMS", &["0612345678"]),
                ("mail", &["helene@example.org"]),
                ("ENTAuxPersRelEleveEleve", &["E1", "E2"]),
            ],
        ),
        parent("P2", "Lefèvre", "Jean-Éric"),
        parent("P3", "Ménard", "Gisèle"),
    ]);

    let source = aaf14();
    let (snapshot, report) = import_aaf(source.clone(), &[(ELEVE, eleves), (PERSREL, parents)]);
    assert!(report.is_clean(), "{report:#?}");
    assert_eq!(report.files.len(), 2);
    assert_eq!(report.files[0].encoding, "ISO-8859-15");
    assert_eq!(report.files[0].format, Some(ExportFormat::Aaf));
    assert!(report.files.iter().all(|f| f.complete));
    let totals = report.totals();
    assert_eq!(
        (
            totals.records,
            totals.added,
            totals.pupils,
            totals.persons,
            totals.links
        ),
        (5, 5, 2, 3, 4)
    );
    assert_eq!(snapshot.pupil_count(), 2);
    assert_eq!(snapshot.person_count(), 3);
    assert_eq!(snapshot.link_count(), 4);

    let e1 = snapshot.pupil(&pupil_id(&source, "E1")).unwrap().unwrap();
    assert_eq!(e1.birth_name, "Lefèvre");
    assert_eq!(e1.usage_name.as_deref(), Some("Lefèvre-Œuvrard"));
    assert_eq!(
        e1.given_names,
        ["Zoé", "Ÿsaline", "Šárka"].map(String::from)
    );
    let date = e1.birth_date.unwrap();
    assert_eq!((date.year(), date.month(), date.day()), (2012, 3, 14));
    assert_eq!(e1.ine.unwrap().as_str(), "123456789AB");
    assert_eq!(e1.school, Some(Uai::parse("0750654D").unwrap()));
    assert_eq!(e1.school_local_id.as_deref(), Some("70012"));
    assert_eq!(e1.classes, ["5EME B", "LATIN"].map(String::from));
    let e2 = snapshot.pupil(&pupil_id(&source, "E2")).unwrap().unwrap();
    assert_eq!(
        (e2.birth_name.as_str(), e2.given_names[0].as_str()),
        ("Dœuf", "Œdipe")
    );

    let p1 = person_id(&source, "P1");
    let helene = snapshot.person(&p1).unwrap().unwrap();
    assert_eq!(helene.birth_name, "Œuvrard");
    assert_eq!(helene.usage_name.as_deref(), Some("Lefèvre-Œuvrard"));
    assert_eq!(helene.given_names, ["Hélène"]);
    assert_eq!(helene.phone(PhoneKind::Sms), Some("0612345678"));
    assert_eq!(helene.phone(PhoneKind::Mobile), Some("06 12 34 56 78"));
    assert_eq!(helene.email.as_deref(), Some("helene@example.org"));
    let children = snapshot.pupils_of(&p1).unwrap();
    assert_eq!(children.len(), 2);
    assert!(
        children
            .iter()
            .all(|c| c.link.legal == Some(LegalRank::First))
    );
    assert!(
        children
            .iter()
            .all(|c| c.link.relationship.relationship() == Relationship::Mother)
    );

    // The legacy code 2 is "mother" in the old table; 38 is a SIECLE code.
    let p2 = &snapshot.pupils_of(&person_id(&source, "P2")).unwrap()[0].link;
    assert_eq!(p2.relationship.table(), RelationshipTable::LegacyAaf);
    assert_eq!(p2.relationship.relationship(), Relationship::Mother);
    assert_eq!(p2.legal, Some(LegalRank::Second));
    assert!(!p2.financial && p2.contact && !p2.payment);
    let p3 = &snapshot.pupils_of(&person_id(&source, "P3")).unwrap()[0].link;
    assert_eq!(p3.relationship.table(), RelationshipTable::Siecle);
    assert_eq!(p3.relationship.relationship(), Relationship::GrandParent);
    assert!(!p3.has_legal_authority());

    // Found by the names FranceConnect would send (birth name, accents).
    let found = snapshot.guardian_candidates(&NameQuery::new("OEUVRARD", ["Helene"], None));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].person.id, p1);
}

#[test]
fn utf8_files_and_forced_encodings() {
    let source = aaf14();
    // No declaration: UTF-8.
    let utf8 = format!(
        "<ficAlimMENESR>{}</ficAlimMENESR>",
        pupil("E1", "Åström", "Björn", "02/02/2012", &[])
    );
    let (snapshot, report) = import_aaf(source.clone(), &[(ELEVE, utf8.clone().into_bytes())]);
    assert!(report.is_clean(), "{report:#?}");
    assert_eq!(report.files[0].encoding, "UTF-8");
    let e1 = snapshot.pupil(&pupil_id(&source, "E1")).unwrap().unwrap();
    assert_eq!(e1.birth_name, "Åström");

    // Declared UTF-8, with a byte-order mark.
    let mut declared = b"\xEF\xBB\xBF<?xml version='1.0' encoding='UTF-8'?>".to_vec();
    declared.extend_from_slice(utf8.as_bytes());
    let (snapshot, report) = import_aaf(source.clone(), &[(ELEVE, declared)]);
    assert!(report.is_clean(), "{report:#?}");
    assert_eq!(snapshot.pupil_count(), 1);

    // ISO-8859-15 bytes without a declaration are not UTF-8: the record is
    // reported, not imported with mangled names...
    let undeclared = latin9(&utf8);
    let (snapshot, report) = import_aaf(source.clone(), &[(ELEVE, undeclared.clone())]);
    assert_eq!(snapshot.pupil_count(), 0);
    assert_eq!(
        one_issue(&report, "E1", IssueReason::InvalidText).effect,
        IssueEffect::RecordSkipped
    );

    // ...unless the caller says what they are.
    let mut import =
        Import::full(source.clone()).options(ImportOptions::new().encoding(ISO_8859_15));
    import.aaf(ELEVE, undeclared.as_slice()).unwrap();
    let (snapshot, report) = import.finish();
    assert!(report.is_clean(), "{report:#?}");
    let e1 = snapshot.pupil(&pupil_id(&source, "E1")).unwrap().unwrap();
    assert_eq!(e1.given_names, ["Björn"]);

    // An encoding that cannot be read ends the file, typed.
    let utf16 = format!("<?xml version='1.0' encoding='UTF-16'?>{utf8}");
    let (_, report) = import_aaf(source, &[(ELEVE, utf16.into_bytes())]);
    assert_eq!(report.issues.len(), 1, "{report:#?}");
    assert_eq!(
        report.issues[0].reason,
        IssueReason::Unreadable(Unreadable::Encoding)
    );
    assert!(!report.files[0].complete);
}

#[test]
fn character_references_and_cdata() {
    let text = "<?xml version='1.0' encoding='ISO-8859-15'?><ficAlimMENESR><addRequest>\
        <identifier><id>P1</id></identifier><attributes>\
        <attr name='ENTPersonJointure'><value>P1</value></attr>\
        <attr name='sn'><value>M&#233;nard &amp; Fils</value></attr>\
        <attr name='givenName'><value><![CDATA[Ana<ïs>]]></value></attr>\
        <attr name='ENTAuxPersRelEleveEleve'/>\
        </attributes></addRequest></ficAlimMENESR>";
    let source = aaf14();
    let (snapshot, report) = import_aaf(source.clone(), &[("x.xml", latin9(text))]);
    assert!(report.is_clean(), "{report:#?}");
    let p1 = snapshot.person(&person_id(&source, "P1")).unwrap().unwrap();
    assert_eq!(p1.birth_name, "Ménard & Fils");
    assert_eq!(p1.given_names, ["Ana<ïs>"]);
}

#[test]
fn homonyms_stay_two_records() {
    let source = aaf14();
    let eleves = aaf(&[
        pupil("E1", "Martin", "Léa", "03/04/2013", &["P1$10$1$1$1$1"]),
        pupil("E2", "Martin", "Tom", "05/06/2011", &["P2$10$1$1$1$1"]),
    ]);
    let parents = aaf(&[
        parent("P1", "Martin", "Marie"),
        parent("P2", "Martin", "Marie"),
    ]);
    let (snapshot, report) = import_aaf(source.clone(), &[(ELEVE, eleves), (PERSREL, parents)]);
    assert!(report.is_clean(), "{report:#?}");
    let found = snapshot.guardian_candidates(&NameQuery::new("Martin", ["Marie"], None));
    let mut ids: Vec<&str> = found.iter().map(|c| c.person.id.local()).collect();
    ids.sort();
    assert_eq!(ids, ["P1", "P2"]);
    // Each has their own child only.
    let of_p1 = snapshot.pupils_of(&person_id(&source, "P1")).unwrap();
    assert_eq!(of_p1.len(), 1);
    assert_eq!(of_p1[0].pupil.id.local(), "E1");
}

#[tokio::test]
async fn a_family_over_two_academies() {
    // The mother appears in the Rennes (14) and Versailles (25) exports,
    // with one child in each.
    let rennes = aaf14();
    let versailles = SourceId::aaf("25").unwrap();
    let (snap14, r14) = import_aaf(
        rennes.clone(),
        &[
            (
                ELEVE,
                aaf(&[pupil(
                    "E-R",
                    "Nguyen",
                    "An",
                    "01/01/2012",
                    &["M$10$1$1$1$1"],
                )]),
            ),
            (PERSREL, aaf(&[parent("M", "Nguyen", "Thi Hông")])),
        ],
    );
    let (snap25, r25) = import_aaf(
        versailles.clone(),
        &[
            (
                "ENT_25_Complet_20250905_Eleve_0000.xml",
                aaf(&[pupil(
                    "E-V",
                    "Nguyen",
                    "Binh",
                    "02/02/2009",
                    &["M25$10$1$1$1$1"],
                )]),
            ),
            (
                "ENT_25_Complet_20250905_PersRelEleve_0000.xml",
                aaf(&[parent("M25", "Nguyen", "Thi Hông")]),
            ),
        ],
    );
    assert!(r14.is_clean() && r25.is_clean(), "{r14:#?} {r25:#?}");
    let composite = CompositeDirectory::new([
        Arc::new(MemoryDirectory::new(snap14)) as Arc<dyn Directory>,
        Arc::new(MemoryDirectory::new(snap25)) as Arc<dyn Directory>,
    ])
    .unwrap();
    let candidates = composite
        .guardian_candidates(&NameQuery::new("NGUYEN", ["Thi Hong"], None))
        .await
        .unwrap();
    let ids: Vec<PersonId> = candidates.iter().map(|c| c.person.id.clone()).collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    let children = composite.pupils_of_many(&ids).await.unwrap();
    let mut pupils: Vec<String> = children.iter().map(|c| c.pupil.id.to_string()).collect();
    pupils.sort();
    assert_eq!(pupils, ["aaf:14/E-R", "aaf:25/E-V"]);
}

#[test]
fn presumed_birth_dates() {
    let source = aaf14();
    let eleves = aaf(&[
        pupil("E1", "Diallo", "Awa", "00/03/2012", &[]),
        pupil("E2", "Diallo", "Moussa", "00/00/2010", &[]),
        pupil("E3", "Diallo", "Fanta", "", &[]),
        pupil("E4", "Diallo", "Issa", "31/02/2012", &[]),
        pupil("E5", "Diallo", "Oumou", "12/00/2012", &[]),
        pupil("E6", "Diallo", "Sékou", "2012-03-14", &[]),
    ]);
    let (snapshot, report) = import_aaf(source.clone(), &[(ELEVE, eleves)]);
    let date = |id| {
        snapshot
            .pupil(&pupil_id(&source, id))
            .unwrap()
            .unwrap()
            .birth_date
    };
    let e1 = date("E1").unwrap();
    assert_eq!(
        (e1.year(), e1.month(), e1.precision()),
        (2012, 3, DatePrecision::Month)
    );
    assert!(e1.matches(2012, 3, 27));
    let e2 = date("E2").unwrap();
    assert_eq!((e2.year(), e2.precision()), (2010, DatePrecision::Year));
    // Empty: no date, no issue. Impossible or other forms: reported, the
    // pupil kept without a date.
    assert_eq!(date("E3"), None);
    for id in ["E4", "E5", "E6"] {
        assert_eq!(date(id), None);
        let issue = one_issue(
            &report,
            id,
            IssueReason::InvalidDate("ENTPersonDateNaissance"),
        );
        assert_eq!(issue.effect, IssueEffect::ValueIgnored);
    }
    assert_eq!(report.issues.len(), 3, "{report:#?}");
    assert_eq!(snapshot.pupil_count(), 6);
}

#[test]
fn malformed_records_are_reported_and_the_rest_imported() {
    let source = aaf14();
    let eleves = aaf(&[
        // A wrong UAI key letter, an INE of no known shape.
        add(
            "E1",
            &[
                ("ENTPersonJointure", &["E1"]),
                ("sn", &["Petit"]),
                ("givenName", &["Noé"]),
                ("ENTPersonStructRattach", &["0750654E"]),
                ("ENTEleveINE", &["1234567890"]),
                ("ENTElevePersRelEleve", &["P1$20$1$1$1$1"]),
            ],
        ),
        // No id.
        add(
            "",
            &[
                ("sn", &["Sans"]),
                ("givenName", &["Id"]),
                ("ENTEleveINE", &["123456789AB"]),
            ],
        ),
        // Unknown link code, legal code 3, a short value, and a person listed
        // as legal authority without a legal link.
        add(
            "E3",
            &[
                ("ENTPersonJointure", &["E3"]),
                ("sn", &["Petit"]),
                ("givenName", &["Léon"]),
                ("ENTPersonStructRattach", &["0870003F"]),
                (
                    "ENTElevePersRelEleve",
                    &[
                        "P1$99$1$1$1$1",
                        "P2$10$1$3$1$1",
                        "P1$20$1",
                        "P1$20$1$1$1$1",
                        "P2$10$0$0$0$0",
                    ],
                ),
                ("ENTEleveAutoriteParentale", &["P1", "P2"]),
            ],
        ),
        // Two legal guardians of rank 1, and a link to a person who is not
        // in the export.
        add(
            "E4",
            &[
                ("ENTPersonJointure", &["E4"]),
                ("sn", &["Petit"]),
                ("givenName", &["Lou"]),
                (
                    "ENTElevePersRelEleve",
                    &["P1$20$1$1$1$1", "P2$10$1$1$1$1", "P9$90$0$0$0$0"],
                ),
            ],
        ),
        // No family name.
        add(
            "E5",
            &[
                ("ENTPersonJointure", &["E5"]),
                ("givenName", &["Solo"]),
                ("ENTEleveINE", &["123456789AB"]),
            ],
        ),
        // Join key and id disagree.
        add(
            "E6",
            &[
                ("ENTPersonJointure", &["E7"]),
                ("sn", &["X"]),
                ("givenName", &["Y"]),
            ],
        ),
        pupil("E8", "Petit", "Zélie", "01/01/2015", &[]),
    ]);
    let parents = aaf(&[
        add(
            "P1",
            &[
                ("ENTPersonJointure", &["P1"]),
                ("sn", &["Petit"]),
                ("givenName", &["Paul"]),
                ("personalTitle", &["Dr"]),
            ],
        ),
        parent("P2", "Petit", "Inès"),
    ]);
    let (snapshot, report) = import_aaf(source.clone(), &[(ELEVE, eleves), (PERSREL, parents)]);

    let uai = one_issue(
        &report,
        "E1",
        IssueReason::InvalidUai("ENTPersonStructRattach", IdError::UaiCheckLetter),
    );
    assert_eq!(uai.effect, IssueEffect::ValueIgnored);
    assert_eq!(uai.file, ELEVE);
    one_issue(&report, "E1", IssueReason::InvalidIne("ENTEleveINE"));
    let e1 = snapshot.pupil(&pupil_id(&source, "E1")).unwrap().unwrap();
    assert_eq!((e1.school, e1.ine), (None, None));

    let missing = issues_with(&report, &IssueReason::MissingId);
    assert_eq!(missing.len(), 1);
    assert_eq!(
        (missing[0].record_id.as_deref(), missing[0].effect),
        (None, IssueEffect::RecordSkipped)
    );

    for problem in [
        LinkProblem::UnknownRelationship(99),
        LinkProblem::Legal,
        LinkProblem::FieldCount,
    ] {
        let issue = one_issue(&report, "E3", IssueReason::InvalidLink(problem));
        assert_eq!(issue.effect, IssueEffect::LinkSkipped);
    }
    // P2's only good link has no legal authority.
    one_issue(&report, "E3", IssueReason::AuthorityWithoutLink);
    assert_eq!(
        snapshot.pupils_of(&person_id(&source, "P1")).unwrap().len(),
        3
    );

    one_issue(&report, "E5", IssueReason::MissingAttribute("sn"));
    one_issue(&report, "E6", IssueReason::JoinKeyMismatch);
    one_issue(&report, "P1", IssueReason::UnknownValue("personalTitle"));
    assert_eq!(
        snapshot
            .person(&person_id(&source, "P1"))
            .unwrap()
            .unwrap()
            .civility,
        None
    );

    assert!(
        report.anomalies.contains(&Anomaly::SameLegalRank {
            pupil: pupil_id(&source, "E4"),
            rank: LegalRank::First,
        }),
        "{:#?}",
        report.anomalies
    );
    assert!(report.anomalies.contains(&Anomaly::DanglingLink {
        pupil: pupil_id(&source, "E4"),
        person: person_id(&source, "P9"),
    }));
    assert_eq!(report.anomalies.len(), 2, "{:#?}", report.anomalies);

    // Every good record is in; every skipped one counted.
    assert_eq!(snapshot.pupil_count(), 4); // E1, E3, E4, E8
    let counts = report.files[0].counts;
    assert_eq!((counts.records, counts.added, counts.skipped), (7, 4, 3));
    assert!(!report.is_clean());

    // No name, date or code value in what is printed.
    for issue in &report.issues {
        let line = issue.to_string();
        for secret in ["Petit", "Paul", "Dr", "0750654E", "1234567890"] {
            assert!(!line.contains(secret), "{line}");
        }
    }
}

#[test]
fn malformed_xml_skips_one_record_and_resumes() {
    let source = aaf14();
    let good = |id: &str| pupil(id, "Roux", "Lina", "01/02/2013", &[]);
    let text = format!(
        "<?xml version='1.0' encoding='ISO-8859-15'?><ficAlimMENESR>{}\
         <addRequest><identifier><id>BAD1</id></identifier><attributes>\
         <attr name='sn'><value>Roux</valeur></attr></attributes></addRequest>\
         {}\
         <addRequest><identifier><id>BAD2</id></identifier><attributes>\
         <attr name='sn'><value>R&eacute;</value></attr></attributes></addRequest>\
         {}\
         <addRequest><identifier><id>BAD3</id></identifier><attributes>\
         <attr name=sn><value>R</value></attr></attributes></addRequest>\
         {}</ficAlimMENESR>",
        good("E1"),
        good("E2"),
        good("E3"),
        good("E4"),
    );
    let (snapshot, report) = import_aaf(source.clone(), &[(ELEVE, latin9(&text))]);
    assert_eq!(snapshot.pupil_count(), 4, "{report:#?}");
    one_issue(
        &report,
        "BAD1",
        IssueReason::MalformedXml(MalformedXml::EndTagMismatch),
    );
    one_issue(
        &report,
        "BAD2",
        IssueReason::MalformedXml(MalformedXml::Reference),
    );
    one_issue(
        &report,
        "BAD3",
        IssueReason::MalformedXml(MalformedXml::Attribute),
    );
    assert_eq!(report.issues.len(), 3, "{report:#?}");
    assert!(report.files[0].complete);
    assert_eq!(report.files[0].counts.skipped, 3);
}

#[test]
fn unreadable_rest_of_file_keeps_what_was_read() {
    let source = aaf14();
    // Cut in the middle of a tag: quick-xml cannot go on.
    let mut text = String::from("<?xml version='1.0' encoding='ISO-8859-15'?><ficAlimMENESR>");
    text.push_str(&pupil("E1", "Blanc", "Éva", "01/02/2013", &[]));
    text.push_str(&pupil("E2", "Blanc", "Ugo", "01/02/2014", &[]));
    text.push_str("<addRequest><identifier><id>E3</id></identifier><attributes><attr name='sn");
    let (snapshot, report) = import_aaf(source.clone(), &[(ELEVE, latin9(&text))]);
    assert_eq!(snapshot.pupil_count(), 2);
    assert_eq!(report.issues.len(), 1, "{report:#?}");
    assert_eq!(
        report.issues[0].reason,
        IssueReason::Unreadable(Unreadable::Syntax)
    );
    assert_eq!(report.issues[0].effect, IssueEffect::RestOfFileSkipped);
    assert!(!report.files[0].complete);

    // Cut between records: the truncation is reported.
    let mut text = String::from("<ficAlimMENESR>");
    text.push_str(&pupil("E1", "Blanc", "Eva", "01/02/2013", &[]));
    let (snapshot, report) = import_aaf(source.clone(), &[(ELEVE, text.clone().into_bytes())]);
    assert_eq!(snapshot.pupil_count(), 1);
    assert_eq!(
        report.issues[0].reason,
        IssueReason::Unreadable(Unreadable::Truncated)
    );

    // Cut inside a record: that record is reported.
    text.push_str("<addRequest><identifier><id>E2</id></identifier><attributes>");
    let (snapshot, report) = import_aaf(source, &[(ELEVE, text.into_bytes())]);
    assert_eq!(snapshot.pupil_count(), 1);
    one_issue(
        &report,
        "E2",
        IssueReason::MalformedXml(MalformedXml::UnexpectedEof),
    );
}

#[test]
fn oversized_values_and_records_are_skipped_in_bounded_memory() {
    let source = aaf14();
    let huge = "A".repeat(200 * 1024);
    let many: Vec<String> = (0..5000).map(|i| format!("P{i}$10$0$0$0$0")).collect();
    let many: Vec<&str> = many.iter().map(String::as_str).collect();
    let eleves = aaf(&[
        pupil("E1", "Vidal", "Rémi", "01/02/2013", &[]),
        pupil("BIG", &huge, "Rémi", "01/02/2013", &[]),
        pupil("E2", "Vidal", "Lou", "01/02/2013", &[]),
        add(
            "MANY",
            &[
                ("sn", &["Vidal"]),
                ("givenName", &["Max"]),
                ("ENTElevePersRelEleve", &many),
            ],
        ),
        pupil("E3", "Vidal", "Ada", "01/02/2013", &[]),
    ]);
    let options = ImportOptions::new()
        .max_value_len(64 * 1024)
        .max_record_len(64 * 1024);
    let mut import = Import::full(source.clone()).options(options);
    import.aaf(ELEVE, eleves.as_slice()).unwrap();
    let (snapshot, report) = import.finish();
    assert_eq!(snapshot.pupil_count(), 3, "{report:#?}");
    one_issue(&report, "BIG", IssueReason::TooLarge);
    one_issue(&report, "MANY", IssueReason::TooLarge);
    assert_eq!(report.issues.len(), 2, "{report:#?}");
    assert!(report.files[0].complete);
}

#[test]
fn deltas_apply_add_modify_delete_in_file_order() {
    let source = aaf14();
    let (full, report) = import_aaf(
        source.clone(),
        &[
            (
                ELEVE,
                aaf(&[
                    pupil("E1", "Garcia", "Inès", "01/02/2013", &["P1$10$1$1$1$1"]),
                    pupil("E2", "Garcia", "Hugo", "01/02/2011", &["P1$10$1$1$1$1"]),
                ]),
            ),
            (
                PERSREL,
                aaf(&[parent("P1", "Garcia", "Ana"), parent("P2", "Lopez", "Luis")]),
            ),
        ],
    );
    assert!(report.is_clean(), "{report:#?}");

    let eleves_delta = aaf(&[
        // A new pupil, then a modification of it and of E1, then E2 leaves.
        pupil("E3", "Garcia", "Léo", "01/02/2016", &["P1$10$1$1$1$1"]),
        request(
            "modify",
            "E3",
            &[
                ("givenName", &["Léon"]),
                ("ENTElevePersRelEleve", &["P1$10$1$1$1$1", "P2$20$1$2$1$1"]),
            ],
        ),
        // sn changes; the other attributes are kept.
        request(
            "modify",
            "E1",
            &[
                ("sn", &["Garcia-Lopez"]),
                ("ENTPersonNomPatro", &["Garcia"]),
            ],
        ),
        request("delete", "E2", &[]),
        // Added then deleted in the same delta: gone.
        pupil("E4", "Tmp", "Tmp", "01/01/2010", &[]),
        request("delete", "E4", &[]),
        // Deleted then added again: there.
        request("delete", "E1", &[]),
        pupil("E1", "Garcia", "Inès", "01/02/2013", &["P1$10$1$1$1$1"]),
        request(
            "modify",
            "E1",
            &[("ENTPersonDateNaissance", &["02/02/2013"])],
        ),
        // Unknown records.
        request("modify", "E9", &[("sn", &["X"])]),
        request("delete", "E9", &[]),
    ]);
    let persons_delta = aaf(&[request("modify", "P2", &[("mobile", &["0600000000"])])]);
    let mut import = Import::delta(&full);
    import
        .aaf(
            "ENT_14_Delta_20250906_Eleve_0000.xml",
            eleves_delta.as_slice(),
        )
        .unwrap();
    import
        .aaf(
            "ENT_14_Delta_20250906_PersRelEleve_0000.xml",
            persons_delta.as_slice(),
        )
        .unwrap();
    let (snapshot, report) = import.finish();

    let get = |id| snapshot.pupil(&pupil_id(&source, id)).unwrap();
    let e3 = get("E3").unwrap();
    assert_eq!(e3.given_names, ["Léon"]);
    assert_eq!(e3.birth_name, "Garcia");
    assert!(get("E2").is_none());
    assert!(get("E4").is_none());
    let e1 = get("E1").unwrap();
    assert_eq!(e1.birth_date.unwrap().day(), 2);
    assert_eq!(e1.usage_name, None, "re-added after the sn change");
    let p2 = snapshot.person(&person_id(&source, "P2")).unwrap().unwrap();
    assert_eq!(p2.phone(PhoneKind::Mobile), Some("0600000000"));
    assert_eq!(p2.given_names, ["Luis"]);
    let of_p2 = snapshot.pupils_of(&person_id(&source, "P2")).unwrap();
    assert_eq!(of_p2.len(), 1);
    assert_eq!(of_p2[0].link.legal, Some(LegalRank::Second));
    let mut of_p1: Vec<&str> = Vec::new();
    let links = snapshot.pupils_of(&person_id(&source, "P1")).unwrap();
    of_p1.extend(links.iter().map(|l| l.pupil.id.local()));
    assert_eq!(of_p1, ["E1", "E3"]);

    assert_eq!(
        issues_with(&report, &IssueReason::UnknownRecord).len(),
        2,
        "{report:#?}"
    );
    assert_eq!(report.issues.len(), 2, "{report:#?}");
    let counts = report.files[0].counts;
    assert_eq!((counts.added, counts.modified, counts.deleted), (3, 3, 3));

    // A modification of the family name only (no birth name given) where
    // the birth name followed sn: it still does.
    let delta = aaf(&[request("modify", "E3", &[("sn", &["Garcia-Martin"])])]);
    let mut import = Import::delta(&snapshot);
    import
        .aaf("ENT_14_Delta_Eleve.xml", delta.as_slice())
        .unwrap();
    let (after, report) = import.finish();
    assert!(report.is_clean(), "{report:#?}");
    let e3 = after.pupil(&pupil_id(&source, "E3")).unwrap().unwrap();
    assert_eq!(
        (e3.birth_name.as_str(), e3.usage_name.as_deref()),
        ("Garcia-Martin", None)
    );
    assert_eq!(
        after.pupils_of(&person_id(&source, "P2")).unwrap().len(),
        1,
        "links kept"
    );

    // The same delta as a full export reports the duplicate id.
    let twice = aaf(&[
        pupil("E1", "A", "B", "", &[]),
        pupil("E1", "A", "C", "", &[]),
    ]);
    let (_, report) = import_aaf(source.clone(), &[(ELEVE, twice.clone())]);
    assert_eq!(
        one_issue(&report, "E1", IssueReason::DuplicateId).effect,
        IssueEffect::RecordReplaced
    );
    let mut import = Import::with_builder(
        educonnect_core::directory::DirectoryBuilder::new(source),
        ImportMode::Delta,
    );
    import.aaf(ELEVE, twice.as_slice()).unwrap();
    assert!(import.report().is_clean());
}

#[test]
fn record_kinds_and_schools() {
    let source = aaf14();
    // Kinds told by categoriePersonne, by the file name, or ignored.
    let mixed = String::from(
        "<ficAlimMENESR>\
         <addRequest><operationalAttributes><attr name='categoriePersonne'><value>PersRelEleve</value></attr></operationalAttributes>\
         <identifier><id>P1</id></identifier><attributes><attr name='sn'><value>Hoarau</value></attr>\
         <attr name='givenName'><value>Eric</value></attr></attributes></addRequest>\
         <addRequest><operationalAttributes><attr name='categoriePersonne'><value>PersEducNat</value></attr></operationalAttributes>\
         <identifier><id>T1</id></identifier><attributes><attr name='sn'><value>Prof</value></attr></attributes></addRequest>\
         <addRequest><identifier><id>Q1</id></identifier><attributes><attr name='sn'><value>Who</value></attr></attributes></addRequest>\
         </ficAlimMENESR>",
    );
    let schools = aaf(&[
        add(
            "S1",
            &[
                ("ENTStructureUAI", &["0870003F"]),
                ("ENTStructureNomCourant", &["Lycée Gay-Lussac"]),
            ],
        ),
        add(
            "S2",
            &[
                ("ENTStructureUAI", &["0870003G"]),
                ("ENTStructureNomCourant", &["Faux"]),
            ],
        ),
    ]);
    let (snapshot, report) = import_aaf(
        source.clone(),
        &[
            ("mixed.xml", mixed.into_bytes()),
            ("ENT_14_Complet_EtabEducNat_0000.xml", schools),
        ],
    );
    assert_eq!(snapshot.person_count(), 1);
    assert_eq!(report.files[0].counts.ignored, 1);
    one_issue(&report, "Q1", IssueReason::UnknownRecordKind);
    let uai = Uai::parse("0870003F").unwrap();
    assert_eq!(snapshot.school(&uai).unwrap().name, "Lycée Gay-Lussac");
    assert_eq!(snapshot.school_count(), 1);
    one_issue(
        &report,
        "S2",
        IssueReason::InvalidUai("ENTStructureUAI", IdError::UaiCheckLetter),
    );
}

#[test]
fn a_siecle_file_given_as_aaf_is_refused_whole() {
    let (_, report) = import_aaf(aaf14(), &[("x.xml", siecle_eleves())]);
    assert_eq!(report.issues.len(), 1);
    assert_eq!(report.files[0].format, Some(ExportFormat::SiecleEleves));
    assert_eq!(report.issues[0].effect, IssueEffect::RestOfFileSkipped);
}

#[test]
fn too_many_issues_are_counted() {
    let requests: Vec<String> = (0..50)
        .map(|i| {
            let id = format!("E{i}");
            add(&id, &[("ENTPersonJointure", &[&id]), ("givenName", &["x"])])
        })
        .collect();
    let mut import = Import::full(aaf14()).options(ImportOptions::new().max_issues(10));
    import.aaf(ELEVE, aaf(&requests).as_slice()).unwrap();
    let report = import.report();
    assert_eq!(
        (
            report.issues.len(),
            report.issues_omitted,
            report.issue_count()
        ),
        (10, 40, 50)
    );
}

// ---------------------------------------------------------------------------
// SIECLE

const UAI: &str = "0750654D";

fn siecle_eleves() -> Vec<u8> {
    let text = "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>
<BEE_ELEVES VERSION=\"3.4\">
  <PARAMETRES><UAJ>0750654D</UAJ><ANNEE_SCOLAIRE>2025</ANNEE_SCOLAIRE></PARAMETRES>
  <DONNEES>
    <ELEVES>
      <ELEVE ELEVE_ID=\"1001\" ELENOET=\"501\">
        <ID_NATIONAL>123456789AB</ID_NATIONAL>
        <NOM_DE_FAMILLE>DUPONT</NOM_DE_FAMILLE>
        <NOM_USAGE>DUPONT-MOREAU</NOM_USAGE>
        <PRENOM>Cécile</PRENOM>
        <PRENOM2>Anaïs</PRENOM2>
        <PRENOM3></PRENOM3>
        <DATE_NAISS>07/11/2010</DATE_NAISS>
        <CODE_SEXE>2</CODE_SEXE>
        <CODE_MEF>10110001110</CODE_MEF>
        <SCOLARITE_AN_DERNIER><CODE_STRUCTURE>6A</CODE_STRUCTURE></SCOLARITE_AN_DERNIER>
      </ELEVE>
      <ELEVE ELEVE_ID=\"1002\" ELENOET=\"502\">
        <ID_NATIONAL>ABC</ID_NATIONAL>
        <NOM_DE_FAMILLE>DUPONT</NOM_DE_FAMILLE>
        <PRENOM>Noël</PRENOM>
        <DATE_NAISS>00/05/2012</DATE_NAISS>
      </ELEVE>
      <ELEVE ELEVE_ID=\"1003\">
        <NOM_DE_FAMILLE>MARTIN</NOM_DE_FAMILLE>
        <PRENOM>Zoé</PRENOM>
        <DATE_NAISS>30/02/2012</DATE_NAISS>
      </ELEVE>
      <ELEVE>
        <NOM_DE_FAMILLE>SANS</NOM_DE_FAMILLE>
        <PRENOM>Id</PRENOM>
      </ELEVE>
    </ELEVES>
    <STRUCTURES>
      <STRUCTURES_ELEVE ELEVE_ID=\"1001\">
        <STRUCTURE><CODE_STRUCTURE>5B</CODE_STRUCTURE><TYPE_STRUCTURE>D</TYPE_STRUCTURE></STRUCTURE>
        <STRUCTURE><CODE_STRUCTURE>LATIN</CODE_STRUCTURE><TYPE_STRUCTURE>G</TYPE_STRUCTURE></STRUCTURE>
      </STRUCTURES_ELEVE>
      <STRUCTURES_ELEVE ELEVE_ID=\"9999\">
        <STRUCTURE><CODE_STRUCTURE>5B</CODE_STRUCTURE></STRUCTURE>
      </STRUCTURES_ELEVE>
    </STRUCTURES>
  </DONNEES>
</BEE_ELEVES>
";
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
    assert!(!unmappable);
    bytes.into_owned()
}

fn responsable(eleve: &str, personne: &str, legal: &str, code: &str) -> String {
    format!(
        "<RESPONSABLE_ELEVE><ELEVE_ID>{eleve}</ELEVE_ID><PERSONNE_ID>{personne}</PERSONNE_ID>\
         <RESP_LEGAL>{legal}</RESP_LEGAL><CODE_PARENTE>{code}</CODE_PARENTE>\
         <RESP_FINANCIER>1</RESP_FINANCIER><PERS_PAIMENT>0</PERS_PAIMENT><PERS_CONTACT>1</PERS_CONTACT>\
         <NIVEAU_RESPONSABILITE>1</NIVEAU_RESPONSABILITE></RESPONSABLE_ELEVE>\n"
    )
}

fn siecle_responsables() -> Vec<u8> {
    let text = format!(
        "<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?>
<BEE_RESPONSABLES VERSION=\"3.4\">
  <PARAMETRES><UAJ>0750654D</UAJ></PARAMETRES>
  <DONNEES>
    <PERSONNES>
      <PERSONNE PERSONNE_ID=\"2001\">
        <NOM_DE_FAMILLE>MOREAU</NOM_DE_FAMILLE><NOM_USAGE>DUPONT</NOM_USAGE><PRENOM>Cœline</PRENOM>
        <LC_CIVILITE>MME</LC_CIVILITE><TEL_PORTABLE>0611111111</TEL_PORTABLE><MEL>c@example.org</MEL>
        <ADRESSE_ID>1</ADRESSE_ID>
      </PERSONNE>
      <PERSONNE PERSONNE_ID=\"2002\">
        <NOM_DE_FAMILLE>DUPONT</NOM_DE_FAMILLE><PRENOM>Jérôme</PRENOM><LC_CIVILITE>M.</LC_CIVILITE>
        <TEL_PROFESSIONNEL>0122222222</TEL_PROFESSIONNEL>
      </PERSONNE>
      <PERSONNE PERSONNE_ID=\"2003\">
        <NOM_DE_FAMILLE>DUPONT</NOM_DE_FAMILLE><PRENOM>Mamie</PRENOM>
      </PERSONNE>
    </PERSONNES>
    <RESPONSABLES>
      {}{}{}{}{}{}{}
    </RESPONSABLES>
    <ADRESSES><ADRESSE ADRESSE_ID=\"1\"><LIGNE1_ADRESSE>1 rue Œ</LIGNE1_ADRESSE></ADRESSE></ADRESSES>
  </DONNEES>
</BEE_RESPONSABLES>
",
        responsable("1001", "2001", "1", "10"),
        responsable("1001", "2002", "2", "20"),
        responsable("1002", "2001", "1", "10"),
        // Two first legal guardians for 1002.
        responsable("1002", "2002", "1", "20"),
        // An AAF legacy code is not a SIECLE code; legal code 3.
        responsable("1003", "2003", "0", "2"),
        responsable("1003", "2002", "3", "20"),
        // A pupil who is not in the export.
        responsable("7777", "2003", "0", "38"),
    );
    latin9(&text)
}

fn siecle_source() -> SourceId {
    SourceId::siecle(Uai::parse(UAI).unwrap())
}

#[test]
fn siecle_exports() {
    let source = siecle_source();
    let mut import = Import::full(source.clone());
    import
        .siecle("ElevesSansAdresses.xml", siecle_eleves().as_slice())
        .unwrap();
    import
        .siecle(
            "ResponsablesAvecAdresses.xml",
            siecle_responsables().as_slice(),
        )
        .unwrap();
    let (snapshot, report) = import.finish();

    assert_eq!(report.files[0].format, Some(ExportFormat::SiecleEleves));
    assert_eq!(report.files[0].encoding, "windows-1252");
    assert_eq!(
        report.files[1].format,
        Some(ExportFormat::SiecleResponsables)
    );
    assert_eq!(report.files[1].encoding, "ISO-8859-15");
    assert_eq!(snapshot.pupil_count(), 3);
    assert_eq!(snapshot.person_count(), 3);

    let p1001 = snapshot.pupil(&pupil_id(&source, "1001")).unwrap().unwrap();
    assert_eq!(p1001.birth_name, "DUPONT");
    assert_eq!(p1001.usage_name.as_deref(), Some("DUPONT-MOREAU"));
    assert_eq!(p1001.given_names, ["Cécile", "Anaïs"]);
    assert_eq!(p1001.school, Some(Uai::parse(UAI).unwrap()));
    assert_eq!(p1001.level.as_deref(), Some("10110001110"));
    assert_eq!(p1001.classes, ["5B", "LATIN"]);
    assert_eq!(p1001.ine.unwrap().as_str(), "123456789AB");
    let p1002 = snapshot.pupil(&pupil_id(&source, "1002")).unwrap().unwrap();
    assert_eq!(p1002.birth_date.unwrap().precision(), DatePrecision::Month);
    assert_eq!(p1002.ine, None);
    one_issue(&report, "1002", IssueReason::InvalidIne("ID_NATIONAL"));
    one_issue(&report, "1003", IssueReason::InvalidDate("DATE_NAISS"));
    assert_eq!(issues_with(&report, &IssueReason::MissingId).len(), 1);
    one_issue(&report, "9999", IssueReason::UnknownRecord);

    let mother = snapshot
        .person(&person_id(&source, "2001"))
        .unwrap()
        .unwrap();
    assert_eq!(mother.birth_name, "MOREAU");
    assert_eq!(mother.usage_name.as_deref(), Some("DUPONT"));
    assert_eq!(mother.given_names, ["Cœline"]);
    assert_eq!(mother.phone(PhoneKind::Mobile), Some("0611111111"));
    let of_mother = snapshot.pupils_of(&person_id(&source, "2001")).unwrap();
    assert_eq!(of_mother.len(), 2);
    let link = &of_mother[0].link;
    assert_eq!(link.relationship.relationship(), Relationship::Mother);
    assert_eq!(link.legal, Some(LegalRank::First));
    assert!(link.financial && link.contact && !link.payment);

    one_issue(
        &report,
        "1003/2003",
        IssueReason::InvalidLink(LinkProblem::UnknownRelationship(2)),
    );
    one_issue(
        &report,
        "1003/2002",
        IssueReason::InvalidLink(LinkProblem::Legal),
    );
    assert!(report.anomalies.contains(&Anomaly::SameLegalRank {
        pupil: pupil_id(&source, "1002"),
        rank: LegalRank::First,
    }));
    assert!(report.anomalies.contains(&Anomaly::DanglingLink {
        pupil: pupil_id(&source, "7777"),
        person: person_id(&source, "2003"),
    }));
    assert_eq!(report.anomalies.len(), 2, "{:#?}", report.anomalies);
    assert_eq!(report.issues.len(), 6, "{report:#?}");
}

#[test]
fn siecle_malformed_element_resumes_at_the_next() {
    let text = "<BEE_RESPONSABLES><DONNEES><PERSONNES>\
        <PERSONNE PERSONNE_ID='1'><NOM_DE_FAMILLE>A</NOM><PRENOM>B</PRENOM></PERSONNE>\
        <PERSONNE PERSONNE_ID='2'><NOM_DE_FAMILLE>C</NOM_DE_FAMILLE><PRENOM>D</PRENOM></PERSONNE>\
        </PERSONNES><RESPONSABLES>\
        <RESPONSABLE_ELEVE><ELEVE_ID>9</ELEVE_ID><PERSONNE_ID>2</PERSONNE_ID><RESP_LEGAL>1</RESP_LEGAL><CODE_PARENTE>10</CODE_PARENTE></RESPONSABLE_ELEVE>\
        </RESPONSABLES></DONNEES></BEE_RESPONSABLES>";
    let source = siecle_source();
    let mut import = Import::full(source.clone());
    import
        .siecle("ResponsablesAvecAdresses.xml", text.as_bytes())
        .unwrap();
    let (snapshot, report) = import.finish();
    assert_eq!(snapshot.person_count(), 1);
    one_issue(
        &report,
        "1",
        IssueReason::MalformedXml(MalformedXml::EndTagMismatch),
    );
    assert_eq!(report.files[0].counts.links, 1);
    // The link to pupil 9 survived the resync; pupil 9 is not there.
    assert_eq!(report.anomalies.len(), 1);
    assert!(report.files[0].complete);
}

#[test]
fn sniffing_formats() {
    assert_eq!(sniff(aaf(&[]).as_slice()).unwrap(), Some(ExportFormat::Aaf));
    assert_eq!(
        sniff(siecle_eleves().as_slice()).unwrap(),
        Some(ExportFormat::SiecleEleves)
    );
    assert_eq!(
        sniff(siecle_responsables().as_slice()).unwrap(),
        Some(ExportFormat::SiecleResponsables)
    );
    assert_eq!(sniff(&b"<html></html>"[..]).unwrap(), None);
    assert_eq!(sniff(&b""[..]).unwrap(), None);
    assert_eq!(sniff(&b"not xml <"[..]).unwrap(), None);
}

#[test]
fn files_from_disk() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("import-files");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let eleves = dir.join(ELEVE);
    std::fs::write(&eleves, aaf(&[pupil("E1", "Bé", "Aé", "01/01/2012", &[])])).unwrap();
    let mut import = Import::full(aaf14());
    let file = import.aaf_file(&eleves).unwrap();
    assert_eq!(file.counts.pupils, 1);
    assert!(import.aaf_file(dir.join("missing.xml")).is_err());
    let report = import.report();
    assert_eq!(report.files.len(), 2);
    assert!(!report.files[1].complete);
    assert_eq!(
        educonnect_core::directory::import::academy_from_file_name(eleves.to_str().unwrap()),
        Some("14")
    );
}

#[test]
fn runaway_markup_is_skipped_and_reading_resumes() {
    let source = aaf14();
    let x = "x".repeat(300 * 1024);
    let text = format!(
        "<ficAlimMENESR>{}\
         <addRequest><identifier><id>E2</id></identifier><attributes><attr name=\"{x}\"><value>v</value></attr></attributes></addRequest>\
         {}\
         <addRequest{x}><identifier><id>E4</id></identifier></addRequest>\
         {}\
         <!-- {x} -->\
         {}</ficAlimMENESR>",
        pupil("E1", "Roy", "Al", "01/01/2012", &[]),
        pupil("E3", "Roy", "Bo", "01/01/2012", &[]),
        pupil("E5", "Roy", "Cy", "01/01/2012", &[]),
        pupil("E6", "Roy", "Di", "01/01/2012", &[]),
    );
    let mut import =
        Import::full(source.clone()).options(ImportOptions::new().max_value_len(64 * 1024));
    import.aaf(ELEVE, text.as_bytes()).unwrap();
    let (snapshot, report) = import.finish();
    let mut ids: Vec<String> = ["E1", "E2", "E3", "E4", "E5", "E6"]
        .into_iter()
        .filter(|id| snapshot.pupil(&pupil_id(&source, id)).unwrap().is_some())
        .map(String::from)
        .collect();
    ids.sort();
    assert_eq!(ids, ["E1", "E3", "E5", "E6"], "{report:#?}");
    let too_large = issues_with(&report, &IssueReason::TooLarge);
    assert_eq!(too_large.len(), 2, "{report:#?}");
    assert_eq!(too_large[0].record_id.as_deref(), Some("E2"));
    assert_eq!(report.issues.len(), 2, "{report:#?}");
    assert!(report.files[0].complete);
}

/// What a fuzz target would do, deterministically: corrupted exports
/// never panic, never fail on in-memory input, and keep what they can.
#[test]
fn corrupted_exports_never_panic() {
    let eleves = aaf(&[
        pupil(
            "E1",
            "Lefèvre",
            "Zoé",
            "14/03/2012",
            &["P1$10$1$1$1$1", "P2$2$0$2$1$0"],
        ),
        pupil("E2", "Dœuf", "Œdipe", "00/09/2010", &["P1$10$1$1$1$1"]),
        request("modify", "E1", &[("sn", &["Lefèvre-Œuvrard"])]),
        request("delete", "E2", &[]),
    ]);
    let siecle = siecle_responsables();
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    let noise: &[u8] = b"<>/&;\"'=!?-[]# \xE9\xBC\xFFaAzZ09$";
    for round in 0..1500 {
        let mut bytes = if round % 2 == 0 {
            eleves.clone()
        } else {
            siecle.clone()
        };
        for _ in 0..1 + next(6) {
            let at = next(bytes.len());
            match next(4) {
                0 => bytes[at] = noise[next(noise.len())],
                1 => bytes.truncate(at),
                2 => bytes.insert(at, noise[next(noise.len())]),
                _ => {
                    let end = (at + next(64)).min(bytes.len());
                    let copy = bytes[at..end].to_vec();
                    let to = next(bytes.len());
                    bytes.splice(to..to, copy);
                }
            }
            if bytes.is_empty() {
                break;
            }
        }
        let options = ImportOptions::new().max_value_len(256).max_record_len(1024);
        let mut import = Import::full(aaf14()).options(options);
        import.aaf(ELEVE, bytes.as_slice()).unwrap();
        let (_, report) = import.finish();
        assert_eq!(report.files.len(), 1);
        let mut import = Import::full(siecle_source()).options(options);
        import
            .siecle("ResponsablesAvecAdresses.xml", bytes.as_slice())
            .unwrap();
        let _ = import.finish();
        let _ = sniff(bytes.as_slice()).unwrap();
    }
}

// ---------------------------------------------------------------------------
// The real AAF shape: structures by jointure, school-local ids, first degree.

const ETAB: &str = "ENT_01_Complet_20250905_EtabEducNat_0000.xml";

fn structure(jointure: &str, uai: &str, name: &str, classes: &[&str]) -> String {
    add(
        jointure,
        &[
            ("ENTStructureJointure", &[jointure]),
            ("ENTStructureUAI", &[uai]),
            ("ENTStructureNomCourant", &[name]),
            ("ENTStructureTypeStruct", &["CLG"]),
            ("ENTServAcAcademie", &["PARIS"]),
            ("ENTStructureClasses", classes),
        ],
    )
}

/// A second-degree pupil in the real shape: the school by its structure's
/// jointure, the SIECLE `ELEVE_ID` in `ENTEleveStructRattachId`.
fn pupil_2d(id: &str, school: &str, local: &str, classes: &[&str], links: &[&str]) -> String {
    add(
        id,
        &[
            ("ENTPersonJointure", &[id]),
            ("sn", &["Lefèvre"]),
            ("givenName", &["Zoé"]),
            ("ENTPersonDateNaissance", &["14/03/2012"]),
            ("ENTPersonProfils", &["National_ELV"]),
            ("ENTPersonStructRattach", &[school]),
            ("ENTEleveStructRattachId", &[local]),
            ("ENTEleveClasses", classes),
            ("ENTElevePersRelEleve", links),
        ],
    )
}

fn real_shape_2d() -> [(&'static str, Vec<u8>); 3] {
    let eleves = aaf(&[
        pupil_2d(
            "E1",
            "1234",
            "70012",
            &["1234$5B", "1234$LAT"],
            &["P1$10$1$1$1$1", "P9$20$1$2$1$1"],
        ),
        // A structure the export does not define.
        pupil_2d("E2", "9999", "70013", &["9999$4A"], &["P1$10$1$1$1$1"]),
        // Some feeds put the UAI itself.
        pupil_2d("E3", "0870003F", "70014", &[], &["P1$10$1$1$1$1"]),
    ]);
    let parents = aaf(&[
        add(
            "P1",
            &[
                ("ENTPersonJointure", &["P1"]),
                ("sn", &["Lefèvre"]),
                ("givenName", &["Anne"]),
                ("ENTAuxPersRelEleveEleve", &["E1", "E2", "E3", "E7"]),
            ],
        ),
        // No ENTPersonJointure.
        add("P2", &[("sn", &["Lefèvre"]), ("givenName", &["Jean"])]),
    ]);
    let schools = aaf(&[structure(
        "1234",
        "0750654D",
        "COLLEGE VOLTAIRE-ac-PARIS",
        &["5B$5EME B", "4A$4EME A"],
    )]);
    [
        ("ENT_01_Complet_20250905_Eleve_0000.xml", eleves),
        ("ENT_01_Complet_20250905_PersRelEleve_0000.xml", parents),
        (ETAB, schools),
    ]
}

#[test]
fn aaf_real_shape_second_degree_in_any_file_order() {
    let source = SourceId::aaf("01").unwrap();
    let files = real_shape_2d();
    let mut import = Import::full(source.clone());
    for (name, bytes) in &files {
        import.aaf(name, bytes.as_slice()).unwrap();
    }
    assert_eq!(import.academy(), Some("01"));
    let (snapshot, report) = import.finish();

    let voltaire = Uai::parse("0750654D").unwrap();
    assert_eq!(snapshot.school(&voltaire).unwrap().name, "COLLEGE VOLTAIRE");
    let e1 = snapshot.pupil(&pupil_id(&source, "E1")).unwrap().unwrap();
    assert_eq!(e1.school, Some(voltaire));
    assert_eq!(e1.school_local_id.as_deref(), Some("70012"));
    // The label for 5B, the code where the structure gives none.
    assert_eq!(e1.classes, ["5EME B", "LAT"]);
    let e3 = snapshot.pupil(&pupil_id(&source, "E3")).unwrap().unwrap();
    assert_eq!(e3.school, Some(Uai::parse("0870003F").unwrap()));

    // The unknown structure is reported, naming the pupil; the pupil is
    // kept without a school, the class by its code.
    let unknown = one_issue(
        &report,
        "E2",
        IssueReason::UnknownStructure("ENTPersonStructRattach"),
    );
    assert_eq!(unknown.effect, IssueEffect::ValueIgnored);
    assert_eq!(unknown.file, files[0].0);
    let e2 = snapshot.pupil(&pupil_id(&source, "E2")).unwrap().unwrap();
    assert_eq!(
        (e2.school, e2.classes.as_slice()),
        (None, &["4A".to_owned()][..])
    );
    // A record without ENTPersonJointure, a pupil the export does not
    // hold: reported.
    let missing = one_issue(
        &report,
        "P2",
        IssueReason::MissingAttribute("ENTPersonJointure"),
    );
    assert_eq!(missing.effect, IssueEffect::ValueIgnored);
    let aux = one_issue(
        &report,
        "P1",
        IssueReason::UnknownPupil("ENTAuxPersRelEleveEleve"),
    );
    assert_eq!(aux.file, files[1].0);
    assert_eq!(report.issues.len(), 3, "{:#?}", report.issues);
    // A guardian listed by a pupil but missing from PersRelEleve.
    assert_eq!(
        report.anomalies,
        [Anomaly::DanglingLink {
            pupil: pupil_id(&source, "E1"),
            person: person_id(&source, "P9"),
        }]
    );
    for issue in &report.issues {
        let text = issue.to_string();
        assert!(!text.contains("Lef") && !text.contains("9999"), "{text}");
    }

    // Structures first: the same directory, the same report.
    let mut import = Import::full(source.clone());
    for (name, bytes) in files.iter().rev() {
        import.aaf(name, bytes.as_slice()).unwrap();
    }
    let (again, report_again) = import.finish();
    for id in ["E1", "E2", "E3"] {
        assert_eq!(
            again.pupil(&pupil_id(&source, id)).unwrap(),
            snapshot.pupil(&pupil_id(&source, id)).unwrap(),
            "{id}"
        );
    }
    let reasons = |r: &ImportReport| {
        let mut v: Vec<_> = r
            .issues
            .iter()
            .map(|i| (i.record_id.clone(), i.reason.clone()))
            .collect();
        v.sort_by_key(|(id, _)| id.clone());
        v
    };
    assert_eq!(reasons(&report_again), reasons(&report));
    assert_eq!(report_again.anomalies, report.anomalies);
}

#[test]
fn a_delta_keeps_a_pupils_school_and_reports_an_unknown_structure() {
    let source = SourceId::aaf("01").unwrap();
    let files = real_shape_2d();
    let (snapshot, _) = import_aaf(source.clone(), &files);
    // A modification naming another structure, given in the same delta.
    let delta = aaf(&[
        request(
            "modify",
            "E1",
            &[
                ("ENTPersonStructRattach", &["5678"]),
                ("ENTEleveClasses", &["5678$2NDE1"]),
            ],
        ),
        request("modify", "E3", &[("ENTPersonStructRattach", &["4321"])]),
        // The full export's structure, without its file in the delta.
        pupil_2d("E4", "1234", "70015", &["1234$5B"], &[]),
    ]);
    let schools = aaf(&[structure(
        "5678",
        "0920131T",
        "LYCEE MICHELET-ac-VERSAILLES",
        &["2NDE1$SECONDE 1"],
    )]);
    let mut import = Import::delta(&snapshot);
    import
        .aaf("ENT_01_Delta_20250906_Eleve_0000.xml", delta.as_slice())
        .unwrap();
    import
        .aaf(
            "ENT_01_Delta_20250906_EtabEducNat_0000.xml",
            schools.as_slice(),
        )
        .unwrap();
    let (after, report) = import.finish();
    let e1 = after.pupil(&pupil_id(&source, "E1")).unwrap().unwrap();
    assert_eq!(e1.school, Some(Uai::parse("0920131T").unwrap()));
    assert_eq!(e1.classes, ["SECONDE 1"]);
    // Kept from the full export.
    assert_eq!(e1.school_local_id.as_deref(), Some("70012"));
    assert_eq!(after.link_count(), snapshot.link_count());
    one_issue(
        &report,
        "E3",
        IssueReason::UnknownStructure("ENTPersonStructRattach"),
    );
    let e3 = after.pupil(&pupil_id(&source, "E3")).unwrap().unwrap();
    assert_eq!(e3.school, None);
    let e4 = after.pupil(&pupil_id(&source, "E4")).unwrap().unwrap();
    assert_eq!(e4.school, Some(Uai::parse("0750654D").unwrap()));
    assert_eq!(e4.classes, ["5EME B"]);
    assert_eq!(report.issues.len(), 1, "{:#?}", report.issues);
    let voltaire = after.school(&Uai::parse("0750654D").unwrap()).unwrap();
    assert_eq!(voltaire.jointure.as_deref(), Some("1234"));
    assert_eq!(voltaire.class_label("5B"), Some("5EME B"));
}

#[test]
fn aaf_first_degree_is_imported_as_fully_as_the_second() {
    let source = SourceId::aaf("14").unwrap();
    let eleves = aaf(&[add(
        "E1",
        &[
            ("ENTPersonJointure", &["E1"]),
            ("ENTPersonProfils", &["National_ELV"]),
            ("ENTPersonNom", &["Le Guével"]),
            ("ENTPersonPrenom", &["Maël"]),
            ("ENTPersonAutresPrenoms", &["Maël", "Erwan"]),
            ("ENTPersonDateNaissance", &["02/05/2019"]),
            (
                "ENTPersonClasses",
                &["0350710G$2025$E$C1234$CP-CE1 Mme Le Bihan"],
            ),
            ("ENTEleveNiveau", &["CP"]),
            ("ENTEleveAutoriteParentale", &["R1$xx", "R2"]),
        ],
    )]);
    let parents = aaf(&[add(
        "R1",
        &[
            ("ENTPersonJointure", &["R1"]),
            ("ENTPersonProfils", &["National_TUT"]),
            ("ENTPersonNom", &["Le Guével"]),
            ("ENTPersonPrenom", &["Gwenaëlle"]),
            ("ENTPersonCivilite", &["MME"]),
            ("ENTPersRelEleveTelMobile", &["0612345678"]),
            ("ENTPersonTelPerso", &["0298765432"]),
            ("ENTPersonMail", &["gwen@example.org"]),
            ("ENTAuxPersRelEleveEleve", &["E1"]),
        ],
    )]);
    let (snapshot, report) = import_aaf(
        source.clone(),
        &[
            ("ENT_14_Complet_20250905_Eleve_0000.xml", eleves),
            ("ENT_14_Complet_20250905_PersRelEleve_0000.xml", parents),
        ],
    );
    assert!(report.issues.is_empty(), "{:#?}", report.issues);
    // R2 holds legal authority but is not in PersRelEleve.
    assert_eq!(
        report.anomalies,
        [Anomaly::DanglingLink {
            pupil: pupil_id(&source, "E1"),
            person: person_id(&source, "R2"),
        }]
    );
    let e1 = snapshot.pupil(&pupil_id(&source, "E1")).unwrap().unwrap();
    assert_eq!(e1.birth_name, "Le Guével");
    assert_eq!(e1.given_names, ["Maël", "Erwan"]);
    assert_eq!(e1.level.as_deref(), Some("CP"));
    assert_eq!(e1.classes, ["CP-CE1 Mme Le Bihan"]);
    assert_eq!(e1.school, Some(Uai::parse("0350710G").unwrap()));
    let r1 = person_id(&source, "R1");
    let mother = snapshot.person(&r1).unwrap().unwrap();
    assert_eq!(
        (mother.birth_name.as_str(), mother.given_names[0].as_str()),
        ("Le Guével", "Gwenaëlle")
    );
    assert_eq!(
        mother.civility,
        Some(educonnect_core::directory::Civility::Madame)
    );
    assert_eq!(mother.phone(PhoneKind::Mobile), Some("0612345678"));
    assert_eq!(mother.phone(PhoneKind::Home), Some("0298765432"));
    assert_eq!(mother.email.as_deref(), Some("gwen@example.org"));
    let children = snapshot.pupils_of(&r1).unwrap();
    assert_eq!(children.len(), 1);
    let link = &children[0].link;
    assert!(link.has_legal_authority());
    assert_eq!(link.legal, Some(LegalRank::First));
    assert_eq!(link.relationship.relationship(), Relationship::Other);
    // The candidates lookup finds her by the 1D names.
    let query = NameQuery::new("Le Guével", ["Gwenaëlle"], None);
    assert_eq!(snapshot.guardian_candidates(&query).len(), 1);
}

#[tokio::test]
async fn siecle_and_aaf_records_of_one_pupil_join_on_school_and_local_id() {
    let uai = Uai::parse(UAI).unwrap();
    let mut siecle = Import::full(SourceId::siecle(uai));
    siecle
        .siecle("ElevesSansAdresses.xml", siecle_eleves().as_slice())
        .unwrap();
    let (siecle, _) = siecle.finish();
    let source = SourceId::aaf("01").unwrap();
    let eleves = aaf(&[pupil_2d("E1", "1234", "1001", &["1234$5B"], &[])]);
    let schools = aaf(&[structure("1234", UAI, "COLLEGE VOLTAIRE-ac-PARIS", &[])]);
    let (aaf, _) = import_aaf(source.clone(), &[(ELEVE, eleves), (ETAB, schools)]);
    let from_aaf = aaf.pupil(&pupil_id(&source, "E1")).unwrap().unwrap();
    let from_siecle = siecle
        .pupil(&pupil_id(&SourceId::siecle(uai), "1001"))
        .unwrap()
        .unwrap();
    assert_eq!(from_siecle.school_local_id.as_deref(), Some("1001"));
    assert_eq!(
        (from_aaf.school, from_aaf.school_local_id.as_deref()),
        (from_siecle.school, from_siecle.school_local_id.as_deref())
    );
    // Each source finds its own record by school and school-local id (what
    // an EduConnect FrEduVecteur carries); a directory serving both finds
    // one of them, and the other school's id finds nothing.
    assert_eq!(
        aaf.pupil_by_school_local_id(&uai, "1001")
            .map(|p| p.id.clone()),
        Some(from_aaf.id.clone())
    );
    assert_eq!(
        siecle
            .pupil_by_school_local_id(&uai, "1001")
            .map(|p| p.id.clone()),
        Some(from_siecle.id.clone())
    );
    let both = CompositeDirectory::new([
        Arc::new(MemoryDirectory::new(aaf)) as Arc<dyn Directory>,
        Arc::new(MemoryDirectory::new(siecle)),
    ])
    .unwrap();
    let found = both
        .pupil_by_school_local_id(&uai, "1001")
        .await
        .unwrap()
        .unwrap();
    assert!(found.id == from_aaf.id || found.id == from_siecle.id);
    let elsewhere = Uai::parse("0870003F").unwrap();
    assert!(
        both.pupil_by_school_local_id(&elsewhere, "1001")
            .await
            .unwrap()
            .is_none()
    );
}

#[test]
fn the_academy_of_an_export_comes_from_its_structures_when_its_name_has_none() {
    use educonnect_core::directory::import::{FilesError, SourceHints, import_files};
    let dir = std::env::temp_dir().join(format!("educonnect-aaf-academy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let eleves = dir.join("ENT_0690078K_Complet_20250905_Eleve_0000.xml");
    let etab = dir.join("ENT_0690078K_Complet_20250905_EtabEducNat_0000.xml");
    std::fs::write(&eleves, aaf(&[pupil_2d("E1", "1234", "1001", &[], &[])])).unwrap();
    let lyon = add(
        "1234",
        &[
            ("ENTStructureJointure", &["1234"]),
            ("ENTStructureUAI", &["0690078K"]),
            ("ENTStructureNomCourant", &["LYCEE DU PARC-ac-LYON"]),
            ("ENTServAcAcademie", &["LYON"]),
        ],
    );
    std::fs::write(&etab, aaf(&[lyon])).unwrap();

    // The pupils' file alone: no academy (0690078K is not one).
    let err = import_files(&[&eleves], &SourceHints::default()).unwrap_err();
    assert!(matches!(err, FilesError::AcademyNeeded { .. }), "{err}");
    // With its structures, in any order: Lyon, 10.
    let imported = import_files(&[&eleves, &etab], &SourceHints::default()).unwrap();
    assert_eq!(imported.len(), 1);
    assert_eq!(imported[0].snapshot.source(), &SourceId::aaf("10").unwrap());
    assert!(imported[0].report.is_clean(), "{:#?}", imported[0].report);
    let e1 = imported[0]
        .snapshot
        .pupil(&pupil_id(&SourceId::aaf("10").unwrap(), "E1"))
        .unwrap()
        .unwrap();
    assert_eq!(e1.school, Some(Uai::parse("0690078K").unwrap()));
    // The caller's academy comes first.
    let hints = SourceHints {
        academy: Some("25".into()),
        ..SourceHints::default()
    };
    let imported = import_files(&[&eleves, &etab], &hints).unwrap();
    assert_eq!(imported[0].snapshot.source(), &SourceId::aaf("25").unwrap());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sources_imported_in_parallel_come_out_as_one_after_the_other() {
    use educonnect_core::directory::import::{
        FilesError, SourceHints, import_files, import_files_in_parallel,
    };
    use std::num::NonZeroUsize;
    let dir = std::env::temp_dir().join(format!("educonnect-parallel-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut files = Vec::new();
    // Five academies, each a full export then a delta that removes E2.
    for academy in ["14", "25", "10", "01", "43"] {
        let full = dir.join(format!("ENT_{academy}_Complet_20250905_Eleve_0000.xml"));
        std::fs::write(
            &full,
            aaf(&[
                pupil_2d("E1", "1234", "1001", &[], &[]),
                pupil_2d("E2", "1234", "1002", &[], &[]),
            ]),
        )
        .unwrap();
        let delta = dir.join(format!("ENT_{academy}_Delta_20250906_Eleve_0000.xml"));
        std::fs::write(
            &delta,
            aaf(&["<deleteRequest><identifier><id>E2</id></identifier></deleteRequest>".into()]),
        )
        .unwrap();
        files.push(full);
        files.push(delta);
    }
    let hints = SourceHints::default();
    let one = import_files(&files, &hints).unwrap();
    for threads in [2, 3, 8] {
        let many =
            import_files_in_parallel(&files, &hints, NonZeroUsize::new(threads).unwrap()).unwrap();
        assert_eq!(many.len(), 5);
        for (a, b) in one.iter().zip(&many) {
            assert_eq!(a.snapshot.source(), b.snapshot.source());
            assert_eq!(a.report, b.report);
            assert_eq!(
                a.snapshot.pupils().collect::<Vec<_>>(),
                b.snapshot.pupils().collect::<Vec<_>>()
            );
            assert_eq!(b.snapshot.pupil_count(), 1, "the delta applied after");
        }
    }
    // A missing file: the first in the given order is the error, however
    // the sources are spread over threads.
    let mut broken = files.clone();
    broken.insert(3, dir.join("ENT_25_Complet_20250905_Eleve_0001.xml"));
    broken.insert(7, dir.join("ENT_10_Complet_20250905_Eleve_0001.xml"));
    for threads in [1, 4] {
        let err = import_files_in_parallel(&broken, &hints, NonZeroUsize::new(threads).unwrap())
            .unwrap_err();
        let FilesError::Read { path, .. } = err else {
            panic!("{err}")
        };
        assert!(path.ends_with("ENT_25_Complet_20250905_Eleve_0001.xml"));
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
