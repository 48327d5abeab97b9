//! [`FamilyClaims`]: who logged in, and which pupils they may act for.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::directory::{PersonId, PupilId, RelationshipCode};
use crate::ids::{Ine, Uai};
use crate::provider::Profile;

/// How a child entry was verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verification {
    /// The guardian logged in through FranceConnect and gave the child's
    /// birth date as the school recorded it.
    BirthDates,
    /// As [`BirthDates`](Self::BirthDates), plus a one-time code sent to the
    /// mobile number the school recorded.
    BirthDatesAndOneTimeCode,
    /// EduConnect vouched for the guardian's `{AAF}` ids; the link comes
    /// from the directory.
    EduConnect,
}

/// One pupil the person is related to, as the directory records the link.
///
/// `Debug` shows the pupil's directory id, the relationship and the
/// verification; never the INE.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Child {
    /// The pupil's directory id.
    pub pupil: PupilId,
    /// The national pupil id, when the directory has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ine: Option<String>,
    /// The school (UAI), when the directory has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uai: Option<String>,
    /// How the person is related to the pupil.
    pub relationship: RelationshipCode,
    /// Whether the person holds legal authority over the pupil (legal rank
    /// 1 or 2 in the school's records).
    pub legal_authority: bool,
    /// How the link was verified.
    pub verification: Verification,
}

impl Child {
    /// The INE, if the directory has a well-formed one.
    pub fn ine(&self) -> Option<Ine> {
        self.ine.as_deref().and_then(|s| Ine::parse(s).ok())
    }

    /// The school, if the directory has a well-formed UAI.
    pub fn uai(&self) -> Option<Uai> {
        self.uai.as_deref().and_then(|s| Uai::parse(s).ok())
    }
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("pupil", &self.pupil)
            .field("uai", &self.uai)
            .field("relationship", &self.relationship)
            .field("legal_authority", &self.legal_authority)
            .field("verification", &self.verification)
            .finish_non_exhaustive()
    }
}

/// A pupil's own ids, for a pupil's session.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PupilSelf {
    /// The pupil's directory id, when the directory knows them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<PupilId>,
    /// The INE, as the provider sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ine: Option<String>,
    /// The school (UAI), as the provider sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uai: Option<String>,
}

impl fmt::Debug for PupilSelf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PupilSelf")
            .field("id", &self.id)
            .field("uai", &self.uai)
            .finish_non_exhaustive()
    }
}

/// What the gateway established about the person of a session: who they
/// are in the directory, and which pupils they may act for.
///
/// Holds ids and codes only (no name, no birth date), so it can travel in
/// a session record and in a signed family assertion. `Debug` never shows
/// an INE.
///
/// A child entry means the school's records link the person to the pupil
/// *and* the link was verified (birth dates, or EduConnect). Whether the
/// person may take a decision for the pupil is a separate question:
/// [`has_legal_authority_over`](Self::has_legal_authority_over).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FamilyClaims {
    /// The id of the provider the person logged in with.
    pub provider: String,
    /// The provider's subject.
    pub sub: String,
    /// Guardian or pupil.
    pub profile: Profile,
    /// The directory records of the person (several for a family spread
    /// over several academies).
    #[serde(default)]
    pub persons: Vec<PersonId>,
    /// For a pupil: their own ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pupil: Option<PupilSelf>,
    /// For a guardian: one entry per pupil.
    #[serde(default)]
    pub children: Vec<Child>,
    /// Pupils of a verified link whose school's directory is not served
    /// now (an academy missing from the configuration): shown as
    /// unavailable, never acted for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unavailable: Vec<PupilId>,
}

impl FamilyClaims {
    /// Claims of a guardian with the given records and children (merged:
    /// one entry per pupil, legal authority if any record holds it).
    pub fn guardian(
        provider: impl Into<String>,
        sub: impl Into<String>,
        persons: Vec<PersonId>,
        children: impl IntoIterator<Item = Child>,
    ) -> Self {
        let mut merged: Vec<Child> = Vec::new();
        for child in children {
            match merged.iter_mut().find(|c| c.pupil == child.pupil) {
                Some(existing) => {
                    existing.legal_authority |= child.legal_authority;
                    if existing.ine.is_none() {
                        existing.ine = child.ine;
                    }
                    if existing.uai.is_none() {
                        existing.uai = child.uai;
                    }
                }
                None => merged.push(child),
            }
        }
        Self {
            provider: provider.into(),
            sub: sub.into(),
            profile: Profile::Guardian,
            persons,
            pupil: None,
            children: merged,
            unavailable: Vec::new(),
        }
    }

    /// The same claims, with `pupils` listed as unavailable (see
    /// [`unavailable`](Self::unavailable)).
    #[must_use]
    pub fn with_unavailable(mut self, pupils: Vec<PupilId>) -> Self {
        self.unavailable = pupils;
        self
    }

