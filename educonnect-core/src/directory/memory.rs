//! [`MemoryDirectory`]: one source's records in memory, indexed, replaced
//! atomically when a new export is loaded.
//!
//! An importer fills a [`DirectoryBuilder`] (records added, replaced or
//! removed one by one, as full exports and deltas say), then
//! [`build`](DirectoryBuilder::build)s an immutable [`DirectorySnapshot`]
//! with every index computed once. A [`MemoryDirectory`] is a shared handle
//! on the current snapshot: [`replace`](MemoryDirectory::replace) swaps in a
//! new one in O(1), while readers that took the old one keep reading it
//! until they drop it.
//!
//! How the indexes are laid out is told on [`DirectorySnapshot`].

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::sync::{Arc, PoisonError, RwLock};

use async_trait::async_trait;
use foldhash::fast::RandomState;
use hashbrown::HashTable;

use super::compact::{self, Interner, Keys, PersonView};
use super::model::{
    DirectoryPerson, LegalRank, Link, LinkedPupil, PersonId, Pupil, PupilId, RelatedPerson,
    RelationshipCode, School, SourceId,
};
use super::names::{Candidate, IndexKeys, NameQuery};
use super::snapshot::{DirectorySnapshot, Sections};
use super::{Directory, DirectoryError};
use crate::ids::Uai;

/// Something odd in the records given to a [`DirectoryBuilder`], reported by
/// [`DirectorySnapshot::anomalies`] for an operator to look at. Ids only.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Anomaly {
    /// A link whose pupil or person is not in the source: dropped.
    DanglingLink {
        /// The link's pupil.
        pupil: PupilId,
        /// The link's person.
        person: PersonId,
    },
    /// Two persons hold legal authority over one pupil with the same rank
    /// (SIECLE allows one first and one second legal guardian): both links
    /// are kept.
    SameLegalRank {
        /// The pupil.
        pupil: PupilId,
        /// The rank held twice.
        rank: LegalRank,
    },
}

/// Collects one source's records, then builds an indexed
/// [`DirectorySnapshot`].
///
/// Adding a record whose id is already there replaces it (a delta's
/// `modifyRequest`); a link is identified by its (pupil, person) pair.
/// Records of another source are refused with
/// [`DirectoryError::ForeignRecord`]. Links may be added before or after
/// their pupil and person; links whose pupil or person is missing at build
/// time are dropped and reported as [`Anomaly::DanglingLink`].
///
/// ```
/// use educonnect_core::directory::*;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let source = SourceId::aaf("14")?;
/// let pupil = PupilId::new(source.clone(), "ELV-1")?;
/// let mother = PersonId::new(source.clone(), "REL-1")?;
/// let mut builder = DirectoryBuilder::new(source);
/// builder.add_pupil(Pupil::new(pupil.clone(), "Lefèvre", ["Zoé"]))?;
/// builder.add_person(RelatedPerson::new(mother.clone(), "Lefèvre", ["Anne-Marie"]))?;
/// builder.add_link(Link::new(pupil, mother.clone(), Relationship::Mother).with_legal(LegalRank::First))?;
/// let directory = MemoryDirectory::new(builder.build());
///
/// let snapshot = directory.snapshot();
/// let children = snapshot.pupils_of(&mother)?;
/// assert_eq!(children.len(), 1);
/// assert!(children[0].link.has_legal_authority());
/// # Ok(())
/// # }
/// ```
pub struct DirectoryBuilder {
    source: SourceId,
    pupils: Records<Pupil>,
    /// Related persons, encoded as a snapshot stores them (a quarter of
    /// the memory of `RelatedPerson` values, the bulk of a national
    /// directory's records): the builder hands none out by reference.
    persons: EncodedPersons,
    /// The local ids the links name, each stored once.
    link_ids: LocalIds,
    /// Links by the pupil's interned local id: a pupil has a handful.
    links: HashMap<u32, Vec<PendingLink>, RandomState>,
    schools: HashMap<Uai, School, RandomState>,
    /// Which export the records come from (see [`DirectorySnapshot::export`]).
    export: Option<String>,
}

impl DirectoryBuilder {
    /// An empty builder for `source`.
    pub fn new(source: SourceId) -> Self {
        Self {
            source,
            pupils: Records::default(),
            persons: EncodedPersons::default(),
            link_ids: LocalIds::default(),
            links: HashMap::default(),
            schools: HashMap::default(),
            export: None,
        }
    }

