//! Any bytes as an AAF export and as a SIECLE export: the importers report
//! what they cannot read and never panic, and an in-memory input never
//! fails with an I/O error.
//!
//! AAF in its real shape: the same bytes are also read as one export's
//! structures (`EtabEducNat`: jointures, classes, `ENTServAcAcademie`) and
//! pupils, and split into an export's three files read in both orders, so
//! that structures named before and after their pupils, first-degree
//! attributes and `ENTAuxPersRelEleveEleve` are all settled at the end.
#![no_main]

use educonnect_core::directory::SourceId;
use educonnect_core::directory::import::{Import, ImportOptions, academy_code_from_name, sniff};
use educonnect_core::ids::Uai;
use libfuzzer_sys::fuzz_target;

fn options() -> ImportOptions {
    let mut options = ImportOptions::default();
    options.max_value_len = 1024;
    options.max_record_len = 8 * 1024;
    options
}

const ELEVE: &str = "ENT_14_Complet_20260901_Eleve_0000.xml";
const PERSREL: &str = "ENT_14_Complet_20260901_PersRelEleve_0000.xml";
const ETAB: &str = "ENT_14_Complet_20260901_EtabEducNat_0000.xml";

/// Reads `files` as one AAF export, and checks what the real shape adds.
fn aaf_export(files: &[(&str, &[u8])]) {
    let mut import = Import::full(SourceId::aaf("14").unwrap()).options(options());
    for (name, data) in files {
        import
            .aaf(name, *data)
            .expect("in-memory input has no I/O error");
    }
    if let Some(code) = import.academy() {
        SourceId::aaf(code).expect("an academy code from the table");
    }
    let (snapshot, report) = import.finish();
    for issue in &report.issues {
        // Settled issues name a file that was read.
        assert!(files.iter().any(|(name, _)| *name == issue.file));
        let _ = issue.to_string();
    }
    assert!(snapshot.pupil_count() <= report.totals().pupils as usize);
}

fuzz_target!(|data: &[u8]| {
    aaf_export(&[(ELEVE, data)]);
    aaf_export(&[(ETAB, data), (ELEVE, data)]);
    aaf_export(&[(ELEVE, data), (PERSREL, data), (ETAB, data)]);
    let (a, rest) = data.split_at(data.len() / 3);
    let (b, c) = rest.split_at(rest.len() / 2);
    aaf_export(&[(ELEVE, a), (PERSREL, b), (ETAB, c)]);
    aaf_export(&[(ETAB, c), (PERSREL, b), (ELEVE, a)]);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = academy_code_from_name(text);
    }

    let uai = Uai::parse("0750654D").unwrap();
    let mut siecle = Import::full(SourceId::siecle(uai)).options(options());
    siecle
        .siecle("ElevesSansAdresses.xml", data)
        .expect("in-memory input has no I/O error");
    let (snapshot, _) = siecle.finish();
    let _ = snapshot.pupil_count();

    let _ = sniff(data).expect("in-memory input has no I/O error");
});
