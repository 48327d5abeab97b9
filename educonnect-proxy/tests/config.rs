//! Configuration files: the committed example is valid; an unknown key, a
//! bad URL, a rule that cannot match stop the start with file, line and
//! reason.
#![allow(missing_docs)]

use std::path::Path;

use educonnect_proxy::ProxyConfig;
use educonnect_proxy::rules::Access;

fn error(text: &str) -> String {
    ProxyConfig::parse(Path::new("conf/proxy.toml"), text)
        .unwrap_err()
        .to_string()
}

const BASE: &str = "upstream = \"http://127.0.0.1:3000\"\n";
const ROOT: &str = "\n[[rule]]\nprefix = \"/\"\naccess = \"logged_in\"\n";

#[test]
fn the_committed_example_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("proxy.toml");
    let config = ProxyConfig::from_file(&path).unwrap();
    assert_eq!(config.listen.to_string(), "127.0.0.1:8090");
    assert_eq!(config.rules.len(), 6);
    assert_eq!(
        config.rules.iter().last().unwrap().access(),
        Access::LoggedIn
    );
    assert_eq!(config.assertion.audience, "http://127.0.0.1:3000");
}

#[test]
fn an_unknown_key_is_named_with_its_line() {
    let e = error(&format!(
        "{BASE}listen = \"127.0.0.1:1\"\nupstreams = \"x\"\n{ROOT}"
    ));
    assert!(e.starts_with("conf/proxy.toml:3:1: "), "{e}");
    assert!(e.contains("unknown field `upstreams`"), "{e}");
    let e = error(&format!("{BASE}{ROOT}pupil = \"x\"\n"));
    assert!(e.starts_with("conf/proxy.toml:6:1: "), "{e}");
    assert!(e.contains("unknown field `pupil`"), "{e}");
    let e = error(&format!("{BASE}[gateway]\nredis = \"redis://x\"\n{ROOT}"));
    assert!(e.starts_with("conf/proxy.toml:3:1: "), "{e}");
    let e = error(&format!(
        "{BASE}\n[[rule]]\nprefix = \"/\"\naccess = \"private\"\n"
    ));
    assert!(e.starts_with("conf/proxy.toml:5:10: "), "{e}");
    assert!(e.contains("unknown variant `private`"), "{e}");
    let e = error(ROOT);
    assert!(e.contains("missing field `upstream`"), "{e}");
    let e = error(&format!("{BASE}listen = 8080\n{ROOT}"));
    assert!(e.starts_with("conf/proxy.toml:2:10: "), "{e}");
}

#[test]
fn bad_urls_and_addresses_are_named_with_their_line() {
    for (text, line, what) in [
        ("upstream = \"127.0.0.1:3000\"\n", 1, "upstream"),
        ("upstream = \"ftp://127.0.0.1/\"\n", 1, "scheme"),
        (
            "upstream = \"https://app.example\"\n",
            1,
            "https upstreams are not supported",
        ),
        (
            "upstream = \"http://127.0.0.1:3000/?a=b\"\n",
            1,
            "base URL only",
        ),
        (
            &format!("{BASE}listen = \"localhost\"\n"),
            2,
            "expected an address",
        ),
        (
            &format!("{BASE}public_url = \"ent.example.fr\"\n"),
            2,
            "public_url",
        ),
        (
            &format!("{BASE}public_url = \"https://ent.example.fr/app\"\n"),
            2,
            "origin only",
        ),
        (
            &format!(
                "{BASE}[gateway.franceconnect]\nurl = \"not a url\"\nclient_id = \"a\"\nclient_secret = \"b\"\n"
            ),
            3,
            "franceconnect url",
        ),
        (
            &format!("{BASE}[gateway]\nlogin_state_key = \"short\"\n"),
            3,
            "[gateway]",
        ),
        (
            &format!("{BASE}[gateway]\ndirectory_uai = \"0350001B\"\n"),
            3,
            "[gateway]",
        ),
        (
            &format!("{BASE}[assertion]\nttl_seconds = 0\n"),
            3,
            "ttl_seconds",
        ),
    ] {
        let e = error(&format!("{text}{ROOT}"));
        let expected = format!("conf/proxy.toml:{line}:");
        assert!(e.starts_with(&expected), "{text}: {e}");
        assert!(e.contains(what), "{text}: {e}");
    }
}

#[test]
fn a_rule_that_cannot_match_is_named_with_its_line() {
    let rule = |prefix: &str, access: &str, extra: &str| {
        format!("\n[[rule]]\nprefix = \"{prefix}\"\naccess = \"{access}\"\n{extra}")
    };
    for (rules, line, what) in [
        // shadowed by an earlier, shorter prefix
        (
            rule("/eleves", "logged_in", "") + &rule("/eleves/{pupil}", "act_for", ""),
            8,
            "can never match: the rule at line 4",
        ),
        (
            rule("/", "logged_in", "") + &rule("/public", "public", ""),
            8,
            "can never match",
        ),
        (
            rule("/*", "logged_in", "") + &rule("/a/b", "public", ""),
            8,
            "can never match",
        ),
        // duplicated
        (
            rule("/a", "public", "") + &rule("/A/", "logged_in", ""),
            8,
            "duplicated prefix",
        ),
        // the pupil cannot be found
        (rule("/eleves", "act_for", ""), 5, "needs the pupil"),
        (
            rule("/eleves/{eleve}", "act_for", ""),
            4,
            "only {pupil} and *",
        ),
        (
            rule("/eleves/{pupil}", "act_for", "pupil_query = \"eleve\"\n"),
            6,
            "named twice",
        ),
        (
            rule("/eleves/{pupil}", "logged_in", ""),
            4,
            "{pupil} is for access",
        ),
        (
            rule("/eleves", "public", "pupil_query = \"eleve\"\n"),
            6,
            "pupil_query is for",
        ),
        (
            rule("/eleves", "public", "anonymous = \"unauthorized\"\n"),
            6,
            "anonymous is for",
        ),
        (
            rule("/eleves", "logged_in", "anonymous = \"redirect\"\n"),
            6,
            "unknown variant",
        ),
        // paths the proxy refuses anyway
        (rule("eleves", "public", ""), 4, "must start with '/'"),
        (rule("/a/../b", "public", ""), 4, "dot segment"),
        (rule("/a//b", "public", ""), 4, "empty segment"),
        (rule("/a?b=c", "public", ""), 4, "cannot match a path"),
    ] {
        let e = error(&format!("{BASE}{rules}"));
        let expected = format!("conf/proxy.toml:{line}:");
        assert!(e.starts_with(&expected), "{rules}: {e}");
        assert!(e.contains(what), "{rules}: {e}");
    }
    let e = error(BASE);
    assert!(e.starts_with("conf/proxy.toml: no [[rule]]"), "{e}");
}

#[test]
fn a_missing_file_is_named() {
    let e = ProxyConfig::from_file("/nonexistent/proxy.toml").unwrap_err();
    assert_eq!(e.line(), None);
    assert!(
        e.to_string()
            .starts_with("/nonexistent/proxy.toml: cannot read"),
        "{e}"
    );
}