    /// Names the export the records come from, as the snapshot will tell
    /// ([`DirectorySnapshot::export`]); importers set it from the files'
    /// names.
    pub fn set_export(&mut self, export: impl Into<String>) {
        self.export = Some(export.into());
    }

    /// The export's name, if set.
    pub fn export(&self) -> Option<&str> {
        self.export.as_deref()
    }

    /// A builder holding `snapshot`'s records (dangling links were dropped
    /// when it was built), to apply a delta to. Records are decoded from
    /// the snapshot's bytes.
    pub fn from_snapshot(snapshot: &DirectorySnapshot) -> Self {
        let mut builder = Self::new(snapshot.source().clone());
        builder.export = snapshot.export().map(str::to_owned);
        builder.reserve(snapshot.pupil_count(), snapshot.person_count());
        for pupil in snapshot.pupils() {
            builder.pupils.insert(pupil);
        }
        for person in snapshot.persons() {
            builder.persons.insert(&person);
        }
        for link in snapshot.links() {
            // The snapshot's links were added through a builder, whose ids
            // fit: so do the same ids here.
            builder
                .add_link(link)
                .expect("the ids of a built snapshot's links fit a builder");
        }
        builder.schools = snapshot.schools().map(|s| (s.uai, s.clone())).collect();
        builder
    }

    /// Reserves room for this many more pupils and persons (an export's
    /// record count, when known).
    pub fn reserve(&mut self, pupils: usize, persons: usize) {
        self.pupils.reserve(pupils);
        self.persons.reserve(persons);
        self.links.reserve(pupils);
        self.link_ids.reserve(pupils + persons);
    }

    /// The source this builder collects records of.
    pub fn source(&self) -> &SourceId {
        &self.source
    }

    fn check_source(&self, source: &SourceId) -> Result<(), DirectoryError> {
        if *source != self.source {
            return Err(DirectoryError::ForeignRecord {
                builder: self.source.clone(),
                record: source.clone(),
            });
        }
        Ok(())
    }

    /// Adds a pupil, or replaces the one with the same id (returned). Its
    /// links are kept.
    pub fn add_pupil(&mut self, pupil: Pupil) -> Result<Option<Pupil>, DirectoryError> {
        self.check_source(pupil.id.source())?;
        Ok(self
            .pupils
            .insert(Arc::new(pupil))
            .map(Arc::unwrap_or_clone))
    }

    /// The pupil `id`, if the builder holds it.
    pub fn pupil(&self, id: &PupilId) -> Option<&Pupil> {
        if *id.source() != self.source {
            return None;
        }
        self.pupils.get(id.local()).map(|p| &**p)
    }

    /// Whether the builder holds the pupil whose local id is `local`.
    pub(crate) fn contains_pupil(&self, local: &str) -> bool {
        self.pupils.get(local).is_some()
    }

    /// The pupil `id`, to change in place (copied first when a snapshot
    /// shares it); their links are kept. Changing the id is not allowed:
    /// it is checked, and a changed id is put back.
    pub fn update_pupil(&mut self, id: &PupilId, update: impl FnOnce(&mut Pupil)) -> bool {
        if *id.source() != self.source {
            return false;
        }
        let Some(pupil) = self.pupils.get_mut(id.local()) else {
            return false;
        };
        let pupil = Arc::make_mut(pupil);
        update(pupil);
        if pupil.id != *id {
            pupil.id = id.clone();
        }
        true
    }

    /// Adds a related person, or replaces the one with the same id
    /// (returned). Their links are kept.
    pub fn add_person(
        &mut self,
        person: RelatedPerson,
    ) -> Result<Option<RelatedPerson>, DirectoryError> {
        self.check_source(person.id.source())?;
        Ok(self
            .persons
            .insert(&person)
            .and_then(|old| PersonView::parse(&old).map(|v| v.to_person(&self.source))))
    }

    /// Adds a link, or replaces the one between the same pupil and person
    /// (returned).
    pub fn add_link(&mut self, link: Link) -> Result<Option<Link>, DirectoryError> {
        self.check_source(link.pupil.source())?;
        self.check_source(link.person.source())?;
        let (Some(pupil_key), Some(person)) = (
            self.link_ids.intern(link.pupil.local()),
            self.link_ids.intern(link.person.local()),
        ) else {
            return Err(DirectoryError::TooLarge);
        };
        let links = self.links.entry(pupil_key).or_default();
        let found = links.iter().position(|l| l.person == person);
        let (pupil, new) = PendingLink::from_link(link, person);
        match found {
            Some(i) => {
                let old = std::mem::replace(&mut links[i], new);
                Ok(Some(old.to_link(pupil, &self.source, &self.link_ids)))
            }
            None => {
                links.push(new);
                Ok(None)
            }
        }
    }

