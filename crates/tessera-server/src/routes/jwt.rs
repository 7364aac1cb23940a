//! The JWT recipe's core side: `POST /recipe/jwt` signs an app's own JWTs with the session key
//! ring, and `GET /recipe/jwt/jwks` lists the keys that verify them (the same set as
//! `/.well-known/jwks.json`). The SDKs' JWT and OpenID recipes call these.

use std::time::Duration;

use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tessera_core::KeyKind;

use crate::error::ApiError;
use crate::extract::AppSessions;
use crate::extract::JsonBody;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateJwtRequest {
    payload: Map<String, Value>,
    /// Seconds.
    validity: u64,
    algorithm: String,
    jwks_domain: Option<String>,
    /// Absent means the static key, as in SuperTokens core.
    #[serde(default = "static_key_by_default")]
    use_static_signing_key: bool,
}

fn static_key_by_default() -> bool {
    true
}

/// `POST /recipe/jwt`: `{payload, validity, algorithm, jwksDomain, useStaticSigningKey}` →
/// `{status: "OK", jwt}`, or `UNSUPPORTED_ALGORITHM_ERROR` for an algorithm other than the key
/// ring's.
pub async fn create(
    AppSessions(sessions): AppSessions,
    JsonBody(body): JsonBody<CreateJwtRequest>,
) -> Result<Response, ApiError> {
    if body.validity == 0 {
        return Err(ApiError::BadRequest(
            "validity must be a positive number of seconds".to_owned(),
        ));
    }
    if !body
        .algorithm
        .eq_ignore_ascii_case(sessions.config().signing_algorithm.jose_name())
    {
        return Ok(Json(json!({"status": "UNSUPPORTED_ALGORITHM_ERROR"})).into_response());
    }
    let kind = if body.use_static_signing_key {
        KeyKind::Static
    } else {
        KeyKind::Dynamic
    };
    // The payload's own `iss` wins over the JWKS domain.
    let issuer = body
        .jwks_domain
        .filter(|_| !body.payload.contains_key("iss"));
    let jwt = sessions
        .create_jwt(
            body.payload,
            Duration::from_secs(body.validity),
            kind,
            issuer,
        )
        .await
        .map_err(ApiError::from_engine)?;
    Ok(Json(json!({"status": "OK", "jwt": jwt})).into_response())
}

/// `GET /recipe/jwt/jwks`: `{status: "OK", keys}`.
pub async fn jwks(AppSessions(sessions): AppSessions) -> Result<Response, ApiError> {
    let jwks = sessions.jwks().await.map_err(ApiError::from_engine)?;
    Ok(Json(json!({"status": "OK", "keys": jwks.keys})).into_response())
}
