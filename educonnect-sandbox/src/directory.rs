//! The demo directory: real AAF and SIECLE export files committed under
//! `demo/`, embedded in the binary and read by the core's importers, so that
//! the demo families exercise the same code as a real academy's exports
//! (ISO-8859-15 bytes, compound and usage names, presumed dates).

use std::sync::Arc;

use educonnect_core::directory::import::{Import, ImportMode, ImportReport};
use educonnect_core::directory::{
    CompositeDirectory, Directory, DirectoryBuilder, DirectoryError, DirectorySnapshot, School,
    SourceId,
};
use educonnect_core::ids::Uai;

/// One export file of the demo directory: its name and its bytes.
type File = (&'static str, &'static [u8]);

macro_rules! demo_file {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!("../demo/", $name)) as &'static [u8],
        )
    };
}

/// Rennes (academy 14), in the shape academies send: schools
/// (`EtabEducNat`, with their jointures and class labels), second-degree
/// pupils and related persons (chunk `0000`, pupils attached to their
/// school by its jointure), first-degree ones as ONDE feeds them (chunk
/// `0001`). The schools' file comes last on purpose: structures are
/// resolved once every file of the export is read.
const RENNES: [File; 5] = [
    demo_file!("ENT_14_Complet_20260901_Eleve_0000.xml"),
    demo_file!("ENT_14_Complet_20260901_Eleve_0001.xml"),
    demo_file!("ENT_14_Complet_20260901_PersRelEleve_0000.xml"),
    demo_file!("ENT_14_Complet_20260901_PersRelEleve_0001.xml"),
    demo_file!("ENT_14_Complet_20260901_EtabEducNat_0000.xml"),
];

/// Versailles (academy 25), the same way.
const VERSAILLES: [File; 5] = [
    demo_file!("ENT_25_Complet_20260901_Eleve_0000.xml"),
    demo_file!("ENT_25_Complet_20260901_Eleve_0001.xml"),
    demo_file!("ENT_25_Complet_20260901_PersRelEleve_0000.xml"),
    demo_file!("ENT_25_Complet_20260901_PersRelEleve_0001.xml"),
    demo_file!("ENT_25_Complet_20260901_EtabEducNat_0000.xml"),
];

/// The SIECLE pair of one secondary school.
const SIECLE: [File; 2] = [
    demo_file!("siecle_0590089B/ElevesSansAdresses.xml"),
    demo_file!("siecle_0590089B/ResponsablesAvecAdresses.xml"),
];

/// The academy codes of the demo AAF exports.
pub const DEMO_ACADEMIES: [&str; 2] = ["14", "25"];

/// The UAI of the demo SIECLE school.
pub const DEMO_SIECLE_UAI: &str = "0590089B";

/// The name of the demo SIECLE school. SIECLE exports do not carry it, so
/// it is added to the directory beside them, as a service would from its
/// own list of schools.
pub const DEMO_SIECLE_SCHOOL: &str = "Cité scolaire Victor Hugo";

/// Why the demo directory could not be loaded: the committed files no
/// longer import cleanly with this version of the core. A bug in the
/// sandbox, never caused by user input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoDirectoryError {
    /// A source's files did not import cleanly.
    #[error("the demo export of {source_id} has {issues} issue(s) and {anomalies} anomaly(ies)")]
    Unclean {
        /// The source whose files have problems.
        source_id: SourceId,
        /// How many issues the import report holds.
        issues: u64,
        /// How many anomalies it holds.
        anomalies: usize,
    },
    /// Reading an embedded file failed.
    #[error("reading the demo export failed: {0}")]
    Io(#[from] std::io::Error),
    /// An id of the demo data is not valid, or two sources collide.
    #[error("the demo directory is inconsistent: {0}")]
    Directory(#[from] DirectoryError),
}

/// The demo directory, source by source, with each import report.
#[derive(Debug)]
pub struct DemoDirectory {
    /// One snapshot per source: Rennes (AAF 14), Versailles (AAF 25), the
    /// SIECLE school.
    pub snapshots: Vec<Arc<DirectorySnapshot>>,
    /// The import report of each source, in the same order.
    pub reports: Vec<ImportReport>,
}

impl DemoDirectory {
    /// Imports the embedded files, keeping every report as it is (clean or
    /// not): for tests that look at the reports.
    pub fn import() -> Result<Self, DemoDirectoryError> {
        let mut snapshots = Vec::new();
        let mut reports = Vec::new();
        for (academy, files) in [("14", &RENNES), ("25", &VERSAILLES)] {
            let mut import = Import::full(
                SourceId::aaf(academy)
                    .map_err(|_| DemoDirectoryError::Directory(DirectoryError::InvalidAcademy))?,
            );
            for (name, bytes) in files {
                import.aaf(name, *bytes)?;
            }
            let (snapshot, report) = import.finish();
            snapshots.push(Arc::new(snapshot));
            reports.push(report);
        }
        let uai = Uai::parse(DEMO_SIECLE_UAI).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, "demo UAI is invalid")
        })?;
        let mut builder = DirectoryBuilder::new(SourceId::siecle(uai));
        builder.add_school(School::new(uai, DEMO_SIECLE_SCHOOL));
        let mut import = Import::with_builder(builder, ImportMode::Full);
        for (name, bytes) in &SIECLE {
            import.siecle(name, *bytes)?;
        }
        let (snapshot, report) = import.finish();
        snapshots.push(Arc::new(snapshot));
        reports.push(report);
        Ok(Self { snapshots, reports })
    }

    /// One directory over every source, as the gateway takes it.
    pub fn into_directory(self) -> Result<Arc<dyn Directory>, DemoDirectoryError> {
        // A snapshot is itself a `Directory`; the demo never reloads, so
        // no `MemoryDirectory` around it is needed.
        let parts = self.snapshots.into_iter().map(|s| s as Arc<dyn Directory>);
        Ok(Arc::new(CompositeDirectory::new(parts)?))
    }
}

/// The demo directory over its three sources (AAF Rennes and Versailles,
/// one SIECLE school), read from the committed export files by the core's
/// importers. Fails if any import report is not clean.
///
/// ```
/// use educonnect_core::directory::Directory;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let directory = educonnect_sandbox::demo_directory()?;
/// assert_eq!(directory.sources().len(), 3);
/// # Ok(())
/// # }
/// ```
pub fn demo_directory() -> Result<Arc<dyn Directory>, DemoDirectoryError> {
    let demo = DemoDirectory::import()?;
    for (snapshot, report) in demo.snapshots.iter().zip(&demo.reports) {
        if !report.is_clean() {
            return Err(DemoDirectoryError::Unclean {
                source_id: snapshot.source().clone(),
                issues: report.issue_count(),
                anomalies: report.anomalies.len(),
            });
        }
    }
    demo.into_directory()
}
