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

use super::model::{
    DirectoryPerson, LegalRank, Link, LinkedPupil, PersonId, Pupil, PupilId, RelatedPerson,
    RelationshipCode, School, SourceId,
};
use super::names::{Candidate, IndexKeys, NameQuery};
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
    /// Records are shared with the snapshots built from them, and with the
    /// builder of a delta made [`from_snapshot`](Self::from_snapshot).
    pupils: Records<Pupil>,
    persons: Records<RelatedPerson>,
    /// The local ids the links name, each stored once.
    link_ids: LocalIds,
    /// Links by the pupil's interned local id: a pupil has a handful.
    links: HashMap<u32, Vec<PendingLink>, RandomState>,
    schools: HashMap<Uai, School, RandomState>,
}

impl DirectoryBuilder {
    /// An empty builder for `source`.
    pub fn new(source: SourceId) -> Self {
        Self {
            source,
            pupils: Records::default(),
            persons: Records::default(),
            link_ids: LocalIds::default(),
            links: HashMap::default(),
            schools: HashMap::default(),
        }
    }

    /// A builder holding `snapshot`'s records (dangling links were dropped
    /// when it was built), to apply a delta to. Records are shared, not
    /// copied; links are rebuilt from their positions.
    pub fn from_snapshot(snapshot: &DirectorySnapshot) -> Self {
        let mut builder = Self::new(snapshot.source.clone());
        builder.reserve(snapshot.pupils.len(), snapshot.persons.len());
        for pupil in &snapshot.pupils {
            builder.pupils.insert(pupil.clone());
        }
        for person in &snapshot.persons {
            builder.persons.insert(person.clone());
        }
        // The snapshot's links were added through a builder, whose ids fit:
        // so do the same ids here (persons without links are not interned).
        let intern = |ids: &mut LocalIds, local: &str| {
            ids.intern(local)
                .expect("the ids of a built snapshot's links fit a builder")
        };
        for (p, person) in snapshot.persons.iter().enumerate() {
            let rows = snapshot.link_rows(p);
            if rows.is_empty() {
                continue;
            }
            let person = intern(&mut builder.link_ids, person.id.local());
            for row in rows {
                let pupil = &snapshot.pupils[row.pupil as usize];
                let pupil = intern(&mut builder.link_ids, pupil.id.local());
                builder
                    .links
                    .entry(pupil)
                    .or_default()
                    .push(PendingLink::from_row(person, row));
            }
        }
        builder.schools = snapshot.schools.clone();
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
            .insert(Arc::new(person))
            .map(Arc::unwrap_or_clone))
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
        self.persons.remove(id.local()).map(Arc::unwrap_or_clone)
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

