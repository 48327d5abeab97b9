//! Who may see what: the decisions every framework adapter makes, in one
//! place, so that an axum extractor and an actix-web extractor cannot drift
//! apart.
//!
//! An adapter's middleware calls [`RequestAccess::resolve`] once per
//! request and leaves the result in the request's extensions; its
//! extractors then ask it for [`user`](RequestAccess::user),
//! [`optional_user`](RequestAccess::optional_user) or
//! [`pupil`](RequestAccess::pupil), and on refusal send the [`Refusal`]'s
//! `http::Response`, converted to the framework's type.
//!
//! Pupils are named in URLs by [`PupilId::to_url_segment`]: an opaque,
//! URL-safe segment that no framework decodes differently.

use std::fmt;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, Method, Response, StatusCode, header};

use super::{Gateway, Session, origin, pages, sha256};
use crate::directory::PupilId;
use crate::filiation::PupilDenied;
// The rule lives with the claims it reads; re-exported here, where the
// adapters have always found it.
pub use crate::filiation::{PupilGrant, PupilRight, Relation};

/// The name of the path parameter that holds the pupil of a route, in
/// every adapter: routes are written `/eleves/{pupil}`, the segment by
/// [`PupilId::to_url_segment`].
pub const PUPIL_PARAM: &str = "pupil";

/// The request headers [`RequestAccess::resolve`] reads, and the only ones:
/// an adapter whose framework has its own header types converts these.
pub const RESOLVE_HEADERS: [HeaderName; 5] = [
    header::COOKIE,
    header::ORIGIN,
    origin::SEC_FETCH_SITE,
    header::UPGRADE,
    header::CONNECTION,
];

/// The largest body an adapter passes to [`Gateway::handle`]: the
/// gateway's forms are a few hundred bytes.
pub const MAX_GATEWAY_BODY: usize = 64 * 1024;

/// The answer to a request for one of the gateway's routes whose body is
/// larger than [`MAX_GATEWAY_BODY`]: a 413, without calling the gateway.
pub fn payload_too_large() -> Response<Bytes> {
    pages::page(
        StatusCode::PAYLOAD_TOO_LARGE,
        "Requête trop volumineuse",
        "",
    )
}

/// What to answer a request that needs a user when there is none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum WhenAnonymous {
    /// Send the browser to the login, then back to the page (303): for
    /// pages.
    #[default]
    RedirectToLogin,
    /// `401 Unauthorized`: for APIs called by scripts.
    Unauthorized,
}

/// Why a request was refused. The response an adapter sends is
/// [`RequestAccess::refusal`]'s; this type is for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Denied {
    /// Nobody is logged in.
    #[error("no session")]
    Anonymous,
    /// The session store could not be reached: the user may well be logged
    /// in, so this is not treated as anonymous.
    #[error("the session store is unavailable")]
    Unavailable,
    /// The path's pupil segment does not name a pupil.
    #[error("the path does not name a pupil")]
    NotAPupil,
    /// The session holds no verified link to the pupil
    /// ([`PupilDenied::NotTheirPupil`]).
    #[error("the person may not act for this pupil")]
    NotTheirPupil,
    /// The person is linked to the pupil, but the service's
    /// [`ActForPolicy`](crate::filiation::ActForPolicy) does not cover the
    /// link ([`PupilDenied::NotCoveredByPolicy`]).
    #[error("the act-for policy does not cover the person's link to this pupil")]
    NotCoveredByPolicy,
    /// The person is linked to the pupil without legal authority
    /// ([`PupilDenied::NoLegalAuthority`]).
    #[error("the person does not hold legal authority over this pupil")]
    NoLegalAuthority,
    /// A state-changing request (`POST`, `PUT`, `DELETE`...) or a
    /// connection upgrade (a WebSocket handshake) from a page of another
    /// origin: its session is not used (see [`RequestAccess::resolve`]).
    #[error("a state-changing request or an upgrade from another origin")]
    CrossOrigin,
    /// The adapter's middleware did not run before its extractor.
    #[error("the session middleware is not installed on this route")]
    NotResolved,
}

