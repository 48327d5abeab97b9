//! A gateway from settings, and what it needs: with none, the offline
//! sandbox and its demo directory; otherwise the providers, export files
//! and stores named. The examples read the settings from environment
//! variables ([`Settings::from_env`]); `educonnect proxy` from its
//! configuration file, through [`Settings::from_vars`].
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `EDUCONNECT_LISTEN` | address the service listens on | `127.0.0.1:8080` (portal), `127.0.0.1:8081` (bourse) |
//! | `EDUCONNECT_PUBLIC_URL` | the service's URL as browsers see it | `http://` + the listen address |
//! | `EDUCONNECT_FC_ISSUER` | a FranceConnect v2 issuer (e.g. `https://fcp-low.sbx.dev-franceconnect.fr/api/v2`) | the sandbox's |
//! | `EDUCONNECT_FC_CLIENT_ID`, `EDUCONNECT_FC_CLIENT_SECRET` | the service's FranceConnect client | |
//! | `EDUCONNECT_EC_BASE` | an EduConnect IdP base URL | the sandbox's |
//! | `EDUCONNECT_EC_CLIENT_ID`, `EDUCONNECT_EC_CLIENT_SECRET` | the service's EduConnect client | |
//! | `EDUCONNECT_EC_JWKS` | EduConnect's JWKS URL | |
//! | `EDUCONNECT_FCPLUS_ISSUER` | a FranceConnect+ issuer (e.g. `https://auth.integ01.dev-franceconnect.fr/api/v2`) | |
//! | `EDUCONNECT_FCPLUS_CLIENT_ID` | the service's FranceConnect+ client | |
//! | `EDUCONNECT_FCPLUS_CLIENT_KEY` | private JWK file of its `private_key_jwt` key (ES256 or RS256, `educonnect keygen`) | |
//! | `EDUCONNECT_FCPLUS_DECRYPTION_KEYS` | private JWK files of its decryption keys, newest first, separated by `:` (`educonnect keygen --alg ECDH-ES`); published with the client key at `{public_url}/auth/jwks` | |
//! | `EDUCONNECT_SANDBOX_FRANCECONNECT_PLUS` | `1`: the in-process sandbox acts as FranceConnect+ (eidas2, encrypted tokens, keys made at start) in place of FranceConnect v2 | `0` |
//! | `EDUCONNECT_DIRECTORY` | AAF / SIECLE export files, separated by `:`; a file ending in `.snap` is a snapshot written by `educonnect directory compile`, mapped into memory | the demo directory (with the sandbox) |
//! | `EDUCONNECT_DIRECTORY_UAI` | the school of the SIECLE files | |
//! | `EDUCONNECT_INSECURE_COOKIES` | `1`: cookies without `Secure`, for `http://` on a developer's machine | `1` for an `http://` loopback URL |
//! | `EDUCONNECT_SANDBOX_LISTEN` | where the in-process sandbox listens | `127.0.0.1:0` (a free port) |
//! | `EDUCONNECT_REDIS_URL` | Redis for sessions, challenges and lock-outs, shared by replicas (`redis://host:6379/0`, `rediss://...`) | the process's memory |
//! | `EDUCONNECT_DATABASE_URL` | PostgreSQL for verified guardian links (kept across restarts) and the audit log (`postgres://user@host/db`) | the session store (Redis or memory); audit to the log |
//! | `EDUCONNECT_LOGIN_STATE_KEY` | the key sealing logins in flight into their cookie, base64 of at least 32 bytes; the same in every replica | a random key per process |
//!
//! Replicas behind one load balancer share `EDUCONNECT_REDIS_URL`,
//! `EDUCONNECT_DATABASE_URL` and `EDUCONNECT_LOGIN_STATE_KEY`, and name the same providers (a shared
//! `educonnect sandbox`, not one in each process).
//!
//! Without `EDUCONNECT_FC_ISSUER` and `EDUCONNECT_EC_BASE`, the sandbox is
//! started in the process and both providers point at it.
//!
//! Export files that are given are the directory, or nothing: a file that
//! cannot be read, is not an export, is not read to its end or holds no
//! record stops the example with an error naming it, never a fallback to
//! the demo directory. Their paths need not be UTF-8; any other variable
//! that is not is an error.