    /// Builds the indexed snapshot, in time linear in the number of records.
    /// Lookups answer in an order that does not depend on the order of the
    /// adds (by id).
    pub fn build(self) -> DirectorySnapshot {
        let Self {
            source,
            pupils,
            persons,
            link_ids,
            mut links,
            schools,
        } = self;
        let hasher = RandomState::default();
        let mut anomalies = Vec::new();

        let pupils: Vec<Arc<Pupil>> = pupils.table.into_iter().collect();
        let pupil_index = id_table(&hasher, &pupils, |p| p.id.local());
        let persons: Vec<Arc<RelatedPerson>> = persons.table.into_iter().collect();
        let person_index = id_table(&hasher, &persons, |p| p.id.local());

        // Links, resolved to positions and grouped by person.
        let mut rows: Vec<(u32, LinkRow)> = Vec::with_capacity(links.values().map(Vec::len).sum());
        for (pupil_pos, pupil) in pupils.iter().enumerate() {
            let Some(mut pupil_links) = link_ids
                .get(pupil.id.local())
                .and_then(|key| links.remove(&key))
            else {
                continue;
            };
            pupil_links.sort_by(|a, b| link_ids.local(a.person).cmp(link_ids.local(b.person)));
            let mut ranks = [false; 2];
            for link in pupil_links {
                let person = link_ids.local(link.person);
                let Some(person_pos) =
                    find(&hasher, &person_index, &persons, person, |p| p.id.local())
                else {
                    anomalies.push(Anomaly::DanglingLink {
                        pupil: pupil.id.clone(),
                        person: PersonId::checked(source.clone(), person),
                    });
                    continue;
                };
                if let Some(rank) = link.legal {
                    let seen = &mut ranks[usize::from(rank.code() - 1)];
                    if *seen {
                        anomalies.push(Anomaly::SameLegalRank {
                            pupil: pupil.id.clone(),
                            rank,
                        });
                    }
                    *seen = true;
                }
                rows.push((person_pos, link.row(position(pupil_pos))));
            }
        }
        // Links of pupils that are not in the source.
        let mut orphans: Vec<(&str, &str)> = links
            .into_iter()
            .flat_map(|(pupil, links)| {
                let link_ids = &link_ids;
                links
                    .into_iter()
                    .map(move |l| (link_ids.local(pupil), link_ids.local(l.person)))
            })
            .collect();
        orphans.sort_unstable();
        anomalies.extend(
            orphans
                .into_iter()
                .map(|(pupil, person)| Anomaly::DanglingLink {
                    pupil: PupilId::checked(source.clone(), pupil),
                    person: PersonId::checked(source.clone(), person),
                }),
        );
        drop(link_ids);
        rows.sort_by_key(|(person, row)| (*person, row.pupil));
        let mut link_start = Vec::with_capacity(persons.len() + 1);
        let mut next = 0;
        for p in 0..persons.len() {
            while next < rows.len() && (rows[next].0 as usize) < p {
                next += 1;
            }
            link_start.push(position(next));
        }
        link_start.push(position(rows.len()));
        let link_rows = rows.into_iter().map(|(_, row)| row).collect();

        let (names, name_entries) = name_index(&hasher, &persons);
        let school_local_index = school_local_index(&hasher, &pupils);
        // A stable order, whatever the order of the hash tables: reports and
        // `educonnect directory check` print anomalies as they come.
        anomalies.sort_by(|a, b| anomaly_key(a).cmp(&anomaly_key(b)));

        DirectorySnapshot {
            source,
            hasher,
            pupils,
            pupil_index,
            persons,
            person_index,
            link_rows,
            link_start,
            names,
            name_entries,
            school_local_index,
            schools,
            anomalies,
            export: None,
        }
    }
}

/// The school and school-local id of a pupil that has both.
fn school_local_key(pupil: &Pupil) -> Option<(&str, &str)> {
    Some((
        pupil.school.as_ref()?.as_str(),
        pupil.school_local_id.as_deref()?,
    ))
}

