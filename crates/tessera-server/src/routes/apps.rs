//! The app endpoints of CDI 5.4's multitenancy API: create or update an app, list the apps
//! (with their tenants), remove one. Addressed without an app prefix, as SuperTokens core has it.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::state::ServerState;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutAppRequest {
    app_id: String,
    #[serde(flatten)]
    config: Map<String, Value>,
}

/// `PUT /recipe/multitenancy/app/v2`: `{"appId", …config}` → `{"status":"OK","createdNew"}`.
pub async fn put(
    State(state): State<ServerState>,
    JsonBody(body): JsonBody<PutAppRequest>,
) -> Result<Json<Value>, ApiError> {
    let app_id = body.app_id.to_ascii_lowercase();
    let created = state
        .apps
        .create_or_update(&app_id, body.config)
        .await
        .map_err(ApiError::from_engine)?;
    tracing::info!(%app_id, created, "app created or updated");
    Ok(Json(json!({"status": "OK", "createdNew": created})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoveAppRequest {
    app_id: String,
}

/// `POST /recipe/multitenancy/app/remove`.
pub async fn remove(
    State(state): State<ServerState>,
    JsonBody(body): JsonBody<RemoveAppRequest>,
) -> Result<Json<Value>, ApiError> {
    let app_id = body.app_id.to_ascii_lowercase();
    let existed = state
        .apps
        .delete(&app_id)
        .await
        .map_err(ApiError::from_engine)?;
    tracing::info!(%app_id, existed, "app removed");
    Ok(Json(json!({"status": "OK", "didExist": existed})))
}

/// `GET /recipe/multitenancy/app/list/v2`: every app with its tenants.
pub async fn list(State(state): State<ServerState>) -> Result<Json<Value>, ApiError> {
    let mut apps = Vec::new();
    for app in state.apps.list().await.map_err(ApiError::from_engine)? {
        let Some(sessions) = state
            .apps
            .engine(&app.app_id)
            .await
            .map_err(ApiError::from_engine)?
        else {
            continue; // removed meanwhile
        };
        let tenants: Vec<Value> = sessions
            .tenants()
            .await
            .map_err(ApiError::from_engine)?
            .into_iter()
            .map(|tenant| json!({"tenantId": tenant.tenant_id}))
            .collect();
        let mut entry = app.config;
        entry.insert("appId".to_owned(), json!(app.app_id));
        entry.insert("tenants".to_owned(), Value::Array(tenants));
        apps.push(Value::Object(entry));
    }
    Ok(Json(json!({"status": "OK", "apps": apps})))
}
