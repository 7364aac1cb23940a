//! `tessera`: the standalone Tessera session server (see the `tessera_server` library).
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::ExitCode;

use clap::Parser;
use tessera_server::{cli, config, serve};

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
            let outcome = runtime.block_on(serve::run(config));
            // Connections still open after the shutdown deadline are dropped with the runtime;
            // do not wait for their tasks.
            runtime.shutdown_background();
            match outcome {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("tessera: {error}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
