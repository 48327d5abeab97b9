//! FranceConnect+ end to end, over real HTTP on loopback: the sandbox in
//! FranceConnect+ mode fetches the service's keys at `{base}/auth/jwks`,
//! authenticates it with `private_key_jwt`, and encrypts the ID token and
//! the userinfo to it; the gateway decrypts, verifies and logs the person
//! in at the level asked. Then what must fail: a service whose published
//! keys are not the ones it holds.

use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::routing::get;
use educonnect_axum::{CurrentUser, SessionLayer, routes};
use educonnect_core::MemoryStore;
use educonnect_core::flow::Gateway;
use educonnect_core::jose::{
    Acr, Algorithm, DecryptionKey, DecryptionKeys, KeyManagement, KeySet, SigningKey,
};
use educonnect_core::provider::FranceConnect;
use educonnect_sandbox::agent::Agent;
use educonnect_sandbox::{Sandbox, SandboxConfig, demo, demo_directory};
use serde_json::Value;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

struct Service {
    base: String,
    _sandbox: Sandbox,
}

/// A service with a FranceConnect+ provider: `client_key` signs its client
/// assertions, `decryption` decrypts its tokens, `acr` is asked. The keys
/// the gateway publishes are `published`'s (the same keys, unless a test
/// plays a mismatch).
async fn start(
    client_key: SigningKey,
    decryption: DecryptionKeys,
    acr: Acr,
    published: Option<(SigningKey, DecryptionKeys)>,
) -> Service {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    // The keys the provider reads: the gateway's own at /auth/jwks, or, when
    // a test plays a mismatch, another gateway's at /autres-cles.
    let jwks_path = if published.is_some() {
        "/autres-cles"
    } else {
        "/auth/jwks"
    };
    let sandbox = Sandbox::start(
        SandboxConfig::new()
            .gateway(&base)
            .franceconnect_plus(format!("{base}{jwks_path}")),
    )
    .await
    .unwrap();
    let preset = FranceConnect::plus_custom(&sandbox.franceconnect_issuer())
        .unwrap()
        .with_acr_values(acr);
    let provider = educonnect_core::flow::Provider::franceconnect_plus(
        preset,
        sandbox.client_id(),
        client_key,
        decryption,
    )
    .unwrap();
    let gateway = |provider| {
        Gateway::builder(&base)
            .unwrap()
            .provider(provider)
            .store(Arc::new(MemoryStore::new()))
            .directory(demo_directory().unwrap())
            .insecure_cookies_for_local_development()
            .build()
            .unwrap()
    };
    let serving = gateway(provider.clone());
    // The keys served at /auth/jwks: another gateway's, when a test wants
    // the provider to see keys the service does not hold.
    let jwks_from = match published {
        None => serving.clone(), // not routed: /auth/jwks is the gateway's own
        Some((key, keys)) => {
            let preset = FranceConnect::plus_custom(&sandbox.franceconnect_issuer()).unwrap();
            gateway(
                educonnect_core::flow::Provider::franceconnect_plus(
                    preset,
                    sandbox.client_id(),
                    key,
                    keys,
                )
                .unwrap(),
            )
        }
    };
    let app = Router::new()
        .route(
            "/niveau",
            get(|CurrentUser(user): CurrentUser| async move {
                format!(
                    "{} {} {}",
                    user.provider(),
                    user.acr().unwrap_or("-"),
                    user.identity().display_name()
                )
            }),
        )
        .route(
            "/autres-cles",
            get(move || {
                let jwks_from = jwks_from.clone();
                async move {
                    let response = jwks_from
                        .handle(
                            http::Request::get("/auth/jwks")
                                .body(bytes::Bytes::new())
                                .unwrap(),
                        )
                        .await;
                    let (parts, body) = response.into_parts();
                    axum::response::Response::from_parts(parts, axum::body::Body::from(body))
                }
            }),
        )
        .merge(routes(serving.clone()))
        .layer(SessionLayer::new(serving));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Service {
        base,
        _sandbox: sandbox,
    }
}

