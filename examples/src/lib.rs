//! The runnable examples of EduConnect-rs, and what they share: settings
//! from the environment (the offline sandbox when none), the page shell.
//!
//! - `ent-portal` (axum, [`portal`]): `cargo run -p educonnect-examples --bin ent-portal`
//! - `bourse` (actix-web, [`bourse`]): `cargo run -p educonnect-examples --bin bourse`
#![forbid(unsafe_code)]

pub mod bourse;
pub mod page;
pub mod portal;
/// The settings, shared with `educonnect proxy` (crate `educonnect-settings`).
pub use educonnect_settings as settings;

/// Logs to standard error, filtered by `RUST_LOG` (default `info`).
pub fn init_logs() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// The exit code of an example's `run`: the error on standard error.
pub fn exit_code(
    name: &str,
    result: Result<(), Box<dyn std::error::Error>>,
) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
