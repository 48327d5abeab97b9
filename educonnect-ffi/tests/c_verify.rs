//! The C example that verifies an assertion, built with `cc`, run, and run
//! again under valgrind's memcheck; the same checks from Python (ctypes).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use support::{AUDIENCE, ISSUER, Minter};

/// The example's arguments for the pupil `(source, local)` and `token`.
struct Case {
    dir: PathBuf,
}

impl Case {
    fn new(name: &str, minter: &Minter) -> Self {
        let dir = support::scratch(name);
        std::fs::write(dir.join("jwks.json"), minter.jwks()).unwrap();
        Self { dir }
    }

    fn args(&self, token: &str, source: &str, local: &str) -> Vec<String> {
        // One file per token: the name is the token's length and a few of
        // its last bytes (signatures differ).
        let tail = &token[token.len().saturating_sub(8)..];
        let token_file = self.dir.join(format!("token-{}-{tail}", token.len()));
        std::fs::write(&token_file, format!("{token}\n")).unwrap();
        vec![
            self.dir.join("jwks.json").display().to_string(),
            ISSUER.to_owned(),
            AUDIENCE.to_owned(),
            token_file.display().to_string(),
            source.to_owned(),
            local.to_owned(),
        ]
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn expected(pupil: &str, act: &str, legal: &str) -> String {
    let json = serde_json::to_string(&support::family()).unwrap();
    format!(
        "subject: sub-parent-1\nprofile: guardian\nchildren: 2\n\
         child 0: aaf:14/E1 mother (code 10) legal_authority=yes ine=123456789AB uai=0750654D\n\
         child 1: siecle:0590089B/S7 grandparent (code 38) legal_authority=no ine=- uai=-\n\
         may act for {pupil}: {act}\nlegal authority over {pupil}: {legal}\njson: {json}\n"
    )
}

/// Runs the example through `run` on each case and checks its output.
fn check_cases(run: impl Fn(&[String]) -> Output, case: &Case, minter: &Minter) {
    let good = minter.assertion(0, 300);
    let output = run(&case.args(&good, "aaf:14", "E1"));
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout(&output), expected("aaf:14/E1", "yes", "yes"));

    let output = run(&case.args(&good, "siecle:0590089B", "S7"));
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout(&output), expected("siecle:0590089B/S7", "no", "no"));

    let output = run(&case.args(&minter.assertion(3600, 300), "aaf:14", "E1"));
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stdout(&output),
        "rejected: the assertion has expired (code 203)\n"
    );

    let output = run(&case.args(&Minter::new().assertion(0, 300), "aaf:14", "E1"));
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stdout(&output),
        "rejected: the assertion's signature does not verify (code 201)\n"
    );

    // An invalid pupil id is an error, not a "no".
    let output = run(&case.args(&good, "aaf:14", ""));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("the pupil id is not valid (code 212)")
    );
}

fn run_binary(binary: &Path, args: &[String]) -> Output {
    Command::new(binary).args(args).output().unwrap()
}

#[test]
fn the_c_example_verifies_and_decides() {
    let minter = Minter::new();
    let case = Case::new("c-verify", &minter);
    let binary = support::compile_c_example("verify_assertion", &case.dir);
    check_cases(|args| run_binary(&binary, args), &case, &minter);
    let _ = std::fs::remove_dir_all(&case.dir);
}

#[test]
fn the_c_example_is_clean_under_valgrind() {
    let minter = Minter::new();
    let case = Case::new("c-verify-valgrind", &minter);
    let binary = support::compile_c_example("verify_assertion", &case.dir);
    check_cases(
        |args| {
            let output = support::valgrind(&binary)
                .args(args)
                .output()
                .expect("valgrind runs (scripts/test installs it)");
            assert_ne!(
                output.status.code(),
                Some(99),
                "valgrind found errors:\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
            output
        },
        &case,
        &minter,
    );
    let _ = std::fs::remove_dir_all(&case.dir);
}

#[test]
fn valgrind_catches_a_leak_in_a_c_caller() {
    // The check above can fail: a caller that forgets to free its claims
    // is reported.
    let minter = Minter::new();
    let case = Case::new("c-leak", &minter);
    let source =
        std::fs::read_to_string(support::workspace().join("examples/c/verify_assertion.c"))
            .unwrap();
    let leaky = source.replacen("  educonnect_claims_free(claims);\n", "", 1);
    assert_ne!(leaky, source);
    std::fs::write(case.dir.join("verify_assertion_leaky.c"), leaky).unwrap();
    let lib = support::library_dir();
    let binary = case.dir.join("leaky-bin");
    let status = Command::new("cc")
        .args(["-std=c11", "-D_POSIX_C_SOURCE=200809L", "-g", "-I"])
        .arg(support::workspace().join("educonnect-ffi/include"))
        .arg(case.dir.join("verify_assertion_leaky.c"))
        .arg("-o")
        .arg(&binary)
        .arg("-L")
        .arg(&lib)
        .arg(format!("-Wl,-rpath,{}", lib.display()))
        .arg("-leduconnect_ffi")
        .status()
        .unwrap();
    assert!(status.success());
    let output = support::valgrind(&binary)
        .args(case.args(&minter.assertion(0, 300), "aaf:14", "E1"))
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(99),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let _ = std::fs::remove_dir_all(&case.dir);
}

#[test]
fn the_python_example_does_the_same_through_ctypes() {
    let minter = Minter::new();
    let case = Case::new("python-verify", &minter);
    let script = support::workspace().join("examples/python/verify_assertion.py");
    check_cases(
        |args| {
            Command::new("python3")
                .arg(&script)
                .args(args)
                .env("EDUCONNECT_FFI_LIB", support::shared_library())
                .output()
                .expect("python3 runs")
        },
        &case,
        &minter,
    );
    let _ = std::fs::remove_dir_all(&case.dir);
}

#[test]
fn the_php_example_does_the_same_through_php_ffi() {
    // Debian's php-cli has the FFI extension (scripts/test installs it).
    let modules = Command::new("php")
        .arg("-m")
        .output()
        .expect("php runs (scripts/test installs php-cli)");
    assert!(
        String::from_utf8_lossy(&modules.stdout)
            .lines()
            .any(|l| l == "FFI"),
        "PHP's FFI extension is missing"
    );
    let minter = Minter::new();
    let case = Case::new("php-verify", &minter);
    let script = support::workspace().join("examples/php/verify_assertion.php");
    check_cases(
        |args| {
            Command::new("php")
                .arg(&script)
                .args(args)
                .env("EDUCONNECT_FFI_LIB", support::shared_library())
                .output()
                .expect("php runs")
        },
        &case,
        &minter,
    );
    let _ = std::fs::remove_dir_all(&case.dir);
}