    /// Adds a school, or replaces the one with the same UAI (returned).
    pub fn add_school(&mut self, school: School) -> Option<School> {
        self.schools.insert(school.uai, school)
    }

    /// Removes a pupil and all their links (a delta's `deleteRequest`).
    pub fn remove_pupil(&mut self, id: &PupilId) -> Option<Pupil> {
        if *id.source() != self.source {
            return None;
        }
        if let Some(key) = self.link_ids.get(id.local()) {
            self.links.remove(&key);
        }
        self.pupils.remove(id.local()).map(Arc::unwrap_or_clone)
    }

    /// Removes a related person. Their links are dropped at build time and
    /// reported as [`Anomaly::DanglingLink`] unless removed too (a delta
    /// usually rewrites the pupils' links as well).
    pub fn remove_person(&mut self, id: &PersonId) -> Option<RelatedPerson> {
        if *id.source() != self.source {
            return None;
        }
        let old = self.persons.remove(id.local())?;
        PersonView::parse(&old).map(|v| v.to_person(&self.source))
    }

    /// Removes the link between `pupil` and `person`.
    pub fn remove_link(&mut self, pupil: &PupilId, person: &PersonId) -> Option<Link> {
        if *pupil.source() != self.source || *person.source() != self.source {
            return None;
        }
        let person = self.link_ids.get(person.local())?;
        let links = self.links.get_mut(&self.link_ids.get(pupil.local())?)?;
        let i = links.iter().position(|l| l.person == person)?;
        Some(
            links
                .swap_remove(i)
                .to_link(pupil.clone(), &self.source, &self.link_ids),
        )
    }

    /// Removes all the links of `pupil` (before adding those of a modified
    /// record), and returns them.
    pub fn remove_links_of_pupil(&mut self, pupil: &PupilId) -> Vec<Link> {
        if *pupil.source() != self.source {
            return Vec::new();
        }
        let Some(key) = self.link_ids.get(pupil.local()) else {
            return Vec::new();
        };
        self.links
            .remove(&key)
            .unwrap_or_default()
            .into_iter()
            .map(|l| l.to_link(pupil.clone(), &self.source, &self.link_ids))
            .collect()
    }

    /// The schools the builder holds.
    pub fn schools(&self) -> impl Iterator<Item = &School> {
        self.schools.values()
    }

    /// Removes a school.
    pub fn remove_school(&mut self, uai: &Uai) -> Option<School> {
        self.schools.remove(uai)
    }

    /// How many pupils, related persons and links (dangling ones included)
    /// the builder holds.
    pub fn len(&self) -> (usize, usize, usize) {
        (
            self.pupils.len(),
            self.persons.len(),
            self.links.values().map(Vec::len).sum(),
        )
    }

    /// Whether the builder holds no record at all.
    pub fn is_empty(&self) -> bool {
        self.pupils.is_empty()
            && self.persons.is_empty()
            && self.links.is_empty()
            && self.schools.is_empty()
    }

