//! Verifying family assertions, and reading family claims.

use std::ffi::c_char;
use std::sync::OnceLock;

use educonnect_core::directory::{PupilId, Relationship, SourceId};
use educonnect_core::filiation::{
    ActForPolicy, AssertionVerifier, FamilyClaims, PupilRight, Verification,
};
use educonnect_core::provider::Profile;

use crate::error::educonnect_result;
use crate::ffi::{CText, bytes_arg, free_handle, handle, into_handle, out, str_arg};
use crate::panic::{boundary, catch};

/// Checks family assertions from one gateway (issuer), for one audience,
/// offline, against the gateway's JWKS.
///
/// Made by [`educonnect_verifier_new`], freed by
/// [`educonnect_verifier_free`]. Immutable: one verifier may be used by
/// several threads at once.
#[allow(non_camel_case_types, reason = "C naming")]
pub struct educonnect_verifier {
    inner: AssertionVerifier,
}

/// Family claims: who logged in (subject, provider, profile) and one entry
/// per child, with the rule that says what each link allows. From an
/// assertion ([`educonnect_verifier_verify`]) or a session
/// (`educonnect_gateway_session_claims`).
///
/// Freed by [`educonnect_claims_free`]. Immutable: may be read by several
/// threads at once. Every string an accessor hands out is borrowed from the
/// claims: valid until they are freed, never freed by the caller,
/// NUL-terminated, its length (without the NUL) given beside it.
#[allow(non_camel_case_types, reason = "C naming")]
pub struct educonnect_claims {
    family: FamilyClaims,
    /// `(issued_at, expires_at)` for claims from an assertion.
    times: Option<(i64, i64)>,
    /// The text handed out, made on first use (verifying stays as cheap as
    /// the Rust call).
    text: OnceLock<ClaimsText>,
    json: OnceLock<CText>,
}

#[derive(Debug)]
struct ClaimsText {
    sub: CText,
    provider: CText,
    own: Option<(CText, CText)>,
    children: Vec<ChildText>,
}

#[derive(Debug)]
struct ChildText {
    source: CText,
    local: CText,
    ine: Option<CText>,
    uai: Option<CText>,
}

impl educonnect_claims {
    /// Claims for C, from a session's or an assertion's.
    pub(crate) fn new(family: FamilyClaims, times: Option<(i64, i64)>) -> Self {
        Self {
            family,
            times,
            text: OnceLock::new(),
            json: OnceLock::new(),
        }
    }

    fn text(&self) -> &ClaimsText {
        self.text.get_or_init(|| {
            let f = &self.family;
            ClaimsText {
                sub: CText::new(f.sub().as_bytes()),
                provider: CText::new(f.provider().as_bytes()),
                own: f.pupil().and_then(|p| p.id()).map(|id| {
                    (
                        CText::new(id.source().to_string().as_bytes()),
                        CText::new(id.local().as_bytes()),
                    )
                }),
                children: f
                    .children()
                    .iter()
                    .map(|c| ChildText {
                        source: CText::new(c.pupil().source().to_string().as_bytes()),
                        local: CText::new(c.pupil().local().as_bytes()),
                        ine: c.ine().map(|i| CText::new(i.as_str().as_bytes())),
                        uai: c.uai().map(|u| CText::new(u.as_str().as_bytes())),
                    })
                    .collect(),
            }
        })
    }

    /// The claims, for Rust callers (tests, benchmarks).
    pub fn family(&self) -> &FamilyClaims {
        &self.family
    }
}

/// Guardian or pupil.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types, reason = "C naming")]
pub enum educonnect_profile {
    /// A guardian (a parent, or another related person).
    EDUCONNECT_PROFILE_GUARDIAN = 1,
    /// A pupil.
    EDUCONNECT_PROFILE_PUPIL = 2,
}

