//! The confirmation challenge: a parent who logged in through FranceConnect
//! and whose names fit guardian records gives each candidate child's birth
//! date. What is kept between the form and its answer, how the answers are
//! checked, and the form itself.

use std::fmt::Write;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::link::LinkedRecord;
use super::matching::MatchScore;
use crate::directory::{PersonId, PupilId};
use crate::html::escape;

/// One candidate record in the challenge: how well it fits the person, and
/// which of the challenge's children it links to (by index).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ChallengeRecord {
    pub(crate) person: PersonId,
    pub(crate) score: MatchScore,
    pub(crate) children: Vec<usize>,
}

/// One child shown in the form: what is displayed (an initial and a school
/// name). Birth dates are not kept here: they are read from the directory
/// when the answers come.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ChallengeChild {
    pub(crate) pupil: PupilId,
    pub(crate) initial: String,
    pub(crate) school: String,
}

/// A one-time code sent to one phone the school recorded: the records it
/// confirms when typed back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SentCode {
    /// SHA-256 of `{verification key}:{code}`.
    pub(crate) hash: String,
    /// The records (with their pupils) this code confirms.
    pub(crate) records: Vec<(PersonId, Vec<PupilId>)>,
    /// The last two digits of the number, to tell the parent where it went.
    pub(crate) phone_hint: String,
}

/// The dates were right for some records that need a one-time code: the
/// codes sent, and what is already settled.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PendingCodes {
    pub(crate) sent: Vec<SentCode>,
    pub(crate) expires_at: i64,
    pub(crate) tries_left: u8,
    /// Records the dates alone confirmed.
    pub(crate) settled: Vec<LinkedRecord>,
}

/// What is kept between the callback and the form's answer, under
/// `verify-{sha256(cookie)}` in the pending key space. `Debug` shows the
/// records and children by id, never the claims, the token or the `sub`.
#[derive(Serialize, Deserialize)]
pub(crate) struct PendingVerification {
    pub(crate) provider: String,
    pub(crate) kind: String,
    pub(crate) claims: Map<String, Value>,
    pub(crate) acr: Option<String>,
    pub(crate) auth_time: Option<i64>,
    pub(crate) id_token: String,
    pub(crate) return_to: String,
    pub(crate) sub: String,
    pub(crate) records: Vec<ChallengeRecord>,
    pub(crate) children: Vec<ChallengeChild>,
    /// Unix seconds after which the challenge is gone.
    pub(crate) expires_at: i64,
    /// Set once the dates were right, when one-time codes are needed.
    #[serde(default)]
    pub(crate) codes: Option<PendingCodes>,
    /// The challenge is about children added to records already linked:
    /// the children linked before stay granted whatever its outcome.
    #[serde(default)]
    pub(crate) extension: bool,
}

impl std::fmt::Debug for PendingVerification {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingVerification")
            .field("provider", &self.provider)
            .field("sub", &crate::provider::RedactedSub(&self.sub))
            .field("records", &self.records)
            .field("children", &self.children)
            .field("expires_at", &self.expires_at)
            .field("codes", &self.codes.is_some())
            .finish_non_exhaustive()
    }
}

/// The form: one fieldset per child, shown by the initial of the first given
/// name and the school's name only, three number inputs and a "not my child"
/// checkbox each. `error` is shown above when the previous answers were wrong.
pub(crate) fn form_body(action: &str, children: &[ChallengeChild], error: Option<&str>) -> String {
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

/// The one-time code form. With several codes sent (records that only a
/// code can tell apart), the parent types the one they received.
pub(crate) fn code_body(action: &str, phone_hints: &[String], error: Option<&str>) -> String {
    let mut body = String::new();
    if let Some(error) = error {
        let _ = writeln!(
            body,
            "<p role=\"alert\"><strong>{}</strong></p>",
            escape(error)
        );
    }
    let sent_to = if phone_hints.len() > 1 {
        format!(
            "aux téléphones mobiles enregistrés par l'établissement (numéros se terminant par {}). \
             Saisissez celui que vous avez reçu",
            phone_hints.join(", ")
        )
    } else {
        format!(
            "au téléphone mobile enregistré par l'établissement (numéro se terminant par {})",
            phone_hints.first().map_or("", String::as_str)
        )
    };
    let _ = write!(
        body,
        "<p>Un code à 6 chiffres vient d'être envoyé {}. Il est valable 5 minutes.</p>\n\
         <form method=\"post\" action=\"{}\">\n<label for=\"code\">Code reçu</label>\n\
         <input id=\"code\" name=\"code\" type=\"text\" inputmode=\"numeric\" \
         autocomplete=\"one-time-code\" pattern=\"[0-9]{{6}}\" maxlength=\"6\" required>\n\
         <button type=\"submit\">Valider</button>\n</form>",
        escape(&sent_to),
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
    fn finding_12_debug_of_a_pending_verification_shows_no_sub_claim_or_token() {
        let pending = PendingVerification {
            provider: "franceconnect".into(),
            kind: "franceconnect".into(),
            claims: serde_json::json!({"given_name": "Angela"})
                .as_object()
                .unwrap()
                .clone(),
            acr: None,
            auth_time: None,
            id_token: "eyJ.secret.token".into(),
            return_to: "/".into(),
            sub: "raw-sub-value".into(),
            records: Vec::new(),
            children: Vec::new(),
            expires_at: 0,
            codes: None,
            extension: false,
        };
        let shown = format!("{pending:?}");
        for secret in ["raw-sub-value", "Angela", "eyJ.secret.token"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    #[test]
    fn initials() {
        assert_eq!(initial(&["élodie".into()]), "É");
        assert_eq!(initial(&[]), "?");
    }
}
