//! The `/<tenantId>` path prefix. `public` always exists; another tenant must have been created
//! through the multitenancy API, and naming one that was not is a client error (400, as
//! SuperTokens core answers it) rather than silently using `public`.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use tessera_core::DEFAULT_TENANT;

use crate::error::ApiError;
use crate::extract::AppSessions;
use crate::state::ServerState;

/// The tenant a request was addressed to: from the path prefix, else `public`. The un-prefixed
/// forms mean "all tenants" or "the tenant of the token".
#[derive(Debug, Clone)]
pub struct Tenant(String);

impl Tenant {
    /// The tenant id.
    pub fn id(&self) -> &str {
        &self.0
    }
}

/// The `tenant` path parameter, if the route has one.
pub async fn path_tenant(parts: &mut Parts, state: &ServerState) -> Option<String> {
    let params = RawPathParams::from_request_parts(parts, state).await.ok()?;
    params
        .iter()
        .find(|(name, _)| *name == "tenant")
        .map(|(_, value)| value.to_owned())
}

impl FromRequestParts<ServerState> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ServerState,
    ) -> Result<Self, Self::Rejection> {
        let Some(tenant) = path_tenant(parts, state).await else {
            return Ok(Self(DEFAULT_TENANT.to_owned()));
        };
        if tenant.eq_ignore_ascii_case(DEFAULT_TENANT) {
            return Ok(Self(DEFAULT_TENANT.to_owned()));
        }
        let unknown = || ApiError::UnknownTenant(tenant.chars().take(64).collect());
        if tessera_core::check_tenant_id(&tenant).is_err() {
            return Err(unknown());
        }
        let AppSessions(sessions) = AppSessions::from_request_parts(parts, state).await?;
        match sessions.tenant(&tenant).await {
            Ok(Some(_)) => Ok(Self(tenant)),
            Ok(None) => Err(unknown()),
            Err(error) => Err(ApiError::from_engine(error)),
        }
    }
}
