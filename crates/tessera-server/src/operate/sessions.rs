//! `tessera sessions list | show | revoke | sweep`.

use serde_json::{json, Value};
use tessera_core::{SessionError, SessionInfo, Sessions, TheftQuery, Timestamp};

use super::progress;
use super::report::{time, Report};
use super::thefts::{theft_json, token_table};
use super::OperateError;
use crate::picture::SessionPicture;

/// Revocations are made in batches of this many handles, so that a user with very many sessions
/// shows progress and no single transaction grows without bound.
const REVOKE_BATCH: usize = 500;

fn last_refreshed(sessions: &Sessions, info: &SessionInfo) -> Timestamp {
    info.last_refreshed(sessions.config().refresh_token_validity)
}

fn session_json(sessions: &Sessions, info: &SessionInfo) -> Value {
    json!({
        "handle": info.handle,
        "user_id": info.user_id,
        "tenant_id": info.tenant_id,
        "created_at_ms": info.created_at.as_millis(),
        "last_refreshed_at_ms": last_refreshed(sessions, info).as_millis(),
        "expires_at_ms": info.expiry.as_millis(),
        "session_data": info.session_data,
        "access_token_payload": info.access_token_payload,
        "device_key_thumbprint": info.device_thumbprint,
    })
}

/// The thumbprint of the device key the session is bound to, or `none`.
pub fn device_key(info: &SessionInfo) -> String {
    info.device_thumbprint
        .clone()
        .unwrap_or_else(|| "none".to_owned())
}

/// The live sessions of `user_id`, in one tenant or all.
pub async fn sessions_list(
    sessions: &Sessions,
    user_id: &str,
    tenant_id: Option<&str>,
) -> Result<Report, OperateError> {
    let infos = sessions
        .get_all_sessions_for_user(user_id, tenant_id)
        .await?;
    let rows = infos
        .iter()
        .map(|info| {
            vec![
                info.handle.clone(),
                info.tenant_id.clone(),
                time(info.created_at),
                time(last_refreshed(sessions, info)),
                time(info.expiry),
            ]
        })
        .collect();
    let json = Value::Array(
        infos
            .iter()
            .map(|info| session_json(sessions, info))
            .collect(),
    );
    Ok(Report::table(
        &["HANDLE", "TENANT", "CREATED", "LAST REFRESHED", "EXPIRES"],
        rows,
        json,
    ))
}

/// Everything stored about one live session; with `tokens`, its refresh tokens too. A session
/// that is no longer live but was revoked by a theft still shows the tokens kept with the report.
pub async fn sessions_show(
    sessions: &Sessions,
    handle: &str,
    tokens: bool,
) -> Result<Report, OperateError> {
    let info = match sessions.get_session_info(handle).await {
        Ok(info) => info,
        Err(SessionError::Unauthorised { .. }) if tokens => {
            return stolen_session(sessions, handle).await
        }
        Err(SessionError::Unauthorised { .. }) => {
            return Err(OperateError::NoSuchSession(handle.to_owned()))
        }
        Err(error) => return Err(error.into()),
    };
    let mut fields = vec![
        ("handle", info.handle.clone()),
        ("user", info.user_id.clone()),
        ("tenant", info.tenant_id.clone()),
        ("created", time(info.created_at)),
        ("last refreshed", time(last_refreshed(sessions, &info))),
        ("expires", time(info.expiry)),
        ("session data", info.session_data.to_string()),
        (
            "access token payload",
            Value::Object(info.access_token_payload.clone()).to_string(),
        ),
        ("bound to device key", device_key(&info)),
    ];
    let mut json = session_json(sessions, &info);
    if tokens {
        let traces = match sessions.session_tokens(handle).await {
            Ok(traces) => traces,
            Err(SessionError::Unauthorised { .. }) => {
                return Err(OperateError::NoSuchSession(handle.to_owned()))
            }
            Err(error) => return Err(error.into()),
        };
        let picture = SessionPicture::live(&traces, sessions.clock().now_micros());
        fields.push(("refresh tokens", format!("\n{}", token_table(&picture))));
        json["tokens"] = serde_json::to_value(&picture).unwrap_or(Value::Null);
    }
    Ok(Report::fields(fields, json))
}

