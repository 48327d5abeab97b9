//! The link decision: from the answers to the birth-date challenge, which
//! guardian records the person is confirmed as, and what is still needed.
//!
//! Each candidate record is judged on its own, and a confirmed record
//! grants exactly its own links (never another record's legal authority):
//!
//! - a record is confirmed when it has at least one child shown, every one
//!   of its children has the right date, and none is marked "Ce n'est pas
//!   mon enfant" (saying a child is not yours says the record is not yours:
//!   it never lowers the proof the other children give);
//! - a record whose right dates are all presumed (`00/mm/yyyy`,
//!   `00/00/yyyy`: one to twelve guesses) is not proven by them: it needs
//!   the one-time code sent to the phone the school recorded for it;
//! - when two confirmed records of one pupil fit the person equally (a
//!   grandfather who shares the father's names and knows the dates), the
//!   dates cannot tell them apart: each needs its own one-time code, sent
//!   to its own phone; a record that fits less well than another confirmed
//!   record of the same pupil is dropped.
//!
//! Every comparison of a date is made in constant time, and all of them are
//! made before any decision.

use subtle::{Choice, ConstantTimeEq};

use super::matching::MatchScore;
use crate::birthdate::{BirthDate, DatePrecision};
use crate::directory::{PersonId, PupilId};

/// One child's answer, as typed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) day: u8,
    pub(crate) month: u8,
    pub(crate) year: u16,
    pub(crate) not_mine: bool,
}

/// Whether the typed date fits the school's, in constant time: equal on
/// every part the school knows (a presumed day or month matches anything),
/// as [`BirthDate::matches`] says.
pub(crate) fn date_matches(known: &BirthDate, answer: &Answer) -> Choice {
    let year = known.year().ct_eq(&answer.year);
    let month = known.month().ct_eq(&answer.month)
        | Choice::from(u8::from(known.precision() == DatePrecision::Year));
    let day = known.day().ct_eq(&answer.day)
        | Choice::from(u8::from(known.precision() != DatePrecision::Day));
    year & month & day
}

/// A candidate record, as the decision sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordInput<'a> {
    pub(crate) person: &'a PersonId,
    pub(crate) score: MatchScore,
    /// Indices of its children in the challenge.
    pub(crate) children: Vec<usize>,
}

/// A child of the challenge, as the decision sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChildInput<'a> {
    pub(crate) pupil: &'a PupilId,
    /// The date the school recorded now (`None`: no longer known, which
    /// matches nothing).
    pub(crate) known: Option<BirthDate>,
}

/// Why a confirmed record still needs its one-time code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CodeReason {
    /// Its dates are all presumed.
    PresumedDates,
    /// Another record of one of its pupils fits the person as well.
    Homonym,
}

/// A record the dates confirmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Confirmed {
    pub(crate) person: PersonId,
    /// Its pupils, as confirmed.
    pub(crate) pupils: Vec<PupilId>,
    /// `Some` when the dates are not enough.
    pub(crate) needs_code: Option<CodeReason>,
}

/// What the answers established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// Records confirmed by the dates (some may still need a code).
    pub(crate) confirmed: Vec<Confirmed>,
    /// Children marked "not mine".
    pub(crate) not_mine: Vec<usize>,
    /// Children not marked "not mine" whose date was wrong.
    pub(crate) wrong: Vec<usize>,
}

