//! Reading files, tokens and standard input, always with a size cap: nothing
//! is read whole just because it was handed over.

use std::ffi::OsStr;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::failure::Failure;

/// The most read from standard input for a token: 1 MiB and one byte. A
/// larger input is cut there, which is still far above the core's token size
/// limit, so the core refuses it as too large.
pub(crate) const MAX_STDIN_TOKEN: u64 = 1024 * 1024 + 1;

/// Reads at most `limit` bytes from `path`; a larger file is a usage error.
/// `what` names the file in messages ("key file", "JWKS"...).
pub(crate) fn file(path: &Path, limit: usize, what: &str) -> Result<Vec<u8>, Failure> {
    let cannot =
        |e: std::io::Error| Failure::usage(format_args!("cannot read {what} {path:?}: {e}"));
    let file = File::open(path).map_err(cannot)?;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() > limit {
        return Err(Failure::usage(format_args!(
            "{what} {path:?} is larger than {limit} bytes"
        )));
    }
    Ok(bytes)
}

/// The token named on the command line, or read from standard input for
/// `-` (at most [`MAX_STDIN_TOKEN`] bytes), with surrounding ASCII
/// whitespace removed. Bytes, not text: whatever it is, the core judges it.
pub(crate) fn token(arg: &OsStr) -> Result<Vec<u8>, Failure> {
    let bytes = if arg == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .lock()
            .take(MAX_STDIN_TOKEN)
            .read_to_end(&mut bytes)
            .map_err(|e| Failure::usage(format_args!("cannot read standard input: {e}")))?;
        bytes
    } else {
        arg.as_encoded_bytes().to_vec()
    };
    Ok(bytes.trim_ascii().to_vec())
}