/// Positions of the pupils that have a school and a school-local id,
/// hashed by the pair. Two records with one pair (an export's error): the
/// lookup finds the first by position.
fn school_local_index(hasher: &RandomState, pupils: &[Arc<Pupil>]) -> HashTable<u32> {
    let mut table = HashTable::new();
    for (i, pupil) in pupils.iter().enumerate() {
        if let Some(key) = school_local_key(pupil) {
            table.insert_unique(hasher.hash_one(key), position(i), |&j| {
                school_local_key(&pupils[j as usize]).map_or(0, |k| hasher.hash_one(k))
            });
        }
    }
    table
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

/// A record position. Directories hold fewer than 4 billion records of a
/// kind (France has 12 million pupils).
fn position(i: usize) -> u32 {
    u32::try_from(i).expect("fewer than 2^32 records")
}

fn id_table<T>(
    hasher: &RandomState,
    records: &[Arc<T>],
    local: impl Fn(&T) -> &str,
) -> HashTable<u32> {
    let mut table = HashTable::with_capacity(records.len());
    for (i, record) in records.iter().enumerate() {
        let hash = hasher.hash_one(local(record));
        // Local ids are unique: they were the builder's map keys.
        table.insert_unique(hash, position(i), |&j| {
            hasher.hash_one(local(&records[j as usize]))
        });
    }
    table
}

fn find<T>(
    hasher: &RandomState,
    table: &HashTable<u32>,
    records: &[Arc<T>],
    key: &str,
    local: impl Fn(&T) -> &str,
) -> Option<u32> {
    table
        .find(hasher.hash_one(key), |&i| {
            local(&records[i as usize]) == key
        })
        .copied()
}

/// A run of person positions in `name_entries` sharing one name-key hash.
#[derive(Clone, Copy)]
struct NameGroup {
    hash: u64,
    start: u32,
    len: u32,
}

fn name_key_hash(hasher: &RandomState, family: &str, given: &str) -> u64 {
    hasher.hash_one((family, given))
}

fn name_index(
    hasher: &RandomState,
    persons: &[Arc<RelatedPerson>],
) -> (HashTable<NameGroup>, Vec<u32>) {
    let mut pairs: Vec<(u64, u32)> = Vec::with_capacity(persons.len() + persons.len() / 4);
    let mut keys = IndexKeys::default();
    for (i, person) in persons.iter().enumerate() {
        keys.for_each(person, |family, given| {
            pairs.push((name_key_hash(hasher, family, given), position(i)));
        });
    }
    pairs.sort_unstable();
    pairs.dedup();
    let mut groups = HashTable::new();
    let mut entries = Vec::with_capacity(pairs.len());
    let mut i = 0;
    while i < pairs.len() {
        let hash = pairs[i].0;
        let start = entries.len();
        while i < pairs.len() && pairs[i].0 == hash {
            entries.push(pairs[i].1);
            i += 1;
        }
        let group = NameGroup {
            hash,
            start: position(start),
            len: position(entries.len() - start),
        };
        groups.insert_unique(hash, group, |g: &NameGroup| g.hash);
    }
    (groups, entries)
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

    fn from_row(person: u32, row: &LinkRow) -> Self {
        Self {
            person,
            relationship: row.relationship,
            legal: row.legal,
            financial: row.financial,
            contact: row.contact,
            payment: row.payment,
        }
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

    fn row(&self, pupil: u32) -> LinkRow {
        LinkRow {
            pupil,
            relationship: self.relationship,
            legal: self.legal,
            financial: self.financial,
            contact: self.contact,
            payment: self.payment,
        }
    }
}

/// A link as stored: positions instead of ids. The person is implied by
/// where the row is stored.
#[derive(Clone, Copy)]
struct LinkRow {
    pupil: u32,
    relationship: RelationshipCode,
    legal: Option<LegalRank>,
    financial: bool,
    contact: bool,
    payment: bool,
}

/// One source's records with their indexes, immutable. Built by a
/// [`DirectoryBuilder`]; shared through a [`MemoryDirectory`].
///
/// Its lookups are synchronous and never fail except for an id of another
/// source ([`DirectoryError::UnknownSource`]); the [`Directory`]
/// implementation is the same lookups behind the async interface.
///
/// # Indexes
///
/// Every lookup is a hash lookup, never a scan, so its cost does not grow
/// with the directory:
///
/// | lookup | index |
/// |---|---|
/// | person, pupil by id; AAF join key | hash table of record positions, keyed by local id |
/// | pupils of a person | the person's links, stored contiguously (offsets per person) |
/// | guardian candidates | hash table keyed by (family name, given-name key), see below |
/// | school by UAI | hash map |
///
/// Each related person is indexed under each of its family names (birth and
/// usage, by [`family_name_key`](super::family_name_key)) paired with its
/// first given name, normalized. A [`NameQuery`] looks up each of its
/// family names paired with each of its given names and with each run of
/// its first words (`ANNE`, `ANNE MARIE`, `ANNE MARIE CLAIRE`): a dozen hash
/// lookups or so, which find every record that [`NameQuery::matches`]; the
/// match is then checked on the record (hash collisions are harmless) and
/// classified. A bucket holds true homonyms only (same family name, same
/// first given name), so the work per lookup is the number of candidates,
/// not the size of the directory.
///
/// Ids are stored once, in the records: the id tables hold 4-byte positions
/// (a `hashbrown` table hashed by the record's local id), links hold
/// positions, not ids. Keys are hashed with SipHash under a random key per
/// snapshot, so names crafted to collide cannot degrade lookups.
pub struct DirectorySnapshot {
    source: SourceId,
    hasher: RandomState,
    pupils: Vec<Arc<Pupil>>,
    pupil_index: HashTable<u32>,
    persons: Vec<Arc<RelatedPerson>>,
    person_index: HashTable<u32>,
    /// Links grouped by person: those of person `p` are
    /// `link_rows[link_start[p]..link_start[p + 1]]`.
    link_rows: Vec<LinkRow>,
    link_start: Vec<u32>,
    names: HashTable<NameGroup>,
    name_entries: Vec<u32>,
    /// Pupils by (school, school-local id).
    school_local_index: HashTable<u32>,
    schools: HashMap<Uai, School, RandomState>,
    anomalies: Vec<Anomaly>,
    /// Which export it was built from (see [`export`](Self::export)).
    export: Option<Arc<str>>,
}

impl DirectorySnapshot {
    /// An empty snapshot of `source`.
    pub fn empty(source: SourceId) -> Self {
        DirectoryBuilder::new(source).build()
    }

    /// The source.
    pub fn source(&self) -> &SourceId {
        &self.source
    }

    /// The number of pupils.
    pub fn pupil_count(&self) -> usize {
        self.pupils.len()
    }

    /// The number of related persons.
    pub fn person_count(&self) -> usize {
        self.persons.len()
    }

    /// The number of links (dangling ones were dropped).
    pub fn link_count(&self) -> usize {
        self.link_rows.len()
    }

    /// The number of schools.
    pub fn school_count(&self) -> usize {
        self.schools.len()
    }

    /// What looked wrong in the records it was built from.
    pub fn anomalies(&self) -> &[Anomaly] {
        &self.anomalies
    }

    /// Every pupil, in no particular order (for reports and exports; the
    /// flow looks pupils up by id).
    pub fn pupils(&self) -> impl ExactSizeIterator<Item = Arc<Pupil>> + '_ {
        self.pupils.iter().cloned()
    }

    /// Every related person, in no particular order (for reports and
    /// exports; the flow looks persons up by id or name).
    pub fn persons(&self) -> impl ExactSizeIterator<Item = Arc<RelatedPerson>> + '_ {
        self.persons.iter().cloned()
    }

    /// Every school, in no particular order.
    pub fn schools(&self) -> impl ExactSizeIterator<Item = &School> + '_ {
        self.schools.values()
    }

    fn check_source(&self, source: &SourceId) -> Result<(), DirectoryError> {
        if *source != self.source {
            return Err(DirectoryError::UnknownSource(source.clone()));
        }
        Ok(())
    }

    fn person_position(&self, local: &str) -> Option<u32> {
        find(
            &self.hasher,
            &self.person_index,
            &self.persons,
            local,
            |p| p.id.local(),
        )
    }

    fn pupil_position(&self, local: &str) -> Option<u32> {
        find(&self.hasher, &self.pupil_index, &self.pupils, local, |p| {
            p.id.local()
        })
    }

    fn link_rows(&self, person: usize) -> &[LinkRow] {
        let start = self.link_start[person] as usize;
        let end = self.link_start[person + 1] as usize;
        &self.link_rows[start..end]
    }

    fn link(&self, person: usize, row: &LinkRow) -> Link {
        Link {
            pupil: self.pupils[row.pupil as usize].id.clone(),
            person: self.persons[person].id.clone(),
            relationship: row.relationship,
            legal: row.legal,
            financial: row.financial,
            contact: row.contact,
            payment: row.payment,
        }
    }

    /// The related person `id`.
    pub fn person(&self, id: &PersonId) -> Result<Option<Arc<RelatedPerson>>, DirectoryError> {
        self.check_source(id.source())?;
        Ok(self
            .person_position(id.local())
            .map(|p| self.persons[p as usize].clone()))
    }

    /// The pupil `id`.
    pub fn pupil(&self, id: &PupilId) -> Result<Option<Arc<Pupil>>, DirectoryError> {
        self.check_source(id.source())?;
        Ok(self
            .pupil_position(id.local())
            .map(|p| self.pupils[p as usize].clone()))
    }

    /// The pupils of the person `id`, with their links, ordered by pupil id.
    pub fn pupils_of(&self, id: &PersonId) -> Result<Vec<LinkedPupil>, DirectoryError> {
        self.check_source(id.source())?;
        let Some(p) = self.person_position(id.local()) else {
            return Ok(Vec::new());
        };
        let p = p as usize;
        let mut pupils: Vec<LinkedPupil> = self
            .link_rows(p)
            .iter()
            .map(|row| LinkedPupil {
                link: self.link(p, row),
                pupil: self.pupils[row.pupil as usize].clone(),
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
        let given_keys = query.given_keys();
        let mut hits: Vec<u32> = Vec::new();
        for (_, family) in query.family_keys() {
            for given in given_keys {
                let hash = name_key_hash(&self.hasher, family, given);
                if let Some(group) = self.names.find(hash, |g| g.hash == hash) {
                    let start = group.start as usize;
                    hits.extend_from_slice(&self.name_entries[start..start + group.len as usize]);
                }
            }
        }
        hits.sort_unstable();
        hits.dedup();
        let mut candidates: Vec<Candidate> = hits
            .into_iter()
            .filter_map(|p| {
                let person = &self.persons[p as usize];
                query.matches(person).map(|name_match| Candidate {
                    person: person.clone(),
                    name_match,
                })
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
        if let Some(p) = self.person_position(join_key) {
            return Ok(Some(DirectoryPerson::Related(
                self.persons[p as usize].clone(),
            )));
        }
        Ok(self
            .pupil_position(join_key)
            .map(|p| DirectoryPerson::Pupil(self.pupils[p as usize].clone())))
    }

    /// The school `uai`.
    pub fn school(&self, uai: &Uai) -> Option<&School> {
        self.schools.get(uai)
    }

    /// Which export this snapshot was built from, as its importer named it
    /// (AAF: `ENT_14_Complet_20260901`, with each delta applied after;
    /// SIECLE: the files' names): kept with each link verified against it.
    pub fn export(&self) -> Option<&str> {
        self.export.as_deref()
    }

    /// The same snapshot, named as built from `export`.
    #[must_use]
    pub fn with_export(mut self, export: impl Into<Arc<str>>) -> Self {
        self.export = Some(export.into());
        self
    }

    /// The pupil of the school `uai` whose id in the school's own system
    /// ([`Pupil::school_local_id`]) is `local_id`.
    pub fn pupil_by_school_local_id(&self, uai: &Uai, local_id: &str) -> Option<Arc<Pupil>> {
        let key = (uai.as_str(), local_id);
        self.school_local_index
            .find(self.hasher.hash_one(key), |&i| {
                school_local_key(&self.pupils[i as usize]) == Some(key)
            })
            .map(|&i| self.pupils[i as usize].clone())
    }
}

impl fmt::Debug for DirectorySnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DirectorySnapshot")
            .field("source", &self.source)
            .field("pupils", &self.pupils.len())
            .field("persons", &self.persons.len())
            .field("links", &self.link_rows.len())
            .field("schools", &self.schools.len())
            .field("anomalies", &self.anomalies.len())
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
            source: snapshot.source.clone(),
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
    /// Freeing a large snapshot takes time (about 20 to 50 seconds for 10
    /// million guardians with glibc's allocator): drop the returned one on a
    /// background thread, not on a request path. Lookups allocate only
    /// their result (record names are compared without copies), so the
    /// heap left fragmented by a load or a drop does not slow them down.
    pub fn replace(
        &self,
        snapshot: DirectorySnapshot,
    ) -> Result<Arc<DirectorySnapshot>, DirectoryError> {
        if snapshot.source != self.source {
            return Err(DirectoryError::SourceMismatch {
                directory: self.source.clone(),
                snapshot: snapshot.source.clone(),
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
