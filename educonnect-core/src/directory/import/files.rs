//! Importing a set of export files given by path, as a service's
//! configuration or a command line lists them: each file's format is
//! recognised, files are grouped by source (an AAF academy, a SIECLE
//! school), and each source is imported on its own.

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufReader};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

use super::aaf::{export_of_file_name, is_structure_file};
use super::{ExportFormat, Import, ImportReport, academy_from_file_name, sniff};
use std::sync::Arc;

use crate::directory::{
    CompositeDirectory, Directory, DirectoryError, DirectorySnapshot, SourceId,
};
use crate::ids::Uai;

/// What the files themselves cannot tell: the academy of AAF files whose
/// name does not carry it, the school of SIECLE files (SIECLE exports do
/// not name their school).
#[derive(Debug, Clone, Default)]
pub struct SourceHints {
    /// The academy code of every AAF file (1 to 3 digits). Default: the
    /// file name's code (`ENT_<code>_...`) when it is 1 to 3 digits (a
    /// code such as `0690078K` is a school's or an ENT's, not an
    /// academy's), else the academy that the `ENTServAcAcademie` of the
    /// structures (`..._EtabEducNat_...` files) of the same export names
    /// (see [`academy_code_from_name`](super::academy_code_from_name)).
    pub academy: Option<String>,
    /// The school of every SIECLE file.
    pub uai: Option<Uai>,
}

/// Why a set of files could not be imported at all. Problems inside a file
/// are not errors: they land in that source's [`ImportReport`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FilesError {
    /// A file could not be opened or read.
    #[error("cannot read {path:?}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// Neither the root element nor the name says AAF or SIECLE.
    #[error("{path:?} is neither an AAF nor a SIECLE export (root element or file name)")]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// A SIECLE file, and no school given.
    #[error("{path:?} is a SIECLE export: say which school it belongs to (its UAI)")]
    SchoolNeeded {
        /// The file.
        path: PathBuf,
    },
    /// An AAF file whose academy is neither given, nor in its name, nor
    /// named by the structures of its export.
    #[error(
        "cannot tell the academy of {path:?} from its name (ENT_<code>_...) or from its export's structures (ENTServAcAcademie): give it"
    )]
    AcademyNeeded {
        /// The file.
        path: PathBuf,
    },
    /// The academy code given or read is not 1 to 3 digits.
    #[error("{path:?}: invalid academy code")]
    BadAcademy {
        /// The file.
        path: PathBuf,
    },
}

/// One source's result: its snapshot and the report of its files.
pub struct ImportedSource {
    /// The directory of the source.
    pub snapshot: DirectorySnapshot,
    /// What the import found in its files.
    pub report: ImportReport,
}

impl fmt::Debug for ImportedSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportedSource")
            .field("source", self.snapshot.source())
            .field("report", &self.report)
            .finish()
    }
}

/// Imports `paths` as full exports, grouped by source in the order the
/// sources are first met. A file that cannot be read or placed stops the
/// whole set (nothing is half-loaded); bad records inside a file do not.
///
/// One source after the other, on the calling thread; see
/// [`import_files_in_parallel`] to import several sources at once.
pub fn import_files<P: AsRef<Path>>(
    paths: &[P],
    hints: &SourceHints,
) -> Result<Vec<ImportedSource>, FilesError> {
    import_files_in_parallel(paths, hints, NonZeroUsize::MIN)
}

