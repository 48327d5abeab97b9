//! [`DirectorySnapshot`]: one source's records and indexes in one byte
//! buffer, the same in memory and in a snapshot file.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::sync::Arc;

use async_trait::async_trait;
use foldhash::fast::RandomState;

use super::compact::{
    self, Keys, PersonView, Probe, PupilView, Reader, check_table, decode_link, record_local,
    u16_at, u32_at, u64_at,
};
use super::memory::{Anomaly, DirectoryBuilder};
use super::model::{
    DirectoryPerson, Link, LinkedPupil, PersonId, Pupil, PupilId, RelatedPerson, School, SourceId,
};
use super::names::{Candidate, NameQuery};
use super::{Directory, DirectoryError};
use crate::ids::Uai;

/// The bytes a snapshot reads from: an owned buffer (what
/// [`DirectoryBuilder::build`] makes, or a file read into memory), or a
/// file mapped into memory by a crate that may use `unsafe` (the core does
/// not).
pub type SnapshotBytes = Arc<dyn AsRef<[u8]> + Send + Sync>;

/// Why bytes are not a snapshot this build can open. Messages name what is
/// wrong, never a record's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The bytes do not start with the snapshot magic: another kind of file.
    #[error("not a directory snapshot (no snapshot magic at the start)")]
    NotASnapshot,
    /// A snapshot in a format version this build does not read (written by
    /// another version of the library): compile it again.
    #[error(
        "directory snapshot format version {found} is not supported (this build reads version {supported}): compile the snapshot again"
    )]
    UnsupportedVersion {
        /// The file's version.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// The bytes end before the length the header announces: a copy or a
    /// write that did not finish.
    #[error("the directory snapshot is truncated: {found} bytes where {expected} were expected")]
    Truncated {
        /// The length announced (at least the header's, when the header
        /// itself is cut).
        expected: u64,
        /// The length found.
        found: u64,
    },
    /// More bytes than the header announces.
    #[error("the directory snapshot has {found} bytes where its header announces {expected}")]
    TrailingBytes {
        /// The length announced.
        expected: u64,
        /// The length found.
        found: u64,
    },
    /// The checksum of the body does not match the header's: the file was
    /// damaged (or modified in place, which is not allowed).
    #[error("the directory snapshot is corrupt: its checksum does not match its content")]
    ChecksumMismatch,
    /// The checksum matches, but a section is not what this version writes
    /// (a bug, or a file crafted to pass the checksum).
    #[error("the directory snapshot is corrupt: invalid {0}")]
    Invalid(&'static str),
}

/// The file magic: `EDUCDIR` and a format-specific byte.
const MAGIC: [u8; 8] = *b"EDUCDIR\x1a";
/// The format version this build writes and reads.
pub(crate) const VERSION: u32 = 1;

const META: usize = 0;
const PUPIL_RECORDS: usize = 1;
const PUPIL_OFFSETS: usize = 2;
const PUPIL_INDEX: usize = 3;
const PERSON_RECORDS: usize = 4;
const PERSON_OFFSETS: usize = 5;
const PERSON_INDEX: usize = 6;
const LINK_START: usize = 7;
const LINK_PUPILS: usize = 8;
const LINK_CODES: usize = 9;
const NAME_INDEX: usize = 10;
const NAME_GROUPS: usize = 11;
const NAME_ENTRIES: usize = 12;
const SCHOOL_LOCAL_INDEX: usize = 13;
const SCHOOLS: usize = 14;
const STRINGS: usize = 15;
const ANOMALIES: usize = 16;
/// The number of sections.
pub(crate) const SECTIONS: usize = 17;

/// Section names, for error messages.
const SECTION_NAMES: [&str; SECTIONS] = [
    "source",
    "pupil records",
    "pupil offsets",
    "pupil id index",
    "person records",
    "person offsets",
    "person id index",
    "link offsets",
    "link pupils",
    "link codes",
    "name index",
    "name groups",
    "name entries",
    "school-local id index",
    "schools",
    "interned strings",
    "anomalies",
];

/// Magic (8), version (4), section count (4), checksum (8), total length
/// (8), hash key (16), then the section table (offset and length, 8 bytes
/// each, per section).
const TABLE_AT: usize = 48;
const HEADER_LEN: usize = TABLE_AT + SECTIONS * 16;
/// The checksum covers everything after itself.
const CHECKSUMMED_FROM: usize = 24;

/// The sections of a snapshot being built, in order: what
/// [`DirectoryBuilder::build`] encodes.
pub(crate) struct Sections {
    pub(crate) keys: Keys,
    pub(crate) sections: [Vec<u8>; SECTIONS],
}

impl Sections {
    /// The snapshot file's bytes: header, section table, sections; the
    /// sections are consumed one by one so that the peak is the records'
    /// size once, plus the largest section.
    fn assemble(self) -> Vec<u8> {
        let total = HEADER_LEN + self.sections.iter().map(Vec::len).sum::<usize>();
        let mut out = Vec::with_capacity(total);
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(SECTIONS as u32).to_le_bytes());
        out.extend_from_slice(&[0; 8]); // checksum, below
        out.extend_from_slice(&(total as u64).to_le_bytes());
        out.extend_from_slice(&self.keys.k0.to_le_bytes());
        out.extend_from_slice(&self.keys.k1.to_le_bytes());
        let mut offset = HEADER_LEN;
        for section in &self.sections {
            out.extend_from_slice(&(offset as u64).to_le_bytes());
            out.extend_from_slice(&(section.len() as u64).to_le_bytes());
            offset += section.len();
        }
        for section in self.sections {
            out.extend_from_slice(&section);
        }
        let sum = compact::checksum(&out[CHECKSUMMED_FROM..]);
        out[16..24].copy_from_slice(&sum.to_le_bytes());
        out
    }

    /// The snapshot of these sections.
    pub(crate) fn into_snapshot(self) -> DirectorySnapshot {
        let bytes: SnapshotBytes = Arc::new(self.assemble());
        // Written just now: the records need no second check, except in
        // debug builds (tests), where every build checks the encoder.
        let check = cfg!(debug_assertions);
        DirectorySnapshot::open(bytes, check, false).expect("a snapshot just encoded reads back")
    }
}

