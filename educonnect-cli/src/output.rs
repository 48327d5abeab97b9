//! Standard output, without the panic `println!` has when the reader is gone.

use std::io::{ErrorKind, Write};

use crate::failure::Failure;

/// Writes `text` and a newline on standard output, and flushes.
pub(crate) fn line(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| match e.kind() {
            ErrorKind::BrokenPipe => Failure::silent(),
            _ => Failure::usage(format_args!("cannot write to standard output: {e}")),
        })
}