    /// Builds the snapshot, in time linear in the number of records (and a
    /// sort): records are encoded one after the other into one buffer
    /// (see [`DirectorySnapshot`]), each freed once encoded. Lookups answer
    /// in an order that does not depend on the order of the adds (by id).
    pub fn build(self) -> DirectorySnapshot {
        let Self {
            source,
            pupils,
            persons,
            link_ids,
            links,
            schools,
            export,
        } = self;
        let keys = Keys::random();
        let mut anomalies = Vec::new();
        let mut strings = Interner::default();
        // The position of each id the links name, as a pupil and as a
        // person (`NONE`: not in the source).
        const NONE: u32 = u32::MAX;
        let mut pupil_at = vec![NONE; link_ids.len()];
        let mut person_at = vec![NONE; link_ids.len()];

        let pupils = sorted_by_local(pupils.table.into_iter().collect());
        let pupil_count = pupils.len();
        let mut pupil_records = Vec::new();
        let mut pupil_offsets = Vec::with_capacity((pupil_count + 1) * 8);
        let mut pupil_ids = Vec::with_capacity(pupil_count);
        let mut school_locals = Vec::new();
        for (p, pupil) in pupils.into_iter().enumerate() {
            let p = position(p);
            pupil_offsets.extend_from_slice(&(pupil_records.len() as u64).to_le_bytes());
            compact::encode_pupil(&mut pupil_records, &pupil, &mut strings);
            pupil_ids.push((keys.id(pupil.id.local()), p));
            if let (Some(uai), Some(local)) = (&pupil.school, &pupil.school_local_id) {
                school_locals.push((keys.school_local(uai, local), p));
            }
            if let Some(k) = link_ids.get(pupil.id.local()) {
                pupil_at[k as usize] = p;
            }
        }
        pupil_offsets.extend_from_slice(&(pupil_records.len() as u64).to_le_bytes());

        let persons = sorted_by_local(persons.table.into_iter().collect());
        let person_count = persons.len();
        let mut person_records = Vec::with_capacity(persons.iter().map(|p| p.len()).sum());
        let mut person_offsets = Vec::with_capacity((person_count + 1) * 8);
        let mut person_ids = Vec::with_capacity(person_count);
        let mut names: Vec<(u64, u32, u32)> = Vec::with_capacity(person_count + person_count / 4);
        let mut name_keys = IndexKeys::default();
        for (p, record) in persons.into_iter().enumerate() {
            let p = position(p);
            person_offsets.extend_from_slice(&(person_records.len() as u64).to_le_bytes());
            person_records.extend_from_slice(&record);
            let Some(person) = PersonView::parse(&record) else {
                continue; // encoded by `EncodedPersons::insert`: never
            };
            person_ids.push((keys.id(person.local), p));
            let (birth, usage, given) = person.names();
            name_keys.for_each_of(birth, usage, given, |family, given| {
                names.push((keys.family(family), keys.given(given), p));
            });
            if let Some(k) = link_ids.get(person.local) {
                person_at[k as usize] = p;
            }
        }
        person_offsets.extend_from_slice(&(person_records.len() as u64).to_le_bytes());

        // Links, resolved to positions, grouped by person.
        let mut rows: Vec<(u32, u32, u16)> = Vec::with_capacity(links.values().map(Vec::len).sum());
        let local = |key: u32| link_ids.local(key);
        for (pupil_key, mut pupil_links) in links {
            let pupil = pupil_at[pupil_key as usize];
            let pupil_id = || PupilId::checked(source.clone(), local(pupil_key));
            pupil_links.sort_by(|a, b| local(a.person).cmp(local(b.person)));
            let mut ranks = [false; 2];
            for link in pupil_links {
                let person = person_at[link.person as usize];
                if pupil == NONE || person == NONE {
                    anomalies.push(Anomaly::DanglingLink {
                        pupil: pupil_id(),
                        person: PersonId::checked(source.clone(), local(link.person)),
                    });
                    continue;
                }
                if let Some(rank) = link.legal {
                    let seen = &mut ranks[usize::from(rank.code() - 1)];
                    if *seen {
                        anomalies.push(Anomaly::SameLegalRank {
                            pupil: pupil_id(),
                            rank,
                        });
                    }
                    *seen = true;
                }
                rows.push((person, pupil, link.bits()));
            }
        }
        drop(link_ids);
        drop((pupil_at, person_at));
        rows.sort_unstable();
        let mut link_start = Vec::with_capacity((person_count + 1) * 4);
        let mut next = 0;
        for p in 0..person_count {
            while next < rows.len() && (rows[next].0 as usize) < p {
                next += 1;
            }
            link_start.extend_from_slice(&position(next).to_le_bytes());
        }
        link_start.extend_from_slice(&position(rows.len()).to_le_bytes());
        let link_pupils: Vec<u8> = rows.iter().flat_map(|r| r.1.to_le_bytes()).collect();
        let link_codes: Vec<u8> = rows.iter().flat_map(|r| r.2.to_le_bytes()).collect();
        drop(rows);

        // The name index: persons grouped by family name key, sorted by
        // given-name key within a family.
        names.sort_unstable();
        names.dedup();
        let mut families = Vec::new();
        let mut family_starts = Vec::new();
        let mut entries = Vec::with_capacity(names.len() * 8);
        for (i, &(family, given, person)) in names.iter().enumerate() {
            if i == 0 || names[i - 1].0 != family {
                families.push((family, position(family_starts.len() / 4)));
                family_starts.extend_from_slice(&position(i).to_le_bytes());
            }
            entries.extend_from_slice(&given.to_le_bytes());
            entries.extend_from_slice(&person.to_le_bytes());
        }
        family_starts.extend_from_slice(&position(names.len()).to_le_bytes());
        drop(names);

        let mut schools: Vec<School> = schools.into_values().collect();
        schools.sort_unstable_by_key(|s| s.uai);
        let mut school_bytes = Vec::new();
        compact::encode_schools(&mut school_bytes, schools.iter());
        let mut string_bytes = Vec::new();
        compact::encode_strings(&mut string_bytes, &strings.strings);
        // A stable order, whatever the order of the hash tables: reports and
        // `educonnect directory check` print anomalies as they come.
        anomalies.sort_by(|a, b| anomaly_key(a).cmp(&anomaly_key(b)));
        let mut anomaly_bytes = Vec::new();
        compact::encode_anomalies(&mut anomaly_bytes, &anomalies);
        let mut meta = Vec::new();
        compact::put_str(&mut meta, source.as_str());
        if let Some(export) = &export {
            compact::put_str(&mut meta, export);
        }

        Sections {
            keys,
            sections: [
                meta,
                pupil_records,
                pupil_offsets,
                compact::table(&pupil_ids),
                person_records,
                person_offsets,
                compact::table(&person_ids),
                link_start,
                link_pupils,
                link_codes,
                compact::table(&families),
                family_starts,
                entries,
                compact::table(&school_locals),
                school_bytes,
                string_bytes,
                anomaly_bytes,
            ],
        }
        .into_snapshot()
    }
}

