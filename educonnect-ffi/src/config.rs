//! The gateway's configuration: a JSON document, from a file or a string.
//!
//! JSON rather than TOML: every language an ENT is written in produces it
//! without a new dependency (here or there), and `serde_json` is already
//! the workspace's. Unknown members are refused, so that a misspelt
//! setting is an error rather than a default.
//!
//! ```json
//! {
//!   "public_url": "https://ent.example.fr",
//!   "providers": [
//!     { "type": "franceconnect", "issuer": "https://fcp-low.sbx.dev-franceconnect.fr/api/v2",
//!       "client_id": "...", "client_secret": "..." },
//!     { "type": "educonnect", "base": "https://pr4.educonnect.phm.education.gouv.fr/idp",
//!       "jwks": "https://.../jwks", "client_id": "...", "client_secret": "..." }
//!   ],
//!   "directory": { "files": ["ENT_14_Complet_..._Eleve_0000.xml"], "uai": "0590089B" },
//!   "store": "redis://cache.internal:6379/0",
//!   "links_store": "postgres://educonnect@db.internal/ent",
//!   "act_for_policy": "legal_guardians",
//!   "login_state_key_file": "/etc/ent/login-state.key",
//!   "assertion_key_file": "/etc/ent/assertion.private.jwk.json",
//!   "insecure_cookies_for_local_development": false
//! }
//! ```
//!
//! Relative paths are read from the configuration file's directory (from
//! the working directory for a configuration given as a string).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use educonnect_core::MemoryStore;
use educonnect_core::directory::Directory;
use educonnect_core::directory::import::SourceHints;
use educonnect_core::filiation::ActForPolicy;
use educonnect_core::flow::{ClientSecret, Gateway, GatewayBuilder, LoginStateKey, Provider};
use educonnect_core::ids::Uai;
use educonnect_core::jose::SigningKey;
use educonnect_core::provider::{EduConnect, FranceConnect};
use educonnect_core::store::{SplitStore, Store};
use educonnect_mmap::LoadDirectoryError;
use educonnect_postgres::{PostgresAuditSink, PostgresStore};
use educonnect_redis::RedisStore;
use serde::Deserialize;

use crate::error::educonnect_result;

/// The configuration document.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Config {
    /// The service's URL as browsers see it.
    public_url: String,
    /// At least one provider.
    providers: Vec<ProviderConfig>,
    /// The school directory; without it, logins work but nobody has
    /// children.
    #[serde(default)]
    directory: Option<DirectoryConfig>,
    /// Sessions, challenges and lock-out counters, and verified links
    /// unless `links_store` is set: `"memory"` (the default, one process),
    /// a `redis://` or `rediss://` URL (shared by replicas), or a
    /// `postgres://` URL.
    #[serde(default)]
    store: Option<String>,
    /// A `postgres://` URL for verified guardian links (kept across
    /// restarts) and the audit log, beside `store`.
    #[serde(default)]
    links_store: Option<String>,
    /// Which links let a person act for a pupil.
    #[serde(default)]
    act_for_policy: ActForPolicy,
    /// A file of at least 32 bytes (the same on every replica).
    #[serde(default)]
    login_state_key_file: Option<PathBuf>,
    /// A private JWK (`educonnect keygen`) to sign family assertions with.
    #[serde(default)]
    assertion_key_file: Option<PathBuf>,
    /// Cookies without `Secure`, for `http://localhost` only.
    #[serde(default)]
    insecure_cookies_for_local_development: bool,
    /// The gateway's routes (default `/auth`).
    #[serde(default)]
    base_path: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ProviderConfig {
    Franceconnect {
        issuer: String,
        client_id: String,
        client_secret: String,
        /// Ask for the usage name (`preferred_username`).
        #[serde(default)]
        usage_name: bool,
        /// Ask for the email.
        #[serde(default)]
        email: bool,
    },
    Educonnect {
        base: String,
        client_id: String,
        client_secret: String,
        #[serde(default)]
        jwks: Option<String>,
    },
}