/// [`import_files`], with up to `threads` sources imported at once, each
/// on its own thread (the files of one source are read in order, by one
/// thread: a delta applies after the full export). The result is the
/// same, in the same order, and so is the error when a file cannot be read
/// or placed (the first such file in the order given).
///
/// A national directory is some thirty academies' AAF exports and
/// thousands of schools' SIECLE exports: they import in the time of the
/// largest source once there are enough cores. Each thread holds one
/// source's builder while it imports it, so the memory peak is that of the
/// `threads` largest sources at once (about 0.7 GiB per million guardians
/// each, see `benches/directory.rs`), plus the snapshots built.
pub fn import_files_in_parallel<P: AsRef<Path>>(
    paths: &[P],
    hints: &SourceHints,
    threads: NonZeroUsize,
) -> Result<Vec<ImportedSource>, FilesError> {
    let paths: Vec<&Path> = paths.iter().map(AsRef::as_ref).collect();
    let formats = paths
        .iter()
        .map(|p| format_of(p))
        .collect::<Result<Vec<_>, _>>()?;
    let academies = academies_of_exports(&paths, &formats, hints)?;
    // Every file placed in its source, up to the first that cannot be:
    // the files before it are still read first, as one after the other
    // would, so that the error returned is the first in the given order.
    let mut groups: Vec<(SourceId, Vec<usize>)> = Vec::new();
    let mut misplaced = None;
    for (i, (path, &format)) in paths.iter().zip(&formats).enumerate() {
        let source = match source_of(hints, path, format, &academies) {
            Ok(source) => source,
            Err(e) => {
                misplaced = Some(e);
                break;
            }
        };
        match groups.iter_mut().find(|(s, _)| *s == source) {
            Some((_, files)) => files.push(i),
            None => groups.push((source, vec![i])),
        }
    }

    let import_group = |(source, files): &(SourceId, Vec<usize>)| {
        let mut import = Import::full(source.clone());
        for &i in files {
            let read = match formats[i] {
                ExportFormat::Aaf => import.aaf_file(paths[i]),
                _ => import.siecle_file(paths[i]),
            };
            read.map_err(|source| {
                (
                    i,
                    FilesError::Read {
                        path: paths[i].to_owned(),
                        source,
                    },
                )
            })?;
        }
        let (snapshot, report) = import.finish();
        Ok(ImportedSource { snapshot, report })
    };
    let results: Vec<GroupResult> = if threads.get() == 1 || groups.len() < 2 {
        groups.iter().map(import_group).collect()
    } else {
        // Workers take the next source in order until none is left.
        let next = AtomicUsize::new(0);
        let done: Vec<Mutex<Option<GroupResult>>> =
            groups.iter().map(|_| Mutex::new(None)).collect();
        std::thread::scope(|scope| {
            for _ in 0..threads.get().min(groups.len()) {
                scope.spawn(|| {
                    loop {
                        let g = next.fetch_add(1, Ordering::Relaxed);
                        let Some(group) = groups.get(g) else {
                            break;
                        };
                        let result = import_group(group);
                        *done[g].lock().unwrap_or_else(PoisonError::into_inner) = Some(result);
                    }
                });
            }
        });
        done.into_iter()
            .filter_map(|slot| slot.into_inner().unwrap_or_else(PoisonError::into_inner))
            .collect()
    };

    let mut imported = Vec::with_capacity(results.len());
    let mut first_error: Option<(usize, FilesError)> = None;
    for result in results {
        match result {
            Ok(source) => imported.push(source),
            Err((i, e)) => {
                if first_error.as_ref().is_none_or(|(j, _)| i < *j) {
                    first_error = Some((i, e));
                }
            }
        }
    }
    if let Some((_, e)) = first_error {
        return Err(e);
    }
    if let Some(e) = misplaced {
        return Err(e);
    }
    Ok(imported)
}

/// One source imported, or the first file of it that could not be read
/// (its index in the given order, and the error).
type GroupResult = Result<ImportedSource, (usize, FilesError)>;

