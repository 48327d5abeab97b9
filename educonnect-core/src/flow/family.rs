//! Filiation inside the flow: family claims after a login, the birth-date
//! challenge (`GET`/`POST {base}/verify`), family assertions and the JWKS
//! that checks them (`GET {base}/jwks`).
//!
//! After a FranceConnect login, with a directory configured:
//!
//! 1. a link verified before for this `sub` (a durable record
//!    `fc-link:{sha256(sub)}`) gives the family claims at once;
//! 2. otherwise the guardian records whose names fit are looked up; if none
//!    has a child whose birth date the school recorded, the parent sees a
//!    page telling them to contact the school (the same page whatever the
//!    records hold) and gets a session with no child, so that the service
//!    still knows who they are;
//! 3. otherwise the parent is sent to the challenge. Each child is shown by
//!    the initial of the first given name and the school's name only. All
//!    answers are checked (in constant time, each against the directory's
//!    date, presumed parts matching anything); a record is confirmed when
//!    every child of it not marked "not my child" has the right date. One
//!    confirmed record is a success: the link is stored and the session
//!    created. Otherwise it is a failure, counted per `sub` and per
//!    candidate record over the lock window; at the limit the challenge
//!    locks until the window ends.

use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Request, Response, StatusCode};
use serde_json::json;
use subtle::Choice;

use super::pages;
use super::session::SessionRecord;
use super::{Failure, Gateway, Session, TOKEN_LEN, cookie, sha256};
use crate::directory::{
    Directory, DirectoryError, DirectoryPerson, LinkedPupil, NameQuery, PersonId, PhoneKind,
    PupilId,
};
use crate::filiation::Notifier;
use crate::filiation::challenge::{
    ChallengeChild, PendingCode, PendingVerification, StoredLink, code_body, date_matches,
    form_body, initial, parse_answers, six_digits,
};
use crate::filiation::{AuditEvent, Child, FamilyClaims, PupilSelf, Verification};
use crate::provider::{EduConnectIdentity, Identity, PivotIdentity, Profile};
use crate::random::alphanumeric;

/// How long a one-time code is accepted, in seconds.
const CODE_VALIDITY: i64 = 5 * 60;
/// How many codes may be typed for one sent.
const CODE_TRIES: u8 = 3;

/// Prefix of pending verifications in the pending key space.
const VERIFY_PREFIX: &str = "verify-";

const EXPIRED_VERIFY: &str =
    "Cette vérification a expiré ou a déjà été utilisée. Veuillez vous reconnecter.";

/// Why a family assertion could not be minted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AssertionError {
    /// The gateway was built without [`assertion_key`](super::GatewayBuilder::assertion_key).
    #[error("no assertion key configured")]
    NoKey,
    /// The session has no family claims (no directory, or a generic provider).
    #[error("the session has no family claims")]
    NoFamily,
    /// Signing failed.
    #[error("signing the assertion failed")]
    Signing(#[from] crate::jose::Error),
}

fn directory_failure(e: DirectoryError) -> Failure {
    Failure::unavailable(format!("directory: {e}"))
}

fn child_of(linked: &LinkedPupil, verification: Verification) -> Child {
    Child::new(
        linked.pupil.id.clone(),
        linked.link.relationship,
        linked.link.has_legal_authority(),
        verification,
    )
    .with_ine(linked.pupil.ine)
    .with_uai(linked.pupil.school)
}

fn sub_counter(sub_hash: &str) -> String {
    format!("filiation-sub:{sub_hash}")
}

fn person_counter(person: &PersonId) -> String {
    format!("filiation-person:{person}")
}

fn link_key(sub_hash: &str) -> String {
    format!("fc-link:{sub_hash}")
}

impl Gateway {
    /// The family claims of a login, then the session (or the challenge).
    pub(super) async fn after_login(
        &self,
        headers: &HeaderMap,
        identity: &Identity,
        mut record: SessionRecord,
        return_to: String,
    ) -> Result<Response<Bytes>, Failure> {
        let Some(directory) = self.inner.directory.clone() else {
            return self.start_session(headers, record, &return_to).await;
        };
        match identity {
            Identity::FranceConnect(pivot) => {
                self.franceconnect_family(headers, &*directory, pivot, record, return_to)
                    .await
            }
            Identity::EduConnect(person) => {
                record.family = Some(
                    self.educonnect_family(&*directory, &record.provider, person)
                        .await?,
                );
                self.start_session(headers, record, &return_to).await
            }
            Identity::Oidc(_) => self.start_session(headers, record, &return_to).await,
        }
    }