/// Recomputes the checksum of `bytes` in place, if it has a header (for
/// the fuzz target, so that mutated files reach the checks behind it).
pub(crate) fn fix_checksum(bytes: &mut [u8]) {
    if bytes.len() >= CHECKSUMMED_FROM {
        let sum = compact::checksum(&bytes[CHECKSUMMED_FROM..]);
        bytes[16..24].copy_from_slice(&sum.to_le_bytes());
    }
}

/// One source's records with their indexes, immutable, in one byte buffer:
/// built by a [`DirectoryBuilder`], or opened from a snapshot file written
/// by [`write_to`](Self::write_to) (`educonnect directory compile`); shared
/// through a [`MemoryDirectory`](super::MemoryDirectory).
///
/// Its lookups are synchronous and never fail except for an id of another
/// source ([`DirectoryError::UnknownSource`]); the [`Directory`]
/// implementation is the same lookups behind the async interface. Records
/// are decoded from the buffer on demand: each lookup returns records of
/// its own (`Arc`), built from the bytes.
///
/// # Layout
///
/// A header (magic, format version, a checksum of everything after it,
/// the total length, the hash key, a table of 17 sections), then the
/// sections. Integers are little-endian, read from byte slices (no
/// alignment needed). Records are sorted by local id; a record's
/// *position* is its rank in that order.
///
/// | section | content |
/// |---|---|
/// | pupil, person records | one record after the other: length-prefixed UTF-8 strings, a flags byte, packed birth date (4 bytes), UAI and INE as their 8 and 11 bytes, levels and classes as numbers of interned strings |
/// | pupil, person offsets | `u64` start of each record, and the end |
/// | pupil, person id index | open-addressed table of 8-byte slots (32-bit hash tag, position + 1), keyed by local id |
/// | link offsets, pupils, codes | links grouped by person: person `p`'s are `start[p]..start[p + 1]`; each a pupil position (`u32`) and its codes (`u16`) |
/// | name index, groups, entries | table keyed by family name key → a family's run of entries, each a given-name key hash (`u32`) and a person position, sorted by the hash |
/// | school-local id index | table keyed by (UAI, [`Pupil::school_local_id`]) → pupil position |
/// | schools, interned strings, anomalies | small: decoded at open |
///
/// Every lookup is one or a few hash probes, never a scan, so its cost does
/// not grow with the directory. Keys are hashed with SipHash-1-3 under a
/// random key per build, stored in the header: names crafted to collide
/// cannot degrade lookups without the file.
///
/// Each related person is indexed under each of its family names (birth and
/// usage, by [`family_name_key`](super::family_name_key)) paired with its
/// first given name, normalized. A [`NameQuery`] looks up each of its
/// family names (one or two hash probes: the cache misses that count at
/// national scale), then, within that family's entries (a few, usually in
/// one cache line), each of its given names and each run of its first
/// words (`ANNE`, `ANNE MARIE`, `ANNE MARIE CLAIRE`) by binary search:
/// that finds every record that [`NameQuery::matches`]; the match is then
/// checked on the record (hash collisions are harmless) and classified.
/// The work per lookup grows with the number of candidates and, for the
/// commonest family names (tens of thousands of `MARTIN`), with the log of
/// the family's size; not with the size of the directory.
///
/// # Opening a file
///
/// [`from_bytes`](Self::from_bytes) and [`from_shared`](Self::from_shared)
/// check everything before answering: the magic, the version, the length
/// (a truncated file is [`SnapshotError::Truncated`]), the checksum (a
/// damaged one is [`SnapshotError::ChecksumMismatch`]), then every section
/// and every record (a file crafted to pass the checksum is
/// [`SnapshotError::Invalid`]); never a panic. A file mapped into memory
/// must never change while open: write a new snapshot under a temporary
/// name and rename it over the old one.
pub struct DirectorySnapshot {
    bytes: SnapshotBytes,
    keys: Keys,
    source: SourceId,
    ranges: [(usize, usize); SECTIONS],
    pupil_count: usize,
    person_count: usize,
    link_count: usize,
    schools: HashMap<Uai, School, RandomState>,
    strings: Vec<Box<str>>,
    anomalies: Vec<Anomaly>,
    /// Which export it was built from (see [`export`](Self::export)).
    export: Option<Arc<str>>,
}

