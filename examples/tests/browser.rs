//! End to end, in a real headless browser: the ENT portal on loopback with
//! the sandbox in the process, a parent through FranceConnect and a pupil
//! through EduConnect, from the home page to the logout at the provider.
//! Every page is saved under `target/e2e/`.

mod support;

use educonnect_core::directory::{PupilId, SourceId};
use educonnect_examples::portal;
use educonnect_examples::settings::{Settings, Setup};
use educonnect_sandbox::demo;
use fantoccini::Locator;
use support::Browser;

struct Portal {
    base: String,
    setup_sandbox: educonnect_sandbox::Sandbox,
}

/// The portal as `cargo run --bin ent-portal` starts it with no settings,
/// on a free port.
async fn start_portal() -> Portal {
    let settings = Settings::from_vars(0, |_| None)
        .unwrap()
        .on_free_port()
        .act_for_policy(portal::ACT_FOR_POLICY);
    let setup = Setup::new(settings).await.unwrap();
    let base = setup.public_url.clone();
    let app = portal::app(setup.gateway, setup.directory);
    tokio::spawn(async move { axum::serve(setup.listener, app).await.unwrap() });
    Portal {
        base,
        setup_sandbox: setup.sandbox.expect("no settings: the sandbox runs"),
    }
}

fn pupil(academy: &str, local: &str) -> String {
    PupilId::new(SourceId::aaf(academy).unwrap(), local)
        .unwrap()
        .to_url_segment()
}

