//! The compact encoding of a [`DirectorySnapshot`](super::DirectorySnapshot):
//! the pieces the snapshot's one byte buffer is made of.
//!
//! - [`Keys`]: SipHash-1-3 under a random key stored in the snapshot, for
//!   every index (ids, names, school-local ids), so that names crafted to
//!   collide cannot degrade lookups without the file;
//! - [`checksum`]: a fast unkeyed 64-bit hash of the body, to tell a
//!   truncated or damaged file from a good one at open;
//! - varints and length-prefixed strings ([`put_varint`], [`put_str`],
//!   [`Reader`]);
//! - open-addressed tables of `(tag, value)` slots ([`table`], [`Probe`]);
//! - the record codecs: [`PupilView`], [`PersonView`] (borrowed views,
//!   checked when parsed, turned into records on demand), schools,
//!   anomalies, links.
//!
//! Every read is bounds-checked and returns `None` on anything unexpected:
//! the bytes may come from a file, and a file is never trusted to be what
//! its header says.

use super::memory::Anomaly;
use super::model::{
    Civility, LegalRank, Link, PersonId, Phone, PhoneKind, Pupil, PupilId, RelatedPerson,
    RelationshipCode, RelationshipTable, School, SourceId, check_local,
};
use crate::birthdate::{BirthDate, DatePrecision};
use crate::ids::{Ine, Uai};

/// The key of every hash in one snapshot, random per build, stored in its
/// header.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Keys {
    pub(crate) k0: u64,
    pub(crate) k1: u64,
}

impl Keys {
    /// A random key, from the standard library's per-process random seed
    /// (the one `HashMap` uses).
    pub(crate) fn random() -> Self {
        use std::hash::{BuildHasher, Hasher};
        let state = std::collections::hash_map::RandomState::new();
        let mut a = state.build_hasher();
        a.write_u64(0x6b30);
        let mut b = state.build_hasher();
        b.write_u64(0x6b31);
        Self {
            k0: a.finish(),
            k1: b.finish(),
        }
    }

    /// SipHash-1-3 of the concatenation of `parts`.
    pub(crate) fn hash(&self, parts: &[&[u8]]) -> u64 {
        let mut sip = Sip13::new(self.k0, self.k1);
        for part in parts {
            sip.write(part);
        }
        sip.finish()
    }

    /// The hash of a record's local id.
    pub(crate) fn id(&self, local: &str) -> u64 {
        self.hash(&[local.as_bytes()])
    }

    /// The hash of a family name key (the name index's first level).
    pub(crate) fn family(&self, family: &str) -> u64 {
        self.hash(&[family.as_bytes()])
    }

    /// The 32-bit hash of a given-name key (the name index's second
    /// level; `0xFE` never occurs in UTF-8, so it never equals a family
    /// name's hash input).
    pub(crate) fn given(&self, given: &str) -> u32 {
        self.hash(&[&[0xFE], given.as_bytes()]) as u32
    }

    /// The hash of a (school, id in the school's system) pair (a UAI is
    /// always 8 bytes: the split is unambiguous).
    pub(crate) fn school_local(&self, uai: &Uai, local: &str) -> u64 {
        self.hash(&[uai.as_str().as_bytes(), local.as_bytes()])
    }
}

/// SipHash-1-3 (one compression round, three finalization rounds), the
/// keyed hash the standard library's `HashMap` uses; written here because
/// the file format depends on it never changing, which no crate promises.
struct Sip13 {
    v: [u64; 4],
    tail: u64,
    ntail: usize,
    length: usize,
}

impl Sip13 {
    fn new(k0: u64, k1: u64) -> Self {
        Self {
            v: [
                k0 ^ 0x736f_6d65_7073_6575,
                k1 ^ 0x646f_7261_6e64_6f6d,
                k0 ^ 0x6c79_6765_6e65_7261,
                k1 ^ 0x7465_6462_7974_6573,
            ],
            tail: 0,
            ntail: 0,
            length: 0,
        }
    }

