//! Filiation inside the flow: this module only drives
//! [`crate::filiation`], which owns every decision (matching, the
//! challenge's rules, lock-out, links), and renders its pages. Routes:
//! the birth-date challenge (`GET`/`POST {base}/verify`), and the JWKS of
//! family assertions (`GET {base}/jwks`).
//!
//! After a FranceConnect login, with a directory configured:
//!
//! 1. a link verified before for this `sub` gives the family claims at
//!    once (checked against the directory as it is now);
//! 2. otherwise the guardian records the identité pivot fits are looked up
//!    ([`crate::filiation`]'s matching rules); if none has a child whose
//!    birth date the school recorded, the parent sees a page telling them
//!    to contact the school (the same page whatever the records hold) and
//!    gets a session with no child;
//! 3. otherwise the parent is sent to the challenge: each child shown by
//!    the initial of the first given name and the school's name only. Each
//!    answer set is counted before it is checked (lock-out), then each
//!    record is judged on its own; records that the dates cannot prove
//!    (presumed dates, homonyms) need a one-time code sent to their own
//!    phone.

use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderValue};
use http::{HeaderMap, Request, Response, StatusCode};

use super::pages;
use super::session::SessionRecord;
use super::{Failure, Gateway, LoginFailure, Session, TOKEN_LEN, cookie, sha256};
use crate::directory::{
    Directory, DirectoryError, LinkedPupil, NameQuery, PersonId, PhoneKind, PupilId,
};
use crate::filiation::challenge::{
    ChallengeChild, ChallengeRecord, PendingCodes, PendingVerification, SentCode, code_body,
    form_body, initial, six_digits,
};
use crate::filiation::decision::{ChildInput, Confirmed, RecordInput, decide, parse_answers};
use crate::filiation::link::{self, LinkedRecord, StoredLink};
use crate::filiation::{
    Admission, AssertionError, AuditEvent, FamilyClaims, Notifier, Verification, family, matching,
    mint_assertion,
};
use crate::provider::{Identity, PivotIdentity};
use crate::random::alphanumeric;
use crate::store::StoreError;

/// How long a one-time code is accepted, in seconds.
const CODE_VALIDITY: i64 = 5 * 60;
/// How many codes may be typed for one sent.
const CODE_TRIES: u8 = 3;
/// How many phones one login may send codes to.
const CODES_PER_LOGIN: usize = 3;
/// How many codes a guardian record's phone receives per day, whoever asks.
const CODES_PER_RECORD_PER_DAY: u64 = 3;
const DAY: Duration = Duration::from_secs(24 * 3600);

/// Prefix of pending verifications in the pending key space.
const VERIFY_PREFIX: &str = "verify-";

const EXPIRED_VERIFY: &str =
    "Cette vérification a expiré ou a déjà été utilisée. Veuillez vous reconnecter.";