fn invalid(section: usize) -> SnapshotError {
    SnapshotError::Invalid(SECTION_NAMES[section])
}

/// Checks an array of `u32` or `u64` offsets: `count + 1` of them, from 0,
/// never decreasing, ending at `end`.
fn check_offsets(bytes: &[u8], width: usize, end: u64) -> Option<usize> {
    if !bytes.len().is_multiple_of(width) || bytes.len() < width {
        return None;
    }
    let n = bytes.len() / width;
    let at = |i: usize| {
        if width == 8 {
            u64_at(bytes, i)
        } else {
            u32_at(bytes, i).map(u64::from)
        }
    };
    let mut previous = 0;
    for i in 0..n {
        let offset = at(i)?;
        if (i == 0 && offset != 0) || offset < previous {
            return None;
        }
        previous = offset;
    }
    (previous == end).then_some(n - 1)
}

impl DirectorySnapshot {
    /// An empty snapshot of `source`.
    pub fn empty(source: SourceId) -> Self {
        DirectoryBuilder::new(source).build()
    }

    /// Opens a snapshot file's bytes (read into memory), checking them
    /// all: see [Opening a file](Self#opening-a-file).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, SnapshotError> {
        Self::from_shared(Arc::new(bytes))
    }

    /// Opens a snapshot from any owner of its bytes (a memory-mapped file),
    /// checking them all: see [Opening a file](Self#opening-a-file). The
    /// bytes must not change while the snapshot is alive.
    pub fn from_shared(bytes: SnapshotBytes) -> Result<Self, SnapshotError> {
        Self::open(bytes, true, true)
    }

    /// Opens the bytes: the header always; the checksum if `checksum`, the
    /// records if `records` (the sections' structure always).
    fn open(bytes: SnapshotBytes, records: bool, checksum: bool) -> Result<Self, SnapshotError> {
        let data: &[u8] = (*bytes).as_ref();
        let found = data.len() as u64;
        let truncated = |expected: usize| SnapshotError::Truncated {
            expected: expected as u64,
            found,
        };
        if data.len() < MAGIC.len() {
            return Err(if MAGIC.starts_with(data) && !data.is_empty() {
                truncated(HEADER_LEN)
            } else {
                SnapshotError::NotASnapshot
            });
        }
        if data[..8] != MAGIC {
            return Err(SnapshotError::NotASnapshot);
        }
        let mut header = Reader::new(&data[8..]);
        let word = |r: &mut Reader<'_>| {
            r.take(4)
                .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        };
        let version = word(&mut header).ok_or_else(|| truncated(HEADER_LEN))?;
        if version != VERSION {
            return Err(SnapshotError::UnsupportedVersion {
                found: version,
                supported: VERSION,
            });
        }
        if data.len() < HEADER_LEN {
            return Err(truncated(HEADER_LEN));
        }
        let field = |i: usize| u64_at(data, i).unwrap_or(0);
        if u32_at(data, 3) != Some(SECTIONS as u32) {
            return Err(SnapshotError::Invalid("section table"));
        }
        let (sum, total) = (field(2), field(3));
        if found < total {
            return Err(SnapshotError::Truncated {
                expected: total,
                found,
            });
        }
        if found > total {
            return Err(SnapshotError::TrailingBytes {
                expected: total,
                found,
            });
        }
        if checksum && compact::checksum(&data[CHECKSUMMED_FROM..]) != sum {
            return Err(SnapshotError::ChecksumMismatch);
        }
        let keys = Keys {
            k0: field(4),
            k1: field(5),
        };
        let mut ranges = [(0, 0); SECTIONS];
        for (i, range) in ranges.iter_mut().enumerate() {
            let offset = field(TABLE_AT / 8 + 2 * i);
            let len = field(TABLE_AT / 8 + 2 * i + 1);
            let end = offset.checked_add(len).ok_or_else(|| invalid(i))?;
            if offset < HEADER_LEN as u64 || end > total {
                return Err(invalid(i));
            }
            *range = (offset as usize, end as usize);
        }
        let section = |i: usize| &data[ranges[i].0..ranges[i].1];

        // The source, then the export's name if the importer gave one.
        let mut meta = Reader::new(section(META));
        let source = meta
            .str()
            .and_then(|s| SourceId::parse(s).ok())
            .ok_or_else(|| invalid(META))?;
        let export: Option<Arc<str>> = if meta.is_empty() {
            None
        } else {
            Some(meta.str().ok_or_else(|| invalid(META))?.into())
        };
        if !meta.is_empty() {
            return Err(invalid(META));
        }
        let strings = compact::decode_strings(section(STRINGS)).ok_or_else(|| invalid(STRINGS))?;
        let schools: HashMap<Uai, School, RandomState> = compact::decode_schools(section(SCHOOLS))
            .ok_or_else(|| invalid(SCHOOLS))?
            .into_iter()
            .map(|s| (s.uai, s))
            .collect();
        let anomalies = compact::decode_anomalies(section(ANOMALIES), &source)
            .ok_or_else(|| invalid(ANOMALIES))?;

        let pupil_count = check_offsets(
            section(PUPIL_OFFSETS),
            8,
            section(PUPIL_RECORDS).len() as u64,
        )
        .filter(|&n| n < u32::MAX as usize)
        .ok_or_else(|| invalid(PUPIL_OFFSETS))?;
        let person_count = check_offsets(
            section(PERSON_OFFSETS),
            8,
            section(PERSON_RECORDS).len() as u64,
        )
        .filter(|&n| n < u32::MAX as usize)
        .ok_or_else(|| invalid(PERSON_OFFSETS))?;
        for (index, values) in [
            (PUPIL_INDEX, pupil_count),
            (PERSON_INDEX, person_count),
            (SCHOOL_LOCAL_INDEX, pupil_count),
        ] {
            if !check_table(section(index), values) {
                return Err(invalid(index));
            }
        }

        let link_count = section(LINK_PUPILS).len() / 4;
        if !section(LINK_PUPILS).len().is_multiple_of(4) {
            return Err(invalid(LINK_PUPILS));
        }
        if check_offsets(section(LINK_START), 4, link_count as u64) != Some(person_count) {
            return Err(invalid(LINK_START));
        }
        let pupils = section(LINK_PUPILS);
        if !(0..link_count).all(|i| u32_at(pupils, i).is_some_and(|p| (p as usize) < pupil_count)) {
            return Err(invalid(LINK_PUPILS));
        }
        let codes = section(LINK_CODES);
        if codes.len() != 2 * link_count
            || !(0..link_count).all(|i| u16_at(codes, i).is_some_and(compact::valid_link_bits))
        {
            return Err(invalid(LINK_CODES));
        }

        let entries = section(NAME_ENTRIES);
        if !entries.len().is_multiple_of(8)
            || !(0..entries.len() / 8)
                .all(|i| u32_at(entries, 2 * i + 1).is_some_and(|p| (p as usize) < person_count))
        {
            return Err(invalid(NAME_ENTRIES));
        }
        let groups = check_offsets(section(NAME_GROUPS), 4, (entries.len() / 8) as u64)
            .ok_or_else(|| invalid(NAME_GROUPS))?;
        if !check_table(section(NAME_INDEX), groups) {
            return Err(invalid(NAME_INDEX));
        }

        let snapshot = Self {
            bytes: bytes.clone(),
            keys,
            source,
            ranges,
            pupil_count,
            person_count,
            link_count,
            schools,
            strings,
            anomalies,
            export,
        };
        if records {
            for p in 0..pupil_count {
                if snapshot.pupil_view(p).is_none() {
                    return Err(invalid(PUPIL_RECORDS));
                }
            }
            for p in 0..person_count {
                if snapshot.person_view(p).is_none() {
                    return Err(invalid(PERSON_RECORDS));
                }
            }
        }
        Ok(snapshot)
    }

    /// The snapshot's bytes: what [`write_to`](Self::write_to) writes and
    /// [`from_bytes`](Self::from_bytes) reads back.
    pub fn as_bytes(&self) -> &[u8] {
        (*self.bytes).as_ref()
    }

    /// Writes the snapshot file. Write it under a temporary name, then
    /// rename it over the old one: a file mapped by a running service must
    /// never change in place.
    pub fn write_to(&self, out: &mut impl io::Write) -> io::Result<()> {
        out.write_all(self.as_bytes())
    }

    /// The source.
    pub fn source(&self) -> &SourceId {
        &self.source
    }

    /// The number of pupils.
    pub fn pupil_count(&self) -> usize {
        self.pupil_count
    }

    /// The number of related persons.
    pub fn person_count(&self) -> usize {
        self.person_count
    }

    /// The number of links (dangling ones were dropped).
    pub fn link_count(&self) -> usize {
        self.link_count
    }

    /// The number of schools.
    pub fn school_count(&self) -> usize {
        self.schools.len()
    }

    /// What looked wrong in the records it was built from.
    pub fn anomalies(&self) -> &[Anomaly] {
        &self.anomalies
    }

    /// Every pupil, by local id (for reports and exports; the flow looks
    /// pupils up by id). Each is decoded as the iterator reaches it.
    pub fn pupils(&self) -> impl ExactSizeIterator<Item = Arc<Pupil>> + '_ {
        (0..self.pupil_count).map(|p| self.pupil_at(p).expect("records checked at open"))
    }

    /// Every related person, by local id (for reports and exports; the
    /// flow looks persons up by id or name).
    pub fn persons(&self) -> impl ExactSizeIterator<Item = Arc<RelatedPerson>> + '_ {
        (0..self.person_count).map(|p| self.person_at(p).expect("records checked at open"))
    }

    /// Every school, in no particular order.
    pub fn schools(&self) -> impl ExactSizeIterator<Item = &School> + '_ {
        self.schools.values()
    }

    /// Every link, grouped by person (for a delta's builder).
    pub(crate) fn links(&self) -> impl Iterator<Item = Link> + '_ {
        (0..self.person_count).flat_map(move |p| {
            let person = self
                .person_view(p)
                .map(|v| PersonId::checked(self.source.clone(), v.local));
            self.link_range(p).filter_map(move |i| {
                let (pupil, bits) = self.link_at(i)?;
                let pupil = self.pupil_view(pupil)?;
                decode_link(
                    bits,
                    PupilId::checked(self.source.clone(), pupil.local),
                    person.clone()?,
                )
            })
        })
    }

    fn section(&self, i: usize) -> &[u8] {
        let (start, end) = self.ranges[i];
        self.as_bytes().get(start..end).unwrap_or(&[])
    }

    fn record(&self, records: usize, offsets: usize, p: usize) -> Option<&[u8]> {
        let offsets = self.section(offsets);
        let start = usize::try_from(u64_at(offsets, p)?).ok()?;
        let end = usize::try_from(u64_at(offsets, p + 1)?).ok()?;
        self.section(records).get(start..end)
    }

    fn pupil_view(&self, p: usize) -> Option<PupilView<'_>> {
        PupilView::parse(
            self.record(PUPIL_RECORDS, PUPIL_OFFSETS, p)?,
            self.strings.len(),
        )
    }

    fn person_view(&self, p: usize) -> Option<PersonView<'_>> {
        PersonView::parse(self.record(PERSON_RECORDS, PERSON_OFFSETS, p)?)
    }

    fn pupil_at(&self, p: usize) -> Option<Arc<Pupil>> {
        let view = self.pupil_view(p)?;
        Some(Arc::new(view.to_pupil(&self.source, &self.strings)))
    }

    fn person_at(&self, p: usize) -> Option<Arc<RelatedPerson>> {
        Some(Arc::new(self.person_view(p)?.to_person(&self.source)))
    }

    fn position(&self, index: usize, records: usize, offsets: usize, local: &str) -> Option<usize> {
        Probe::new(self.section(index), self.keys.id(local))
            .map(|p| p as usize)
            .find(|&p| {
                self.record(records, offsets, p).and_then(record_local) == Some(local.as_bytes())
            })
    }

    fn person_position(&self, local: &str) -> Option<usize> {
        self.position(PERSON_INDEX, PERSON_RECORDS, PERSON_OFFSETS, local)
    }

    fn pupil_position(&self, local: &str) -> Option<usize> {
        self.position(PUPIL_INDEX, PUPIL_RECORDS, PUPIL_OFFSETS, local)
    }

    fn link_range(&self, person: usize) -> std::ops::Range<usize> {
        let starts = self.section(LINK_START);
        let start = u32_at(starts, person).unwrap_or(0) as usize;
        let end = u32_at(starts, person + 1).unwrap_or(0) as usize;
        start..end.max(start)
    }

    fn link_at(&self, i: usize) -> Option<(usize, u16)> {
        let pupil = u32_at(self.section(LINK_PUPILS), i)? as usize;
        Some((pupil, u16_at(self.section(LINK_CODES), i)?))
    }

    fn check_source(&self, source: &SourceId) -> Result<(), DirectoryError> {
        if *source != self.source {
            return Err(DirectoryError::UnknownSource(source.clone()));
        }
        Ok(())
    }

    /// The related person `id`.
    pub fn person(&self, id: &PersonId) -> Result<Option<Arc<RelatedPerson>>, DirectoryError> {
        self.check_source(id.source())?;
        Ok(self
            .person_position(id.local())
            .and_then(|p| self.person_at(p)))
    }

    /// The pupil `id`.
    pub fn pupil(&self, id: &PupilId) -> Result<Option<Arc<Pupil>>, DirectoryError> {
        self.check_source(id.source())?;
        Ok(self
            .pupil_position(id.local())
            .and_then(|p| self.pupil_at(p)))
    }

    /// The pupils of the person `id`, with their links, ordered by pupil id.
    pub fn pupils_of(&self, id: &PersonId) -> Result<Vec<LinkedPupil>, DirectoryError> {
        self.check_source(id.source())?;
        let Some(p) = self.person_position(id.local()) else {
            return Ok(Vec::new());
        };
        let mut pupils: Vec<LinkedPupil> = self
            .link_range(p)
            .filter_map(|i| {
                let (pupil, bits) = self.link_at(i)?;
                let pupil = self.pupil_at(pupil)?;
                let link = decode_link(bits, pupil.id.clone(), id.clone())?;
                Some(LinkedPupil { link, pupil })
            })
            .collect();
        pupils.sort_by(|a, b| a.pupil.id.cmp(&b.pupil.id));
        Ok(pupils)
    }

    /// The related persons whose names fit `query`, best fit first, then by
    /// id.
    pub fn guardian_candidates(&self, query: &NameQuery) -> Vec<Candidate> {
        if !query.is_searchable() {
            return Vec::new();
        }
        let (index, groups, entries) = (
            self.section(NAME_INDEX),
            self.section(NAME_GROUPS),
            self.section(NAME_ENTRIES),
        );
        let given: Vec<u32> = query
            .given_keys()
            .iter()
            .map(|g| self.keys.given(g))
            .collect();
        let mut hits: Vec<u32> = Vec::new();
        for (_, family) in query.family_keys() {
            for group in Probe::new(index, self.keys.family(family)) {
                let g = group as usize;
                let (Some(start), Some(end)) = (u32_at(groups, g), u32_at(groups, g + 1)) else {
                    continue;
                };
                let (start, end) = (start as usize, end as usize);
                for &key in &given {
                    // The family's entries are sorted by given-name key:
                    // the first one at `key`, then the run.
                    let (mut low, mut high) = (start, end.max(start));
                    while low < high {
                        let mid = low + (high - low) / 2;
                        if u32_at(entries, 2 * mid).is_some_and(|k| k < key) {
                            low = mid + 1;
                        } else {
                            high = mid;
                        }
                    }
                    for e in low..end {
                        if u32_at(entries, 2 * e) != Some(key) {
                            break;
                        }
                        hits.extend(u32_at(entries, 2 * e + 1));
                    }
                }
            }
        }
        hits.sort_unstable();
        hits.dedup();
        let mut candidates: Vec<Candidate> = hits
            .into_iter()
            .filter_map(|p| {
                let person = self.person_at(p as usize)?;
                let name_match = query.matches(&person)?;
                Some(Candidate { person, name_match })
            })
            .collect();
        candidates.sort_by(|a, b| {
            (a.name_match.given, &a.person.id).cmp(&(b.name_match.given, &b.person.id))
        });
        candidates
    }

    /// What the AAF join key names in this source, a related person first
    /// (AAF join keys are unique across pupils and related persons within an
    /// academy).
    pub fn person_by_aaf_join_key(
        &self,
        academy: &str,
        join_key: &str,
    ) -> Result<Option<DirectoryPerson>, DirectoryError> {
        if self.source.academy() != Some(academy) {
            let source = SourceId::aaf(academy).map_err(|_| DirectoryError::InvalidAcademy)?;
            return Err(DirectoryError::UnknownSource(source));
        }
        if let Some(person) = self
            .person_position(join_key)
            .and_then(|p| self.person_at(p))
        {
            return Ok(Some(DirectoryPerson::Related(person)));
        }
        Ok(self
            .pupil_position(join_key)
            .and_then(|p| self.pupil_at(p))
            .map(DirectoryPerson::Pupil))
    }

    /// The pupil of the school `uai` whose id in the school's own system is
    /// `local_id` (see [`Directory::pupil_by_school_local_id`]); the first
    /// by pupil id if the source has several.
    pub fn pupil_by_school_local_id(&self, uai: &Uai, local_id: &str) -> Option<Arc<Pupil>> {
        let hash = self.keys.school_local(uai, local_id);
        Probe::new(self.section(SCHOOL_LOCAL_INDEX), hash)
            .map(|p| p as usize)
            .find(|&p| {
                self.pupil_view(p)
                    .is_some_and(|v| v.school == Some(*uai) && v.school_local_id == Some(local_id))
            })
            .and_then(|p| self.pupil_at(p))
    }

    /// The school `uai`.
    pub fn school(&self, uai: &Uai) -> Option<&School> {
        self.schools.get(uai)
    }

    /// Which export this snapshot was built from, as its importer named it
    /// (AAF: `ENT_14_Complet_20260901`, then each delta applied; SIECLE:
    /// the files' names), kept in the snapshot file: each link verified
    /// against it keeps this name.
    pub fn export(&self) -> Option<&str> {
        self.export.as_deref()
    }

    /// The snapshot's size in bytes (records and indexes; the schools,
    /// interned strings and anomalies are also kept decoded beside).
    pub fn byte_len(&self) -> usize {
        self.as_bytes().len()
    }
}

