//! Why a request to the gateway's routes did not go through, typed.
//!
//! The user sees a short French page with a reference; the log line under
//! the same reference says the [`LoginFailure`], and the response carries it
//! in its extensions (`response.extensions().get::<Arc<LoginFailure>>()`), so
//! that a service or a test can tell the cases apart without parsing text.
//! Neither ever holds a token, a claim value, a name or a secret.

use std::sync::Arc;

use bytes::Bytes;
use http::{Response, StatusCode};

use crate::directory::DirectoryError;
use crate::http_client::HttpError;
use crate::jose;
use crate::jwks_cache::KeyFetchError;
use crate::provider::IdentityError;
use crate::store::StoreError;

/// Why a login, a challenge answer or a logout failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoginFailure {
    /// `return_to` is not a relative path on the service.
    #[error("return_to refused")]
    ReturnToRefused,
    /// `provider=` names no configured provider.
    #[error("unknown provider")]
    UnknownProvider,
    /// The callback has no state of the right shape.
    #[error("callback without a valid state")]
    InvalidState,
    /// The callback came without the browser's login cookie (login CSRF?).
    #[error("callback without the login cookie (login CSRF?)")]
    MissingLoginCookie,
    /// The login cookie does not open for this state: another login's,
    /// altered, or expired.
    #[error("the login does not fit its cookie: {0}")]
    LoginCookie(&'static str),
    /// The state was already used (a replayed callback).
    #[error("already used state")]
    StateAlreadyUsed,
    /// The provider the login started with is no longer configured.
    #[error("the provider of this login is no longer configured")]
    ProviderNotConfigured,
    /// RFC 9207: the callback's `iss` is not the provider's (mix-up?).
    #[error("the authorization response names another issuer (RFC 9207, mix-up?)")]
    IssuerMismatch,
    /// The provider sent back an `error` (its code, letters, digits and `_`
    /// only, at most 64).
    #[error("provider returned error {0:?}")]
    ProviderError(String),
    /// The callback has no code.
    #[error("callback without a code")]
    MissingCode,
    /// The provider's answers failed.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    /// The verified claims do not make an identity.
    #[error("identity: {0}")]
    Identity(#[source] IdentityError),
    /// A state-changing request (logout, challenge answer) from another
    /// origin.
    #[error("a state-changing request from another origin")]
    CrossOrigin,
    /// A challenge request without its cookie.
    #[error("verify without its cookie")]
    MissingVerifyCookie,
    /// The challenge the cookie names is unknown, or expired.
    #[error("unknown or expired verification")]
    UnknownVerification,
    /// The challenge expired.
    #[error("verification expired")]
    VerificationExpired,
    /// The challenge was answered on a gateway without a directory.
    #[error("verify without a directory")]
    NoDirectory,
    /// A one-time code arrived when none was awaited.
    #[error("no code awaited")]
    NoCodeAwaited,
    /// The one-time code expired.
    #[error("one-time code expired")]
    CodeExpired,
    /// Every try at the one-time code was used.
    #[error("one-time code: no try left")]
    NoCodeTryLeft,
    /// The one-time code could not be sent.
    #[error("the one-time code could not be sent")]
    Notifier,
    /// The store could not be reached.
    #[error("store: {0}")]
    Store(#[source] StoreError),
    /// The directory could not be reached.
    #[error("directory: {0}")]
    Directory(#[source] DirectoryError),
    /// Something the gateway wrote itself did not read back (a stored
    /// value of another version, a serialization failure).
    #[error("internal: {0}")]
    Internal(&'static str),
}

/// Why a provider's answers did not make a login.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UpstreamError {
    /// The provider refused the code exchange, with this OAuth error code
    /// (a code used or expired, or not ours).
    #[error("provider refused the code exchange: {0}")]
    Refused(String),
    /// The token endpoint could not be reached, was slow, or answered
    /// something unreadable.
    #[error("token endpoint: {0}")]
    TokenEndpoint(#[source] Unreachable),
    /// The userinfo endpoint could not be reached, was slow, or answered
    /// something unreadable.
    #[error("userinfo endpoint: {0}")]
    UserinfoEndpoint(#[source] Unreachable),
    /// The provider's keys could not be fetched.
    #[error("provider keys: {0}")]
    Keys(#[source] KeyFetchError),
    /// The token response holds no ID token.
    #[error("no ID token in the token response")]
    NoIdToken,
    /// The ID token failed verification.
    #[error("ID token: {0}")]
    IdToken(#[source] jose::Error),
    /// The userinfo failed verification.
    #[error("userinfo: {0}")]
    Userinfo(#[source] UserinfoRejected),
}

/// How an endpoint failed to answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Unreachable {
    /// No response (timeout, connection, size).
    #[error(transparent)]
    Http(HttpError),
    /// An HTTP error status.
    #[error("answered HTTP {0}")]
    Status(u16),
    /// A response that does not parse.
    #[error("unreadable response")]
    Unreadable,
    /// A response of an unexpected shape or content type.
    #[error("unexpected response")]
    Unexpected,
}

/// Why a userinfo response was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UserinfoRejected {
    /// A JWT that is not text.
    #[error("the userinfo JWT is not text")]
    NotText,
    /// JSON where the provider must sign it (FranceConnect).
    #[error("the userinfo is not a signed JWT")]
    NotSigned,
    /// The signed userinfo failed verification.
    #[error(transparent)]
    Token(jose::Error),
    /// The JSON userinfo does not parse.
    #[error("unreadable JSON: {0}")]
    Json(jose::Error),
    /// Its `sub` is not the ID token's.
    #[error("the userinfo's sub differs from the ID token's")]
    SubMismatch,
}

/// A failure as the gateway answers it: the page the user sees and the
/// typed reason for the log.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: StatusCode,
    pub(crate) title: &'static str,
    pub(crate) message: &'static str,
    pub(crate) reason: LoginFailure,
}

impl Failure {
    pub(crate) fn bad_request(message: &'static str, reason: LoginFailure) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            title: "Connexion impossible",
            message,
            reason,
        }
    }

    pub(crate) fn unavailable(reason: LoginFailure) -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            title: "Service momentanément indisponible",
            message: "Le service de connexion ne répond pas pour le moment. Veuillez réessayer dans quelques minutes.",
            reason,
        }
    }

    pub(crate) fn store(e: StoreError) -> Self {
        Self::unavailable(LoginFailure::Store(e))
    }

    pub(crate) fn directory(e: DirectoryError) -> Self {
        Self::unavailable(LoginFailure::Directory(e))
    }

    pub(crate) fn internal(what: &'static str) -> Self {
        Self::unavailable(LoginFailure::Internal(what))
    }

    /// Attaches the reason to `response`, for services and tests.
    pub(crate) fn attach(self, mut response: Response<Bytes>) -> Response<Bytes> {
        response.extensions_mut().insert(Arc::new(self.reason));
        response
    }
}

impl From<UpstreamError> for Failure {
    fn from(e: UpstreamError) -> Self {
        match e {
            UpstreamError::TokenEndpoint(_)
            | UpstreamError::UserinfoEndpoint(_)
            | UpstreamError::Keys(_) => Self::unavailable(e.into()),
            UpstreamError::Refused(_) => Self::bad_request(
                "Le fournisseur d'identité n'a pas validé cette connexion. Veuillez recommencer.",
                e.into(),
            ),
            UpstreamError::NoIdToken | UpstreamError::IdToken(_) | UpstreamError::Userinfo(_) => {
                Self::bad_request(
                    "Les informations reçues du fournisseur d'identité n'ont pas pu être vérifiées.",
                    e.into(),
                )
            }
        }
    }
}