fn sms_counter(person: &PersonId) -> String {
    format!("filiation-sms:{person}")
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
                    family::from_educonnect(&*directory, &record.provider, person)
                        .await
                        .map_err(Failure::directory)?
                        .with_policy(self.inner.act_for_policy),
                );
                self.start_session(headers, record, &return_to).await
            }
            Identity::Oidc(_) => self.start_session(headers, record, &return_to).await,
        }
    }

    /// The family claims of a session's identity as the directory and the
    /// stored links say now, for a session refresh: `None` when the
    /// session has none to refresh (no directory, a generic provider).
    pub(super) async fn current_family(
        &self,
        identity: &Identity,
        provider: &str,
    ) -> Result<Option<FamilyClaims>, Failure> {
        let Some(directory) = self.inner.directory.clone() else {
            return Ok(None);
        };
        match identity {
            Identity::FranceConnect(pivot) => {
                let sub_hash = sha256(pivot.sub());
                let link = link::load(&*self.inner.store, &sub_hash)
                    .await
                    .map_err(Failure::store)?
                    .unwrap_or_default();
                let (family, _) = self
                    .linked_family(&*directory, provider, pivot.sub(), &sub_hash, link)
                    .await?;
                Ok(Some(family))
            }
            Identity::EduConnect(person) => Ok(Some(
                family::from_educonnect(&*directory, provider, person)
                    .await
                    .map_err(Failure::directory)?
                    .with_policy(self.inner.act_for_policy),
            )),
            Identity::Oidc(_) => Ok(None),
        }
    }

    /// The family of a verified link, checked against the directory, and
    /// the link as it now stands: one the directory no longer backs in
    /// full is stored as it now is.
    async fn linked_family(
        &self,
        directory: &dyn Directory,
        provider: &str,
        sub: &str,
        sub_hash: &str,
        link: StoredLink,
    ) -> Result<(FamilyClaims, StoredLink), Failure> {
        let (claims, updated) = family::from_link(directory, provider, sub, &link)
            .await
            .map_err(Failure::directory)?;
        let claims = claims.with_policy(self.inner.act_for_policy);
        match updated {
            Some(updated) => {
                tracing::info!(
                    "a verified link lost records or pupils the directory no longer holds"
                );
                link::save(&*self.inner.store, sub_hash, &updated)
                    .await
                    .map_err(Failure::store)?;
                Ok((claims, updated))
            }
            None => Ok((claims, link)),
        }
    }

    async fn franceconnect_family(
        &self,
        headers: &HeaderMap,
        directory: &dyn Directory,
        pivot: &PivotIdentity,
        record: SessionRecord,
        return_to: String,
    ) -> Result<Response<Bytes>, Failure> {
        let store = &*self.inner.store;
        let sub_hash = sha256(pivot.sub());

        // 1. A link verified before.
        let link = link::load(store, &sub_hash)
            .await
            .map_err(Failure::store)?
            .unwrap_or_default();
        let extension = !link.records.is_empty();
        let mut children: Vec<ChallengeChild> = Vec::new();
        let mut records: Vec<ChallengeRecord> = Vec::new();
        // The family of the link, when there is one: what a parent whose
        // new children are not asked about now keeps.
        let mut linked: Option<FamilyClaims> = None;
        if extension {
            // Children the school added to a linked record since: each is
            // confirmed by its own birth date, the others stay granted
            // whatever happens.
            let (family, link) = self
                .linked_family(directory, &record.provider, pivot.sub(), &sub_hash, link)
                .await?;
            linked = Some(family);
            for linked_record in &link.records {
                let pupils = match directory.pupils_of(&linked_record.person).await {
                    Ok(pupils) => pupils,
                    // Shown as unavailable in the claims.
                    Err(DirectoryError::UnknownSource(_)) => continue,
                    Err(e) => return Err(Failure::directory(e)),
                };
                let new = pupils.iter().filter(|l| {
                    l.pupil.birth_date.is_some()
                        && !linked_record.pupils.contains(&l.pupil.id)
                        && !linked_record.declined.contains(&l.pupil.id)
                });
                // One entry per new child: the record is this person's
                // already, so each child is judged on its own date, and
                // "not mine" for one does not hold back another.
                for linked in new {
                    let index = self
                        .challenge_child(directory, linked, &mut children)
                        .await?;
                    records.push(ChallengeRecord {
                        person: linked_record.person.clone(),
                        score: matching::MatchScore::default(),
                        children: vec![index],
                    });
                }
            }
        } else {
            // 2. The records the pivot fits, and their children whose birth
            //    date is known.
            let query =
                NameQuery::new(pivot.family_name(), pivot.given_names(), pivot.usage_name());
            let candidates = if query.is_searchable() {
                directory
                    .guardian_candidates(&query)
                    .await
                    .map_err(Failure::directory)?
            } else {
                Vec::new()
            };
            for candidate in &candidates {
                let id = &candidate.person.id;
                if link.revoked.contains(id) || records.iter().any(|r| &r.person == id) {
                    continue;
                }
                let Some(score) = matching::assess(pivot, candidate) else {
                    continue;
                };
                let mut indices = Vec::new();
                for linked in directory.pupils_of(id).await.map_err(Failure::directory)? {
                    if linked.pupil.birth_date.is_some() {
                        indices.push(
                            self.challenge_child(directory, &linked, &mut children)
                                .await?,
                        );
                    }
                }
                if !indices.is_empty() {
                    records.push(ChallengeRecord {
                        person: id.clone(),
                        score,
                        children: indices,
                    });
                }
            }
        }
        let pupils: Vec<&PupilId> = children.iter().map(|c| &c.pupil).collect();
        let locked = !children.is_empty()
            && self
                .inner
                .lockout
                .is_locked(store, &sub_hash, &pupils)
                .await
                .map_err(Failure::store)?;
        if locked {
            self.inner.audit.record(&AuditEvent::LockedOut {
                sub_hash: sub_hash.clone(),
            });
        }
        if let Some(family) = linked.filter(|_| children.is_empty() || locked) {
            // Nothing new to ask, or it cannot be asked now: the children
            // linked before are not at stake.
            let mut record = record;
            record.family = Some(family);
            return self.start_session(headers, record, &return_to).await;
        }
        if children.is_empty() {
            return self
                .no_child(headers, record, pivot.sub(), &return_to)
                .await;
        }
        if locked {
            return self.locked_page(&sub_hash).await;
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
            records,
            children,
            expires_at: self
                .inner
                .clock
                .unix_seconds()
                .saturating_add(secs(timeout)),
            codes: None,
            extension,
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

    /// Adds `linked`'s pupil to the challenge's children once; returns its
    /// index.
    async fn challenge_child(
        &self,
        directory: &dyn Directory,
        linked: &LinkedPupil,
        children: &mut Vec<ChallengeChild>,
    ) -> Result<usize, Failure> {
        if let Some(i) = children.iter().position(|c| c.pupil == linked.pupil.id) {
            return Ok(i);
        }
        let school = match linked.pupil.school {
            Some(uai) => directory
                .school(&uai)
                .await
                .map_err(Failure::directory)?
                .map(|s| s.name),
            None => None,
        };
        children.push(ChallengeChild {
            pupil: linked.pupil.id.clone(),
            initial: initial(&linked.pupil.given_names),
            school: school.unwrap_or_else(|| "un établissement".to_owned()),
        });
        Ok(children.len() - 1)
    }

    /// The "contact the school" page, with a session without children: the
    /// same whatever the records hold.
    async fn no_child(
        &self,
        headers: &HeaderMap,
        mut record: SessionRecord,
        sub: &str,
        return_to: &str,
    ) -> Result<Response<Bytes>, Failure> {
        record.family = Some(
            FamilyClaims::guardian(record.provider.clone(), sub, Vec::new(), Vec::new())
                .with_policy(self.inner.act_for_policy),
        );
        let cookie = self.new_session(headers, record).await?;
        let mut response = pages::no_child_found(return_to);
        response.headers_mut().append(header::SET_COOKIE, cookie);
        Ok(response)
    }

    async fn locked_page(&self, sub_hash: &str) -> Result<Response<Bytes>, Failure> {
        let lock = self
            .inner
            .lockout
            .lock_duration(&*self.inner.store, sub_hash)
            .await
            .map_err(Failure::store)?;
        let minutes = lock.as_secs().div_ceil(60);
        let duration = if minutes >= 120 {
            format!("pendant {} heures", minutes.div_ceil(60))
        } else {
            format!("pendant {minutes} minutes")
        };
        let body = format!(
            "<p>Trop de réponses erronées ont été données. Par sécurité, le rattachement de vos \
             enfants est bloqué {duration}. Vous pourrez réessayer ensuite, ou \
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
        Ok(response)
    }

    async fn put_verification(
        &self,
        key_hash: &str,
        pending: &PendingVerification,
        ttl: Duration,
    ) -> Result<(), Failure> {
        let value =
            serde_json::to_vec(pending).map_err(|_| Failure::internal("pending verification"))?;
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
            .ok_or_else(|| {
                Failure::bad_request(EXPIRED_VERIFY, LoginFailure::MissingVerifyCookie)
            })?;
        let key_hash = sha256(browser);
        let bytes = self
            .inner
            .store
            .take_pending(&format!("{VERIFY_PREFIX}{key_hash}"))
            .await
            .map_err(Failure::store)?
            .ok_or_else(|| {
                Failure::bad_request(EXPIRED_VERIFY, LoginFailure::UnknownVerification)
            })?;
        let pending: PendingVerification = serde_json::from_slice(&bytes)
            .map_err(|_| Failure::internal("unreadable pending verification"))?;
        Ok((key_hash, pending))
    }

    /// Puts a taken verification back for the rest of its time.
    async fn put_back(&self, key_hash: &str, pending: &PendingVerification) -> Result<(), Failure> {
        let left = pending.expires_at - self.inner.clock.unix_seconds();
        if left <= 0 {
            return Err(Failure::bad_request(
                EXPIRED_VERIFY,
                LoginFailure::VerificationExpired,
            ));
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
        Ok(match &pending.codes {
            Some(codes) => self.code_page(StatusCode::OK, codes, None),
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
        codes: &PendingCodes,
        error: Option<&str>,
    ) -> Response<Bytes> {
        let action = format!("{}/verify", self.inner.base_path);
        let hints: Vec<String> = codes.sent.iter().map(|c| c.phone_hint.clone()).collect();
        pages::page(
            status,
            "Code de confirmation",
            &code_body(&action, &hints, error),
        )
    }

    /// `POST {base}/verify`: the answers (birth dates, or a one-time code).
    pub(super) async fn verify_answer(
        &self,
        request: &Request<Bytes>,
    ) -> Result<Response<Bytes>, Failure> {
        if !super::origin::is_same_origin(request.headers(), self.origin()) {
            return Err(Failure::bad_request(
                "Cette demande ne vient pas du service.",
                LoginFailure::CrossOrigin,
            ));
        }
        let Some(directory) = self.inner.directory.clone() else {
            return Err(Failure::unavailable(LoginFailure::NoDirectory));
        };
        let (key_hash, pending) = self.take_verification(request).await?;
        if pending.expires_at <= self.inner.clock.unix_seconds() {
            return Err(Failure::bad_request(
                EXPIRED_VERIFY,
                LoginFailure::VerificationExpired,
            ));
        }
        let sub_hash = sha256(&pending.sub);
        if pending.codes.is_some() {
            return self
                .check_code(request, &*directory, key_hash, pending, sub_hash)
                .await;
        }

        // Counted before anything is looked at, on what the counters return.
        let store = &*self.inner.store;
        let pupils: Vec<&PupilId> = pending.children.iter().map(|c| &c.pupil).collect();
        let attempts = match self
            .inner
            .lockout
            .admit(store, &sub_hash, &pupils)
            .await
            .map_err(Failure::store)?
        {
            Admission::Admitted(attempts) => attempts,
            Admission::Locked => {
                self.inner.audit.record(&AuditEvent::LockedOut {
                    sub_hash: sub_hash.clone(),
                });
                if pending.extension {
                    // The children linked before are not at stake.
                    return self
                        .finish_verification(request, &*directory, pending, Vec::new(), sub_hash)
                        .await;
                }
                return self.locked_page(&sub_hash).await;
            }
        };

        // The dates the school records now, then every answer checked.
        let answers = parse_answers(request.body(), pending.children.len());
        let mut inputs: Vec<ChildInput<'_>> = Vec::with_capacity(pending.children.len());
        for child in &pending.children {
            let known = directory
                .pupil(&child.pupil)
                .await
                .map_err(Failure::directory)?
                .and_then(|p| p.birth_date);
            inputs.push(ChildInput {
                pupil: &child.pupil,
                known,
            });
        }
        let records: Vec<RecordInput<'_>> = pending
            .records
            .iter()
            .map(|r| RecordInput {
                person: &r.person,
                score: r.score,
                children: r.children.clone(),
            })
            .collect();
        let outcome = decide(&records, &inputs, &answers);
        for &i in &outcome.not_mine {
            let child = &pending.children[i];
            for record in pending.records.iter().filter(|r| r.children.contains(&i)) {
                self.inner.audit.record(&AuditEvent::NotMyChild {
                    sub_hash: sub_hash.clone(),
                    person: record.person.clone(),
                    pupil: child.pupil.clone(),
                });
            }
        }
        drop(inputs);
        drop(records);
        if pending.extension && !outcome.not_mine.is_empty() {
            self.decline(&sub_hash, &pending, &outcome.not_mine).await?;
        }

        if outcome.confirmed.is_empty() {
            let persons: Vec<PersonId> = pending.records.iter().map(|r| r.person.clone()).collect();
            self.inner.audit.record(&AuditEvent::VerificationFailed {
                sub_hash: sub_hash.clone(),
                persons,
                failures: attempts.person(),
            });
            let locked = self
                .inner
                .lockout
                .failed(store, &sub_hash, &pupils, &attempts)
                .await
                .map_err(Failure::store)?;
            if locked {
                self.inner.audit.record(&AuditEvent::LockedOut {
                    sub_hash: sub_hash.clone(),
                });
                if pending.extension {
                    return self
                        .finish_verification(request, &*directory, pending, Vec::new(), sub_hash)
                        .await;
                }
                return self.locked_page(&sub_hash).await;
            }
            // Every child marked "not mine": counted as an attempt above,
            // and ends here with a session without children.
            if outcome.wrong.is_empty() {
                return self
                    .finish_verification(request, &*directory, pending, Vec::new(), sub_hash)
                    .await;
            }
            self.put_back(&key_hash, &pending).await?;
            return Ok(self.form_page(
                StatusCode::BAD_REQUEST,
                &pending,
                Some(
                    "Les dates indiquées ne correspondent pas aux informations de l'établissement. \
                     Vérifiez-les, ou cochez « Ce n'est pas mon enfant ».",
                ),
            ));
        }

        let now = self.inner.clock.unix_seconds();
        let policy_code = self.inner.notifier.is_some();
        let (settled, awaiting): (Vec<Confirmed>, Vec<Confirmed>) = outcome
            .confirmed
            .into_iter()
            .partition(|c| c.needs_code.is_none() && !policy_code);
        let settled: Vec<LinkedRecord> = settled
            .into_iter()
            .map(|c| LinkedRecord {
                export: directory
                    .export_of(c.person.source())
                    .map(|e| e.to_string()),
                person: c.person,
                pupils: c.pupils,
                verification: Verification::BirthDates,
                verified_at: now,
                declined: Vec::new(),
            })
            .collect();
        if awaiting.is_empty() {
            return self
                .finish_verification(request, &*directory, pending, settled, sub_hash)
                .await;
        }
        self.send_codes(
            request,
            &*directory,
            key_hash,
            pending,
            settled,
            awaiting,
            sub_hash,
        )
        .await
    }

    /// Some records need a one-time code: one code per phone the school
    /// recorded for them, never a phone two records that only a code can
    /// tell apart share, within the caps per login and per record per day.
    /// Records that cannot get a code are not linked.
    #[allow(clippy::too_many_arguments)]
    async fn send_codes(
        &self,
        request: &Request<Bytes>,
        directory: &dyn Directory,
        key_hash: String,
        mut pending: PendingVerification,
        settled: Vec<LinkedRecord>,
        awaiting: Vec<Confirmed>,
        sub_hash: String,
    ) -> Result<Response<Bytes>, Failure> {
        let mut groups: Vec<(String, Vec<Confirmed>)> = Vec::new();
        if self.inner.notifier.is_some() {
            for record in awaiting {
                let Some(person) = directory
                    .person(&record.person)
                    .await
                    .map_err(Failure::directory)?
                else {
                    continue;
                };
                let Some(phone) = person.phone(PhoneKind::Mobile) else {
                    continue;
                };
                let phone = phone.to_owned();
                match groups.iter_mut().find(|(p, _)| *p == phone) {
                    Some((_, group)) => group.push(record),
                    None => groups.push((phone, vec![record])),
                }
            }
        }
        // A phone shared by records of one pupil cannot tell them apart.
        groups.retain(|(_, group)| {
            !group.iter().enumerate().any(|(i, a)| {
                group[i + 1..]
                    .iter()
                    .any(|b| a.pupils.iter().any(|p| b.pupils.contains(p)))
            })
        });
        groups.truncate(CODES_PER_LOGIN);
        let mut sendable = Vec::with_capacity(groups.len());
        for (phone, group) in groups {
            let mut within_cap = true;
            for record in &group {
                let sent = self
                    .inner
                    .store
                    .increment_counter(&sms_counter(&record.person), DAY)
                    .await
                    .map_err(Failure::store)?;
                within_cap &= sent <= CODES_PER_RECORD_PER_DAY;
            }
            if within_cap {
                sendable.push((phone, group));
            } else {
                tracing::warn!("one-time code not sent: daily cap of a guardian record reached");
            }
        }
        let (Some(notifier), false) = (self.inner.notifier.clone(), sendable.is_empty()) else {
            if !settled.is_empty() {
                return self
                    .finish_verification(request, directory, pending, settled, sub_hash)
                    .await;
            }
            // The dates cannot tell who this is, and no code can: the
            // school must.
            let record = session_record(pending, self.inner.clock.unix_seconds());
            let return_to = record.1;
            let mut response = self
                .no_child(request.headers(), record.0, &record.2, &return_to)
                .await?;
            let clear = self.inner.login_attrs.clear(self.inner.verify_cookie);
            response.headers_mut().append(header::SET_COOKIE, clear);
            return Ok(response);
        };
        let mut sent = Vec::with_capacity(sendable.len());
        for (phone, group) in sendable {
            let code = six_digits(&*self.inner.random);
            send(&*notifier, &phone, &code).await?;
            let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
            let phone_hint: String = digits[digits.len().saturating_sub(2)..].iter().collect();
            sent.push(SentCode {
                hash: sha256(&format!("{key_hash}:{code}")),
                records: group.into_iter().map(|c| (c.person, c.pupils)).collect(),
                phone_hint,
            });
        }
        let now = self.inner.clock.unix_seconds();
        let codes = PendingCodes {
            sent,
            expires_at: now.saturating_add(CODE_VALIDITY),
            tries_left: CODE_TRIES,
            settled,
        };
        pending.expires_at = pending.expires_at.max(now.saturating_add(CODE_VALIDITY));
        let response = self.code_page(StatusCode::OK, &codes, None);
        pending.codes = Some(codes);
        self.put_back(&key_hash, &pending).await?;
        Ok(response)
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
        let Some(mut codes) = pending.codes.take() else {
            return Err(Failure::unavailable(LoginFailure::NoCodeAwaited));
        };
        let now = self.inner.clock.unix_seconds();
        if codes.expires_at <= now {
            return Err(Failure::bad_request(
                "Le code a expiré. Veuillez vous reconnecter pour en recevoir un nouveau.",
                LoginFailure::CodeExpired,
            ));
        }
        let typed = url::form_urlencoded::parse(request.body())
            .take(8)
            .find(|(k, _)| k == "code")
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default();
        let typed_hash = sha256(&format!("{key_hash}:{typed}"));
        // Every code compared, in constant time, before any decision.
        let matches: Vec<bool> = codes
            .sent
            .iter()
            .map(|c| super::constant_time_eq(typed_hash.as_bytes(), c.hash.as_bytes()))
            .collect();
        if let Some(i) = matches.iter().position(|&m| m) {
            let mut records = std::mem::take(&mut codes.settled);
            for (person, pupils) in codes.sent.swap_remove(i).records {
                records.push(LinkedRecord {
                    export: directory.export_of(person.source()).map(|e| e.to_string()),
                    person,
                    pupils,
                    verification: Verification::BirthDatesAndOneTimeCode,
                    verified_at: now,
                    declined: Vec::new(),
                });
            }
            return self
                .finish_verification(request, directory, pending, records, sub_hash)
                .await;
        }
        codes.tries_left = codes.tries_left.saturating_sub(1);
        let failures = self
            .inner
            .lockout
            .code_failed(&*self.inner.store, &sub_hash)
            .await
            .map_err(Failure::store)?;
        let persons: Vec<PersonId> = codes
            .sent
            .iter()
            .flat_map(|c| c.records.iter().map(|(p, _)| p.clone()))
            .collect();
        self.inner.audit.record(&AuditEvent::VerificationFailed {
            sub_hash: sub_hash.clone(),
            persons,
            failures,
        });
        if codes.tries_left == 0 {
            if !codes.settled.is_empty() {
                let settled = std::mem::take(&mut codes.settled);
                return self
                    .finish_verification(request, directory, pending, settled, sub_hash)
                    .await;
            }
            return Err(Failure::bad_request(
                "Le code saisi n'est pas le bon. Veuillez vous reconnecter pour en recevoir un nouveau.",
                LoginFailure::NoCodeTryLeft,
            ));
        }
        let response = self.code_page(
            StatusCode::BAD_REQUEST,
            &codes,
            Some("Ce code n'est pas le bon. Vérifiez-le et saisissez-le à nouveau."),
        );
        pending.codes = Some(codes);
        self.put_back(&key_hash, &pending).await?;
        Ok(response)
    }

    /// Children added to a linked record that the parent says are not
    /// theirs: kept as declined in the link, so that they are not asked
    /// about again (the school must correct its records).
    async fn decline(
        &self,
        sub_hash: &str,
        pending: &PendingVerification,
        not_mine: &[usize],
    ) -> Result<(), Failure> {
        let store = &*self.inner.store;
        let Some(mut link) = link::load(store, sub_hash).await.map_err(Failure::store)? else {
            return Ok(());
        };
        for record in &pending.records {
            let Some(linked) = link.records.iter_mut().find(|r| r.person == record.person) else {
                continue;
            };
            for &i in not_mine.iter().filter(|i| record.children.contains(i)) {
                let pupil = &pending.children[i].pupil;
                if !linked.declined.contains(pupil) {
                    linked.declined.push(pupil.clone());
                }
            }
        }
        link::save(store, sub_hash, &link)
            .await
            .map_err(Failure::store)
    }

    /// Stores the confirmed records in the person's link, creates the
    /// session, sends the browser on.
    async fn finish_verification(
        &self,
        request: &Request<Bytes>,
        directory: &dyn Directory,
        pending: PendingVerification,
        confirmed: Vec<LinkedRecord>,
        sub_hash: String,
    ) -> Result<Response<Bytes>, Failure> {
        let store = &*self.inner.store;
        let mut link = link::load(store, &sub_hash)
            .await
            .map_err(Failure::store)?
            .unwrap_or_default();
        if !confirmed.is_empty() {
            let persons: Vec<PersonId> = confirmed.iter().map(|r| r.person.clone()).collect();
            let pupils: Vec<PupilId> = confirmed
                .iter()
                .flat_map(|r| r.pupils.iter().cloned())
                .collect();
            for record in confirmed {
                link.confirm(record);
            }
            link::save(store, &sub_hash, &link)
                .await
                .map_err(Failure::store)?;
            let pupil_refs: Vec<&PupilId> = pupils.iter().collect();
            self.inner
                .lockout
                .succeeded(store, &sub_hash, &pupil_refs)
                .await
                .map_err(Failure::store)?;
            self.inner.audit.record(&AuditEvent::VerificationSucceeded {
                sub_hash: sub_hash.clone(),
                persons,
            });
        }
        let (family, _) = self
            .linked_family(directory, &pending.provider, &pending.sub, &sub_hash, link)
            .await?;
        let (mut record, return_to, _) = session_record(pending, self.inner.clock.unix_seconds());
        record.family = Some(family);
        let mut response = self
            .start_session(request.headers(), record, &return_to)
            .await?;
        let clear = self.inner.login_attrs.clear(self.inner.verify_cookie);
        response.headers_mut().append(header::SET_COOKIE, clear);
        Ok(response)
    }

    /// Undoes every verified link to the guardian record `person`, at a
    /// school's request (the record is not this person's, or its holder
    /// lost their rights): the record's children leave the family claims
    /// of every session linked to it at their next refresh (within a
    /// minute), and the challenge never links that record to those persons
    /// again. Returns how many persons were linked to it.
    pub async fn revoke_guardian_record(&self, person: &PersonId) -> Result<usize, StoreError> {
        let now = self.inner.clock.unix_seconds();
        let revoked = link::revoke_person(&*self.inner.store, person, now).await?;
        tracing::info!(%person, persons = revoked, "verified links to a guardian record revoked");
        Ok(revoked)
    }

    /// Forgets the verified link of the FranceConnect subject `sub` (the
    /// person's request, or an operator's): their sessions lose the children
    /// at their next refresh, and their next login asks the challenge
    /// again. Records a school revoked stay revoked. Returns whether there
    /// was a link.
    pub async fn forget_link(&self, sub: &str) -> Result<bool, StoreError> {
        link::forget(&*self.inner.store, &sha256(sub)).await
    }

    /// `GET {base}/jwks`: the service's public keys. The key of family
    /// assertions, and for each provider that needs them (FranceConnect+),
    /// the `private_key_jwt` client key and the keys tokens are encrypted to
    /// (`use: enc`): this is the `jwks_uri` registered with the provider.
    pub(super) fn jwks(&self) -> Response<Bytes> {
        let mut keys: Vec<serde_json::Value> = self
            .inner
            .assertion_key
            .iter()
            .map(|key| key.verifying_key().to_jwk().into())
            .collect();
        for upstream in &self.inner.upstreams {
            keys.extend(upstream.config.published_keys().into_iter().map(Into::into));
        }
        if keys.is_empty() {
            return pages::page(StatusCode::NOT_FOUND, "Page introuvable", "");
        }
        let jwks = serde_json::json!({ "keys": keys }).to_string();
        let mut response = Response::new(Bytes::from(jwks));
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
    /// [`FamilyClaims`]). Other components check it offline with
    /// [`AssertionVerifier`](crate::filiation::AssertionVerifier) against
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
        mint_assertion(
            key,
            self.origin(),
            audience,
            family,
            self.inner.clock.unix_seconds(),
            ttl,
        )
    }
}

/// The session record a pending verification was holding, with its
/// `return_to` and `sub`.
fn session_record(pending: PendingVerification, now: i64) -> (SessionRecord, String, String) {
    (
        SessionRecord {
            provider: pending.provider,
            kind: pending.kind,
            claims: pending.claims,
            acr: pending.acr,
            auth_time: pending.auth_time,
            created_at: now,
            id_token: pending.id_token,
            family: None,
        },
        pending.return_to,
        pending.sub,
    )
}

async fn send(notifier: &dyn Notifier, phone: &str, code: &str) -> Result<(), Failure> {
    notifier.send_code(phone, code).await.map_err(|e| {
        tracing::error!(error = %e, "one-time code not sent");
        Failure::unavailable(LoginFailure::Notifier)
    })
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}