#![forbid(unsafe_code)]

use std::env;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use base64::Engine as _;
use educonnect_core::MemoryStore;
use educonnect_core::directory::Directory;
use educonnect_core::directory::import::{FilesError, LoadError, SourceHints};
use educonnect_core::filiation::ActForPolicy;
use educonnect_core::flow::{
    ClientSecret, Gateway, GatewayBuilder, GatewayConfigError, LoginStateKey, Provider,
};
use educonnect_core::ids::Uai;
use educonnect_core::jose::{Algorithm, DecryptionKey, DecryptionKeys, KeyManagement, SigningKey};
use educonnect_core::provider::{ConfigError, EduConnect, FranceConnect};
use educonnect_core::store::{SplitStore, Store};
use educonnect_mmap::LoadDirectoryError;
use educonnect_postgres::{PostgresAuditSink, PostgresStore};
use educonnect_redis::{ConnectError, RedisStore};
use educonnect_sandbox::{Sandbox, SandboxConfig};
use tokio::net::TcpListener;

/// A provider's settings.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// FranceConnect's issuer, or EduConnect's base URL.
    pub url: String,
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: String,
    /// The JWKS URL, for EduConnect.
    pub jwks: Option<String>,
}

/// Everything the examples read from the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Where the service listens.
    pub listen: SocketAddr,
    /// The service's URL as browsers see it.
    pub public_url: Option<String>,
    /// FranceConnect, if configured.
    pub franceconnect: Option<ProviderSettings>,
    /// EduConnect, if configured.
    pub educonnect: Option<ProviderSettings>,
    /// Export files.
    pub directory: Vec<PathBuf>,
    /// The school of SIECLE files.
    pub directory_uai: Option<Uai>,
    /// Cookies without `Secure`.
    pub insecure_cookies: Option<bool>,
    /// Where the sandbox listens when it is used.
    pub sandbox_listen: SocketAddr,
    /// Which links let a person act for a pupil: the example's choice, not
    /// an environment variable (see [`act_for_policy`](Self::act_for_policy)).
    pub act_for_policy: ActForPolicy,
    /// Redis, for a store shared by replicas.
    pub redis_url: Option<String>,
    /// PostgreSQL, for verified links and the audit log.
    pub database_url: Option<String>,
    /// The key sealing logins in flight, shared by replicas.
    pub login_state_key: Option<LoginStateKey>,
    /// FranceConnect+, if configured.
    pub franceconnect_plus: Option<PlusSettings>,
    /// The in-process sandbox acts as FranceConnect+.
    pub sandbox_franceconnect_plus: bool,
}

/// FranceConnect+'s settings: no client secret, a client key and the keys
/// its tokens are encrypted to.
#[derive(Debug, Clone)]
pub struct PlusSettings {
    /// The FranceConnect+ issuer.
    pub issuer: String,
    /// The client id.
    pub client_id: String,
    /// Private JWK file of the `private_key_jwt` key.
    pub client_key: PathBuf,
    /// Private JWK files of the decryption keys, newest first.
    pub decryption_keys: Vec<PathBuf>,
}

