//! The config keys as people read them, made from their one declaration ([`CONFIG_KEYS`]):
//! `tessera serve --help` and the settings table of `docs/server.md` (which a test checks is
//! exactly [`markdown_table`]'s output; `tessera config keys --markdown` prints it).

use super::keys::{ConfigKey, CONFIG_KEYS};

/// Where the meanings start in the help's key list, and how wide its lines may grow.
const MEANING_COLUMN: usize = 39;
const LINE_WIDTH: usize = 100;

/// `tessera serve --help`.
pub fn serve_help() -> String {
    let mut help = String::from(
        "Start the HTTP server (SuperTokens Core Driver Interface 5.4).\n\n\
         By default it listens on 127.0.0.1:3567 and keeps sessions in ./tessera.db (SQLite, \
         created if\nmissing). Stop it with Ctrl-C or SIGTERM: requests in flight are finished \
         first (for at most\nshutdown_timeout seconds); half-sent requests are dropped.\n\n\
         Config file keys (YAML; every key optional; units as in SuperTokens core):\n",
    );
    for key in CONFIG_KEYS {
        help.push_str(&help_entry(key));
    }
    help.push_str(
        "\nEvery key can be overridden by an environment variable TESSERA_<KEY IN CAPITALS>, \
         e.g.\nTESSERA_PORT=4000 or TESSERA_API_KEYS=secret. Unknown keys in the file and bad \
         values stop start-up;\nunknown TESSERA_* variables are ignored with a warning. \
         `tessera config keys` lists the keys.\n\n\
         Example:\n  printf 'port: 3567\\napi_keys: my-long-secret-key\\n' > tessera.yaml\n  \
         tessera serve --config tessera.yaml",
    );
    help
}

/// One key's lines in the help: `  key: default`, the meaning wrapped beside it.
fn help_entry(key: &ConfigKey) -> String {
    let head = format!("  {}: {}", key.key, key.default);
    let meaning = key.meaning.replace('`', "");
    let lines = wrap(&meaning, LINE_WIDTH - MEANING_COLUMN);
    let mut entry = String::new();
    for (index, line) in lines.iter().enumerate() {
        let lead = if index == 0 { head.as_str() } else { "" };
        if lead.len() >= MEANING_COLUMN - 1 {
            // A key too long for the column gets its meaning on the lines below.
            entry.push_str(lead);
            entry.push('\n');
            entry.push_str(&format!("{:MEANING_COLUMN$}{line}\n", ""));
        } else {
            entry.push_str(&format!("{lead:MEANING_COLUMN$}{line}\n"));
        }
    }
    entry
}

/// Words into lines of at most `width` characters (a longer word gets a line of its own).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The settings table of `docs/server.md`.
pub fn markdown_table() -> String {
    let mut table = String::from("| key | default | meaning |\n|---|---|---|\n");
    for key in CONFIG_KEYS {
        let default = if key.default == "none" {
            "none".to_owned()
        } else {
            format!("`{}`", key.default)
        };
        table.push_str(&format!(
            "| `{}` | {default} | {} |\n",
            key.key, key.meaning
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The docs' table is the declaration's, word for word: changing a key without the docs
    /// fails here (`tessera config keys --markdown` prints the table to paste).
    #[test]
    fn the_docs_table_is_the_declaration() {
        let docs = include_str!("../../../../docs/server.md");
        assert!(
            docs.contains(&markdown_table()),
            "docs/server.md's settings table differs from `tessera config keys --markdown`:\n{}",
            markdown_table()
        );
    }

    #[test]
    fn the_help_lists_every_key_with_its_default_and_wraps() {
        let help = serve_help();
        for key in CONFIG_KEYS {
            assert!(
                help.contains(&format!("\n  {}: {}", key.key, key.default)),
                "{}",
                key.key
            );
        }
        assert!(
            help.lines().all(|line| line.chars().count() <= LINE_WIDTH),
            "{help}"
        );
    }

    #[test]
    fn words_wrap_at_the_width() {
        assert_eq!(wrap("a bb ccc dddd", 6), ["a bb", "ccc", "dddd"]);
        assert_eq!(
            wrap("averyveryverylongword x", 5),
            ["averyveryverylongword", "x"]
        );
        assert!(wrap("", 5).is_empty());
    }
}