impl From<PupilDenied> for Denied {
    fn from(denied: PupilDenied) -> Self {
        match denied {
            PupilDenied::NotTheirPupil => Self::NotTheirPupil,
            PupilDenied::NotCoveredByPolicy => Self::NotCoveredByPolicy,
            PupilDenied::NoLegalAuthority => Self::NoLegalAuthority,
        }
    }
}

/// A request allowed for a pupil: the user, and how they stand to the
/// pupil. What the adapters' `ForPupil` and `WithLegalAuthority`
/// extractors hold.
#[derive(Debug, Clone)]
pub struct PupilAccess {
    session: Session,
    grant: PupilGrant,
}

impl PupilAccess {
    /// The logged-in user.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// How the user stands to the pupil.
    pub fn grant(&self) -> &PupilGrant {
        &self.grant
    }

    /// The pupil named by the path.
    pub fn pupil(&self) -> &PupilId {
        self.grant.pupil()
    }

    /// The session and the grant, owned.
    pub fn into_parts(self) -> (Session, PupilGrant) {
        (self.session, self.grant)
    }
}

/// Decides whether `session` may exercise `right` over `pupil`, from the
/// family claims established at login (nothing else: no directory lookup,
/// so the decision is as fast as a hash comparison and cannot see records
/// loaded after the login). The rule is [`FamilyClaims::authorize`]'s, the
/// same as [`FamilyClaims::may_act_for`]'s and
/// [`FamilyClaims::has_legal_authority_over`]'s; a session without family
/// claims acts for nobody.
///
/// [`FamilyClaims::authorize`]: crate::filiation::FamilyClaims::authorize
/// [`FamilyClaims::may_act_for`]: crate::filiation::FamilyClaims::may_act_for
/// [`FamilyClaims::has_legal_authority_over`]: crate::filiation::FamilyClaims::has_legal_authority_over
pub fn authorize_pupil(
    session: &Session,
    pupil: &PupilId,
    right: PupilRight,
) -> Result<PupilGrant, Denied> {
    let family = session.family().ok_or(Denied::NotTheirPupil)?;
    Ok(family.authorize(pupil, right)?)
}

/// A request's session, resolved once by an adapter's middleware and kept
/// in the request's extensions for its extractors. Cheap to clone.
#[derive(Clone)]
pub struct RequestAccess {
    gateway: Gateway,
    session: Result<Option<Session>, Denied>,
    when_anonymous: WhenAnonymous,
}

impl RequestAccess {
    /// Reads the request's session (one store read and touch). A store
    /// failure is kept, and answered 503 by the extractors that need the
    /// session; pages that do not need it still work.
    ///
    /// A state-changing request (any `method` but `GET`, `HEAD`, `OPTIONS`,
    /// `TRACE`) or a connection upgrade (a WebSocket handshake: `Upgrade`,
    /// or `Connection: upgrade`) that the browser says comes from another
    /// origin (`Sec-Fetch-Site`, else `Origin`) gets no session, so that no
    /// other site, even a sibling subdomain that `SameSite` lets through,
    /// can act in the user's name or open a channel in it: [`user`](Self::user) and
    /// [`pupil`](Self::pupil) refuse it with a 403
    /// ([`Denied::CrossOrigin`]), [`optional_user`](Self::optional_user)
    /// sees nobody. The service's own forms pass, as long as its pages do
    /// not send `Referrer-Policy: no-referrer` to browsers without
    /// `Sec-Fetch-Site` (they would then send `Origin: null`).
    pub async fn resolve(
        gateway: &Gateway,
        method: &Method,
        headers: &HeaderMap,
        when_anonymous: WhenAnonymous,
    ) -> Self {
        if origin::needs_same_origin(method, headers)
            && !origin::is_same_origin(headers, gateway.origin())
        {
            tracing::info!(
                %method,
                upgrade = origin::is_upgrade(headers),
                "state-changing request or upgrade from another origin: no session"
            );
            return Self {
                gateway: gateway.clone(),
                session: Err(Denied::CrossOrigin),
                when_anonymous,
            };
        }
        let session = match gateway.session(headers).await {
            Ok(session) => Ok(session),
            Err(e) => {
                tracing::error!(error = %e, "session store unavailable");
                Err(Denied::Unavailable)
            }
        };
        Self {
            gateway: gateway.clone(),
            session,
            when_anonymous,
        }
    }

