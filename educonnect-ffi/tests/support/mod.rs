//! What the tests share: family assertions minted by a test key, and
//! where the built library and the examples are.
#![allow(dead_code, reason = "each test binary uses part of it")]

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use educonnect_core::directory::{PupilId, Relationship, RelationshipCode, SourceId};
use educonnect_core::filiation::{Child, FamilyClaims, Verification};
use educonnect_core::jose::{Algorithm, SigningKey};
use serde_json::json;

pub(crate) const ISSUER: &str = "https://ent.example.fr";
pub(crate) const AUDIENCE: &str = "https://bourses.example.fr";
pub(crate) const SUB: &str = "sub-parent-1";

/// Éloïse (aaf:14/E1): the person is her mother, with legal authority.
/// Noé (siecle:0590089B/S7): recorded as her grandparent, without.
pub(crate) fn family() -> FamilyClaims {
    let eloise = PupilId::new(SourceId::aaf("14").unwrap(), "E1").unwrap();
    let noe = PupilId::new(SourceId::parse("siecle:0590089B").unwrap(), "S7").unwrap();
    FamilyClaims::guardian(
        "franceconnect",
        SUB,
        Vec::new(),
        [
            Child::new(
                eloise,
                Relationship::Mother.into(),
                true,
                Verification::BirthDates,
            )
            .with_ine(Some("123456789AB".parse().unwrap()))
            .with_uai(Some("0750654D".parse().unwrap())),
            Child::new(
                noe,
                RelationshipCode::of(Relationship::GrandParent),
                false,
                Verification::EduConnect,
            ),
        ],
    )
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A key, its JWKS, and assertions signed with it.
pub(crate) struct Minter {
    pub(crate) key: SigningKey,
}

impl Minter {
    pub(crate) fn new() -> Self {
        Self {
            key: SigningKey::generate(Algorithm::ES256, "ffi-test").unwrap(),
        }
    }

    pub(crate) fn jwks(&self) -> String {
        self.key.public_jwks_json()
    }

    /// An assertion of `family()` for `AUDIENCE`, issued `age` seconds ago
    /// and valid `ttl` seconds from then.
    pub(crate) fn assertion(&self, age: i64, ttl: i64) -> String {
        self.assertion_of(&family(), ISSUER, AUDIENCE, age, ttl)
    }

    pub(crate) fn assertion_of(
        &self,
        family: &FamilyClaims,
        issuer: &str,
        audience: &str,
        age: i64,
        ttl: i64,
    ) -> String {
        let iat = now() - age;
        self.key
            .sign(&json!({
                "iss": issuer, "aud": audience, "sub": family.sub(),
                "iat": iat, "exp": iat + ttl, "family": family,
            }))
            .unwrap()
    }
}

/// The workspace's root.
pub(crate) fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where cargo put the test binary, `target/<profile>/deps`: the library
/// built for the tests (`libeduconnect_ffi.so` and `.a`) is there too.
pub(crate) fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().to_path_buf()
}

/// A fresh scratch directory for one test.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("educonnect-ffi-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Compiles the C example `examples/c/<name>.c` against the library built
/// for this test run (linked dynamically, found at run time by rpath).
pub(crate) fn compile_c_example(name: &str, out_dir: &Path) -> PathBuf {
    let source = workspace().join("examples/c").join(format!("{name}.c"));
    let binary = out_dir.join(name);
    let lib = library_dir();
    let status = std::process::Command::new("cc")
        .args([
            "-std=c11",
            "-D_POSIX_C_SOURCE=200809L",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-g",
            "-I",
        ])
        .arg(workspace().join("educonnect-ffi/include"))
        .arg(&source)
        .arg("-o")
        .arg(&binary)
        .arg("-L")
        .arg(&lib)
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .args(["-leduconnect_ffi", "-lpthread"])
        .status()
        .expect("cc runs (scripts/test installs it)");
    assert!(status.success(), "cc failed on {}", source.display());
    binary
}

/// The command that runs a program under valgrind's memcheck: any invalid
/// access, or a leak definitely or indirectly lost, exits with 99.
pub(crate) fn valgrind(program: &Path) -> std::process::Command {
    let mut command = std::process::Command::new("valgrind");
    command
        .args([
            "--quiet",
            "--error-exitcode=99",
            "--leak-check=full",
            "--show-leak-kinds=definite,indirect",
            "--errors-for-leak-kinds=definite,indirect",
        ])
        .arg(program);
    command
}

/// The shared library itself.
pub(crate) fn shared_library() -> PathBuf {
    library_dir().join("libeduconnect_ffi.so")
}

/// The demo directory's export files, as a configuration lists them.
pub(crate) fn demo_directory_config() -> serde_json::Value {
    let demo = workspace().join("educonnect-sandbox/demo");
    let mut files: Vec<String> = std::fs::read_dir(&demo)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    for name in ["ElevesSansAdresses.xml", "ResponsablesAvecAdresses.xml"] {
        files.push(
            demo.join("siecle_0590089B")
                .join(name)
                .display()
                .to_string(),
        );
    }
    json!({ "files": files, "uai": "0590089B" })
}

/// A gateway configuration for `public_url` against a running sandbox.
pub(crate) fn sandbox_config(
    public_url: &str,
    sandbox: &educonnect_sandbox::Sandbox,
) -> serde_json::Value {
    json!({
        "public_url": public_url,
        "providers": [
            {
                "type": "franceconnect",
                "issuer": sandbox.franceconnect_issuer(),
                "client_id": sandbox.client_id(),
                "client_secret": sandbox.client_secret(),
                "usage_name": true,
                "email": true,
            },
            {
                "type": "educonnect",
                "base": sandbox.educonnect_base(),
                "jwks": format!("{}/profile/oidc/jwks", sandbox.educonnect_base()),
                "client_id": sandbox.client_id(),
                "client_secret": sandbox.client_secret(),
            },
        ],
        "directory": demo_directory_config(),
        "store": "memory",
        "insecure_cookies_for_local_development": true,
    })
}

/// A free loopback port (bound, read, released: another process may take
/// it in between, which a test then reports as a failure to listen).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
