//! The examples as an operator starts them: export files that are given
//! but do not load stop the service, with the file and the reason, instead
//! of a fallback to the demo directory (security review, finding 12).

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BINARIES: [&str; 2] = [
    env!("CARGO_BIN_EXE_ent-portal"),
    env!("CARGO_BIN_EXE_bourse"),
];

/// Runs `binary` with `EDUCONNECT_DIRECTORY` set to `directory`, on free
/// ports; a service still running after 20 seconds has started (the
/// finding), and is killed.
fn run(binary: &str, directory: &OsString) -> Output {
    let mut child = Command::new(binary)
        .env_clear()
        .env("EDUCONNECT_LISTEN", "127.0.0.1:0")
        .env("EDUCONNECT_DIRECTORY", directory)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the example starts");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            let output = child.wait_with_output().unwrap();
            panic!(
                "{binary} started with {directory:?}: {}",
                String::from_utf8_lossy(&output.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("startup-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn assert_refused(output: &Output, file: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("directory: ") && stderr.contains(file),
        "{stderr}"
    );
    assert!(
        !String::from_utf8_lossy(&output.stdout).contains("Bac à sable"),
        "the sandbox started"
    );
}

#[test]
fn finding_12_export_files_that_do_not_load_stop_the_examples() {
    let dir = scratch("bad");
    let cut = dir.join("ENT_14_Complet_20260901_Eleve_0000.xml");
    std::fs::write(
        &cut,
        "<?xml version=\"1.0\"?><ficAlimMENESR><addRequest><identifier>",
    )
    .unwrap();
    for binary in BINARIES {
        assert_refused(
            &run(binary, &cut.clone().into_os_string()),
            "ENT_14_Complet",
        );
        let missing = dir.join("ENT_25_absent.xml").into_os_string();
        assert_refused(&run(binary, &missing), "ENT_25_absent.xml");
    }
}

#[test]
fn finding_12_export_paths_that_are_not_utf8_are_not_ignored() {
    let dir = scratch("latin1");
    // `ÉLÈVES` in ISO-8859-1, as an old export share names it: not UTF-8.
    let mut name = dir.into_os_string().into_vec();
    name.extend_from_slice(b"/ENT_14_\xc9L\xc8VES.xml");
    let path = OsString::from_vec(name);
    for binary in BINARIES {
        assert_refused(&run(binary, &path), "ENT_14_");
    }
}

#[test]
fn a_snapshot_file_that_is_cut_or_damaged_stops_the_examples() {
    let dir = scratch("snapshot");
    let cut = dir.join("aaf_14.snap");
    // The header of a snapshot (magic and version 1), then nothing.
    let mut bytes = b"EDUCDIR\x1a".to_vec();
    bytes.extend_from_slice(&1u32.to_le_bytes());
    std::fs::write(&cut, &bytes).unwrap();
    let other = dir.join("other.snap");
    std::fs::write(&other, b"<?xml version=\"1.0\"?>").unwrap();
    for binary in BINARIES {
        let output = run(binary, &cut.clone().into_os_string());
        assert_refused(&output, "aaf_14.snap");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("truncated"),
            "{output:?}"
        );
        let output = run(binary, &other.clone().into_os_string());
        assert_refused(&output, "other.snap");
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("not a directory snapshot"),
            "{output:?}"
        );
    }
}
