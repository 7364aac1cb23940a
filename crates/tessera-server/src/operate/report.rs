//! What a command prints: a table (or a line) for people, the same data as JSON for scripts.

use comfy_table::{presets, ContentArrangement, Table};
use serde_json::Value;
use tessera_core::Timestamp;

/// A command's result.
#[derive(Debug)]
pub struct Report {
    text: String,
    json: Value,
}

impl Report {
    /// A table of `rows` under `header`, with `json` as the machine-readable form.
    pub fn table(header: &[&str], rows: Vec<Vec<String>>, json: Value) -> Self {
        let text = if rows.is_empty() {
            "(none)".to_owned()
        } else {
            let mut table = Table::new();
            table
                .load_preset(presets::NOTHING)
                .set_content_arrangement(ContentArrangement::Disabled)
                .set_header(header.iter().copied());
            for row in rows {
                table.add_row(row);
            }
            // Cells are padded by a space on each side: the first column's and the last's only
            // get in the way of `grep` and `cut`.
            table
                .lines()
                .map(|line| {
                    let line = line.strip_prefix(' ').unwrap_or(&line);
                    line.trim_end().to_owned()
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        Self { text, json }
    }

    /// A one-line (or few-line) message.
    pub fn message(text: impl Into<String>, json: Value) -> Self {
        Self {
            text: text.into(),
            json,
        }
    }

    /// `label: value` lines, aligned.
    pub fn fields(fields: Vec<(&str, String)>, json: Value) -> Self {
        let width = fields
            .iter()
            .map(|(label, _)| label.len())
            .max()
            .unwrap_or(0);
        let text = fields
            .iter()
            .map(|(label, value)| format!("{label:width$}  {value}"))
            .collect::<Vec<_>>()
            .join("\n");
        Self { text, json }
    }

    /// The text form.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The JSON form.
    pub fn json(&self) -> &Value {
        &self.json
    }

    /// Prints the report to stdout, as JSON if asked.
    pub fn print(&self, json: bool) {
        if json {
            println!("{}", self.json);
        } else {
            println!("{}", self.text);
        }
    }
}

/// A time in milliseconds since the epoch as RFC 3339 (UTC, seconds).
pub fn time(at: Timestamp) -> String {
    let ms = at.as_millis();
    match u64::try_from(ms) {
        Ok(ms) => humantime::format_rfc3339_seconds(
            std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms),
        )
        .to_string(),
        Err(_) => ms.to_string(),
    }
}