/// Decides, from the answers (one per child, in order), which records are
/// confirmed. See the [module](self) for the rules.
pub(crate) fn decide(
    records: &[RecordInput<'_>],
    children: &[ChildInput<'_>],
    answers: &[Answer],
) -> Outcome {
    // Every date first, in constant time.
    let right: Vec<Choice> = children
        .iter()
        .enumerate()
        .map(|(i, child)| {
            let answer = answers.get(i).copied().unwrap_or_default();
            match &child.known {
                Some(date) => date_matches(date, &answer),
                None => Choice::from(0),
            }
        })
        .collect();
    let not_mine_at = |i: usize| answers.get(i).is_some_and(|a| a.not_mine);
    let not_mine: Vec<usize> = (0..children.len()).filter(|&i| not_mine_at(i)).collect();
    let wrong: Vec<usize> = (0..children.len())
        .filter(|&i| !not_mine_at(i) && !bool::from(right[i]))
        .collect();

    let mut proven: Vec<(usize, bool)> = Vec::new(); // (record index, strong)
    for (r, record) in records.iter().enumerate() {
        if record.children.is_empty() || record.children.iter().any(|&i| not_mine_at(i)) {
            continue;
        }
        let mut all = Choice::from(1);
        for &i in &record.children {
            all &= right.get(i).copied().unwrap_or(Choice::from(0));
        }
        if !bool::from(all) {
            continue;
        }
        let strong = record.children.iter().any(|&i| {
            children
                .get(i)
                .and_then(|c| c.known)
                .is_some_and(|d| d.precision() == DatePrecision::Day)
        });
        proven.push((r, strong));
    }

    let mut confirmed = Vec::new();
    'records: for &(r, strong) in &proven {
        let record = &records[r];
        let mut homonym = false;
        for &i in &record.children {
            for &(other, _) in &proven {
                if other == r || !records[other].children.contains(&i) {
                    continue;
                }
                match records[other].score.cmp(&record.score) {
                    std::cmp::Ordering::Greater => continue 'records,
                    std::cmp::Ordering::Equal => homonym = true,
                    std::cmp::Ordering::Less => {}
                }
            }
        }
        let needs_code = if homonym {
            Some(CodeReason::Homonym)
        } else if !strong {
            Some(CodeReason::PresumedDates)
        } else {
            None
        };
        confirmed.push(Confirmed {
            person: record.person.clone(),
            pupils: record
                .children
                .iter()
                .filter_map(|&i| children.get(i).map(|c| c.pupil.clone()))
                .collect(),
            needs_code,
        });
    }
    Outcome {
        confirmed,
        not_mine,
        wrong,
    }
}

/// Reads the form's answers for `count` children: `day_{i}`, `month_{i}`,
/// `year_{i}`, `not_mine_{i}`. A missing or unreadable number is 0, which
/// matches no date. Reads at most a bounded number of fields, whatever the
/// body holds.
pub(crate) fn parse_answers(body: &[u8], count: usize) -> Vec<Answer> {
    let mut answers = vec![Answer::default(); count];
    for (key, value) in url::form_urlencoded::parse(body).take(4 * count + 8) {
        let Some((field, index)) = key.rsplit_once('_') else {
            continue;
        };
        let Some(answer) = index.parse::<usize>().ok().and_then(|i| answers.get_mut(i)) else {
            continue;
        };
        let value = value.trim();
        match field {
            "day" => answer.day = value.parse().unwrap_or(0),
            "month" => answer.month = value.parse().unwrap_or(0),
            "year" => answer.year = value.parse().unwrap_or(0),
            "not_mine" => answer.not_mine = !value.is_empty(),
            _ => {}
        }
    }
    answers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::SourceId;

    fn pupil(local: &str) -> PupilId {
        PupilId::new(SourceId::aaf("14").unwrap(), local).unwrap()
    }

    fn person(local: &str) -> PersonId {
        PersonId::new(SourceId::aaf("14").unwrap(), local).unwrap()
    }

    fn answer(y: u16, m: u8, d: u8) -> Answer {
        Answer {
            day: d,
            month: m,
            year: y,
            not_mine: false,
        }
    }

    const NOT_MINE: Answer = Answer {
        day: 0,
        month: 0,
        year: 0,
        not_mine: true,
    };

    #[test]
    fn constant_time_match_agrees_with_birth_date_matches() {
        let dates = [
            BirthDate::new(2012, 3, 27).unwrap(),
            BirthDate::presumed_day(2012, 3).unwrap(),
            BirthDate::presumed_month_and_day(2012).unwrap(),
        ];
        for known in dates {
            for (y, m, d) in [
                (2012, 3, 27),
                (2012, 3, 1),
                (2012, 1, 1),
                (2012, 4, 27),
                (2011, 3, 27),
                (0, 0, 0),
            ] {
                assert_eq!(
                    bool::from(date_matches(&known, &answer(y, m, d))),
                    known.matches(y, m, d),
                    "{known:?} {y}-{m}-{d}"
                );
            }
        }
    }

    #[test]
    fn answers_are_read_by_index() {
        let a = parse_answers(
            b"day_0=27&month_0=3&year_0=2012&not_mine_1=1&day_9=1&year_1=x",
            2,
        );
        assert_eq!(a[0], answer(2012, 3, 27));
        assert_eq!((a[1].year, a[1].not_mine), (0, true));
    }

    #[test]
    fn not_my_child_never_lowers_the_proof_of_a_record() {
        let (p, a, b) = (person("P"), pupil("A"), pupil("B"));
        let records = [RecordInput {
            person: &p,
            score: MatchScore::default(),
            children: vec![0, 1],
        }];
        let children = [
            ChildInput {
                pupil: &a,
                known: Some(BirthDate::new(2012, 3, 27).unwrap()),
            },
            ChildInput {
                pupil: &b,
                known: Some(BirthDate::new(2015, 6, 1).unwrap()),
            },
        ];
        // One right date, the other child "not mine": the record is not
        // confirmed (it was before: one date sufficed).
        let outcome = decide(&records, &children, &[answer(2012, 3, 27), NOT_MINE]);
        assert!(outcome.confirmed.is_empty() && outcome.wrong.is_empty());
        let outcome = decide(
            &records,
            &children,
            &[answer(2012, 3, 27), answer(2015, 6, 1)],
        );
        assert_eq!(outcome.confirmed.len(), 1);
        assert_eq!(outcome.confirmed[0].needs_code, None);
        assert!(outcome.wrong.is_empty());
    }

    #[test]
    fn presumed_dates_are_never_proof_on_their_own() {
        let (p, a) = (person("P"), pupil("A"));
        let records = [RecordInput {
            person: &p,
            score: MatchScore::default(),
            children: vec![0],
        }];
        let children = [ChildInput {
            pupil: &a,
            known: Some(BirthDate::presumed_month_and_day(2014).unwrap()),
        }];
        let outcome = decide(&records, &children, &[answer(2014, 1, 1)]);
        assert_eq!(
            outcome.confirmed[0].needs_code,
            Some(CodeReason::PresumedDates)
        );
    }

    #[test]
    fn homonym_records_of_one_pupil_each_need_their_own_code() {
        let (father, grandfather, a) = (person("F"), person("G"), pupil("A"));
        let children = [ChildInput {
            pupil: &a,
            known: Some(BirthDate::new(2012, 3, 27).unwrap()),
        }];
        let equal = [
            RecordInput {
                person: &father,
                score: MatchScore::default(),
                children: vec![0],
            },
            RecordInput {
                person: &grandfather,
                score: MatchScore::default(),
                children: vec![0],
            },
        ];
        let outcome = decide(&equal, &children, &[answer(2012, 3, 27)]);
        assert_eq!(outcome.confirmed.len(), 2);
        assert!(
            outcome
                .confirmed
                .iter()
                .all(|c| c.needs_code == Some(CodeReason::Homonym))
        );
        // A record that fits better wins; the other is dropped.
        let mut better = equal.clone();
        better[0].score = MatchScore::for_tests(4);
        let outcome = decide(&better, &children, &[answer(2012, 3, 27)]);
        assert_eq!(outcome.confirmed.len(), 1);
        assert_eq!(outcome.confirmed[0].person, father);
        assert_eq!(outcome.confirmed[0].needs_code, None);
    }
}
