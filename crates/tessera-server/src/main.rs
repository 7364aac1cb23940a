//! `tessera`: the standalone Tessera session server.
//!
//! It speaks SuperTokens' Core Driver Interface (CDI 5.4), so supertokens-node 24 and
//! supertokens-python 0.31 can use it in place of SuperTokens core, unchanged. Sessions are kept
//! by `tessera-core` in a store from `tessera-store` (an SQLite file by default).
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod auth;
mod cli;
mod config;
mod error;
mod extract;
mod observe;
mod routes;
mod serve;
mod shutdown;
mod state;
mod tenant;
mod wire;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    cli::init_logging(&cli);
    match cli.command {
        cli::Command::Serve(args) => {
            let config = match config::ServerConfig::load(args.config.as_deref(), std::env::vars())
            {
                Ok(config) => config,
                Err(error) => {
                    eprintln!("tessera: configuration error: {error}");
                    return ExitCode::from(2);
                }
            };
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(runtime) => runtime,
                Err(error) => {
                    eprintln!("tessera: cannot start the async runtime: {error}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(serve::run(config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("tessera: {error}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
