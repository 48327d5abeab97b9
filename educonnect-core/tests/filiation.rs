//! Filiation through the flow, against providers played by wiremock with
//! real keys and directories built here: the FranceConnect birth-date
//! challenge (first and later logins, lock-out, homonyms, "not my child",
//! no candidate), EduConnect guardians and pupils, family assertions.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use educonnect_core::BirthDate;
use educonnect_core::directory::{
    CompositeDirectory, Directory, DirectoryBuilder, LegalRank, Link, MemoryDirectory, PersonId,
    PhoneKind, Pupil, PupilId, RelatedPerson, Relationship, RelationshipCode, School, SourceId,
};
use educonnect_core::filiation::{
    ActForPolicy, AuditEvent, AuditSink, FamilyClaims, Notifier, NotifierError, Verification,
};
use educonnect_core::flow::{ClientSecret, Gateway, GatewayBuilder, Provider, Session};
use educonnect_core::ids::{Ine, Uai};
use educonnect_core::jose::{Algorithm, KeySet, SigningKey, Validation};
use educonnect_core::provider::{EduConnect, FranceConnect, Profile};
use educonnect_core::{ManualClock, MemoryStore};
use educonnect_core::{ReqwestClient, Timeouts};
use http::{HeaderMap, Request, Response, StatusCode, header};
use serde_json::{Value, json};
use support::TestKey;
use url::Url;
use wiremock::matchers::{body_string_contains, header as has_header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const CLIENT_ID: &str = "service-client-id";
const CLIENT_SECRET: &str = "service-client-secret-of-forty-bytes-0123";
const NOW: u64 = 1_790_000_000;
const SUB: &str = "b6048e95bb134ec5b1d1e1fa69f287172e91722b9354d637a1bcf2ebb0fd2ef5v1";
const PUBLIC_URL: &str = "https://ent.example.fr";

// --- directories -----------------------------------------------------------

fn rennes() -> SourceId {
    SourceId::aaf("14").unwrap()
}

fn versailles() -> SourceId {
    SourceId::aaf("25").unwrap()
}

fn pupil_id(s: &SourceId, local: &str) -> PupilId {
    PupilId::new(s.clone(), local).unwrap()
}

fn person_id(s: &SourceId, local: &str) -> PersonId {
    PersonId::new(s.clone(), local).unwrap()
}

fn uai(s: &str) -> Uai {
    Uai::parse(s).unwrap()
}

/// Rennes: Angèle Dubois (birth name DUBOIS, usage name MARTIN-DUBOIS),
/// mother with legal authority of Éloïse (born 27 March 2012, INE known) and
/// of Lucas (born June 2015, the day presumed); Lucas's grand-father has no
/// legal authority. A record of Éloïse's father without a join to anyone.
fn rennes_directory() -> Arc<MemoryDirectory> {
    let s = rennes();
    let mut b = DirectoryBuilder::new(s.clone());
    b.add_school(School::new(uai("0350001L"), "Collège Anne de Bretagne"));
    b.add_pupil(
        Pupil::new(pupil_id(&s, "E-ELOISE"), "DUBOIS", ["Éloïse", "Marie"])
            .with_ine(Ine::parse("123456789AB").unwrap())
            .with_birth_date(BirthDate::new(2012, 3, 27).unwrap())
            .with_school(uai("0350001L")),
    )
    .unwrap();
    b.add_pupil(
        Pupil::new(pupil_id(&s, "E-LUCAS"), "DUBOIS", ["Lucas"])
            .with_birth_date(BirthDate::presumed_day(2015, 6).unwrap())
            .with_school(uai("0350001L")),
    )
    .unwrap();
    b.add_person(
        RelatedPerson::new(person_id(&s, "R-ANGELE"), "DUBOIS", ["Angèle", "Claire"])
            .with_usage_name("MARTIN-DUBOIS")
            .with_phone(PhoneKind::Mobile, "06 12 34 56 78"),
    )
    .unwrap();
    b.add_person(RelatedPerson::new(
        person_id(&s, "R-GRANDPA"),
        "DUBOIS",
        ["Jean"],
    ))
    .unwrap();
    for pupil in ["E-ELOISE", "E-LUCAS"] {
        b.add_link(
            Link::new(
                pupil_id(&s, pupil),
                person_id(&s, "R-ANGELE"),
                Relationship::Mother,
            )
            .with_legal(LegalRank::First),
        )
        .unwrap();
    }
    b.add_link(Link::new(
        pupil_id(&s, "E-LUCAS"),
        person_id(&s, "R-GRANDPA"),
        RelationshipCode::siecle(38).unwrap(),
    ))
    .unwrap();
    Arc::new(MemoryDirectory::new(b.build()))
}

/// Versailles: a homonym, Angele DUBOIS (no accent), mother of Marc (born
/// 15 January 2010); and, for the EduConnect family over two academies, the
/// same Angèle as in Rennes under another record, mother of Inès (with legal
/// authority) and guardian of Noé without it.
fn versailles_directory() -> Arc<MemoryDirectory> {
    let s = versailles();
    let mut b = DirectoryBuilder::new(s.clone());
    b.add_school(School::new(uai("0780001C"), "École Jean Jaurès"));
    b.add_pupil(
        Pupil::new(pupil_id(&s, "E-MARC"), "DUBOIS", ["Marc"])
            .with_birth_date(BirthDate::new(2010, 1, 15).unwrap())
            .with_school(uai("0780001C")),
    )
    .unwrap();
    b.add_person(RelatedPerson::new(
        person_id(&s, "R-HOMONYM"),
        "Dubois",
        ["Angele"],
    ))
    .unwrap();
    b.add_link(
        Link::new(
            pupil_id(&s, "E-MARC"),
            person_id(&s, "R-HOMONYM"),
            Relationship::Mother,
        )
        .with_legal(LegalRank::First),
    )
    .unwrap();
    b.add_pupil(
        Pupil::new(pupil_id(&s, "E-INES"), "MARTIN", ["Inès"])
            .with_ine(Ine::parse("0987654321B").unwrap())
            .with_school(uai("0780001C")),
    )
    .unwrap();
    b.add_pupil(Pupil::new(pupil_id(&s, "E-NOE"), "MARTIN", ["Noé"]))
        .unwrap();
    b.add_person(RelatedPerson::new(
        person_id(&s, "R-ANGELE-78"),
        "MARTIN",
        ["Angèle"],
    ))
    .unwrap();
    b.add_link(
        Link::new(
            pupil_id(&s, "E-INES"),
            person_id(&s, "R-ANGELE-78"),
            Relationship::Mother,
        )
        .with_legal(LegalRank::First),
    )
    .unwrap();
    b.add_link(Link::new(
        pupil_id(&s, "E-NOE"),
        person_id(&s, "R-ANGELE-78"),
        RelationshipCode::siecle(38).unwrap(),
    ))
    .unwrap();
    Arc::new(MemoryDirectory::new(b.build()))
}

fn both_academies() -> Arc<dyn Directory> {
    Arc::new(
        CompositeDirectory::new([
            rennes_directory() as Arc<dyn Directory>,
            versailles_directory() as Arc<dyn Directory>,
        ])
        .unwrap(),
    )
}

// --- the world -------------------------------------------------------------

#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<AuditEvent>>);

impl AuditSink for Recorder {
    fn record(&self, event: &AuditEvent) {
        self.0.lock().unwrap().push(event.clone());
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    FranceConnect,
    EduConnect,
}

struct World {
    server: MockServer,
    issuer: String,
    key: TestKey,
    clock: Arc<ManualClock>,
    audit: Arc<Recorder>,
    gateway: Gateway,
    codes: Mutex<u32>,
}

struct Login {
    state: String,
    nonce: String,
    cookie: String,
}

impl World {
    async fn start(kind: Kind, directory: Option<Arc<dyn Directory>>) -> Self {
        Self::start_with(kind, directory, |b| b).await
    }

    async fn start_with(
        kind: Kind,
        directory: Option<Arc<dyn Directory>>,
        configure: impl FnOnce(GatewayBuilder) -> GatewayBuilder,
    ) -> Self {
        let server = MockServer::start().await;
        let key = TestKey::new(Algorithm::ES256, "provider-key");
        let clock = Arc::new(ManualClock::at_unix(NOW));
        let store = Arc::new(MemoryStore::builder().clock(clock.clone()).build());
        let (issuer, provider, jwks_path) = match kind {
            Kind::FranceConnect => {
                let issuer = format!("{}/api/v2", server.uri());
                let preset = FranceConnect::custom(&issuer).unwrap();
                (
                    issuer,
                    Provider::franceconnect(preset, CLIENT_ID, ClientSecret::new(CLIENT_SECRET)),
                    "/api/v2/jwks",
                )
            }
            Kind::EduConnect => {
                let issuer = format!("{}/idp", server.uri());
                let preset = EduConnect::at_base(&issuer)
                    .unwrap()
                    .with_jwks(format!("{issuer}/profile/oidc/jwks").parse().unwrap())
                    .unwrap();
                (
                    issuer,
                    Provider::educonnect(preset, CLIENT_ID, ClientSecret::new(CLIENT_SECRET)),
                    "/idp/profile/oidc/jwks",
                )
            }
        };
        Mock::given(method("GET"))
            .and(path(jwks_path))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(json!({"keys": [key.jwk]}).to_string(), "application/json"),
            )
            .mount(&server)
            .await;
        let http = Arc::new(
            ReqwestClient::new(Timeouts {
                connect: Duration::from_secs(1),
                total: Duration::from_secs(1),
            })
            .unwrap(),
        );
        let audit = Arc::new(Recorder::default());
        let mut builder = Gateway::builder(PUBLIC_URL)
            .unwrap()
            .provider(provider)
            .store(store)
            .http_client(http)
            .clock(clock.clone())
            .audit_sink(audit.clone())
            .assertion_key(SigningKey::generate(Algorithm::ES256, "family-2026").unwrap());
        if let Some(directory) = directory {
            builder = builder.directory(directory);
        }
        Self {
            server,
            issuer,
            key,
            clock,
            audit,
            gateway: configure(builder).build().unwrap(),
            codes: Mutex::new(0),
        }
    }

    fn endpoint(&self, name: &str) -> String {
        if self.issuer.ends_with("/idp") {
            format!("/idp/profile/oidc/{name}")
        } else {
            format!("/api/v2/{name}")
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(educonnect_core::Clock::unix_seconds(&*self.clock)).unwrap()
    }

    async fn get(&self, uri: &str, cookies: &[&str]) -> Response<Bytes> {
        let mut request = Request::get(uri);
        for cookie in cookies {
            request = request.header(header::COOKIE, *cookie);
        }
        self.gateway
            .handle(request.body(Bytes::new()).unwrap())
            .await
    }

    async fn post(&self, uri: &str, cookie: &str, form: &str) -> Response<Bytes> {
        let request = Request::post(uri)
            .header(header::COOKIE, cookie)
            .header(header::ORIGIN, PUBLIC_URL)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Bytes::from(form.to_owned()))
            .unwrap();
        self.gateway.handle(request).await
    }

    async fn login(&self) -> Login {
        let provider = if self.issuer.ends_with("/idp") {
            "educonnect"
        } else {
            "franceconnect"
        };
        let response = self
            .get(
                &format!("/auth/login?provider={provider}&return_to=/livret"),
                &[],
            )
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let authorize = Url::parse(location(&response)).unwrap();
        let param = |name: &str| {
            authorize
                .query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
                .unwrap()
        };
        Login {
            state: param("state"),
            nonce: param("nonce"),
            cookie: set_cookie(&response, "educonnect_login").unwrap(),
        }
    }

    /// A whole provider round trip with these userinfo claims; returns the
    /// callback's response.
    async fn log_in_with(&self, userinfo: Value) -> Response<Bytes> {
        self.log_in_as(SUB, userinfo).await
    }

    /// [`log_in_with`](Self::log_in_with) as the provider's subject `sub`.
    async fn log_in_as(&self, sub: &str, userinfo: Value) -> Response<Bytes> {
        let login = self.login().await;
        let code = {
            let mut codes = self.codes.lock().unwrap();
            *codes += 1;
            format!("code-{}", *codes)
        };
        let now = self.now();
        let mut id_token = json!({
            "iss": self.issuer, "sub": sub, "aud": CLIENT_ID,
            "exp": now + 60, "iat": now, "auth_time": now - 10,
            "nonce": login.nonce, "acr": "eidas1",
        });
        let userinfo_body = if self.issuer.ends_with("/idp") {
            id_token.as_object_mut().unwrap().remove("acr");
            (userinfo.to_string(), "application/json")
        } else {
            let mut claims = userinfo;
            let o = claims.as_object_mut().unwrap();
            o.insert("iss".into(), json!(self.issuer));
            o.insert("sub".into(), json!(sub));
            o.insert("aud".into(), json!(CLIENT_ID));
            o.insert("iat".into(), json!(now));
            o.insert("exp".into(), json!(now + 60));
            (self.key.sign(&claims), "application/jwt")
        };
        Mock::given(method("POST"))
            .and(path(self.endpoint("token")))
            .and(body_string_contains(format!("code={code}")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": format!("access-{code}"), "token_type": "Bearer",
                "expires_in": 60, "id_token": self.key.sign(&id_token),
            })))
            .up_to_n_times(1)
            .mount(&self.server)
            .await;
        Mock::given(method("GET"))
            .and(path(self.endpoint("userinfo")))
            .and(has_header(
                "authorization",
                format!("Bearer access-{code}").as_str(),
            ))
            .respond_with(ResponseTemplate::new(200).set_body_raw(userinfo_body.0, userinfo_body.1))
            .mount(&self.server)
            .await;
        let uri = format!("/auth/callback?code={code}&state={}", login.state);
        self.get(&uri, &[&login.cookie]).await
    }

    async fn franceconnect_login(&self, given: &str, family: &str) -> Response<Bytes> {
        self.log_in_with(json!({
            "given_name": given, "family_name": family,
            "birthdate": "1980-08-24", "gender": "female",
            "birthplace": "75107", "birthcountry": "99100",
        }))
        .await
    }

    async fn session_of(&self, response: &Response<Bytes>) -> Option<Session> {
        let cookie = set_cookie(response, "educonnect_session")?;
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, cookie.parse().unwrap());
        self.gateway.session(&headers).await.unwrap()
    }

    fn events(&self) -> Vec<AuditEvent> {
        self.audit.0.lock().unwrap().clone()
    }
}

