//! [`FamilyClaims`]: who logged in, which pupils they are linked to, and
//! the one rule that says what those links allow ([`FamilyClaims::authorize`]).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::directory::{PersonId, PupilId, Relationship, RelationshipCode};
use crate::ids::{Ine, Uai};
use crate::provider::{Profile, RedactedSub};

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

/// Which verified links let a person act for a pupil
/// ([`PupilRight::ActFor`]: read the pupil's records, follow their
/// schooling). A service chooses it with
/// [`GatewayBuilder::act_for_policy`](crate::flow::GatewayBuilder::act_for_policy);
/// the [`FamilyClaims`] of a login carry the policy they were built under
/// (it is signed into family assertions), so that whoever checks them
/// applies the same rule.
///
/// Legal authority ([`PupilRight::LegalAuthority`]) does not depend on it:
/// only a link with legal authority gives it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ActForPolicy {
    /// Only the pupil's legal guardians (a link with legal authority, legal
    /// rank 1 or 2 in the school's records). The default.
    #[default]
    LegalGuardians,
    /// Legal guardians, and the family members the school recorded without
    /// legal authority: a mother or father, a grandparent, a brother or
    /// sister, another family member (SIECLE codes 10, 20, 37, 38, 39;
    /// legacy AAF 1, 2, 4). Not an educator, a family assistant, a child
    /// minder, a tutor, child welfare (ASE), the pupil's own record (70) or
    /// "other" (90), unless they hold legal authority.
    FamilyMembers,
    /// Every verified link, contacts and child minders included.
    AllContacts,
}

impl ActForPolicy {
    /// Whether a link with this relationship and legal authority lets the
    /// person act for the pupil under this policy.
    pub fn covers(self, relationship: RelationshipCode, legal_authority: bool) -> bool {
        legal_authority
            || match self {
                Self::LegalGuardians => false,
                Self::FamilyMembers => is_family(relationship.relationship()),
                Self::AllContacts => true,
            }
    }
}

/// Family, as [`ActForPolicy::FamilyMembers`] reads it.
fn is_family(relationship: Relationship) -> bool {
    match relationship {
        Relationship::Mother
        | Relationship::Father
        | Relationship::Sibling
        | Relationship::GrandParent
        | Relationship::OtherFamily => true,
        Relationship::Educator
        | Relationship::FamilyAssistant
        | Relationship::ChildMinder
        | Relationship::Tutor
        | Relationship::ChildWelfare
        | Relationship::Pupil
        | Relationship::Other => false,
    }
}

/// What a route needs over the pupil it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PupilRight {
    /// To act for the pupil (read their records): a verified link that the
    /// claims' [`ActForPolicy`] covers, or the pupil themselves.
    ActFor,
    /// Legal authority over the pupil (legal rank 1 or 2 in the school's
    /// records): needed to take a decision or sign a request. A pupil does
    /// not hold it over themselves.
    LegalAuthority,
}

/// How the person of a set of claims stands to a pupil, once allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relation {
    /// The pupil, logged in themselves (through EduConnect).
    Themselves,
    /// A guardian, through a verified link.
    Guardian {
        /// The relationship recorded by the school.
        relationship: RelationshipCode,
        /// Whether they hold legal authority.
        legal_authority: bool,
    },
}

/// A pupil the person was allowed to exercise a right over: only
/// [`FamilyClaims::authorize`] makes one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PupilGrant {
    pupil: PupilId,
    relation: Relation,
}

impl PupilGrant {
    /// The pupil.
    pub fn pupil(&self) -> &PupilId {
        &self.pupil
    }

    /// How the person stands to the pupil.
    pub fn relation(&self) -> &Relation {
        &self.relation
    }
}

/// Why [`FamilyClaims::authorize`] refused a right over a pupil.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum PupilDenied {
    /// The claims hold no verified link to the pupil.
    #[error("the person may not act for this pupil")]
    NotTheirPupil,
    /// The person is linked to the pupil, but the claims' [`ActForPolicy`]
    /// does not cover that link (a contact, a grandparent under
    /// [`ActForPolicy::LegalGuardians`]...).
    #[error("the act-for policy does not cover the person's link to this pupil")]
    NotCoveredByPolicy,
    /// The person is linked to the pupil without legal authority.
    #[error("the person does not hold legal authority over this pupil")]
    NoLegalAuthority,
}

