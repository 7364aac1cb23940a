//! Replacing a session's server-side data or its access-token payload.

use axum::Json;
use serde::Deserialize;
use serde_json::{Map, Value};
use tessera_cdi::SessionReply;
use tessera_core::SessionError;

use crate::error::ApiError;
use crate::extract::AppSessions;
use crate::extract::JsonBody;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionDataRequest {
    session_handle: String,
    user_data_in_database: Map<String, Value>,
}

/// `PUT /recipe/session/data`.
pub async fn session_data(
    AppSessions(sessions): AppSessions,
    JsonBody(body): JsonBody<SessionDataRequest>,
) -> Result<Json<SessionReply>, ApiError> {
    let outcome = sessions
        .update_session_data(
            &body.session_handle,
            Value::Object(body.user_data_in_database),
        )
        .await;
    reply(outcome)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PayloadRequest {
    session_handle: String,
    #[serde(rename = "userDataInJWT")]
    user_data_in_jwt: Map<String, Value>,
}

/// `PUT /recipe/jwt/data`: the payload for access tokens minted from now on.
pub async fn access_token_payload(
    AppSessions(sessions): AppSessions,
    JsonBody(body): JsonBody<PayloadRequest>,
) -> Result<Json<SessionReply>, ApiError> {
    let outcome = sessions
        .update_access_token_payload(&body.session_handle, body.user_data_in_jwt)
        .await;
    reply(outcome)
}

fn reply(outcome: Result<(), SessionError>) -> Result<Json<SessionReply>, ApiError> {
    match outcome {
        Ok(()) => Ok(Json(SessionReply::default())),
        Err(SessionError::Unauthorised { .. }) => {
            Ok(Json(SessionReply::refused("Session does not exist.", true)))
        }
        Err(error) => Err(ApiError::from_engine(error)),
    }
}