fn location(response: &Response<Bytes>) -> &str {
    response.headers()[header::LOCATION].to_str().unwrap()
}

fn body(response: &Response<Bytes>) -> String {
    String::from_utf8_lossy(response.body()).into_owned()
}

fn set_cookie(response: &Response<Bytes>, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.split('=').next().unwrap().contains(name) && !v.contains("Max-Age=0"))
        .map(|v| v.split(';').next().unwrap().to_owned())
}

/// The names and dates a page must never show.
fn assert_discreet(html: &str) {
    for secret in [
        "Éloïse", "Eloise", "Lucas", "Marc", "DUBOIS", "Dubois", "2012", "2015", "2010", "27",
    ] {
        assert!(!html.contains(secret), "the page shows {secret:?}:\n{html}");
    }
}

/// A FranceConnect login for Angèle that ends at the challenge: the form's
/// HTML and the challenge cookie.
async fn challenge(world: &World) -> (String, String) {
    let response = world.franceconnect_login("Angèle Claire", "DUBOIS").await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body(&response)
    );
    assert_eq!(location(&response), "/auth/verify");
    assert!(
        set_cookie(&response, "educonnect_session").is_none(),
        "no session before the challenge"
    );
    let cookie = set_cookie(&response, "educonnect_verify").expect("a challenge cookie");
    let form = world.get("/auth/verify", &[&cookie]).await;
    assert_eq!(form.status(), StatusCode::OK, "{}", body(&form));
    let html = body(&form);
    assert_discreet(&html);
    (html, cookie)
}

/// The index of the child shown as `initial` at `school` in the form.
fn index_of(html: &str, initial: &str, school: &str) -> usize {
    let legend = format!("commence par « {initial} », scolarisé à {school}");
    let count = html.matches("<fieldset>").count();
    (0..count)
        .find(|i| {
            let start = html.match_indices("<fieldset>").nth(*i).unwrap().0;
            html[start..]
                .split("</fieldset>")
                .next()
                .unwrap()
                .contains(&legend)
        })
        .unwrap_or_else(|| panic!("no child {initial} at {school} in\n{html}"))
}

fn family(session: &Session) -> &FamilyClaims {
    session.family().expect("family claims")
}

// --- FranceConnect ---------------------------------------------------------