/// Sort key of an anomaly: its pupil, then its kind, then the other side.
fn anomaly_key(anomaly: &Anomaly) -> (&PupilId, u8, Option<&PersonId>, Option<LegalRank>) {
    match anomaly {
        Anomaly::SameLegalRank { pupil, rank } => (pupil, 0, None, Some(*rank)),
        Anomaly::DanglingLink { pupil, person } => (pupil, 1, Some(person), None),
    }
}

impl fmt::Debug for DirectoryBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (pupils, persons, links) = self.len();
        f.debug_struct("DirectoryBuilder")
            .field("source", &self.source)
            .field("pupils", &pupils)
            .field("persons", &persons)
            .field("links", &links)
            .field("schools", &self.schools.len())
            .finish()
    }
}

/// What the builder needs of a record: its local id.
trait Record {
    fn local(&self) -> &str;
}

impl Record for Pupil {
    fn local(&self) -> &str {
        self.id.local()
    }
}

impl Record for RelatedPerson {
    fn local(&self) -> &str {
        self.id.local()
    }
}

impl<T: Record> Record for Arc<T> {
    fn local(&self) -> &str {
        (**self).local()
    }
}

impl Record for Box<[u8]> {
    fn local(&self) -> &str {
        // Encoded by `EncodedPersons::insert` from a checked id.
        compact::record_local(self)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }
}

/// A builder's related persons, encoded (see `compact::encode_person`),
/// found by the local id each record starts with.
#[derive(Default)]
struct EncodedPersons {
    hasher: RandomState,
    table: HashTable<Box<[u8]>>,
    /// Reused for each record encoded.
    buffer: Vec<u8>,
}

impl EncodedPersons {
    /// Adds `person`, returning the record it replaces.
    fn insert(&mut self, person: &RelatedPerson) -> Option<Box<[u8]>> {
        let Self {
            hasher,
            table,
            buffer,
        } = self;
        buffer.clear();
        compact::encode_person(buffer, person);
        let record: Box<[u8]> = buffer.as_slice().into();
        let local = person.id.local();
        let hash = hasher.hash_one(local);
        match table.entry(hash, |r| r.local() == local, |r| hasher.hash_one(r.local())) {
            hashbrown::hash_table::Entry::Occupied(mut old) => {
                Some(std::mem::replace(old.get_mut(), record))
            }
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(record);
                None
            }
        }
    }

    fn remove(&mut self, local: &str) -> Option<Box<[u8]>> {
        let hash = self.hasher.hash_one(local);
        let entry = self.table.find_entry(hash, |r| r.local() == local).ok()?;
        Some(entry.remove().0)
    }

    fn reserve(&mut self, additional: usize) {
        let Self { hasher, table, .. } = self;
        table.reserve(additional, |r| hasher.hash_one(r.local()));
    }

    fn len(&self) -> usize {
        self.table.len()
    }

    fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

/// A builder's records, found by their own local id: no copy of the id as a
/// separate key (one allocation less per record, millions at scale).
struct Records<T> {
    hasher: RandomState,
    table: HashTable<Arc<T>>,
}

impl<T> Default for Records<T> {
    fn default() -> Self {
        Self {
            hasher: RandomState::default(),
            table: HashTable::new(),
        }
    }
}

