//! The command line, as clap sees it. The doc comments are the help text.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use educonnect_core::directory::SourceId;
use educonnect_core::ids::Uai;
use educonnect_core::jose::{Acr, Algorithm, KeyManagement};

/// Latest `--now` accepted: the end of year 9999, far from any overflow.
const MAX_NOW: u64 = 253_402_300_799;

/// Longest `kid` accepted by `keygen`, so that file names stay well under
/// the usual 255-byte limit.
const MAX_KID_LEN: usize = 128;

/// Keys, signing, verification and inspection of EduConnect / FranceConnect
/// tokens (compact JWS).
///
/// Exit codes: 0 success, 1 token rejected (or malformed, for inspect),
/// 2 usage or I/O error.
#[derive(Debug, Parser)]
#[command(name = "educonnect", version)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Show what the token core does, offline and in memory: sign, verify,
    /// and refuse altered, unsigned and expired tokens.
    Demo,
    /// Generate a signing key: DIR/KID.private.jwk.json (mode 0600, never
    /// overwritten) and DIR/KID.jwks.json (the public key set to publish).
    Keygen(KeygenArgs),
    /// Sign, verify or inspect a compact JWS.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Check school directory exports (AAF, SIECLE).
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// Run the offline FranceConnect v2 / EduConnect sandbox provider with
    /// demo identities, until interrupted (Ctrl-C). For development only:
    /// its keys are public.
    Sandbox(SandboxArgs),
    /// Run the authentication proxy: the gateway's /auth routes, and every
    /// other request forwarded to the upstream application by the rules of
    /// the configuration file, with the user's identity and family
    /// assertion as X-EduConnect-* headers; GET /auth/check for nginx's
    /// auth_request. Stops on SIGTERM or Ctrl-C after the requests in
    /// flight. With no [gateway] providers it runs on the offline sandbox.
    Proxy(ProxyArgs),
}

/// Arguments of `educonnect proxy`.
#[derive(Debug, Args)]
pub(crate) struct ProxyArgs {
    /// The configuration file (TOML; see the README's `educonnect proxy`).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: PathBuf,
    /// Only check the file: exit 0 when it is usable, else 2 with
    /// `file:line:column: reason`.
    #[arg(long)]
    pub(crate) check: bool,
}

/// Arguments of `educonnect sandbox`.
#[derive(Debug, Args)]
pub(crate) struct SandboxArgs {
    /// Loopback address and port to listen on (port 0: any free port).
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8484", value_parser = parse_loopback)]
    pub(crate) listen: SocketAddr,
    /// A redirect URI to register (exact match); repeatable. Default: the
    /// callback of a gateway at http://localhost:3000 (/auth/callback).
    #[arg(long, value_name = "URI")]
    pub(crate) redirect_uri: Vec<String>,
    /// A post-logout redirect URI to register (exact match); repeatable.
    /// Default: http://localhost:3000/auth/logout/callback.
    #[arg(long, value_name = "URI")]
    pub(crate) post_logout_redirect_uri: Vec<String>,
    /// The algorithm of FranceConnect ID tokens and userinfo.
    #[arg(long, value_enum, default_value = "ES256")]
    pub(crate) alg: SandboxAlg,
    /// Act as FranceConnect+ (eidas2/eidas3, private_key_jwt, encrypted ID
    /// token and userinfo), with the client's keys fetched from this
    /// jwks_uri (a gateway's `{public_url}/auth/jwks`).
    #[arg(long, value_name = "JWKS_URI")]
    pub(crate) franceconnect_plus: Option<String>,
}

/// The algorithms the sandbox signs FranceConnect tokens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum SandboxAlg {
    /// ECDSA on P-256 with SHA-256 (FranceConnect's recommendation).
    #[value(name = "ES256")]
    Es256,
    /// RSA PKCS#1 v1.5 with SHA-256.
    #[value(name = "RS256")]
    Rs256,
}