    fn round(&mut self) {
        let v = &mut self.v;
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13);
        v[1] ^= v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16);
        v[3] ^= v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21);
        v[3] ^= v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17);
        v[1] ^= v[2];
        v[2] = v[2].rotate_left(32);
    }

    fn compress(&mut self, m: u64) {
        self.v[3] ^= m;
        self.round();
        self.v[0] ^= m;
    }

    fn write(&mut self, bytes: &[u8]) {
        self.length = self.length.wrapping_add(bytes.len());
        let mut bytes = bytes;
        // Fill the pending word first.
        while self.ntail != 0 {
            let Some((&b, rest)) = bytes.split_first() else {
                return;
            };
            self.tail |= u64::from(b) << (8 * self.ntail);
            self.ntail += 1;
            bytes = rest;
            if self.ntail == 8 {
                let m = self.tail;
                self.compress(m);
                self.tail = 0;
                self.ntail = 0;
            }
        }
        let mut words = bytes.chunks_exact(8);
        for w in &mut words {
            self.compress(le_u64(w));
        }
        for (i, &b) in words.remainder().iter().enumerate() {
            self.tail |= u64::from(b) << (8 * i);
        }
        self.ntail = words.remainder().len();
    }

    fn finish(mut self) -> u64 {
        let b = ((self.length as u64 & 0xff) << 56) | self.tail;
        self.compress(b);
        self.v[2] ^= 0xff;
        self.round();
        self.round();
        self.round();
        self.v[0] ^ self.v[1] ^ self.v[2] ^ self.v[3]
    }
}

/// The first 8 bytes of `b` (at least 8 long), little-endian.
fn le_u64(b: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&b[..8]);
    u64::from_le_bytes(word)
}

/// A fast 64-bit checksum of `bytes`: four independent lanes of
/// xor-multiply-rotate over 8-byte words, so that it runs at memory speed
/// (the body of a national snapshot is gigabytes, checked at each open).
/// Every step is a bijection of the lane's state, so a single changed word
/// always changes the result; it is not a defence against a forger (who
/// can recompute it), only against truncation and damage.
pub(crate) fn checksum(bytes: &[u8]) -> u64 {
    const P: u64 = 0x9E37_79B9_7F4A_7C15;
    const Q: u64 = 0xC2B2_AE3D_27D4_EB4F;
    let mut lanes = [P, Q, P ^ Q, P.rotate_left(17)];
    let mut blocks = bytes.chunks_exact(32);
    for block in &mut blocks {
        for (lane, word) in lanes.iter_mut().zip(block.chunks_exact(8)) {
            *lane = (*lane ^ le_u64(word)).wrapping_mul(Q).rotate_left(31);
        }
    }
    let mut rest = [0u8; 32];
    let tail = blocks.remainder();
    rest[..tail.len()].copy_from_slice(tail);
    for (lane, word) in lanes.iter_mut().zip(rest.chunks_exact(8)) {
        *lane = (*lane ^ le_u64(word)).wrapping_mul(Q).rotate_left(31);
    }
    let mut h = bytes.len() as u64;
    for lane in lanes {
        h = (h ^ lane).wrapping_mul(P).rotate_left(29);
    }
    h ^ (h >> 32)
}

/// Appends `n` as a LEB128 varint (1 byte below 128).
pub(crate) fn put_varint(out: &mut Vec<u8>, mut n: u32) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Appends a length-prefixed UTF-8 string. Strings come from records
/// whose fields an importer bounded (a record is at most megabytes).
pub(crate) fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, u32::try_from(s.len()).expect("a field under 4 GiB"));
    out.extend_from_slice(s.as_bytes());
}

