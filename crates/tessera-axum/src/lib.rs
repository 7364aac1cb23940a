//! Tessera sessions for axum, a thin adapter over the framework-neutral `tessera-http`, speaking what the SuperTokens frontend SDK (supertokens-website
//! 20.1.x) expects of a backend (`docs/design.md` in the repository has the rotation rules).
//!
//! - [`Session`] is an extractor: a handler taking it is protected; `Option<Session>` is optional.
//!   Rejections are the exact responses the SDK reacts to (refresh, log out, invalid claim).
//! - [`Tessera::create_new_session`] starts a session in your login handler.
//! - [`Tessera::install`] finishes the app: it adds [`Tessera::router`] (`POST
//!   /auth/session/refresh` and `POST /auth/signout`), the [`TokenReissueLayer`] and the state.
//! - [`cors_layer`] admits a website on another origin.
//! - [`TokenReissueLayer`] hands the client the access token re-minted during verification: the
//!   first verification after a refresh commits the new refresh token and replaces the access
//!   token with one that stays off the store; with [`SessionLayerConfig::with_check_database`], claims
//!   changed on the server arrive the same way. Apply it to the routes that take a [`Session`].
//! - [`HtmlRefresh`] answers a browser loading a protected page with an expired access token with
//!   a page that refreshes the session and reloads (the refresh cookie never reaches page URLs).
//!
//! `examples/demo` is a complete app with a page using the SuperTokens frontend SDK.
//!
//! ```no_run
//! use axum::{http::HeaderMap, routing::{get, post}, Json, Router};
//! use serde_json::{json, Map, Value};
//! use tessera_axum::{Error, Session, SessionLayerConfig, Tessera};
//! use tessera_core::{SessionConfig, Sessions};
//!
//! async fn login(
//!     axum::extract::State(t): axum::extract::State<Tessera>,
//!     headers: HeaderMap,
//! ) -> Result<impl axum::response::IntoResponse, Error> {
//!     // Check the user's credentials here.
//!     let tokens = t.create_new_session(&headers, "alice", Map::new(), Value::Null).await?;
//!     Ok((tokens, Json(json!({"status": "OK"}))))
//! }
//!
//! async fn me(session: Session) -> String {
//!     session.user_id().to_owned()
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = tessera_store::SqliteStore::open("tessera.db").await?;
//! let tessera = Tessera::new(Sessions::new(store, SessionConfig::default()), SessionLayerConfig::default());
//! let app = Router::new()
//!     .route("/login", post(login))
//!     .route("/api/me", get(me));
//! // The refresh and sign-out routes, delivery of re-minted tokens, and the state, in one call.
//! let app = tessera.install(app);
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Back ends
//!
//! [`Tessera::new`] takes a [`Backend`]: the engine in this process ([`Sessions`], over the
//! embedded SQLite store above or any other), or, with the `remote` feature, a standalone
//! `tessera` server (crate `tessera-server`) through `RemoteSessions`. The remote back end
//! verifies access tokens here, against the server's cached JWKS, so protected routes make no
//! request to the server unless [`SessionLayerConfig::with_check_database`] is on or the token is a
//! refreshed one seen for the first time (its verification commits the new refresh token on the
//! server); logins, refreshes, signouts and session data go to the server.
//!
//! Revocation: a session revoked through this process is refused by it at once. For sessions
//! revoked by other processes to be refused here within a second, start a follower of the
//! revocation log once at start-up: `sessions.spawn_revocation_follower()` with the embedded
//! engine (several app processes over one PostgreSQL or MySQL database), or
//! `remote.spawn_revocation_follower(Duration::from_millis(250))` with the remote back end.
//! Without one, other processes' revocations take effect when the access tokens expire.
//!
//! ```no_run
//! # #[cfg(feature = "remote")]
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use tessera_axum::{RemoteConfig, RemoteSessions, SessionLayerConfig, Tessera};
//!
//! let remote =
//!     RemoteSessions::connect(RemoteConfig::new("http://127.0.0.1:3567").api_key("secret")).await?;
//! let tessera = Tessera::new(remote, SessionLayerConfig::default());
//! let app: axum::Router = tessera.router().with_state(tessera);
//! # Ok(())
//! # }
//! ```
//!
//! [`Sessions`]: tessera_core::Sessions
#![warn(missing_docs)]

mod cors;
mod error;
mod extractor;
mod headers;
mod reissue;
mod routes;
mod state;

pub use cors::cors_layer;
pub use error::{Error, ErrorKind};
pub use extractor::Session;
pub use headers::SessionHeaders;
pub use reissue::{TokenReissue, TokenReissueLayer};
pub use state::Tessera;
pub use tessera_http::{
    AntiCsrfMode, Backend, DeviceBindingConfig, HtmlRefresh, SameSite, SessionLayerConfig,
    Transport, ACCESS_TOKEN_COOKIE, ACCESS_TOKEN_HEADER, ANTI_CSRF_HEADER, AUTH_MODE_HEADER,
    CHALLENGE_HEADER, ENDED_BY_THEFT, FRONT_TOKEN_HEADER, LEGACY_ID_REFRESH_TOKEN_COOKIE,
    REFRESH_TOKEN_COOKIE, REFRESH_TOKEN_HEADER, REGISTRATION_HEADER, RESPONSE_HEADER, RID_HEADER,
    SDK_REQUEST_HEADERS, SDK_RESPONSE_HEADERS, SESSION_ENDED_COOKIE, SESSION_ID_HEADER,
    SKIPPED_HEADER,
};
#[cfg(feature = "remote")]
pub use tessera_http::{RemoteConfig, RemoteSessions};