#[tokio::test]
async fn first_login_challenge_then_second_login_without_it() {
    let world = World::start(
        Kind::FranceConnect,
        Some(rennes_directory() as Arc<dyn Directory>),
    )
    .await;
    let (html, cookie) = challenge(&world).await;
    assert!(html.contains("lang=\"fr\""));
    assert!(html.contains("<fieldset>") && html.contains("<legend>"));
    assert!(html.contains("<label for=\"day_0\">Jour</label>"));
    assert!(html.contains("Ce n'est pas mon enfant"));
    assert_eq!(html.matches("<fieldset>").count(), 2);
    let eloise = index_of(&html, "É", "Collège Anne de Bretagne");
    let lucas = index_of(&html, "L", "Collège Anne de Bretagne");

    // Lucas's day is presumed: any day of June 2015 fits.
    let form = format!(
        "day_{eloise}=27&month_{eloise}=3&year_{eloise}=2012&day_{lucas}=19&month_{lucas}=6&year_{lucas}=2015"
    );
    let response = world.post("/auth/verify", &cookie, &form).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body(&response)
    );
    assert_eq!(location(&response), "/livret");
    let session = world.session_of(&response).await.expect("a session");
    let claims = family(&session);
    assert_eq!(claims.profile(), Profile::Guardian);
    assert_eq!(claims.persons(), vec![person_id(&rennes(), "R-ANGELE")]);
    assert_eq!(claims.children().len(), 2);
    let e = pupil_id(&rennes(), "E-ELOISE");
    assert!(claims.may_act_for(&e) && claims.has_legal_authority_over(&e));
    assert_eq!(
        claims.child(&e).unwrap().verification(),
        Verification::BirthDates
    );
    assert_eq!(claims.child(&e).unwrap().uai(), Some(uai("0350001L")));
    assert!(claims.may_act_for_ine(&Ine::parse("123456789AB").unwrap()));
    assert!(!claims.may_act_for(&pupil_id(&versailles(), "E-MARC")));
    // Debug shows ids, never the INE.
    assert!(!format!("{session:?}").contains("123456789AB"));

    // The challenge is used up.
    let again = world.post("/auth/verify", &cookie, &form).await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);

    // Second login: no challenge, the same family at once.
    let response = world.franceconnect_login("Angèle Claire", "DUBOIS").await;
    assert_eq!(location(&response), "/livret");
    let second = world
        .session_of(&response)
        .await
        .expect("a session at once");
    assert_eq!(family(&second).children(), claims.children());
    assert!(world.events().iter().any(
        |e| matches!(e, AuditEvent::VerificationSucceeded { persons, .. } if persons.len() == 1)
    ));
}

#[tokio::test]
async fn five_wrong_answer_sets_lock_the_challenge_until_the_window_ends() {
    let world = World::start(
        Kind::FranceConnect,
        Some(rennes_directory() as Arc<dyn Directory>),
    )
    .await;
    let (html, cookie) = challenge(&world).await;
    let eloise = index_of(&html, "É", "Collège Anne de Bretagne");
    let lucas = index_of(&html, "L", "Collège Anne de Bretagne");
    let right = format!(
        "day_{eloise}=27&month_{eloise}=3&year_{eloise}=2012&day_{lucas}=1&month_{lucas}=6&year_{lucas}=2015"
    );
    // One date wrong: the whole set is wrong.
    let wrong = format!(
        "day_{eloise}=28&month_{eloise}=3&year_{eloise}=2012&day_{lucas}=1&month_{lucas}=6&year_{lucas}=2015"
    );
    for attempt in 1..=4 {
        let response = world.post("/auth/verify", &cookie, &wrong).await;
        assert_eq!(
            response.status(),
            StatusCode::BAD_REQUEST,
            "attempt {attempt}"
        );
        let html = body(&response);
        assert!(html.contains("role=\"alert\""));
        assert_discreet(&html);
        assert!(set_cookie(&response, "educonnect_session").is_none());
    }
    let response = world.post("/auth/verify", &cookie, &wrong).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(body(&response).contains("bloqué pendant 30 minutes"));
    assert!(set_cookie(&response, "educonnect_session").is_none());

    // The locked challenge is gone: right answers to it give nothing.
    let response = world.post("/auth/verify", &cookie, &right).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(set_cookie(&response, "educonnect_session").is_none());

    // Right answers do not help while locked: a new login is refused at once.
    let response = world.franceconnect_login("Angèle Claire", "DUBOIS").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(set_cookie(&response, "educonnect_session").is_none());
    assert!(
        world
            .events()
            .iter()
            .any(|e| matches!(e, AuditEvent::LockedOut { .. }))
    );

    // Locked still with the right answers in a challenge opened just before
    // the lock window ends.
    world.clock.advance(Duration::from_secs(29 * 60));
    let response = world.franceconnect_login("Angèle Claire", "DUBOIS").await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);

    // When the window has passed, the right answers are accepted.
    world.clock.advance(Duration::from_secs(2 * 60));
    let (_, cookie) = challenge(&world).await;
    let response = world.post("/auth/verify", &cookie, &right).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body(&response)
    );
    assert!(world.session_of(&response).await.is_some());
}

#[tokio::test]
async fn homonyms_are_told_apart_by_the_birth_dates() {
    let world = World::start(Kind::FranceConnect, Some(both_academies())).await;
    let (html, cookie) = challenge(&world).await;
    // Angèle's two children in Rennes, the homonym's son in Versailles.
    assert_eq!(html.matches("<fieldset>").count(), 3);
    let eloise = index_of(&html, "É", "Collège Anne de Bretagne");
    let lucas = index_of(&html, "L", "Collège Anne de Bretagne");
    let marc = index_of(&html, "M", "École Jean Jaurès");
    // She does not know Marc's birth date: she guesses.
    let form = format!(
        "day_{eloise}=27&month_{eloise}=3&year_{eloise}=2012&day_{lucas}=1&month_{lucas}=6&year_{lucas}=2015\
         &day_{marc}=1&month_{marc}=1&year_{marc}=2011"
    );
    let response = world.post("/auth/verify", &cookie, &form).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body(&response)
    );
    let session = world.session_of(&response).await.unwrap();
    let claims = family(&session);
    assert_eq!(claims.persons(), vec![person_id(&rennes(), "R-ANGELE")]);
    assert!(claims.may_act_for(&pupil_id(&rennes(), "E-LUCAS")));
    assert!(!claims.may_act_for(&pupil_id(&versailles(), "E-MARC")));

    // The homonym's son alone, even with the right date, is not enough for
    // Angèle's record: her children's dates are wrong.
    let world = World::start(Kind::FranceConnect, Some(both_academies())).await;
    let (html, cookie) = challenge(&world).await;
    let marc = index_of(&html, "M", "École Jean Jaurès");
    let form = format!("day_{marc}=15&month_{marc}=1&year_{marc}=2010");
    let response = world.post("/auth/verify", &cookie, &form).await;
    // The homonym's record is confirmed (the dates fit it), Angèle's not.
    let session = world.session_of(&response).await.unwrap();
    let claims = family(&session);
    assert_eq!(
        claims.persons(),
        vec![person_id(&versailles(), "R-HOMONYM")]
    );
    assert!(!claims.may_act_for(&pupil_id(&rennes(), "E-ELOISE")));
}

#[tokio::test]
async fn not_my_child_excludes_the_child_and_is_audited() {
    let world = World::start(Kind::FranceConnect, Some(both_academies())).await;
    let (html, cookie) = challenge(&world).await;
    let eloise = index_of(&html, "É", "Collège Anne de Bretagne");
    let lucas = index_of(&html, "L", "Collège Anne de Bretagne");
    let marc = index_of(&html, "M", "École Jean Jaurès");
    let form = format!(
        "day_{eloise}=27&month_{eloise}=3&year_{eloise}=2012&day_{lucas}=1&month_{lucas}=6&year_{lucas}=2015\
         &not_mine_{marc}=1"
    );
    let response = world.post("/auth/verify", &cookie, &form).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body(&response)
    );
    let session = world.session_of(&response).await.unwrap();
    let claims = family(&session);
    assert!(claims.may_act_for(&pupil_id(&rennes(), "E-ELOISE")));
    assert!(claims.may_act_for(&pupil_id(&rennes(), "E-LUCAS")));
    assert!(!claims.may_act_for(&pupil_id(&versailles(), "E-MARC")));
    let events = world.events();
    let not_mine: Vec<&PupilId> = events
        .iter()
        .filter_map(|e| match e {
            AuditEvent::NotMyChild { pupil, .. } => Some(pupil),
            _ => None,
        })
        .collect();
    assert_eq!(not_mine, vec![&pupil_id(&versailles(), "E-MARC")]);
    // Audit events carry ids only.
    let dump = format!("{events:?}");
    assert!(!dump.contains("Angèle") && !dump.contains(SUB));

    // The exclusion holds at the next login: no challenge, the same family.
    let response = world.franceconnect_login("Angèle Claire", "DUBOIS").await;
    let session = world.session_of(&response).await.unwrap();
    assert!(!family(&session).may_act_for(&pupil_id(&versailles(), "E-MARC")));
    assert!(family(&session).may_act_for(&pupil_id(&rennes(), "E-ELOISE")));
}