/// Which verified links let the person act for a pupil (the policy the
/// claims were built under, signed into assertions).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types, reason = "C naming")]
pub enum educonnect_act_for_policy {
    /// A policy this version of the library does not know.
    EDUCONNECT_POLICY_UNKNOWN = 0,
    /// Only legal guardians (the default).
    EDUCONNECT_POLICY_LEGAL_GUARDIANS = 1,
    /// Legal guardians and the family members the school recorded.
    EDUCONNECT_POLICY_FAMILY_MEMBERS = 2,
    /// Every verified link.
    EDUCONNECT_POLICY_ALL_CONTACTS = 3,
}

/// How a child entry was verified.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types, reason = "C naming")]
pub enum educonnect_verification {
    /// A way this version of the library does not know.
    EDUCONNECT_VERIFICATION_UNKNOWN = 0,
    /// FranceConnect, and the child's birth date as the school recorded it.
    EDUCONNECT_VERIFICATION_BIRTH_DATES = 1,
    /// As above, plus a one-time code sent to the phone the school recorded.
    EDUCONNECT_VERIFICATION_BIRTH_DATES_AND_ONE_TIME_CODE = 2,
    /// EduConnect vouched for the guardian's records.
    EDUCONNECT_VERIFICATION_EDUCONNECT = 3,
}

/// How the person is related to a child, as the school recorded it (the
/// SIECLE relationship table).
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(non_camel_case_types, reason = "C naming")]
pub enum educonnect_relationship {
    /// A relationship this version of the library does not know.
    EDUCONNECT_RELATIONSHIP_UNKNOWN = 0,
    /// Mother (SIECLE 10).
    EDUCONNECT_RELATIONSHIP_MOTHER = 1,
    /// Father (20).
    EDUCONNECT_RELATIONSHIP_FATHER = 2,
    /// Brother or sister (37).
    EDUCONNECT_RELATIONSHIP_SIBLING = 3,
    /// Grandparent (38).
    EDUCONNECT_RELATIONSHIP_GRANDPARENT = 4,
    /// Another family member (39).
    EDUCONNECT_RELATIONSHIP_OTHER_FAMILY = 5,
    /// Educator (41).
    EDUCONNECT_RELATIONSHIP_EDUCATOR = 6,
    /// Family assistant (42).
    EDUCONNECT_RELATIONSHIP_FAMILY_ASSISTANT = 7,
    /// Child minder (50).
    EDUCONNECT_RELATIONSHIP_CHILD_MINDER = 8,
    /// Tutor (51).
    EDUCONNECT_RELATIONSHIP_TUTOR = 9,
    /// Child welfare, ASE (60).
    EDUCONNECT_RELATIONSHIP_CHILD_WELFARE = 10,
    /// The pupil's own record (70).
    EDUCONNECT_RELATIONSHIP_PUPIL = 11,
    /// Other (90).
    EDUCONNECT_RELATIONSHIP_OTHER = 12,
}

fn relationship(r: Relationship) -> educonnect_relationship {
    use educonnect_relationship::*;
    match r {
        Relationship::Mother => EDUCONNECT_RELATIONSHIP_MOTHER,
        Relationship::Father => EDUCONNECT_RELATIONSHIP_FATHER,
        Relationship::Sibling => EDUCONNECT_RELATIONSHIP_SIBLING,
        Relationship::GrandParent => EDUCONNECT_RELATIONSHIP_GRANDPARENT,
        Relationship::OtherFamily => EDUCONNECT_RELATIONSHIP_OTHER_FAMILY,
        Relationship::Educator => EDUCONNECT_RELATIONSHIP_EDUCATOR,
        Relationship::FamilyAssistant => EDUCONNECT_RELATIONSHIP_FAMILY_ASSISTANT,
        Relationship::ChildMinder => EDUCONNECT_RELATIONSHIP_CHILD_MINDER,
        Relationship::Tutor => EDUCONNECT_RELATIONSHIP_TUTOR,
        Relationship::ChildWelfare => EDUCONNECT_RELATIONSHIP_CHILD_WELFARE,
        Relationship::Pupil => EDUCONNECT_RELATIONSHIP_PUPIL,
        Relationship::Other => EDUCONNECT_RELATIONSHIP_OTHER,
        _ => EDUCONNECT_RELATIONSHIP_UNKNOWN,
    }
}

