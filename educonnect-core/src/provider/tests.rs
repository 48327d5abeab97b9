use serde_json::{Map, Value, json};

use super::*;
use crate::birthdate::{BirthDateError, DatePrecision};
use crate::ids::{IdError, IneKind};
use crate::jose::Acr;

use UserinfoClaim as C;

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

fn with(mut claims: Map<String, Value>, name: &str, value: Value) -> Map<String, Value> {
    claims.insert(name.to_owned(), value);
    claims
}

fn without(mut claims: Map<String, Value>, name: &str) -> Map<String, Value> {
    assert!(claims.remove(name).is_some(), "{name} not in the fixture");
    claims
}

const SUB: &str = "b6048e95bb134ec5b1d1e1fa69f287172e91722b9354d637a1bcf2ebb0fd2ef5v1";

/// FranceConnect's demo identity `test`.
fn angela() -> Map<String, Value> {
    obj(json!({
        "sub": SUB,
        "given_name": "Angela Claire Louise",
        "family_name": "DUBOIS",
        "birthdate": "1962-08-24",
        "gender": "female",
        "birthplace": "75107",
        "birthcountry": "99100",
        "aud": "client", "iss": FranceConnect::SANDBOX_ISSUER, "iat": 1, "exp": 2,
    }))
}

fn pivot(claims: &Map<String, Value>) -> Result<PivotIdentity, IdentityError> {
    PivotIdentity::from_claims(claims)
}

fn pivot_err(claims: Map<String, Value>) -> IdentityError {
    pivot(&claims).expect_err("should be refused")
}

// --- presets ---------------------------------------------------------------

#[test]
fn franceconnect_sandbox_endpoints() {
    let fc = FranceConnect::sandbox();
    let e = fc.endpoints();
    let base = "https://fcp-low.sbx.dev-franceconnect.fr/api/v2";
    assert_eq!(e.issuer().as_str(), base);
    assert_eq!(e.authorization().as_str(), format!("{base}/authorize"));
    assert_eq!(e.token().as_str(), format!("{base}/token"));
    assert_eq!(e.userinfo().as_str(), format!("{base}/userinfo"));
    assert_eq!(e.jwks().unwrap().as_str(), format!("{base}/jwks"));
    assert_eq!(
        e.end_session().unwrap().as_str(),
        format!("{base}/session/end")
    );
    assert_eq!(
        fc.discovery_url().as_str(),
        format!("{base}/.well-known/openid-configuration")
    );
    assert_eq!(fc.kind(), ProviderKind::FranceConnect);
}

#[test]
fn franceconnect_production_endpoints() {
    let fc = FranceConnect::production();
    let base = "https://oidc.franceconnect.gouv.fr/api/v2";
    assert_eq!(fc.endpoints().issuer(), &base);
    assert_eq!(
        fc.endpoints().authorization().as_str(),
        format!("{base}/authorize")
    );
    assert_eq!(
        fc.endpoints().end_session().unwrap().as_str(),
        format!("{base}/session/end")
    );
}

#[test]
fn franceconnect_custom_issuer() {
    // A local sandbox over http on loopback; a trailing slash is dropped
    // when deriving endpoints, but the issuer stays exactly as written.
    let fc = FranceConnect::custom("http://localhost:7000/api/v2/").unwrap();
    assert_eq!(
        fc.endpoints().issuer().as_str(),
        "http://localhost:7000/api/v2/"
    );
    assert_eq!(
        fc.endpoints().token().as_str(),
        "http://localhost:7000/api/v2/token"
    );
    assert_eq!(
        fc.discovery_url().as_str(),
        "http://localhost:7000/api/v2/.well-known/openid-configuration"
    );
    assert!(FranceConnect::custom("http://127.0.0.1:7000/api/v2").is_ok());
    assert!(FranceConnect::custom("http://[::1]:7000/api/v2").is_ok());
}

#[test]
fn issuer_is_compared_as_written() {
    let issuer = Issuer::parse("https://FC.example:443/api/v2").unwrap();
    assert_eq!(issuer.as_str(), "https://FC.example:443/api/v2");
    // The URL form is normalized; comparison never uses it.
    assert_eq!(issuer.url().as_str(), "https://fc.example/api/v2");
    assert!(issuer != "https://fc.example/api/v2");
    assert!(issuer == "https://FC.example:443/api/v2");
    assert_ne!(issuer, Issuer::parse("https://fc.example/api/v2").unwrap());
    assert_eq!(issuer.to_string(), "https://FC.example:443/api/v2");
}

#[test]
fn insecure_or_odd_issuers_are_refused() {
    let cases = [
        ("fcp.example/api/v2", ConfigError::InvalidUrl),
        ("", ConfigError::InvalidUrl),
        ("http://fc.example/api/v2", ConfigError::InsecureUrl),
        (
            "http://localhost.evil.example/api/v2",
            ConfigError::InsecureUrl,
        ),
        ("ftp://fc.example/api/v2", ConfigError::InsecureUrl),
        (
            "https://fc.example/api/v2?x=1",
            ConfigError::IssuerWithQuery,
        ),
        ("https://fc.example/api/v2#x", ConfigError::UrlWithFragment),
        ("https://user:pw@fc.example/api/v2", ConfigError::InvalidUrl),
    ];
    for (issuer, error) in cases {
        assert_eq!(FranceConnect::custom(issuer), Err(error), "{issuer:?}");
    }
}