/// The format, from the root element, else from the file name.
fn format_of(path: &Path) -> Result<ExportFormat, FilesError> {
    let read_error = |source| FilesError::Read {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(read_error)?;
    if let Some(format) = sniff(BufReader::new(file)).map_err(read_error)? {
        return Ok(format);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    if academy_from_file_name(&name).is_some() {
        Ok(ExportFormat::Aaf)
    } else if name.starts_with("ElevesSansAdresses") {
        Ok(ExportFormat::SiecleEleves)
    } else if name.starts_with("ResponsablesAvecAdresses") {
        Ok(ExportFormat::SiecleResponsables)
    } else {
        Err(FilesError::UnknownFormat {
            path: path.to_owned(),
        })
    }
}

/// The academies that the structures of exports name, by export (see
/// [`export_of_file_name`]), for the AAF files whose academy is neither
/// given nor in their name. Only the exports' `EtabEducNat` files are read.
fn academies_of_exports<P: AsRef<Path>>(
    paths: &[P],
    formats: &[ExportFormat],
    hints: &SourceHints,
) -> Result<HashMap<String, Option<&'static str>>, FilesError> {
    let mut academies = HashMap::new();
    if hints.academy.is_some() {
        return Ok(academies);
    }
    for (path, &format) in paths.iter().zip(formats) {
        let name = path.as_ref().to_string_lossy();
        if format != ExportFormat::Aaf || academy_from_file_name(&name).is_some() {
            continue;
        }
        let export = export_of_file_name(&name);
        if academies.contains_key(export) {
            continue;
        }
        let mut found = None;
        for (other, &format) in paths.iter().zip(formats) {
            let other = other.as_ref();
            let other_name = other.to_string_lossy();
            if format != ExportFormat::Aaf
                || export_of_file_name(&other_name) != export
                || !is_structure_file(&other_name)
            {
                continue;
            }
            // A throwaway import: only the academy is kept.
            let placeholder = SourceId::aaf("0").expect("a valid academy code");
            let mut import = Import::full(placeholder);
            import.aaf_file(other).map_err(|source| FilesError::Read {
                path: other.to_owned(),
                source,
            })?;
            found = import.academy();
            if found.is_some() {
                break;
            }
        }
        academies.insert(export.to_owned(), found);
    }
    Ok(academies)
}

fn source_of(
    hints: &SourceHints,
    path: &Path,
    format: ExportFormat,
    academies: &HashMap<String, Option<&'static str>>,
) -> Result<SourceId, FilesError> {
    if format.is_siecle() {
        return hints
            .uai
            .map(SourceId::siecle)
            .ok_or_else(|| FilesError::SchoolNeeded {
                path: path.to_owned(),
            });
    }
    let name = path.to_string_lossy();
    let academy = match &hints.academy {
        Some(academy) => academy.as_str(),
        None => academy_from_file_name(&name)
            .or_else(|| academies.get(export_of_file_name(&name)).copied().flatten())
            .ok_or_else(|| FilesError::AcademyNeeded {
                path: path.to_owned(),
            })?,
    };
    SourceId::aaf(academy).map_err(|_| FilesError::BadAcademy {
        path: path.to_owned(),
    })
}

/// Why export files could not become a directory to serve
/// ([`load_export_files`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The files could not be imported at all.
    #[error(transparent)]
    Files(#[from] FilesError),
    /// A file was read but did not load: not read to its end, or no record
    /// in it.
    #[error("{file}: {reason}")]
    Incomplete {
        /// The file.
        file: String,
        /// Why, with the import's reason and position when it gave one
        /// (never a record's content).
        reason: String,
    },
    /// The sources could not be served together (the same source twice).
    #[error(transparent)]
    Directory(#[from] DirectoryError),
}

/// Imports export files (AAF and SIECLE, as [`import_files`] does) into one
/// directory to serve, strictly: a file that is not read to its end or
/// holds no record is an error naming it, so that a broken export is never
/// served as an empty or partial directory. Logs each source's counts (no
/// record, no name). Used by the examples and the C ABI's gateway.
pub fn load_export_files<P: AsRef<Path>>(
    paths: &[P],
    hints: &SourceHints,
) -> Result<CompositeDirectory, LoadError> {
    let sources = import_files(paths, hints)?;
    let mut parts: Vec<Arc<dyn Directory>> = Vec::new();
    for source in sources {
        let report = &source.report;
        for file in &report.files {
            let failed = if !file.complete {
                Some("not read to its end")
            } else if file.counts.records == 0 {
                Some("no record in it")
            } else {
                None
            };
            if let Some(failed) = failed {
                // The issue about the file as a whole (no record id): it
                // names no person.
                let cause = report
                    .issues
                    .iter()
                    .find(|i| i.file == file.file && i.record_id.is_none())
                    .map(|i| format!(" ({}, at byte {})", i.reason, i.position))
                    .unwrap_or_default();
                return Err(LoadError::Incomplete {
                    file: file.file.clone(),
                    reason: format!("{failed}{cause}"),
                });
            }
        }
        // Counts only: the issues name records, which is the operator's
        // business (`educonnect directory check` prints them).
        tracing::info!(
            source = %source.snapshot.source(),
            pupils = source.snapshot.pupil_count(),
            persons = source.snapshot.person_count(),
            issues = report.issue_count(),
            anomalies = report.anomalies.len(),
            "directory source loaded"
        );
        parts.push(Arc::new(source.snapshot));
    }
    Ok(CompositeDirectory::new(parts)?)
}
