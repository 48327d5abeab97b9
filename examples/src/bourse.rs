//! `bourse`: a scholarship request on actix-web. Any logged-in guardian
//! sees their children; only one with legal authority over a pupil may open
//! and submit that pupil's request form. The gateway keeps the default
//! act-for policy ([`ACT_FOR_POLICY`]): only legal guardians act for a
//! pupil.

use std::net::TcpListener;
use std::sync::{Arc, Mutex, PoisonError};

use actix_web::dev::Server;
use actix_web::http::StatusCode as ActixStatus;
use actix_web::{App, HttpResponse, HttpServer, web};
use educonnect_actix::{CurrentUser, OptionalUser, SessionMiddleware, WithLegalAuthority, scope};
use educonnect_core::directory::{Directory, Pupil, PupilId};
use educonnect_core::filiation::ActForPolicy;
use educonnect_core::flow::{Gateway, Session};
use http::StatusCode;
use serde::Deserialize;

use crate::page::{self, escape};

const SITE: &str = "Bourse de collège – démo";

/// The scholarship form's act-for policy, to set on its gateway
/// ([`Settings::act_for_policy`](crate::settings::Settings::act_for_policy)):
/// the default, legal guardians only.
pub const ACT_FOR_POLICY: ActForPolicy = ActForPolicy::LegalGuardians;

/// A submitted request. Kept in memory: this is a demo.
#[derive(Debug, Clone)]
pub struct ScholarshipRequest {
    /// The reference given to the guardian.
    pub reference: String,
    /// The pupil.
    pub pupil: PupilId,
    /// The provider's subject of the guardian who submitted it.
    pub submitted_by: String,
    /// The household's reference tax income, in euros.
    pub income: u32,
    /// Children in the household.
    pub children: u8,
}

/// The requests submitted so far.
#[derive(Debug, Default)]
pub struct Requests(Mutex<Vec<ScholarshipRequest>>);

impl Requests {
    /// A copy of every request, oldest first.
    pub fn all(&self) -> Vec<ScholarshipRequest> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn add(&self, mut request: ScholarshipRequest) -> String {
        let mut all = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        request.reference = format!("BRS-{:05}", all.len() + 1);
        let reference = request.reference.clone();
        all.push(request);
        reference
    }
}

#[derive(Clone)]
struct Bourse {
    gateway: Gateway,
    directory: Option<Arc<dyn Directory>>,
    requests: Arc<Requests>,
}

/// Serves the scholarship service on `listener` (actix-web's own workers).
pub fn server(
    listener: TcpListener,
    gateway: Gateway,
    directory: Option<Arc<dyn Directory>>,
    requests: Arc<Requests>,
) -> std::io::Result<Server> {
    let state = Bourse {
        gateway,
        directory,
        requests,
    };
    Ok(HttpServer::new(move || {
        let gateway = state.gateway.clone();
        App::new()
            .app_data(web::Data::new(state.clone()))
            .app_data(web::FormConfig::default().limit(4096))
            .service(scope(gateway.clone()))
            .route("/", web::get().to(home))
            .route("/demandes", web::get().to(children))
            .route("/bourse/{pupil}", web::get().to(form))
            .route("/bourse/{pupil}", web::post().to(submit))
            .wrap(SessionMiddleware::new(gateway))
    })
    .workers(2)
    .listen(listener)?
    .run())
}

fn to_actix(response: http::Response<String>) -> HttpResponse {
    let status = ActixStatus::from_u16(response.status().as_u16())
        .unwrap_or(ActixStatus::INTERNAL_SERVER_ERROR);
    let mut builder = HttpResponse::build(status);
    for (name, value) in response.headers() {
        builder.append_header((name.as_str(), value.as_bytes()));
    }
    builder.body(response.into_body())
}

impl Bourse {
    fn page(
        &self,
        session: Option<&Session>,
        status: StatusCode,
        title: &str,
        body: &str,
    ) -> HttpResponse {
        to_actix(page::page(
            status,
            SITE,
            &self.gateway,
            session,
            title,
            body,
        ))
    }

    async fn pupil(&self, id: &PupilId) -> Option<Arc<Pupil>> {
        self.directory.as_ref()?.pupil(id).await.ok()?
    }

    async fn pupil_name(&self, id: &PupilId) -> String {
        self.pupil(id)
            .await
            .map_or_else(|| "l’élève".to_owned(), |pupil| pupil.display_name())
    }
}

async fn home(state: web::Data<Bourse>, OptionalUser(user): OptionalUser) -> HttpResponse {
    let body = match &user {
        Some(_) => {
            "<p><a class=\"button\" href=\"/demandes\">Mes demandes de bourse</a></p>".to_owned()
        }
        None => {
            let login = state.gateway.login_path("/demandes");
            format!(
                "<p>La bourse de collège aide les familles à financer la scolarité de leurs \
                 enfants. La demande est faite par un représentant légal de l’élève.</p>\n\
                 <p><a class=\"button\" href=\"{}\">Se connecter pour faire une demande</a></p>",
                escape(&login)
            )
        }
    };
    state.page(
        user.as_ref(),
        StatusCode::OK,
        "Demande de bourse de collège",
        &body,
    )
}

