//! The committed headers: the C one compiles on its own, and the one for
//! PHP's `FFI::cdef` has no preprocessor line and declares the same
//! functions.

mod support;

use std::process::Command;

fn header(name: &str) -> String {
    std::fs::read_to_string(
        support::workspace()
            .join("educonnect-ffi/include")
            .join(name),
    )
    .unwrap()
}

fn functions(header: &str) -> Vec<String> {
    // Identifiers followed by `(`: declared functions (and any call in a
    // comment, the same in both headers).
    let mut names: Vec<String> = header
        .match_indices("educonnect_")
        .map(|(i, _)| {
            let rest = &header[i..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            (&rest[..end], rest[end..].starts_with('('))
        })
        .filter(|(_, call)| *call)
        .map(|(name, _)| name.to_owned())
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn the_php_header_has_no_preprocessor_line_and_the_same_functions() {
    let c = header("educonnect.h");
    let php = header("educonnect_ffi.h");
    assert!(c.contains("#include <stdint.h>") && c.contains("#include <stddef.h>"));
    let includes: Vec<&str> = c.lines().filter(|l| l.starts_with("#include")).collect();
    assert_eq!(includes, ["#include <stdint.h>", "#include <stddef.h>"]);
    assert!(
        php.lines().all(|l| !l.trim_start().starts_with('#')),
        "a preprocessor line in educonnect_ffi.h"
    );
    assert!(
        php.lines().all(|l| !l.trim_start().starts_with("//")),
        "a C++ comment in educonnect_ffi.h"
    );
    let names = functions(&c);
    assert!(
        names.contains(&"educonnect_verifier_verify".to_owned()),
        "{names:?}"
    );
    assert_eq!(names, functions(&php));
}

#[test]
fn the_header_compiles_as_c_and_cxx() {
    let include = support::workspace().join("educonnect-ffi/include");
    let dir = support::scratch("header");
    let source = dir.join("h.c");
    std::fs::write(&source, "#include \"educonnect.h\"\n#include \"educonnect.h\"\nint main(void) { return (int)EDUCONNECT_OK; }\n").unwrap();
    for lang in ["c", "c++"] {
        let status = Command::new("cc")
            .args([
                "-x",
                lang,
                "-fsyntax-only",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-I",
            ])
            .arg(&include)
            .arg(&source)
            .status()
            .expect("cc runs");
        assert!(status.success(), "{lang}");
    }
    // The PHP header, after the two includes it may assume.
    let php = dir.join("p.c");
    std::fs::write(
        &php,
        format!(
            "#include <stdint.h>\n#include <stddef.h>\n{}\nint main(void) {{ return 0; }}\n",
            header("educonnect_ffi.h")
        ),
    )
    .unwrap();
    let status = Command::new("cc")
        .args(["-fsyntax-only", "-Wall", "-Werror"])
        .arg(&php)
        .status()
        .unwrap();
    assert!(status.success());
    let _ = std::fs::remove_dir_all(dir);
}
