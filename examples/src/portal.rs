//! `ent-portal`: a small ENT on axum. A home page with the login buttons,
//! "Mes enfants" from the family claims, a school report per pupil that
//! only their family (or the pupil) may open, logout.
//!
//! The portal opts in to [`ActForPolicy::FamilyMembers`]
//! ([`ACT_FOR_POLICY`]): a grandparent whom the school recorded without
//! legal authority reads the report, with a notice; a child minder or
//! another contact does not.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use educonnect_axum::{CurrentUser, ForPupil, OptionalUser, SessionLayer, routes};
use educonnect_core::directory::{Directory, Pupil, PupilId, Relationship};
use educonnect_core::filiation::ActForPolicy;
use educonnect_core::flow::access::Relation;
use educonnect_core::flow::{Gateway, Session};
use http::StatusCode;

use crate::page::{self, escape};

const SITE: &str = "ENT démo";

/// The portal's act-for policy, to set on its gateway
/// ([`Settings::act_for_policy`](crate::settings::Settings::act_for_policy)):
/// family members read their relatives' reports, contacts do not. Legal
/// authority is not needed to read a report.
pub const ACT_FOR_POLICY: ActForPolicy = ActForPolicy::FamilyMembers;

#[derive(Clone)]
struct Portal {
    gateway: Gateway,
    directory: Option<Arc<dyn Directory>>,
}

/// The portal's router: its pages, the gateway's routes, the session layer.
pub fn app(gateway: Gateway, directory: Option<Arc<dyn Directory>>) -> Router {
    let portal = Portal {
        gateway: gateway.clone(),
        directory,
    };
    Router::new()
        .route("/", get(home))
        .route("/enfants", get(children))
        .route("/eleves/{pupil}/bulletin", get(report))
        .with_state(portal)
        .merge(routes(gateway.clone()))
        .layer(SessionLayer::new(gateway))
}

impl Portal {
    fn page(&self, session: Option<&Session>, title: &str, body: &str) -> Response {
        page::page(StatusCode::OK, SITE, &self.gateway, session, title, body).into_response()
    }

    async fn pupil(&self, id: &PupilId) -> Option<Arc<Pupil>> {
        let directory = self.directory.as_ref()?;
        match directory.pupil(id).await {
            Ok(pupil) => pupil,
            Err(e) => {
                tracing::error!(error = %e, "directory lookup failed");
                None
            }
        }
    }

    async fn school_name(&self, pupil: &Pupil) -> Option<String> {
        let uai = pupil.school?;
        let school = self.directory.as_ref()?.school(&uai).await.ok()??;
        Some(school.name)
    }
}

async fn home(State(portal): State<Portal>, OptionalUser(user): OptionalUser) -> Response {
    let body = match &user {
        Some(session) => format!(
            "<p>Vous êtes connecté avec {}.</p>\n\
             <p><a class=\"button\" href=\"/enfants\">{}</a></p>",
            escape(provider_name(session)),
            space_title(session)
        ),
        None => {
            let fc = portal.gateway.login_path("/enfants");
            let login = |provider: &str| format!("{fc}&provider={provider}");
            format!(
                "<p>Pour suivre la scolarité de vos enfants, connectez-vous.</p>\n\
                 <h2>Parents</h2>\n\
                 <div class=\"fc-group\">\n\
                 <a class=\"fc\" href=\"{fc_href}\">{logo}<span><span class=\"login\">S’identifier avec</span>\
                 <span class=\"brand\">FranceConnect</span></span></a>\n\
                 <p class=\"fc-help\"><a href=\"https://franceconnect.gouv.fr/\" rel=\"noopener\" \
                 target=\"_blank\" title=\"Qu’est-ce que FranceConnect ? - nouvelle fenêtre\">\
                 Qu’est-ce que FranceConnect ?</a></p>\n</div>\n\
                 <h2>Parents et élèves</h2>\n\
                 <p><a class=\"ec\" href=\"{ec_href}\">Se connecter avec ÉduConnect</a></p>\n\
                 <p class=\"muted\">ÉduConnect : le compte unique des parents et des élèves \
                 pour les services numériques des écoles et des établissements.</p>",
                fc_href = escape(&login("franceconnect")),
                ec_href = escape(&login("educonnect")),
                logo = FRANCECONNECT_LOGO,
            )
        }
    };
    portal.page(user.as_ref(), "Bienvenue", &body)
}