/// Writes an enum output (through a raw write: the memory may hold a value
/// that is no valid `T`).
///
/// # Safety
///
/// `ptr` is NULL or valid for a write of a `T`.
unsafe fn write_out<T>(ptr: *mut T, value: T) -> Result<(), educonnect_result> {
    if ptr.is_null() {
        return Err(educonnect_result::EDUCONNECT_NULL_ARGUMENT);
    }
    // SAFETY: not NULL, valid for a write (the caller's promise).
    unsafe { ptr.write(value) };
    Ok(())
}

/// Makes a verifier of family assertions issued by `issuer` (the gateway's
/// public origin, e.g. `https://ent.example.fr`, compared exactly) for
/// `audience`, signed by a key of `jwks` (the JSON document the gateway
/// publishes at `GET /auth/jwks`).
///
/// Texts are UTF-8, given with their lengths (no NUL needed). On success
/// `*verifier_out` is a new verifier that the caller frees with
/// [`educonnect_verifier_free`]; on failure it is set to NULL.
///
/// # Safety
///
/// Each text pointer is valid for reads of its length; `verifier_out` is
/// valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_verifier_new(
    jwks: *const c_char,
    jwks_len: usize,
    issuer: *const c_char,
    issuer_len: usize,
    audience: *const c_char,
    audience_len: usize,
    verifier_out: *mut *mut educonnect_verifier,
) -> educonnect_result {
    boundary(|| {
        // SAFETY: the caller's promises, relayed.
        let out = unsafe { out(verifier_out) }?;
        *out = std::ptr::null_mut();
        // SAFETY: as above.
        let (jwks, issuer, audience) = unsafe {
            (
                bytes_arg(jwks, jwks_len)?,
                str_arg(issuer, issuer_len)?,
                str_arg(audience, audience_len)?,
            )
        };
        let inner = AssertionVerifier::from_jwks_json(issuer, audience, jwks)?;
        *out = into_handle(educonnect_verifier { inner });
        Ok(())
    })
}

/// Frees a verifier. NULL is accepted and ignored.
///
/// # Safety
///
/// `verifier` is NULL or a verifier not freed yet, that no other thread is
/// using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_verifier_free(verifier: *mut educonnect_verifier) {
    // SAFETY: the caller's promise, relayed.
    catch(|| unsafe { free_handle(verifier) });
}

/// Verifies a family assertion (a compact JWS): signature, issuer,
/// audience, expiry (60 seconds of leeway), then the family claims' shape.
/// Only then are the claims handed out: on success `*claims_out` is new
/// claims that the caller frees with [`educonnect_claims_free`]; on failure
/// it is set to NULL and the code says why (`EDUCONNECT_EXPIRED`,
/// `EDUCONNECT_BAD_SIGNATURE`...).
///
/// # Safety
///
/// `verifier` is a live verifier; `token` is valid for reads of
/// `token_len` bytes; `claims_out` is valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_verifier_verify(
    verifier: *const educonnect_verifier,
    token: *const c_char,
    token_len: usize,
    claims_out: *mut *mut educonnect_claims,
) -> educonnect_result {
    boundary(|| {
        // SAFETY: the caller's promises, relayed.
        let out = unsafe { out(claims_out) }?;
        *out = std::ptr::null_mut();
        // SAFETY: as above.
        let (verifier, token) = unsafe { (handle(verifier)?, bytes_arg(token, token_len)?) };
        let verified = verifier.inner.verify(token)?;
        let times = (verified.issued_at(), verified.expires_at());
        *out = into_handle(educonnect_claims::new(verified.into_family(), Some(times)));
        Ok(())
    })
}

