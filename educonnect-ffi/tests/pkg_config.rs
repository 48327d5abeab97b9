//! `scripts/install.sh` installs the libraries, the headers and a
//! pkg-config file; a C program builds with `pkg-config` alone, linked
//! dynamically and statically, and runs.

mod support;

use std::path::Path;
use std::process::Command;

use support::{AUDIENCE, ISSUER, Minter};

fn pkg_config(prefix: &Path, args: &[&str]) -> Vec<String> {
    let output = Command::new("pkg-config")
        .args(args)
        .arg("educonnect")
        .env("PKG_CONFIG_PATH", prefix.join("lib/pkgconfig"))
        .output()
        .expect("pkg-config runs (scripts/test installs it)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_c_program_builds_with_pkg_config_dynamically_and_statically() {
    let dir = support::scratch("pkg-config");
    let prefix = dir.join("prefix");
    let status = Command::new(support::workspace().join("educonnect-ffi/scripts/install.sh"))
        .arg(&prefix)
        .arg(support::library_dir())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(prefix.join("include/educonnect.h").is_file());
    assert_eq!(
        pkg_config(&prefix, &["--modversion"]),
        [env!("CARGO_PKG_VERSION")]
    );
    let cflags = pkg_config(&prefix, &["--cflags"]);
    let libs = pkg_config(&prefix, &["--libs"]);
    assert!(libs.contains(&"-leduconnect_ffi".to_owned()), "{libs:?}");
    let private: Vec<String> = pkg_config(&prefix, &["--static", "--libs-only-l"])
        .into_iter()
        .filter(|l| l != "-leduconnect_ffi")
        .collect();

    let minter = Minter::new();
    std::fs::write(dir.join("jwks.json"), minter.jwks()).unwrap();
    std::fs::write(dir.join("token"), minter.assertion(0, 300)).unwrap();
    let source = support::workspace().join("examples/c/verify_assertion.c");
    let lib = prefix.join("lib");
    for (name, link) in [
        ("dynamic", {
            let mut l = libs.clone();
            l.push(format!("-Wl,-rpath,{}", lib.display()));
            l
        }),
        ("static", {
            let mut l = vec![
                format!("-L{}", lib.display()),
                "-Wl,-Bstatic".to_owned(),
                "-leduconnect_ffi".to_owned(),
                "-Wl,-Bdynamic".to_owned(),
            ];
            l.extend(private.iter().cloned());
            l
        }),
    ] {
        let binary = dir.join(format!("verify-{name}"));
        let status = Command::new("cc")
            .args(&cflags)
            .arg(&source)
            .arg("-o")
            .arg(&binary)
            .args(&link)
            .status()
            .unwrap();
        assert!(status.success(), "{name}");
        let output = Command::new(&binary)
            .arg(dir.join("jwks.json"))
            .args([ISSUER, AUDIENCE])
            .arg(dir.join("token"))
            .args(["aaf:14", "E1"])
            .env_remove("LD_LIBRARY_PATH")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(
            stdout.contains("may act for aaf:14/E1: yes"),
            "{name}: {stdout}"
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}
