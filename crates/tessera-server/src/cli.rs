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
    #[command(long_about = SERVE_HELP)]
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
}

const SERVE_HELP: &str = "\
Start the HTTP server (SuperTokens Core Driver Interface 5.4).

By default it listens on 127.0.0.1:3567 and keeps sessions in ./tessera.db (SQLite, created if
missing). Stop it with Ctrl-C or SIGTERM: requests in flight are finished first (for at most
shutdown_timeout seconds); half-sent requests are dropped.

Config file keys (YAML; every key optional; units as in SuperTokens core):
  host: 127.0.0.1                      interface to listen on
  port: 3567                           TCP port (0 = any free port)
  api_keys: \"key1,key2\"                require one of these in the `api-key` header (or a list)
  access_token_validity: 3600          seconds
  refresh_token_validity: 144000       minutes
  access_token_dynamic_signing_key_update_interval: 168   hours
  refresh_token_rotation_grace_period: 30                 seconds
  sqlite_path: ./tessera.db            SQLite file
  database_url: postgresql://...       another store (instead of sqlite_path)
  database_pool_size: 10               connections, for database_url
  max_body_bytes: 1048576              larger request bodies get 413
  expiry_sweep_interval: 60            seconds between deletions of expired sessions
  header_read_timeout: 10              seconds a connection has to send a request's headers,
                                       from connecting or from its previous request (closes
                                       half-open and idle keep-alive connections)
  body_read_timeout: 10                seconds a request has to send its body (else 408)
  max_connections: 4096                connections served at once; more wait to be accepted
  shutdown_timeout: 30                 seconds SIGTERM waits for requests in flight
  verified_token_cache_entries: 10000  access tokens verified once and then checked without
                                       the signature (0 = off)
  revocation_poll_interval_ms: 250     how often the revocation log is read: sessions revoked
                                       through another server are refused within this
  stale_revocations: check_store       when the log cannot be read for longer than the access
                                       token validity: check_store (fail closed) or
                                       keep_verifying
  theft_report_retention_days: 30      days a detected theft's report (and the picture of the
                                       robbed session's tokens) is kept
  admin_key: <16+ characters>          serve the admin page at /admin, signed in with this key
                                       (off when unset; must differ from the API keys)
  migrate_on_start: true               bring the database schema up to date at start; when
                                       false, an outdated schema stops start-up and
                                       `tessera migrate` updates it

Every key can be overridden by an environment variable TESSERA_<KEY IN CAPITALS>, e.g.
TESSERA_PORT=4000 or TESSERA_API_KEYS=secret. Unknown keys in the file and bad values stop start-up;
unknown TESSERA_* variables are ignored with a warning.

Example:
  printf 'port: 3567\\napi_keys: my-long-secret-key\\n' > tessera.yaml
  tessera serve --config tessera.yaml";

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
    use super::SERVE_HELP;
    use crate::config::KEYS;

    /// The config keys are defined once, in `config::KEYS` (which the file struct is checked
    /// against there); `tessera serve --help` and the settings table of `docs/server.md` must
    /// name every one of them, and no other.
    #[test]
    fn help_and_docs_list_every_config_key() {
        let docs = include_str!("../../../docs/server.md");
        for key in KEYS {
            assert!(
                SERVE_HELP.contains(&format!("\n  {key}: ")),
                "`tessera serve --help` does not list `{key}`"
            );
            assert!(
                docs.contains(&format!("\n| `{key}` |")),
                "docs/server.md does not list `{key}`"
            );
        }
        let listed_in_help = SERVE_HELP
            .lines()
            .filter_map(|line| {
                line.strip_prefix("  ")?
                    .split_once(": ")
                    .map(|(key, _)| key)
            })
            .filter(|key| {
                !key.is_empty() && key.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            })
            .collect::<Vec<_>>();
        for key in listed_in_help {
            assert!(
                KEYS.contains(&key),
                "the help lists `{key}`, which is not a config key"
            );
        }
    }
}