/// Frees claims. NULL is accepted and ignored. Strings borrowed from them
/// are invalid afterwards.
///
/// # Safety
///
/// `claims` is NULL or claims not freed yet, that no other thread is using.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_claims_free(claims: *mut educonnect_claims) {
    // SAFETY: the caller's promise, relayed.
    catch(|| unsafe { free_handle(claims) });
}

/// Runs `body` over borrowed claims and one text output; the output is set
/// to NULL and 0 first.
///
/// # Safety
///
/// `claims` is NULL or live claims; `out_ptr` and `out_len` are NULL or
/// valid for writes.
unsafe fn text_out(
    claims: *const educonnect_claims,
    out_ptr: *mut *const c_char,
    out_len: *mut usize,
    body: impl FnOnce(
        &educonnect_claims,
        &mut *const c_char,
        &mut usize,
    ) -> Result<(), educonnect_result>,
) -> educonnect_result {
    boundary(|| {
        // SAFETY: the caller's promises, relayed.
        let (ptr, len) = unsafe { (out(out_ptr)?, out(out_len)?) };
        *ptr = std::ptr::null();
        *len = 0;
        // SAFETY: as above.
        let claims = unsafe { handle(claims) }?;
        body(claims, ptr, len)
    })
}

/// Looks up child `index`, or `EDUCONNECT_INDEX_OUT_OF_RANGE`.
fn child(claims: &educonnect_claims, index: usize) -> Result<&ChildText, educonnect_result> {
    claims
        .text()
        .children
        .get(index)
        .ok_or(educonnect_result::EDUCONNECT_INDEX_OUT_OF_RANGE)
}

/// The provider's subject (`sub`): a pseudonymous id, still personal data
/// (never log it as it is). Borrowed from the claims.
///
/// # Safety
///
/// `claims` is live claims; `sub_out` and `sub_len_out` are valid for
/// writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_claims_subject(
    claims: *const educonnect_claims,
    sub_out: *mut *const c_char,
    sub_len_out: *mut usize,
) -> educonnect_result {
    // SAFETY: the caller's promises, relayed.
    unsafe {
        text_out(claims, sub_out, sub_len_out, |c, p, l| {
            c.text().sub.hand_out(true, p, l)
        })
    }
}

/// The id of the provider the person logged in with (`franceconnect`,
/// `educonnect`...). Borrowed from the claims.
///
/// # Safety
///
/// As [`educonnect_claims_subject`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_claims_provider(
    claims: *const educonnect_claims,
    provider_out: *mut *const c_char,
    provider_len_out: *mut usize,
) -> educonnect_result {
    // SAFETY: the caller's promises, relayed.
    unsafe {
        text_out(claims, provider_out, provider_len_out, |c, p, l| {
            c.text().provider.hand_out(true, p, l)
        })
    }
}

/// The claims as JSON (the same document a family assertion carries as
/// its `family` claim; it names no one: ids and codes only, and the
/// subject). Borrowed from the claims.
///
/// # Safety
///
/// As [`educonnect_claims_subject`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_claims_json(
    claims: *const educonnect_claims,
    json_out: *mut *const c_char,
    json_len_out: *mut usize,
) -> educonnect_result {
    // SAFETY: the caller's promises, relayed.
    unsafe {
        text_out(claims, json_out, json_len_out, |c, p, l| {
            let json = c.json.get_or_init(|| {
                // Serializing claims cannot fail (string keys, no maps of
                // other keys); an empty object would be refused below.
                CText::new(&serde_json::to_vec(&c.family).unwrap_or_default())
            });
            if json.bytes().is_empty() {
                return Err(educonnect_result::EDUCONNECT_PANIC);
            }
            json.hand_out(true, p, l)
        })
    }
}

