//! The `/<tenantId>` path prefix. Only the default tenant, `public`, exists until multi-tenancy
//! does; naming another is a client error rather than silently using `public`.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use tessera_core::DEFAULT_TENANT;

use crate::error::ApiError;

/// The tenant a request was addressed to: from the path prefix, else `public`. The un-prefixed
/// forms mean "all tenants" or "the tenant of the token", which is `public` too for now.
#[derive(Debug, Clone)]
pub struct Tenant;

impl Tenant {
    /// The tenant id.
    pub fn id(&self) -> &'static str {
        DEFAULT_TENANT
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Ok(params) = RawPathParams::from_request_parts(parts, state).await else {
            return Ok(Self);
        };
        match params.iter().find(|(name, _)| *name == "tenant") {
            None => Ok(Self),
            Some((_, value)) if value.eq_ignore_ascii_case(DEFAULT_TENANT) => Ok(Self),
            Some((_, value)) => Err(ApiError::UnknownTenant(value.chars().take(64).collect())),
        }
    }
}