/// One pupil the person is related to, as the directory records the link.
///
/// `Debug` shows the pupil's directory id, the relationship and the
/// verification; never the INE.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Child {
    pupil: PupilId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ine: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    uai: Option<String>,
    relationship: RelationshipCode,
    legal_authority: bool,
    verification: Verification,
}

impl Child {
    /// An entry for `pupil`, related to the person by `relationship`, with
    /// or without legal authority (legal rank 1 or 2 in the school's
    /// records), verified by `verification`; no INE nor school.
    pub fn new(
        pupil: PupilId,
        relationship: RelationshipCode,
        legal_authority: bool,
        verification: Verification,
    ) -> Self {
        Self {
            pupil,
            ine: None,
            uai: None,
            relationship,
            legal_authority,
            verification,
        }
    }

    /// With the pupil's INE, when the directory has it.
    #[must_use]
    pub fn with_ine(mut self, ine: Option<Ine>) -> Self {
        self.ine = ine.map(|i| i.as_str().to_owned());
        self
    }

    /// With the pupil's school, when the directory has it.
    #[must_use]
    pub fn with_uai(mut self, uai: Option<Uai>) -> Self {
        self.uai = uai.map(|u| u.as_str().to_owned());
        self
    }

    /// The pupil's directory id.
    pub fn pupil(&self) -> &PupilId {
        &self.pupil
    }

    /// The INE, if the directory has a well-formed one.
    pub fn ine(&self) -> Option<Ine> {
        self.ine.as_deref().and_then(|s| Ine::parse(s).ok())
    }

    /// The school, if the directory has a well-formed UAI.
    pub fn uai(&self) -> Option<Uai> {
        self.uai.as_deref().and_then(|s| Uai::parse(s).ok())
    }

    /// How the person is related to the pupil.
    pub fn relationship(&self) -> RelationshipCode {
        self.relationship
    }

    /// Whether the person holds legal authority over the pupil (legal rank
    /// 1 or 2 in the school's records).
    pub fn legal_authority(&self) -> bool {
        self.legal_authority
    }

    /// How the link was verified.
    pub fn verification(&self) -> Verification {
        self.verification
    }

    fn has_ine(&self, ine: &Ine) -> bool {
        self.ine.as_deref() == Some(ine.as_str())
    }

    /// Keeps the weaker rights of `self` and `other`, two entries for the
    /// same pupil (homonym records): legal authority only if both hold it,
    /// a relationship outside the family if either is. Rights are never
    /// added up across records.
    fn narrow(&mut self, other: Child) {
        self.legal_authority &= other.legal_authority;
        if is_family(self.relationship.relationship())
            && !is_family(other.relationship.relationship())
        {
            self.relationship = other.relationship;
        }
        if self.ine.is_none() {
            self.ine = other.ine;
        }
        if self.uai.is_none() {
            self.uai = other.uai;
        }
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<PupilId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ine: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    uai: Option<String>,
}

impl PupilSelf {
    /// A pupil's ids: their directory id when the directory knows them,
    /// their INE and school as the provider sent them.
    pub fn new(id: Option<PupilId>, ine: Option<Ine>, uai: Option<Uai>) -> Self {
        Self {
            id,
            ine: ine.map(|i| i.as_str().to_owned()),
            uai: uai.map(|u| u.as_str().to_owned()),
        }
    }

    /// The pupil's directory id, when the directory knows them.
    pub fn id(&self) -> Option<&PupilId> {
        self.id.as_ref()
    }

    /// The INE, if the provider sent a well-formed one.
    pub fn ine(&self) -> Option<Ine> {
        self.ine.as_deref().and_then(|s| Ine::parse(s).ok())
    }