    /// The gateway the session was read from.
    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// The logged-in user, or the refusal to send (login redirect or 401,
    /// 503 when the store is down). `target` is the request's path and
    /// query: where the login sends the user back.
    pub fn user(&self, target: &str) -> Result<&Session, Refusal> {
        match &self.session {
            Ok(Some(session)) => Ok(session),
            Ok(None) => Err(self.refusal(&Denied::Anonymous, target)),
            Err(denied) => Err(self.refusal(denied, target)),
        }
    }

    /// The logged-in user if any; only a store failure is refused (503).
    /// A state-changing request from another origin has nobody.
    pub fn optional_user(&self, target: &str) -> Result<Option<&Session>, Refusal> {
        match &self.session {
            Ok(session) => Ok(session.as_ref()),
            Err(Denied::CrossOrigin) => Ok(None),
            Err(denied) => Err(self.refusal(denied, target)),
        }
    }

    /// The user and the pupil named by `segment` (a path segment written
    /// by [`PupilId::to_url_segment`]) if the user may exercise `right`
    /// over them; otherwise the refusal: login or 401 for nobody, 404 for a
    /// segment that names no pupil, 403 for somebody else's pupil.
    pub fn pupil(
        &self,
        target: &str,
        segment: &str,
        right: PupilRight,
    ) -> Result<PupilAccess, Refusal> {
        let session = self.user(target)?;
        let decision = PupilId::from_url_segment(segment)
            .map_err(|_| Denied::NotAPupil)
            .and_then(|pupil| authorize_pupil(session, &pupil, right));
        match decision {
            Ok(grant) => Ok(PupilAccess {
                session: session.clone(),
                grant,
            }),
            Err(denied) => {
                // The `sub` hashed, as in the audit events: a pseudonymous id is
                // still personal data.
                let sub_hash = sha256(session.identity().sub());
                tracing::info!(reason = %denied, %sub_hash, "pupil access refused");
                Err(self.refusal(&denied, target))
            }
        }
    }

    /// The refusal of a request for `target` (its path and query), as the
    /// gateway's pages look: French, with the security headers.
    pub fn refusal(&self, denied: &Denied, target: &str) -> Refusal {
        Refusal::new(&self.gateway, denied.clone(), self.when_anonymous, target)
    }
}

impl fmt::Debug for RequestAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestAccess")
            .field("session", &self.session)
            .field("when_anonymous", &self.when_anonymous)
            .finish_non_exhaustive()
    }
}

/// A refused request: why, and the response to send (boxed: refusals are
/// the rare path, and a `Result` carrying a whole response would weigh on
/// every allowed request).
#[derive(Debug)]
pub struct Refusal {
    denied: Denied,
    response: Box<Response<Bytes>>,
}

impl Refusal {
    /// The refusal for `denied` of a request for `target` (its path and
    /// query: where a login sends the user back; `/` when empty).
    pub fn new(
        gateway: &Gateway,
        denied: Denied,
        when_anonymous: WhenAnonymous,
        target: &str,
    ) -> Self {
        let response = Box::new(refusal_response(gateway, &denied, when_anonymous, target));
        Self { denied, response }
    }