#[tokio::test]
async fn no_candidate_gets_the_contact_the_school_page() {
    let world = World::start(Kind::FranceConnect, Some(both_academies())).await;
    let response = world.franceconnect_login("Zébulon", "INCONNU").await;
    assert_eq!(response.status(), StatusCode::OK, "{}", body(&response));
    let html = body(&response);
    assert!(html.contains("contactez") && html.contains("secrétariat"));
    assert_discreet(&html);
    let session = world.session_of(&response).await.expect("a session");
    let claims = family(&session);
    assert!(claims.children().is_empty() && claims.persons().is_empty());

    // A record fits the name, but its only child has no birth date to
    // confirm: the same page, byte for byte.
    let s = rennes();
    let mut b = DirectoryBuilder::new(s.clone());
    b.add_pupil(Pupil::new(pupil_id(&s, "E-NODATE"), "DUBOIS", ["Léa"]))
        .unwrap();
    b.add_person(RelatedPerson::new(
        person_id(&s, "R-Z"),
        "INCONNU",
        ["Zébulon"],
    ))
    .unwrap();
    b.add_link(Link::new(
        pupil_id(&s, "E-NODATE"),
        person_id(&s, "R-Z"),
        Relationship::Father,
    ))
    .unwrap();
    let other = World::start(
        Kind::FranceConnect,
        Some(Arc::new(MemoryDirectory::new(b.build())) as Arc<dyn Directory>),
    )
    .await;
    let response = other.franceconnect_login("Zébulon", "INCONNU").await;
    assert_eq!(body(&response), html);
}

#[tokio::test]
async fn without_a_directory_sessions_have_no_family_claims() {
    let world = World::start(Kind::FranceConnect, None).await;
    let response = world.franceconnect_login("Angèle Claire", "DUBOIS").await;
    assert_eq!(location(&response), "/livret");
    let session = world.session_of(&response).await.unwrap();
    assert!(session.family().is_none());
    assert!(matches!(
        world.gateway.family_assertion(
            &session,
            "https://bourses.example.fr",
            Duration::from_secs(60)
        ),
        Err(educonnect_core::flow::AssertionError::NoFamily)
    ));
}

#[tokio::test]
async fn verify_refuses_other_origins_and_missing_cookies() {
    let world = World::start(
        Kind::FranceConnect,
        Some(rennes_directory() as Arc<dyn Directory>),
    )
    .await;
    let (_, cookie) = challenge(&world).await;
    let request = Request::post("/auth/verify")
        .header(header::COOKIE, &cookie)
        .header(header::ORIGIN, "https://evil.example")
        .body(Bytes::from_static(b"day_0=1"))
        .unwrap();
    assert_eq!(
        world.gateway.handle(request).await.status(),
        StatusCode::BAD_REQUEST
    );
    let response = world.get("/auth/verify", &[]).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    // The refused POST did not consume the challenge.
    assert_eq!(
        world.get("/auth/verify", &[&cookie]).await.status(),
        StatusCode::OK
    );
}

#[derive(Debug, Default)]
struct Phone(Mutex<Vec<(String, String)>>);

#[async_trait::async_trait]
impl Notifier for Phone {
    async fn send_code(&self, phone: &str, code: &str) -> Result<(), NotifierError> {
        self.0
            .lock()
            .unwrap()
            .push((phone.to_owned(), code.to_owned()));
        Ok(())
    }
}

#[tokio::test]
async fn one_time_code_after_the_birth_dates_when_policy_says_so() {
    let phone = Arc::new(Phone::default());
    let notifier = phone.clone();
    let world = World::start_with(Kind::FranceConnect, Some(both_academies()), move |b| {
        b.one_time_code(notifier)
    })
    .await;
    let (html, cookie) = challenge(&world).await;
    let eloise = index_of(&html, "É", "Collège Anne de Bretagne");
    let lucas = index_of(&html, "L", "Collège Anne de Bretagne");
    let dates = format!(
        "day_{eloise}=27&month_{eloise}=3&year_{eloise}=2012&day_{lucas}=1&month_{lucas}=6&year_{lucas}=2015"
    );
    let response = world.post("/auth/verify", &cookie, &dates).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", body(&response));
    assert!(set_cookie(&response, "educonnect_session").is_none());
    let page = body(&response);
    assert!(page.contains("autocomplete=\"one-time-code\"") && page.contains("par 78"));
    assert_discreet(&page);
    // Sent to the confirmed record's mobile, never to the homonym's.
    let (number, code) = phone.0.lock().unwrap()[0].clone();
    assert_eq!(number, "06 12 34 56 78");
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()));
    assert!(!page.contains(&code));
    // The form shows the code page again until it is answered.
    let again = world.get("/auth/verify", &[&cookie]).await;
    assert!(body(&again).contains("Code reçu"));

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let response = world
        .post("/auth/verify", &cookie, &format!("code={wrong}"))
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(set_cookie(&response, "educonnect_session").is_none());

    let response = world
        .post("/auth/verify", &cookie, &format!("code={code}"))
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body(&response)
    );
    let session = world.session_of(&response).await.unwrap();
    let child = family(&session)
        .child(&pupil_id(&rennes(), "E-ELOISE"))
        .unwrap()
        .clone();
    assert_eq!(child.verification(), Verification::BirthDatesAndOneTimeCode);
}

#[tokio::test]
async fn one_time_codes_expire_after_five_minutes_and_three_tries() {
    let phone = Arc::new(Phone::default());
    let notifier = phone.clone();
    let world = World::start_with(Kind::FranceConnect, Some(both_academies()), move |b| {
        b.one_time_code(notifier)
    })
    .await;
    for case in ["expired", "tries"] {
        let (html, cookie) = challenge(&world).await;
        let eloise = index_of(&html, "É", "Collège Anne de Bretagne");
        let lucas = index_of(&html, "L", "Collège Anne de Bretagne");
        let dates = format!(
            "day_{eloise}=27&month_{eloise}=3&year_{eloise}=2012&day_{lucas}=1&month_{lucas}=6&year_{lucas}=2015"
        );
        let response = world.post("/auth/verify", &cookie, &dates).await;
        assert_eq!(response.status(), StatusCode::OK);
        let code = phone.0.lock().unwrap().last().unwrap().1.clone();
        let wrong = if code == "000000" { "111111" } else { "000000" };
        if case == "expired" {
            world.clock.advance(Duration::from_secs(5 * 60 + 1));
        } else {
            for _ in 0..3 {
                let r = world
                    .post("/auth/verify", &cookie, &format!("code={wrong}"))
                    .await;
                assert!(set_cookie(&r, "educonnect_session").is_none());
            }
        }
        let response = world
            .post("/auth/verify", &cookie, &format!("code={code}"))
            .await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{case}");
        assert!(
            set_cookie(&response, "educonnect_session").is_none(),
            "{case}"
        );
    }
}

// --- EduConnect ------------------------------------------------------------

#[tokio::test]
async fn educonnect_guardian_gets_children_through_aaf_ids_in_two_academies() {
    let world = World::start(Kind::EduConnect, Some(both_academies())).await;
    let response = world
        .log_in_with(json!({
            "sub": SUB,
            "FrEduCtPersonAffiliation": ["resp2d", "resp1d"],
            "FrEduCtRefId": ["{AAF}14|x|R-ANGELE", "{AAF}25|x|R-ANGELE-78", "{AAF}99|x|ELSEWHERE"],
            "given_name": "Angèle", "family_name": "MARTIN-DUBOIS",
        }))
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body(&response)
    );
    let session = world.session_of(&response).await.unwrap();
    let claims = family(&session);
    assert_eq!(claims.profile(), Profile::Guardian);
    assert_eq!(
        claims.persons(),
        vec![
            person_id(&rennes(), "R-ANGELE"),
            person_id(&versailles(), "R-ANGELE-78")
        ]
    );
    assert_eq!(claims.children().len(), 4);
    assert!(
        claims
            .children()
            .iter()
            .all(|c| c.verification() == Verification::EduConnect)
    );
    let ines = pupil_id(&versailles(), "E-INES");
    let noe = pupil_id(&versailles(), "E-NOE");
    assert!(claims.may_act_for(&ines) && claims.has_legal_authority_over(&ines));
    // A grandparent's link (code 38), without legal authority: in the
    // claims, but acting for Noé needs a policy that admits family members.
    assert!(claims.child(&noe).is_some());
    assert!(!claims.may_act_for(&noe) && !claims.has_legal_authority_over(&noe));
    assert_eq!(claims.policy(), ActForPolicy::LegalGuardians);
    let wider = claims.clone().with_policy(ActForPolicy::FamilyMembers);
    assert!(wider.may_act_for(&noe) && !wider.has_legal_authority_over(&noe));
    assert!(claims.has_legal_authority_over_ine(&Ine::parse("0987654321B").unwrap()));
    assert!(!claims.may_act_for(&pupil_id(&versailles(), "E-MARC")));
    assert!(!claims.has_legal_authority_over(&pupil_id(&versailles(), "E-MARC")));
}