// By hand: the client secret never shows.
impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Franceconnect {
                issuer, client_id, ..
            } => f
                .debug_struct("Franceconnect")
                .field("issuer", issuer)
                .field("client_id", client_id)
                .finish_non_exhaustive(),
            Self::Educonnect {
                base, client_id, ..
            } => f
                .debug_struct("Educonnect")
                .field("base", base)
                .field("client_id", client_id)
                .finish_non_exhaustive(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectoryConfig {
    /// AAF / SIECLE export files, as `educonnect directory check` reads
    /// them.
    #[serde(default)]
    files: Vec<PathBuf>,
    /// The academy of AAF files whose name does not carry it.
    #[serde(default)]
    academy: Option<String>,
    /// The school of the SIECLE files.
    #[serde(default)]
    uai: Option<String>,
    /// Directory snapshot files (`educonnect directory compile`, one per
    /// source), mapped into memory: ready in seconds, pages shared by the
    /// processes that map the same file.
    #[serde(default)]
    snapshots: Vec<PathBuf>,
}

/// A configuration that could not be used: the code, and a detail for the
/// operator (names a setting or a file; never a secret nor a record).
#[derive(Debug)]
pub(crate) struct ConfigError {
    pub(crate) code: educonnect_result,
    pub(crate) detail: String,
}

impl ConfigError {
    fn new(code: educonnect_result, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }
}

impl Config {
    /// Reads a configuration document. The detail of a JSON error gives
    /// its kind and position only (serde's messages may quote values, and
    /// a value may be a secret).
    pub(crate) fn parse(json: &[u8]) -> Result<Self, ConfigError> {
        serde_json::from_slice(json).map_err(|e| {
            let what = match e.classify() {
                serde_json::error::Category::Io => "unreadable",
                serde_json::error::Category::Syntax => "not JSON",
                serde_json::error::Category::Eof => "cut short",
                serde_json::error::Category::Data => {
                    "a member is missing, unknown or of the wrong type"
                }
            };
            ConfigError::new(
                educonnect_result::EDUCONNECT_CONFIG_INVALID,
                format!(
                    "configuration: {what} (line {}, column {})",
                    e.line(),
                    e.column()
                ),
            )
        })
    }

    /// The stores this configuration names, checked but not connected.
    pub(crate) fn stores(&self) -> Result<StoresConfig, ConfigError> {
        use educonnect_result::*;
        let store = match self.store.as_deref() {
            None | Some("memory") => StoreKind::Memory,
            Some(url) if url.starts_with("redis://") || url.starts_with("rediss://") => {
                StoreKind::Redis(url.to_owned())
            }
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                StoreKind::Postgres(url.to_owned())
            }
            Some(_) => {
                return Err(ConfigError::new(
                    EDUCONNECT_STORE_NOT_SUPPORTED,
                    "store: \"memory\", or a redis://, rediss:// or postgres:// URL",
                ));
            }
        };
        let links = match self.links_store.as_deref() {
            None => None,
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Some(url.to_owned())
            }
            Some(_) => {
                return Err(ConfigError::new(
                    EDUCONNECT_STORE_NOT_SUPPORTED,
                    "links_store: a postgres:// URL",
                ));
            }
        };
        Ok(StoresConfig { store, links })
    }

    /// The gateway builder this configuration describes, with its
    /// directory loaded and a memory store (see [`StoresConfig::connect`]
    /// for the others). `base` is where relative paths start.
    pub(crate) fn builder(self, base: &Path) -> Result<GatewayBuilder, ConfigError> {
        use educonnect_result::*;
        let gateway = |e: educonnect_core::flow::GatewayConfigError| {
            ConfigError::new(EDUCONNECT_GATEWAY_CONFIG, format!("gateway: {e}"))
        };
        let provider_error = |e: educonnect_core::provider::ConfigError| {
            ConfigError::new(EDUCONNECT_PROVIDER_CONFIG, format!("provider: {e}"))
        };
        let mut builder = Gateway::builder(&self.public_url)
            .map_err(gateway)?
            .store(Arc::new(MemoryStore::new()))
            .act_for_policy(self.act_for_policy);
        if self.providers.is_empty() {
            return Err(ConfigError::new(
                EDUCONNECT_CONFIG_INVALID,
                "providers: at least one",
            ));
        }
        for provider in self.providers {
            builder = builder.provider(match provider {
                ProviderConfig::Franceconnect {
                    issuer,
                    client_id,
                    client_secret,
                    usage_name,
                    email,
                } => {
                    let mut preset = FranceConnect::custom(&issuer).map_err(provider_error)?;
                    if usage_name {
                        preset = preset.with_usage_name();
                    }
                    if email {
                        preset = preset.with_email();
                    }
                    Provider::franceconnect(preset, client_id, ClientSecret::new(client_secret))
                }
                ProviderConfig::Educonnect {
                    base,
                    client_id,
                    client_secret,
                    jwks,
                } => {
                    let mut preset = EduConnect::at_base(&base).map_err(provider_error)?;
                    if let Some(jwks) = jwks {
                        let url = url::Url::parse(&jwks).map_err(|_| {
                            ConfigError::new(
                                EDUCONNECT_PROVIDER_CONFIG,
                                "provider: the EduConnect jwks is not a URL",
                            )
                        })?;
                        preset = preset.with_jwks(url).map_err(provider_error)?;
                    }
                    Provider::educonnect(preset, client_id, ClientSecret::new(client_secret))
                }
            });
        }
        if let Some(directory) = self.directory {
            builder = builder.directory(directory.load(base)?);
        }
        if let Some(path) = self.login_state_key_file {
            let path = base.join(path);
            let secret = std::fs::read(&path).map_err(|e| {
                ConfigError::new(
                    EDUCONNECT_CONFIG_UNREADABLE,
                    format!("login_state_key_file: {}: {e}", path.display()),
                )
            })?;
            builder = builder.login_state_key(LoginStateKey::new(secret).map_err(gateway)?);
        }
        if let Some(path) = self.assertion_key_file {
            let path = base.join(path);
            let jwk = std::fs::read(&path).map_err(|e| {
                ConfigError::new(
                    EDUCONNECT_CONFIG_UNREADABLE,
                    format!("assertion_key_file: {}: {e}", path.display()),
                )
            })?;
            let key = SigningKey::from_jwk_json(&jwk).map_err(|e| {
                ConfigError::new(
                    EDUCONNECT_GATEWAY_CONFIG,
                    format!("assertion_key_file: {}: {e}", path.display()),
                )
            })?;
            builder = builder.assertion_key(key);
        }
        if let Some(path) = self.base_path {
            builder = builder.base_path(path);
        }
        if self.insecure_cookies_for_local_development {
            builder = builder.insecure_cookies_for_local_development();
        }
        Ok(builder)
    }
}