#[test]
fn endpoints_are_checked_like_the_issuer() {
    let issuer = Issuer::parse("https://idp.example").unwrap();
    let ok = Url::parse("https://idp.example/x").unwrap();
    let plain = Url::parse("http://idp.example/x").unwrap();
    assert_eq!(
        ProviderEndpoints::new(issuer.clone(), ok.clone(), plain.clone(), ok.clone()),
        Err(ConfigError::InsecureUrl)
    );
    let e = ProviderEndpoints::new(issuer, ok.clone(), ok.clone(), ok.clone()).unwrap();
    assert_eq!(e.jwks(), None);
    assert_eq!(e.end_session(), None);
    assert_eq!(
        e.clone().with_jwks(plain.clone()),
        Err(ConfigError::InsecureUrl)
    );
    assert_eq!(
        e.clone()
            .with_end_session(Url::parse("https://idp.example/x#f").unwrap()),
        Err(ConfigError::UrlWithFragment)
    );
    let e = e.with_jwks(ok.clone()).unwrap();
    assert_eq!(e.jwks(), Some(&ok));
}

#[test]
fn franceconnect_scopes_and_acr() {
    let fc = FranceConnect::sandbox();
    assert_eq!(
        fc.scopes().to_string(),
        "openid given_name family_name birthdate gender birthplace birthcountry"
    );
    assert!(!fc.scopes().contains("preferred_username"));
    assert_eq!(fc.acr_values(), Acr::Eidas1);

    let fc = fc.with_usage_name().with_email().with_usage_name();
    assert_eq!(
        fc.scopes().iter().collect::<Vec<_>>(),
        [
            "openid",
            "given_name",
            "family_name",
            "birthdate",
            "gender",
            "birthplace",
            "birthcountry",
            "preferred_username",
            "email"
        ]
    );

    let fc = fc
        .with_scopes(Scopes::new(["identite_pivot"]).unwrap())
        .with_acr_values(Acr::Eidas2);
    assert_eq!(fc.scopes().to_string(), "openid identite_pivot");
    assert_eq!(fc.acr_values(), Acr::Eidas2);
}

#[test]
fn scopes_are_tokens() {
    let s = Scopes::new(["ect.scope.cnx", "openid", "ect.scope.cnx"]).unwrap();
    assert_eq!(s.to_string(), "openid ect.scope.cnx");
    for bad in ["", "a b", "a\"b", "a\\b", "é", "a\tb", "a\u{7f}"] {
        assert_eq!(
            Scopes::openid().with(bad),
            Err(ConfigError::InvalidScope),
            "{bad:?}"
        );
    }
    assert_eq!(
        Scopes::new(["ok", "not ok"]),
        Err(ConfigError::InvalidScope)
    );
}

#[test]
fn educonnect_presets() {
    for (ec, base) in [
        (
            EduConnect::production(),
            "https://educonnect.education.gouv.fr/idp",
        ),
        (
            EduConnect::test(),
            "https://pr4.educonnect.phm.education.gouv.fr/idp",
        ),
    ] {
        let e = ec.endpoints();
        assert_eq!(e.issuer().as_str(), base);
        assert_eq!(
            e.authorization().as_str(),
            format!("{base}/profile/oidc/authorize")
        );
        assert_eq!(e.token().as_str(), format!("{base}/profile/oidc/token"));
        assert_eq!(
            e.userinfo().as_str(),
            format!("{base}/profile/oidc/userinfo")
        );
        assert_eq!(
            e.end_session().unwrap().as_str(),
            format!("{base}/profile/oidc/logout")
        );
        assert_eq!(e.jwks(), None);
        assert_eq!(ec.discovery_url(), None);
        assert_eq!(ec.scopes().to_string(), "openid");
        assert_eq!(ec.kind(), ProviderKind::EduConnect);
    }
}

#[test]
fn educonnect_explicit_configuration() {
    let jwks = Url::parse("https://educonnect.example/keys").unwrap();
    let discovery =
        Url::parse("https://educonnect.example/.well-known/openid-configuration").unwrap();
    let ec = EduConnect::production()
        .with_issuer(Issuer::parse("https://educonnect.example/idp/shibboleth").unwrap())
        .with_jwks(jwks.clone())
        .unwrap()
        .with_discovery(discovery.clone())
        .unwrap()
        .with_scopes(Scopes::new(["ect.scope.cnx"]).unwrap());
    assert_eq!(
        ec.endpoints().issuer().as_str(),
        "https://educonnect.example/idp/shibboleth"
    );
    // The endpoints stay those of the preset.
    assert_eq!(
        ec.endpoints().token().as_str(),
        "https://educonnect.education.gouv.fr/idp/profile/oidc/token"
    );
    assert_eq!(ec.endpoints().jwks(), Some(&jwks));
    assert_eq!(ec.discovery_url(), Some(&discovery));
    assert_eq!(ec.scopes().to_string(), "openid ect.scope.cnx");
    assert_eq!(
        EduConnect::test().with_discovery(Url::parse("http://idp.example/d").unwrap()),
        Err(ConfigError::InsecureUrl)
    );

    let u = |p: &str| Url::parse(&format!("https://idp.example{p}")).unwrap();
    let endpoints = ProviderEndpoints::new(
        Issuer::parse("https://idp.example").unwrap(),
        u("/a"),
        u("/t"),
        u("/u"),
    )
    .unwrap();
    let ec = EduConnect::with_endpoints(endpoints.clone());
    assert_eq!(ec.endpoints(), &endpoints);
    assert_eq!(ec.endpoints().end_session(), None);
}

// --- FranceConnect identité pivot --------------------------------------------

#[test]
fn demo_identity_test() {
    let p = pivot(&angela()).unwrap();
    assert_eq!(p.sub(), SUB);
    assert_eq!(p.given_names(), ["Angela", "Claire", "Louise"]);
    assert_eq!(p.family_name(), "DUBOIS");
    assert_eq!(p.usage_name(), None);
    let d = p.birthdate();
    assert_eq!((d.year(), d.month(), d.day()), (1962, 8, 24));
    assert_eq!(d.precision(), DatePrecision::Day);
    assert_eq!(p.gender(), Gender::Female);
    assert_eq!(p.birthplace().unwrap().as_str(), "75107");
    assert_eq!(p.birthcountry().as_str(), "99100");
    assert!(p.born_in_france());
    assert_eq!(p.email(), None);
}