/// A setting that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A variable holds something unusable.
    #[error("{name}: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Why.
        reason: String,
    },
    /// A provider's URL is set without its client.
    #[error("{0} is required with {1}")]
    Missing(&'static str, &'static str),
    /// The provider presets refused a URL.
    #[error("provider configuration: {0}")]
    Provider(#[from] ConfigError),
    /// The gateway refused its configuration.
    #[error("gateway configuration: {0}")]
    Gateway(#[from] GatewayConfigError),
    /// The export files could not be read.
    #[error("directory: {0}")]
    Files(#[from] FilesError),
    /// An export file was read but did not load: not read to its end, or
    /// no record in it.
    #[error("directory: {file}: {reason}")]
    Load {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// A snapshot file could not be opened (unreadable, truncated,
    /// damaged, another format version).
    #[error("directory: {0}")]
    Snapshot(#[from] educonnect_mmap::SnapshotFileError),
    /// The directory could not be assembled.
    #[error("directory: {0}")]
    Directory(String),
    /// Redis could not be reached at start.
    #[error("EDUCONNECT_REDIS_URL: {0}")]
    Redis(#[from] ConnectError),
    /// PostgreSQL could not be reached or migrated at start.
    #[error("EDUCONNECT_DATABASE_URL: {0}")]
    Postgres(#[from] educonnect_postgres::ConnectError),
    /// The sandbox's FranceConnect+ keys could not be made.
    #[error("FranceConnect+ keys: {0}")]
    Keys(#[from] educonnect_core::jose::Error),
    /// A socket could not be bound, or the sandbox not started.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl Settings {
    /// Reads the process environment; `default_port` is the example's.
    pub fn from_env(default_port: u16) -> Result<Self, SettingsError> {
        for name in VARIABLES {
            if name != DIRECTORY && matches!(env::var(name), Err(env::VarError::NotUnicode(_))) {
                return Err(SettingsError::Invalid {
                    name,
                    reason: "not valid UTF-8".to_owned(),
                });
            }
        }
        let mut settings = Self::from_vars(default_port, |name| {
            env::var(name).ok().filter(|v| !v.is_empty())
        })?;
        // Paths need not be UTF-8: files given so must not read as none
        // given (and the demo directory).
        if let Some(paths) = env::var_os(DIRECTORY).filter(|v| !v.is_empty()) {
            settings.directory = env::split_paths(&paths).collect();
        }
        Ok(settings)
    }

    /// Reads settings through `var` (for tests: no process environment).
    pub fn from_vars(
        default_port: u16,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SettingsError> {
        let addr = |name: &'static str, default: SocketAddr| -> Result<SocketAddr, SettingsError> {
            var(name).map_or(Ok(default), |v| {
                v.parse().map_err(|e| SettingsError::Invalid {
                    name,
                    reason: format!("{e} (expected e.g. 127.0.0.1:8080)"),
                })
            })
        };
        let provider = |url: &'static str,
                        id: &'static str,
                        secret: &'static str,
                        jwks: Option<&'static str>|
         -> Result<Option<ProviderSettings>, SettingsError> {
            let Some(u) = var(url) else { return Ok(None) };
            Ok(Some(ProviderSettings {
                url: u,
                client_id: var(id).ok_or(SettingsError::Missing(id, url))?,
                client_secret: var(secret).ok_or(SettingsError::Missing(secret, url))?,
                jwks: jwks.and_then(&var),
            }))
        };
        let insecure_cookies = match var("EDUCONNECT_INSECURE_COOKIES").as_deref() {
            None => None,
            Some("1" | "true" | "yes") => Some(true),
            Some("0" | "false" | "no") => Some(false),
            Some(other) => {
                return Err(SettingsError::Invalid {
                    name: "EDUCONNECT_INSECURE_COOKIES",
                    reason: format!("{other:?} is not 1 or 0"),
                });
            }
        };
        let franceconnect_plus = match var("EDUCONNECT_FCPLUS_ISSUER") {
            None => None,
            Some(issuer) => {
                let need = |name: &'static str| {
                    var(name).ok_or(SettingsError::Missing(name, "EDUCONNECT_FCPLUS_ISSUER"))
                };
                Some(PlusSettings {
                    issuer,
                    client_id: need("EDUCONNECT_FCPLUS_CLIENT_ID")?,
                    client_key: need("EDUCONNECT_FCPLUS_CLIENT_KEY")?.into(),
                    decryption_keys: env::split_paths(&need("EDUCONNECT_FCPLUS_DECRYPTION_KEYS")?)
                        .collect(),
                })
            }
        };
        let sandbox_franceconnect_plus =
            match var("EDUCONNECT_SANDBOX_FRANCECONNECT_PLUS").as_deref() {
                None | Some("0" | "false" | "no") => false,
                Some("1" | "true" | "yes") => true,
                Some(other) => {
                    return Err(SettingsError::Invalid {
                        name: "EDUCONNECT_SANDBOX_FRANCECONNECT_PLUS",
                        reason: format!("{other:?} is not 1 or 0"),
                    });
                }
            };
        let directory_uai = var("EDUCONNECT_DIRECTORY_UAI")
            .map(|v| {
                Uai::parse(&v).map_err(|e| SettingsError::Invalid {
                    name: "EDUCONNECT_DIRECTORY_UAI",
                    reason: e.to_string(),
                })
            })
            .transpose()?;
        Ok(Self {
            listen: addr(
                "EDUCONNECT_LISTEN",
                SocketAddr::from((Ipv4Addr::LOCALHOST, default_port)),
            )?,
            public_url: var("EDUCONNECT_PUBLIC_URL"),
            franceconnect: provider(
                "EDUCONNECT_FC_ISSUER",
                "EDUCONNECT_FC_CLIENT_ID",
                "EDUCONNECT_FC_CLIENT_SECRET",
                None,
            )?,
            educonnect: provider(
                "EDUCONNECT_EC_BASE",
                "EDUCONNECT_EC_CLIENT_ID",
                "EDUCONNECT_EC_CLIENT_SECRET",
                Some("EDUCONNECT_EC_JWKS"),
            )?,
            directory: var(DIRECTORY)
                .map(|v| env::split_paths(&v).collect())
                .unwrap_or_default(),
            directory_uai,
            insecure_cookies,
            sandbox_listen: addr(
                "EDUCONNECT_SANDBOX_LISTEN",
                SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            )?,
            act_for_policy: ActForPolicy::default(),
            redis_url: var("EDUCONNECT_REDIS_URL"),
            database_url: var("EDUCONNECT_DATABASE_URL"),
            login_state_key: var("EDUCONNECT_LOGIN_STATE_KEY")
                .map(|v| {
                    let invalid = |reason: String| SettingsError::Invalid {
                        name: "EDUCONNECT_LOGIN_STATE_KEY",
                        reason,
                    };
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(v.trim())
                        .map_err(|_| {
                            invalid("not base64 (e.g. `openssl rand -base64 32`)".into())
                        })?;
                    LoginStateKey::new(bytes).map_err(|e| invalid(e.to_string()))
                })
                .transpose()?,
            franceconnect_plus,
            sandbox_franceconnect_plus,
        })
    }

    /// The same settings with the example's act-for policy (default: legal
    /// guardians only), set on its gateway.
    #[must_use]
    pub fn act_for_policy(mut self, policy: ActForPolicy) -> Self {
        self.act_for_policy = policy;
        self
    }

    /// The same settings listening on a free loopback port: for tests.
    #[must_use]
    pub fn on_free_port(mut self) -> Self {
        self.listen = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        self
    }
}

/// What the settings set up: a listening socket, the gateway, the
/// directory, and the sandbox when it is used (kept alive with the
/// service).
pub struct Setup {
    /// The bound socket.
    pub listener: TcpListener,
    /// The service's URL as browsers see it.
    pub public_url: String,
    /// The login gateway.
    pub gateway: Gateway,
    /// The school directory (empty without export files or sandbox).
    pub directory: Option<Arc<dyn Directory>>,
    /// The in-process sandbox, when no provider is configured.
    pub sandbox: Option<Sandbox>,
}

impl Setup {
    /// Binds the socket, starts the sandbox if needed, loads the directory
    /// and builds the gateway.
    pub async fn new(settings: Settings) -> Result<Self, SettingsError> {
        Self::new_with(settings, |builder| builder).await
    }

    /// As [`new`](Self::new), with `customize` applied to the gateway's
    /// builder last (`educonnect proxy` sets its assertion key there).
    pub async fn new_with(
        settings: Settings,
        customize: impl FnOnce(GatewayBuilder) -> GatewayBuilder,
    ) -> Result<Self, SettingsError> {
        let listener = TcpListener::bind(settings.listen).await?;
        let addr = listener.local_addr()?;
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{addr}"));
        let public_url = public_url.trim_end_matches('/').to_owned();

        let mut providers = Vec::new();
        let mut sandbox = None;
        if settings.franceconnect.is_none()
            && settings.educonnect.is_none()
            && settings.franceconnect_plus.is_none()
        {
            let mut config = SandboxConfig::new()
                .listen(settings.sandbox_listen)
                .gateway(&public_url);
            if settings.sandbox_franceconnect_plus {
                // The sandbox reads the keys this gateway publishes.
                config = config.franceconnect_plus(format!("{public_url}/auth/jwks"));
            }
            let started = Sandbox::start(config).await?;
            if settings.sandbox_franceconnect_plus {
                // Keys made for this process: the sandbox trusts whatever
                // the gateway publishes.
                let client_key = SigningKey::generate(Algorithm::ES256, "sandbox-client")?;
                let decryption = DecryptionKey::generate(KeyManagement::EcdhEs, "sandbox-enc")?;
                providers.push(
                    started.provider_franceconnect_plus(
                        client_key,
                        DecryptionKeys::new([decryption]),
                    )?,
                );
            } else {
                providers.push(started.provider_franceconnect());
            }
            providers.push(started.provider_educonnect());
            sandbox = Some(started);
        }
        if let Some(plus) = &settings.franceconnect_plus {
            providers.push(plus_provider(plus)?);
        }
        if let Some(fc) = &settings.franceconnect {
            providers.push(Provider::franceconnect(
                FranceConnect::custom(&fc.url)?,
                fc.client_id.clone(),
                ClientSecret::new(fc.client_secret.clone()),
            ));
        }
        if let Some(ec) = &settings.educonnect {
            let mut preset = EduConnect::at_base(&ec.url)?;
            if let Some(jwks) = &ec.jwks {
                let url = url::Url::parse(jwks).map_err(|e| SettingsError::Invalid {
                    name: "EDUCONNECT_EC_JWKS",
                    reason: e.to_string(),
                })?;
                preset = preset.with_jwks(url)?;
            }
            providers.push(Provider::educonnect(
                preset,
                ec.client_id.clone(),
                ClientSecret::new(ec.client_secret.clone()),
            ));
        }

        let directory = if !settings.directory.is_empty() {
            Some(load_directory(&settings)?)
        } else if sandbox.is_some() {
            Some(
                educonnect_sandbox::demo_directory()
                    .map_err(|e| SettingsError::Directory(e.to_string()))?,
            )
        } else {
            tracing::warn!("no EDUCONNECT_DIRECTORY: logins work, but nobody has children");
            None
        };

        let insecure = settings
            .insecure_cookies
            .unwrap_or_else(|| is_http_loopback(&public_url));
        let store: Arc<dyn Store> = match &settings.redis_url {
            Some(url) => Arc::new(RedisStore::connect(url).await?),
            None => Arc::new(MemoryStore::new()),
        };
        let mut builder = Gateway::builder(&public_url)?.act_for_policy(settings.act_for_policy);
        // Verified links and the audit log on PostgreSQL; sessions and
        // challenges stay on the store above.
        builder = match &settings.database_url {
            Some(url) => {
                let postgres = PostgresStore::connect(url).await?;
                let audit = PostgresAuditSink::new(&postgres);
                builder
                    .store(Arc::new(SplitStore::new(store, Arc::new(postgres))))
                    .audit_sink(Arc::new(audit))
            }
            None => builder.store(store),
        };
        match settings.login_state_key.clone() {
            Some(key) => builder = builder.login_state_key(key),
            None if settings.redis_url.is_some() => tracing::warn!(
                "EDUCONNECT_REDIS_URL without EDUCONNECT_LOGIN_STATE_KEY: a login begun on another replica, or before a restart, fails"
            ),
            None => {}
        }
        for provider in providers {
            builder = builder.provider(provider);
        }
        if let Some(directory) = &directory {
            builder = builder.directory(directory.clone());
        }
        if insecure {
            builder = builder.insecure_cookies_for_local_development();
        }
        Ok(Self {
            listener,
            public_url,
            gateway: customize(builder).build()?,
            directory,
            sandbox,
        })
    }
}

/// The FranceConnect+ provider of `plus`: its key files read.
fn plus_provider(plus: &PlusSettings) -> Result<Provider, SettingsError> {
    let read = |name: &'static str, path: &PathBuf| {
        std::fs::read(path).map_err(|e| SettingsError::Invalid {
            name,
            reason: format!("{}: {e}", path.display()),
        })
    };
    let invalid = |name: &'static str, path: &PathBuf, e: educonnect_core::jose::Error| {
        SettingsError::Invalid {
            name,
            reason: format!("{}: {e}", path.display()),
        }
    };
    const KEY: &str = "EDUCONNECT_FCPLUS_CLIENT_KEY";
    const DECRYPTION: &str = "EDUCONNECT_FCPLUS_DECRYPTION_KEYS";
    let client_key = SigningKey::from_jwk_json(&read(KEY, &plus.client_key)?)
        .map_err(|e| invalid(KEY, &plus.client_key, e))?;
    let mut keys = Vec::new();
    for path in &plus.decryption_keys {
        keys.push(
            DecryptionKey::from_jwk_json(&read(DECRYPTION, path)?)
                .map_err(|e| invalid(DECRYPTION, path, e))?,
        );
    }
    Ok(Provider::franceconnect_plus(
        FranceConnect::plus_custom(&plus.issuer)?,
        plus.client_id.clone(),
        client_key,
        DecryptionKeys::new(keys),
    )?)
}

fn load_directory(settings: &Settings) -> Result<Arc<dyn Directory>, SettingsError> {
    let hints = SourceHints {
        academy: None,
        uai: settings.directory_uai,
    };
    let (snapshots, exports): (Vec<PathBuf>, Vec<PathBuf>) = settings
        .directory
        .iter()
        .cloned()
        .partition(|f| f.extension().is_some_and(|e| e == "snap"));
    // Snapshot files are mapped and checked whole, ready in seconds.
    match educonnect_mmap::load_directory(&snapshots, &exports, &hints) {
        Ok(directory) => Ok(directory),
        Err(LoadDirectoryError::Snapshot(e)) => Err(SettingsError::Snapshot(e)),
        Err(LoadDirectoryError::Exports(LoadError::Files(e))) => Err(SettingsError::Files(e)),
        Err(LoadDirectoryError::Exports(LoadError::Incomplete { file, reason })) => {
            Err(SettingsError::Load { file, reason })
        }
        Err(e) => Err(SettingsError::Directory(e.to_string())),
    }
}

/// The export files variable.
const DIRECTORY: &str = "EDUCONNECT_DIRECTORY";

/// Every variable the examples read.
const VARIABLES: [&str; 16] = [
    "EDUCONNECT_REDIS_URL",
    "EDUCONNECT_DATABASE_URL",
    "EDUCONNECT_LOGIN_STATE_KEY",
    "EDUCONNECT_LISTEN",
    "EDUCONNECT_PUBLIC_URL",
    "EDUCONNECT_FC_ISSUER",
    "EDUCONNECT_FC_CLIENT_ID",
    "EDUCONNECT_FC_CLIENT_SECRET",
    "EDUCONNECT_EC_BASE",
    "EDUCONNECT_EC_CLIENT_ID",
    "EDUCONNECT_EC_CLIENT_SECRET",
    "EDUCONNECT_EC_JWKS",
    DIRECTORY,
    "EDUCONNECT_DIRECTORY_UAI",
    "EDUCONNECT_INSECURE_COOKIES",
    "EDUCONNECT_SANDBOX_LISTEN",
];

fn is_http_loopback(url: &str) -> bool {
    let Ok(url) = url::Url::parse(url) else {
        return false;
    };
    url.scheme() == "http"
        && match url.host() {
            Some(url::Host::Domain(d)) => d == "localhost",
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
            None => false,
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_vars(8080, move |name| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn no_settings_mean_the_sandbox_on_loopback() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.listen, "127.0.0.1:8080".parse().unwrap());
        assert!(s.franceconnect.is_none() && s.educonnect.is_none());
        assert!(s.directory.is_empty() && s.public_url.is_none());
    }

    #[test]
    fn a_provider_needs_its_client() {
        let issuer = (
            "EDUCONNECT_FC_ISSUER",
            "https://fcp-low.sbx.dev-franceconnect.fr/api/v2",
        );
        assert!(matches!(
            settings(&[issuer]),
            Err(SettingsError::Missing("EDUCONNECT_FC_CLIENT_ID", _))
        ));
        let s = settings(&[
            issuer,
            ("EDUCONNECT_FC_CLIENT_ID", "id"),
            ("EDUCONNECT_FC_CLIENT_SECRET", "secret"),
            ("EDUCONNECT_DIRECTORY", "/a/ENT_14_x.xml:/b/ENT_25_y.xml"),
            ("EDUCONNECT_LISTEN", "0.0.0.0:9000"),
            ("EDUCONNECT_INSECURE_COOKIES", "0"),
        ])
        .unwrap();
        assert_eq!(s.franceconnect.unwrap().client_id, "id");
        assert_eq!(s.directory.len(), 2);
        assert_eq!(s.listen.port(), 9000);
        assert_eq!(s.insecure_cookies, Some(false));
    }

    #[test]
    fn unusable_values_are_named() {
        for (name, value) in [
            ("EDUCONNECT_LISTEN", "localhost"),
            ("EDUCONNECT_INSECURE_COOKIES", "peut-être"),
            ("EDUCONNECT_DIRECTORY_UAI", "0350001B"),
        ] {
            let e = settings(&[(name, value)]).unwrap_err().to_string();
            assert!(e.starts_with(name), "{e}");
        }
    }

    /// A fresh directory under the system's temporary one.
    fn scratch(name: &str) -> PathBuf {
        let dir =
            env::temp_dir().join(format!("educonnect-settings-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn finding_12_export_files_that_do_not_load_are_an_error_naming_the_file() {
        let dir = scratch("load");
        let cases = [
            // Not an export (by its root), though named like one.
            (
                "ENT_14_Complet_Eleve_0000.xml",
                "<?xml version=\"1.0\"?><foo/>",
            ),
            // Cut short.
            (
                "ENT_14_Complet_Eleve_0001.xml",
                "<?xml version=\"1.0\"?><ficAlimMENESR><addRequest><identifier>",
            ),
            // Empty.
            ("ENT_14_Complet_Eleve_0002.xml", ""),
        ];
        for (name, content) in cases {
            let path = dir.join(name);
            std::fs::write(&path, content).unwrap();
            let settings = settings(&[("EDUCONNECT_DIRECTORY", path.to_str().unwrap())]).unwrap();
            let Err(error) = load_directory(&settings) else {
                panic!("{name} loaded")
            };
            let error = error.to_string();
            assert!(
                error.starts_with("directory: ") && error.contains(name),
                "{name}: {error}"
            );
        }
        let missing = dir.join("ENT_14_missing.xml");
        let settings = settings(&[("EDUCONNECT_DIRECTORY", missing.to_str().unwrap())]).unwrap();
        let Err(error) = load_directory(&settings) else {
            panic!("a missing file loaded")
        };
        let error = error.to_string();
        assert!(error.contains("ENT_14_missing.xml"), "{error}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_demo_export_files_load() {
        let demo =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../educonnect-sandbox/demo");
        let mut files: Vec<PathBuf> = std::fs::read_dir(demo)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "xml"))
            .collect();
        files.sort();
        assert!(!files.is_empty());
        let mut settings = settings(&[]).unwrap();
        settings.directory = files;
        assert!(load_directory(&settings).is_ok());
    }

    #[test]
    fn only_http_on_loopback_gets_insecure_cookies_by_default() {
        assert!(is_http_loopback("http://127.0.0.1:8080"));
        assert!(is_http_loopback("http://localhost:3000"));
        assert!(!is_http_loopback("https://127.0.0.1"));
        assert!(!is_http_loopback("http://ent.example.fr"));
    }
}
