//! Endpoints that are not about one session: version negotiation, health, keys, metrics, and the
//! account-linking user lookup the SDKs make before every session creation.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use tessera_cdi::CdiVersion;

use crate::error::ApiError;
use crate::extract::AppSessions;
use crate::extract::QueryParams;
use crate::state::ServerState;

/// `GET /hello`: liveness, plain text as SuperTokens core answers it.
pub async fn hello() -> &'static str {
    "Hello"
}

/// `GET /apiversion`: the SDKs pick the highest version both sides know.
pub async fn api_version() -> Json<serde_json::Value> {
    let versions: Vec<String> = CdiVersion::SUPPORTED
        .iter()
        .map(|version| version.to_string())
        .collect();
    Json(json!({ "versions": versions }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdQuery {
    #[allow(dead_code)] // required for the shape check; there is no user store to look it up in
    user_id: String,
}

/// `GET /user/id`: Tessera keeps no users, so every id is unknown and the SDKs use the recipe
/// user id as the session's user id. A 404 here would break every session creation.
pub async fn user_id(QueryParams(_query): QueryParams<UserIdQuery>) -> Json<serde_json::Value> {
    Json(json!({ "status": "UNKNOWN_USER_ID_ERROR" }))
}

/// `GET /.well-known/jwks.json`: public signing keys. Cacheable until the next dynamic key is
/// due; SDKs refetch anyway when they meet an unknown `kid`.
pub async fn jwks(AppSessions(sessions): AppSessions) -> Result<Response, ApiError> {
    let jwks = sessions.jwks().await.map_err(ApiError::from_engine)?;
    let interval_ms =
        tessera_core::duration_millis(sessions.config().signing_key_update_interval).max(1);
    let now_ms = sessions.clock().now().as_millis();
    let until_next_key_s = (interval_ms - now_ms.rem_euclid(interval_ms)) / 1000;
    let max_age = until_next_key_s.clamp(1, 3600);
    Ok((
        [(
            header::CACHE_CONTROL,
            format!("max-age={max_age}, must-revalidate"),
        )],
        Json(jwks),
    )
        .into_response())
}

/// `GET /metrics`: Prometheus text format.
pub async fn metrics(State(state): State<ServerState>) -> Response {
    let revocations = state.sessions.revocation_status();
    metrics::gauge!("tessera_revoked_sessions_held").set(revocations.revoked_sessions as f64);
    metrics::gauge!("tessera_revocation_lag_seconds").set(
        revocations
            .lag
            .map_or(0.0, |lag| lag.as_secs_f64().min(1e9)),
    );
    metrics::gauge!("tessera_revocations_stale").set(if revocations.stale { 1.0 } else { 0.0 });
    match state.metrics {
        Some(handle) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => ApiError::NotFound("metrics are disabled".to_owned()).into_response(),
    }
}