impl SandboxAlg {
    /// The core's algorithm.
    pub(crate) fn algorithm(self) -> Algorithm {
        match self {
            Self::Es256 => Algorithm::ES256,
            Self::Rs256 => Algorithm::RS256,
        }
    }
}

/// `educonnect directory ...`
#[derive(Debug, Subcommand)]
pub(crate) enum DirectoryCommand {
    /// Import AAF or SIECLE export files as the library would, and print
    /// the counts and every problem found (file, record id, reason; never a
    /// name or a birth date). Exit 1 when there are problems. A file whose
    /// name ends in `.snap` is a snapshot written by `compile`: opened and
    /// checked whole, its counts and anomalies printed.
    Check(CheckArgs),
    /// Import AAF or SIECLE export files and write each source's directory
    /// as a snapshot file, which a gateway opens at start (mapped into
    /// memory, checked whole) instead of importing the exports again. The
    /// file is written under a temporary name, then renamed: never modified
    /// in place. Prints each source's counts and the number of problems
    /// (`check` lists them); problems do not stop the compile.
    Compile(CompileArgs),
}

/// Arguments of `educonnect directory compile`.
#[derive(Debug, Args)]
pub(crate) struct CompileArgs {
    /// The academy code of the AAF files (1 to 3 digits). Default: read
    /// from each file name, `ENT_<code>_...`
    #[arg(long, value_name = "CODE", conflicts_with = "uai", value_parser = parse_academy)]
    pub(crate) academy: Option<String>,
    /// The school whose SIECLE files these are (required for SIECLE files).
    #[arg(long, value_name = "UAI", value_parser = parse_uai)]
    pub(crate) uai: Option<Uai>,
    /// The snapshot file to write, when the files are of one source (by
    /// convention `<name>.snap`).
    #[arg(
        short,
        long,
        value_name = "FILE",
        conflicts_with = "output_dir",
        required_unless_present = "output_dir"
    )]
    pub(crate) output: Option<PathBuf>,
    /// A directory to write one snapshot per source to, named after the
    /// source: `aaf_14.snap`, `siecle_0750654D.snap`.
    #[arg(long, value_name = "DIR")]
    pub(crate) output_dir: Option<PathBuf>,
    /// How many sources to import at once, each on its own thread (each
    /// holds its source's records while importing: memory grows with it).
    /// Default: the number of cores.
    #[arg(short, long, value_name = "N")]
    pub(crate) jobs: Option<std::num::NonZeroUsize>,
    /// The export files, applied in this order (a full export, then deltas).
    #[arg(value_name = "FILE", required = true)]
    pub(crate) files: Vec<PathBuf>,
}

/// Arguments of `educonnect directory check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The academy code of the AAF files (1 to 3 digits). Default: read
    /// from each file name, `ENT_<code>_...`
    #[arg(long, value_name = "CODE", conflicts_with = "uai", value_parser = parse_academy)]
    pub(crate) academy: Option<String>,
    /// The school whose SIECLE files these are (required for SIECLE files).
    #[arg(long, value_name = "UAI", value_parser = parse_uai)]
    pub(crate) uai: Option<Uai>,
    /// The output: `text` (one line per file, problem, source) or `json`
    /// (one object: schools, problems, totals). Problems name files, record
    /// ids and codes only, never a name or a birth date.
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: CheckFormat,
    /// The export files, applied in this order (a full export, then deltas).
    #[arg(value_name = "FILE", required = true)]
    pub(crate) files: Vec<PathBuf>,
}

/// The output formats of `educonnect directory check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CheckFormat {
    /// Lines of text.
    Text,
    /// One JSON object.
    Json,
}

/// `educonnect token ...`
#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
    /// Sign claims with a private JWK written by `keygen`; prints the token.
    Sign(SignArgs),
    /// Verify a token's signature and claims; prints the claims as JSON.
    Verify(VerifyArgs),
    /// Decode a token WITHOUT verifying it, to look at it.
    Inspect(InspectArgs),
}