#[test]
fn demo_identity_with_usage_name() {
    let claims = with(
        with(angela(), "family_name", json!("MERCIER")),
        "preferred_username",
        json!("DUBOIS"),
    );
    let p = pivot(&claims).unwrap();
    assert_eq!(p.family_name(), "MERCIER");
    assert_eq!(p.usage_name(), Some("DUBOIS"));
}

#[test]
fn empty_or_absent_usage_name_is_none() {
    for value in [json!(""), json!(" "), Value::Null] {
        let p = pivot(&with(angela(), "preferred_username", value)).unwrap();
        assert_eq!(p.usage_name(), None);
    }
}

#[test]
fn demo_identity_born_in_algeria() {
    let claims = with(
        with(angela(), "birthplace", json!("")),
        "birthcountry",
        json!("99352"),
    );
    let p = pivot(&claims).unwrap();
    assert_eq!(p.birthplace(), None);
    assert_eq!(p.birthcountry().as_str(), "99352");
    assert!(!p.born_in_france());
}

#[test]
fn born_abroad_with_france_as_country_is_refused() {
    assert_eq!(
        pivot_err(with(angela(), "birthplace", json!(""))),
        IdentityError::BirthplaceMissingForFrance
    );
}

#[test]
fn presumed_day() {
    let claims = with(
        with(angela(), "birthdate", json!("1992-11-01")),
        "idp_birthdate",
        json!("1992-11-00"),
    );
    let d = pivot(&claims).unwrap().birthdate();
    assert_eq!(d.precision(), DatePrecision::Month);
    assert_eq!((d.year(), d.month(), d.day()), (1992, 11, 1));
    assert!(d.matches(1992, 11, 23));
    assert!(!d.matches(1992, 12, 1));
}

#[test]
fn presumed_month_and_day() {
    let claims = with(
        with(angela(), "birthdate", json!("1992-01-01")),
        "idp_birthdate",
        json!("1992-00-00"),
    );
    let d = pivot(&claims).unwrap().birthdate();
    assert_eq!(d.precision(), DatePrecision::Year);
    assert!(d.is_presumed());
    assert!(d.matches(1992, 6, 15));
    assert!(!d.matches(1991, 1, 1));
}

#[test]
fn idp_birthdate_with_the_full_date_is_exact() {
    let claims = with(angela(), "idp_birthdate", json!("1962-08-24"));
    assert_eq!(
        pivot(&claims).unwrap().birthdate().precision(),
        DatePrecision::Day
    );
}

#[test]
fn birthdate_must_agree_with_idp_birthdate() {
    for (birthdate, raw) in [
        ("1992-11-05", "1992-11-00"), // not the completed form
        ("1992-11-01", "1992-00-00"),
        ("1992-01-01", "1993-00-00"),
        ("1962-08-24", "1962-08-25"),
        ("1992-12-01", "1992-11-00"),
    ] {
        let claims = with(
            with(angela(), "birthdate", json!(birthdate)),
            "idp_birthdate",
            json!(raw),
        );
        assert_eq!(
            pivot_err(claims),
            IdentityError::BirthDateMismatch,
            "{birthdate} {raw}"
        );
    }
}

#[test]
fn bad_idp_birthdate() {
    let cases = [
        ("1992-00-05", BirthDateError::NotInCalendar),
        ("1992-13-00", BirthDateError::NotInCalendar),
        ("1992-02-30", BirthDateError::NotInCalendar),
        ("1992-11", BirthDateError::Format),
        ("", BirthDateError::Format),
    ];
    for (raw, error) in cases {
        assert_eq!(
            pivot_err(with(angela(), "idp_birthdate", json!(raw))),
            IdentityError::Date {
                claim: C::IdpBirthdate,
                error
            },
            "{raw:?}"
        );
    }
}

#[test]
fn bad_birthdate_format() {
    for bad in [
        "24/08/1962",
        "1962-8-24",
        "19620824",
        "1962-08-24T00:00:00Z",
        "",
    ] {
        assert_eq!(
            pivot_err(with(angela(), "birthdate", json!(bad))),
            IdentityError::Date {
                claim: C::Birthdate,
                error: BirthDateError::Format
            },
            "{bad:?}"
        );
    }
}

#[test]
fn birthdate_not_in_calendar() {
    // February 30, a non-leap February 29, and a raw presumed date in
    // `birthdate` itself (FranceConnect completes it there).
    for bad in [
        "1962-02-30",
        "1900-02-29",
        "2023-02-29",
        "1962-13-01",
        "1992-11-00",
    ] {
        assert_eq!(
            pivot_err(with(angela(), "birthdate", json!(bad))),
            IdentityError::Date {
                claim: C::Birthdate,
                error: BirthDateError::NotInCalendar
            },
            "{bad:?}"
        );
    }
    let leap = pivot(&with(angela(), "birthdate", json!("2000-02-29"))).unwrap();
    assert_eq!(leap.birthdate().day(), 29);
}

#[test]
fn bad_insee_code() {
    for bad in ["7510", "751070", "2C107", "75 07", "2a004", "ABCDE"] {
        assert_eq!(
            pivot_err(with(angela(), "birthplace", json!(bad))),
            IdentityError::Id {
                claim: C::Birthplace,
                error: IdError::InseeCodeShape
            },
            "{bad:?}"
        );
    }
    let corsica = pivot(&with(angela(), "birthplace", json!("2A004"))).unwrap();
    assert_eq!(corsica.birthplace().unwrap().as_str(), "2A004");
}

#[test]
fn bad_birthcountry() {
    for bad in ["", "100", "98100", "991000", "FRANCE"] {
        assert_eq!(
            pivot_err(with(angela(), "birthcountry", json!(bad))),
            IdentityError::Id {
                claim: C::Birthcountry,
                error: IdError::InseeCountryCodeShape
            },
            "{bad:?}"
        );
    }
}

