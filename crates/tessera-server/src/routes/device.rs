//! Tessera's own device-binding endpoints (not CDI), for back ends that run the browser side of
//! device-bound sessions (tessera-axum's remote back end): a challenge for a refresh token, the
//! binding of its session to a device key, a refresh proven by the device, and whether a session
//! is bound. Every refusal is a JSON reply, as CDI's are.

use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tessera_cdi::{DeviceJson, DeviceRefusal, DeviceRequest, SessionReply};
use tessera_core::{DeviceError, RefreshOptions, RefreshToken, SessionError};

use crate::activity::Counted;
use crate::error::ApiError;
use crate::extract::AppSessions;
use crate::extract::{JsonBody, QueryParams};
use crate::routes::session::reported_theft;

/// `POST /tessera/device/challenge`: a challenge for a proof about the refresh token's session.
pub async fn challenge(
    AppSessions(sessions): AppSessions,
    counted: Counted,
    JsonBody(body): JsonBody<DeviceRequest>,
) -> Result<Response, ApiError> {
    let reply = match sessions
        .device_challenge(&RefreshToken::new(body.refresh_token))
        .await
    {
        Ok(challenge) => SessionReply {
            device: Some(DeviceJson {
                session_handle: challenge.session_handle,
                bound: challenge.bound,
                challenge: Some(challenge.challenge),
                thumbprint: None,
            }),
            ..SessionReply::default()
        },
        Err(error) => session_refusal(error, &counted)?,
    };
    Ok(Json(reply).into_response())
}

/// `POST /tessera/device/bind`: binds the session to the key of a registration proof.
pub async fn bind(
    AppSessions(sessions): AppSessions,
    counted: Counted,
    JsonBody(body): JsonBody<DeviceRequest>,
) -> Result<Response, ApiError> {
    let proof = required_proof(body.proof)?;
    let reply = match sessions
        .bind_device(&RefreshToken::new(body.refresh_token), &proof)
        .await
    {
        Ok(binding) => SessionReply {
            device: Some(DeviceJson {
                session_handle: binding.session_handle,
                bound: true,
                challenge: None,
                thumbprint: Some(binding.thumbprint),
            }),
            ..SessionReply::default()
        },
        Err(error) => device_refusal(error, &counted)?,
    };
    Ok(Json(reply).into_response())
}

/// `POST /tessera/device/refresh`: rotates a bound session's tokens on its device's proof.
pub async fn refresh(
    AppSessions(sessions): AppSessions,
    counted: Counted,
    JsonBody(body): JsonBody<DeviceRequest>,
) -> Result<Response, ApiError> {
    let proof = required_proof(body.proof)?;
    let outcome = sessions
        .refresh_bound_session(
            &RefreshToken::new(body.refresh_token),
            &proof,
            RefreshOptions::default(),
        )
        .await;
    let (label, reply) = match outcome {
        Ok(tokens) => ("ok", crate::wire::tokens_reply(tokens)),
        Err(DeviceError::Session(SessionError::TokenTheftDetected {
            user_id,
            session_handle,
        })) => {
            let session = reported_theft(&counted, user_id, session_handle, "TOKEN_THEFT_DETECTED");
            ("theft", SessionReply::theft(session, false))
        }
        Err(error) => ("unauthorised", device_refusal(error, &counted)?),
    };
    metrics::counter!("tessera_device_refreshes_total", "outcome" => label).increment(1);
    Ok(Json(reply).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceQuery {
    session_handle: String,
}

/// `GET /tessera/device?sessionHandle=…`: whether a live session is bound, and to which key.
pub async fn status(
    AppSessions(sessions): AppSessions,
    counted: Counted,
    QueryParams(query): QueryParams<DeviceQuery>,
) -> Result<Response, ApiError> {
    let reply = match sessions.get_session_info(&query.session_handle).await {
        Ok(info) => SessionReply {
            device: Some(DeviceJson {
                session_handle: info.handle,
                bound: info.device_thumbprint.is_some(),
                challenge: None,
                thumbprint: info.device_thumbprint,
            }),
            ..SessionReply::default()
        },
        Err(error) => session_refusal(error, &counted)?,
    };
    Ok(Json(reply).into_response())
}

fn required_proof(proof: Option<String>) -> Result<String, ApiError> {
    proof
        .filter(|proof| !proof.is_empty())
        .ok_or_else(|| ApiError::BadRequest("a device proof is required".to_owned()))
}

/// A refused session as a reply; store and key faults stay server errors.
fn session_refusal(error: SessionError, counted: &Counted) -> Result<SessionReply, ApiError> {
    match error {
        SessionError::Unauthorised {
            reason,
            clear_tokens,
        } => Ok(SessionReply::refused(reason, clear_tokens)),
        SessionError::TryRefreshToken { reason } => Ok(SessionReply::refused(reason, true)),
        SessionError::TokenTheftDetected {
            user_id,
            session_handle,
        } => Ok(SessionReply::theft(
            reported_theft(counted, user_id, session_handle, "TOKEN_THEFT_DETECTED"),
            false,
        )),
        error => Err(ApiError::from_engine(error)),
    }
}

/// A refused proof keeps the client's tokens (it may ask for a fresh challenge); a refused
/// session is as [`session_refusal`] says.
fn device_refusal(error: DeviceError, counted: &Counted) -> Result<SessionReply, ApiError> {
    let (refusal, message) = match error {
        DeviceError::Challenge(error) => (DeviceRefusal::Challenge, error.to_string()),
        DeviceError::Proof(error) => (DeviceRefusal::Proof, error.to_string()),
        DeviceError::Session(error) => return session_refusal(error, counted),
        other => {
            tracing::error!(error = %other, "device request failed");
            return Err(ApiError::Internal);
        }
    };
    Ok(SessionReply {
        device_refused: Some(refusal),
        ..SessionReply::refused(&message, false)
    })
}