/// Arguments of `educonnect keygen`.
#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {
    /// Algorithm of the new key: a signature algorithm (family assertions,
    /// `private_key_jwt`), or a key management algorithm for a key that
    /// decrypts FranceConnect+ tokens (published with `use: enc`).
    #[arg(long, value_enum)]
    pub(crate) alg: KeyAlg,
    /// Key id: letters, digits, '-', '_' and '.', not starting with '.'.
    /// Also names the files.
    #[arg(long, value_parser = parse_kid)]
    pub(crate) kid: String,
    /// Directory to write the key files to, created if needed.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
}

/// The algorithms `keygen` can make keys for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum KeyAlg {
    /// ECDSA on P-256 with SHA-256.
    #[value(name = "ES256")]
    Es256,
    /// Ed25519.
    #[value(name = "EdDSA")]
    EdDsa,
    /// RSA-2048, PKCS#1 v1.5 signatures (`private_key_jwt`). aws-lc-rs only.
    #[value(name = "RS256")]
    Rs256,
    /// P-256 key agreement: decrypts ECDH-ES tokens. aws-lc-rs only.
    #[value(name = "ECDH-ES")]
    EcdhEs,
    /// RSA-2048 decrypting RSA-OAEP-256 tokens. aws-lc-rs only.
    #[value(name = "RSA-OAEP-256")]
    RsaOaep256,
    /// RSA-2048 decrypting RSA-OAEP (SHA-1) tokens. aws-lc-rs only.
    #[value(name = "RSA-OAEP")]
    RsaOaep,
}

/// What a `keygen` key is for.
pub(crate) enum KeyKind {
    /// Signs tokens.
    Signing(Algorithm),
    /// Decrypts tokens.
    Decryption(KeyManagement),
}

impl KeyAlg {
    /// The core's algorithm.
    pub(crate) fn kind(self) -> KeyKind {
        match self {
            Self::Es256 => KeyKind::Signing(Algorithm::ES256),
            Self::EdDsa => KeyKind::Signing(Algorithm::EdDSA),
            Self::Rs256 => KeyKind::Signing(Algorithm::RS256),
            Self::EcdhEs => KeyKind::Decryption(KeyManagement::EcdhEs),
            Self::RsaOaep256 => KeyKind::Decryption(KeyManagement::RsaOaep256),
            Self::RsaOaep => KeyKind::Decryption(KeyManagement::RsaOaep),
        }
    }
}

/// Arguments of `educonnect token sign`.
#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// Private JWK file, as written by `keygen`.
    #[arg(long, value_name = "FILE")]
    pub(crate) key: PathBuf,
    /// Claims: a JSON object inline, or @FILE to read it from a file.
    #[arg(long, value_name = "JSON|@FILE")]
    pub(crate) claims: String,
}

/// Arguments of `educonnect token verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// Expected issuer (iss), compared exactly.
    #[arg(long, value_name = "ISS")]
    pub(crate) issuer: String,
    /// Expected audience (aud): the client id.
    #[arg(long, value_name = "AUD")]
    pub(crate) audience: String,
    /// Where the verification key comes from.
    #[command(flatten)]
    pub(crate) key: KeySource,
    /// Allowed algorithms, comma-separated (ES256, RS256, PS256, EdDSA,
    /// HS256). Default: the asymmetric ones with --jwks, HS256 with
    /// --secret-file.
    #[arg(long, value_name = "ALG,...", value_delimiter = ',', value_parser = parse_alg)]
    pub(crate) alg: Option<Vec<Algorithm>>,
    /// Required nonce.
    #[arg(long, value_name = "N")]
    pub(crate) nonce: Option<String>,
    /// Lowest accepted authentication level (acr): eidas1, eidas2 or eidas3.
    #[arg(long, value_name = "LEVEL", value_parser = parse_acr)]
    pub(crate) acr_min: Option<Acr>,
    /// Clock leeway on exp, nbf and iat, in seconds (default 60).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) leeway: Option<u64>,
    /// Judge the token as of this time (seconds since the Unix epoch)
    /// instead of the system clock.
    #[arg(long, value_name = "UNIX", value_parser = clap::value_parser!(u64).range(..=MAX_NOW))]
    pub(crate) now: Option<u64>,
    /// The token, or '-' to read it from standard input.
    #[arg(value_name = "TOKEN")]
    pub(crate) token: OsString,
}

