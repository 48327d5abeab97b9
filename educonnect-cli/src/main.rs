//! `educonnect`: generate signing keys, sign, verify and inspect tokens
//! (compact JWS), check school directory exports, and run the sandbox
//! provider, with the EduConnect-rs core; compile exports into directory
//! snapshot files; run the authentication proxy.
//!
//! Exit codes, kept stable for scripts: `0` success, `1` the token was
//! rejected (or, for `inspect`, is malformed; for `directory check`, the
//! exports have problems), `2` usage or I/O error.
#![forbid(unsafe_code)]

mod claims;
mod cli;
mod demo;
mod directory;
mod failure;
mod input;
mod keygen;
mod output;
mod proxy;
mod sandbox;
mod token;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, DirectoryCommand, TokenCommand};

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Demo => demo::run(),
        Command::Keygen(args) => keygen::run(&args),
        Command::Token(TokenCommand::Sign(args)) => token::sign(&args),
        Command::Token(TokenCommand::Verify(args)) => token::verify(&args),
        Command::Token(TokenCommand::Inspect(args)) => token::inspect(&args),
        Command::Directory(DirectoryCommand::Check(args)) => directory::check(&args),
        Command::Directory(DirectoryCommand::Compile(args)) => directory::compile(&args),
        Command::Sandbox(args) => sandbox::run(args),
        Command::Proxy(args) => proxy::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => failure.report(),
    }
}
