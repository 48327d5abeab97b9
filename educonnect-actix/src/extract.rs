//! The extractors: each asks the [`RequestAccess`] left by
//! [`SessionMiddleware`](crate::SessionMiddleware) and converts its answer.

use std::fmt;
use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use educonnect_core::flow::Session;
use educonnect_core::flow::access::{Denied, PupilAccess, PupilRight, Refusal, RequestAccess};

use crate::convert::Parts;

/// The path parameter [`ForPupil`] and [`WithLegalAuthority`] read: a
/// route such as `/eleves/{pupil}/livret`.
pub use educonnect_core::flow::access::PUPIL_PARAM;

/// The logged-in user. Without one, the request is refused as the
/// middleware was told ([`WhenAnonymous`]): a redirect to the login, or
/// `401`; `503` when the session store is down.
///
/// [`WhenAnonymous`]: educonnect_core::flow::access::WhenAnonymous
#[derive(Debug, Clone)]
pub struct CurrentUser(pub Session);

/// The logged-in user, if any. Only refused (`503`) when the session store
/// is down: the user may well be logged in.
#[derive(Debug, Clone)]
pub struct OptionalUser(pub Option<Session>);

/// The logged-in user and the pupil named by the route's `{pupil}` path
/// parameter, when the user may act for that pupil
/// ([`FamilyClaims::authorize`]: by default a legal guardian's verified
/// link, wider under the gateway's [`ActForPolicy`]; or the pupil
/// themselves). Otherwise: login (or `401`) for nobody, `404`
/// for a segment that names no pupil (or a route without a `{pupil}`
/// parameter), `403` for somebody else's pupil.
///
/// Dereferences to [`PupilAccess`]: `session()`, `grant()`, `pupil()`.
///
/// [`FamilyClaims::authorize`]: educonnect_core::filiation::FamilyClaims::authorize
/// [`ActForPolicy`]: educonnect_core::filiation::ActForPolicy
#[derive(Debug, Clone)]
pub struct ForPupil(PupilAccess);

/// As [`ForPupil`], when the user also holds legal authority over the
/// pupil: for decisions and signed requests. A guardian without legal
/// authority, and a pupil themselves, get `403`.
#[derive(Debug, Clone)]
pub struct WithLegalAuthority(PupilAccess);

macro_rules! pupil_access {
    ($type:ident) => {
        impl $type {
            /// The access, owned.
            pub fn into_inner(self) -> PupilAccess {
                self.0
            }
        }

        impl std::ops::Deref for $type {
            type Target = PupilAccess;

            fn deref(&self) -> &PupilAccess {
                &self.0
            }
        }
    };
}

pupil_access!(ForPupil);
pupil_access!(WithLegalAuthority);

/// A refused request, as an actix error whose response is the core's
/// refusal, unchanged: status, headers (`Location`, security headers),
/// French page.
pub struct Rejection {
    reason: Denied,
    parts: Option<Parts>,
}

impl Rejection {
    /// Why the request was refused.
    pub fn reason(&self) -> &Denied {
        &self.reason
    }
}

impl From<Refusal> for Rejection {
    fn from(refusal: Refusal) -> Self {
        let reason = refusal.reason().clone();
        Self {
            reason,
            parts: Parts::from_core(refusal.into_response()),
        }
    }
}

impl fmt::Debug for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rejection")
            .field("reason", &self.reason)
            .field("status", &self.status_code())
            .finish()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "request refused: {}", self.reason)
    }
}

impl std::error::Error for Rejection {}

impl ResponseError for Rejection {
    fn status_code(&self) -> StatusCode {
        self.parts
            .as_ref()
            .map_or(StatusCode::INTERNAL_SERVER_ERROR, Parts::status)
    }

    fn error_response(&self) -> HttpResponse {
        match &self.parts {
            Some(parts) => parts.to_response(),
            None => HttpResponse::InternalServerError().finish(),
        }
    }
}

/// Runs `decide` on the request's [`RequestAccess`]; without one, the
/// middleware is missing ([`Denied::NotResolved`], 500).
fn with_access<T>(
    request: &HttpRequest,
    decide: impl FnOnce(&RequestAccess, &str) -> Result<T, Refusal>,
) -> Result<T, Rejection> {
    let extensions = request.extensions();
    let Some(access) = extensions.get::<RequestAccess>() else {
        return Err(Refusal::not_resolved().into());
    };
    // The path and query, where a login sends the user back.
    let target = request.uri().path_and_query().map_or("/", |p| p.as_str());
    decide(access, target).map_err(Rejection::from)
}

fn pupil(request: &HttpRequest, right: PupilRight) -> Result<PupilAccess, Rejection> {
    let segment = request.match_info().get(PUPIL_PARAM).unwrap_or("");
    with_access(request, |access, target| {
        access.pupil(target, segment, right)
    })
}

impl FromRequest for CurrentUser {
    type Error = Rejection;
    type Future = Ready<Result<Self, Rejection>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(with_access(request, |access, target| {
            access.user(target).map(|session| Self(session.clone()))
        }))
    }
}

impl FromRequest for OptionalUser {
    type Error = Rejection;
    type Future = Ready<Result<Self, Rejection>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(with_access(request, |access, target| {
            access
                .optional_user(target)
                .map(|session| Self(session.cloned()))
        }))
    }
}

impl FromRequest for ForPupil {
    type Error = Rejection;
    type Future = Ready<Result<Self, Rejection>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(pupil(request, PupilRight::ActFor).map(Self))
    }
}

impl FromRequest for WithLegalAuthority {
    type Error = Rejection;
    type Future = Ready<Result<Self, Rejection>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(pupil(request, PupilRight::LegalAuthority).map(Self))
    }
}