/// Guardian or pupil.
///
/// # Safety
///
/// `claims` is live claims; `profile_out` is valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_claims_profile(
    claims: *const educonnect_claims,
    profile_out: *mut educonnect_profile,
) -> educonnect_result {
    boundary(|| {
        // SAFETY: the caller's promise, relayed.
        let claims = unsafe { handle(claims) }?;
        let profile = match claims.family.profile() {
            Profile::Pupil => educonnect_profile::EDUCONNECT_PROFILE_PUPIL,
            Profile::Guardian => educonnect_profile::EDUCONNECT_PROFILE_GUARDIAN,
        };
        // SAFETY: as above.
        unsafe { write_out(profile_out, profile) }
    })
}

/// The act-for policy the claims were built under.
///
/// # Safety
///
/// `claims` is live claims; `policy_out` is valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_claims_policy(
    claims: *const educonnect_claims,
    policy_out: *mut educonnect_act_for_policy,
) -> educonnect_result {
    boundary(|| {
        // SAFETY: the caller's promise, relayed.
        let claims = unsafe { handle(claims) }?;
        let policy = match claims.family.policy() {
            ActForPolicy::LegalGuardians => {
                educonnect_act_for_policy::EDUCONNECT_POLICY_LEGAL_GUARDIANS
            }
            ActForPolicy::FamilyMembers => {
                educonnect_act_for_policy::EDUCONNECT_POLICY_FAMILY_MEMBERS
            }
            ActForPolicy::AllContacts => educonnect_act_for_policy::EDUCONNECT_POLICY_ALL_CONTACTS,
            _ => educonnect_act_for_policy::EDUCONNECT_POLICY_UNKNOWN,
        };
        // SAFETY: as above.
        unsafe { write_out(policy_out, policy) }
    })
}

/// When the assertion was issued and when it expires (Unix seconds).
/// `EDUCONNECT_NOT_AN_ASSERTION` for claims read from a session.
///
/// # Safety
///
/// `claims` is live claims; both outputs are valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_claims_validity(
    claims: *const educonnect_claims,
    issued_at_out: *mut i64,
    expires_at_out: *mut i64,
) -> educonnect_result {
    boundary(|| {
        // SAFETY: the caller's promises, relayed.
        let (claims, iat, exp) =
            unsafe { (handle(claims)?, out(issued_at_out)?, out(expires_at_out)?) };
        (*iat, *exp) = claims
            .times
            .ok_or(educonnect_result::EDUCONNECT_NOT_AN_ASSERTION)?;
        Ok(())
    })
}

/// For a pupil's claims: their own directory id (source, e.g. `aaf:14`,
/// and local id), borrowed from the claims. Both outputs are NULL (and
/// lengths 0) when the claims hold none (a guardian).
///
/// # Safety
///
/// `claims` is live claims; the four outputs are valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_claims_own_pupil(
    claims: *const educonnect_claims,
    source_out: *mut *const c_char,
    source_len_out: *mut usize,
    local_out: *mut *const c_char,
    local_len_out: *mut usize,
) -> educonnect_result {
    // SAFETY: the caller's promises, relayed.
    let (local, local_len) = match unsafe { (out(local_out), out(local_len_out)) } {
        (Ok(p), Ok(l)) => (p, l),
        _ => return educonnect_result::EDUCONNECT_NULL_ARGUMENT,
    };
    *local = std::ptr::null();
    *local_len = 0;
    // SAFETY: the caller's promises, relayed.
    unsafe {
        text_out(claims, source_out, source_len_out, |c, p, l| {
            if let Some((source, id)) = &c.text().own {
                let (mut lp, mut ll) = (std::ptr::null(), 0);
                id.hand_out(true, &mut lp, &mut ll)?;
                source.hand_out(true, p, l)?;
                (*local, *local_len) = (lp, ll);
            }
            Ok(())
        })
    }
}

