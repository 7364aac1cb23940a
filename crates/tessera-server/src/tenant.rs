//! The `/<tenantId>` path prefix. Only the default tenant, `public`, exists until multi-tenancy
//! does; naming another is a client error rather than silently using `public`.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use tessera_core::DEFAULT_TENANT;

use crate::error::ApiError;

/// The tenant a request was addressed to: from the path prefix, else `public`.
#[derive(Debug, Clone)]
pub struct Tenant {
    /// Whether the path carried a prefix (CDI uses the un-prefixed forms for "all tenants").
    pub explicit: bool,
}

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
            return Ok(Self { explicit: false });
        };
        match params.iter().find(|(name, _)| *name == "tenant") {
            None => Ok(Self { explicit: false }),
            Some((_, value)) if value.eq_ignore_ascii_case(DEFAULT_TENANT) => {
                Ok(Self { explicit: true })
            }
            Some((_, value)) => Err(ApiError::UnknownTenant(value.chars().take(64).collect())),
        }
    }
}