/// A bounds-checked reader over encoded bytes: every read is `None` past
/// the end or on a malformed value.
#[derive(Clone)]
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.bytes.split_first()?;
        self.bytes = rest;
        Some(b)
    }

    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.bytes.len() {
            return None;
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Some(head)
    }

    pub(crate) fn varint(&mut self) -> Option<u32> {
        let mut n: u32 = 0;
        for shift in [0, 7, 14, 21, 28] {
            let b = self.u8()?;
            let bits = u32::from(b & 0x7f);
            if shift == 28 && bits > 0x0f {
                return None;
            }
            n |= bits << shift;
            if b & 0x80 == 0 {
                return Some(n);
            }
        }
        None
    }

    /// A length-prefixed string's bytes, unchecked (comparing a key).
    pub(crate) fn raw_str(&mut self) -> Option<&'a [u8]> {
        let len = self.varint()? as usize;
        self.take(len)
    }

    pub(crate) fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.raw_str()?).ok()
    }

    fn date(&mut self) -> Option<BirthDate> {
        decode_date(self.take(4)?)
    }
}

/// Little-endian `u32` number `i` of an array of them.
pub(crate) fn u32_at(array: &[u8], i: usize) -> Option<u32> {
    let b = array.get(i.checked_mul(4)?..i.checked_mul(4)?.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// Little-endian `u64` number `i` of an array of them.
pub(crate) fn u64_at(array: &[u8], i: usize) -> Option<u64> {
    let start = i.checked_mul(8)?;
    let b = array.get(start..start.checked_add(8)?)?;
    Some(le_u64(b))
}

/// Little-endian `u16` number `i` of an array of them.
pub(crate) fn u16_at(array: &[u8], i: usize) -> Option<u16> {
    let start = i.checked_mul(2)?;
    let b = array.get(start..start.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn encode_date(out: &mut Vec<u8>, date: &BirthDate) {
    out.extend_from_slice(&date.year().to_le_bytes());
    out.push(date.month());
    let precision = match date.precision() {
        DatePrecision::Day => 0,
        DatePrecision::Month => 1,
        DatePrecision::Year => 2,
    };
    out.push(date.day() | (precision << 5));
}

fn decode_date(b: &[u8]) -> Option<BirthDate> {
    let year = u16::from_le_bytes([b[0], b[1]]);
    let (month, day, precision) = (b[2], b[3] & 0x1f, b[3] >> 5);
    let date = match precision {
        0 => BirthDate::new(year, month, day),
        1 => BirthDate::presumed_day(year, month),
        2 => BirthDate::presumed_month_and_day(year),
        _ => return None,
    }
    .ok()?;
    // One encoding per date: a presumed part is written as 1.
    (date.month() == month && date.day() == day).then_some(date)
}

/// The strings levels and class names are interned in: written once,
/// named by number in the records.
#[derive(Default)]
pub(crate) struct Interner {
    numbers: std::collections::HashMap<String, u32>,
    pub(crate) strings: Vec<String>,
}

impl Interner {
    pub(crate) fn number(&mut self, s: &str) -> u32 {
        if let Some(&n) = self.numbers.get(s) {
            return n;
        }
        let n = u32::try_from(self.strings.len()).expect("fewer than 2^32 distinct classes");
        self.numbers.insert(s.to_owned(), n);
        self.strings.push(s.to_owned());
        n
    }
}

const PUPIL_INE: u8 = 1;
const PUPIL_USAGE: u8 = 2;
const PUPIL_DATE: u8 = 4;
const PUPIL_SCHOOL: u8 = 8;
const PUPIL_SCHOOL_LOCAL: u8 = 16;
const PUPIL_LEVEL: u8 = 32;

/// Appends a pupil's record (its source is the snapshot's).
pub(crate) fn encode_pupil(out: &mut Vec<u8>, pupil: &Pupil, strings: &mut Interner) {
    put_str(out, pupil.id.local());
    let flag = |set: bool, bit: u8| if set { bit } else { 0 };
    out.push(
        flag(pupil.ine.is_some(), PUPIL_INE)
            | flag(pupil.usage_name.is_some(), PUPIL_USAGE)
            | flag(pupil.birth_date.is_some(), PUPIL_DATE)
            | flag(pupil.school.is_some(), PUPIL_SCHOOL)
            | flag(pupil.school_local_id.is_some(), PUPIL_SCHOOL_LOCAL)
            | flag(pupil.level.is_some(), PUPIL_LEVEL),
    );
    if let Some(ine) = &pupil.ine {
        out.extend_from_slice(ine.as_str().as_bytes());
    }
    put_str(out, &pupil.birth_name);
    if let Some(usage) = &pupil.usage_name {
        put_str(out, usage);
    }
    put_strs(out, &pupil.given_names);
    if let Some(date) = &pupil.birth_date {
        encode_date(out, date);
    }
    if let Some(uai) = &pupil.school {
        out.extend_from_slice(uai.as_str().as_bytes());
    }
    if let Some(local) = &pupil.school_local_id {
        put_str(out, local);
    }
    if let Some(level) = &pupil.level {
        put_varint(out, strings.number(level));
    }
    put_varint(out, count(pupil.classes.len()));
    for class in &pupil.classes {
        put_varint(out, strings.number(class));
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).expect("fewer than 2^32 values in a field")
}

fn put_strs(out: &mut Vec<u8>, strs: &[String]) {
    put_varint(out, count(strs.len()));
    for s in strs {
        put_str(out, s);
    }
}

/// A list of strings inside a record, checked when the record was parsed.
#[derive(Clone, Copy)]
pub(crate) struct Strs<'a> {
    bytes: &'a [u8],
    count: u32,
}

impl<'a> Strs<'a> {
    /// Reads a count and that many strings, checking each.
    fn read(r: &mut Reader<'a>) -> Option<Self> {
        let count = r.varint()?;
        let start = r.bytes;
        for _ in 0..count {
            r.str()?;
        }
        let len = start.len() - r.bytes.len();
        Some(Self {
            bytes: &start[..len],
            count,
        })
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &'a str> {
        let mut r = Reader::new(self.bytes);
        (0..self.count).map_while(move |_| r.str())
    }

    fn to_vec(self) -> Vec<String> {
        self.iter().map(str::to_owned).collect()
    }
}

/// A pupil's record, parsed and checked, borrowing the snapshot's bytes.
pub(crate) struct PupilView<'a> {
    pub(crate) local: &'a str,
    ine: Option<Ine>,
    birth_name: &'a str,
    usage_name: Option<&'a str>,
    given_names: Strs<'a>,
    birth_date: Option<BirthDate>,
    pub(crate) school: Option<Uai>,
    pub(crate) school_local_id: Option<&'a str>,
    level: Option<u32>,
    classes: &'a [u8],
    class_count: u32,
}

/// The local id a record starts with, unchecked: what an id lookup
/// compares.
pub(crate) fn record_local(record: &[u8]) -> Option<&[u8]> {
    Reader::new(record).raw_str()
}

impl<'a> PupilView<'a> {
    /// Parses a whole record, checking every field; `strings` is the number
    /// of interned strings.
    pub(crate) fn parse(record: &'a [u8], strings: usize) -> Option<Self> {
        let mut r = Reader::new(record);
        let local = r.str()?;
        check_local(local).ok()?;
        let flags = r.u8()?;
        if flags & !0x3f != 0 {
            return None;
        }
        let has = |bit: u8| flags & bit != 0;
        let ine = if has(PUPIL_INE) {
            Some(Ine::parse(std::str::from_utf8(r.take(11)?).ok()?).ok()?)
        } else {
            None
        };
        let birth_name = r.str()?;
        let usage_name = if has(PUPIL_USAGE) {
            Some(r.str()?)
        } else {
            None
        };
        let given_names = Strs::read(&mut r)?;
        let birth_date = if has(PUPIL_DATE) {
            Some(r.date()?)
        } else {
            None
        };
        let school = if has(PUPIL_SCHOOL) {
            Some(Uai::parse(std::str::from_utf8(r.take(8)?).ok()?).ok()?)
        } else {
            None
        };
        let school_local_id = if has(PUPIL_SCHOOL_LOCAL) {
            Some(r.str()?)
        } else {
            None
        };
        let interned = |n: u32| (n as usize) < strings;
        let level = if has(PUPIL_LEVEL) {
            Some(r.varint().filter(|&n| interned(n))?)
        } else {
            None
        };
        let class_count = r.varint()?;
        let classes = r.bytes;
        for _ in 0..class_count {
            r.varint().filter(|&n| interned(n))?;
        }
        let classes = &classes[..classes.len() - r.bytes.len()];
        if !r.is_empty() {
            return None;
        }
        Some(Self {
            local,
            ine,
            birth_name,
            usage_name,
            given_names,
            birth_date,
            school,
            school_local_id,
            level,
            classes,
            class_count,
        })
    }

    /// The record, in `source`, with its interned strings.
    pub(crate) fn to_pupil(&self, source: &SourceId, strings: &[Box<str>]) -> Pupil {
        let string = |n: u32| {
            strings
                .get(n as usize)
                .map_or_else(String::new, |s| s.to_string())
        };
        let mut classes = Reader::new(self.classes);
        Pupil {
            id: PupilId::checked(source.clone(), self.local),
            ine: self.ine,
            birth_name: self.birth_name.to_owned(),
            usage_name: self.usage_name.map(str::to_owned),
            given_names: self.given_names.to_vec(),
            birth_date: self.birth_date,
            school: self.school,
            school_local_id: self.school_local_id.map(str::to_owned),
            level: self.level.map(string),
            classes: (0..self.class_count)
                .map_while(|_| classes.varint())
                .map(string)
                .collect(),
        }
    }
}

const PERSON_USAGE: u8 = 1;
const PERSON_CIVILITY: u8 = 2;
const PERSON_MADAME: u8 = 4;
const PERSON_DATE: u8 = 8;
const PERSON_EMAIL: u8 = 16;

fn phone_kind_code(kind: PhoneKind) -> u8 {
    match kind {
        PhoneKind::Mobile => 0,
        PhoneKind::Sms => 1,
        PhoneKind::Home => 2,
        PhoneKind::Work => 3,
    }
}

fn phone_kind(code: u8) -> Option<PhoneKind> {
    Some(match code {
        0 => PhoneKind::Mobile,
        1 => PhoneKind::Sms,
        2 => PhoneKind::Home,
        3 => PhoneKind::Work,
        _ => return None,
    })
}

/// Appends a related person's record.
pub(crate) fn encode_person(out: &mut Vec<u8>, person: &RelatedPerson) {
    put_str(out, person.id.local());
    let flag = |set: bool, bit: u8| if set { bit } else { 0 };
    out.push(
        flag(person.usage_name.is_some(), PERSON_USAGE)
            | flag(person.civility.is_some(), PERSON_CIVILITY)
            | flag(person.civility == Some(Civility::Madame), PERSON_MADAME)
            | flag(person.birth_date.is_some(), PERSON_DATE)
            | flag(person.email.is_some(), PERSON_EMAIL),
    );
    put_str(out, &person.birth_name);
    if let Some(usage) = &person.usage_name {
        put_str(out, usage);
    }
    put_strs(out, &person.given_names);
    if let Some(date) = &person.birth_date {
        encode_date(out, date);
    }
    put_varint(out, count(person.phones.len()));
    for phone in &person.phones {
        out.push(phone_kind_code(phone.kind));
        put_str(out, &phone.number);
    }
    if let Some(email) = &person.email {
        put_str(out, email);
    }
}

/// A related person's record, parsed and checked.
pub(crate) struct PersonView<'a> {
    pub(crate) local: &'a str,
    birth_name: &'a str,
    usage_name: Option<&'a str>,
    given_names: Strs<'a>,
    civility: Option<Civility>,
    birth_date: Option<BirthDate>,
    phones: &'a [u8],
    phone_count: u32,
    email: Option<&'a str>,
}

impl<'a> PersonView<'a> {
    /// Parses a whole record, checking every field.
    pub(crate) fn parse(record: &'a [u8]) -> Option<Self> {
        let mut r = Reader::new(record);
        let local = r.str()?;
        check_local(local).ok()?;
        let flags = r.u8()?;
        if flags & !0x1f != 0 || (flags & PERSON_MADAME != 0 && flags & PERSON_CIVILITY == 0) {
            return None;
        }
        let has = |bit: u8| flags & bit != 0;
        let birth_name = r.str()?;
        let usage_name = if has(PERSON_USAGE) {
            Some(r.str()?)
        } else {
            None
        };
        let given_names = Strs::read(&mut r)?;
        let civility = has(PERSON_CIVILITY).then(|| {
            if has(PERSON_MADAME) {
                Civility::Madame
            } else {
                Civility::Monsieur
            }
        });
        let birth_date = if has(PERSON_DATE) {
            Some(r.date()?)
        } else {
            None
        };
        let phone_count = r.varint()?;
        let phones = r.bytes;
        for _ in 0..phone_count {
            phone_kind(r.u8()?)?;
            r.str()?;
        }
        let phones = &phones[..phones.len() - r.bytes.len()];
        let email = if has(PERSON_EMAIL) {
            Some(r.str()?)
        } else {
            None
        };
        if !r.is_empty() {
            return None;
        }
        Some(Self {
            local,
            birth_name,
            usage_name,
            given_names,
            civility,
            birth_date,
            phones,
            phone_count,
            email,
        })
    }

    /// The birth name, the usage name and the given names, borrowed.
    pub(crate) fn names(&self) -> (&'a str, Option<&'a str>, impl Iterator<Item = &'a str>) {
        (self.birth_name, self.usage_name, self.given_names.iter())
    }

    /// The record, in `source`.
    pub(crate) fn to_person(&self, source: &SourceId) -> RelatedPerson {
        let mut phones = Reader::new(self.phones);
        RelatedPerson {
            id: PersonId::checked(source.clone(), self.local),
            birth_name: self.birth_name.to_owned(),
            usage_name: self.usage_name.map(str::to_owned),
            given_names: self.given_names.to_vec(),
            civility: self.civility,
            birth_date: self.birth_date,
            phones: (0..self.phone_count)
                .map_while(|_| {
                    let kind = phone_kind(phones.u8()?)?;
                    Some(Phone::new(kind, phones.str()?))
                })
                .collect(),
            email: self.email.map(str::to_owned),
        }
    }
}

/// A link's codes in 16 bits: the relationship code (8 bits), its table
/// (1 bit, set for the legacy AAF table), the legal rank (2 bits: 0 none,
/// 1, 2), then financial, contact, payment.
pub(crate) fn link_bits(
    relationship: RelationshipCode,
    legal: Option<LegalRank>,
    [financial, contact, payment]: [bool; 3],
) -> u16 {
    let table = match relationship.table() {
        RelationshipTable::Siecle => 0,
        RelationshipTable::LegacyAaf => 1,
    };
    let legal = legal.map_or(0, LegalRank::code);
    u16::from(relationship.code())
        | (table << 8)
        | (u16::from(legal) << 9)
        | (u16::from(financial) << 11)
        | (u16::from(contact) << 12)
        | (u16::from(payment) << 13)
}

/// Whether 16 bits are a link's codes as [`encode_link`] writes them.
pub(crate) fn valid_link_bits(bits: u16) -> bool {
    link_codes(bits).is_some()
}

type LinkCodes = (RelationshipCode, Option<LegalRank>, bool, bool, bool);

fn link_codes(bits: u16) -> Option<LinkCodes> {
    if bits >> 14 != 0 {
        return None;
    }
    let table = if bits & (1 << 8) != 0 {
        RelationshipTable::LegacyAaf
    } else {
        RelationshipTable::Siecle
    };
    let relationship = RelationshipCode::new(table, (bits & 0xff) as u8)?;
    let legal = LegalRank::from_code(((bits >> 9) & 3) as u8).ok()?;
    let flag = |bit: u16| bits & (1 << bit) != 0;
    Some((relationship, legal, flag(11), flag(12), flag(13)))
}

/// A link's codes, read back with its pupil and person; `None` for bits no
/// link writes.
pub(crate) fn decode_link(bits: u16, pupil: PupilId, person: PersonId) -> Option<Link> {
    let (relationship, legal, financial, contact, payment) = link_codes(bits)?;
    Some(Link {
        pupil,
        person,
        relationship,
        legal,
        financial,
        contact,
        payment,
    })
}

/// Appends the schools (sorted by UAI by the caller).
pub(crate) fn encode_schools<'s>(
    out: &mut Vec<u8>,
    schools: impl ExactSizeIterator<Item = &'s School>,
) {
    put_varint(out, count(schools.len()));
    for school in schools {
        out.extend_from_slice(school.uai.as_str().as_bytes());
        put_str(out, &school.name);
        match &school.jointure {
            Some(jointure) => {
                out.push(1);
                put_str(out, jointure);
            }
            None => out.push(0),
        }
        put_varint(out, count(school.classes.len()));
        for (code, label) in &school.classes {
            put_str(out, code);
            put_str(out, label);
        }
    }
}