    /// The school, if the provider sent a well-formed UAI.
    pub fn uai(&self) -> Option<Uai> {
        self.uai.as_deref().and_then(|s| Uai::parse(s).ok())
    }
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
/// are in the directory, which pupils they are linked to, and under which
/// [`ActForPolicy`].
///
/// Holds ids and codes only (no name, no birth date), so it can travel in
/// a session record and in a signed family assertion. `Debug` never shows
/// an INE, nor the provider's `sub` (only the start of its SHA-256).
///
/// A child entry means the school's records link the person to the pupil
/// *and* the link was verified (birth dates, or EduConnect). What the link
/// allows is decided by [`authorize`](Self::authorize), the one rule
/// behind [`may_act_for`](Self::may_act_for),
/// [`has_legal_authority_over`](Self::has_legal_authority_over) and the
/// framework adapters' extractors.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FamilyClaims {
    provider: String,
    sub: String,
    profile: Profile,
    #[serde(default)]
    persons: Vec<PersonId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pupil: Option<PupilSelf>,
    #[serde(default)]
    children: Vec<Child>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    unavailable: Vec<PupilId>,
    /// Absent from claims written before policies existed: the default,
    /// the strictest.
    #[serde(default, rename = "act_for_policy")]
    policy: ActForPolicy,
}

impl FamilyClaims {
    /// Claims of a guardian with the given records and children, under the
    /// default [`ActForPolicy`] (see [`with_policy`](Self::with_policy)).
    ///
    /// One entry per pupil: when several records (homonyms) link the
    /// person to the same pupil, the entry keeps the weakest of their
    /// rights (legal authority only if every record holds it), never their
    /// union.
    pub fn guardian(
        provider: impl Into<String>,
        sub: impl Into<String>,
        persons: Vec<PersonId>,
        children: impl IntoIterator<Item = Child>,
    ) -> Self {
        let mut merged: Vec<Child> = Vec::new();
        for child in children {
            match merged.iter_mut().find(|c| c.pupil == child.pupil) {
                Some(existing) => existing.narrow(child),
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
            policy: ActForPolicy::default(),
        }
    }

    /// The same claims, with `pupils` listed as unavailable (see
    /// [`unavailable`](Self::unavailable)).
    #[must_use]
    pub fn with_unavailable(mut self, pupils: Vec<PupilId>) -> Self {
        self.unavailable = pupils;
        self
    }

    /// Claims of a pupil, with their own ids.
    pub fn of_pupil(provider: impl Into<String>, sub: impl Into<String>, own: PupilSelf) -> Self {
        Self {
            provider: provider.into(),
            sub: sub.into(),
            profile: Profile::Pupil,
            persons: Vec::new(),
            pupil: Some(own),
            children: Vec::new(),
            unavailable: Vec::new(),
            policy: ActForPolicy::default(),
        }
    }

    /// The same claims under `policy`: which links let the person act for
    /// a pupil.
    #[must_use]
    pub fn with_policy(mut self, policy: ActForPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The id of the provider the person logged in with.
    pub fn provider(&self) -> &str {
        &self.provider
    }

    /// The provider's subject. A pseudonymous id, still personal data:
    /// never log it as it is.
    pub fn sub(&self) -> &str {
        &self.sub
    }

    /// Guardian or pupil.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The directory records of the person (several for a family spread
    /// over several academies).
    pub fn persons(&self) -> &[PersonId] {
        &self.persons
    }

    /// For a pupil: their own ids.
    pub fn pupil(&self) -> Option<&PupilSelf> {
        self.pupil.as_ref()
    }

    /// For a guardian: one entry per pupil.
    pub fn children(&self) -> &[Child] {
        &self.children
    }

    /// Pupils of a verified link whose school's directory is not served
    /// now (an academy missing from the configuration): shown as
    /// unavailable, never acted for.
    pub fn unavailable(&self) -> &[PupilId] {
        &self.unavailable
    }

    /// The policy the claims were built under.
    pub fn policy(&self) -> ActForPolicy {
        self.policy
    }

    /// Whether the person may exercise `right` over `pupil`, and how they
    /// stand to them: the one authorization rule of the library.
    ///
    /// - A child entry for the pupil gives [`PupilRight::LegalAuthority`]
    ///   if the link carries legal authority, and [`PupilRight::ActFor`]
    ///   if the claims' [`ActForPolicy`] covers the link.
    /// - A pupil's own claims give [`PupilRight::ActFor`] over themselves,
    ///   never legal authority.
    /// - Anything else is [`PupilDenied::NotTheirPupil`] (the same local
    ///   id in another source is another pupil).
    pub fn authorize(&self, pupil: &PupilId, right: PupilRight) -> Result<PupilGrant, PupilDenied> {
        let themselves = self
            .pupil
            .as_ref()
            .and_then(|own| own.id.as_ref())
            .is_some_and(|own| own == pupil);
        let relation = self.decide(self.child(pupil), themselves, right)?;
        Ok(PupilGrant {
            pupil: pupil.clone(),
            relation,
        })
    }

    /// [`authorize`](Self::authorize) for the pupil with this INE (the
    /// same rule; a pupil's own INE as their provider sent it).
    pub fn authorize_ine(&self, ine: &Ine, right: PupilRight) -> Result<Relation, PupilDenied> {
        let themselves = self
            .pupil
            .as_ref()
            .is_some_and(|own| own.ine.as_deref() == Some(ine.as_str()));
        let child = self.children.iter().find(|c| c.has_ine(ine));
        self.decide(child, themselves, right)
    }

    fn decide(
        &self,
        child: Option<&Child>,
        themselves: bool,
        right: PupilRight,
    ) -> Result<Relation, PupilDenied> {
        if let Some(child) = child {
            let allowed = match right {
                PupilRight::LegalAuthority if !child.legal_authority => {
                    Err(PupilDenied::NoLegalAuthority)
                }
                PupilRight::ActFor
                    if !self
                        .policy
                        .covers(child.relationship, child.legal_authority) =>
                {
                    Err(PupilDenied::NotCoveredByPolicy)
                }
                _ => Ok(()),
            };
            return allowed.map(|()| Relation::Guardian {
                relationship: child.relationship,
                legal_authority: child.legal_authority,
            });
        }
        match (themselves, right) {
            (true, PupilRight::ActFor) => Ok(Relation::Themselves),
            // A pupil does not hold legal authority over themselves.
            (true, PupilRight::LegalAuthority) => Err(PupilDenied::NoLegalAuthority),
            (false, _) => Err(PupilDenied::NotTheirPupil),
        }
    }

    /// Whether the person may act for `pupil`:
    /// [`authorize`](Self::authorize) with [`PupilRight::ActFor`].
    pub fn may_act_for(&self, pupil: &PupilId) -> bool {
        self.authorize(pupil, PupilRight::ActFor).is_ok()
    }

    /// Whether the person holds legal authority over `pupil`:
    /// [`authorize`](Self::authorize) with [`PupilRight::LegalAuthority`].
    pub fn has_legal_authority_over(&self, pupil: &PupilId) -> bool {
        self.authorize(pupil, PupilRight::LegalAuthority).is_ok()
    }

    /// Whether the person may act for the pupil with this INE
    /// ([`authorize_ine`](Self::authorize_ine)).
    pub fn may_act_for_ine(&self, ine: &Ine) -> bool {
        self.authorize_ine(ine, PupilRight::ActFor).is_ok()
    }

    /// Whether the person holds legal authority over the pupil with this
    /// INE ([`authorize_ine`](Self::authorize_ine)).
    pub fn has_legal_authority_over_ine(&self, ine: &Ine) -> bool {
        self.authorize_ine(ine, PupilRight::LegalAuthority).is_ok()
    }

    /// The child entry for `pupil`, whatever it allows.
    pub fn child(&self, pupil: &PupilId) -> Option<&Child> {
        self.children.iter().find(|c| &c.pupil == pupil)
    }

    /// For a pupil's session: their INE.
    pub fn own_ine(&self) -> Option<Ine> {
        self.pupil.as_ref()?.ine()
    }

    /// For a pupil's session: their school.
    pub fn own_uai(&self) -> Option<Uai> {
        self.pupil.as_ref()?.uai()
    }
}

impl fmt::Debug for FamilyClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FamilyClaims")
            .field("provider", &self.provider)
            .field("sub", &RedactedSub(&self.sub))
            .field("profile", &self.profile)
            .field("persons", &self.persons)
            .field("pupil", &self.pupil)
            .field("children", &self.children)
            .field("unavailable", &self.unavailable)
            .field("policy", &self.policy)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::SourceId;

    fn pupil(local: &str) -> PupilId {
        PupilId::new(SourceId::aaf("14").unwrap(), local).unwrap()
    }

    fn child(local: &str, relationship: Relationship, legal: bool) -> Child {
        Child::new(
            pupil(local),
            relationship.into(),
            legal,
            Verification::BirthDates,
        )
        .with_ine(Some(Ine::parse("123456789AB").unwrap()))
        .with_uai(Some(Uai::parse("0350001L").unwrap()))
    }

    fn guardian(children: impl IntoIterator<Item = Child>) -> FamilyClaims {
        FamilyClaims::guardian("franceconnect", "sub", Vec::new(), children)
    }

    #[test]
    fn homonym_records_never_merge_legal_authority() {
        let claims = guardian([
            child("E1", Relationship::Mother, true),
            child("E1", Relationship::Mother, false),
            child("E2", Relationship::Father, false),
            child("E2", Relationship::Father, true),
            child("E3", Relationship::Mother, true),
            child("E3", Relationship::Mother, true),
            // A parent's record and a child minder's, for the same pupil:
            // the child minder's rights.
            child("E4", Relationship::Mother, true),
            child("E4", Relationship::ChildMinder, false),
        ])
        .with_policy(ActForPolicy::FamilyMembers);
        assert_eq!(claims.children().len(), 4);
        for local in ["E1", "E2"] {
            assert!(!claims.has_legal_authority_over(&pupil(local)), "{local}");
            assert!(claims.may_act_for(&pupil(local)), "{local}");
        }
        assert!(claims.has_legal_authority_over(&pupil("E3")));
        let e4 = claims.child(&pupil("E4")).unwrap();
        assert_eq!(e4.relationship().relationship(), Relationship::ChildMinder);
        assert!(!e4.legal_authority());
        assert_eq!(
            claims.authorize(&pupil("E4"), PupilRight::ActFor),
            Err(PupilDenied::NotCoveredByPolicy)
        );
        let ine = Ine::parse("123456789AB").unwrap();
        assert!(claims.may_act_for_ine(&ine));
        assert_eq!(
            claims.child(&pupil("E2")).unwrap().uai(),
            Some(Uai::parse("0350001L").unwrap())
        );
    }

    #[test]
    fn finding_6_act_for_needs_legal_authority_unless_the_policy_widens_it() {
        use ActForPolicy::{AllContacts, FamilyMembers, LegalGuardians};
        // (relationship, legal authority, acts for under each policy)
        let cases = [
            (Relationship::Mother, true, [true, true, true]),
            (Relationship::Tutor, true, [true, true, true]),
            (Relationship::ChildMinder, true, [true, true, true]),
            (Relationship::Father, false, [false, true, true]),
            (Relationship::GrandParent, false, [false, true, true]),
            (Relationship::Sibling, false, [false, true, true]),
            (Relationship::OtherFamily, false, [false, true, true]),
            (Relationship::ChildMinder, false, [false, false, true]),
            (Relationship::FamilyAssistant, false, [false, false, true]),
            (Relationship::Educator, false, [false, false, true]),
            (Relationship::Tutor, false, [false, false, true]),
            (Relationship::ChildWelfare, false, [false, false, true]),
            (Relationship::Pupil, false, [false, false, true]),
            (Relationship::Other, false, [false, false, true]),
        ];
        for (relationship, legal, expected) in cases {
            for (policy, acts) in [LegalGuardians, FamilyMembers, AllContacts]
                .into_iter()
                .zip(expected)
            {
                let claims = guardian([child("E1", relationship, legal)]).with_policy(policy);
                let what = format!("{relationship:?} legal={legal} {policy:?}");
                assert_eq!(claims.may_act_for(&pupil("E1")), acts, "{what}");
                assert_eq!(
                    claims.may_act_for_ine(&Ine::parse("123456789AB").unwrap()),
                    acts,
                    "{what}"
                );
                if !acts {
                    assert_eq!(
                        claims.authorize(&pupil("E1"), PupilRight::ActFor),
                        Err(PupilDenied::NotCoveredByPolicy),
                        "{what}"
                    );
                }
                // Legal authority never depends on the policy.
                assert_eq!(
                    claims.has_legal_authority_over(&pupil("E1")),
                    legal,
                    "{what}"
                );
            }
        }
        assert_eq!(guardian([]).policy(), LegalGuardians);
    }

    #[test]
    fn a_pupil_acts_for_themselves_only_and_decides_nothing() {
        let claims = FamilyClaims::of_pupil(
            "educonnect",
            "sub",
            PupilSelf::new(
                Some(pupil("E1")),
                Some(Ine::parse("123456789AB").unwrap()),
                None,
            ),
        );
        let grant = claims.authorize(&pupil("E1"), PupilRight::ActFor).unwrap();
        assert_eq!(grant.relation(), &Relation::Themselves);
        assert!(claims.may_act_for(&pupil("E1")));
        assert!(claims.may_act_for_ine(&Ine::parse("123456789AB").unwrap()));
        assert!(!claims.has_legal_authority_over(&pupil("E1")));
        assert_eq!(
            claims.authorize(&pupil("E1"), PupilRight::LegalAuthority),
            Err(PupilDenied::NoLegalAuthority)
        );
        assert_eq!(
            claims.authorize(&pupil("E2"), PupilRight::ActFor),
            Err(PupilDenied::NotTheirPupil)
        );
    }

    #[test]
    fn serde_round_trip_keeps_the_policy_and_debug_shows_no_ine() {
        let claims = guardian([child("E1", Relationship::Mother, true)])
            .with_policy(ActForPolicy::FamilyMembers);
        let json = serde_json::to_string(&claims).unwrap();
        assert!(
            json.contains("\"verification\":\"birth_dates\"")
                && json.contains("\"profile\":\"guardian\"")
                && json.contains("\"act_for_policy\":\"family_members\""),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<FamilyClaims>(&json).unwrap(), claims);
        assert!(!format!("{claims:?}").contains("123456789AB"));

        // Claims written before policies existed: the strictest.
        let mut old: serde_json::Value = serde_json::from_str(&json).unwrap();
        old.as_object_mut().unwrap().remove("act_for_policy");
        let old: FamilyClaims = serde_json::from_value(old).unwrap();
        assert_eq!(old.policy(), ActForPolicy::LegalGuardians);

        let pupil_claims = FamilyClaims::of_pupil(
            "ec",
            "sub",
            PupilSelf::new(
                None,
                Some(Ine::parse("123456789AB").unwrap()),
                Some(Uai::parse("0350001L").unwrap()),
            ),
        );
        assert_eq!(
            pupil_claims.own_ine(),
            Some(Ine::parse("123456789AB").unwrap())
        );
        assert!(!format!("{pupil_claims:?}").contains("123456789AB"));
        assert!(!pupil_claims.may_act_for(&pupil("E1")));
    }

    #[test]
    fn finding_12_debug_of_family_claims_redacts_the_sub() {
        let sub = "0123456789abcdef0123456789abcdef-secret-sub";
        let claims = FamilyClaims::guardian("franceconnect", sub, Vec::new(), []);
        let shown = format!("{claims:?}");
        assert!(
            !shown.contains(sub) && !shown.contains("secret-sub"),
            "{shown}"
        );
        assert!(!shown.contains("01234567"), "{shown}");
        assert!(shown.contains("sha256:"), "{shown}");
        assert_eq!(claims.sub(), sub);
    }
}
