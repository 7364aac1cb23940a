//! Extractors that turn malformed input into a clear 400 (or 413) with a JSON message, instead of
//! axum's plain-text rejections.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use std::time::Duration;

use tessera_core::Sessions;

use crate::activity::Counted;
use crate::apps::PUBLIC_APP;
use crate::error::ApiError;
use crate::state::ServerState;

/// A JSON body. The `content-type` is not checked: the SDKs always send JSON, and some HTTP
/// clients omit the header.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let rules = req.extensions().get::<BodyRules>().cloned();
        let rules = rules.unwrap_or_else(|| BodyRules::limit(usize::MAX));
        let read = Bytes::from_request(req, state);
        let deadline = async {
            match rules.read_timeout {
                Some(timeout) => tokio::time::sleep(timeout).await,
                None => std::future::pending().await,
            }
        };
        let bytes = tokio::select! {
            read = read => read.map_err(|rejection: BytesRejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::PayloadTooLarge(rules.max_bytes)
                } else {
                    ApiError::BadRequest(format!("cannot read request body: {rejection}"))
                }
            })?,
            () = deadline => return Err(ApiError::BodyTimeout(rules.read_timeout.unwrap_or_default())),
        };
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
    }
}

/// How request bodies are read, put in request extensions by the router and the server.
#[derive(Debug, Clone)]
pub struct BodyRules {
    /// Largest body accepted (quoted in the 413).
    pub max_bytes: usize,
    /// Time the client has to send the whole body; a slow body gets 408, however it trickles.
    /// This also bounds how long a shutdown waits for a body still arriving.
    pub read_timeout: Option<Duration>,
}

impl BodyRules {
    /// Only a size limit.
    pub fn limit(max_bytes: usize) -> Self {
        Self {
            max_bytes,
            read_timeout: None,
        }
    }
}

/// A query string.
pub struct QueryParams<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|q| QueryParams(q.0))
            .map_err(|e| ApiError::BadRequest(e.body_text()))
    }
}

/// The request's protocol version: its `cdi-version` header, which the API-key check in front
/// of every core route has already parsed, else the newest.
pub struct Cdi(pub tessera_cdi::CdiVersion);

impl<S: Send + Sync> FromRequestParts<S> for Cdi {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<tessera_cdi::CdiVersion>()
                .copied()
                .unwrap_or_default(),
        ))
    }
}

/// The engine of the app a request is addressed to: `/appid-<app>/…`, else `public`. An unknown
/// app is refused with 400, as SuperTokens core does.
pub struct AppSessions(pub Sessions);

impl FromRequestParts<ServerState> for AppSessions {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ServerState,
    ) -> Result<Self, Self::Rejection> {
        let Some(app) = requested_app(parts, state).await else {
            return Ok(Self(state.sessions.clone()));
        };
        match state.apps.engine(&app).await {
            Ok(Some(sessions)) => Ok(Self(sessions)),
            Ok(None) => Err(ApiError::UnknownApp(app.chars().take(64).collect())),
            Err(error) => Err(ApiError::from_engine(error)),
        }
    }
}

/// The app a request is addressed to, for counting what its handler did (see [`Counted`]).
impl FromRequestParts<ServerState> for Counted {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ServerState,
    ) -> Result<Self, Self::Rejection> {
        let app = requested_app(parts, state).await;
        Ok(Counted::new(
            app.unwrap_or_else(|| PUBLIC_APP.to_owned()),
            std::sync::Arc::clone(&state.activity),
        ))
    }
}

/// The `app` path parameter (`/appid-<app>/…`), lower-cased, if the route has one.
async fn requested_app(parts: &mut Parts, state: &ServerState) -> Option<String> {
    RawPathParams::from_request_parts(parts, state)
        .await
        .ok()?
        .iter()
        .find(|(name, _)| *name == "app")
        .map(|(_, value)| value.to_ascii_lowercase())
}
