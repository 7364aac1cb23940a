//! Revoking sessions and listing a user's sessions.

use axum::Json;
use serde::Deserialize;

use tessera_cdi::{RevocationJson, SessionReply};

use crate::error::ApiError;
use crate::extract::AppSessions;
use crate::extract::{JsonBody, QueryParams};
use crate::tenant::Tenant;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoveRequest {
    session_handles: Option<Vec<String>>,
    user_id: Option<String>,
    revoke_across_all_tenants: Option<bool>,
    /// Without account linking every user is its own only account, so this changes nothing.
    revoke_sessions_for_linked_accounts: Option<bool>,
}

/// `POST /<tenant>/recipe/session/remove`: by handles, or every session of a user.
pub async fn remove(
    AppSessions(sessions): AppSessions,
    tenant: Tenant,
    JsonBody(body): JsonBody<RemoveRequest>,
) -> Result<Json<SessionReply>, ApiError> {
    let revoked = match (body.session_handles, body.user_id) {
        (Some(handles), None) => {
            if body.revoke_across_all_tenants.is_some()
                || body.revoke_sessions_for_linked_accounts.is_some()
            {
                return Err(ApiError::BadRequest(
                    "revokeAcrossAllTenants and revokeSessionsForLinkedAccounts apply only with userId"
                        .to_owned(),
                ));
            }
            sessions
                .revoke_multiple_sessions(&handles)
                .await
                .map_err(ApiError::from_engine)?
        }
        (None, Some(user_id)) => {
            let across = body.revoke_across_all_tenants.unwrap_or(true);
            let tenant_id = (!across).then(|| tenant.id());
            sessions
                .revoke_all_sessions_for_user(&user_id, tenant_id)
                .await
                .map_err(ApiError::from_engine)?
        }
        _ => {
            return Err(ApiError::BadRequest(
                "use exactly one of userId or sessionHandles".to_owned(),
            ))
        }
    };
    tracing::info!(revoked = revoked.len(), "sessions revoked");
    Ok(Json(SessionReply {
        session_handles_revoked: Some(revoked),
        ..SessionReply::default()
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandlesQuery {
    user_id: String,
    fetch_across_all_tenants: Option<String>,
    #[allow(dead_code)] // no account linking: a user has no other accounts
    fetch_sessions_for_all_linked_accounts: Option<String>,
}

/// `GET /<tenant>/recipe/session/user?userId=…`: handles of the user's live sessions.
pub async fn handles_for_user(
    AppSessions(sessions): AppSessions,
    tenant: Tenant,
    QueryParams(query): QueryParams<HandlesQuery>,
) -> Result<Json<SessionReply>, ApiError> {
    let across = match query.fetch_across_all_tenants.as_deref() {
        None => true,
        Some(v) if v.eq_ignore_ascii_case("true") => true,
        Some(v) if v.eq_ignore_ascii_case("false") => false,
        Some(_) => {
            return Err(ApiError::BadRequest(
                "fetchAcrossAllTenants must be true or false".to_owned(),
            ))
        }
    };
    let tenant_id = (!across).then(|| tenant.id());
    let handles = sessions
        .get_all_session_handles_for_user(&query.user_id, tenant_id)
        .await
        .map_err(ApiError::from_engine)?;
    Ok(Json(SessionReply {
        session_handles: Some(handles),
        ..SessionReply::default()
    }))
}

/// Entries per answer of `GET /tessera/revocations`.
const REVOCATIONS_PER_PAGE: u32 = 10_000;

#[derive(Deserialize)]
pub struct RevocationsQuery {
    after: Option<i64>,
}

/// `GET /tessera/revocations?after=N`: Tessera's own endpoint (not CDI) for back ends that verify
/// access tokens without a store of their own (tessera-axum's remote back end): the revocation
/// log after position `N` (0 or absent: from the start), limited to sessions whose access tokens
/// may not have expired yet, oldest first, at most 10 000 per answer, with `keepSince`: entries
/// revoked before that time may be forgotten.
pub async fn revocations(
    AppSessions(sessions): AppSessions,
    QueryParams(query): QueryParams<RevocationsQuery>,
) -> Result<Json<SessionReply>, ApiError> {
    let records = sessions
        .revocation_log(query.after.unwrap_or(0), REVOCATIONS_PER_PAGE)
        .await
        .map_err(ApiError::from_engine)?;
    let revocations = records
        .into_iter()
        .map(|r| RevocationJson {
            seq: r.seq,
            session_handle: r.session_handle,
            revoked_at: r.revoked_at.as_millis(),
        })
        .collect();
    Ok(Json(SessionReply {
        revocations: Some(revocations),
        // Entries revoked before this concern only expired access tokens: followers forget them.
        keep_since: Some(sessions.revocations_needed_since().as_millis()),
        ..SessionReply::default()
    }))
}
