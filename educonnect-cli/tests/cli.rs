//! The `educonnect` binary, run as people and scripts run it: exit codes,
//! standard output and standard error.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

const ISS: &str = "https://ent.example";
const AUD: &str = "bourse";
/// Every token here is issued at this time, and judged with `--now` near it.
const IAT: u64 = 1_700_000_000;

/// What a run of the binary gave.
#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    /// Exit 0, nothing on standard error.
    fn assert_ok(&self) -> &Self {
        assert_eq!(self.code, 0, "{self:#?}");
        assert!(self.stderr.is_empty(), "{self:#?}");
        self
    }

    /// Exit 1, nothing on standard output, and a last line `rejected: ...`
    /// containing `reason`; `lines` lines on standard error in all.
    fn assert_rejected_with_lines(&self, reason: &str, lines: usize) -> &Self {
        assert_eq!(self.code, 1, "{self:#?}");
        assert!(self.stdout.is_empty(), "{self:#?}");
        assert_eq!(self.stderr.lines().count(), lines, "{self:#?}");
        let last = self.stderr.lines().last().unwrap_or_default();
        assert!(last.starts_with("rejected: "), "{self:#?}");
        assert!(last.contains(reason), "expected {reason:?}: {self:#?}");
        self.assert_no_panic()
    }

    /// Exit 1 with exactly one line `rejected: ...` containing `reason`.
    fn assert_rejected(&self, reason: &str) -> &Self {
        self.assert_rejected_with_lines(reason, 1)
    }

    /// Exit 2 (usage or I/O error), nothing on standard output, and standard
    /// error mentioning `reason`.
    fn assert_usage(&self, reason: &str) -> &Self {
        assert_eq!(self.code, 2, "{self:#?}");
        assert!(self.stdout.is_empty(), "{self:#?}");
        assert!(
            self.stderr.contains(reason),
            "expected {reason:?}: {self:#?}"
        );
        self.assert_no_panic()
    }

    fn assert_no_panic(&self) -> &Self {
        assert!(!self.stderr.contains("panicked"), "{self:#?}");
        self
    }

    /// Standard output as one JSON document.
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("{e}: {self:#?}"))
    }
}

fn run(args: &[&str]) -> Out {
    run_with_stdin(args, b"")
}