#[tokio::test]
async fn finding_6_the_gateways_act_for_policy_is_written_into_the_claims() {
    let world = World::start_with(Kind::EduConnect, Some(both_academies()), |b| {
        b.act_for_policy(ActForPolicy::FamilyMembers)
    })
    .await;
    let response = world
        .log_in_with(json!({
            "sub": SUB,
            "FrEduCtPersonAffiliation": ["resp2d"],
            "FrEduCtRefId": ["{AAF}25|x|R-ANGELE-78"],
            "given_name": "Angèle", "family_name": "MARTIN-DUBOIS",
        }))
        .await;
    let session = world.session_of(&response).await.unwrap();
    let claims = family(&session);
    assert_eq!(claims.policy(), ActForPolicy::FamilyMembers);
    // The grandmother's link to Noé now lets her read, not decide.
    let noe = pupil_id(&versailles(), "E-NOE");
    assert!(claims.may_act_for(&noe) && !claims.has_legal_authority_over(&noe));
}

#[tokio::test]
async fn educonnect_pupil_gets_a_pupil_profile() {
    let world = World::start(Kind::EduConnect, Some(both_academies())).await;
    let response = world
        .log_in_with(json!({
            "sub": SUB,
            "FrEduCtPersonAffiliation": ["eleve2d"],
            "FrEduCtRefId": "{AAF}14|x|E-ELOISE",
            "FrEduCtEleveUAI": "0350001L", "FrEduCtEleveINE": "123456789AB",
            "given_name": "Éloïse", "family_name": "DUBOIS",
        }))
        .await;
    let session = world.session_of(&response).await.unwrap();
    let claims = family(&session);
    assert_eq!(claims.profile(), Profile::Pupil);
    assert!(claims.children().is_empty());
    assert_eq!(claims.own_uai(), Some(uai("0350001L")));
    assert_eq!(claims.own_ine(), Some(Ine::parse("123456789AB").unwrap()));
    assert_eq!(
        claims.pupil().unwrap().id(),
        Some(&pupil_id(&rennes(), "E-ELOISE"))
    );
    // The pupil reads their own records (the rule of the adapters'
    // extractors), and decides nothing.
    assert!(claims.may_act_for(&pupil_id(&rennes(), "E-ELOISE")));
    assert!(!claims.has_legal_authority_over(&pupil_id(&rennes(), "E-ELOISE")));
    assert!(!claims.may_act_for(&pupil_id(&rennes(), "E-LUCAS")));
}

// --- assertions ------------------------------------------------------------

#[tokio::test]
async fn family_assertion_round_trip() {
    let world = World::start(Kind::EduConnect, Some(both_academies())).await;
    let response = world
        .log_in_with(json!({
            "sub": SUB,
            "FrEduCtPersonAffiliation": ["resp2d"],
            "FrEduCtRefId": ["{AAF}25|x|R-ANGELE-78"],
            "given_name": "Angèle", "family_name": "MARTIN",
        }))
        .await;
    let session = world.session_of(&response).await.unwrap();
    let token = world
        .gateway
        .family_assertion(
            &session,
            "https://bourses.example.fr",
            Duration::from_secs(120),
        )
        .unwrap();

    let jwks = world.get("/auth/jwks", &[]).await;
    assert_eq!(jwks.status(), StatusCode::OK);
    assert_eq!(jwks.headers()[header::CACHE_CONTROL], "public, max-age=300");
    let keys = KeySet::from_jwks_json(jwks.body()).unwrap();

    let validation = Validation::new(PUBLIC_URL, "https://bourses.example.fr")
        .algorithms([Algorithm::ES256])
        .clock(world.clock.clone());
    #[derive(serde::Deserialize)]
    struct Assertion {
        family: FamilyClaims,
    }
    let verified = validation.verify::<Assertion>(&token, &keys).unwrap();
    let claims = &verified.claims().family;
    assert_eq!(claims, family(&session));
    assert!(claims.has_legal_authority_over(&pupil_id(&versailles(), "E-INES")));
    assert!(!claims.has_legal_authority_over(&pupil_id(&versailles(), "E-NOE")));

    // Another audience, or later than the ttl: refused.
    let other = Validation::new(PUBLIC_URL, "https://autre.example.fr").clock(world.clock.clone());
    assert!(other.verify::<Value>(&token, &keys).is_err());
    world.clock.advance(Duration::from_secs(600));
    assert!(validation.verify::<Assertion>(&token, &keys).is_err());
}

// --- attacks on the family link (issue 10's findings) ----------------------

const FATHER_SUB: &str = "father-sub-0000000000000000000000000000000000000000000000000000v1";
const GRANDFATHER_SUB: &str = "grandfather-sub-00000000000000000000000000000000000000000000000v1";
const FATHER_PHONE: &str = "06 00 00 00 01";
const GRANDFATHER_PHONE: &str = "06 00 00 00 02";

/// Rennes, the Dupont family: Léa (born 12 April 2013), her father Jean
/// DUPONT (legal authority) and her grandfather Jean DUPONT (no legal
/// authority), two records with the same names, each with its own mobile;
/// and Tom (born in 2016, day and month presumed), son of Paul MARTIN.
fn dupont_builder() -> DirectoryBuilder {
    let s = rennes();
    let mut b = DirectoryBuilder::new(s.clone());
    b.add_school(School::new(uai("0350001L"), "Collège Anne de Bretagne"));
    b.add_pupil(
        Pupil::new(pupil_id(&s, "E-LEA"), "DUPONT", ["Léa"])
            .with_birth_date(BirthDate::new(2013, 4, 12).unwrap())
            .with_school(uai("0350001L")),
    )
    .unwrap();
    b.add_pupil(
        Pupil::new(pupil_id(&s, "E-TOM"), "MARTIN", ["Tom"])
            .with_birth_date(BirthDate::presumed_month_and_day(2016).unwrap())
            .with_school(uai("0350001L")),
    )
    .unwrap();
    for (id, phone) in [
        ("R-FATHER", FATHER_PHONE),
        ("R-GRANDFATHER", GRANDFATHER_PHONE),
    ] {
        b.add_person(
            RelatedPerson::new(person_id(&s, id), "DUPONT", ["Jean"])
                .with_civility(educonnect_core::directory::Civility::Monsieur)
                .with_phone(PhoneKind::Mobile, phone),
        )
        .unwrap();
    }
    b.add_person(
        RelatedPerson::new(person_id(&s, "R-PAUL"), "MARTIN", ["Paul"])
            .with_phone(PhoneKind::Mobile, "06 00 00 00 03"),
    )
    .unwrap();
    b.add_link(
        Link::new(
            pupil_id(&s, "E-LEA"),
            person_id(&s, "R-FATHER"),
            Relationship::Father,
        )
        .with_legal(LegalRank::First),
    )
    .unwrap();
    b.add_link(Link::new(
        pupil_id(&s, "E-LEA"),
        person_id(&s, "R-GRANDFATHER"),
        Relationship::GrandParent,
    ))
    .unwrap();
    b.add_link(
        Link::new(
            pupil_id(&s, "E-TOM"),
            person_id(&s, "R-PAUL"),
            Relationship::Father,
        )
        .with_legal(LegalRank::First),
    )
    .unwrap();
    b
}

fn dupont_directory() -> Arc<MemoryDirectory> {
    Arc::new(MemoryDirectory::new(dupont_builder().build()))
}

fn jean_dupont() -> Value {
    json!({
        "given_name": "Jean", "family_name": "DUPONT",
        "birthdate": "1950-02-03", "gender": "male",
        "birthplace": "35238", "birthcountry": "99100",
    })
}