impl fmt::Debug for DirectorySnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirectorySnapshot")
            .field("source", &self.source)
            .field("pupils", &self.pupil_count)
            .field("persons", &self.person_count)
            .field("links", &self.link_count)
            .field("schools", &self.schools.len())
            .field("anomalies", &self.anomalies.len())
            .field("bytes", &self.byte_len())
            .finish()
    }
}

#[async_trait]
impl Directory for DirectorySnapshot {
    fn sources(&self) -> Vec<SourceId> {
        vec![self.source.clone()]
    }

    async fn person(&self, id: &PersonId) -> Result<Option<Arc<RelatedPerson>>, DirectoryError> {
        DirectorySnapshot::person(self, id)
    }

    async fn pupil(&self, id: &PupilId) -> Result<Option<Arc<Pupil>>, DirectoryError> {
        DirectorySnapshot::pupil(self, id)
    }

    async fn pupils_of(&self, id: &PersonId) -> Result<Vec<LinkedPupil>, DirectoryError> {
        DirectorySnapshot::pupils_of(self, id)
    }

    async fn guardian_candidates(
        &self,
        query: &NameQuery,
    ) -> Result<Vec<Candidate>, DirectoryError> {
        Ok(DirectorySnapshot::guardian_candidates(self, query))
    }

    async fn person_by_aaf_join_key(
        &self,
        academy: &str,
        join_key: &str,
    ) -> Result<Option<DirectoryPerson>, DirectoryError> {
        DirectorySnapshot::person_by_aaf_join_key(self, academy, join_key)
    }

    async fn school(&self, uai: &Uai) -> Result<Option<School>, DirectoryError> {
        Ok(DirectorySnapshot::school(self, uai).cloned())
    }

    async fn pupil_by_school_local_id(
        &self,
        uai: &Uai,
        local_id: &str,
    ) -> Result<Option<Arc<Pupil>>, DirectoryError> {
        Ok(DirectorySnapshot::pupil_by_school_local_id(
            self, uai, local_id,
        ))
    }

    fn export_of(&self, source: &SourceId) -> Option<Arc<str>> {
        (*source == self.source)
            .then(|| self.export.clone())
            .flatten()
    }
}