pub(crate) fn decode_schools(bytes: &[u8]) -> Option<Vec<School>> {
    let mut r = Reader::new(bytes);
    let n = r.varint()?;
    let mut schools = Vec::new();
    for _ in 0..n {
        let uai = Uai::parse(std::str::from_utf8(r.take(8)?).ok()?).ok()?;
        let mut school = School::new(uai, r.str()?);
        match r.u8()? {
            0 => {}
            1 => school.jointure = Some(r.str()?.to_owned()),
            _ => return None,
        }
        let classes = r.varint()?;
        for _ in 0..classes {
            let code = r.str()?;
            school.classes.push((code.to_owned(), r.str()?.to_owned()));
        }
        schools.push(school);
    }
    r.is_empty().then_some(schools)
}

/// Appends the interned strings.
pub(crate) fn encode_strings(out: &mut Vec<u8>, strings: &[String]) {
    put_strs(out, strings);
}

pub(crate) fn decode_strings(bytes: &[u8]) -> Option<Vec<Box<str>>> {
    let mut r = Reader::new(bytes);
    let strs = Strs::read(&mut r)?;
    r.is_empty().then(|| strs.iter().map(Box::from).collect())
}

/// Appends the anomalies (ids only: their local parts).
pub(crate) fn encode_anomalies(out: &mut Vec<u8>, anomalies: &[Anomaly]) {
    put_varint(out, count(anomalies.len()));
    for anomaly in anomalies {
        match anomaly {
            Anomaly::DanglingLink { pupil, person } => {
                out.push(0);
                put_str(out, pupil.local());
                put_str(out, person.local());
            }
            Anomaly::SameLegalRank { pupil, rank } => {
                out.push(1);
                put_str(out, pupil.local());
                out.push(rank.code());
            }
        }
    }
}

