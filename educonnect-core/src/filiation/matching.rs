//! Which guardian records may be the person who logged in through
//! FranceConnect, and how strongly.
//!
//! The directory's name index ([`Directory::guardian_candidates`]) is
//! deliberately wide: it finds every record a name could belong to. This
//! module narrows it down to the records the identité pivot really fits,
//! and scores them so that two records of one pupil can be told apart (or
//! found indistinguishable, see [`super::decision`]):
//!
//! - the record's first given name must be one of the pivot's given names,
//!   whole (a school's "Anne" does not fit FranceConnect's "Anne-Marie"),
//!   and so must every further given name the school recorded;
//! - the birth name is compared whenever the record holds one distinct from
//!   its usage name: it must be the pivot's birth name. A record holding a
//!   single name fits the pivot's birth name or usage name;
//! - a civility that contradicts the pivot's gender rules the record out;
//! - a birth date the school recorded must be the pivot's (when it is, the
//!   record scores higher than any record without one).
//!
//! [`Directory::guardian_candidates`]: crate::directory::Directory::guardian_candidates

use crate::directory::{Candidate, Civility, RelatedPerson, family_name_key, normalize};
use crate::provider::{Gender, PivotIdentity};

/// How well a record fits the identité pivot. Higher is better; two records
/// with the same score cannot be told apart by their names.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
pub(crate) struct MatchScore(u8);

#[cfg(test)]
impl MatchScore {
    pub(crate) fn for_tests(score: u8) -> Self {
        Self(score)
    }
}

/// The score of `candidate` for `pivot`, or `None` when the record does not
/// fit by the rules of the [module](self).
pub(crate) fn assess(pivot: &PivotIdentity, candidate: &Candidate) -> Option<MatchScore> {
    assess_person(pivot, &candidate.person)
}