fn lea() -> PupilId {
    pupil_id(&rennes(), "E-LEA")
}

const LEA_RIGHT: &str = "day_0=12&month_0=4&year_0=2013";
const LEA_WRONG: &str = "day_0=13&month_0=4&year_0=2013";

/// A FranceConnect login as `sub` with `userinfo`, through to the
/// challenge: its cookie.
async fn challenge_as(world: &World, sub: &str, userinfo: Value) -> String {
    let response = world.log_in_as(sub, userinfo).await;
    assert_eq!(location(&response), "/auth/verify", "{}", body(&response));
    set_cookie(&response, "educonnect_verify").expect("a challenge cookie")
}

/// The code `phone` received last.
fn code_for(phone: &Phone, number: &str) -> String {
    phone
        .0
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|(n, _)| n == number)
        .map(|(_, c)| c.clone())
        .unwrap_or_else(|| panic!("no code sent to {number}"))
}

/// Finding 1: a grandfather who shares the father's names and knows the
/// birth date cannot take the father's legal authority: the dates cannot
/// tell the two records apart, so without a code the school must.
#[tokio::test]
async fn homonym_records_do_not_merge_rights_without_a_code_the_school_decides() {
    let world = World::start(
        Kind::FranceConnect,
        Some(dupont_directory() as Arc<dyn Directory>),
    )
    .await;
    let cookie = challenge_as(&world, GRANDFATHER_SUB, jean_dupont()).await;
    let response = world.post("/auth/verify", &cookie, LEA_RIGHT).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", body(&response));
    assert!(body(&response).contains("contactez"));
    let session = world.session_of(&response).await.unwrap();
    assert!(family(&session).children().is_empty());
    assert!(!family(&session).has_legal_authority_over(&lea()));
    // Nothing was stored: the next login asks again.
    let response = world.log_in_as(GRANDFATHER_SUB, jean_dupont()).await;
    assert_eq!(location(&response), "/auth/verify");
}

/// Finding 1, with one-time codes: each homonym record gets its own code on
/// its own phone; the grandfather's code links the grandfather's record
/// alone (no legal authority), the father's the father's.
#[tokio::test]
async fn homonym_records_are_told_apart_by_each_records_own_code() {
    let phone = Arc::new(Phone::default());
    let world = World::start_with(
        Kind::FranceConnect,
        Some(dupont_directory() as Arc<dyn Directory>),
        |b| b.one_time_code(phone.clone()),
    )
    .await;
    let cookie = challenge_as(&world, GRANDFATHER_SUB, jean_dupont()).await;
    let response = world.post("/auth/verify", &cookie, LEA_RIGHT).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", body(&response));
    let html = body(&response);
    assert!(html.contains("01") && html.contains("02"), "{html}");
    assert_eq!(phone.0.lock().unwrap().len(), 2, "one code per record");
    let code = code_for(&phone, GRANDFATHER_PHONE);
    let response = world
        .post("/auth/verify", &cookie, &format!("code={code}"))
        .await;
    let session = world.session_of(&response).await.expect("a session");
    let claims = family(&session);
    assert_eq!(
        claims.persons(),
        vec![person_id(&rennes(), "R-GRANDFATHER")]
    );
    assert!(claims.child(&lea()).is_some());
    assert!(!claims.has_legal_authority_over(&lea()));

    let cookie = challenge_as(&world, FATHER_SUB, jean_dupont()).await;
    world.post("/auth/verify", &cookie, LEA_RIGHT).await;
    let code = code_for(&phone, FATHER_PHONE);
    let response = world
        .post("/auth/verify", &cookie, &format!("code={code}"))
        .await;
    let session = world.session_of(&response).await.expect("a session");
    assert_eq!(
        family(&session).persons(),
        vec![person_id(&rennes(), "R-FATHER")]
    );
    assert!(family(&session).has_legal_authority_over(&lea()));
}

/// Finding 2: a presumed date (`00/00/2016`: one or two guesses) is never
/// proof on its own.
#[tokio::test]
async fn presumed_dates_are_never_proof_on_their_own() {
    let paul = json!({
        "given_name": "Paul", "family_name": "MARTIN",
        "birthdate": "1985-01-01", "gender": "male",
        "birthplace": "35238", "birthcountry": "99100",
    });
    let world = World::start(
        Kind::FranceConnect,
        Some(dupont_directory() as Arc<dyn Directory>),
    )
    .await;
    let cookie = challenge_as(&world, SUB, paul.clone()).await;
    let response = world
        .post("/auth/verify", &cookie, "day_0=1&month_0=1&year_0=2016")
        .await;
    let session = world.session_of(&response).await.unwrap();
    assert!(family(&session).children().is_empty(), "no code, no link");

    let phone = Arc::new(Phone::default());
    let world = World::start_with(
        Kind::FranceConnect,
        Some(dupont_directory() as Arc<dyn Directory>),
        |b| b.one_time_code(phone.clone()),
    )
    .await;
    let cookie = challenge_as(&world, SUB, paul).await;
    let response = world
        .post("/auth/verify", &cookie, "day_0=1&month_0=1&year_0=2016")
        .await;
    assert!(body(&response).contains("Code reçu"));
    let code = code_for(&phone, "06 00 00 00 03");
    let response = world
        .post("/auth/verify", &cookie, &format!("code={code}"))
        .await;
    let session = world.session_of(&response).await.unwrap();
    let child = family(&session)
        .child(&pupil_id(&rennes(), "E-TOM"))
        .unwrap()
        .clone();
    assert_eq!(child.verification(), Verification::BirthDatesAndOneTimeCode);
}

/// Finding 2: locks escalate (30 minutes, 2 hours, 24 hours), and "not my
/// child" answers count like any other.
#[tokio::test]
async fn lock_out_escalates_and_not_mine_answers_are_counted() {
    let world = World::start(
        Kind::FranceConnect,
        Some(dupont_directory() as Arc<dyn Directory>),
    )
    .await;
    for (round, lock) in [(1, "30 minutes"), (2, "2 heures"), (3, "24 heures")] {
        for attempt in 1..=5 {
            let cookie = challenge_as(&world, FATHER_SUB, jean_dupont()).await;
            // "Not mine" every time: it used to be free.
            let response = world.post("/auth/verify", &cookie, "not_mine_0=1").await;
            if attempt < 5 {
                assert_eq!(
                    response.status(),
                    StatusCode::SEE_OTHER,
                    "round {round}, attempt {attempt}: {}",
                    body(&response)
                );
            } else {
                assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
                assert!(
                    body(&response).contains(&format!("pendant {lock}")),
                    "round {round}: {}",
                    body(&response)
                );
            }
        }
        // Locked: a new login is refused at once, right answers or not.
        let response = world.log_in_as(FATHER_SUB, jean_dupont()).await;
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        let until = match round {
            1 => 30 * 60,
            2 => 2 * 3600,
            _ => 24 * 3600,
        };
        world.clock.advance(Duration::from_secs(until - 60));
        let response = world.log_in_as(FATHER_SUB, jean_dupont()).await;
        assert_eq!(
            response.status(),
            StatusCode::TOO_MANY_REQUESTS,
            "round {round}"
        );
        world.clock.advance(Duration::from_secs(61));
    }
}

/// Finding 2: a pupil's answers are capped per day across all accounts
/// (20 by default), whoever gives them.
#[tokio::test]
async fn a_pupil_gets_at_most_twenty_answer_sets_a_day_across_accounts() {
    let world = World::start(
        Kind::FranceConnect,
        Some(dupont_directory() as Arc<dyn Directory>),
    )
    .await;
    for account in 0..5 {
        let sub = format!("account-{account}-{}", "0".repeat(50));
        for _ in 0..4 {
            let cookie = challenge_as(&world, &sub, jean_dupont()).await;
            let response = world.post("/auth/verify", &cookie, LEA_WRONG).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        }
    }
    // A sixth account, never locked itself, finds Léa capped for the day.
    let response = world.log_in_as("account-6", jean_dupont()).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    world.clock.advance(Duration::from_secs(24 * 3600));
    let cookie = challenge_as(&world, "account-6", jean_dupont()).await;
    let response = world.post("/auth/verify", &cookie, LEA_WRONG).await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}

/// A store whose every operation yields to the runtime first, so that
/// concurrent requests interleave between a read and a write, as they do on
/// a network store.
#[derive(Debug)]
struct YieldingStore(MemoryStore);

