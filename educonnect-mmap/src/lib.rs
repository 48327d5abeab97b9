//! Directory snapshot files on disk: [`open_snapshot`] maps one into
//! memory and checks it, [`write_snapshot`] writes one atomically.
//!
//! `educonnect directory compile` writes a [`DirectorySnapshot`] of each
//! source to a file; a gateway opens it at start instead of importing the
//! exports again. Mapped, the file's pages are the page cache's: a restart
//! is ready once the file is checked (a pass over it at memory speed), and
//! two replicas on one machine share one copy of the pages.
//!
//! # Why a crate of its own, and its one `unsafe` block
//!
//! Mapping a file is `unsafe` in Rust: the compiler cannot know whether
//! another process changes the file while it is mapped, which would change
//! bytes the program reads as immutable (undefined behaviour), or truncates
//! it (a `SIGBUS` on access). `educonnect-core` forbids `unsafe` code, so
//! the mapping lives here, in one block, on one rule:
//!
//! **A snapshot file is never modified in place.** [`write_snapshot`] (and
//! so `educonnect directory compile`) writes a temporary file in the same
//! directory, syncs it, and renames it over the old name: a running
//! service keeps the old file's pages (the old inode lives on until it is
//! unmapped), the next open sees the new one. Deploy snapshots the same way
//! (copy, then rename); never write into a snapshot file that a service may
//! have open.
//!
//! Bytes are checked at open whatever their origin ([`DirectorySnapshot::from_shared`]):
//! a truncated or damaged file is a [`SnapshotError`], never a panic.
//! [`read_snapshot`] reads the file into memory instead of mapping it (no
//! `unsafe`, no sharing between processes).
//!
//! ```no_run
//! use std::sync::Arc;
//! use educonnect_core::directory::{Directory, MemoryDirectory};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let snapshot = educonnect_mmap::open_snapshot("/var/lib/educonnect/aaf_14.snap".as_ref())?;
//! let directory: Arc<dyn Directory> = Arc::new(MemoryDirectory::new(snapshot));
//! # Ok(())
//! # }
//! ```

#![deny(unsafe_op_in_unsafe_fn)]

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use educonnect_core::directory::import::{LoadError, SourceHints, load_export_files};
use educonnect_core::directory::{
    CompositeDirectory, Directory, DirectoryError, DirectorySnapshot, SnapshotError,
};

/// Why a snapshot file could not be opened or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotFileError {
    /// The file could not be read, mapped or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// The file is not a valid snapshot (truncated, damaged, another
    /// version, not a snapshot).
    #[error("{}: {source}", path.display())]
    Snapshot {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: SnapshotError,
    },
}