/// Answers the birth-date challenge as the demo parent would.
async fn answer_challenge(browser: &Browser, identity: &demo::DemoIdentity) {
    let fieldsets = browser
        .client
        .find_all(Locator::Css("fieldset"))
        .await
        .unwrap();
    assert_eq!(fieldsets.len(), identity.challenge.len());
    for (i, fieldset) in fieldsets.iter().enumerate() {
        let legend = fieldset
            .find(Locator::Css("legend"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let answer = identity
            .challenge
            .iter()
            .find(|a| legend.contains(&format!("« {} »", a.initial)) && legend.contains(a.school))
            .unwrap_or_else(|| panic!("no demo answer for {legend:?}"));
        if answer.mine {
            for (field, value) in [
                ("day", answer.day.to_string()),
                ("month", answer.month.to_string()),
                ("year", answer.year.to_string()),
            ] {
                let input = browser
                    .client
                    .find(Locator::Id(&format!("{field}_{i}")))
                    .await
                    .unwrap();
                input.send_keys(&value).await.unwrap();
            }
        } else {
            browser.click(&format!("#not_mine_{i}")).await;
        }
    }
}

#[tokio::test]
async fn a_parent_logs_in_with_franceconnect_sees_their_children_and_only_theirs() {
    let portal = start_portal().await;
    let browser = Browser::start("parent-franceconnect").await;
    let parent = demo::identity(demo::FC_PARENT_TWO_ACADEMIES).unwrap();

    browser.goto(&format!("{}/", portal.base)).await;
    assert!(browser.title().await.starts_with("Bienvenue"));
    browser.screenshot("01-accueil").await;

    // The FranceConnect button leads to the provider's identity picker.
    browser.click("a.fc").await;
    assert!(
        browser
            .url()
            .await
            .as_str()
            .starts_with(portal.setup_sandbox.base_url())
    );
    browser.screenshot("02-fournisseur-identites").await;
    browser
        .click(&format!("button[name=identity][value={}]", parent.id))
        .await;

    // Back at the gateway: the birth-date challenge.
    browser.wait_for_path("/auth/verify").await;
    browser.screenshot("03-verification").await;
    answer_challenge(&browser, parent).await;
    browser.screenshot("04-verification-remplie").await;
    browser.click("form button[type=submit]").await;

    // "Mes enfants": both children, in two academies.
    browser.wait_for_path("/enfants").await;
    let text = browser.text().await;
    assert!(text.contains("Éloïse") && text.contains("Noé"), "{text}");
    assert!(!text.contains("Chloé"));
    browser.screenshot("05-mes-enfants").await;

    // A child's school report.
    browser
        .click(&format!(
            "a[href='/eleves/{}/bulletin']",
            pupil("25", "E25-0001")
        ))
        .await;
    assert!(browser.title().await.starts_with("Bulletin de Noé"));
    assert!(browser.text().await.contains("Mathématiques"));
    browser.screenshot("06-bulletin").await;

    // Another family's pupil (the homonym's daughter): refused.
    browser
        .goto(&format!(
            "{}/eleves/{}/bulletin",
            portal.base,
            pupil("25", "E25-0002")
        ))
        .await;
    assert!(browser.title().await.starts_with("Accès refusé"));
    assert!(!browser.text().await.contains("Chloé"));
    browser.screenshot("07-acces-refuse").await;

    // Logout, here and at the provider.
    assert_eq!(portal.setup_sandbox.open_sessions(), 1);
    browser.goto(&format!("{}/enfants", portal.base)).await;
    browser.click("header a[href='/auth/logout']").await;
    browser.wait_for_path("/auth/logout").await;
    browser.screenshot("08-confirmation-deconnexion").await;
    browser.click("main form button[type=submit]").await;
    browser.wait_for_path("/").await;
    assert!(browser.text().await.contains("S’identifier avec"));
    assert_eq!(portal.setup_sandbox.open_sessions(), 0);
    browser.screenshot("09-deconnecte").await;
    browser.goto(&format!("{}/enfants", portal.base)).await;
    assert!(
        browser
            .url()
            .await
            .as_str()
            .starts_with(portal.setup_sandbox.base_url())
            || browser.url().await.path() == "/auth/login"
    );

    browser.close().await;
}

#[tokio::test]
async fn a_pupil_logs_in_with_educonnect_and_reads_their_own_report_only() {
    let portal = start_portal().await;
    let browser = Browser::start("eleve-educonnect").await;

    browser.goto(&format!("{}/", portal.base)).await;
    browser.click("a.ec").await;
    assert!(
        browser
            .url()
            .await
            .as_str()
            .starts_with(portal.setup_sandbox.base_url())
    );
    browser.screenshot("01-fournisseur-identites").await;
    browser
        .click(&format!("button[name=identity][value={}]", demo::EC_PUPIL))
        .await;

    // No challenge: EduConnect vouches for the pupil.
    browser.wait_for_path("/enfants").await;
    let text = browser.text().await;
    assert!(
        text.contains("Maëlys") && text.contains("Voir mon bulletin"),
        "{text}"
    );
    assert!(browser.title().await.starts_with("Ma scolarité"));
    browser.screenshot("02-ma-scolarite").await;

    browser
        .click(&format!(
            "a[href='/eleves/{}/bulletin']",
            pupil("25", "E25-0004")
        ))
        .await;
    assert!(browser.title().await.starts_with("Bulletin de Maëlys"));
    browser.screenshot("03-bulletin").await;

    browser
        .goto(&format!(
            "{}/eleves/{}/bulletin",
            portal.base,
            pupil("25", "E25-0001")
        ))
        .await;
    assert!(browser.title().await.starts_with("Accès refusé"));
    browser.screenshot("04-acces-refuse").await;

    assert_eq!(portal.setup_sandbox.open_sessions(), 1);
    browser.goto(&format!("{}/", portal.base)).await;
    browser.click("header a[href='/auth/logout']").await;
    browser.click("main form button[type=submit]").await;
    browser.wait_for_path("/").await;
    assert_eq!(portal.setup_sandbox.open_sessions(), 0);
    browser.screenshot("05-deconnecte").await;

    browser.close().await;
}

#[actix_web::test]
async fn a_legal_guardian_submits_a_scholarship_request_in_the_browser() {
    use std::sync::Arc;

    use educonnect_examples::bourse::{self, Requests};

    let setup = Setup::new(Settings::from_vars(0, |_| None).unwrap().on_free_port())
        .await
        .unwrap();
    let base = setup.public_url.clone();
    let sandbox = setup.sandbox.expect("the sandbox runs");
    let requests = Arc::new(Requests::default());
    let server = bourse::server(
        setup.listener.into_std().unwrap(),
        setup.gateway,
        setup.directory,
        requests.clone(),
    )
    .unwrap();
    actix_web::rt::spawn(server);
    let browser = Browser::start("bourse").await;
    let parent = demo::identity(demo::FC_PARENT_TWO_ACADEMIES).unwrap();

    browser.goto(&format!("{base}/")).await;
    browser.screenshot("01-accueil").await;
    browser.click("main a.button").await;
    // Two providers: the gateway's choice page first.
    browser.wait_for_path("/auth/login").await;
    browser.screenshot("02-choix-fournisseur").await;
    browser
        .click("a.button[href*='provider=franceconnect']")
        .await;
    assert!(browser.url().await.as_str().starts_with(sandbox.base_url()));
    browser
        .click(&format!("button[name=identity][value={}]", parent.id))
        .await;
    browser.wait_for_path("/auth/verify").await;
    answer_challenge(&browser, parent).await;
    browser.click("form button[type=submit]").await;
    browser.wait_for_path("/demandes").await;
    browser.screenshot("03-mes-demandes").await;

    let noe = pupil("25", "E25-0001");
    browser.click(&format!("a[href='/bourse/{noe}']")).await;
    browser.wait_for_path(&format!("/bourse/{noe}")).await;
    browser.screenshot("04-formulaire").await;
    for (id, value) in [("income", "18450"), ("children", "2")] {
        browser
            .client
            .find(Locator::Id(id))
            .await
            .unwrap()
            .send_keys(value)
            .await
            .unwrap();
    }
    browser.click("#attest").await;
    browser.click("main form button[type=submit]").await;
    browser.wait_for_title("Demande envoyée").await;
    assert!(browser.text().await.contains("BRS-00001"));
    browser.screenshot("05-demande-envoyee").await;
    let all = requests.all();
    assert_eq!(all.len(), 1);
    assert_eq!((all[0].income, all[0].children), (18450, 2));

    // Another origin of the same site (another port of 127.0.0.1: the
    // browser sends the SameSite=Lax cookie along) posts the same form in
    // the parent's name: refused, nothing stored.
    let elsewhere = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let elsewhere_url = format!("http://{}/", elsewhere.local_addr().unwrap());
    let forged = format!(
        "<!DOCTYPE html><html lang=\"fr\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>Autre site</title></head>\
         <body><h1>Autre site</h1><form method=\"post\" action=\"{base}/bourse/{noe}\">\
         <input type=\"hidden\" name=\"income\" value=\"1\">\
         <input type=\"hidden\" name=\"children\" value=\"9\">\
         <input type=\"hidden\" name=\"attest\" value=\"1\">\
         <button type=\"submit\">Gagner un cadeau</button></form></body></html>"
    );
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || async move { axum::response::Html(forged) }),
    );
    tokio::spawn(async move { axum::serve(elsewhere, app).await });
    browser.goto(&elsewhere_url).await;
    browser.click("form button[type=submit]").await;
    browser.wait_for_title("Demande refusée").await;
    browser.screenshot("06-demande-d-un-autre-site").await;
    assert_eq!(requests.all().len(), 1);

    browser.close().await;
}