/// Exactly one source of verification keys.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub(crate) struct KeySource {
    /// The issuer's public key set (JWKS, {"keys":[...]}).
    #[arg(long, value_name = "FILE")]
    pub(crate) jwks: Option<PathBuf>,
    /// File holding the HS256 shared secret (raw bytes, at least 32; a
    /// trailing newline is ignored). Only HS256 is then allowed.
    #[arg(long, value_name = "FILE")]
    pub(crate) secret_file: Option<PathBuf>,
}

/// Arguments of `educonnect token inspect`.
#[derive(Debug, Args)]
pub(crate) struct InspectArgs {
    /// The token, or '-' to read it from standard input.
    #[arg(value_name = "TOKEN")]
    pub(crate) token: OsString,
}

/// A `kid` that is also a safe file name.
fn parse_kid(kid: &str) -> Result<String, String> {
    if kid.is_empty() {
        return Err("the key id must not be empty".into());
    }
    if kid.len() > MAX_KID_LEN {
        return Err(format!(
            "the key id is longer than {MAX_KID_LEN} characters"
        ));
    }
    if kid.starts_with('.') {
        return Err("the key id must not start with '.'".into());
    }
    if !kid
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err("the key id may only hold letters, digits, '-', '_' and '.'".into());
    }
    Ok(kid.to_owned())
}

/// A socket address on a loopback interface: the sandbox's keys are
/// public, so it never listens on a network.
fn parse_loopback(addr: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = addr
        .parse()
        .map_err(|_| "expected an address such as 127.0.0.1:8484".to_owned())?;
    if !addr.ip().is_loopback() {
        return Err("the sandbox listens on loopback addresses only".into());
    }
    Ok(addr)
}

/// An academy code, 1 to 3 digits.
fn parse_academy(code: &str) -> Result<String, String> {
    SourceId::aaf(code)
        .map(|_| code.to_owned())
        .map_err(|e| e.to_string())
}

/// A UAI, key letter checked.
fn parse_uai(uai: &str) -> Result<Uai, String> {
    Uai::parse(uai).map_err(|e| e.to_string())
}

/// An algorithm name, exactly as written in JOSE.
fn parse_alg(name: &str) -> Result<Algorithm, String> {
    name.parse::<Algorithm>().map_err(|e| {
        let known: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
        format!("{e} (known: {})", known.join(", "))
    })
}

/// An eIDAS level.
fn parse_acr(level: &str) -> Result<Acr, String> {
    level.parse::<Acr>().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn kids() {
        for ok in ["demo", "2026-11", "a.b_c-D9"] {
            assert_eq!(parse_kid(ok).as_deref(), Ok(ok));
        }
        for bad in [
            "",
            ".hidden",
            "..",
            "a/b",
            "a\\b",
            "é",
            "a b",
            &"k".repeat(129),
        ] {
            assert!(parse_kid(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn algs_and_levels() {
        assert_eq!(parse_alg("EdDSA"), Ok(Algorithm::EdDSA));
        assert!(parse_alg("none").is_err());
        assert!(parse_alg("es256").is_err());
        assert_eq!(parse_acr("eidas2"), Ok(Acr::Eidas2));
        assert!(parse_acr("eidas4").is_err());
    }

    #[test]
    fn loopback_only() {
        assert!(parse_loopback("127.0.0.1:0").is_ok());
        assert!(parse_loopback("[::1]:8484").is_ok());
        assert!(parse_loopback("0.0.0.0:8484").is_err());
        assert!(parse_loopback("localhost:8484").is_err());
    }
}