async fn children(State(portal): State<Portal>, CurrentUser(session): CurrentUser) -> Response {
    let mut items = String::new();
    let mut count = 0;
    if let Some(family) = session.family() {
        let own = family.pupil().and_then(|p| p.id().cloned());
        let entries = family
            .children()
            .iter()
            .map(|c| {
                (
                    c.pupil().clone(),
                    Some(relationship_label(c.relationship().relationship())),
                )
            })
            // A pupil's own entry: no relationship to show.
            .chain(own.map(|id| (id, None)));
        for (id, relation) in entries {
            count += 1;
            let pupil = portal.pupil(&id).await;
            let name = pupil
                .as_deref()
                .map_or_else(|| "Élève".to_owned(), Pupil::display_name);
            let mut details = Vec::new();
            if let Some(pupil) = &pupil {
                if let Some(school) = portal.school_name(pupil).await {
                    details.push(school);
                }
                if let Some(class) = pupil.classes.first() {
                    details.push(format!("classe {class}"));
                }
            }
            if let Some(relation) = relation {
                details.push(format!("vous êtes : {relation}"));
            }
            // The gateway's rule decides, as the report's extractor will.
            let link = match relation {
                _ if !family.may_act_for(&id) => {
                    "<span class=\"muted\">Votre lien avec cet élève ne permet pas de \
                     consulter son bulletin.</span>"
                        .to_owned()
                }
                Some(_) => format!(
                    "<a href=\"/eleves/{}/bulletin\">Voir le bulletin de {}</a>",
                    id.to_url_segment(),
                    escape(&name)
                ),
                None => format!(
                    "<a href=\"/eleves/{}/bulletin\">Voir mon bulletin</a>",
                    id.to_url_segment()
                ),
            };
            items.push_str(&format!(
                "<li><strong>{}</strong><br><span class=\"muted\">{}</span><br>{link}</li>\n",
                escape(&name),
                escape(&details.join(" · ")),
            ));
        }
    }
    // Children of an academy the service does not serve now: named by
    // nothing but the fact, never acted for.
    let unavailable = session.family().map_or(0, |f| f.unavailable().len());
    for _ in 0..unavailable {
        count += 1;
        items.push_str(
            "<li><strong>Élève</strong><br><span class=\"muted\">Les informations de \
             l’établissement de cet enfant sont momentanément indisponibles.</span></li>\n",
        );
    }
    let body = if count == 0 {
        "<p>Aucun enfant n’est rattaché à votre compte.</p>\n<p class=\"muted\">Si vous êtes \
         responsable légal d’un élève, le secrétariat de son établissement peut vérifier les \
         informations enregistrées.</p>"
            .to_owned()
    } else {
        format!("<ul class=\"cards\">\n{items}</ul>")
    };
    portal.page(Some(&session), space_title(&session), &body)
}

/// "Ma scolarité" for a pupil, "Mes enfants" for everyone else.
fn space_title(session: &Session) -> &'static str {
    let pupil = session.family().is_some_and(|f| f.pupil().is_some());
    if pupil {
        "Ma scolarité"
    } else {
        "Mes enfants"
    }
}

async fn report(State(portal): State<Portal>, access: ForPupil) -> Response {
    let id = access.pupil();
    let pupil = portal.pupil(id).await;
    let name = pupil
        .as_deref()
        .map_or_else(|| "Élève".to_owned(), Pupil::display_name);
    let mut body = String::new();
    if let Some(pupil) = &pupil {
        let school = portal.school_name(pupil).await.unwrap_or_default();
        let class = pupil.classes.first().cloned().unwrap_or_default();
        body.push_str(&format!(
            "<p>{}{}</p>\n",
            escape(&school),
            if class.is_empty() {
                String::new()
            } else {
                format!(" · classe {}", escape(&class))
            }
        ));
    }
    if let Relation::Guardian {
        legal_authority: false,
        ..
    } = access.grant().relation()
    {
        body.push_str(
            "<p class=\"notice\">Vous consultez ce bulletin sans être représentant légal.</p>\n",
        );
    }
    body.push_str(
        "<table>\n<caption class=\"muted\">Premier trimestre (notes fictives de démonstration)</caption>\n\
         <thead><tr><th scope=\"col\">Matière</th><th scope=\"col\" class=\"grade\">Moyenne</th></tr></thead>\n<tbody>\n",
    );
    for (subject, grade) in demo_grades(id) {
        body.push_str(&format!(
            "<tr><td>{subject}</td><td class=\"grade\">{} / 20</td></tr>\n",
            format!("{grade:.1}").replace('.', ",")
        ));
    }
    body.push_str("</tbody>\n</table>\n<p><a href=\"/enfants\">Retour à mes enfants</a></p>");
    portal.page(
        Some(access.session()),
        &format!("Bulletin de {name}"),
        &body,
    )
}

fn provider_name(session: &Session) -> &'static str {
    match session.provider() {
        "franceconnect" => "FranceConnect",
        "educonnect" => "ÉduConnect",
        _ => "votre compte",
    }
}

fn relationship_label(relationship: Relationship) -> &'static str {
    match relationship {
        Relationship::Mother => "mère",
        Relationship::Father => "père",
        Relationship::Sibling => "frère ou sœur",
        Relationship::GrandParent => "grand-parent",
        Relationship::OtherFamily => "autre membre de la famille",
        Relationship::Educator => "éducateur",
        Relationship::FamilyAssistant => "assistant familial",
        Relationship::ChildMinder => "garde d’enfant",
        Relationship::Tutor => "tuteur",
        Relationship::ChildWelfare => "aide sociale à l’enfance",
        Relationship::Pupil => "l’élève",
        _ => "autre lien",
    }
}

/// Demo grades, the same for a pupil at every visit (derived from the id).
fn demo_grades(pupil: &PupilId) -> Vec<(&'static str, f32)> {
    let digest = educonnect_core::jose::crypto::sha256(pupil.to_string().as_bytes());
    [
        "Français",
        "Mathématiques",
        "Histoire-géographie",
        "Anglais",
        "Sciences de la vie et de la Terre",
        "Éducation physique et sportive",
    ]
    .into_iter()
    .zip(digest.as_ref())
    .map(|(subject, byte)| (subject, 8.0 + f32::from(byte % 240) / 20.0))
    .collect()
}

/// FranceConnect's mark, drawn inline (no external image: the CSP allows
/// none).
const FRANCECONNECT_LOGO: &str = "<svg aria-hidden=\"true\" width=\"40\" height=\"46\" viewBox=\"0 0 40 46\">\
<path fill=\"#fff\" d=\"M20 0l20 11.5v23L20 46 0 34.5v-23z\"/>\
<path fill=\"#000091\" d=\"M20 4l16.5 9.5v19L20 42 3.5 32.5v-19z\"/>\
<path fill=\"#e1000f\" d=\"M20 4l16.5 9.5L20 23z\"/>\
<path fill=\"#fff\" d=\"M14 15h12v3h-8.5v3.5H25v3h-7.5V31H14z\"/></svg>";
