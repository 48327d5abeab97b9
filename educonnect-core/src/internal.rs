//! Hooks for the fuzz targets in `fuzz/`: not part of the API, no
//! stability promise, hidden from the documentation.

use crate::birthdate::BirthDate;
use crate::directory::{PersonId, PupilId, SourceId};
use crate::filiation::decision::{ChildInput, RecordInput, decide, parse_answers};
use crate::filiation::matching::MatchScore;

/// The birth dates the school recorded for the four children of
/// [`challenge_form`]'s fixed family: full, full, day presumed, year only.
pub const CHALLENGE_DATES: [(u16, u8, u8); 4] =
    [(2012, 3, 27), (2015, 6, 1), (2014, 6, 0), (2016, 0, 0)];

/// Which children each of the fixed family's four candidate records links
/// to (records 0 and 1 are homonyms sharing child 0).
pub const CHALLENGE_RECORDS: [&[usize]; 4] = [&[0, 1], &[0], &[2], &[3, 1]];

/// What the challenge made of one form body.
#[derive(Debug)]
pub struct ChallengeFormResult {
    /// Each child's answer as parsed: day, month, year, "not mine".
    pub answers: Vec<(u8, u8, u16, bool)>,
    /// The confirmed records, by index, and whether each still needs a
    /// one-time code.
    pub confirmed: Vec<(usize, bool)>,
}

/// Parses `body` as the challenge form's answers for the fixed family
/// above, and decides which records it confirms.
pub fn challenge_form(body: &[u8]) -> ChallengeFormResult {
    let source = SourceId::aaf("14").expect("a valid academy");
    let pupils: Vec<PupilId> = (0..4)
        .map(|i| PupilId::new(source.clone(), &format!("E{i}")).expect("a valid id"))
        .collect();
    let persons: Vec<PersonId> = (0..4)
        .map(|i| PersonId::new(source.clone(), &format!("P{i}")).expect("a valid id"))
        .collect();
    let dates: Vec<BirthDate> = CHALLENGE_DATES
        .iter()
        .map(|&(y, m, d)| match (m, d) {
            (0, _) => BirthDate::presumed_month_and_day(y),
            (_, 0) => BirthDate::presumed_day(y, m),
            _ => BirthDate::new(y, m, d),
        })
        .map(|d| d.expect("a valid date"))
        .collect();
    let answers = parse_answers(body, pupils.len());
    let children: Vec<ChildInput<'_>> = pupils
        .iter()
        .zip(&dates)
        .map(|(pupil, date)| ChildInput {
            pupil,
            known: Some(*date),
        })
        .collect();
    let records: Vec<RecordInput<'_>> = persons
        .iter()
        .zip(CHALLENGE_RECORDS)
        .map(|(person, children)| RecordInput {
            person,
            score: MatchScore::default(),
            children: children.to_vec(),
        })
        .collect();
    let outcome = decide(&records, &children, &answers);
    ChallengeFormResult {
        answers: answers
            .iter()
            .map(|a| (a.day, a.month, a.year, a.not_mine))
            .collect(),
        confirmed: outcome
            .confirmed
            .iter()
            .map(|c| {
                let index = persons
                    .iter()
                    .position(|p| *p == c.person)
                    .unwrap_or(usize::MAX);
                (index, c.needs_code.is_some())
            })
            .collect(),
    }
}

/// Opens `bytes` as a directory snapshot file twice: as they are (the
/// header and checksum checks), then with their checksum recomputed, so
/// that mutated files reach the checks of every section and record. An
/// opened snapshot is then read whole: every record decoded and looked up
/// again by id, name and school-local id, every link followed, rebuilt
/// through a builder and written back. Returns the number of records read
/// (0 when both opens are refused). Never panics: that is what the
/// `snapshot_open` fuzz target checks. (A crafted file that passes every
/// check may answer wrongly, e.g. a record its index does not find: the
/// checks make reading safe, not the file honest.)
pub fn snapshot_open(bytes: &[u8]) -> usize {
    use crate::directory::{DirectoryBuilder, DirectorySnapshot, NameQuery};

    let _ = DirectorySnapshot::from_bytes(bytes.to_vec());
    let mut fixed = bytes.to_vec();
    crate::directory::fix_checksum(&mut fixed);
    let Ok(snapshot) = DirectorySnapshot::from_bytes(fixed) else {
        return 0;
    };
    let mut read = 0;
    for pupil in snapshot.pupils() {
        read += 1;
        let _ = snapshot.pupil(&pupil.id);
        if let (Some(uai), Some(local)) = (&pupil.school, &pupil.school_local_id) {
            let _ = snapshot.pupil_by_school_local_id(uai, local);
        }
    }
    for person in snapshot.persons() {
        read += 1;
        let _ = snapshot.person(&person.id);
        let _ = snapshot.pupils_of(&person.id);
        let query = NameQuery::new(
            &person.birth_name,
            &person.given_names,
            person.usage_name.as_deref(),
        );
        let _ = snapshot.guardian_candidates(&query);
        if let Some(academy) = snapshot.source().academy() {
            let _ = snapshot.person_by_aaf_join_key(academy, person.id.local());
        }
    }
    let rebuilt = DirectoryBuilder::from_snapshot(&snapshot).build();
    // Two records of one id in a crafted file are one in the builder.
    assert!(rebuilt.pupil_count() <= snapshot.pupil_count());
    assert!(rebuilt.person_count() <= snapshot.person_count());
    let mut written = Vec::new();
    snapshot
        .write_to(&mut written)
        .expect("writing to memory succeeds");
    assert!(DirectorySnapshot::from_bytes(written).is_ok());
    read
}