    /// Claims of a pupil.
    pub fn pupil(provider: impl Into<String>, sub: impl Into<String>, own: PupilSelf) -> Self {
        Self {
            provider: provider.into(),
            sub: sub.into(),
            profile: Profile::Pupil,
            persons: Vec::new(),
            pupil: Some(own),
            children: Vec::new(),
            unavailable: Vec::new(),
        }
    }

    /// Whether the person may act for `pupil`: a verified link to them.
    pub fn may_act_for(&self, pupil: &PupilId) -> bool {
        self.children.iter().any(|c| &c.pupil == pupil)
    }

    /// Whether the person holds legal authority over `pupil` through a
    /// verified link.
    pub fn has_legal_authority_over(&self, pupil: &PupilId) -> bool {
        self.children
            .iter()
            .any(|c| &c.pupil == pupil && c.legal_authority)
    }

    /// Whether the person may act for the pupil with this INE.
    pub fn may_act_for_ine(&self, ine: &Ine) -> bool {
        self.children
            .iter()
            .any(|c| c.ine.as_deref() == Some(ine.as_str()))
    }

    /// Whether the person holds legal authority over the pupil with this INE.
    pub fn has_legal_authority_over_ine(&self, ine: &Ine) -> bool {
        self.children
            .iter()
            .any(|c| c.ine.as_deref() == Some(ine.as_str()) && c.legal_authority)
    }

    /// The child entry for `pupil`.
    pub fn child(&self, pupil: &PupilId) -> Option<&Child> {
        self.children.iter().find(|c| &c.pupil == pupil)
    }

    /// For a pupil's session: their INE.
    pub fn own_ine(&self) -> Option<Ine> {
        self.pupil
            .as_ref()?
            .ine
            .as_deref()
            .and_then(|s| Ine::parse(s).ok())
    }

    /// For a pupil's session: their school.
    pub fn own_uai(&self) -> Option<Uai> {
        self.pupil
            .as_ref()?
            .uai
            .as_deref()
            .and_then(|s| Uai::parse(s).ok())
    }
}

impl fmt::Debug for FamilyClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FamilyClaims")
            .field("provider", &self.provider)
            .field("sub", &self.sub)
            .field("profile", &self.profile)
            .field("persons", &self.persons)
            .field("pupil", &self.pupil)
            .field("children", &self.children)
            .field("unavailable", &self.unavailable)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::{Relationship, SourceId};

    fn pupil(local: &str) -> PupilId {
        PupilId::new(SourceId::aaf("14").unwrap(), local).unwrap()
    }

    fn child(local: &str, legal: bool) -> Child {
        Child {
            pupil: pupil(local),
            ine: Some("123456789AB".into()),
            uai: Some("0350001L".into()),
            relationship: Relationship::Mother.into(),
            legal_authority: legal,
            verification: Verification::BirthDates,
        }
    }

    #[test]
    fn one_entry_per_pupil_and_authority_if_any_record_holds_it() {
        let claims = FamilyClaims::guardian(
            "franceconnect",
            "sub",
            Vec::new(),
            [child("E1", false), child("E1", true), child("E2", false)],
        );
        assert_eq!(claims.children.len(), 2);
        assert!(claims.may_act_for(&pupil("E1")) && claims.has_legal_authority_over(&pupil("E1")));
        assert!(claims.may_act_for(&pupil("E2")) && !claims.has_legal_authority_over(&pupil("E2")));
        assert!(
            !claims.may_act_for(&pupil("E3")) && !claims.has_legal_authority_over(&pupil("E3"))
        );
        let ine = Ine::parse("123456789AB").unwrap();
        assert!(claims.may_act_for_ine(&ine) && claims.has_legal_authority_over_ine(&ine));
        assert_eq!(
            claims.child(&pupil("E2")).unwrap().uai(),
            Some(Uai::parse("0350001L").unwrap())
        );
    }

    #[test]
    fn serde_round_trip_and_debug_without_ine() {
        let claims = FamilyClaims::guardian("fc", "sub", Vec::new(), [child("E1", true)]);
        let json = serde_json::to_string(&claims).unwrap();
        assert!(
            json.contains("\"verification\":\"birth_dates\"")
                && json.contains("\"profile\":\"guardian\"")
        );
        assert_eq!(serde_json::from_str::<FamilyClaims>(&json).unwrap(), claims);
        assert!(!format!("{claims:?}").contains("123456789AB"));

        let pupil_claims = FamilyClaims::pupil(
            "ec",
            "sub",
            PupilSelf {
                id: None,
                ine: Some("123456789AB".into()),
                uai: Some("0350001L".into()),
            },
        );
        assert_eq!(
            pupil_claims.own_ine(),
            Some(Ine::parse("123456789AB").unwrap())
        );
        assert!(!format!("{pupil_claims:?}").contains("123456789AB"));
        assert!(!pupil_claims.may_act_for(&pupil("E1")));
    }
}