/// A session that is not live: what its theft reports kept, newest first.
async fn stolen_session(sessions: &Sessions, handle: &str) -> Result<Report, OperateError> {
    let reports = sessions
        .theft_reports(&TheftQuery {
            session_handle: Some(handle.to_owned()),
            limit: 20,
            ..TheftQuery::default()
        })
        .await?;
    let Some(newest) = reports.first() else {
        return Err(OperateError::NoSuchSession(handle.to_owned()));
    };
    let fields = vec![
        ("handle", handle.to_owned()),
        ("user", newest.user_id.clone()),
        ("tenant", newest.tenant_id.clone()),
        ("live", "no: ended by a detected theft".to_owned()),
        ("theft detected", time(newest.detected_at)),
        ("why", newest.explanation()),
        (
            "refresh tokens",
            format!("\n{}", token_table(&SessionPicture::of_theft(newest))),
        ),
    ];
    let json = json!({
        "handle": handle,
        "live": false,
        "thefts": reports.iter().map(theft_json).collect::<Vec<_>>(),
    });
    Ok(Report::fields(fields, json))
}

/// What `sessions revoke` revokes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeTarget {
    /// These sessions.
    Handles(Vec<String>),
    /// Every session of a user, in one tenant or all.
    User {
        /// The user.
        user_id: String,
        /// The tenant, or every tenant.
        tenant_id: Option<String>,
    },
}

/// Revokes sessions through the engine: running servers over the same database refuse their
/// access tokens within their revocation poll interval, and their refresh tokens at once.
pub async fn sessions_revoke(
    sessions: &Sessions,
    target: RevokeTarget,
) -> Result<Report, OperateError> {
    let revoked = match target {
        RevokeTarget::Handles(handles) if handles.is_empty() => {
            return Err(OperateError::Usage(
                "give session handles or --user to say what to revoke",
            ))
        }
        RevokeTarget::Handles(handles) => revoke_in_batches(sessions, &handles).await?,
        RevokeTarget::User { user_id, tenant_id } => {
            let handles = sessions
                .get_all_session_handles_for_user(&user_id, tenant_id.as_deref())
                .await?;
            let mut revoked = revoke_in_batches(sessions, &handles).await?;
            // Sessions created while the batches ran.
            revoked.extend(
                sessions
                    .revoke_all_sessions_for_user(&user_id, tenant_id.as_deref())
                    .await?,
            );
            revoked
        }
    };
    let text = match revoked.len() {
        0 => "no live session matched; nothing revoked".to_owned(),
        1 => format!("revoked 1 session: {}", revoked[0]),
        n => format!("revoked {n} sessions:\n{}", revoked.join("\n")),
    };
    Ok(Report::message(text, json!({ "revoked": revoked })))
}

async fn revoke_in_batches(
    sessions: &Sessions,
    handles: &[String],
) -> Result<Vec<String>, OperateError> {
    let bar = progress::bar(handles.len() as u64, "revoking sessions");
    let mut revoked = Vec::with_capacity(handles.len());
    for batch in handles.chunks(REVOKE_BATCH) {
        revoked.extend(sessions.revoke_multiple_sessions(batch).await?);
        bar.inc(batch.len() as u64);
    }
    bar.finish_and_clear();
    Ok(revoked)
}

/// Deletes expired sessions (what running servers do every `expiry_sweep_interval`).
pub async fn sessions_sweep(sessions: &Sessions) -> Result<Report, OperateError> {
    let spinner = progress::spinner("deleting expired sessions");
    let swept = sessions.sweep_expired().await;
    spinner.finish_and_clear();
    let swept = swept?;
    Ok(Report::message(
        format!("deleted {swept} expired sessions"),
        json!({ "deleted": swept }),
    ))
}
