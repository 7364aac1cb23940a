//! `tessera`: the standalone Tessera session server (see the `tessera_server` library).

use std::process::ExitCode;

use clap::Parser;
use tessera_server::cli::{
    self, Command, ConfigCommand, KeysCommand, SessionsCommand, TheftsCommand,
};
use tessera_server::operate::{self, OperateError, Report, RevokeTarget};
use tessera_server::{config, serve};

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    cli::init_logging(&cli);
    // The list of keys needs no configuration (it is what one writes one from).
    if let Command::Config(ConfigCommand::Keys { markdown, output }) = &cli.command {
        if *markdown {
            print!("{}", config::markdown_table());
        } else {
            operate::config_keys().print(output.json);
        }
        return ExitCode::SUCCESS;
    }
    let config = match config::ServerConfig::load(cli.config.as_deref(), std::env::vars()) {
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
    let outcome = match cli.command {
        Command::Serve => {
            let clock: std::sync::Arc<dyn tessera_core::Clock> = match cli.test_clock_offset_ms {
                0 => std::sync::Arc::new(tessera_core::SystemClock),
                offset => std::sync::Arc::new(tessera_core::OffsetClock::new(
                    std::sync::Arc::new(tessera_core::SystemClock),
                    offset.saturating_mul(1000),
                )),
            };
            let outcome = runtime.block_on(serve::run(config, clock));
            // Connections still open after the shutdown deadline are dropped with the runtime;
            // do not wait for their tasks.
            runtime.shutdown_background();
            return match outcome {
                Ok(()) => ExitCode::SUCCESS,
                Err(error) => {
                    eprintln!("tessera: {error}");
                    ExitCode::FAILURE
                }
            };
        }
        Command::Config(ConfigCommand::Check(output)) => {
            Ok((operate::config_check(&config), output))
        }
        Command::Config(ConfigCommand::Keys { output, .. }) => Ok((operate::config_keys(), output)),
        Command::Migrate(output) => runtime
            .block_on(operate::migrate(&config))
            .map(|report| (report, output)),
        Command::Sessions(command) => {
            runtime.block_on(sessions(&config, cli.app.as_deref(), command))
        }
        Command::Keys(command) => runtime.block_on(keys(&config, cli.app.as_deref(), command)),
        Command::Thefts(command) => runtime.block_on(thefts(&config, cli.app.as_deref(), command)),
    };
    match outcome {
        Ok((report, output)) => {
            report.print(output.json);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("tessera: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}

async fn sessions(
    config: &config::ServerConfig,
    app: Option<&str>,
    command: SessionsCommand,
) -> Result<(Report, cli::Output), OperateError> {
    let sessions = operate::engine(config, app).await?;
    match command {
        SessionsCommand::List {
            user,
            tenant,
            output,
        } => Ok((
            operate::sessions_list(&sessions, &user, tenant.as_deref()).await?,
            output,
        )),
        SessionsCommand::Show {
            handle,
            tokens,
            output,
        } => Ok((
            operate::sessions_show(&sessions, &handle, tokens).await?,
            output,
        )),
        SessionsCommand::Revoke {
            handles,
            user,
            tenant,
            output,
        } => {
            let target = match user {
                Some(user_id) => RevokeTarget::User {
                    user_id,
                    tenant_id: tenant,
                },
                None => RevokeTarget::Handles(handles),
            };
            Ok((operate::sessions_revoke(&sessions, target).await?, output))
        }
        SessionsCommand::Sweep(output) => Ok((operate::sessions_sweep(&sessions).await?, output)),
    }
}

async fn thefts(
    config: &config::ServerConfig,
    app: Option<&str>,
    command: TheftsCommand,
) -> Result<(Report, cli::Output), OperateError> {
    let sessions = operate::engine(config, app).await?;
    match command {
        TheftsCommand::List {
            user,
            limit,
            output,
        } => Ok((
            operate::thefts_list(&sessions, user.as_deref(), limit).await?,
            output,
        )),
    }
}

async fn keys(
    config: &config::ServerConfig,
    app: Option<&str>,
    command: KeysCommand,
) -> Result<(Report, cli::Output), OperateError> {
    let sessions = operate::engine(config, app).await?;
    match command {
        KeysCommand::List(output) => Ok((operate::keys_list(&sessions).await?, output)),
        KeysCommand::Rotate(output) => Ok((operate::keys_rotate(&sessions).await?, output)),
    }
}