pub(crate) fn decode_anomalies(bytes: &[u8], source: &SourceId) -> Option<Vec<Anomaly>> {
    let mut r = Reader::new(bytes);
    let n = r.varint()?;
    let mut anomalies = Vec::new();
    for _ in 0..n {
        let kind = r.u8()?;
        let pupil = PupilId::new(source.clone(), r.str()?).ok()?;
        anomalies.push(match kind {
            0 => Anomaly::DanglingLink {
                pupil,
                person: PersonId::new(source.clone(), r.str()?).ok()?,
            },
            1 => Anomaly::SameLegalRank {
                pupil,
                rank: LegalRank::try_from(r.u8()?).ok()?,
            },
            _ => return None,
        });
    }
    r.is_empty().then_some(anomalies)
}

/// An open-addressed table of `(tag, value)` slots, 8 bytes each: the slot
/// is chosen by the hash's low bits, the tag is its high 32 bits, the
/// value is a position plus one (0 marks an empty slot). Linear probing,
/// at most 3/4 full (a power-of-two capacity, always with an empty slot,
/// so that a probe ends).
pub(crate) fn table(entries: &[(u64, u32)]) -> Vec<u8> {
    let capacity = (entries.len() + entries.len() / 3 + 1).next_power_of_two();
    let mask = capacity - 1;
    let mut slots = vec![0u8; capacity * 8];
    for &(hash, value) in entries {
        let mut i = (hash as usize) & mask;
        loop {
            let slot = &mut slots[i * 8..i * 8 + 8];
            if slot[4..8] == [0, 0, 0, 0] {
                slot[0..4].copy_from_slice(&((hash >> 32) as u32).to_le_bytes());
                let stored = value.checked_add(1).expect("fewer than 2^32 - 1 entries");
                slot[4..8].copy_from_slice(&stored.to_le_bytes());
                break;
            }
            i = (i + 1) & mask;
        }
    }
    slots
}