impl SnapshotFileError {
    fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

/// A read-only mapping of a whole snapshot file.
struct MappedFile(memmap2::Mmap);

impl AsRef<[u8]> for MappedFile {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Maps the snapshot file `path` into memory and checks it whole (see
/// [`DirectorySnapshot::from_shared`]). The file must never be modified in
/// place while the snapshot is alive (records a lookup returned are copies
/// and may outlive it): see the crate documentation.
pub fn open_snapshot(path: &Path) -> Result<DirectorySnapshot, SnapshotFileError> {
    let file = File::open(path).map_err(|e| SnapshotFileError::io(path, e))?;
    let len = file
        .metadata()
        .map_err(|e| SnapshotFileError::io(path, e))?
        .len();
    if len == 0 {
        // An empty file cannot be mapped; it is no snapshot either.
        return Err(SnapshotFileError::Snapshot {
            path: path.to_owned(),
            source: SnapshotError::NotASnapshot,
        });
    }
    // SAFETY: the mapping is read-only and private to this snapshot, and
    // snapshot files are never modified in place (they are replaced by a
    // rename: `write_snapshot`), so the bytes do not change while mapped;
    // the snapshot checks every byte it reads (bounds included) and holds
    // the mapping for as long as it reads it.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|e| SnapshotFileError::io(path, e))?;
    DirectorySnapshot::from_shared(Arc::new(MappedFile(map))).map_err(|source| {
        SnapshotFileError::Snapshot {
            path: path.to_owned(),
            source,
        }
    })
}

/// Reads the snapshot file `path` into memory and checks it whole: no
/// mapping, the process holds its own copy.
pub fn read_snapshot(path: &Path) -> Result<DirectorySnapshot, SnapshotFileError> {
    let bytes = std::fs::read(path).map_err(|e| SnapshotFileError::io(path, e))?;
    DirectorySnapshot::from_bytes(bytes).map_err(|source| SnapshotFileError::Snapshot {
        path: path.to_owned(),
        source,
    })
}

/// Writes `snapshot` to `path` atomically: to a temporary file beside it
/// (`.<name>.tmp-<pid>`), synced, then renamed over `path`. A service that
/// mapped the old file keeps reading the old file.
pub fn write_snapshot(snapshot: &DirectorySnapshot, path: &Path) -> Result<(), SnapshotFileError> {
    let name = path
        .file_name()
        .ok_or_else(|| {
            SnapshotFileError::io(
                path,
                io::Error::new(io::ErrorKind::InvalidInput, "not a file name"),
            )
        })?
        .to_string_lossy();
    let temporary = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let written = (|| {
        let mut file = io::BufWriter::new(File::create(&temporary)?);
        snapshot.write_to(&mut file)?;
        file.flush()?;
        file.get_ref().sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(SnapshotFileError::io(path, e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use educonnect_core::directory::{
        DirectoryBuilder, LegalRank, Link, PersonId, Pupil, PupilId, RelatedPerson, Relationship,
        SourceId,
    };

    fn snapshot() -> DirectorySnapshot {
        let s = SourceId::aaf("14").unwrap();
        let mut b = DirectoryBuilder::new(s.clone());
        let e = PupilId::new(s.clone(), "E1").unwrap();
        let r = PersonId::new(s, "R1").unwrap();
        b.add_pupil(Pupil::new(e.clone(), "LEFEVRE", ["Zoé"]))
            .unwrap();
        b.add_person(RelatedPerson::new(r.clone(), "MARTIN", ["Anne"]))
            .unwrap();
        b.add_link(Link::new(e, r, Relationship::Mother).with_legal(LegalRank::First))
            .unwrap();
        b.build()
    }

    #[test]
    fn a_written_file_maps_and_reads_back_and_a_cut_one_is_refused() {
        let dir = std::env::temp_dir().join(format!("educonnect-mmap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("aaf_14.snap");
        let built = snapshot();
        write_snapshot(&built, &path).unwrap();
        // No temporary file left behind.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        for opened in [open_snapshot(&path).unwrap(), read_snapshot(&path).unwrap()] {
            assert_eq!(opened.as_bytes(), built.as_bytes());
            let mother = PersonId::new(SourceId::aaf("14").unwrap(), "R1").unwrap();
            assert_eq!(opened.pupils_of(&mother).unwrap().len(), 1);
        }
        // Replaced while mapped: the open snapshot keeps its bytes.
        let mapped = open_snapshot(&path).unwrap();
        write_snapshot(
            &DirectorySnapshot::empty(SourceId::aaf("14").unwrap()),
            &path,
        )
        .unwrap();
        assert_eq!(mapped.pupil_count(), 1);
        assert_eq!(open_snapshot(&path).unwrap().pupil_count(), 0);

        let cut = dir.join("cut.snap");
        std::fs::write(&cut, &built.as_bytes()[..built.as_bytes().len() - 3]).unwrap();
        let err = open_snapshot(&cut).unwrap_err();
        assert!(
            matches!(
                err,
                SnapshotFileError::Snapshot {
                    source: SnapshotError::Truncated { .. },
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("cut.snap: the directory snapshot is truncated")
        );
        std::fs::write(&cut, b"").unwrap();
        assert!(matches!(
            open_snapshot(&cut),
            Err(SnapshotFileError::Snapshot {
                source: SnapshotError::NotASnapshot,
                ..
            })
        ));
        assert!(matches!(
            open_snapshot(&dir.join("missing.snap")),
            Err(SnapshotFileError::Io { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// Why [`load_directory`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadDirectoryError {
    /// A snapshot file could not be opened.
    #[error(transparent)]
    Snapshot(#[from] SnapshotFileError),
    /// The export files did not load (see [`load_export_files`]).
    #[error(transparent)]
    Exports(#[from] LoadError),
    /// The snapshots and the exports cannot be served together (one source
    /// given twice).
    #[error(transparent)]
    Directory(#[from] DirectoryError),
}

/// The directory a service serves: each snapshot file mapped and checked
/// ([`open_snapshot`]), the export files imported strictly
/// ([`load_export_files`]), all of them as one directory (a source given
/// twice is an error). What the examples and the C ABI's gateway load.
pub fn load_directory(
    snapshots: &[PathBuf],
    exports: &[PathBuf],
    hints: &SourceHints,
) -> Result<Arc<dyn Directory>, LoadDirectoryError> {
    let mut parts: Vec<Arc<dyn Directory>> = Vec::new();
    for path in snapshots {
        parts.push(Arc::new(open_snapshot(path)?));
    }
    if !exports.is_empty() {
        parts.push(Arc::new(load_export_files(exports, hints)?));
    }
    if parts.len() == 1 {
        return Ok(parts.remove(0));
    }
    Ok(Arc::new(CompositeDirectory::new(parts)?))
}
