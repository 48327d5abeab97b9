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

/// Where cargo put the test binary: `target/<profile>/deps`; the library
/// (`libeduconnect_ffi.so`, `.a`) is one level up.
pub(crate) fn library_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// A fresh scratch directory for one test.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("educonnect-ffi-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
