//! `educonnect directory check`, run as the built binary on export files
//! written here (ISO-8859-15 bytes for AAF).

use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str]) -> Out {
    let output = Command::new(env!("CARGO_BIN_EXE_educonnect"))
        .args(args)
        .output()
        .expect("the binary starts");
    let out = Out {
        code: output.status.code().expect("exited"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    };
    assert!(!out.stderr.contains("panicked"), "{out:#?}");
    out
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("educonnect-cli-directory")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// An AAF file; `body` is ASCII with `{e9}`-style escapes for single
/// ISO-8859-15 bytes (é is 0xE9, Œ 0xBC).
fn aaf(body: &[u8]) -> Vec<u8> {
    let mut out = b"<?xml version=\"1.0\" encoding=\"ISO-8859-15\"?>\n<!DOCTYPE ficAlimMENESR SYSTEM \"ficAlimMENESR.dtd\">\n<ficAlimMENESR>\n".to_vec();
    out.extend_from_slice(body);
    out.extend_from_slice(b"</ficAlimMENESR>\n");
    out
}

fn pupil(id: &str, date: &str, uai: &str, links: &[&str]) -> Vec<u8> {
    let mut out = format!(
        "<addRequest><identifier><id>{id}</id></identifier><attributes>\
         <attr name=\"ENTPersonJointure\"><value>{id}</value></attr>\
         <attr name=\"sn\"><value>L"
    )
    .into_bytes();
    out.extend_from_slice(
        b"\xE9v\xEAque</value></attr><attr name=\"givenName\"><value>\xBCdipe</value></attr>",
    );
    out.extend_from_slice(
        format!(
            "<attr name=\"ENTPersonDateNaissance\"><value>{date}</value></attr>\
             <attr name=\"ENTPersonStructRattach\"><value>{uai}</value></attr>\
             <attr name=\"ENTElevePersRelEleve\">{}</attr></attributes></addRequest>\n",
            links
                .iter()
                .map(|l| format!("<value>{l}</value>"))
                .collect::<String>()
        )
        .as_bytes(),
    );
    out
}

fn parent(id: &str) -> Vec<u8> {
    let mut out = format!(
        "<addRequest><identifier><id>{id}</id></identifier><attributes>\
         <attr name=\"ENTPersonJointure\"><value>{id}</value></attr>\
         <attr name=\"sn\"><value>L"
    )
    .into_bytes();
    out.extend_from_slice(
        b"\xE9v\xEAque</value></attr><attr name=\"givenName\"><value>H\xE9l\xE8ne</value></attr>\
          <attr name=\"ENTPersonProfils\"><value>National_TUT</value></attr></attributes></addRequest>\n",
    );
    out
}

/// A clean export of academy 14 in `dir`: two pupils, two parents.
fn clean_export(dir: &Path) -> (PathBuf, PathBuf) {
    let eleves = dir.join("ENT_14_Complet_20250905_Eleve_0000.xml");
    let mut body = pupil(
        "E1",
        "14/03/2012",
        "0750654D",
        &["P1$10$1$1$1$1", "P2$20$1$2$1$1"],
    );
    body.extend(pupil("E2", "00/00/2010", "0870003F", &["P1$2$1$1$1$1"]));
    std::fs::write(&eleves, aaf(&body)).unwrap();
    let persons = dir.join("ENT_14_Complet_20250905_PersRelEleve_0000.xml");
    let mut body = parent("P1");
    body.extend(parent("P2"));
    std::fs::write(&persons, aaf(&body)).unwrap();
    (eleves, persons)
}

#[test]
fn a_clean_export_exits_0_with_the_counts() {
    let dir = temp_dir("clean");
    let (eleves, persons) = clean_export(&dir);
    let out = run(&["directory", "check", s(&eleves), s(&persons)]);
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(out.stderr.is_empty(), "{out:#?}");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{out:#?}");
    assert!(lines[0].starts_with("file "), "{out:#?}");
    assert!(
        lines[0].contains("AAF, ISO-8859-15, 2 records: 2 added"),
        "{out:#?}"
    );
    assert_eq!(
        lines[2],
        "source aaf:14: 2 pupils, 2 persons, 3 links, 0 schools"
    );
    assert_eq!(
        lines[3],
        "total: 2 pupils, 2 persons, 3 links, 0 schools; 0 issues, 0 anomalies"
    );
}

#[test]
fn problems_exit_1_with_one_line_each_and_no_personal_data() {
    let dir = temp_dir("problems");
    let eleves = dir.join("ENT_14_Complet_20250905_Eleve_0000.xml");
    let mut body = pupil(
        "E1",
        "31/02/2012",
        "0750654E",
        &["P1$10$1$1$1$1", "P2$20$1$1$1$1"],
    );
    body.extend(pupil(
        "E2",
        "14/03/2012",
        "0750654D",
        &["P1$99$1$1$1$1", "P9$10$1$1$1$1"],
    ));
    body.extend(b"<addRequest><identifier><id>E3</id></identifier><attributes><attr name=\"sn\"><value>X</valeur></attr></attributes></addRequest>\n");
    std::fs::write(&eleves, aaf(&body)).unwrap();
    let persons = dir.join("ENT_14_Complet_20250905_PersRelEleve_0000.xml");
    let mut body = parent("P1");
    body.extend(parent("P2"));
    std::fs::write(&persons, aaf(&body)).unwrap();

    let out = run(&["directory", "check", s(&eleves), s(&persons)]);
    assert_eq!(out.code, 1, "{out:#?}");
    assert_eq!(
        out.stderr.trim(),
        "problems: 4 issues, 2 anomalies",
        "{out:#?}"
    );
    let issues: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("issue "))
        .collect();
    assert_eq!(issues.len(), 4, "{out:#?}");
    let expected = [
        "record E1: ENTPersonDateNaissance is not a date dd/mm/yyyy (value ignored)",
        "record E2: invalid link: unknown relationship code 99 (link skipped)",
        "record E3: malformed XML: end tag does not match (record skipped)",
        // Structures are resolved when the export has been read.
        "record E1: ENTPersonStructRattach: the UAI key letter does not match its digits (value ignored)",
    ];
    for (line, want) in issues.iter().zip(expected) {
        assert!(line.contains(s(&eleves)), "{line}");
        assert!(line.ends_with(want), "{line} / {want}");
    }
    let anomalies: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("anomaly "))
        .collect();
    assert_eq!(
        anomalies,
        [
            "anomaly aaf:14: pupil E1: two legal guardians of rank 1",
            "anomaly aaf:14: link of pupil E2 to person P9: one of them is not in the export (link dropped)",
        ]
    );
    // Neither names (in any encoding) nor dates nor the bad UAI.
    for secret in ["vêque", "Hélène", "dipe", "31/02/2012", "0750654E"] {
        assert!(!out.stdout.contains(secret), "{secret}: {out:#?}");
    }
}

#[test]
fn two_academies_and_siecle_in_one_check() {
    let dir = temp_dir("mixed");
    let (eleves, persons) = clean_export(&dir);
    // The same family in academy 25, named without the academy.
    let other = dir.join("export-versailles.xml");
    let mut body = pupil("V1", "01/01/2011", "0920131T", &["M1$10$1$1$1$1"]);
    body.extend(parent("M1"));
    std::fs::write(&other, aaf(&body)).unwrap();
    let siecle = dir.join("ElevesSansAdresses.xml");
    std::fs::write(
        &siecle,
        b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><BEE_ELEVES><DONNEES><ELEVES>\
          <ELEVE ELEVE_ID=\"1\"><NOM_DE_FAMILLE>B\xC9RANGER</NOM_DE_FAMILLE><PRENOM>No\xEBl</PRENOM>\
          <DATE_NAISS>01/02/2010</DATE_NAISS></ELEVE></ELEVES></DONNEES></BEE_ELEVES>",
    )
    .unwrap();

    // Academy 25 must be said for the file whose name does not say it; the
    // SIECLE file needs its school.
    let out = run(&["directory", "check", s(&eleves), s(&other)]);
    assert_eq!(out.code, 2, "{out:#?}");
    assert!(out.stderr.contains("--academy"), "{out:#?}");
    assert!(out.stdout.is_empty());
    let out = run(&["directory", "check", s(&siecle)]);
    assert_eq!(out.code, 2, "{out:#?}");
    assert!(out.stderr.contains("--uai"), "{out:#?}");

    let out = run(&["directory", "check", "--academy", "25", s(&other)]);
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(
        out.stdout
            .contains("source aaf:25: 1 pupils, 1 persons, 1 links"),
        "{out:#?}"
    );

    let out = run(&[
        "directory",
        "check",
        "--uai",
        "0750654D",
        s(&eleves),
        s(&persons),
        s(&siecle),
    ]);
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(out.stdout.contains("source aaf:14: 2 pupils"), "{out:#?}");
    assert!(
        out.stdout
            .contains("SIECLE pupils, windows-1252, 1 records"),
        "{out:#?}"
    );
    assert!(
        out.stdout
            .contains("source siecle:0750654D: 1 pupils, 0 persons"),
        "{out:#?}"
    );
    assert!(
        out.stdout
            .ends_with("total: 3 pupils, 2 persons, 3 links, 0 schools; 0 issues, 0 anomalies\n"),
        "{out:#?}"
    );
}

#[test]
fn usage_and_io_errors_exit_2() {
    let dir = temp_dir("usage");
    let missing = dir.join("ENT_14_missing.xml");
    let out = run(&["directory", "check", s(&missing)]);
    assert_eq!(out.code, 2, "{out:#?}");
    assert!(out.stderr.starts_with("error: cannot read"), "{out:#?}");

    let other = dir.join("notes.txt");
    std::fs::write(&other, "hello").unwrap();
    let out = run(&["directory", "check", s(&other)]);
    assert_eq!(out.code, 2, "{out:#?}");
    assert!(
        out.stderr.contains("neither an AAF nor a SIECLE export"),
        "{out:#?}"
    );

    // No file; a bad academy; a UAI with a wrong key; both flags.
    for args in [
        &["directory", "check"][..],
        &["directory", "check", "--academy", "1234", "x.xml"],
        &["directory", "check", "--uai", "0750654E", "x.xml"],
        &[
            "directory",
            "check",
            "--academy",
            "14",
            "--uai",
            "0750654D",
            "x.xml",
        ],
    ] {
        let out = run(args);
        assert_eq!(out.code, 2, "{args:?}: {out:#?}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn an_unreadable_file_is_a_problem_not_a_crash() {
    let dir = temp_dir("unreadable");
    let eleves = dir.join("ENT_14_Complet_20250905_Eleve_0000.xml");
    let mut bytes = aaf(&pupil("E1", "14/03/2012", "0750654D", &[]));
    bytes.truncate(bytes.len() - 20);
    bytes.extend_from_slice(b"<addRequest><identifier");
    std::fs::write(&eleves, bytes).unwrap();
    let out = run(&["directory", "check", s(&eleves)]);
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(out.stdout.contains("(incomplete)"), "{out:#?}");
    assert!(
        out.stdout
            .contains("unreadable: XML syntax error (rest of the file skipped)"),
        "{out:#?}"
    );
}

/// The JSON object of a `--format json` run.
fn json_of(out: &Out) -> serde_json::Value {
    assert_eq!(out.stdout.lines().count(), 1, "{out:#?}");
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out:#?}"))
}

/// A structure (`EtabEducNat`) record: a school with its name.
fn school(id: &str, uai: &str, name: &str) -> Vec<u8> {
    format!(
        "<addRequest><identifier><id>{id}</id></identifier><attributes>\
         <attr name=\"ENTStructureUAI\"><value>{uai}</value></attr>\
         <attr name=\"ENTStructureNomCourant\"><value>{name}</value></attr>\
         </attributes></addRequest>\n"
    )
    .into_bytes()
}

#[test]
fn json_a_clean_export_exits_0_with_counts_per_school() {
    let dir = temp_dir("json-clean");
    let (eleves, persons) = clean_export(&dir);
    let etab = dir.join("ENT_14_Complet_20250905_EtabEducNat_0000.xml");
    let mut body = school("S1", "0750654D", "COLLEGE VICTOR HUGO");
    body.extend(school("S2", "0920131T", "ECOLE SANS ELEVE"));
    std::fs::write(&etab, aaf(&body)).unwrap();
    let out = run(&[
        "directory",
        "check",
        "--format",
        "json",
        s(&etab),
        s(&eleves),
        s(&persons),
    ]);
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(out.stderr.is_empty(), "{out:#?}");
    let v = json_of(&out);
    // E1 (0750654D) has P1 and P2; E2 (0870003F) has P1. By UAI.
    assert_eq!(
        v["schools"],
        serde_json::json!([
            {"source": "aaf:14", "uai": "0750654D", "name": "COLLEGE VICTOR HUGO",
             "pupils": 1, "guardians": 2, "links": 2},
            {"source": "aaf:14", "uai": "0870003F", "name": null,
             "pupils": 1, "guardians": 1, "links": 1},
            {"source": "aaf:14", "uai": "0920131T", "name": "ECOLE SANS ELEVE",
             "pupils": 0, "guardians": 0, "links": 0},
        ]),
        "{out:#?}"
    );
    assert_eq!(v["problems"], serde_json::json!([]));
    let totals = &v["totals"];
    for (key, want) in [
        ("sources", 1),
        ("files", 3),
        ("pupils", 2),
        ("persons", 2),
        ("links", 3),
        ("schools", 2),
        ("pupils_without_school", 0),
        ("issues", 0),
        ("issues_not_listed", 0),
        ("anomalies", 0),
    ] {
        assert_eq!(totals[key], want, "{key}: {out:#?}");
    }
    let files = v["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    assert_eq!(files[1]["file"], s(&eleves));
    assert_eq!(files[1]["format"], "AAF");
    assert_eq!(files[1]["added"], 2);
    assert_eq!(files[1]["complete"], true);

    // The default stays text.
    let out = run(&["directory", "check", s(&eleves), s(&persons)]);
    assert!(out.stdout.starts_with("file "), "{out:#?}");
    let out = run(&[
        "directory",
        "check",
        "--format",
        "text",
        s(&eleves),
        s(&persons),
    ]);
    assert!(out.stdout.starts_with("file "), "{out:#?}");
}

#[test]
fn json_problems_exit_1_with_ids_and_codes_only() {
    let dir = temp_dir("json-problems");
    let eleves = dir.join("ENT_14_Complet_20250905_Eleve_0000.xml");
    let mut body = pupil(
        "E1",
        "31/02/2012",
        "0750654E",
        &["P1$10$1$1$1$1", "P2$20$1$1$1$1"],
    );
    body.extend(pupil(
        "E2",
        "14/03/2012",
        "0750654D",
        &["P1$99$1$1$1$1", "P9$10$1$1$1$1"],
    ));
    body.extend(b"<addRequest><identifier><id>E3</id></identifier><attributes><attr name=\"sn\"><value>X</valeur></attr></attributes></addRequest>\n");
    body.extend(b"<addRequest><attributes><attr name=\"sn\"><value>Sans-Id</value></attr></attributes></addRequest>\n");
    std::fs::write(&eleves, aaf(&body)).unwrap();
    let persons = dir.join("ENT_14_Complet_20250905_PersRelEleve_0000.xml");
    let mut body = parent("P1");
    body.extend(parent("P2"));
    std::fs::write(&persons, aaf(&body)).unwrap();

    let out = run(&[
        "directory",
        "check",
        s(&eleves),
        s(&persons),
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 1, "{out:#?}");
    assert_eq!(
        out.stderr.trim(),
        "problems: 5 issues, 2 anomalies",
        "{out:#?}"
    );
    let v = json_of(&out);
    let problems = v["problems"].as_array().unwrap();
    let summary: Vec<(String, String, Option<String>, Option<String>)> = problems
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_owned(),
                p["code"].as_str().unwrap().to_owned(),
                p["record"].as_str().map(str::to_owned),
                p["file"].as_str().map(str::to_owned),
            )
        })
        .collect();
    let issue = |code: &str, record: Option<&str>| {
        (
            "issue".to_owned(),
            code.to_owned(),
            record.map(str::to_owned),
            Some(s(&eleves).to_owned()),
        )
    };
    let anomaly = |code: &str, record: &str| {
        (
            "anomaly".to_owned(),
            code.to_owned(),
            Some(record.to_owned()),
            None,
        )
    };
    assert_eq!(
        summary,
        [
            issue("invalid_date", Some("E1")),
            issue("invalid_link", Some("E2")),
            issue("malformed_xml", Some("E3")),
            issue("missing_id", None),
            // Schools are resolved once every file is read: their issues
            // come after the files' own.
            issue("invalid_uai", Some("E1")),
            anomaly("same_legal_rank", "E1"),
            anomaly("dangling_link", "E2"),
        ],
        "{out:#?}"
    );
    assert_eq!(problems[0]["attribute"], "ENTPersonDateNaissance");
    assert_eq!(problems[0]["effect"], "value_ignored");
    assert_eq!(
        problems[0]["reason"],
        "ENTPersonDateNaissance is not a date dd/mm/yyyy (value ignored)"
    );
    assert_eq!(problems[3]["record"], serde_json::Value::Null);
    assert!(problems[3]["position"].as_u64().unwrap() > 0, "{out:#?}");
    assert_eq!(
        problems[6]["reason"],
        "link of pupil E2 to person P9: one of them is not in the export (link dropped)"
    );
    assert_eq!(problems[6]["source"], "aaf:14");
    assert_eq!(v["totals"]["issues"], 5);
    assert_eq!(v["totals"]["anomalies"], 2);
    // E1's UAI is refused: it counts without a school; E2's links are
    // both gone (an unknown code, a person not in the export).
    assert_eq!(v["totals"]["pupils_without_school"], 1);
    assert_eq!(
        v["schools"],
        serde_json::json!([{"source": "aaf:14", "uai": "0750654D", "name": null,
                            "pupils": 1, "guardians": 0, "links": 0}])
    );
    // Neither names (in any encoding) nor dates nor the bad UAI.
    for secret in [
        "vêque",
        "v\\u00ea",
        "Hélène",
        "dipe",
        "Sans-Id",
        "31/02/2012",
        "14/03/2012",
        "0750654E",
    ] {
        assert!(!out.stdout.contains(secret), "{secret}: {out:#?}");
    }
}

#[test]
fn json_an_unreadable_file_is_an_incomplete_file_and_a_problem() {
    let dir = temp_dir("json-unreadable");
    let eleves = dir.join("ENT_14_Complet_20250905_Eleve_0000.xml");
    let mut bytes = aaf(&pupil("E1", "14/03/2012", "0750654D", &[]));
    bytes.truncate(bytes.len() - 20);
    bytes.extend_from_slice(b"<addRequest><identifier");
    std::fs::write(&eleves, bytes).unwrap();
    let out = run(&["directory", "check", "--format", "json", s(&eleves)]);
    assert_eq!(out.code, 1, "{out:#?}");
    let v = json_of(&out);
    assert_eq!(v["files"][0]["complete"], false, "{out:#?}");
    let last = &v["problems"][1];
    assert_eq!(last["code"], "unreadable", "{out:#?}");
    assert_eq!(last["effect"], "rest_of_file_skipped");
    assert_eq!(last["record"], serde_json::Value::Null);
}

#[test]
fn json_refusals_exit_2_with_the_error_line_only() {
    let dir = temp_dir("json-usage");
    let missing = dir.join("ENT_14_missing.xml");
    let out = run(&["directory", "check", "--format", "json", s(&missing)]);
    assert_eq!(out.code, 2, "{out:#?}");
    assert!(out.stdout.is_empty(), "{out:#?}");
    assert!(out.stderr.starts_with("error: cannot read"), "{out:#?}");
    let out = run(&["directory", "check", "--format", "yaml", s(&missing)]);
    assert_eq!(out.code, 2, "{out:#?}");
    assert!(out.stdout.is_empty(), "{out:#?}");
}

#[test]
fn compile_writes_a_snapshot_that_check_opens_and_a_cut_one_is_refused() {
    let dir = temp_dir("compile");
    let (eleves, persons) = clean_export(&dir);
    let snap = dir.join("aaf_14.snap");
    let out = run(&[
        "directory",
        "compile",
        s(&eleves),
        s(&persons),
        "-o",
        s(&snap),
    ]);
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(
        out.stdout.starts_with(
            "source aaf:14: 2 pupils, 2 persons, 3 links, 0 schools; 0 issues, 0 anomalies; snapshot "
        ),
        "{out:#?}"
    );
    // No temporary file left beside it.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");

    let out = run(&["directory", "check", s(&snap)]);
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(
        out.stdout.lines().collect::<Vec<_>>(),
        [
            "source aaf:14: 2 pupils, 2 persons, 3 links, 0 schools",
            "total: 2 pupils, 2 persons, 3 links, 0 schools; 0 issues, 0 anomalies"
        ],
        "{out:#?}"
    );
    let out = run(&["directory", "check", "--format", "json", s(&snap)]);
    assert_eq!(out.code, 0, "{out:#?}");
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(json["totals"]["links"], 3);

    // --output-dir names the file after the source.
    let out_dir = dir.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = run(&[
        "directory",
        "compile",
        "--jobs",
        "2",
        "--output-dir",
        s(&out_dir),
        s(&eleves),
        s(&persons),
    ]);
    assert_eq!(out.code, 0, "{out:#?}");
    // (Another hash key per build: not the same bytes, the same answers.)
    let out = run(&["directory", "check", s(&out_dir.join("aaf_14.snap"))]);
    assert_eq!(out.code, 0, "{out:#?}");

    // A truncated or damaged file: a clear error, exit 2, no panic.
    let bytes = std::fs::read(&snap).unwrap();
    let cut = dir.join("cut.snap");
    std::fs::write(&cut, &bytes[..bytes.len() - 10]).unwrap();
    let out = run(&["directory", "check", s(&cut)]);
    assert_eq!(out.code, 2, "{out:#?}");
    assert!(
        out.stderr
            .contains("cut.snap: the directory snapshot is truncated"),
        "{out:#?}"
    );
    let mut damaged = bytes.clone();
    let middle = damaged.len() / 2;
    damaged[middle] ^= 1;
    std::fs::write(&cut, &damaged).unwrap();
    let out = run(&["directory", "check", s(&cut)]);
    assert_eq!(out.code, 2, "{out:#?}");
    assert!(out.stderr.contains("checksum does not match"), "{out:#?}");
}
