//! The confirmation challenge: a parent who logged in through FranceConnect
//! and whose names fit guardian records gives each candidate child's birth
//! date. What is kept between the form and its answer, how the answers are
//! checked, and the form itself.

use std::fmt::Write;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use subtle::{Choice, ConstantTimeEq};

use crate::birthdate::{BirthDate, DatePrecision};
use crate::directory::{PersonId, PupilId};
use crate::filiation::Verification;

/// A verified link, kept durably for a FranceConnect `sub`: the records the
/// parent confirmed, and the pupils they said were not theirs.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct StoredLink {
    pub(crate) persons: Vec<PersonId>,
    #[serde(default)]
    pub(crate) excluded: Vec<PupilId>,
    /// How the link was verified (birth dates when absent).
    #[serde(default)]
    pub(crate) verification: Option<Verification>,
}

/// The dates were right; a one-time code was sent and is awaited.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PendingCode {
    /// SHA-256 of `{verification key}:{code}`.
    pub(crate) hash: String,
    pub(crate) expires_at: i64,
    pub(crate) tries_left: u8,
    pub(crate) link: StoredLink,
    /// The last two digits of the number, to tell the parent where it went.
    pub(crate) phone_hint: String,
}

/// One child shown in the form: what is displayed (an initial and a school
/// name) and which records link to them. Birth dates are not kept here:
/// they are read from the directory when the answers come.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ChallengeChild {
    pub(crate) pupil: PupilId,
    pub(crate) persons: Vec<PersonId>,
    pub(crate) initial: String,
    pub(crate) school: String,
}

/// What is kept between the callback and the form's answer, under
/// `verify-{sha256(cookie)}` in the pending key space.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct PendingVerification {
    pub(crate) provider: String,
    pub(crate) kind: String,
    pub(crate) claims: Map<String, Value>,
    pub(crate) acr: Option<String>,
    pub(crate) auth_time: Option<i64>,
    pub(crate) id_token: String,
    pub(crate) return_to: String,
    pub(crate) sub: String,
    pub(crate) candidates: Vec<PersonId>,
    pub(crate) children: Vec<ChallengeChild>,
    /// Unix seconds after which the challenge is gone.
    pub(crate) expires_at: i64,
    /// Set once the dates were right, when a one-time code is required.
    #[serde(default)]
    pub(crate) code: Option<PendingCode>,
}

/// One child's answer, as typed.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Answer {
    pub(crate) day: u8,
    pub(crate) month: u8,
    pub(crate) year: u16,
    pub(crate) not_mine: bool,
}

/// Reads the form's answers for `count` children: `day_{i}`, `month_{i}`,
/// `year_{i}`, `not_mine_{i}`. A missing or unreadable number is 0, which
/// matches no date.
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

/// The form: one fieldset per child, shown by the initial of the first given
/// name and the school's name only, three number inputs and a "not my child"
/// checkbox each. `error` is shown above when the previous answers were wrong.
pub(crate) fn form_body(action: &str, children: &[ChallengeChild], error: Option<&str>) -> String {
    use crate::flow::pages::escape;
    let mut body = String::new();
    if let Some(error) = error {
        let _ = writeln!(
            body,
            "<p role=\"alert\"><strong>{}</strong></p>",
            escape(error)
        );
    }
    body.push_str(
        "<p>Pour rattacher vos enfants à votre compte, indiquez la date de naissance de chacun \
         d'eux, telle que l'école la connaît. Si un enfant n'est pas le vôtre, cochez la case \
         correspondante.</p>\n",
    );
    let _ = writeln!(body, "<form method=\"post\" action=\"{}\">", escape(action));
    for (i, child) in children.iter().enumerate() {
        let _ = write!(
            body,
            "<fieldset>\n<legend>Enfant dont le prénom commence par « {initial} », scolarisé à {school}</legend>\n\
             <p id=\"hint_{i}\">Date de naissance : jour, mois et année en chiffres.</p>\n\
             <label for=\"day_{i}\">Jour</label>\n\
             <input id=\"day_{i}\" name=\"day_{i}\" type=\"number\" inputmode=\"numeric\" min=\"1\" max=\"31\" aria-describedby=\"hint_{i}\">\n\
             <label for=\"month_{i}\">Mois</label>\n\
             <input id=\"month_{i}\" name=\"month_{i}\" type=\"number\" inputmode=\"numeric\" min=\"1\" max=\"12\" aria-describedby=\"hint_{i}\">\n\
             <label for=\"year_{i}\">Année</label>\n\
             <input id=\"year_{i}\" name=\"year_{i}\" type=\"number\" inputmode=\"numeric\" min=\"1900\" max=\"2100\" aria-describedby=\"hint_{i}\">\n\
             <p><input id=\"not_mine_{i}\" name=\"not_mine_{i}\" type=\"checkbox\" value=\"1\">\n\
             <label for=\"not_mine_{i}\">Ce n'est pas mon enfant</label></p>\n</fieldset>\n",
            initial = escape(&child.initial),
            school = escape(&child.school),
        );
    }
    body.push_str("<button type=\"submit\">Valider</button>\n</form>");
    body
}

/// The one-time code form.
pub(crate) fn code_body(action: &str, phone_hint: &str, error: Option<&str>) -> String {
    use crate::flow::pages::escape;
    let mut body = String::new();
    if let Some(error) = error {
        let _ = writeln!(
            body,
            "<p role=\"alert\"><strong>{}</strong></p>",
            escape(error)
        );
    }
    let _ = write!(
        body,
        "<p>Un code à 6 chiffres vient d'être envoyé au téléphone mobile enregistré par \
         l'établissement (numéro se terminant par {}). Il est valable 5 minutes.</p>\n\
         <form method=\"post\" action=\"{}\">\n<label for=\"code\">Code reçu</label>\n\
         <input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" \
         autocomplete=\"one-time-code\" pattern=\"[0-9]{{6}}\" maxlength=\"6\" required>\n\
         <button type=\"submit\">Valider</button>\n</form>",
        escape(phone_hint),
        escape(action)
    );
    body
}

/// Six random digits, each uniform (rejection sampling).
pub(crate) fn six_digits(random: &dyn crate::RandomSource) -> String {
    let mut out = String::with_capacity(6);
    let mut buf = [0u8; 16];
    while out.len() < 6 {
        random.fill(&mut buf);
        for &b in &buf {
            // 250 = 25 × 10: bytes above are dropped so that no digit is likelier.
            if b < 250 && out.len() < 6 {
                out.push(char::from(b'0' + b % 10));
            }
        }
    }
    out
}

/// The first letter of a first name, upper-cased: all a homonym learns.
pub(crate) fn initial(given_names: &[String]) -> String {
    given_names
        .first()
        .and_then(|n| n.trim().chars().next())
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_else(|| "?".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

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
                let answer = Answer {
                    day: d,
                    month: m,
                    year: y,
                    not_mine: false,
                };
                assert_eq!(
                    bool::from(date_matches(&known, &answer)),
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
        assert_eq!(
            (a[0].day, a[0].month, a[0].year, a[0].not_mine),
            (27, 3, 2012, false)
        );
        assert_eq!((a[1].year, a[1].not_mine), (0, true));
    }

    #[test]
    fn initials() {
        assert_eq!(initial(&["élodie".into()]), "É");
        assert_eq!(initial(&[]), "?");
    }
}
