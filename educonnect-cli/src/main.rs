//! `educonnect`: generate signing keys, sign, verify and inspect tokens
//! (compact JWS) with the EduConnect-rs core.
//!
//! Exit codes, kept stable for scripts: `0` success, `1` the token was
//! rejected (or, for `inspect`, is malformed), `2` usage or I/O error.
#![forbid(unsafe_code)]

mod claims;
mod cli;
mod demo;
mod failure;
mod input;
mod keygen;
mod output;
mod token;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, TokenCommand};

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Demo => demo::run(),
        Command::Keygen(args) => keygen::run(&args),
        Command::Token(TokenCommand::Sign(args)) => token::sign(&args),
        Command::Token(TokenCommand::Verify(args)) => token::verify(&args),
        Command::Token(TokenCommand::Inspect(args)) => token::inspect(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}
