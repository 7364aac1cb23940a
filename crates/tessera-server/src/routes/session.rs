//! Create, verify, refresh, regenerate and inspect one session.

use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tessera_core::{
    AccessToken, AntiCsrfToken, KeyKind, NewSession, RefreshOptions, RefreshToken, SessionError,
    VerifyOptions,
};

use crate::activity::{Counted, Event};
use crate::error::ApiError;
use crate::extract::AppSessions;
use crate::extract::{Cdi, JsonBody, QueryParams};
use crate::routes::legacy;
use crate::tenant::Tenant;
use tessera_cdi::{
    CreateSessionRequest, EndedRequest, RefreshRequest, RegenerateRequest, SessionJson,
    SessionReply, VerifyRequest,
};

/// `POST /<tenant>/recipe/session`.
pub async fn create(
    AppSessions(sessions): AppSessions,
    counted: Counted,
    tenant: Tenant,
    Cdi(version): Cdi,
    JsonBody(body): JsonBody<CreateSessionRequest>,
) -> Result<Response, ApiError> {
    let key_kind = if body.use_dynamic_signing_key.unwrap_or(true) {
        KeyKind::Dynamic
    } else {
        KeyKind::Static
    };
    let new = NewSession::new(body.user_id)
        .tenant_id(tenant.id())
        .access_token_payload(body.user_data_in_jwt)
        .session_data(Value::Object(body.user_data_in_database))
        .anti_csrf(body.enable_anti_csrf.unwrap_or(sessions.config().anti_csrf))
        .key_kind(key_kind)
        .token_version(crate::wire::token_version(version));
    let tokens = sessions
        .create_new_session(new)
        .await
        .map_err(ApiError::from_engine)?;
    counted.event(Event::Created, None);
    tracing::info!(session_handle = %tokens.session.handle, "session created");
    let mut reply = crate::wire::tokens_reply(tokens);
    legacy::decorate(&mut reply, version, &sessions, legacy::Reply::Create).await?;
    Ok(Json(reply).into_response())
}

/// `POST /recipe/session/verify`.
pub async fn verify(
    AppSessions(sessions): AppSessions,
    counted: Counted,
    Cdi(version): Cdi,
    JsonBody(body): JsonBody<VerifyRequest>,
) -> Result<Response, ApiError> {
    let anti_csrf = body.anti_csrf_token.map(AntiCsrfToken::new);
    let options = VerifyOptions {
        do_anti_csrf_check: body.enable_anti_csrf.unwrap_or(sessions.config().anti_csrf)
            && body.do_anti_csrf_check,
        check_database: body.check_database,
    };
    let outcome = sessions
        .get_session(
            &AccessToken::new(body.access_token),
            anti_csrf.as_ref(),
            options,
        )
        .await;
    let (label, mut reply) = match outcome {
        Ok(verified) => {
            let (v, new_access_token) = verified.into_parts();
            (
                "ok",
                crate::wire::session_reply(
                    SessionJson::new(v.handle, v.user_id, v.tenant_id, v.access_token_payload),
                    new_access_token,
                ),
            )
        }
        Err(SessionError::TryRefreshToken { reason }) => {
            ("try_refresh_token", SessionReply::try_refresh(reason))
        }
        Err(SessionError::Unauthorised {
            reason,
            clear_tokens,
        }) => ("unauthorised", SessionReply::refused(reason, clear_tokens)),
        // The first verification of a refreshed access token presented a refresh token the
        // client had moved past: the session is revoked. CDI's verify knows no theft status, so
        // the SDKs see UNAUTHORISED; Tessera's own clients also read who was affected.
        Err(SessionError::TokenTheftDetected {
            user_id,
            session_handle,
        }) => {
            let theft = reported_theft(&counted, user_id, session_handle, "UNAUTHORISED (verify)");
            ("theft", SessionReply::theft(theft, true))
        }
        Err(error) => return Err(ApiError::from_engine(error)),
    };
    counted.event(Event::Verified, Some(label));
    legacy::decorate(&mut reply, version, &sessions, legacy::Reply::Verify).await?;
    Ok(Json(reply).into_response())
}

/// Logs and counts a detected theft (the engine has revoked the session), naming the reply.
pub(super) fn reported_theft(
    counted: &Counted,
    user_id: String,
    session_handle: String,
    reply: &str,
) -> SessionJson {
    tracing::info!(%session_handle, reply, "token theft detected");
    counted.event(Event::Theft, None);
    SessionJson::revoked_by_theft(user_id, session_handle)
}