impl<T: Record> Records<T> {
    fn insert(&mut self, record: Arc<T>) -> Option<Arc<T>> {
        let Self { hasher, table } = self;
        let hash = hasher.hash_one(record.local());
        match table.entry(
            hash,
            |r| r.local() == record.local(),
            |r| hasher.hash_one(r.local()),
        ) {
            hashbrown::hash_table::Entry::Occupied(mut old) => {
                Some(std::mem::replace(old.get_mut(), record))
            }
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(record);
                None
            }
        }
    }

    fn get(&self, local: &str) -> Option<&Arc<T>> {
        let hash = self.hasher.hash_one(local);
        self.table.find(hash, |r| r.local() == local)
    }

    fn get_mut(&mut self, local: &str) -> Option<&mut Arc<T>> {
        let hash = self.hasher.hash_one(local);
        self.table.find_mut(hash, |r| r.local() == local)
    }

    fn remove(&mut self, local: &str) -> Option<Arc<T>> {
        let hash = self.hasher.hash_one(local);
        let entry = self.table.find_entry(hash, |r| r.local() == local).ok()?;
        Some(entry.remove().0)
    }

    fn reserve(&mut self, additional: usize) {
        let Self { hasher, table } = self;
        table.reserve(additional, |r| hasher.hash_one(r.local()));
    }

    fn len(&self) -> usize {
        self.table.len()
    }

    fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

/// `records` sorted by local id. The sort compares a 16-byte prefix of the
/// id held in the sort array, and reads the records only on a tie:
/// comparing through millions of `Arc`s would miss the cache at every
/// comparison (seconds per million records).
fn sorted_by_local<R: Record>(records: Vec<R>) -> Vec<R> {
    fn prefix(local: &str) -> u128 {
        // Zero-padded, big-endian: the order of the first 16 bytes (no
        // local id holds a NUL, so a shorter id sorts first).
        let mut bytes = [0u8; 16];
        let n = local.len().min(16);
        bytes[..n].copy_from_slice(&local.as_bytes()[..n]);
        u128::from_be_bytes(bytes)
    }
    let mut keys: Vec<(u128, u32)> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (prefix(r.local()), position(i)))
        .collect();
    keys.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0).then_with(|| {
            records[a.1 as usize]
                .local()
                .cmp(records[b.1 as usize].local())
        })
    });
    let mut slots: Vec<Option<R>> = records.into_iter().map(Some).collect();
    keys.into_iter()
        .filter_map(|(_, i)| slots[i as usize].take())
        .collect()
}

/// A record position. Directories hold fewer than 4 billion records of a
/// kind (France has 12 million pupils).
fn position(i: usize) -> u32 {
    u32::try_from(i).expect("fewer than 2^32 records")
}

/// The local ids named by a builder's links, each stored once in one
/// string and named by its number: a link costs two 4-byte numbers, not two
/// heap strings (tens of millions of small blocks at national scale, left
/// freed and fragmented in the heap after a build). Ids are never removed:
/// a delta adds few.
#[derive(Default)]
struct LocalIds {
    hasher: RandomState,
    /// Numbers, hashed by the id they name.
    table: HashTable<u32>,
    /// Where id `i` ends in `text` (it starts where `i - 1` ends).
    ends: Vec<u32>,
    text: String,
}

impl LocalIds {
    /// The number of `local`, added if new; `None` once the ids would pass
    /// 4 GiB (an export of giant ids: refused, never a panic).
    fn intern(&mut self, local: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(local);
        let Self {
            hasher,
            table,
            ends,
            text,
        } = self;
        let found = table.find(hash, |&i| span(ends, text, i) == local);
        if let Some(&i) = found {
            return Some(i);
        }
        let end = u32::try_from(text.len().checked_add(local.len())?).ok()?;
        let i = u32::try_from(ends.len()).ok()?;
        text.push_str(local);
        ends.push(end);
        table.insert_unique(hash, i, |&j| hasher.hash_one(span(ends, text, j)));
        Some(i)
    }

    fn reserve(&mut self, additional: usize) {
        let Self {
            hasher,
            table,
            ends,
            text,
        } = self;
        table.reserve(additional, |&j| hasher.hash_one(span(ends, text, j)));
        ends.reserve(additional);
    }

    /// The number of `local`, if a link named it.
    fn get(&self, local: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(local);
        self.table
            .find(hash, |&i| span(&self.ends, &self.text, i) == local)
            .copied()
    }

    /// How many ids are interned (numbered 0 to `len - 1`).
    fn len(&self) -> usize {
        self.ends.len()
    }

    /// The local id number `i`.
    fn local(&self, i: u32) -> &str {
        span(&self.ends, &self.text, i)
    }
}