/// Runs the binary with `input` written to its standard input. The binary
/// may stop reading early: the writer's broken pipe is expected then.
fn run_with_stdin(args: &[&str], input: &[u8]) -> Out {
    let mut child = Command::new(env!("CARGO_BIN_EXE_educonnect"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    Out {
        code: output
            .status
            .code()
            .expect("exited, not killed by a signal"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// A fresh, empty directory for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("educonnect-cli")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Key files made by `educonnect keygen` in a fresh directory.
struct Keys {
    dir: PathBuf,
    private: PathBuf,
    jwks: PathBuf,
}

fn keygen(test: &str, alg: &str, kid: &str) -> Keys {
    let dir = temp_dir(test);
    let out_dir = dir.join("keys");
    let out = run(&["keygen", "--alg", alg, "--kid", kid, "--out", s(&out_dir)]);
    out.assert_ok();
    let private = out_dir.join(format!("{kid}.private.jwk.json"));
    let jwks = out_dir.join(format!("{kid}.jwks.json"));
    let printed: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(printed, [s(&private), s(&jwks)], "{out:#?}");
    Keys { dir, private, jwks }
}

fn claims() -> Value {
    json!({
        "iss": ISS, "aud": AUD, "sub": "p-123",
        "iat": IAT, "exp": IAT + 300,
        "nonce": "n-0S6_WzA2Mj", "acr": "eidas1",
        "given_name": "Jeanne-Dupont-1987",
    })
}

fn sign(keys: &Keys, claims: &Value) -> String {
    let out = run(&[
        "token",
        "sign",
        "--key",
        s(&keys.private),
        "--claims",
        &claims.to_string(),
    ]);
    out.assert_ok();
    let token = out.stdout.trim_end().to_owned();
    assert_eq!(token.split('.').count(), 3, "{out:#?}");
    token
}

/// `token verify` with the key set, at `IAT + 60`, plus `extra` flags.
fn verify(keys: &Keys, token: &str, extra: &[&str]) -> Out {
    let now = (IAT + 60).to_string();
    let mut args = vec![
        "token",
        "verify",
        "--issuer",
        ISS,
        "--audience",
        AUD,
        "--jwks",
        s(&keys.jwks),
        "--now",
        &now,
    ];
    args.extend_from_slice(extra);
    args.push(token);
    run(&args)
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn random_bytes(len: usize) -> Vec<u8> {
    use ring::rand::SecureRandom;
    let mut bytes = vec![0; len];
    ring::rand::SystemRandom::new().fill(&mut bytes).unwrap();
    bytes
}

#[test]
fn keygen_writes_decryption_keys_for_franceconnect_plus() {
    for (alg, kid) in [("ECDH-ES", "enc-ec"), ("RSA-OAEP-256", "enc-rsa")] {
        let keys = keygen(&format!("enc-{alg}"), alg, kid);
        let private = std::fs::read_to_string(&keys.private).unwrap();
        let key = educonnect_core::jose::DecryptionKey::from_jwk_json(private.as_bytes()).unwrap();
        assert_eq!(key.algorithm().name(), alg);
        let jwks: Value =
            serde_json::from_str(&std::fs::read_to_string(&keys.jwks).unwrap()).unwrap();
        assert_eq!(jwks["keys"][0]["use"], "enc");
        assert_eq!(jwks["keys"][0]["alg"], alg);
        assert!(jwks["keys"][0].get("d").is_none(), "the JWKS is public");
    }
}

#[test]
fn keygen_sign_verify_round_trip_for_each_algorithm() {
    for (alg, kid) in [
        ("ES256", "es-2026"),
        ("EdDSA", "ed.2026_1"),
        ("RS256", "rs-2026"),
    ] {
        let keys = keygen(&format!("round-trip-{alg}"), alg, kid);

        let private: Value =
            serde_json::from_str(&std::fs::read_to_string(&keys.private).unwrap()).unwrap();
        assert_eq!(private["kid"], kid);
        assert_eq!(private["alg"], alg);
        assert!(private["d"].is_string(), "a private JWK has d");
        let jwks: Value =
            serde_json::from_str(&std::fs::read_to_string(&keys.jwks).unwrap()).unwrap();
        assert_eq!(jwks["keys"].as_array().map(Vec::len), Some(1));
        assert_eq!(jwks["keys"][0]["kid"], kid);
        assert!(jwks["keys"][0].get("d").is_none(), "the JWKS is public");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&keys.private)
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }

        let token = sign(&keys, &claims());
        let out = verify(
            &keys,
            &token,
            &["--nonce", "n-0S6_WzA2Mj", "--acr-min", "eidas1"],
        );
        out.assert_ok();
        assert_eq!(out.stdout.lines().count(), 1, "compact JSON: {out:#?}");
        assert_eq!(out.json(), claims());

        // The default allow-list is the asymmetric algorithms; naming the key's
        // algorithm works, naming only another one does not.
        verify(&keys, &token, &["--alg", alg]).assert_ok();
        let other = if alg == "ES256" { "EdDSA" } else { "ES256" };
        let others = if alg == "RS256" {
            "PS256,EdDSA"
        } else {
            &format!("RS256,{other}")
        };
        verify(&keys, &token, &["--alg", others]).assert_rejected("not allowed");
    }
}

#[test]
fn claims_can_come_from_a_file() {
    let keys = keygen("claims-file", "EdDSA", "k1");
    let path = keys.dir.join("claims.json");
    std::fs::write(&path, claims().to_string()).unwrap();
    let out = run(&[
        "token",
        "sign",
        "--key",
        s(&keys.private),
        "--claims",
        &format!("@{}", s(&path)),
    ]);
    out.assert_ok();
    let out = verify(&keys, out.stdout.trim(), &[]);
    out.assert_ok();
    assert_eq!(out.json()["sub"], "p-123");
}

#[test]
fn keygen_never_overwrites_a_key() {
    let keys = keygen("no-overwrite", "ES256", "k1");
    let before = std::fs::read(&keys.private).unwrap();
    let out_dir = keys.private.parent().unwrap();
    for alg in ["ES256", "EdDSA"] {
        run(&["keygen", "--alg", alg, "--kid", "k1", "--out", s(out_dir)])
            .assert_usage("already exists");
    }
    assert_eq!(std::fs::read(&keys.private).unwrap(), before);

    // Only the public file left: still refused, and no private key is left
    // behind without its public half.
    std::fs::remove_file(&keys.private).unwrap();
    run(&[
        "keygen",
        "--alg",
        "ES256",
        "--kid",
        "k1",
        "--out",
        s(out_dir),
    ])
    .assert_usage("already exists");
    assert!(!keys.private.exists());
}

#[test]
fn keygen_refuses_unsafe_kids_and_algorithms() {
    let dir = temp_dir("bad-kid");
    let out_dir = dir.join("keys");
    for kid in ["../evil", ".hidden", "a/b", "", "a b", "clé"] {
        run(&[
            "keygen",
            "--alg",
            "ES256",
            "--kid",
            kid,
            "--out",
            s(&out_dir),
        ])
        .assert_usage("--kid");
    }
    run(&[
        "keygen",
        "--alg",
        "PS256",
        "--kid",
        "k",
        "--out",
        s(&out_dir),
    ])
    .assert_usage("--alg");
    assert!(!out_dir.exists(), "nothing was created");
    assert!(!dir.join("evil.private.jwk.json").exists());
}

#[test]
fn rejects_wrong_issuer() {
    let keys = keygen("wrong-iss", "ES256", "k1");
    let token = sign(&keys, &claims());
    let now = (IAT + 60).to_string();
    let out = run(&[
        "token",
        "verify",
        "--issuer",
        "https://ent.example/",
        "--audience",
        AUD,
        "--jwks",
        s(&keys.jwks),
        "--now",
        &now,
        &token,
    ]);
    out.assert_rejected("issuer");
    assert!(!out.stderr.contains("Jeanne"), "errors never show claims");
    assert!(!out.stderr.contains(&token[..20]), "nor the token");
}

#[test]
fn rejects_wrong_audience() {
    let keys = keygen("wrong-aud", "EdDSA", "k1");
    let mut c = claims();
    c["aud"] = json!("another-service");
    verify(&keys, &sign(&keys, &c), &[]).assert_rejected("audience");
}

#[test]
fn rejects_expired_tokens_as_of_now() {
    let keys = keygen("expired", "ES256", "k1");
    let token = sign(&keys, &claims());
    // exp is IAT + 300; 60 s of leeway by default.
    let at = |now: u64, extra: &[&str]| {
        let now = now.to_string();
        let mut args = vec![
            "token",
            "verify",
            "--issuer",
            ISS,
            "--audience",
            AUD,
            "--jwks",
            s(&keys.jwks),
            "--now",
            &now,
        ];
        args.extend_from_slice(extra);
        args.push(&token);
        run(&args)
    };
    at(IAT + 359, &[]).assert_ok();
    at(IAT + 360, &[]).assert_rejected("token expired");
    at(IAT + 3600, &[]).assert_rejected("token expired");
    at(IAT + 3600, &["--leeway", "7200"]).assert_ok();
    at(IAT + 301, &["--leeway", "0"]).assert_rejected("token expired");
}

#[test]
fn rejects_a_bad_signature() {
    for alg in ["ES256", "EdDSA"] {
        let keys = keygen(&format!("bad-sig-{alg}"), alg, "k1");
        let token = sign(&keys, &claims());
        let sig_start = token.rfind('.').unwrap() + 1;
        let mut forged = token.clone().into_bytes();
        forged[sig_start] = if forged[sig_start] == b'A' {
            b'B'
        } else {
            b'A'
        };
        let forged = String::from_utf8(forged).unwrap();
        verify(&keys, &forged, &[]).assert_rejected("bad signature");

        // A token signed by another key with the same kid.
        let other = keygen(&format!("bad-sig-other-{alg}"), alg, "k1");
        verify(&keys, &sign(&other, &claims()), &[]).assert_rejected("bad signature");

        // Claims altered after signing.
        let mut c = claims();
        c["sub"] = json!("p-999");
        let parts: Vec<&str> = token.split('.').collect();
        let altered = format!(
            "{}.{}.{}",
            parts[0],
            b64(c.to_string().as_bytes()),
            parts[2]
        );
        verify(&keys, &altered, &[]).assert_rejected("bad signature");
    }
}

#[test]
fn rejects_alg_none() {
    let keys = keygen("alg-none", "ES256", "k1");
    let payload = b64(claims().to_string().as_bytes());
    for spelling in ["none", "None", "NONE"] {
        let header = b64(json!({"alg": spelling, "typ": "JWT"})
            .to_string()
            .as_bytes());
        for signature in ["", "AAAA"] {
            let token = format!("{header}.{payload}.{signature}");
            verify(&keys, &token, &[]).assert_rejected("\"none\" is never accepted");
        }
    }
}

#[test]
fn rejects_a_nonce_mismatch_or_absence() {
    let keys = keygen("nonce", "EdDSA", "k1");
    let token = sign(&keys, &claims());
    verify(&keys, &token, &["--nonce", "n-0S6_WzA2Mj"]).assert_ok();
    verify(&keys, &token, &["--nonce", "n-other"]).assert_rejected("nonce does not match");
    let mut c = claims();
    c.as_object_mut().unwrap().remove("nonce");
    verify(&keys, &sign(&keys, &c), &["--nonce", "n-0S6_WzA2Mj"])
        .assert_rejected("nonce is missing");
}

#[test]
fn rejects_an_acr_too_low() {
    let keys = keygen("acr", "ES256", "k1");
    let token = sign(&keys, &claims()); // eidas1
    verify(&keys, &token, &["--acr-min", "eidas1"]).assert_ok();
    verify(&keys, &token, &["--acr-min", "eidas2"]).assert_rejected("lower than required");
    verify(&keys, &token, &["--acr-min", "eidas3"]).assert_rejected("lower than required");
    verify(&keys, &token, &["--acr-min", "eidas4"]).assert_usage("--acr-min");
}

/// An HS256 token, made here with ring's HMAC: `educonnect` never signs HS256.
fn hs256_token(secret: &[u8], claims: &Value) -> String {
    let signing_input = format!(
        "{}.{}",
        b64(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64(claims.to_string().as_bytes())
    );
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let tag = ring::hmac::sign(&key, signing_input.as_bytes());
    format!("{signing_input}.{}", b64(tag.as_ref()))
}

#[test]
fn hs256_with_a_secret_file() {
    let dir = temp_dir("hs256");
    let secret = b"a client secret of at least thirty-two bytes";
    let secret_file = dir.join("secret");
    // A trailing newline, as editors and `echo` leave, is not part of it.
    std::fs::write(&secret_file, [&secret[..], b"\n"].concat()).unwrap();
    let token = hs256_token(secret, &claims());
    let now = (IAT + 60).to_string();
    let hs = |file: &Path, extra: &[&str]| {
        let mut args = vec![
            "token",
            "verify",
            "--issuer",
            ISS,
            "--audience",
            AUD,
            "--secret-file",
            s(file),
            "--now",
            &now,
        ];
        args.extend_from_slice(extra);
        args.push(&token);
        run(&args)
    };

    let out = hs(&secret_file, &[]);
    out.assert_ok();
    assert_eq!(out.json()["sub"], "p-123");
    hs(&secret_file, &["--alg", "HS256"]).assert_ok();

    let wrong = dir.join("wrong");
    std::fs::write(&wrong, b"another client secret, also thirty-two bytes").unwrap();
    hs(&wrong, &[]).assert_rejected("bad signature");

    let short = dir.join("short");
    std::fs::write(&short, b"too short\n").unwrap();
    hs(&short, &[]).assert_usage("at least 32 bytes");
    hs(&secret_file, &["--alg", "ES256"]).assert_usage("HS256");

    // A key set never verifies HS256, whatever the flags.
    let keys = keygen("hs256-jwks", "ES256", "k1");
    verify(&keys, &token, &[]).assert_rejected("HS256 is not allowed");
    verify(&keys, &token, &["--alg", "HS256"]).assert_usage("--secret-file");
}

#[test]
fn usage_errors_exit_2() {
    let keys = keygen("usage", "ES256", "k1");
    let token = sign(&keys, &claims());
    let secret_file = keys.dir.join("secret");
    std::fs::write(&secret_file, [b'k'; 40]).unwrap();
    let base = ["token", "verify", "--issuer", ISS, "--audience", AUD];
    let with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        args.push(&token);
        run(&args)
    };

    with(&["--jwks", s(&keys.jwks), "--secret-file", s(&secret_file)])
        .assert_usage("cannot be used with");
    with(&[]).assert_usage("--jwks");
    with(&["--jwks", s(&keys.jwks), "--alg", "ES512"]).assert_usage("--alg");
    with(&["--jwks", s(&keys.jwks), "--alg", "ES256,none"]).assert_usage("--alg");
    with(&["--jwks", s(&keys.jwks), "--now", "yesterday"]).assert_usage("--now");
    with(&["--jwks", s(&keys.jwks), "--now", "18446744073709551615"]).assert_usage("--now");
    let missing = keys.dir.join("missing.json");
    with(&["--jwks", s(&missing)]).assert_usage("cannot read JWKS");
    with(&["--secret-file", s(&missing)]).assert_usage("cannot read secret file");
    // A file that is not a JWKS document is a usage error, not a rejection.
    with(&["--jwks", s(&secret_file)]).assert_usage("cannot use JWKS");
    with(&["--jwks", s(&keys.private)]).assert_usage("cannot use JWKS");
    run(&[
        "token",
        "verify",
        "--issuer",
        ISS,
        "--audience",
        AUD,
        "--jwks",
        s(&keys.jwks),
    ])
    .assert_usage("<TOKEN>");

    let sign_with =
        |key: &Path, claims: &str| run(&["token", "sign", "--key", s(key), "--claims", claims]);
    sign_with(&missing, "{}").assert_usage("cannot read key file");
    sign_with(&keys.jwks, "{}").assert_usage("cannot use key file");
    sign_with(&keys.private, "[1, 2]").assert_usage("not a JSON object");
    sign_with(&keys.private, "{\"sub\":").assert_usage("not valid JSON");
    sign_with(&keys.private, r#"{"sub":"a","sub":"b"}"#).assert_usage("twice");
    sign_with(&keys.private, &format!("@{}", s(&missing))).assert_usage("cannot read claims file");
    run(&["token", "frobnicate"]).assert_usage("frobnicate");
}

#[test]
fn token_from_standard_input() {
    let keys = keygen("stdin", "EdDSA", "k1");
    let token = sign(&keys, &claims());
    let now = (IAT + 60).to_string();
    let args = [
        "token",
        "verify",
        "--issuer",
        ISS,
        "--audience",
        AUD,
        "--jwks",
        s(&keys.jwks),
        "--now",
        &now,
        "-",
    ];
    let out = run_with_stdin(&args, format!("  {token}\r\n\n").as_bytes());
    out.assert_ok();
    assert_eq!(out.json()["sub"], "p-123");

    // Truncated, empty, binary garbage, 10 MB of it: rejected, never a panic.
    run_with_stdin(&args, &token.as_bytes()[..token.len() / 2]).assert_rejected("malformed token");
    let without_signature = &token[..token.rfind('.').unwrap()];
    run_with_stdin(&args, without_signature.as_bytes()).assert_rejected("three dot-separated");
    let out = run_with_stdin(&args, &token.as_bytes()[..token.len() - 4]);
    out.assert_rejected("");
    assert!(
        out.stderr.contains("bad signature") || out.stderr.contains("not base64url"),
        "{out:#?}"
    );
    run_with_stdin(&args, b"").assert_rejected("malformed token");
    run_with_stdin(&args, &random_bytes(4096)).assert_rejected("malformed token");
    run_with_stdin(&args, &random_bytes(10 * 1024 * 1024)).assert_rejected("more than the limit");
    let huge = format!("{token}.{}", "A".repeat(10 * 1024 * 1024));
    run_with_stdin(&args, huge.as_bytes()).assert_rejected("more than the limit");

    let out = run_with_stdin(&["token", "inspect", "-"], &random_bytes(10 * 1024 * 1024));
    assert_eq!(out.code, 1, "{out:#?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:#?}");
    out.assert_no_panic();
}

/// A JWKS holding only this public JWK.
fn jwks_of(jwk: Value) -> String {
    json!({ "keys": [jwk] }).to_string()
}

#[test]
fn weak_rsa_keys_are_skipped_with_a_note() {
    let dir = temp_dir("weak-rsa");
    let rsa1024: Value = serde_json::from_str(include_str!(
        "../../educonnect-core/tests/keys/rsa1024.public.jwk.json"
    ))
    .unwrap();
    let mut modulus = random_bytes(64);
    modulus[0] |= 0x80;
    let rsa512 = json!({"kty": "RSA", "kid": "rsa-512", "n": b64(&modulus), "e": "AQAB"});

    let payload = b64(claims().to_string().as_bytes());
    for (jwk, kid, bits) in [(rsa1024, "rsa-1024", 1024), (rsa512, "rsa-512", 512)] {
        let jwks = dir.join(format!("{kid}.jwks.json"));
        std::fs::write(&jwks, jwks_of(jwk)).unwrap();
        let header = b64(json!({"alg": "RS256", "kid": kid}).to_string().as_bytes());
        let token = format!("{header}.{payload}.{}", b64(&[7; 128]));
        let out = run(&[
            "token",
            "verify",
            "--issuer",
            ISS,
            "--audience",
            AUD,
            "--jwks",
            s(&jwks),
            &token,
        ]);
        out.assert_rejected_with_lines("no key for this token", 2);
        let note = out.stderr.lines().next().unwrap();
        assert_eq!(
            note,
            format!(
                "note: key #0 (kid \"{kid}\") skipped: RSA key of {bits} bits, fewer than 2048"
            )
        );
    }
}

#[test]
fn inspect_shows_an_unverified_token() {
    let keys = keygen("inspect", "ES256", "k1");
    let token = sign(&keys, &claims());
    let out = run(&["token", "inspect", &token]);
    out.assert_ok();
    let mut lines = out.stdout.lines();
    assert_eq!(
        lines.next(),
        Some("UNVERIFIED — signature and claims not checked")
    );
    assert!(out.stdout.contains("\"alg\": \"ES256\""), "{out:#?}");
    assert!(out.stdout.contains("\"kid\": \"k1\""), "{out:#?}");
    assert!(out.stdout.contains("\"sub\": \"p-123\""), "{out:#?}");
    assert!(out.stdout.contains("Jeanne-Dupont-1987"), "{out:#?}");

    // Inspecting does not judge: a forged signature still shows.
    let forged = format!("{}AAAA", &token[..token.rfind('.').unwrap() + 1]);
    run(&["token", "inspect", &forged]).assert_ok();

    let out = run(&["token", "inspect", &token[..token.len() / 2]]);
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(out.stdout.is_empty(), "{out:#?}");
    assert_eq!(out.stderr.lines().count(), 1, "{out:#?}");
    assert!(out.stderr.contains("malformed token"), "{out:#?}");
    assert!(!out.stderr.contains(&token[..20]), "{out:#?}");
}

#[test]
fn demo_signs_verifies_and_refuses_offline() {
    let out = run(&["demo"]);
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(out.stdout.contains("\"sub\":\"parent-0001\""), "{out:#?}");
    assert!(
        out.stdout
            .contains("one character changed: rejected: bad signature")
    );
    assert!(
        out.stdout
            .contains("\"alg\": \"none\": rejected: algorithm \"none\" is never accepted")
    );
    assert!(
        out.stdout
            .contains("one hour later: rejected: token expired")
    );
    assert!(!out.stdout.contains("ACCEPTED"));
    // Run again: nothing was written, so it works again.
    assert_eq!(run(&["demo"]).code, 0);
}