#[async_trait::async_trait]
impl educonnect_core::Store for YieldingStore {
    async fn put_pending(
        &self,
        id: &str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> Result<(), educonnect_core::StoreError> {
        tokio::task::yield_now().await;
        self.0.put_pending(id, value, ttl).await
    }
    async fn take_pending(&self, id: &str) -> Result<Option<Vec<u8>>, educonnect_core::StoreError> {
        tokio::task::yield_now().await;
        self.0.take_pending(id).await
    }
    async fn create_session(
        &self,
        id: &str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> Result<(), educonnect_core::StoreError> {
        tokio::task::yield_now().await;
        self.0.create_session(id, value, ttl).await
    }
    async fn read_session(&self, id: &str) -> Result<Option<Vec<u8>>, educonnect_core::StoreError> {
        tokio::task::yield_now().await;
        self.0.read_session(id).await
    }
    async fn replace_session(
        &self,
        id: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
    ) -> Result<bool, educonnect_core::StoreError> {
        tokio::task::yield_now().await;
        self.0.replace_session(id, value, ttl).await
    }
    async fn touch_session(
        &self,
        id: &str,
        ttl: Duration,
    ) -> Result<bool, educonnect_core::StoreError> {
        tokio::task::yield_now().await;
        self.0.touch_session(id, ttl).await
    }
    async fn delete_session(&self, id: &str) -> Result<bool, educonnect_core::StoreError> {
        tokio::task::yield_now().await;
        self.0.delete_session(id).await
    }
    async fn increment_counter(
        &self,
        id: &str,
        ttl: Duration,
    ) -> Result<u64, educonnect_core::StoreError> {
        tokio::task::yield_now().await;
        self.0.increment_counter(id, ttl).await
    }
    async fn read_counter(&self, id: &str) -> Result<u64, educonnect_core::StoreError> {
        tokio::task::yield_now().await;
        self.0.read_counter(id).await
    }
    async fn reset_counter(&self, id: &str) -> Result<bool, educonnect_core::StoreError> {
        tokio::task::yield_now().await;
        self.0.reset_counter(id).await
    }
    async fn put_record(
        &self,
        id: &str,
        value: Vec<u8>,
    ) -> Result<(), educonnect_core::StoreError> {
        tokio::task::yield_now().await;
        self.0.put_record(id, value).await
    }
    async fn get_record(&self, id: &str) -> Result<Option<Vec<u8>>, educonnect_core::StoreError> {
        tokio::task::yield_now().await;
        self.0.get_record(id).await
    }
    async fn delete_record(&self, id: &str) -> Result<bool, educonnect_core::StoreError> {
        tokio::task::yield_now().await;
        self.0.delete_record(id).await
    }
}

/// Finding 3: the count is one atomic operation, decided on what it
/// returns: twelve guesses sent at once (from twelve challenges of the same
/// person), the right one last, get five checks, and the right one is
/// never looked at.
#[tokio::test]
async fn concurrent_answer_sets_cannot_exceed_the_attempt_limit() {
    let world = World::start_with(
        Kind::FranceConnect,
        Some(rennes_directory() as Arc<dyn Directory>),
        |b| b.store(Arc::new(YieldingStore(MemoryStore::new()))),
    )
    .await;
    let mut forms = Vec::new();
    for guess in 1..=12u8 {
        let (html, cookie) = challenge(&world).await;
        let eloise = index_of(&html, "É", "Collège Anne de Bretagne");
        let lucas = index_of(&html, "L", "Collège Anne de Bretagne");
        let day = if guess == 12 { 27 } else { guess };
        forms.push((
            cookie,
            format!(
                "day_{eloise}={day}&month_{eloise}=3&year_{eloise}=2012\
                 &day_{lucas}=1&month_{lucas}=6&year_{lucas}=2015"
            ),
        ));
    }
    let responses = futures_join_all(
        forms
            .iter()
            .map(|(cookie, form)| world.post("/auth/verify", cookie, form)),
    )
    .await;
    let statuses: Vec<StatusCode> = responses.iter().map(|r| r.status()).collect();
    assert!(
        statuses
            .iter()
            .all(|s| matches!(*s, StatusCode::BAD_REQUEST | StatusCode::TOO_MANY_REQUESTS)),
        "{statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::BAD_REQUEST)
            .count()
            <= 5,
        "{statuses:?}"
    );
}

/// Runs the futures concurrently on this task, in the order given.
async fn futures_join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let mut set = Vec::new();
    for future in futures {
        set.push(Box::pin(future));
    }
    let mut outputs: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in set.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *output = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(Option::unwrap).collect()
}

/// Finding 7: a record whose first given name is not one of the person's,
/// or whose civility contradicts their gender, is no candidate; and giving
/// "not mine" for everything is not free (see the escalation test).
#[tokio::test]
async fn matching_needs_the_first_given_name_and_a_consistent_civility() {
    let world = World::start(
        Kind::FranceConnect,
        Some(dupont_directory() as Arc<dyn Directory>),
    )
    .await;
    // "Jean-Pierre" is not "Jean"; before, a prefix of the given names was
    // enough.
    let mut jean_pierre = jean_dupont();
    jean_pierre["given_name"] = json!("Jean-Pierre");
    let response = world.log_in_as(SUB, jean_pierre).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the contact-the-school page"
    );
    // A woman named Jean DUPONT does not fit records of "M." Jean DUPONT.
    let mut jeanne = jean_dupont();
    jeanne["gender"] = json!("female");
    let response = world.log_in_as("another-sub", jeanne).await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "the contact-the-school page"
    );
    assert!(body(&response).contains("contactez"));
}

/// Finding 8: a homonym's failures lock the homonym, never the real parent.
#[tokio::test]
async fn a_homonyms_failures_never_lock_the_real_parent_out() {
    let phone = Arc::new(Phone::default());
    let world = World::start_with(
        Kind::FranceConnect,
        Some(dupont_directory() as Arc<dyn Directory>),
        |b| b.one_time_code(phone.clone()),
    )
    .await;
    for _ in 0..5 {
        let cookie = challenge_as(&world, GRANDFATHER_SUB, jean_dupont()).await;
        world.post("/auth/verify", &cookie, LEA_WRONG).await;
    }
    let response = world.log_in_as(GRANDFATHER_SUB, jean_dupont()).await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    // The father, whose record the grandfather's answers were also about.
    let cookie = challenge_as(&world, FATHER_SUB, jean_dupont()).await;
    let response = world.post("/auth/verify", &cookie, LEA_RIGHT).await;
    assert_eq!(response.status(), StatusCode::OK, "{}", body(&response));
    let code = code_for(&phone, FATHER_PHONE);
    let response = world
        .post("/auth/verify", &cookie, &format!("code={code}"))
        .await;
    let session = world.session_of(&response).await.expect("a session");
    assert!(family(&session).has_legal_authority_over(&lea()));
}

/// Finding 9: a verified link follows the directory (legal authority
/// withdrawn, record removed) at the next session refresh, and a school
/// can revoke it; the revoked record is never offered again.
#[tokio::test]
async fn links_follow_directory_imports_and_can_be_revoked() {
    let directory = rennes_directory();
    let world = World::start(
        Kind::FranceConnect,
        Some(directory.clone() as Arc<dyn Directory>),
    )
    .await;
    let (html, cookie) = challenge(&world).await;
    let eloise = index_of(&html, "É", "Collège Anne de Bretagne");
    let lucas = index_of(&html, "L", "Collège Anne de Bretagne");
    let form = format!(
        "day_{eloise}=27&month_{eloise}=3&year_{eloise}=2012&day_{lucas}=1&month_{lucas}=6&year_{lucas}=2015"
    );
    let response = world.post("/auth/verify", &cookie, &form).await;
    let session_cookie = set_cookie(&response, "educonnect_session").unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(header::COOKIE, session_cookie.parse().unwrap());
    let session = world.gateway.session(&headers).await.unwrap().unwrap();
    let eloise_id = pupil_id(&rennes(), "E-ELOISE");
    assert!(family(&session).has_legal_authority_over(&eloise_id));

    // A new export: the mother lost legal authority over Éloïse, and Lucas
    // left her record.
    let s = rennes();
    let mut b = DirectoryBuilder::from_snapshot(&directory.snapshot());
    b.remove_link(&eloise_id, &person_id(&s, "R-ANGELE"))
        .unwrap();
    b.add_link(Link::new(
        eloise_id.clone(),
        person_id(&s, "R-ANGELE"),
        Relationship::Mother,
    ))
    .unwrap();
    b.remove_link(&pupil_id(&s, "E-LUCAS"), &person_id(&s, "R-ANGELE"))
        .unwrap();
    directory.replace(b.build()).unwrap();
    world.clock.advance(Duration::from_secs(61));
    let session = world.gateway.session(&headers).await.unwrap().unwrap();
    let claims = family(&session);
    assert!(claims.child(&eloise_id).is_some());
    assert!(!claims.has_legal_authority_over(&eloise_id));
    assert!(claims.child(&pupil_id(&s, "E-LUCAS")).is_none());

    // The school revokes the record: the session loses Éloïse, and the
    // next login finds nothing to confirm.
    let revoked = world
        .gateway
        .revoke_guardian_record(&person_id(&s, "R-ANGELE"))
        .await
        .unwrap();
    assert_eq!(revoked, 1);
    world.clock.advance(Duration::from_secs(61));
    let session = world.gateway.session(&headers).await.unwrap().unwrap();
    assert!(family(&session).children().is_empty());
    let response = world.franceconnect_login("Angèle Claire", "DUBOIS").await;
    assert_eq!(response.status(), StatusCode::OK, "{}", body(&response));
    assert!(body(&response).contains("contactez"));
}

