//! Any bytes as an AAF export and as a SIECLE export: the importers report
//! what they cannot read and never panic, and an in-memory input never
//! fails with an I/O error.
#![no_main]

use educonnect_core::directory::SourceId;
use educonnect_core::directory::import::{Import, ImportOptions, sniff};
use educonnect_core::ids::Uai;
use libfuzzer_sys::fuzz_target;

fn options() -> ImportOptions {
    let mut options = ImportOptions::default();
    options.max_value_len = 1024;
    options.max_record_len = 8 * 1024;
    options
}

fuzz_target!(|data: &[u8]| {
    let mut aaf = Import::full(SourceId::aaf("14").unwrap()).options(options());
    aaf.aaf("ENT_14_Complet_20260901_Eleve_0000.xml", data)
        .expect("in-memory input has no I/O error");
    let _ = aaf.finish();

    let uai = Uai::parse("0750654D").unwrap();
    let mut siecle = Import::full(SourceId::siecle(uai)).options(options());
    siecle
        .siecle("ElevesSansAdresses.xml", data)
        .expect("in-memory input has no I/O error");
    let _ = siecle.finish();

    let _ = sniff(data).expect("in-memory input has no I/O error");
});
