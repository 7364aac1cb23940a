//! The `api-key` and `cdi-version` checks in front of every core API route.

use axum::extract::{FromRequestParts, RawPathParams, Request, State};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tessera_cdi::CdiVersion;
use tessera_core::constant_time_eq;

use crate::error::ApiError;
use crate::state::ServerState;

/// Rejects requests without a configured API key (when keys are configured) and requests asking
/// for a CDI version this server does not speak. Like SuperTokens core, the key is read from
/// `api-key`, else from `Authorization` (`Bearer <key>` or the bare key). An app whose
/// `coreConfig` sets `api_keys` also takes those keys, and needs one even when the server sets
/// none. A missing `cdi-version` means "the newest", which is what `/apiversion` callers send.
pub async fn check_request(
    State(state): State<ServerState>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let app = addressed_app(&mut parts, &state).await;
    let request = Request::from_parts(parts, body);
    let app_keys = match app {
        Some(app_id) => match state.apps.api_keys(&app_id).await {
            Ok(keys) => keys,
            Err(error) => return ApiError::from_engine(error).into_response(),
        },
        None => Vec::new(),
    };
    let required = !state.api_keys.is_empty() || !app_keys.is_empty();
    if required
        && !has_valid_key(request.headers(), &state.api_keys)
        && !has_valid_key(request.headers(), &app_keys)
    {
        // Anyone can send these: counted, and logged only at debug, so they cannot grow the log.
        tracing::debug!("request rejected: missing or invalid API key");
        metrics::counter!("tessera_api_key_rejections_total").increment(1);
        return ApiError::InvalidApiKey.into_response();
    }
    let mut request = request;
    if let Some(header) = request.headers().get("cdi-version") {
        let text = header.to_str().unwrap_or_default();
        let Some(version) = CdiVersion::parse(text) else {
            let supported: Vec<String> = CdiVersion::SUPPORTED
                .iter()
                .map(|v| v.to_string())
                .collect();
            return ApiError::BadRequest(format!(
                "cdi-version {:?} not supported; this server speaks {}",
                text.chars().take(16).collect::<String>(),
                supported.join(", ")
            ))
            .into_response();
        };
        request.extensions_mut().insert(version);
    }
    next.run(request).await
}

/// The app of `/appid-<app>/…`, lowercased as the router's app extractor reads it.
async fn addressed_app(parts: &mut Parts, state: &ServerState) -> Option<String> {
    let params = RawPathParams::from_request_parts(parts, state).await.ok()?;
    params
        .iter()
        .find(|(name, _)| *name == "app")
        .map(|(_, value)| value.to_ascii_lowercase())
}

fn has_valid_key(headers: &HeaderMap, keys: &[String]) -> bool {
    if keys.is_empty() {
        return false;
    }
    let presented = headers
        .get("api-key")
        .or_else(|| headers.get(axum::http::header::AUTHORIZATION))
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim());
    let Some(presented) = presented else {
        return false;
    };
    // Compare against every key so the time taken does not reveal which one nearly matched.
    keys.iter()
        .fold(false, |found, key| constant_time_eq(presented, key) | found)
}