    /// EduConnect vouches for the `{AAF}` ids: a guardian's children come
    /// from the directory's records under them; a pupil gets their own ids.
    async fn educonnect_family(
        &self,
        directory: &dyn Directory,
        provider: &str,
        person: &EduConnectIdentity,
    ) -> Result<FamilyClaims, Failure> {
        let mut related: Vec<PersonId> = Vec::new();
        let mut own_pupil: Option<PupilId> = None;
        for aaf in person.aaf_ids() {
            match directory.person_by_aaf_id(aaf).await {
                Ok(Some(DirectoryPerson::Related(p))) => {
                    if !related.contains(&p.id) {
                        related.push(p.id.clone());
                    }
                }
                Ok(Some(DirectoryPerson::Pupil(p))) => {
                    own_pupil.get_or_insert_with(|| p.id.clone());
                }
                Ok(None) => {}
                // An academy this service does not serve: its children are
                // simply not here.
                Err(DirectoryError::UnknownSource(source)) => {
                    tracing::info!(%source, "an {{AAF}} id of a source the directory does not serve");
                }
                Err(e) => return Err(directory_failure(e)),
            }
        }
        Ok(match person.profile() {
            Profile::Guardian => {
                let linked = directory
                    .pupils_of_many(&related)
                    .await
                    .map_err(directory_failure)?;
                FamilyClaims::guardian(
                    provider,
                    person.sub(),
                    related,
                    linked.iter().map(|l| child_of(l, Verification::EduConnect)),
                )
                .with_policy(self.inner.act_for_policy)
            }
            Profile::Pupil => {
                let details = person.pupil();
                FamilyClaims::of_pupil(
                    provider,
                    person.sub(),
                    PupilSelf::new(
                        own_pupil,
                        details.and_then(|d| d.ine()),
                        details.and_then(|d| d.uai()),
                    ),
                )
                .with_policy(self.inner.act_for_policy)
            }
        })
    }

    async fn franceconnect_family(
        &self,
        headers: &HeaderMap,
        directory: &dyn Directory,
        pivot: &PivotIdentity,
        mut record: SessionRecord,
        return_to: String,
    ) -> Result<Response<Bytes>, Failure> {
        let store = &self.inner.store;
        let sub_hash = sha256(pivot.sub());

        // 1. A link verified before.
        if let Some(bytes) = store
            .get_record(&link_key(&sub_hash))
            .await
            .map_err(Failure::store)?
        {
            match serde_json::from_slice::<StoredLink>(&bytes) {
                Ok(link) => {
                    let family = self
                        .linked_family(directory, &record.provider, pivot.sub(), &link)
                        .await?;
                    record.family = Some(family);
                    return self.start_session(headers, record, &return_to).await;
                }
                Err(_) => tracing::warn!("unreadable verified link, asking again"),
            }
        }

        // 2. Candidates, and their children whose birth date is known.
        let query = NameQuery::from_pivot(pivot);
        let candidates = if query.is_searchable() {
            directory
                .guardian_candidates(&query)
                .await
                .map_err(directory_failure)?
        } else {
            Vec::new()
        };
        let mut children: Vec<ChallengeChild> = Vec::new();
        let mut persons: Vec<PersonId> = Vec::new();
        for candidate in &candidates {
            let id = &candidate.person.id;
            for linked in directory.pupils_of(id).await.map_err(directory_failure)? {
                if linked.pupil.birth_date.is_none() {
                    continue;
                }
                if !persons.contains(id) {
                    persons.push(id.clone());
                }
                if let Some(child) = children.iter_mut().find(|c| c.pupil == linked.pupil.id) {
                    if !child.persons.contains(id) {
                        child.persons.push(id.clone());
                    }
                    continue;
                }
                let school = match linked.pupil.school {
                    Some(uai) => directory
                        .school(&uai)
                        .await
                        .map_err(directory_failure)?
                        .map(|s| s.name),
                    None => None,
                };
                children.push(ChallengeChild {
                    pupil: linked.pupil.id.clone(),
                    persons: vec![id.clone()],
                    initial: initial(&linked.pupil.given_names),
                    school: school.unwrap_or_else(|| "un établissement".to_owned()),
                });
            }
        }
        if children.is_empty() {
            record.family = Some(
                FamilyClaims::guardian(
                    record.provider.clone(),
                    pivot.sub(),
                    Vec::new(),
                    Vec::new(),
                )
                .with_policy(self.inner.act_for_policy),
            );
            let cookie = self.new_session(headers, record).await?;
            let mut response = pages::no_child_found(&return_to);
            response.headers_mut().append(header::SET_COOKIE, cookie);
            return Ok(response);
        }
        if self.locked(&sub_hash, &persons).await? {
            self.inner.audit.record(&AuditEvent::LockedOut { sub_hash });
            return Ok(self.locked_page());
        }

        // 3. The challenge.
        let browser = alphanumeric(&*self.inner.random, TOKEN_LEN);
        let timeout = self.inner.verify_timeout;
        let pending = PendingVerification {
            provider: record.provider,
            kind: record.kind,
            claims: record.claims,
            acr: record.acr,
            auth_time: record.auth_time,
            id_token: record.id_token,
            return_to,
            sub: pivot.sub().to_owned(),
            candidates: persons,
            children,
            expires_at: self
                .inner
                .clock
                .unix_seconds()
                .saturating_add(secs(timeout)),
            code: None,
        };
        self.put_verification(&sha256(&browser), &pending, timeout)
            .await?;
        let mut response = pages::redirect(&format!("{}/verify", self.inner.base_path));
        let cookie = self
            .inner
            .login_attrs
            .set(self.inner.verify_cookie, &browser, timeout);
        response.headers_mut().append(header::SET_COOKIE, cookie);
        Ok(response)
    }