impl DirectoryConfig {
    fn load(self, base: &Path) -> Result<Arc<dyn Directory>, ConfigError> {
        use educonnect_result::*;
        if self.files.is_empty() && self.snapshots.is_empty() {
            return Err(ConfigError::new(
                EDUCONNECT_CONFIG_INVALID,
                "directory: neither \"files\" nor \"snapshots\" lists a file",
            ));
        }
        let uai = self.uai.map(|u| Uai::parse(&u)).transpose().map_err(|e| {
            ConfigError::new(EDUCONNECT_CONFIG_INVALID, format!("directory.uai: {e}"))
        })?;
        let hints = SourceHints {
            academy: self.academy,
            uai,
        };
        let snapshots: Vec<PathBuf> = self.snapshots.iter().map(|f| base.join(f)).collect();
        let files: Vec<PathBuf> = self.files.iter().map(|f| base.join(f)).collect();
        educonnect_mmap::load_directory(&snapshots, &files, &hints).map_err(|e| {
            let code = match e {
                LoadDirectoryError::Snapshot(_) => EDUCONNECT_SNAPSHOT_INVALID,
                _ => EDUCONNECT_DIRECTORY_NOT_LOADED,
            };
            ConfigError::new(code, format!("directory: {e}"))
        })
    }
}

/// Where the gateway keeps its state, as configured.
pub(crate) struct StoresConfig {
    store: StoreKind,
    /// PostgreSQL for verified links and the audit log.
    links: Option<String>,
}

enum StoreKind {
    Memory,
    Redis(String),
    Postgres(String),
}

impl StoresConfig {
    /// Connects the stores (on the gateway's runtime: their tasks run
    /// there) and sets them, with the PostgreSQL audit log if any, on
    /// `builder`. Errors never show a URL (it may hold a password).
    pub(crate) async fn connect(
        self,
        builder: GatewayBuilder,
    ) -> Result<GatewayBuilder, ConfigError> {
        use educonnect_result::*;
        let unreachable = |what: &str, e: &dyn std::fmt::Display| {
            ConfigError::new(EDUCONNECT_STORE_UNREACHABLE, format!("{what}: {e}"))
        };
        let mut audit = None;
        let store: Arc<dyn Store> = match self.store {
            StoreKind::Memory => Arc::new(MemoryStore::new()),
            StoreKind::Redis(url) => Arc::new(
                RedisStore::connect(&url)
                    .await
                    .map_err(|e| unreachable("store", &e))?,
            ),
            StoreKind::Postgres(url) => {
                let postgres = PostgresStore::connect(&url)
                    .await
                    .map_err(|e| unreachable("store", &e))?;
                audit = Some(PostgresAuditSink::new(&postgres));
                Arc::new(postgres)
            }
        };
        let store: Arc<dyn Store> = match self.links {
            None => store,
            Some(url) => {
                let postgres = PostgresStore::connect(&url)
                    .await
                    .map_err(|e| unreachable("links_store", &e))?;
                audit = Some(PostgresAuditSink::new(&postgres));
                Arc::new(SplitStore::new(store, Arc::new(postgres)))
            }
        };
        let mut builder = builder.store(store);
        if let Some(audit) = audit {
            builder = builder.audit_sink(Arc::new(audit));
        }
        Ok(builder)
    }
}