#[test]
fn gender_values() {
    let male = pivot(&with(angela(), "gender", json!("male"))).unwrap();
    assert_eq!(male.gender(), Gender::Male);
    assert_eq!(male.gender().as_str(), "male");
    for bad in ["Female", "F", "m", "", "other"] {
        assert_eq!(
            pivot_err(with(angela(), "gender", json!(bad))),
            IdentityError::UnknownGender,
            "{bad:?}"
        );
    }
}

#[test]
fn missing_sub() {
    assert_eq!(
        pivot_err(without(angela(), "sub")),
        IdentityError::Missing(C::Sub)
    );
    assert_eq!(
        pivot_err(with(angela(), "sub", Value::Null)),
        IdentityError::Missing(C::Sub)
    );
    assert_eq!(
        pivot_err(with(angela(), "sub", json!(""))),
        IdentityError::Empty(C::Sub)
    );
    assert_eq!(
        pivot_err(with(angela(), "sub", json!("a".repeat(256)))),
        IdentityError::TooLong(C::Sub)
    );
    assert!(pivot(&with(angela(), "sub", json!("a".repeat(255)))).is_ok());
}

#[test]
fn every_pivot_claim_is_required() {
    for claim in [
        C::GivenName,
        C::FamilyName,
        C::Birthdate,
        C::Gender,
        C::Birthplace,
        C::Birthcountry,
    ] {
        assert_eq!(
            pivot_err(without(angela(), claim.name())),
            IdentityError::Missing(claim),
            "{claim}"
        );
    }
}

#[test]
fn wrong_json_types() {
    let cases = [
        ("sub", json!(42), C::Sub),
        ("given_name", json!(["Angela"]), C::GivenName),
        (
            "given_name_array",
            json!("Angela Claire Louise"),
            C::GivenNameArray,
        ),
        (
            "given_name_array",
            json!(["Angela", 2, "Louise"]),
            C::GivenNameArray,
        ),
        ("family_name", json!(1), C::FamilyName),
        ("preferred_username", json!(true), C::PreferredUsername),
        ("birthdate", json!(19620824), C::Birthdate),
        ("birthdate", json!({"y": 1962}), C::Birthdate),
        ("idp_birthdate", json!(19620824), C::IdpBirthdate),
        ("gender", json!(false), C::Gender),
        ("birthplace", json!(75107), C::Birthplace),
        ("birthcountry", json!(99100), C::Birthcountry),
        ("email", json!(["a@b.example"]), C::Email),
    ];
    for (name, value, claim) in cases {
        assert_eq!(
            pivot_err(with(angela(), name, value)),
            IdentityError::WrongType(claim),
            "{name}"
        );
    }
}

#[test]
fn names_are_checked_for_blank_control_and_size() {
    assert_eq!(
        pivot_err(with(angela(), "given_name", json!("   "))),
        IdentityError::Empty(C::GivenName)
    );
    assert_eq!(
        pivot_err(with(angela(), "family_name", json!(""))),
        IdentityError::Empty(C::FamilyName)
    );
    assert_eq!(
        pivot_err(with(angela(), "family_name", json!("DUBOIS\u{1b}[31m"))),
        IdentityError::ControlCharacter(C::FamilyName)
    );
    assert_eq!(
        pivot_err(with(angela(), "given_name", json!("Angela\nClaire"))),
        IdentityError::ControlCharacter(C::GivenName)
    );
    assert_eq!(
        pivot_err(with(angela(), "family_name", json!("D".repeat(513)))),
        IdentityError::TooLong(C::FamilyName)
    );
    assert!(pivot(&with(angela(), "family_name", json!("É".repeat(512)))).is_ok());
    assert_eq!(
        pivot_err(with(angela(), "preferred_username", json!("A\u{0}"))),
        IdentityError::ControlCharacter(C::PreferredUsername)
    );
}

#[test]
fn given_names_split_on_spaces() {
    let p = pivot(&with(angela(), "given_name", json!(" Jean-Pierre  Marie "))).unwrap();
    assert_eq!(p.given_names(), ["Jean-Pierre", "Marie"]);
}

#[test]
fn given_name_array_that_agrees() {
    let p = pivot(&with(
        angela(),
        "given_name_array",
        json!(["Angela", "Claire", "Louise"]),
    ))
    .unwrap();
    assert_eq!(p.given_names(), ["Angela", "Claire", "Louise"]);
}

#[test]
fn given_name_array_keeps_a_first_name_with_a_space() {
    let claims = with(
        with(angela(), "given_name", json!("Marie Claire Louise")),
        "given_name_array",
        json!(["Marie Claire", "Louise"]),
    );
    assert_eq!(
        pivot(&claims).unwrap().given_names(),
        ["Marie Claire", "Louise"]
    );
}

#[test]
fn given_name_array_that_disagrees() {
    for array in [
        json!(["Angela", "Louise"]),
        json!(["Angela", "Louise", "Claire"]),
        json!(["Angela", "Claire", "Louise", "Marie"]),
        json!(["Angèla", "Claire", "Louise"]),
        json!([]),
    ] {
        assert_eq!(
            pivot_err(with(angela(), "given_name_array", array.clone())),
            IdentityError::GivenNamesMismatch,
            "{array}"
        );
    }
    assert_eq!(
        pivot_err(with(
            angela(),
            "given_name_array",
            json!(["Angela", "", "Claire", "Louise"])
        )),
        IdentityError::Empty(C::GivenNameArray)
    );
}

#[test]
fn email_is_optional() {
    let p = pivot(&with(
        angela(),
        "email",
        json!("angela.dubois@example.invalid"),
    ))
    .unwrap();
    assert_eq!(p.email(), Some("angela.dubois@example.invalid"));
    assert_eq!(
        pivot(&with(angela(), "email", json!(""))).unwrap().email(),
        None
    );
}