    /// The family of a verified link: the children of its records, less the
    /// ones the parent said were not theirs.
    async fn linked_family(
        &self,
        directory: &dyn Directory,
        provider: &str,
        sub: &str,
        link: &StoredLink,
    ) -> Result<FamilyClaims, Failure> {
        let linked = directory
            .pupils_of_many(&link.persons)
            .await
            .map_err(directory_failure)?;
        Ok(FamilyClaims::guardian(
            provider,
            sub,
            link.persons.clone(),
            linked
                .iter()
                .filter(|l| !link.excluded.contains(&l.pupil.id))
                .map(|l| child_of(l, link.verification.unwrap_or(Verification::BirthDates))),
        )
        .with_policy(self.inner.act_for_policy))
    }

    async fn locked(&self, sub_hash: &str, persons: &[PersonId]) -> Result<bool, Failure> {
        let store = &self.inner.store;
        let max = self.inner.max_failures;
        if store
            .read_counter(&sub_counter(sub_hash))
            .await
            .map_err(Failure::store)?
            >= max
        {
            return Ok(true);
        }
        for person in persons {
            if store
                .read_counter(&person_counter(person))
                .await
                .map_err(Failure::store)?
                >= max
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn locked_page(&self) -> Response<Bytes> {
        let minutes = self.inner.lock_window.as_secs().div_ceil(60);
        let body = format!(
            "<p>Trop de réponses erronées ont été données. Par sécurité, le rattachement de vos \
             enfants est bloqué pendant {minutes} minutes. Vous pourrez réessayer ensuite, ou \
             contacter l'établissement de votre enfant.</p>\n\
             <p><a class=\"button secondary\" href=\"/\">Retour à l'accueil</a></p>"
        );
        let mut response = pages::page(
            StatusCode::TOO_MANY_REQUESTS,
            "Vérification temporairement bloquée",
            &body,
        );
        let clear = self.inner.login_attrs.clear(self.inner.verify_cookie);
        response.headers_mut().append(header::SET_COOKIE, clear);
        response
    }

    async fn put_verification(
        &self,
        key_hash: &str,
        pending: &PendingVerification,
        ttl: Duration,
    ) -> Result<(), Failure> {
        let value = serde_json::to_vec(pending).map_err(|e| Failure::unavailable(e.to_string()))?;
        self.inner
            .store
            .put_pending(&format!("{VERIFY_PREFIX}{key_hash}"), value, ttl)
            .await
            .map_err(Failure::store)
    }

    /// Takes the pending verification the browser's cookie names.
    async fn take_verification(
        &self,
        request: &Request<Bytes>,
    ) -> Result<(String, PendingVerification), Failure> {
        let browser = cookie::read(request.headers(), self.inner.verify_cookie)
            .filter(|b| b.len() == TOKEN_LEN && b.bytes().all(|c| c.is_ascii_alphanumeric()))
            .ok_or_else(|| Failure::bad_request(EXPIRED_VERIFY, "verify without its cookie"))?;
        let key_hash = sha256(browser);
        let bytes = self
            .inner
            .store
            .take_pending(&format!("{VERIFY_PREFIX}{key_hash}"))
            .await
            .map_err(Failure::store)?
            .ok_or_else(|| {
                Failure::bad_request(EXPIRED_VERIFY, "unknown or expired verification")
            })?;
        let pending: PendingVerification = serde_json::from_slice(&bytes)
            .map_err(|_| Failure::unavailable("unreadable pending verification"))?;
        Ok((key_hash, pending))
    }

    /// Puts a taken verification back for the rest of its time.
    async fn put_back(&self, key_hash: &str, pending: &PendingVerification) -> Result<(), Failure> {
        let left = pending.expires_at - self.inner.clock.unix_seconds();
        if left <= 0 {
            return Err(Failure::bad_request(EXPIRED_VERIFY, "verification expired"));
        }
        let ttl = Duration::from_secs(u64::try_from(left).unwrap_or(1));
        self.put_verification(key_hash, pending, ttl).await
    }

    /// `GET {base}/verify`: the form.
    pub(super) async fn verify_form(
        &self,
        request: &Request<Bytes>,
    ) -> Result<Response<Bytes>, Failure> {
        let (key_hash, pending) = self.take_verification(request).await?;
        self.put_back(&key_hash, &pending).await?;
        Ok(match &pending.code {
            Some(code) => self.code_page(StatusCode::OK, &code.phone_hint, None),
            None => self.form_page(StatusCode::OK, &pending, None),
        })
    }

    fn form_page(
        &self,
        status: StatusCode,
        pending: &PendingVerification,
        error: Option<&str>,
    ) -> Response<Bytes> {
        let action = format!("{}/verify", self.inner.base_path);
        pages::page(
            status,
            "Confirmer vos enfants",
            &form_body(&action, &pending.children, error),
        )
    }

    fn code_page(
        &self,
        status: StatusCode,
        phone_hint: &str,
        error: Option<&str>,
    ) -> Response<Bytes> {
        let action = format!("{}/verify", self.inner.base_path);
        pages::page(
            status,
            "Code de confirmation",
            &code_body(&action, phone_hint, error),
        )
    }

    /// The dates were right and the policy asks for a one-time code: send
    /// it to the mobile number of a confirmed record. The code goes only to
    /// a record the dates confirmed, never to a homonym's phone.
    async fn send_code(
        &self,
        directory: &dyn Directory,
        notifier: &dyn Notifier,
        key_hash: String,
        mut pending: PendingVerification,
        link: StoredLink,
    ) -> Result<Response<Bytes>, Failure> {
        let mut phone = None;
        for person in &link.persons {
            if let Some(record) = directory.person(person).await.map_err(directory_failure)?
                && let Some(number) = record.phone(PhoneKind::Mobile)
            {
                phone = Some(number.to_owned());
                break;
            }
        }
        let Some(phone) = phone else {
            return Err(Failure::bad_request(
                "L'établissement n'a pas enregistré de numéro de téléphone mobile pour vous. \
                 Contactez son secrétariat pour rattacher vos enfants.",
                "one-time code required, no mobile number recorded",
            ));
        };
        let code = six_digits(&*self.inner.random);
        notifier
            .send_code(&phone, &code)
            .await
            .map_err(|e| Failure::unavailable(format!("notifier: {e}")))?;
        let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
        let phone_hint: String = digits[digits.len().saturating_sub(2)..].iter().collect();
        let now = self.inner.clock.unix_seconds();
        pending.code = Some(PendingCode {
            hash: sha256(&format!("{key_hash}:{code}")),
            expires_at: now.saturating_add(CODE_VALIDITY),
            tries_left: CODE_TRIES,
            link,
            phone_hint: phone_hint.clone(),
        });
        pending.expires_at = pending.expires_at.max(now.saturating_add(CODE_VALIDITY));
        self.put_back(&key_hash, &pending).await?;
        Ok(self.code_page(StatusCode::OK, &phone_hint, None))
    }

    /// The answer to the one-time code form.
    async fn check_code(
        &self,
        request: &Request<Bytes>,
        directory: &dyn Directory,
        key_hash: String,
        mut pending: PendingVerification,
        sub_hash: String,
    ) -> Result<Response<Bytes>, Failure> {
        let Some(mut code) = pending.code.take() else {
            return Err(Failure::unavailable("no code awaited"));
        };
        if code.expires_at <= self.inner.clock.unix_seconds() {
            return Err(Failure::bad_request(
                "Le code a expiré. Veuillez vous reconnecter pour en recevoir un nouveau.",
                "one-time code expired",
            ));
        }
        let typed = url::form_urlencoded::parse(request.body())
            .take(8)
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default();
        let right = super::constant_time_eq(
            sha256(&format!("{key_hash}:{typed}")).as_bytes(),
            code.hash.as_bytes(),
        );
        if right {
            let mut link = code.link;
            link.verification = Some(Verification::BirthDatesAndOneTimeCode);
            return self
                .finish_verification(request, directory, pending, link, sub_hash)
                .await;
        }
        code.tries_left = code.tries_left.saturating_sub(1);
        let failures = self
            .inner
            .store
            .increment_counter(&sub_counter(&sub_hash), self.inner.lock_window)
            .await
            .map_err(Failure::store)?;
        self.inner.audit.record(&AuditEvent::VerificationFailed {
            sub_hash: sub_hash.clone(),
            persons: code.link.persons.clone(),
            failures,
        });
        if code.tries_left == 0 {
            return Err(Failure::bad_request(
                "Le code saisi n'est pas le bon. Veuillez vous reconnecter pour en recevoir un nouveau.",
                "one-time code: no try left",
            ));
        }
        let hint = code.phone_hint.clone();
        pending.code = Some(code);
        self.put_back(&key_hash, &pending).await?;
        Ok(self.code_page(
            StatusCode::BAD_REQUEST,
            &hint,
            Some("Ce code n'est pas le bon. Vérifiez-le et saisissez-le à nouveau."),
        ))
    }

    /// Stores the link, creates the session, sends the browser on.
    async fn finish_verification(
        &self,
        request: &Request<Bytes>,
        directory: &dyn Directory,
        pending: PendingVerification,
        link: StoredLink,
        sub_hash: String,
    ) -> Result<Response<Bytes>, Failure> {
        let store = &self.inner.store;
        if !link.persons.is_empty() {
            let value =
                serde_json::to_vec(&link).map_err(|e| Failure::unavailable(e.to_string()))?;
            store
                .put_record(&link_key(&sub_hash), value)
                .await
                .map_err(Failure::store)?;
            let _ = store.reset_counter(&sub_counter(&sub_hash)).await;
            self.inner.audit.record(&AuditEvent::VerificationSucceeded {
                sub_hash: sub_hash.clone(),
                persons: link.persons.clone(),
            });
        }
        let family = self
            .linked_family(directory, &pending.provider, &pending.sub, &link)
            .await?;
        let record = SessionRecord {
            provider: pending.provider,
            kind: pending.kind,
            claims: pending.claims,
            acr: pending.acr,
            auth_time: pending.auth_time,
            created_at: self.inner.clock.unix_seconds(),
            id_token: pending.id_token,
            family: Some(family),
        };
        let mut response = self
            .start_session(request.headers(), record, &pending.return_to)
            .await?;
        let clear = self.inner.login_attrs.clear(self.inner.verify_cookie);
        response.headers_mut().append(header::SET_COOKIE, clear);
        Ok(response)
    }

    /// `POST {base}/verify`: the answers.
    pub(super) async fn verify_answer(
        &self,
        request: &Request<Bytes>,
    ) -> Result<Response<Bytes>, Failure> {
        if !super::origin::is_same_origin(request.headers(), self.origin()) {
            return Err(Failure::bad_request(
                "Cette demande ne vient pas du service.",
                "verify from another origin",
            ));
        }
        let Some(directory) = self.inner.directory.clone() else {
            return Err(Failure::unavailable("verify without a directory"));
        };
        let (key_hash, pending) = self.take_verification(request).await?;
        if pending.expires_at <= self.inner.clock.unix_seconds() {
            return Err(Failure::bad_request(EXPIRED_VERIFY, "verification expired"));
        }
        let sub_hash = sha256(&pending.sub);
        if self.locked(&sub_hash, &pending.candidates).await? {
            self.inner.audit.record(&AuditEvent::LockedOut { sub_hash });
            return Ok(self.locked_page());
        }
        if pending.code.is_some() {
            return self
                .check_code(request, &*directory, key_hash, pending, sub_hash)
                .await;
        }

        // Every answer is checked, each in constant time, before any
        // decision.
        let answers = parse_answers(request.body(), pending.children.len());
        let mut right: Vec<Choice> = Vec::with_capacity(pending.children.len());
        for (child, answer) in pending.children.iter().zip(&answers) {
            let known = directory
                .pupil(&child.pupil)
                .await
                .map_err(directory_failure)?
                .and_then(|p| p.birth_date);
            right.push(match known {
                Some(date) => date_matches(&date, answer),
                None => Choice::from(0),
            });
        }
        let mut excluded: Vec<PupilId> = Vec::new();
        for (child, answer) in pending.children.iter().zip(&answers) {
            if answer.not_mine {
                excluded.push(child.pupil.clone());
                for person in &child.persons {
                    self.inner.audit.record(&AuditEvent::NotMyChild {
                        sub_hash: sub_hash.clone(),
                        person: person.clone(),
                        pupil: child.pupil.clone(),
                    });
                }
            }
        }
        // A record is confirmed when each of its children not marked "not
        // mine" has the right date, and there is at least one such child.
        let confirmed: Vec<PersonId> = pending
            .candidates
            .iter()
            .filter(|person| {
                let mut any = false;
                let mut all = Choice::from(1);
                for ((child, answer), ok) in pending.children.iter().zip(&answers).zip(&right) {
                    if child.persons.contains(person) && !answer.not_mine {
                        any = true;
                        all &= *ok;
                    }
                }
                any && bool::from(all)
            })
            .cloned()
            .collect();
        let all_marked_not_mine = answers.iter().all(|a| a.not_mine);

        if confirmed.is_empty() && !all_marked_not_mine {
            return self.challenge_failed(key_hash, pending, sub_hash).await;
        }

        let link = StoredLink {
            persons: confirmed,
            excluded,
            verification: None,
        };
        if let Some(notifier) = self.inner.notifier.clone()
            && !link.persons.is_empty()
        {
            return self
                .send_code(&*directory, &*notifier, key_hash, pending, link)
                .await;
        }
        self.finish_verification(request, &*directory, pending, link, sub_hash)
            .await
    }

    async fn challenge_failed(
        &self,
        key_hash: String,
        pending: PendingVerification,
        sub_hash: String,
    ) -> Result<Response<Bytes>, Failure> {
        let store = &self.inner.store;
        let window = self.inner.lock_window;
        let failures = store
            .increment_counter(&sub_counter(&sub_hash), window)
            .await
            .map_err(Failure::store)?;
        let mut worst = failures;
        for person in &pending.candidates {
            let n = store
                .increment_counter(&person_counter(person), window)
                .await
                .map_err(Failure::store)?;
            worst = worst.max(n);
        }
        self.inner.audit.record(&AuditEvent::VerificationFailed {
            sub_hash: sub_hash.clone(),
            persons: pending.candidates.clone(),
            failures,
        });
        if worst >= self.inner.max_failures {
            self.inner.audit.record(&AuditEvent::LockedOut { sub_hash });
            return Ok(self.locked_page());
        }
        self.put_back(&key_hash, &pending).await?;
        Ok(self.form_page(
            StatusCode::BAD_REQUEST,
            &pending,
            Some(
                "Les dates indiquées ne correspondent pas aux informations de l'établissement. \
                 Vérifiez-les, ou cochez « Ce n'est pas mon enfant ».",
            ),
        ))
    }

    /// `GET {base}/jwks`: the public key of family assertions.
    pub(super) fn jwks(&self) -> Response<Bytes> {
        let Some(key) = &self.inner.assertion_key else {
            return pages::page(StatusCode::NOT_FOUND, "Page introuvable", "");
        };
        let mut response = Response::new(Bytes::from(key.public_jwks_json()));
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        response
    }

    /// A short-lived signed statement of the session's family claims, for
    /// `audience`: a compact JWS with `iss` (the public URL's origin),
    /// `aud`, `sub`, `iat`, `exp` (`iat` + `ttl`) and `family` (the
    /// [`FamilyClaims`]). Check it with [`crate::jose::Validation`] against
    /// the keys published at `GET {base}/jwks`.
    pub fn family_assertion(
        &self,
        session: &Session,
        audience: &str,
        ttl: Duration,
    ) -> Result<String, AssertionError> {
        let key = self
            .inner
            .assertion_key
            .as_ref()
            .ok_or(AssertionError::NoKey)?;
        let family = session.family().ok_or(AssertionError::NoFamily)?;
        let now = self.inner.clock.unix_seconds();
        let claims = json!({
            "iss": self.origin(),
            "aud": audience,
            "sub": family.sub(),
            "iat": now,
            "exp": now.saturating_add(secs(ttl)),
            "family": family,
        });
        Ok(key.sign(&claims)?)
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}