fn span<'a>(ends: &[u32], text: &'a str, i: u32) -> &'a str {
    let i = i as usize;
    let start = if i == 0 { 0 } else { ends[i - 1] as usize };
    &text[start..ends[i] as usize]
}

/// A link as a builder keeps it, under its pupil's interned local id: the
/// person's interned local id and the link's codes, no [`SourceId`] (the
/// builder's).
struct PendingLink {
    person: u32,
    relationship: RelationshipCode,
    legal: Option<LegalRank>,
    financial: bool,
    contact: bool,
    payment: bool,
}

impl PendingLink {
    /// The link's pupil, and the rest kept, `person` being the person's
    /// interned id.
    fn from_link(link: Link, person: u32) -> (PupilId, Self) {
        let Link {
            pupil,
            person: _,
            relationship,
            legal,
            financial,
            contact,
            payment,
        } = link;
        let pending = Self {
            person,
            relationship,
            legal,
            financial,
            contact,
            payment,
        };
        (pupil, pending)
    }

    fn to_link(&self, pupil: PupilId, source: &SourceId, ids: &LocalIds) -> Link {
        Link {
            pupil,
            person: PersonId::checked(source.clone(), ids.local(self.person)),
            relationship: self.relationship,
            legal: self.legal,
            financial: self.financial,
            contact: self.contact,
            payment: self.payment,
        }
    }

    /// The link's codes as a snapshot stores them.
    fn bits(&self) -> u16 {
        compact::link_bits(
            self.relationship,
            self.legal,
            [self.financial, self.contact, self.payment],
        )
    }
}

/// A shared handle on one source's current [`DirectorySnapshot`]: clone it
/// freely (clones share the snapshot slot), use it as `Arc<dyn Directory>`.
///
/// # Replacing the snapshot
///
/// [`replace`](Self::replace) swaps in a newly built snapshot in O(1). Build
/// the new snapshot first (it takes seconds for millions of records): the
/// slot's lock is held only to clone or swap an `Arc`, so lookups never wait
/// for a load, and a lookup that started on the old snapshot finishes on it
/// (its records stay alive as long as someone holds them). A sequence of
/// lookups that must see one consistent version takes a
/// [`snapshot`](Self::snapshot) and asks it.
///
/// Every lookup of the [`Directory`] implementation completes without
/// awaiting anything: its futures are ready on first poll.
#[derive(Clone)]
pub struct MemoryDirectory {
    source: SourceId,
    current: Arc<RwLock<Arc<DirectorySnapshot>>>,
}

impl MemoryDirectory {
    /// A directory serving `snapshot`'s source, starting with `snapshot`.
    pub fn new(snapshot: DirectorySnapshot) -> Self {
        Self {
            source: snapshot.source().clone(),
            current: Arc::new(RwLock::new(Arc::new(snapshot))),
        }
    }

    /// A directory serving `source`, with no record yet.
    pub fn empty(source: SourceId) -> Self {
        Self::new(DirectorySnapshot::empty(source))
    }

    /// The source served.
    pub fn source(&self) -> &SourceId {
        &self.source
    }

    /// The current snapshot. It stays valid (and unchanged) after a
    /// [`replace`](Self::replace).
    pub fn snapshot(&self) -> Arc<DirectorySnapshot> {
        // A panic cannot leave the slot half-written (it is one pointer):
        // a poisoned lock is still consistent.
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Makes `snapshot` the current one, atomically for every clone of this
    /// handle, and returns the previous one. Fails with
    /// [`DirectoryError::SourceMismatch`] for a snapshot of another source.
    ///
    /// A snapshot is one buffer (plus its few schools): dropping the
    /// returned one is quick, unlike the millions of records of a
    /// [`DirectoryBuilder`]. Lookups allocate only their result (records
    /// decoded from the buffer, names compared without copies).
    pub fn replace(
        &self,
        snapshot: DirectorySnapshot,
    ) -> Result<Arc<DirectorySnapshot>, DirectoryError> {
        if *snapshot.source() != self.source {
            return Err(DirectoryError::SourceMismatch {
                directory: self.source.clone(),
                snapshot: snapshot.source().clone(),
            });
        }
        let new = Arc::new(snapshot);
        let mut slot = self.current.write().unwrap_or_else(PoisonError::into_inner);
        // The old snapshot is returned, so that it is dropped (millions of
        // records freed) outside the lock, by the caller.
        Ok(std::mem::replace(&mut *slot, new))
    }
}

impl fmt::Debug for MemoryDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryDirectory")
            .field("current", &*self.snapshot())
            .finish()
    }
}