#[test]
fn pivot_debug_shows_no_personal_data() {
    let claims = with(
        with(
            with(angela(), "preferred_username", json!("MERCIER")),
            "email",
            json!("angela.dubois@example.invalid"),
        ),
        "idp_birthdate",
        json!("1962-08-24"),
    );
    let p = pivot(&claims).unwrap();
    let shown = format!("{p:?} {p:#?} {:?}", Identity::FranceConnect(p.clone()));
    assert!(shown.contains("sha256:"));
    for secret in [
        "DUBOIS", "Angela", "Claire", "Louise", "MERCIER", "1962", "08-24", "75107", "99100",
        "emale", "example",
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

#[test]
fn errors_do_not_repeat_values() {
    let cases = [
        ("birthdate", "1962-02-30"),
        ("idp_birthdate", "1961-00-00"),
        ("birthplace", "7510X"),
        ("birthcountry", "99X00"),
        ("gender", "féminin"),
        ("family_name", "DUBOIS\u{7}"),
    ];
    for (name, value) in cases {
        let error = pivot_err(with(angela(), name, json!(value)));
        let shown = format!("{error} {error:?}");
        let visible = value.trim_matches(char::is_control);
        assert!(!shown.contains(visible), "{shown}");
    }
}

// --- EduConnect ------------------------------------------------------------

/// The shape of the public fixture in educonnect.md, with values that pass
/// the identifier checks (the fixture's own fake UAI and INE do not).
fn pupil_claims() -> Map<String, Value> {
    obj(json!({
        "sub": "abcdef",
        "FrEduCtPersonAffiliation": ["eleve2d"],
        "FrEduOrigAuth": "ECT",
        "FrEduCtEleveUAI": "0750654D",
        "given_name": "John",
        "FrEduCtEleveINE": "123456789AB",
        "family_name": "DOE",
        "FrEduCtEleveNiveau": "2211",
        "FrEduCtDateConnexion": "2025-01-22 10:36:11.979"
    }))
}

fn guardian_claims() -> Map<String, Value> {
    obj(json!({
        "sub": "0f3c9a",
        "FrEduCtPersonAffiliation": ["resp2d", "resp1d", "resp2d"],
        "FrEduOrigAuth": "FC",
        "FrEduCtId": "ECT-000123",
        "FrEduCtRefId": ["{AAF}14|x|7654321", "{AAF}25||G1234", "{SIECLE}99"],
        "given_name": "Jane",
        "family_name": "DOE",
        "FrEduCtDateNaissance": "1980-02-29",
        "FrEduCtEleveUAI": "not read for guardians",
        "FrEduCtDateConnexion": "2025-01-22 10:36:11.979"
    }))
}

fn ec(claims: &Map<String, Value>) -> Result<EduConnectIdentity, IdentityError> {
    EduConnectIdentity::from_claims(claims)
}

fn ec_err(claims: Map<String, Value>) -> IdentityError {
    ec(&claims).expect_err("should be refused")
}

#[test]
fn educonnect_pupil() {
    let p = ec(&pupil_claims()).unwrap();
    assert_eq!(p.sub(), "abcdef");
    assert_eq!(p.profile(), Profile::Pupil);
    assert_eq!(
        p.affiliations(),
        [Affiliation {
            profile: Profile::Pupil,
            level: SchoolLevel::Secondary
        }]
    );
    assert_eq!(p.given_name(), "John");
    assert_eq!(p.family_name(), "DOE");
    assert_eq!(p.auth_origin(), Some(AuthOrigin::EduConnectAccount));
    assert_eq!(p.educonnect_id(), None);
    assert!(p.ref_ids().is_empty());
    assert_eq!(p.birth_date(), None);
    let school = p.pupil().unwrap();
    assert_eq!(school.uai().unwrap().as_str(), "0750654D");
    let ine = school.ine().unwrap();
    assert_eq!(ine.as_str(), "123456789AB");
    assert_eq!(ine.kind(), IneKind::Rnie);
    assert_eq!(school.ine_hash(), None);
    assert_eq!(school.level(), Some("2211"));
}

#[test]
fn educonnect_primary_pupil_with_ine_hash_only() {
    let claims = with(
        with(
            without(pupil_claims(), "FrEduCtEleveINE"),
            "FrEduCtPersonAffiliation",
            json!(["eleve1d"]),
        ),
        "FrEduCtEleveINEHash",
        json!("0123456789abcdef0123456789ABCDEF"),
    );
    let p = ec(&claims).unwrap();
    assert_eq!(p.affiliations()[0].level, SchoolLevel::Primary);
    let school = p.pupil().unwrap();
    assert_eq!(school.ine(), None);
    assert_eq!(school.ine_hash(), Some("0123456789abcdef0123456789ABCDEF"));
}

#[test]
fn educonnect_guardian() {
    let g = ec(&guardian_claims()).unwrap();
    assert_eq!(g.profile(), Profile::Guardian);
    // Sorted, duplicate dropped.
    assert_eq!(
        g.affiliations()
            .iter()
            .map(|a| a.as_str())
            .collect::<Vec<_>>(),
        ["resp1d", "resp2d"]
    );
    assert_eq!(g.educonnect_id(), Some("ECT-000123"));
    assert_eq!(g.auth_origin(), Some(AuthOrigin::FranceConnect));
    assert!(g.pupil().is_none());
    let d = g.birth_date().unwrap();
    assert_eq!((d.year(), d.month(), d.day()), (1980, 2, 29));

    let aaf: Vec<_> = g.aaf_ids().collect();
    assert_eq!(aaf.len(), 2);
    assert_eq!(
        (aaf[0].academy(), aaf[0].qualifier(), aaf[0].join_key()),
        ("14", "x", "7654321")
    );
    assert_eq!(
        (aaf[1].academy(), aaf[1].qualifier(), aaf[1].join_key()),
        ("25", "", "G1234")
    );
    assert_eq!(g.ref_ids().len(), 3);
    assert_eq!(g.ref_ids()[2], RefId::Other("{SIECLE}99".to_owned()));
}

#[test]
fn educonnect_single_ref_id_as_a_string() {
    let g = ec(&with(
        guardian_claims(),
        "FrEduCtRefId",
        json!("{AAF}14|x|7654321"),
    ))
    .unwrap();
    assert_eq!(
        g.aaf_ids().map(AafId::join_key).collect::<Vec<_>>(),
        ["7654321"]
    );
    let g = ec(&with(
        guardian_claims(),
        "FrEduCtRefId",
        json!(["{AAF}14|x|1", "{AAF}14|x|1"]),
    ))
    .unwrap();
    assert_eq!(g.ref_ids().len(), 1);
}

#[test]
fn the_published_fixture_has_a_wrong_uai_key() {
    let claims = obj(
        json!({"sub":"abcdef","FrEduCtPersonAffiliation":["eleve2d"],"FrEduOrigAuth":"ECT",
        "FrEduCtEleveUAI":"0379142G","given_name":"John","FrEduCtEleveINE":"1234567890",
        "family_name":"DOE","FrEduCtEleveNiveau":"2211","FrEduCtDateConnexion":"2025-01-22 10:36:11.979"}),
    );
    assert_eq!(
        ec_err(claims),
        IdentityError::Id {
            claim: C::FrEduCtEleveUai,
            error: IdError::UaiCheckLetter
        }
    );
}

#[test]
fn educonnect_bad_uai() {
    assert_eq!(
        ec_err(with(pupil_claims(), "FrEduCtEleveUAI", json!("0750654E"))),
        IdentityError::Id {
            claim: C::FrEduCtEleveUai,
            error: IdError::UaiCheckLetter
        }
    );
    assert_eq!(
        ec_err(with(pupil_claims(), "FrEduCtEleveUAI", json!("750654D"))),
        IdentityError::Id {
            claim: C::FrEduCtEleveUai,
            error: IdError::UaiShape
        }
    );
    let none = ec(&with(pupil_claims(), "FrEduCtEleveUAI", json!(""))).unwrap();
    assert_eq!(none.pupil().unwrap().uai(), None);
}

#[test]
fn educonnect_bad_ine() {
    assert_eq!(
        ec_err(with(pupil_claims(), "FrEduCtEleveINE", json!("1234567890"))),
        IdentityError::Id {
            claim: C::FrEduCtEleveIne,
            error: IdError::IneShape
        }
    );
    for bad in [
        "abc",
        "0123456789abcdef0123456789abcde-",
        "0123456789abcdef0123456789abcdef0",
    ] {
        assert_eq!(
            ec_err(with(pupil_claims(), "FrEduCtEleveINEHash", json!(bad))),
            IdentityError::IneHashShape,
            "{bad}"
        );
    }
}

#[test]
fn bad_affiliation() {
    for bad in ["parent", "Eleve2d", "eleve3d", "resp2D", ""] {
        assert_eq!(
            ec_err(with(
                pupil_claims(),
                "FrEduCtPersonAffiliation",
                json!([bad])
            )),
            IdentityError::UnknownAffiliation,
            "{bad:?}"
        );
    }
    assert_eq!(
        ec_err(with(pupil_claims(), "FrEduCtPersonAffiliation", json!([]))),
        IdentityError::NoAffiliation
    );
    assert_eq!(
        ec_err(without(pupil_claims(), "FrEduCtPersonAffiliation")),
        IdentityError::Missing(C::FrEduCtPersonAffiliation)
    );
    assert_eq!(
        ec_err(with(
            pupil_claims(),
            "FrEduCtPersonAffiliation",
            json!(["eleve2d", "resp2d"])
        )),
        IdentityError::MixedAffiliations
    );
    for wrong in [json!("eleve2d"), json!([2]), json!({"eleve2d": true})] {
        assert_eq!(
            ec_err(with(pupil_claims(), "FrEduCtPersonAffiliation", wrong)),
            IdentityError::WrongType(C::FrEduCtPersonAffiliation)
        );
    }
}

#[test]
fn malformed_aaf_ref_ids() {
    for bad in [
        "{AAF}",
        "{AAF}14",
        "{AAF}14|x",
        "{AAF}14|x|k|extra",
        "{AAF}|x|k",
        "{AAF}RN|x|k",
        "{AAF}1234|x|k",
        "{AAF} 14|x|k",
        "{AAF}14|x|",
        "{AAF}14|x| ",
        "{AAF}14|x|k\n",
    ] {
        assert_eq!(
            ec_err(with(guardian_claims(), "FrEduCtRefId", json!([bad]))),
            IdentityError::MalformedAafRefId,
            "{bad:?}"
        );
    }
    // The prefix is case-sensitive: anything else is another source.
    let g = ec(&with(
        guardian_claims(),
        "FrEduCtRefId",
        json!(["{aaf}14|x|k"]),
    ))
    .unwrap();
    assert_eq!(g.aaf_ids().count(), 0);
    assert_eq!(
        ec_err(with(guardian_claims(), "FrEduCtRefId", json!([""]))),
        IdentityError::Empty(C::FrEduCtRefId)
    );
    assert_eq!(
        ec_err(with(guardian_claims(), "FrEduCtRefId", json!(14))),
        IdentityError::WrongType(C::FrEduCtRefId)
    );
}

#[test]
fn educonnect_required_and_typed_claims() {
    for claim in [C::Sub, C::GivenName, C::FamilyName] {
        assert_eq!(
            ec_err(without(pupil_claims(), claim.name())),
            IdentityError::Missing(claim)
        );
    }
    let cases = [
        ("sub", json!(1), C::Sub),
        ("given_name", json!(null), C::GivenName),
        ("FrEduCtId", json!(7), C::FrEduCtId),
        ("FrEduCtEleveUAI", json!(750654), C::FrEduCtEleveUai),
        (
            "FrEduCtEleveINE",
            json!(["123456789AB"]),
            C::FrEduCtEleveIne,
        ),
        ("FrEduCtEleveNiveau", json!(2211), C::FrEduCtEleveNiveau),
        ("FrEduOrigAuth", json!(true), C::FrEduOrigAuth),
        (
            "FrEduCtDateNaissance",
            json!(20100101),
            C::FrEduCtDateNaissance,
        ),
    ];
    for (name, value, claim) in cases {
        let expected = if value.is_null() {
            IdentityError::Missing(claim)
        } else {
            IdentityError::WrongType(claim)
        };
        assert_eq!(
            ec_err(with(pupil_claims(), name, value)),
            expected,
            "{name}"
        );
    }
    assert_eq!(
        ec_err(with(
            pupil_claims(),
            "FrEduCtDateNaissance",
            json!("2010-02-29")
        )),
        IdentityError::Date {
            claim: C::FrEduCtDateNaissance,
            error: BirthDateError::NotInCalendar
        }
    );
}

#[test]
fn educonnect_debug_shows_no_personal_data() {
    let p = ec(&with(
        pupil_claims(),
        "FrEduCtDateNaissance",
        json!("2010-05-17"),
    ))
    .unwrap();
    let g = ec(&guardian_claims()).unwrap();
    let shown = format!(
        "{p:?} {g:?} {:?} {:?} {:?} {:?}",
        Identity::EduConnect(g.clone()),
        g.ref_ids(),
        p.pupil(),
        p.pupil().unwrap().ine(),
    );
    assert!(shown.contains("sha256:") && shown.contains("Pupil") && shown.contains("Guardian"));
    for secret in [
        "John",
        "Jane",
        "DOE",
        "2010",
        "1980",
        "0750654D",
        "123456789AB",
        "7654321",
        "G1234",
        "ECT-000123",
        "SIECLE",
    ] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

// --- Identity --------------------------------------------------------------

#[test]
fn identity_dispatches_on_the_provider_kind() {
    let fc = Identity::from_claims(ProviderKind::FranceConnect, &angela()).unwrap();
    assert_eq!(fc.kind(), ProviderKind::FranceConnect);
    assert_eq!(fc.sub(), SUB);
    assert!(matches!(fc, Identity::FranceConnect(_)));

    let e = Identity::from_claims(ProviderKind::EduConnect, &pupil_claims()).unwrap();
    assert_eq!(e.kind(), ProviderKind::EduConnect);
    assert_eq!(e.sub(), "abcdef");

    // EduConnect claims are not an identité pivot, and the other way round.
    assert_eq!(
        Identity::from_claims(ProviderKind::FranceConnect, &pupil_claims()),
        Err(IdentityError::Missing(C::Birthdate))
    );
    assert_eq!(
        Identity::from_claims(ProviderKind::EduConnect, &angela()),
        Err(IdentityError::Missing(C::FrEduCtPersonAffiliation))
    );
}

#[test]
fn generic_oidc_identity() {
    let claims = obj(json!({"sub": "u-42", "name": "Jean DUPONT", "email": "j@example.invalid"}));
    let id = Identity::from_claims(ProviderKind::Oidc, &claims).unwrap();
    assert_eq!(id.kind(), ProviderKind::Oidc);
    assert_eq!(id.sub(), "u-42");
    let Identity::Oidc(oidc) = &id else {
        panic!("not generic")
    };
    assert_eq!(oidc.claims(), &claims);
    let shown = format!("{id:?}");
    assert!(shown.contains("sha256:") && shown.contains("\"name\""));
    assert!(!shown.contains("DUPONT") && !shown.contains("example"));

    assert_eq!(
        OidcIdentity::from_claims(&obj(json!({"name": "x"}))),
        Err(IdentityError::Missing(C::Sub))
    );
    assert_eq!(
        OidcIdentity::from_claims(&obj(json!({"sub": ["u"]}))),
        Err(IdentityError::WrongType(C::Sub))
    );
}

#[test]
fn finding_12_identity_debug_redacts_the_sub() {
    let oidc_claims = obj(json!({"sub": "u-42-oidc-subject"}));
    let identities = [
        (
            SUB,
            Identity::from_claims(ProviderKind::FranceConnect, &angela()).unwrap(),
        ),
        (
            "abcdef",
            Identity::from_claims(ProviderKind::EduConnect, &pupil_claims()).unwrap(),
        ),
        (
            "0f3c9a",
            Identity::from_claims(ProviderKind::EduConnect, &guardian_claims()).unwrap(),
        ),
        (
            "u-42-oidc-subject",
            Identity::from_claims(ProviderKind::Oidc, &oidc_claims).unwrap(),
        ),
    ];
    for (sub, identity) in identities {
        let inner = match &identity {
            Identity::FranceConnect(p) => format!("{p:?} {p:#?}"),
            Identity::EduConnect(p) => format!("{p:?} {p:#?}"),
            Identity::Oidc(p) => format!("{p:?} {p:#?}"),
        };
        let shown = format!("{identity:?} {identity:#?} {inner}");
        assert!(!shown.contains(sub), "{sub} in {shown}");
        // The same short hash, whatever the formatting.
        let hash = shown.split("sha256:").nth(1).unwrap().get(..8).unwrap();
        assert_eq!(shown.matches(hash).count(), 4, "{shown}");
        assert_eq!(identity.sub(), sub);
    }
}

#[test]
fn provider_kind_names() {
    assert_eq!(ProviderKind::FranceConnect.as_str(), "franceconnect");
    assert_eq!(ProviderKind::EduConnect.to_string(), "educonnect");
    assert_eq!(ProviderKind::Oidc.as_str(), "oidc");
}

// --- FrEduVecteur -------------------------------------------------------------

fn guardian_with_vectors(vectors: Value) -> Map<String, Value> {
    with(guardian_claims(), "FrEduVecteur", vectors)
}

#[test]
fn educonnect_vectors_one_per_child() {
    let g = ec(&guardian_with_vectors(json!([
        "2|DOE|Ann|1234567|0750654D",
        "1|DOE-SMITH|Léo Paul|A-99|0870003F",
        "2|DOE|Ann|1234567|0750654D",
    ])))
    .unwrap();
    let v = g.vectors();
    // In the order sent, the duplicate dropped.
    assert_eq!(v.len(), 2);
    assert_eq!(
        (
            v[0].profile_digit(),
            v[0].family_name(),
            v[0].given_name(),
            v[0].pupil_id(),
            v[0].uai().as_str()
        ),
        (2, "DOE", "Ann", "1234567", "0750654D")
    );
    assert_eq!(
        (
            v[1].profile_digit(),
            v[1].family_name(),
            v[1].given_name(),
            v[1].pupil_id(),
            v[1].uai().as_str()
        ),
        (1, "DOE-SMITH", "Léo Paul", "A-99", "0870003F")
    );
    // Not released: none. One value may come as a plain string; "" is none.
    assert!(ec(&guardian_claims()).unwrap().vectors().is_empty());
    for absent in [json!(null), json!(""), json!([])] {
        assert!(
            ec(&guardian_with_vectors(absent))
                .unwrap()
                .vectors()
                .is_empty()
        );
    }
    let one = ec(&guardian_with_vectors(json!("2|DOE|Ann|1234567|0750654D"))).unwrap();
    assert_eq!(one.vectors().len(), 1);
    // A pupil's own vector is read the same way.
    let p = ec(&with(
        pupil_claims(),
        "FrEduVecteur",
        json!(["4|DOE|John|998877|0750654D"]),
    ))
    .unwrap();
    assert_eq!(p.vectors()[0].profile_digit(), 4);
    assert_eq!(p.vectors()[0].pupil_id(), "998877");
}

#[test]
fn educonnect_malformed_vectors_refuse_the_identity() {
    use VectorProblem as P;
    let cases = [
        ("", P::FieldCount),
        ("2|DOE|Ann|1234567", P::FieldCount),
        ("2|DOE|Ann|1234567|0750654D|x", P::FieldCount),
        ("2|DOE|Ann||1234567|0750654D", P::FieldCount),
        ("|DOE|Ann|1234567|0750654D", P::Profile),
        ("12|DOE|Ann|1234567|0750654D", P::Profile),
        ("a|DOE|Ann|1234567|0750654D", P::Profile),
        ("²|DOE|Ann|1234567|0750654D", P::Profile),
        (" 2|DOE|Ann|1234567|0750654D", P::Profile),
        ("2||Ann|1234567|0750654D", P::FamilyName),
        ("2|  |Ann|1234567|0750654D", P::FamilyName),
        ("2|DO\nE|Ann|1234567|0750654D", P::FamilyName),
        ("2|DOE| |1234567|0750654D", P::GivenName),
        ("2|DOE|A\u{7}nn|1234567|0750654D", P::GivenName),
        ("2|DOE|Ann||0750654D", P::PupilId),
        ("2|DOE|Ann|12 34|0750654D", P::PupilId),
        ("2|DOE|Ann|123é|0750654D", P::PupilId),
        (
            "2|DOE|Ann|1234567|0750654E",
            P::Uai(IdError::UaiCheckLetter),
        ),
        ("2|DOE|Ann|1234567|", P::Uai(IdError::UaiShape)),
        ("2|DOE|Ann|1234567|0750654d", P::Uai(IdError::UaiShape)),
    ];
    for (bad, problem) in cases {
        assert_eq!(
            ec_err(guardian_with_vectors(json!(["2|DOE|Ann|1|0750654D", bad]))),
            IdentityError::MalformedVector(problem),
            "{bad:?}"
        );
        assert_eq!(EduVector::parse(bad), Err(problem), "{bad:?}");
    }
    let long_name = format!("2|{}|Ann|1|0750654D", "D".repeat(513));
    assert_eq!(EduVector::parse(&long_name), Err(P::FamilyName));
    let long_id = format!("2|DOE|Ann|{}|0750654D", "1".repeat(65));
    assert_eq!(EduVector::parse(&long_id), Err(P::PupilId));
    assert!(EduVector::parse(&format!("2|DOE|Ann|{}|0750654D", "1".repeat(64))).is_ok());

    for wrong in [json!(2), json!([2]), json!({"a": "b"}), json!([null])] {
        assert_eq!(
            ec_err(guardian_with_vectors(wrong)),
            IdentityError::WrongType(C::FrEduVecteur)
        );
    }
    let many: Vec<String> = (0..65).map(|i| format!("2|DOE|Ann|{i}|0750654D")).collect();
    assert_eq!(
        ec_err(guardian_with_vectors(json!(many))),
        IdentityError::TooLong(C::FrEduVecteur)
    );
    // The error names the field, never the value.
    let shown = format!(
        "{} {:?}",
        IdentityError::MalformedVector(P::Uai(IdError::UaiCheckLetter)),
        ec_err(guardian_with_vectors(json!([
            "2|SECRETNAME|Ann|1|0750654E"
        ]))),
    );
    assert!(shown.contains("FrEduVecteur"), "{shown}");
    assert!(
        !shown.contains("SECRETNAME") && !shown.contains("0750654E"),
        "{shown}"
    );
}

#[test]
fn educonnect_vectors_debug_shows_no_personal_data() {
    let g = ec(&guardian_with_vectors(json!([
        "2|DOE|Annabelle|7788990|0870003F"
    ])))
    .unwrap();
    let shown = format!("{g:?} {:?} {:?}", g.vectors(), g.vectors()[0]);
    assert!(shown.contains("profile: 2"), "{shown}");
    for secret in ["DOE", "Annabelle", "7788990", "0870003F"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}