async fn children(state: web::Data<Bourse>, CurrentUser(session): CurrentUser) -> HttpResponse {
    let mut items = String::new();
    let Some(family) = session.family() else {
        return state.page(
            Some(&session),
            StatusCode::OK,
            "Mes demandes de bourse",
            "<p>Aucun enfant n’est rattaché à votre compte.</p>",
        );
    };
    let children = family.children();
    for child in children {
        let name = state.pupil_name(child.pupil()).await;
        // The gateway's rule decides, as the form's extractor will.
        if family.has_legal_authority_over(child.pupil()) {
            items.push_str(&format!(
                "<li><strong>{}</strong><br><a href=\"/bourse/{}\">Faire une demande pour {}</a></li>\n",
                escape(&name),
                child.pupil().to_url_segment(),
                escape(&name)
            ));
        } else {
            items.push_str(&format!(
                "<li><strong>{}</strong><br><span class=\"muted\">La demande est réservée aux \
                 représentants légaux de l’élève.</span></li>\n",
                escape(&name)
            ));
        }
    }
    let body = if children.is_empty() {
        "<p>Aucun enfant n’est rattaché à votre compte.</p>".to_owned()
    } else {
        format!("<ul class=\"cards\">\n{items}</ul>")
    };
    state.page(
        Some(&session),
        StatusCode::OK,
        "Mes demandes de bourse",
        &body,
    )
}

fn form_body(action: &str, error: Option<&str>) -> String {
    let alert = error
        .map(|e| {
            format!(
                "<p role=\"alert\" class=\"notice\"><strong>{}</strong></p>\n",
                escape(e)
            )
        })
        .unwrap_or_default();
    format!(
        "{alert}<form method=\"post\" action=\"{action}\">\n\
         <label for=\"income\">Revenu fiscal de référence du foyer (en euros)</label>\n\
         <input id=\"income\" name=\"income\" type=\"number\" inputmode=\"numeric\" min=\"0\" \
         max=\"1000000\" required aria-describedby=\"income-hint\">\n\
         <p id=\"income-hint\" class=\"muted\">Il figure sur votre avis d’impôt.</p>\n\
         <label for=\"children\">Nombre d’enfants à charge</label>\n\
         <input id=\"children\" name=\"children\" type=\"number\" inputmode=\"numeric\" min=\"1\" \
         max=\"20\" required>\n\
         <p class=\"check\"><input id=\"attest\" name=\"attest\" type=\"checkbox\" value=\"1\" required>\n\
         <label for=\"attest\">J’atteste sur l’honneur l’exactitude de ces informations.</label></p>\n\
         <button type=\"submit\">Envoyer la demande</button>\n</form>",
        action = escape(action),
    )
}

async fn form(state: web::Data<Bourse>, access: WithLegalAuthority) -> HttpResponse {
    let name = state.pupil_name(access.pupil()).await;
    let action = format!("/bourse/{}", access.pupil().to_url_segment());
    state.page(
        Some(access.session()),
        StatusCode::OK,
        &format!("Demande de bourse pour {name}"),
        &form_body(&action, None),
    )
}

/// The form as posted; every field optional so that a missing one gets the
/// form again with a message rather than a bare 400.
#[derive(Deserialize)]
struct Answer {
    income: Option<String>,
    children: Option<String>,
    attest: Option<String>,
}

async fn submit(
    state: web::Data<Bourse>,
    access: WithLegalAuthority,
    answer: web::Form<Answer>,
) -> HttpResponse {
    let name = state.pupil_name(access.pupil()).await;
    let action = format!("/bourse/{}", access.pupil().to_url_segment());
    let income = answer
        .income
        .as_deref()
        .and_then(|v| v.trim().parse::<u32>().ok())
        .filter(|v| *v <= 1_000_000);
    let children = answer
        .children
        .as_deref()
        .and_then(|v| v.trim().parse::<u8>().ok())
        .filter(|v| (1..=20).contains(v));
    let (Some(income), Some(children), Some(_)) = (income, children, answer.attest.as_ref()) else {
        return state.page(
            Some(access.session()),
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("Demande de bourse pour {name}"),
            &form_body(
                &action,
                Some("Vérifiez le revenu (en euros, sans espace), le nombre d’enfants (1 à 20) et cochez l’attestation."),
            ),
        );
    };
    let reference = state.requests.add(ScholarshipRequest {
        reference: String::new(),
        pupil: access.pupil().clone(),
        submitted_by: access.session().identity().sub().to_owned(),
        income,
        children,
    });
    // The reference only: never the household's figures in the logs.
    tracing::info!(%reference, "scholarship request received");
    state.page(
        Some(access.session()),
        StatusCode::OK,
        "Demande envoyée",
        &format!(
            "<p>Votre demande de bourse pour {} est enregistrée sous la référence \
             <strong>{}</strong>.</p>\n<p><a href=\"/demandes\">Retour à mes demandes</a></p>",
            escape(&name),
            escape(&reference)
        ),
    )
}
