//! Command line: `tessera serve`, and the operator commands (`sessions`, `keys`, `config check`,
//! `migrate`), all reading the same config file and `TESSERA_*` overrides.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// Tessera: session management with SuperTokens-compatible tokens.
///
/// Run `tessera serve` and point a SuperTokens backend SDK (supertokens-node 24,
/// supertokens-python 0.31) at it with `connectionURI: "http://127.0.0.1:3567"`.
/// `tessera serve --help` lists every config key.
#[derive(Debug, Parser)]
#[command(name = "tessera", version, propagate_version = true)]
pub struct Cli {
    /// Log filter, e.g. `info`, `debug`, `tessera=debug,warn` (env TESSERA_LOG).
    #[arg(long, global = true, env = "TESSERA_LOG", default_value = "info")]
    pub log: String,
    /// Log line format: `text` for people, `json` (one object per line) for log pipelines
    /// (env TESSERA_LOG_FORMAT).
    #[arg(
        long,
        global = true,
        env = "TESSERA_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    pub log_format: LogFormat,
    /// YAML config file (`tessera serve --help` lists the keys). Without one, every setting has
    /// its default (env TESSERA_CONFIG).
    #[arg(
        short,
        long,
        global = true,
        env = "TESSERA_CONFIG",
        value_name = "PATH"
    )]
    pub config: Option<PathBuf>,
    /// Test-only: run this server's clock this many milliseconds ahead (negative: behind), for
    /// tests of several servers whose clocks disagree.
    #[arg(
        long,
        global = true,
        hide = true,
        default_value_t = 0,
        allow_hyphen_values = true,
        value_name = "MS"
    )]
    pub test_clock_offset_ms: i64,
    /// For `sessions` and `keys`: the app to work on (default `public`), one created through
    /// the multitenancy API.
    #[arg(long, global = true, value_name = "APP")]
    pub app: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, coloured only when stderr is a terminal.
    Text,
    /// One JSON object per line, never coloured.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the HTTP server (SuperTokens Core Driver Interface 5.4).
    #[command(long_about = crate::config::serve_help())]
    Serve,
    /// Look at and revoke sessions in the configured database (no server needed).
    #[command(subcommand)]
    Sessions(SessionsCommand),
    /// List and rotate access-token signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Detected token thefts, kept for `theft_report_retention_days`.
    #[command(subcommand)]
    Thefts(TheftsCommand),
    /// Check the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Bring the database schema up to date (for servers run with `migrate_on_start: false`).
    Migrate(Output),
}

/// How a command prints its result.
#[derive(Debug, Clone, Copy, Args)]
pub struct Output {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `tessera sessions …`.
#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// A user's live sessions.
    List {
        /// The user id.
        #[arg(long, value_name = "ID")]
        user: String,
        /// Only sessions in this tenant (default: every tenant).
        #[arg(long, value_name = "TENANT")]
        tenant: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// Everything stored about one session; with --tokens, its refresh tokens over time (for a
    /// session revoked by theft, the tokens kept with the theft report).
    Show {
        /// The session handle.
        handle: String,
        /// Also show the session's refresh tokens: parents, mintings, deaths and uses.
        #[arg(long)]
        tokens: bool,
        #[command(flatten)]
        output: Output,
    },
    /// Revoke sessions by handle, or every session of a user. Running servers over the same
    /// database refuse them within their revocation poll interval.
    Revoke {
        /// Session handles.
        #[arg(conflicts_with = "user", required_unless_present = "user")]
        handles: Vec<String>,
        /// Revoke every session of this user.
        #[arg(long, value_name = "ID")]
        user: Option<String>,
        /// With --user: only sessions in this tenant.
        #[arg(long, value_name = "TENANT", requires = "user")]
        tenant: Option<String>,
        #[command(flatten)]
        output: Output,
    },
    /// Delete expired sessions now (servers do it every `expiry_sweep_interval`).
    Sweep(Output),
}

/// `tessera thefts …`.
#[derive(Debug, Subcommand)]
pub enum TheftsCommand {
    /// Recorded thefts, newest first, each with the sentence that explains it.
    List {
        /// Only this user's.
        #[arg(long, value_name = "ID")]
        user: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        limit: u32,
        #[command(flatten)]
        output: Output,
    },
}

/// `tessera keys …`.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// The signing keys that still verify tokens, and which one signs now.
    List(Output),
    /// Create a new dynamic signing key that signs from now on. Older keys keep verifying until
    /// the tokens they signed expire; running servers switch within a minute.
    Rotate(Output),
}

/// `tessera config …`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Load and validate the configuration and print the settings in effect (secrets masked);
    /// exits with status 2 naming the bad key if it is invalid.
    Check(Output),
    /// Every config key with its default and meaning (`--markdown`: the table of
    /// docs/server.md).
    Keys {
        /// Print the Markdown table of docs/server.md.
        #[arg(long, conflicts_with = "json")]
        markdown: bool,
        #[command(flatten)]
        output: Output,
    },
}

/// Logs go to stderr; stdout carries only the `listening on` line, for scripts.
pub fn init_logging(cli: &Cli) {
    let filter = EnvFilter::try_new(&cli.log).unwrap_or_else(|error| {
        eprintln!(
            "tessera: bad log filter {:?} ({error}); using `info`",
            cli.log
        );
        EnvFilter::new("info")
    });
    // Colour only for a person at a terminal: a file or a pipe gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    if cli.log_format == LogFormat::Json {
        builder.json().with_ansi(false).init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;
    use crate::config::{serve_help, CONFIG_KEYS};

    /// `tessera serve --help` is the text made from the key declarations.
    #[test]
    fn serve_help_is_made_from_the_declared_keys() {
        let mut cli = Cli::command();
        let serve = cli
            .find_subcommand_mut("serve")
            .expect("a serve command")
            .clone();
        let long_about = serve
            .get_long_about()
            .map(ToString::to_string)
            .unwrap_or_default();
        assert_eq!(long_about, serve_help());
        for key in CONFIG_KEYS {
            assert!(
                long_about.contains(&format!("\n  {}: ", key.key)),
                "{}",
                key.key
            );
        }
    }
}