    /// The refusal of an extractor that found no [`RequestAccess`] in its
    /// request ([`Denied::NotResolved`]: the adapter's middleware is not
    /// installed on the route, a wiring mistake; logged, answered 500).
    /// Needs no gateway, since such a route may have none at hand.
    pub fn not_resolved() -> Self {
        tracing::error!("an educonnect extractor ran without the session middleware on its route");
        Self {
            denied: Denied::NotResolved,
            response: Box::new(pages::page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Erreur interne",
                "",
            )),
        }
    }

    /// Why.
    pub fn reason(&self) -> &Denied {
        &self.denied
    }

    /// The response to send.
    pub fn into_response(self) -> Response<Bytes> {
        *self.response
    }
}

fn refusal_response(
    gateway: &Gateway,
    denied: &Denied,
    when_anonymous: WhenAnonymous,
    target: &str,
) -> Response<Bytes> {
    match denied {
        Denied::Anonymous => match when_anonymous {
            WhenAnonymous::RedirectToLogin => {
                let return_to = if target.is_empty() { "/" } else { target };
                pages::redirect(&gateway.login_path(return_to))
            }
            WhenAnonymous::Unauthorized => {
                let login = pages::escape(&gateway.login_path("/"));
                pages::page(
                    StatusCode::UNAUTHORIZED,
                    "Connexion requise",
                    &format!(
                        "<p>Vous devez être connecté pour accéder à cette page.</p>\n\
                         <p><a class=\"button\" href=\"{login}\">Se connecter</a></p>"
                    ),
                )
            }
        },
        Denied::Unavailable => pages::page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Service momentanément indisponible",
            "<p>Le service est momentanément indisponible. Veuillez réessayer dans quelques \
             instants.</p>",
        ),
        Denied::NotAPupil => pages::page(StatusCode::NOT_FOUND, "Page introuvable", ""),
        Denied::NotTheirPupil => pages::page(
            StatusCode::FORBIDDEN,
            "Accès refusé",
            "<p>Vous n'êtes pas autorisé à consulter les informations de cet élève.</p>\n\
             <p><a class=\"button secondary\" href=\"/\">Retour à l'accueil</a></p>",
        ),
        Denied::NotCoveredByPolicy => pages::page(
            StatusCode::FORBIDDEN,
            "Accès refusé",
            "<p>Votre lien avec cet élève, tel que l'établissement l'a enregistré, ne permet \
             pas de consulter ses informations sur ce service.</p>\n\
             <p><a class=\"button secondary\" href=\"/\">Retour à l'accueil</a></p>",
        ),
        Denied::NoLegalAuthority => pages::page(
            StatusCode::FORBIDDEN,
            "Accès refusé",
            "<p>Cette démarche est réservée aux représentants légaux de l'élève.</p>\n\
             <p><a class=\"button secondary\" href=\"/\">Retour à l'accueil</a></p>",
        ),
        Denied::CrossOrigin => pages::page(
            StatusCode::FORBIDDEN,
            "Demande refusée",
            "<p>Cette demande ne vient pas des pages du service. Revenez sur le service et \
             recommencez.</p>\n\
             <p><a class=\"button secondary\" href=\"/\">Retour à l'accueil</a></p>",
        ),
        Denied::NotResolved => Refusal::not_resolved().into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::{Relationship, RelationshipCode, SourceId};
    use crate::filiation::{ActForPolicy, Child, FamilyClaims, PupilSelf, Verification};
    use crate::flow::session::SessionRecord;

    fn pupil(local: &str) -> PupilId {
        PupilId::new(SourceId::aaf("14").unwrap(), local).unwrap()
    }

    fn session(family: FamilyClaims) -> Session {
        let record = SessionRecord {
            provider: "franceconnect".into(),
            kind: "oidc".into(),
            claims: serde_json::json!({"sub": "s-1"})
                .as_object()
                .unwrap()
                .clone(),
            acr: None,
            auth_time: None,
            created_at: 0,
            id_token: String::new(),
            family: Some(family),
        };
        record.into_session().unwrap()
    }

    fn child(local: &str, legal_authority: bool) -> Child {
        Child::new(
            pupil(local),
            RelationshipCode::from_aaf(10).unwrap(),
            legal_authority,
            Verification::BirthDates,
        )
    }

    #[test]
    fn a_guardian_acts_for_their_children_only() {
        let parent = session(
            FamilyClaims::guardian(
                "franceconnect",
                "s-1",
                Vec::new(),
                [child("E1", true), child("E2", false)],
            )
            .with_policy(ActForPolicy::FamilyMembers),
        );
        let grant = authorize_pupil(&parent, &pupil("E1"), PupilRight::LegalAuthority).unwrap();
        assert_eq!(grant.pupil(), &pupil("E1"));
        assert!(matches!(
            grant.relation(),
            Relation::Guardian {
                legal_authority: true,
                ..
            }
        ));
        assert!(authorize_pupil(&parent, &pupil("E2"), PupilRight::ActFor).is_ok());
        assert_eq!(
            authorize_pupil(&parent, &pupil("E2"), PupilRight::LegalAuthority),
            Err(Denied::NoLegalAuthority)
        );
        assert_eq!(
            authorize_pupil(&parent, &pupil("E3"), PupilRight::ActFor),
            Err(Denied::NotTheirPupil)
        );
        // Same local id in another academy: another pupil.
        let elsewhere = PupilId::new(SourceId::aaf("25").unwrap(), "E1").unwrap();
        assert_eq!(
            authorize_pupil(&parent, &elsewhere, PupilRight::ActFor),
            Err(Denied::NotTheirPupil)
        );
    }

    #[test]
    fn a_pupil_reads_their_own_records_but_decides_nothing() {
        let own = PupilSelf::new(Some(pupil("E1")), None, None);
        let me = session(FamilyClaims::of_pupil("educonnect", "s-1", own));
        let grant = authorize_pupil(&me, &pupil("E1"), PupilRight::ActFor).unwrap();
        assert_eq!(grant.relation(), &Relation::Themselves);
        assert_eq!(
            authorize_pupil(&me, &pupil("E1"), PupilRight::LegalAuthority),
            Err(Denied::NoLegalAuthority)
        );
        assert_eq!(
            authorize_pupil(&me, &pupil("E2"), PupilRight::ActFor),
            Err(Denied::NotTheirPupil)
        );
    }

    /// Finding 6 and the one rule: the adapters' decision
    /// ([`authorize_pupil`]) and the claims' own answers agree on every
    /// case, under every policy.
    #[test]
    fn authorize_pupil_and_family_claims_agree_on_every_case() {
        let link = |local: &str, relationship: Relationship, legal: bool| {
            Child::new(
                pupil(local),
                relationship.into(),
                legal,
                Verification::EduConnect,
            )
        };
        for policy in [
            ActForPolicy::LegalGuardians,
            ActForPolicy::FamilyMembers,
            ActForPolicy::AllContacts,
        ] {
            let guardian = FamilyClaims::guardian(
                "educonnect",
                "s-1",
                Vec::new(),
                [
                    link("LEGAL", Relationship::Mother, true),
                    link("GRANDMOTHER", Relationship::GrandParent, false),
                    link("CONTACT", Relationship::ChildMinder, false),
                ],
            )
            .with_policy(policy);
            let own = PupilSelf::new(Some(pupil("ME")), None, None);
            let me = FamilyClaims::of_pupil("educonnect", "s-2", own).with_policy(policy);
            for family in [guardian, me] {
                let session = session(family.clone());
                for local in ["LEGAL", "GRANDMOTHER", "CONTACT", "ME", "OTHER"] {
                    let id = pupil(local);
                    let what = format!("{policy:?} {:?} {local}", family.profile());
                    assert_eq!(
                        authorize_pupil(&session, &id, PupilRight::ActFor).is_ok(),
                        family.may_act_for(&id),
                        "act for: {what}"
                    );
                    assert_eq!(
                        authorize_pupil(&session, &id, PupilRight::LegalAuthority).is_ok(),
                        family.has_legal_authority_over(&id),
                        "legal authority: {what}"
                    );
                    for right in [PupilRight::ActFor, PupilRight::LegalAuthority] {
                        assert_eq!(
                            authorize_pupil(&session, &id, right),
                            family.authorize(&id, right).map_err(Denied::from),
                            "{right:?}: {what}"
                        );
                    }
                }
                // A pupil acts for themselves, and for nobody else.
                let themselves = family.profile() == crate::provider::Profile::Pupil;
                assert_eq!(family.may_act_for(&pupil("ME")), themselves, "{policy:?}");
                assert!(!family.may_act_for(&pupil("OTHER")), "{policy:?}");
            }
        }
    }

    #[test]
    fn finding_6_a_contact_does_not_act_for_a_pupil_by_default() {
        let contact = Child::new(
            pupil("E1"),
            Relationship::ChildMinder.into(),
            false,
            Verification::BirthDates,
        );
        let grandmother = Child::new(
            pupil("E2"),
            Relationship::GrandParent.into(),
            false,
            Verification::BirthDates,
        );
        let family =
            FamilyClaims::guardian("franceconnect", "s-1", Vec::new(), [contact, grandmother]);
        let by_default = session(family.clone());
        for local in ["E1", "E2"] {
            assert_eq!(
                authorize_pupil(&by_default, &pupil(local), PupilRight::ActFor),
                Err(Denied::NotCoveredByPolicy),
                "{local}"
            );
        }
        let family_members = session(family.clone().with_policy(ActForPolicy::FamilyMembers));
        assert_eq!(
            authorize_pupil(&family_members, &pupil("E1"), PupilRight::ActFor),
            Err(Denied::NotCoveredByPolicy)
        );
        assert!(authorize_pupil(&family_members, &pupil("E2"), PupilRight::ActFor).is_ok());
        let all = session(family.with_policy(ActForPolicy::AllContacts));
        assert!(authorize_pupil(&all, &pupil("E1"), PupilRight::ActFor).is_ok());
        assert_eq!(
            authorize_pupil(&all, &pupil("E1"), PupilRight::LegalAuthority),
            Err(Denied::NoLegalAuthority)
        );
    }

    #[test]
    fn finding_12_debug_of_a_session_redacts_the_sub() {
        let parent = session(FamilyClaims::guardian(
            "franceconnect",
            "s-1-raw-provider-subject",
            Vec::new(),
            [child("E1", true)],
        ));
        let shown = format!("{parent:?} {parent:#?}");
        assert!(!shown.contains("s-1"), "{shown}");
        assert!(shown.contains("sha256:"), "{shown}");
    }

    #[test]
    fn a_missing_middleware_is_a_500_without_a_gateway() {
        let refusal = Refusal::not_resolved();
        assert_eq!(refusal.reason(), &Denied::NotResolved);
        let response = refusal.into_response();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            response
                .headers()
                .contains_key(http::header::CONTENT_SECURITY_POLICY)
        );
    }

    #[test]
    fn url_segments_round_trip_and_refuse_garbage() {
        for local in ["E1", "a/b c", "é%2F..", &"x".repeat(256)] {
            let id = PupilId::new(SourceId::parse("siecle:0350001A/x").unwrap(), local).unwrap();
            let segment = id.to_url_segment();
            assert!(
                segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            assert_eq!(PupilId::from_url_segment(&segment).unwrap(), id);
        }
        for bad in ["", "!!", "YWFmOjE0", &"A".repeat(2000), "YWFmOjE0IA"] {
            assert!(PupilId::from_url_segment(bad).is_err(), "{bad}");
        }
    }
}
