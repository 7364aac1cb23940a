//! The multitenancy endpoints of CDI 5.4 that sessions need: create or update a tenant, get one,
//! list them, delete one (which revokes its sessions). A tenant's configuration (login methods,
//! core settings) is kept as given and handed back; sessions do not depend on it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tessera_core::{TenantRecord, DEFAULT_TENANT};

use crate::error::ApiError;
use crate::extract::AppSessions;
use crate::extract::JsonBody;
use crate::state::ServerState;
use crate::tenant::path_tenant;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutTenantRequest {
    tenant_id: Option<String>,
    #[serde(flatten)]
    config: Map<String, Value>,
}

/// `PUT /recipe/multitenancy/tenant/v2`: `{"tenantId", …config}` → `{"status":"OK","createdNew"}`.
pub async fn put(
    AppSessions(sessions): AppSessions,
    JsonBody(body): JsonBody<PutTenantRequest>,
) -> Result<Json<Value>, ApiError> {
    let tenant_id = body.tenant_id.unwrap_or_else(|| DEFAULT_TENANT.to_owned());
    let created = sessions
        .create_or_update_tenant(&tenant_id, body.config)
        .await
        .map_err(ApiError::from_engine)?;
    tracing::info!(%tenant_id, created, "tenant created or updated");
    Ok(Json(json!({"status": "OK", "createdNew": created})))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoveTenantRequest {
    tenant_id: String,
}

/// `POST /recipe/multitenancy/tenant/remove`: deletes a tenant and revokes its sessions.
pub async fn remove(
    AppSessions(sessions): AppSessions,
    JsonBody(body): JsonBody<RemoveTenantRequest>,
) -> Result<Json<Value>, ApiError> {
    let existed = sessions
        .delete_tenant(&body.tenant_id)
        .await
        .map_err(ApiError::from_engine)?;
    tracing::info!(tenant_id = %body.tenant_id, existed, "tenant deleted");
    Ok(Json(json!({"status": "OK", "didExist": existed})))
}

/// The tenant named in the path, looked up by [`get`] itself: an unknown one is the
/// `TENANT_NOT_FOUND_ERROR` answer the SDKs expect, not a refusal of the request.
pub struct NamedTenant(String);

impl FromRequestParts<ServerState> for NamedTenant {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ServerState,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(
            path_tenant(parts, state)
                .await
                .unwrap_or_else(|| DEFAULT_TENANT.to_owned()),
        ))
    }
}

/// `GET /<tenant>/recipe/multitenancy/tenant/v2`.
pub async fn get(
    AppSessions(sessions): AppSessions,
    NamedTenant(tenant_id): NamedTenant,
) -> Result<Json<Value>, ApiError> {
    if tessera_core::check_tenant_id(&tenant_id).is_err() {
        return Ok(Json(json!({"status": "TENANT_NOT_FOUND_ERROR"})));
    }
    let tenant = sessions
        .tenant(&tenant_id)
        .await
        .map_err(ApiError::from_engine)?;
    Ok(Json(match tenant {
        Some(tenant) => {
            let mut answer = tenant_json(tenant);
            answer.insert("status".to_owned(), json!("OK"));
            Value::Object(answer)
        }
        None => json!({"status": "TENANT_NOT_FOUND_ERROR"}),
    }))
}

/// `GET /recipe/multitenancy/tenant/list/v2`.
pub async fn list(AppSessions(sessions): AppSessions) -> Result<Json<Value>, ApiError> {
    let tenants = sessions.tenants().await.map_err(ApiError::from_engine)?;
    let tenants: Vec<Value> = tenants
        .into_iter()
        .map(|tenant| Value::Object(tenant_json(tenant)))
        .collect();
    Ok(Json(json!({"status": "OK", "tenants": tenants})))
}

/// A tenant as CDI 5.4 shows it: the stored configuration with the fields the SDKs read filled in.
fn tenant_json(tenant: TenantRecord) -> Map<String, Value> {
    let mut answer = tenant.config;
    answer.insert("tenantId".to_owned(), json!(tenant.tenant_id));
    answer
        .entry("thirdParty")
        .or_insert_with(|| json!({"providers": []}));
    answer.entry("coreConfig").or_insert_with(|| json!({}));
    answer
}