/// How many children the claims hold (0 for a pupil).
///
/// # Safety
///
/// `claims` is live claims; `count_out` is valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_claims_child_count(
    claims: *const educonnect_claims,
    count_out: *mut usize,
) -> educonnect_result {
    boundary(|| {
        // SAFETY: the caller's promises, relayed.
        let (claims, count) = unsafe { (handle(claims)?, out(count_out)?) };
        *count = claims.family.children().len();
        Ok(())
    })
}

/// Child `index`'s directory id: its source (`aaf:14`, `siecle:0590089B`)
/// and its local id in that source. Borrowed from the claims. Give both to
/// [`educonnect_claims_may_act_for`].
///
/// # Safety
///
/// `claims` is live claims; the four outputs are valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_claims_child_pupil(
    claims: *const educonnect_claims,
    index: usize,
    source_out: *mut *const c_char,
    source_len_out: *mut usize,
    local_out: *mut *const c_char,
    local_len_out: *mut usize,
) -> educonnect_result {
    // SAFETY: the caller's promises, relayed.
    let (local, local_len) = match unsafe { (out(local_out), out(local_len_out)) } {
        (Ok(p), Ok(l)) => (p, l),
        _ => return educonnect_result::EDUCONNECT_NULL_ARGUMENT,
    };
    *local = std::ptr::null();
    *local_len = 0;
    // SAFETY: the caller's promises, relayed.
    unsafe {
        text_out(claims, source_out, source_len_out, |c, p, l| {
            let child = child(c, index)?;
            let (mut lp, mut ll) = (std::ptr::null(), 0);
            child.local.hand_out(true, &mut lp, &mut ll)?;
            child.source.hand_out(true, p, l)?;
            (*local, *local_len) = (lp, ll);
            Ok(())
        })
    }
}

/// Child `index`'s INE (national pupil id), borrowed from the claims;
/// NULL (length 0) when the claims hold none for the child.
///
/// # Safety
///
/// `claims` is live claims; both outputs are valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_claims_child_ine(
    claims: *const educonnect_claims,
    index: usize,
    ine_out: *mut *const c_char,
    ine_len_out: *mut usize,
) -> educonnect_result {
    // SAFETY: the caller's promises, relayed.
    unsafe {
        text_out(claims, ine_out, ine_len_out, |c, p, l| {
            match &child(c, index)?.ine {
                Some(ine) => ine.hand_out(true, p, l),
                None => Ok(()),
            }
        })
    }
}

/// Child `index`'s school (UAI), borrowed from the claims; NULL (length 0)
/// when the claims hold none for the child.
///
/// # Safety
///
/// `claims` is live claims; both outputs are valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_claims_child_uai(
    claims: *const educonnect_claims,
    index: usize,
    uai_out: *mut *const c_char,
    uai_len_out: *mut usize,
) -> educonnect_result {
    // SAFETY: the caller's promises, relayed.
    unsafe {
        text_out(claims, uai_out, uai_len_out, |c, p, l| {
            match &child(c, index)?.uai {
                Some(uai) => uai.hand_out(true, p, l),
                None => Ok(()),
            }
        })
    }
}

/// Child `index`'s link: the relationship the school recorded (and its
/// code in the school's table: SIECLE, or legacy AAF), whether it carries
/// legal authority (1) or not (0), and how it was verified.
///
/// # Safety
///
/// `claims` is live claims; the four outputs are valid for writes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_claims_child_link(
    claims: *const educonnect_claims,
    index: usize,
    relationship_out: *mut educonnect_relationship,
    code_out: *mut u8,
    legal_authority_out: *mut u8,
    verification_out: *mut educonnect_verification,
) -> educonnect_result {
    boundary(|| {
        // SAFETY: the caller's promises, relayed.
        let (claims, code, legal) =
            unsafe { (handle(claims)?, out(code_out)?, out(legal_authority_out)?) };
        if relationship_out.is_null() || verification_out.is_null() {
            return Err(educonnect_result::EDUCONNECT_NULL_ARGUMENT);
        }
        let child = claims
            .family
            .children()
            .get(index)
            .ok_or(educonnect_result::EDUCONNECT_INDEX_OUT_OF_RANGE)?;
        let verification = match child.verification() {
            Verification::BirthDates => {
                educonnect_verification::EDUCONNECT_VERIFICATION_BIRTH_DATES
            }
            Verification::BirthDatesAndOneTimeCode => {
                educonnect_verification::EDUCONNECT_VERIFICATION_BIRTH_DATES_AND_ONE_TIME_CODE
            }
            Verification::EduConnect => educonnect_verification::EDUCONNECT_VERIFICATION_EDUCONNECT,
            _ => educonnect_verification::EDUCONNECT_VERIFICATION_UNKNOWN,
        };
        *code = child.relationship().code();
        *legal = u8::from(child.legal_authority());
        // SAFETY: as above (checked not NULL).
        unsafe {
            write_out(
                relationship_out,
                relationship(child.relationship().relationship()),
            )?;
            write_out(verification_out, verification)
        }
    })
}