/// `POST /recipe/session/refresh`. A reused rotated token is reported as
/// `TOKEN_THEFT_DETECTED`; the engine has revoked the session by then.
pub async fn refresh(
    AppSessions(sessions): AppSessions,
    counted: Counted,
    Cdi(version): Cdi,
    JsonBody(body): JsonBody<RefreshRequest>,
) -> Result<Response, ApiError> {
    let anti_csrf = body.anti_csrf_token.map(AntiCsrfToken::new);
    let options = RefreshOptions {
        check_anti_csrf: body.enable_anti_csrf.unwrap_or(sessions.config().anti_csrf),
        token_version: crate::wire::token_version(version),
        key_kind: body.use_dynamic_signing_key.map(|dynamic| {
            if dynamic {
                KeyKind::Dynamic
            } else {
                KeyKind::Static
            }
        }),
    };
    let outcome = sessions
        .refresh_session_with(
            &RefreshToken::new(body.refresh_token),
            anti_csrf.as_ref(),
            options,
        )
        .await;
    let (label, mut reply) = match outcome {
        Ok(tokens) => {
            tracing::debug!(session_handle = %tokens.session.handle, "session refreshed");
            ("ok", crate::wire::tokens_reply(tokens))
        }
        Err(SessionError::Unauthorised {
            reason,
            clear_tokens,
        }) => ("unauthorised", SessionReply::refused(reason, clear_tokens)),
        Err(SessionError::TryRefreshToken { reason }) => {
            ("unauthorised", SessionReply::refused(reason, true))
        }
        Err(SessionError::TokenTheftDetected {
            user_id,
            session_handle,
        }) => {
            let session = reported_theft(&counted, user_id, session_handle, "TOKEN_THEFT_DETECTED");
            ("theft", SessionReply::theft(session, false))
        }
        Err(error) => return Err(ApiError::from_engine(error)),
    };
    counted.event(Event::Refreshed, Some(label));
    legacy::decorate(&mut reply, version, &sessions, legacy::Reply::Refresh).await?;
    Ok(Json(reply).into_response())
}

/// `POST /recipe/session/regenerate`: new payload, same token lifetime.
pub async fn regenerate(
    AppSessions(sessions): AppSessions,
    JsonBody(body): JsonBody<RegenerateRequest>,
) -> Result<Response, ApiError> {
    let outcome = sessions
        .regenerate_access_token(&AccessToken::new(body.access_token), body.user_data_in_jwt)
        .await;
    match outcome {
        Ok(r) => Ok(Json(crate::wire::session_reply(
            crate::wire::session_json(r.session),
            r.access_token,
        ))
        .into_response()),
        Err(SessionError::TryRefreshToken { reason })
        | Err(SessionError::Unauthorised { reason, .. }) => {
            Ok(Json(SessionReply::refused(reason, true)).into_response())
        }
        Err(error) => Err(ApiError::from_engine(error)),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InfoQuery {
    session_handle: String,
}

/// `GET /recipe/session?sessionHandle=…`. `expiry` is the session's (refresh) expiry.
pub async fn info(
    AppSessions(sessions): AppSessions,
    _tenant: Tenant,
    QueryParams(query): QueryParams<InfoQuery>,
) -> Result<Response, ApiError> {
    match sessions.get_session_info(&query.session_handle).await {
        Ok(info) => Ok(Json(json!({
            "status": "OK",
            "sessionHandle": info.handle,
            "userId": info.user_id,
            "recipeUserId": info.user_id,
            "userDataInDatabase": info.session_data,
            "userDataInJWT": info.access_token_payload,
            "expiry": info.expiry.as_millis(),
            "timeCreated": info.created_at.as_millis(),
            "tenantId": info.tenant_id,
        }))
        .into_response()),
        Err(SessionError::Unauthorised { .. }) => {
            Ok(Json(SessionReply::refused("Session does not exist.", true)).into_response())
        }
        Err(error) => Err(ApiError::from_engine(error)),
    }
}

/// `POST /tessera/session/ended` (Tessera's own): whether the session of an access token (its
/// signature checked, its expiry not) was ended by a detected theft, so a back end can tell the
/// user signed out by it why. A token that is not genuine is `UNAUTHORISED`.
pub async fn ended(
    AppSessions(sessions): AppSessions,
    JsonBody(body): JsonBody<EndedRequest>,
) -> Result<Response, ApiError> {
    let reply = match sessions
        .ended_by_theft(&AccessToken::new(body.access_token))
        .await
    {
        Ok(ended) => SessionReply {
            ended_by_theft: Some(ended),
            ..SessionReply::default()
        },
        Err(SessionError::Unauthorised {
            reason,
            clear_tokens,
        }) => SessionReply::refused(reason, clear_tokens),
        Err(SessionError::TryRefreshToken { reason }) => SessionReply::refused(reason, false),
        Err(error) => return Err(ApiError::from_engine(error)),
    };
    Ok(Json(reply).into_response())
}