/// Finding 10: a link to an academy the gateway no longer serves shows the
/// other children, and that academy's as unavailable, instead of a 503.
#[tokio::test]
async fn a_link_to_an_academy_not_served_shows_the_other_children() {
    let store = Arc::new(MemoryStore::new());
    let world = World::start_with(Kind::FranceConnect, Some(both_academies()), |b| {
        b.store(store.clone())
    })
    .await;
    let (html, cookie) = challenge(&world).await;
    let eloise = index_of(&html, "É", "Collège Anne de Bretagne");
    let lucas = index_of(&html, "L", "Collège Anne de Bretagne");
    let marc = index_of(&html, "M", "École Jean Jaurès");
    // The homonym's record is confirmed too, in this made-up family: both
    // academies hold a record of the person.
    let form = format!(
        "day_{eloise}=27&month_{eloise}=3&year_{eloise}=2012&day_{lucas}=1&month_{lucas}=6&year_{lucas}=2015\
         &day_{marc}=15&month_{marc}=1&year_{marc}=2010"
    );
    let response = world.post("/auth/verify", &cookie, &form).await;
    assert!(world.session_of(&response).await.is_some());

    // The service now serves Rennes only.
    let world = World::start_with(
        Kind::FranceConnect,
        Some(rennes_directory() as Arc<dyn Directory>),
        |b| b.store(store.clone()),
    )
    .await;
    let response = world.franceconnect_login("Angèle Claire", "DUBOIS").await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body(&response)
    );
    let session = world.session_of(&response).await.unwrap();
    let claims = family(&session);
    assert!(claims.may_act_for(&pupil_id(&rennes(), "E-ELOISE")));
    assert_eq!(
        claims.unavailable(),
        vec![pupil_id(&versailles(), "E-MARC")]
    );
    assert!(!claims.may_act_for(&pupil_id(&versailles(), "E-MARC")));
}

/// Finding 12: one-time codes are capped per guardian record per day,
/// whoever asks, so that nobody can flood a parent's phone.
#[tokio::test]
async fn one_time_codes_are_capped_per_record_per_day() {
    let phone = Arc::new(Phone::default());
    let world = World::start_with(
        Kind::FranceConnect,
        Some(dupont_directory() as Arc<dyn Directory>),
        |b| b.one_time_code(phone.clone()),
    )
    .await;
    for _ in 0..5 {
        let cookie = challenge_as(&world, GRANDFATHER_SUB, jean_dupont()).await;
        world.post("/auth/verify", &cookie, LEA_RIGHT).await;
    }
    let to_father = phone
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|(n, _)| n == FATHER_PHONE)
        .count();
    assert_eq!(to_father, 3);
}

/// Failures are typed: the response carries the reason as a
/// `LoginFailure`, the page and the log line say the same.
#[tokio::test]
async fn login_failures_are_typed_in_the_response() {
    use educonnect_core::flow::LoginFailure;
    let world = World::start(
        Kind::FranceConnect,
        Some(rennes_directory() as Arc<dyn Directory>),
    )
    .await;
    let reason = |response: &Response<Bytes>| {
        response
            .extensions()
            .get::<Arc<LoginFailure>>()
            .cloned()
            .expect("a typed reason")
    };
    let response = world.post("/auth/verify", "", "day_0=1").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(matches!(
        *reason(&response),
        LoginFailure::MissingVerifyCookie
    ));
    let response = world.get("/auth/login?return_to=//evil.example", &[]).await;
    assert!(matches!(*reason(&response), LoginFailure::ReturnToRefused));
    let response = world.get("/auth/callback?state=abc&code=x", &[]).await;
    assert!(matches!(*reason(&response), LoginFailure::InvalidState));
    // A page that is no failure carries none.
    let (_, cookie) = challenge(&world).await;
    let form = world.get("/auth/verify", &[&cookie]).await;
    assert!(form.extensions().get::<Arc<LoginFailure>>().is_none());
}

/// A child the school adds to a linked record later (a younger sibling
/// entering school) is confirmed by its own birth date at the next login:
/// the children linked before stay granted, whatever the answer; a child
/// the parent says is not theirs is not asked about again.
#[tokio::test]
async fn a_child_added_to_a_linked_record_is_confirmed_on_its_own() {
    let directory = rennes_directory();
    let world = World::start(
        Kind::FranceConnect,
        Some(directory.clone() as Arc<dyn Directory>),
    )
    .await;
    let (html, cookie) = challenge(&world).await;
    let eloise = index_of(&html, "É", "Collège Anne de Bretagne");
    let lucas = index_of(&html, "L", "Collège Anne de Bretagne");
    let form = format!(
        "day_{eloise}=27&month_{eloise}=3&year_{eloise}=2012&day_{lucas}=1&month_{lucas}=6&year_{lucas}=2015"
    );
    world.post("/auth/verify", &cookie, &form).await;

    // The school adds Zoé, then Tom, to Angèle's record.
    let s = rennes();
    let mut b = DirectoryBuilder::from_snapshot(&directory.snapshot());
    for (local, name, date) in [
        ("E-ZOE", "Zoé", BirthDate::new(2019, 9, 1).unwrap()),
        ("E-TOM", "Tom", BirthDate::new(2020, 2, 2).unwrap()),
    ] {
        b.add_pupil(
            Pupil::new(pupil_id(&s, local), "DUBOIS", [name])
                .with_birth_date(date)
                .with_school(uai("0350001L")),
        )
        .unwrap();
        b.add_link(
            Link::new(
                pupil_id(&s, local),
                person_id(&s, "R-ANGELE"),
                Relationship::Mother,
            )
            .with_legal(LegalRank::First),
        )
        .unwrap();
    }
    directory.replace(b.build()).unwrap();

    // The next login asks about the two new children only.
    let response = world.franceconnect_login("Angèle Claire", "DUBOIS").await;
    assert_eq!(location(&response), "/auth/verify", "{}", body(&response));
    let cookie = set_cookie(&response, "educonnect_verify").unwrap();
    let html = body(&world.get("/auth/verify", &[&cookie]).await);
    assert_eq!(html.matches("<fieldset>").count(), 2, "{html}");
    let zoe = index_of(&html, "Z", "Collège Anne de Bretagne");
    let tom = index_of(&html, "T", "Collège Anne de Bretagne");
    // A wrong date: asked again, nothing lost.
    let response = world
        .post(
            "/auth/verify",
            &cookie,
            &format!("day_{zoe}=2&month_{zoe}=9&year_{zoe}=2019&not_mine_{tom}=1"),
        )
        .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let response = world
        .post(
            "/auth/verify",
            &cookie,
            &format!("day_{zoe}=1&month_{zoe}=9&year_{zoe}=2019&not_mine_{tom}=1"),
        )
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body(&response)
    );
    let session = world.session_of(&response).await.unwrap();
    let claims = family(&session);
    for local in ["E-ELOISE", "E-LUCAS", "E-ZOE"] {
        assert!(
            claims.has_legal_authority_over(&pupil_id(&s, local)),
            "{local}"
        );
    }
    assert!(!claims.may_act_for(&pupil_id(&s, "E-TOM")));

    // Tom, declined, is not asked about again.
    let response = world.franceconnect_login("Angèle Claire", "DUBOIS").await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{}",
        body(&response)
    );
    let session = world
        .session_of(&response)
        .await
        .expect("a session, no challenge");
    assert_eq!(family(&session).children().len(), 3);
}