/// Decides `right` over the pupil `(source, local)` by the one rule of the
/// library (`FamilyClaims::authorize`, the rule of the Rust adapters'
/// `ForPupil` and `WithLegalAuthority`).
///
/// # Safety
///
/// As [`educonnect_claims_may_act_for`].
unsafe fn decide(
    claims: *const educonnect_claims,
    source: *const c_char,
    source_len: usize,
    local: *const c_char,
    local_len: usize,
    right: PupilRight,
    allowed_out: *mut u8,
) -> educonnect_result {
    boundary(|| {
        // SAFETY: the caller's promises, relayed.
        let allowed = unsafe { out(allowed_out) }?;
        // Refused unless decided otherwise below.
        *allowed = 0;
        // SAFETY: as above.
        let (claims, source, local) = unsafe {
            (
                handle(claims)?,
                str_arg(source, source_len)?,
                str_arg(local, local_len)?,
            )
        };
        let source =
            SourceId::parse(source).map_err(|_| educonnect_result::EDUCONNECT_INVALID_PUPIL_ID)?;
        let pupil = PupilId::new(source, local)
            .map_err(|_| educonnect_result::EDUCONNECT_INVALID_PUPIL_ID)?;
        *allowed = u8::from(claims.family.authorize(&pupil, right).is_ok());
        Ok(())
    })
}

/// Whether the person may act for the pupil `(source, local)` (read their
/// records): a verified link that the claims' act-for policy covers, or the
/// pupil themselves. `*allowed_out` is 1 or 0, and 0 whenever the code is
/// not `EDUCONNECT_OK`.
///
/// # Safety
///
/// `claims` is live claims; `source` and `local` are valid for reads of
/// their lengths; `allowed_out` is valid for a write.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_claims_may_act_for(
    claims: *const educonnect_claims,
    source: *const c_char,
    source_len: usize,
    local: *const c_char,
    local_len: usize,
    allowed_out: *mut u8,
) -> educonnect_result {
    // SAFETY: the caller's promises, relayed.
    unsafe {
        decide(
            claims,
            source,
            source_len,
            local,
            local_len,
            PupilRight::ActFor,
            allowed_out,
        )
    }
}

/// Whether the person holds legal authority over the pupil `(source,
/// local)` (to sign, to decide): only a link with legal authority; a pupil
/// does not hold it over themselves. `*allowed_out` is 1 or 0, and 0
/// whenever the code is not `EDUCONNECT_OK`.
///
/// # Safety
///
/// As [`educonnect_claims_may_act_for`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn educonnect_claims_has_legal_authority_over(
    claims: *const educonnect_claims,
    source: *const c_char,
    source_len: usize,
    local: *const c_char,
    local_len: usize,
    allowed_out: *mut u8,
) -> educonnect_result {
    // SAFETY: the caller's promises, relayed.
    unsafe {
        decide(
            claims,
            source,
            source_len,
            local,
            local_len,
            PupilRight::LegalAuthority,
            allowed_out,
        )
    }
}