/// Checks a table read from a file: a power-of-two number of slots, values
/// up to `values` (positions 0 to `values - 1`, plus one), at least one
/// empty slot.
pub(crate) fn check_table(slots: &[u8], values: usize) -> bool {
    let capacity = slots.len() / 8;
    if !slots.len().is_multiple_of(8) || !capacity.is_power_of_two() {
        return false;
    }
    let mut empty = false;
    for i in 0..capacity {
        let Some(value) = u32_at(slots, 2 * i + 1) else {
            return false;
        };
        if value == 0 {
            empty = true;
        } else if value as usize > values {
            return false;
        }
    }
    empty
}

/// The values whose tag matches a hash, in probe order (an equal hash
/// with another key is possible: callers check the key).
pub(crate) struct Probe<'t> {
    slots: &'t [u8],
    mask: usize,
    i: usize,
    tag: u32,
    left: usize,
}

impl<'t> Probe<'t> {
    pub(crate) fn new(slots: &'t [u8], hash: u64) -> Self {
        let capacity = slots.len() / 8;
        let mask = capacity.saturating_sub(1);
        Self {
            slots,
            mask,
            i: (hash as usize) & mask,
            tag: (hash >> 32) as u32,
            left: capacity,
        }
    }
}

impl Iterator for Probe<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        while self.left > 0 {
            self.left -= 1;
            let tag = u32_at(self.slots, 2 * self.i)?;
            let value = u32_at(self.slots, 2 * self.i + 1)?;
            if value == 0 {
                return None;
            }
            self.i = (self.i + 1) & self.mask;
            if tag == self.tag {
                return Some(value - 1);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_never_changes() {
        // Snapshot files depend on it: a change must come with a new
        // format version.
        let keys = Keys { k0: 1, k1: 2 };
        let a = keys.hash(&[b"hello world, this is more than 8 bytes"]);
        let b = keys.hash(&[b"hello", b" world, this is", b" more than 8 bytes"]);
        assert_eq!(a, b);
        assert_ne!(keys.id("R1"), keys.id("R2"));
        assert_ne!(keys.id("R1"), Keys { k0: 3, k1: 2 }.id("R1"));
        assert_eq!(Keys { k0: 0, k1: 0 }.id(""), 0xd1fb_a762_150c_532c);
        assert_eq!(checksum(b""), checksum(b""));
        assert_ne!(checksum(&[0; 40]), checksum(&[0; 41]));
        let mut data = vec![7u8; 100];
        let before = checksum(&data);
        data[63] ^= 1;
        assert_ne!(before, checksum(&data));
    }

    #[test]
    fn varints_round_trip_and_refuse_overlong() {
        for n in [0, 1, 127, 128, 300, 1 << 21, u32::MAX] {
            let mut out = Vec::new();
            put_varint(&mut out, n);
            assert_eq!(Reader::new(&out).varint(), Some(n));
        }
        assert_eq!(Reader::new(&[0xff; 5]).varint(), None);
        assert_eq!(Reader::new(&[0x80]).varint(), None);
    }

    #[test]
    fn tables_find_what_was_put() {
        let entries: Vec<(u64, u32)> = (0..1000u32)
            .map(|i| (Keys { k0: 9, k1: 9 }.id(&i.to_string()), i))
            .collect();
        let slots = table(&entries);
        assert!(check_table(&slots, 1000));
        for &(hash, value) in &entries {
            assert!(Probe::new(&slots, hash).any(|v| v == value));
        }
        let empty = table(&[]);
        assert!(check_table(&empty, 0));
        assert_eq!(Probe::new(&empty, 42).next(), None);
    }
}