fn assess_person(pivot: &PivotIdentity, person: &RelatedPerson) -> Option<MatchScore> {
    let mut score = 0u8;

    // Given names: the record's first one, whole, among the pivot's; any
    // further one the school recorded must be the pivot's too (it is what
    // tells a father from a grandfather of the same usual name), and each
    // counts.
    let pivot_given: Vec<String> = pivot
        .given_names()
        .iter()
        .map(|g| normalize(g))
        .filter(|g| !g.is_empty())
        .collect();
    let mut record_given = person
        .given_names
        .iter()
        .map(|g| normalize(g))
        .filter(|g| !g.is_empty());
    let first = record_given.next()?;
    let position = pivot_given.iter().position(|g| *g == first)?;
    if position == 0 {
        score += 2;
    }
    for other in record_given {
        if !pivot_given.contains(&other) {
            return None;
        }
        score += 1;
    }

    // Family names.
    let pivot_birth = family_name_key(pivot.family_name());
    let pivot_usage = pivot
        .usage_name()
        .map(family_name_key)
        .filter(|u| !u.is_empty());
    let record_birth = family_name_key(&person.birth_name);
    let record_usage = person
        .usage_name
        .as_deref()
        .map(family_name_key)
        .filter(|u| !u.is_empty() && *u != record_birth);
    if pivot_birth.is_empty() || record_birth.is_empty() {
        return None;
    }
    match record_usage {
        // Both names recorded: the birth name is the pivot's, and a usage
        // name the pivot also has must be the same.
        Some(usage) => {
            if record_birth != pivot_birth {
                return None;
            }
            match &pivot_usage {
                Some(pu) if *pu != usage => return None,
                Some(_) => score += 1,
                None => {}
            }
        }
        // One name recorded: the pivot's birth name, or its usage name.
        None => {
            if record_birth == pivot_birth {
                score += 1;
            } else if pivot_usage.as_deref() != Some(record_birth.as_str()) {
                return None;
            }
        }
    }

    // Civility against gender, when both are known.
    match (person.civility, pivot.gender()) {
        (Some(Civility::Monsieur), Gender::Female) | (Some(Civility::Madame), Gender::Male) => {
            return None;
        }
        _ => {}
    }

    // A birth date the school recorded is decisive.
    if let Some(recorded) = person.birth_date {
        let pivot_date = pivot.birthdate();
        if recorded.precision() == pivot_date.precision() && recorded == pivot_date {
            score += 4;
        } else if !recorded.is_presumed() && !pivot_date.is_presumed() {
            return None;
        }
    }
    Some(MatchScore(score))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::birthdate::BirthDate;
    use crate::directory::{PersonId, SourceId};
    use serde_json::json;

    fn pivot(given: &str, family: &str, usage: Option<&str>, gender: &str) -> PivotIdentity {
        let mut claims = json!({
            "sub": "s",
            "given_name": given,
            "family_name": family,
            "birthdate": "1980-05-04",
            "gender": gender,
            "birthplace": "75056",
            "birthcountry": "99100",
        });
        if let Some(u) = usage {
            claims["preferred_username"] = json!(u);
        }
        PivotIdentity::from_claims(claims.as_object().unwrap()).unwrap()
    }

    fn person(birth: &str, usage: Option<&str>, given: &[&str]) -> RelatedPerson {
        let mut p = RelatedPerson::new(
            PersonId::new(SourceId::aaf("14").unwrap(), "P1").unwrap(),
            birth,
            given.iter().copied(),
        );
        p.usage_name = usage.map(str::to_owned);
        p
    }

    #[test]
    fn matching_requires_the_records_first_given_name_among_the_pivots() {
        let angela = pivot("Angela Claire", "DUBOIS", None, "female");
        assert!(assess_person(&angela, &person("DUBOIS", None, &["Angela"])).is_some());
        assert!(assess_person(&angela, &person("DUBOIS", None, &["Claire"])).is_some());
        // A prefix of a compound name is not one of the pivot's names.
        let anne_marie = pivot("Anne-Marie", "DUBOIS", None, "female");
        assert!(assess_person(&anne_marie, &person("DUBOIS", None, &["Anne"])).is_none());
        assert!(assess_person(&angela, &person("DUBOIS", None, &["Louise"])).is_none());
        // A further given name the school recorded must be the pivot's.
        assert!(assess_person(&angela, &person("DUBOIS", None, &["Angela", "Claire"])).is_some());
        assert!(assess_person(&angela, &person("DUBOIS", None, &["Angela", "Louise"])).is_none());
        // The first name in first position scores higher.
        assert!(
            assess_person(&angela, &person("DUBOIS", None, &["Angela"]))
                > assess_person(&angela, &person("DUBOIS", None, &["Claire"]))
        );
    }

    #[test]
    fn matching_compares_the_birth_name_when_the_record_has_one() {
        let married = pivot("Angela", "DUBOIS", Some("MARTIN"), "female");
        // Usage name alone recorded: fits the pivot's usage name.
        assert!(assess_person(&married, &person("MARTIN", None, &["Angela"])).is_some());
        // Both recorded: the birth names must agree, whatever the usage name.
        assert!(assess_person(&married, &person("DUBOIS", Some("MARTIN"), &["Angela"])).is_some());
        assert!(assess_person(&married, &person("DURAND", Some("MARTIN"), &["Angela"])).is_none());
        let unmarried = pivot("Angela", "DURAND", None, "female");
        assert!(
            assess_person(&unmarried, &person("DUBOIS", Some("DURAND"), &["Angela"])).is_none()
        );
    }

    #[test]
    fn matching_compares_civility_with_gender() {
        let jean = pivot("Jean", "DUPONT", None, "male");
        let mut record = person("DUPONT", None, &["Jean"]);
        record.civility = Some(Civility::Madame);
        assert!(assess_person(&jean, &record).is_none());
        record.civility = Some(Civility::Monsieur);
        assert!(assess_person(&jean, &record).is_some());
        record.civility = None;
        assert!(assess_person(&jean, &record).is_some());
    }

    #[test]
    fn a_recorded_birth_date_decides_between_homonyms() {
        let jean = pivot("Jean", "DUPONT", None, "male");
        let mut father = person("DUPONT", None, &["Jean"]);
        father.birth_date = Some(BirthDate::new(1980, 5, 4).unwrap());
        let mut grandfather = person("DUPONT", None, &["Jean"]);
        grandfather.birth_date = Some(BirthDate::new(1950, 1, 2).unwrap());
        let unknown = person("DUPONT", None, &["Jean"]);
        assert!(assess_person(&jean, &grandfather).is_none());
        assert!(assess_person(&jean, &father) > assess_person(&jean, &unknown));
    }
}
