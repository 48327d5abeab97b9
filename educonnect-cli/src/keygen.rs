//! `educonnect keygen`: a new signing or decryption key as a private JWK
//! and a public JWKS.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::Path;

use educonnect_core::jose::{DecryptionKey, SigningKey};

use crate::cli::{KeyKind, KeygenArgs};
use crate::failure::Failure;
use crate::output;

/// Generates the key, writes `DIR/KID.private.jwk.json` (mode 0600 on unix)
/// and `DIR/KID.jwks.json`, and prints both paths. Neither file is ever
/// overwritten: if one exists, nothing is written.
pub(crate) fn run(args: &KeygenArgs) -> Result<(), Failure> {
    let cannot = |e: educonnect_core::jose::Error| {
        Failure::usage(format_args!("cannot generate the key: {e}"))
    };
    let (private_jwk, public_jwks) = match args.alg.kind() {
        KeyKind::Signing(alg) => {
            let key = SigningKey::generate(alg, args.kid.as_str()).map_err(cannot)?;
            (key.to_private_jwk_json(), key.public_jwks_json())
        }
        KeyKind::Decryption(alg) => {
            let key = DecryptionKey::generate(alg, args.kid.as_str()).map_err(cannot)?;
            let public = serde_json::json!({ "keys": [key.public_jwk()] }).to_string();
            (key.to_private_jwk_json(), public)
        }
    };

    fs::create_dir_all(&args.out)
        .map_err(|e| Failure::usage(format_args!("cannot create directory {:?}: {e}", args.out)))?;
    let private_path = args.out.join(format!("{}.private.jwk.json", args.kid));
    let public_path = args.out.join(format!("{}.jwks.json", args.kid));

    let mut private = create_new(&private_path, 0o600)?;
    let mut public = match create_new(&public_path, 0o644) {
        Ok(file) => file,
        Err(failure) => {
            // Only the empty file this run just created.
            let _ = fs::remove_file(&private_path);
            return Err(failure);
        }
    };

    let written = write(&mut private, &private_jwk)
        .and_then(|()| private.sync_all())
        .and_then(|()| write(&mut public, &public_jwks));
    if let Err(e) = written {
        let _ = fs::remove_file(&private_path);
        let _ = fs::remove_file(&public_path);
        return Err(Failure::usage(format_args!(
            "cannot write the key files in {:?}: {e}",
            args.out
        )));
    }

    output::line(&private_path.display().to_string())?;
    output::line(&public_path.display().to_string())
}

/// Creates `path`, failing if anything already exists there.
fn create_new(path: &Path, mode: u32) -> Result<File, Failure> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path).map_err(|e| match e.kind() {
        ErrorKind::AlreadyExists => Failure::usage(format_args!(
            "{path:?} already exists: refusing to overwrite a key (choose another --kid or --out)"
        )),
        _ => Failure::usage(format_args!("cannot create {path:?}: {e}")),
    })
}

fn write(file: &mut File, json: &str) -> std::io::Result<()> {
    file.write_all(json.as_bytes())?;
    file.write_all(b"\n")
}
