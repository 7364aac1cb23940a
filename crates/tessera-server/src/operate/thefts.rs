//! `tessera thefts list`, and the token tables and JSON that `sessions show --tokens` shares.

use serde_json::{json, Value};
use tessera_core::{duration_micros, human_duration, Sessions, TheftQuery, TheftReport, Timestamp};

use super::report::{time, Report};
use super::OperateError;
use crate::picture::SessionPicture;

/// Recorded thefts, newest first, optionally of one user.
pub async fn thefts_list(
    sessions: &Sessions,
    user: Option<&str>,
    limit: u32,
) -> Result<Report, OperateError> {
    let reports = sessions
        .theft_reports(&TheftQuery {
            user_id: user.map(str::to_owned),
            limit,
            ..TheftQuery::default()
        })
        .await?;
    let rows = reports
        .iter()
        .map(|report| {
            vec![
                report.id.to_string(),
                time(report.detected_at),
                report.user_id.clone(),
                report.session_handle.clone(),
                report.kind.as_str().to_owned(),
                report
                    .dead_for()
                    .map_or_else(|| "alive".to_owned(), human_duration),
                human_duration(report.grace),
                if report.revoked { "revoked" } else { "kept" }.to_owned(),
            ]
        })
        .collect();
    let json = Value::Array(reports.iter().map(theft_json).collect());
    Ok(Report::table(
        &[
            "ID",
            "DETECTED",
            "USER",
            "SESSION",
            "PRESENTED BY",
            "DEAD FOR",
            "GRACE",
            "SESSION WAS",
        ],
        rows,
        json,
    ))
}

/// A theft report as JSON: what was recorded, the sentence, and the picture of the tokens.
pub fn theft_json(report: &TheftReport) -> Value {
    json!({
        "id": report.id,
        "detected_at": time(report.detected_at),
        "detected_at_us": report.detected_at.as_micros(),
        "user_id": report.user_id,
        "tenant_id": report.tenant_id,
        "session_handle": report.session_handle,
        "kind": report.kind.as_str(),
        "dead_for_us": report.dead_for().map(duration_micros),
        "grace_us": duration_micros(report.grace),
        "revoked": report.revoked,
        "explanation": report.explanation(),
        "tokens": SessionPicture::of_theft(report),
    })
}

/// A picture's tokens as text lines: one row per token, times as offsets from the first minting.
pub fn token_table(picture: &SessionPicture) -> String {
    let offset = |at: Timestamp| format!("+{}", human_duration(at.since(picture.start_us)));
    let number = |n: Option<usize>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
    let rows = picture
        .tokens
        .iter()
        .map(|token| {
            vec![
                token.number.to_string(),
                token.id.clone(),
                number(token.parent),
                offset(token.issued_at_us),
                token.dead_since_us.map_or_else(|| "-".to_owned(), offset),
                number(token.killed_by),
                token
                    .uses_us
                    .iter()
                    .map(|at| offset(*at))
                    .collect::<Vec<_>>()
                    .join(", "),
            ]
        })
        .collect();
    Report::table(
        &[
            "TOKEN",
            "ID",
            "PARENT",
            "MINTED",
            "DEAD SINCE",
            "KILLED BY",
            "USES",
        ],
        rows,
        Value::Null,
    )
    .text()
    .to_owned()
}
