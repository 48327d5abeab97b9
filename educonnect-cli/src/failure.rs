//! Why a command failed, and the exit code that says so.

use std::fmt::Display;
use std::io::Write;
use std::process::ExitCode;

use educonnect_core::jose::Error;

/// Exit code of a rejected (or, for `inspect`, malformed) token, or of
/// exports with problems.
const EXIT_REJECTED: u8 = 1;
/// Exit code of a usage or I/O error. clap uses the same for its own.
const EXIT_USAGE: u8 = 2;

/// A failed command: an exit code and, usually, one line for standard error.
#[derive(Debug)]
pub(crate) struct Failure {
    code: u8,
    /// `None` when nothing useful can be said (standard output was closed).
    message: Option<String>,
}

impl Failure {
    /// A usage, input or I/O error: exit code 2.
    pub(crate) fn usage(message: impl Display) -> Self {
        Self {
            code: EXIT_USAGE,
            message: Some(format!("error: {message}")),
        }
    }

    /// A token refused by verification: exit code 1.
    pub(crate) fn rejected(error: &Error) -> Self {
        Self {
            code: EXIT_REJECTED,
            message: Some(format!("rejected: {error}")),
        }
    }

    /// A token that cannot even be decoded, for `inspect`: exit code 1.
    pub(crate) fn malformed(error: &Error) -> Self {
        Self {
            code: EXIT_REJECTED,
            message: Some(format!("error: {error}")),
        }
    }

    /// Checked input with problems (`directory check`): exit code 1, and a
    /// summary line.
    pub(crate) fn problems(message: impl Display) -> Self {
        Self {
            code: EXIT_REJECTED,
            message: Some(format!("problems: {message}")),
        }
    }

    /// Standard output is gone (a closed pipe): exit code 2, no message.
    pub(crate) fn silent() -> Self {
        Self {
            code: EXIT_USAGE,
            message: None,
        }
    }

    /// Writes the message as a single line on standard error, and gives the
    /// exit code.
    pub(crate) fn report(self) -> ExitCode {
        if let Some(message) = self.message {
            note(&message);
        }
        ExitCode::from(self.code)
    }
}

/// Writes one line on standard error. Control characters are replaced so
/// that it stays one line; a failure to write is ignored (nowhere to say it).
pub(crate) fn note(line: &str) {
    let line: String = line
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// An error about a key or key set file, without the "malformed token" the
/// core's `Display` puts before a JSON problem (it is not a token).
pub(crate) fn describe_key_error(error: &Error) -> String {
    match error {
        Error::Malformed(m) => m.to_string(),
        other => other.to_string(),
    }
}