async fn level(service: &Service, agent: &Agent) -> String {
    agent
        .client()
        .get(format!("{}/niveau", service.base))
        .header("cookie", agent.cookie_header())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

fn keys(alg: KeyManagement) -> DecryptionKeys {
    DecryptionKeys::new([DecryptionKey::generate(alg, format!("rp-{alg}")).unwrap()])
}

#[tokio::test]
async fn logs_in_with_encrypted_tokens_for_each_key_and_client_algorithm() {
    let angela = demo::identity(demo::FC_PARENT_TWO_ACADEMIES).unwrap();
    for (client, management, acr) in [
        (Algorithm::ES256, KeyManagement::EcdhEs, Acr::Eidas2),
        (Algorithm::RS256, KeyManagement::RsaOaep256, Acr::Eidas3),
        (Algorithm::ES256, KeyManagement::RsaOaep, Acr::Eidas2),
    ] {
        let key = SigningKey::generate(client, "rp-client").unwrap();
        let service = start(key, keys(management), acr, None).await;

        // What the provider reads at the jwks_uri: the client key for
        // signatures, the decryption key for encryption, no private member.
        let jwks = reqwest::get(format!("{}/auth/jwks", service.base))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let jwks: Value = serde_json::from_str(&jwks).unwrap();
        let published = jwks["keys"].as_array().unwrap();
        assert!(
            published
                .iter()
                .any(|k| k["use"] == "enc" && k["alg"] == management.name())
        );
        assert!(
            published
                .iter()
                .any(|k| k["use"] == "sig" && k["alg"] == client.name())
        );
        assert!(published.iter().all(|k| k.get("d").is_none()), "{jwks}");
        let signing = KeySet::from_jwks_json(jwks.to_string().as_bytes()).unwrap();
        assert_eq!(signing.keys().len(), 1, "the enc key is not a signing key");

        let agent = Agent::log_in_through(&service.base, "franceconnectplus", angela)
            .await
            .unwrap_or_else(|e| panic!("{client} {management}: {e}"));
        assert_eq!(agent.landed(), "/");
        assert_eq!(
            level(&service, &agent).await,
            format!("franceconnectplus {} Angela DUBOIS", acr.as_str())
        );
    }
}

/// The gateway's logs, captured (this test binary's only subscriber).
fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        #[derive(Clone)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let buffer = Buffer(Arc::default());
        let writer = buffer.clone();
        tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_ansi(false)
                    .with_writer(move || writer.clone()),
            )
            .with(Targets::new().with_target("educonnect_core", LevelFilter::INFO))
            .init();
        buffer.0
    })
    .clone()
}

fn logs_since(logs: &Arc<Mutex<Vec<u8>>>, start: usize) -> String {
    String::from_utf8_lossy(&logs.lock().unwrap()[start..]).into_owned()
}

#[tokio::test]
async fn keys_the_service_does_not_hold_fail_the_login() {
    let logs = captured_logs();
    let angela = demo::identity(demo::FC_PARENT_TWO_ACADEMIES).unwrap();

    // The provider reads another client key at the jwks_uri: the code
    // exchange is refused (invalid_client), no session.
    let decryption = DecryptionKey::generate(KeyManagement::EcdhEs, "rp").unwrap();
    let same_decryption =
        DecryptionKey::from_jwk_json(decryption.to_private_jwk_json().as_bytes()).unwrap();
    let service = start(
        SigningKey::generate(Algorithm::ES256, "rp-client").unwrap(),
        DecryptionKeys::new([decryption]),
        Acr::Eidas2,
        Some((
            SigningKey::generate(Algorithm::ES256, "rp-client").unwrap(),
            DecryptionKeys::new([same_decryption]),
        )),
    )
    .await;
    let start_at = logs.lock().unwrap().len();
    let refused = Agent::log_in_through(&service.base, "franceconnectplus", angela).await;
    assert!(refused.is_err(), "{refused:?}");
    let seen = logs_since(&logs, start_at);
    assert!(
        seen.contains("provider refused the code exchange: invalid_client"),
        "{seen}"
    );

    // The right client key, but tokens encrypted to another key of the
    // same kid: the ID token cannot be decrypted.
    let client = SigningKey::generate(Algorithm::ES256, "rp-client").unwrap();
    let same_client = SigningKey::from_jwk_json(client.to_private_jwk_json().as_bytes()).unwrap();
    let service = start(
        client,
        keys(KeyManagement::EcdhEs),
        Acr::Eidas2,
        Some((same_client, keys(KeyManagement::EcdhEs))),
    )
    .await;
    let start_at = logs.lock().unwrap().len();
    let refused = Agent::log_in_through(&service.base, "franceconnectplus", angela).await;
    assert!(refused.is_err(), "{refused:?}");
    let seen = logs_since(&logs, start_at);
    assert!(
        seen.contains("ID token: encrypted token refused: decryption failed"),
        "{seen}"
    );
}