#[async_trait]
impl Directory for MemoryDirectory {
    fn sources(&self) -> Vec<SourceId> {
        vec![self.source.clone()]
    }

    async fn person(&self, id: &PersonId) -> Result<Option<Arc<RelatedPerson>>, DirectoryError> {
        self.snapshot().person(id)
    }

    async fn pupil(&self, id: &PupilId) -> Result<Option<Arc<Pupil>>, DirectoryError> {
        self.snapshot().pupil(id)
    }

    async fn pupils_of(&self, id: &PersonId) -> Result<Vec<LinkedPupil>, DirectoryError> {
        self.snapshot().pupils_of(id)
    }

    async fn pupils_of_many(&self, ids: &[PersonId]) -> Result<Vec<LinkedPupil>, DirectoryError> {
        // One snapshot for all: a reload in between cannot mix versions.
        let snapshot = self.snapshot();
        let mut out = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            if !ids[..i].contains(id) {
                out.extend(snapshot.pupils_of(id)?);
            }
        }
        Ok(out)
    }

    async fn guardian_candidates(
        &self,
        query: &NameQuery,
    ) -> Result<Vec<Candidate>, DirectoryError> {
        Ok(self.snapshot().guardian_candidates(query))
    }

    async fn person_by_aaf_join_key(
        &self,
        academy: &str,
        join_key: &str,
    ) -> Result<Option<DirectoryPerson>, DirectoryError> {
        self.snapshot().person_by_aaf_join_key(academy, join_key)
    }

    async fn school(&self, uai: &Uai) -> Result<Option<School>, DirectoryError> {
        Ok(self.snapshot().school(uai).cloned())
    }

    async fn pupil_by_school_local_id(
        &self,
        uai: &Uai,
        local_id: &str,
    ) -> Result<Option<Arc<Pupil>>, DirectoryError> {
        Ok(self.snapshot().pupil_by_school_local_id(uai, local_id))
    }

    fn export_of(&self, source: &SourceId) -> Option<Arc<str>> {
        Directory::export_of(&*self.snapshot(), source)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::Relationship;

    #[test]
    fn local_ids_are_stored_once_and_found_again() {
        let mut ids = LocalIds::default();
        let names: Vec<String> = (0..1000).map(|i| format!("R{i}")).collect();
        let numbers: Vec<u32> = names.iter().map(|n| ids.intern(n).unwrap()).collect();
        assert_eq!(ids.intern("R7"), Some(numbers[7]));
        assert_eq!(ids.intern(""), Some(1000));
        assert_eq!(ids.local(1000), "");
        for (n, &i) in names.iter().zip(&numbers) {
            assert_eq!(ids.local(i), n);
            assert_eq!(ids.get(n), Some(i));
        }
        assert_eq!(ids.get("R1000"), None);
        assert_eq!(ids.text.len(), names.iter().map(String::len).sum::<usize>());
    }

    #[test]
    fn links_are_replaced_and_removed_by_their_ids() {
        let source = SourceId::aaf("14").unwrap();
        let pupil = PupilId::new(source.clone(), "E1").unwrap();
        let father = PersonId::new(source.clone(), "R1").unwrap();
        let mother = PersonId::new(source.clone(), "R2").unwrap();
        let mut b = DirectoryBuilder::new(source.clone());
        let link = |person: &PersonId, relationship| {
            Link::new(pupil.clone(), person.clone(), relationship)
        };
        assert!(
            b.add_link(link(&father, Relationship::Father))
                .unwrap()
                .is_none()
        );
        assert!(
            b.add_link(link(&mother, Relationship::Mother))
                .unwrap()
                .is_none()
        );
        let old = b
            .add_link(link(&father, Relationship::Father).with_legal(LegalRank::Second))
            .unwrap()
            .unwrap();
        assert_eq!(
            (old.pupil, old.person, old.legal),
            (pupil.clone(), father.clone(), None)
        );
        assert_eq!(b.len(), (0, 0, 2));
        // Ids no link names, and links of another pupil, are not found.
        let other = PupilId::new(source.clone(), "E2").unwrap();
        assert!(b.remove_link(&other, &father).is_none());
        assert!(
            b.remove_link(&pupil, &PersonId::new(source.clone(), "R3").unwrap())
                .is_none()
        );
        assert!(b.remove_links_of_pupil(&other).is_empty());
        let removed = b.remove_link(&pupil, &mother).unwrap();
        assert_eq!(removed.person, mother);
        let rest = b.remove_links_of_pupil(&pupil);
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].legal, Some(LegalRank::Second));
        assert_eq!(b.len(), (0, 0, 0));
    }
}
