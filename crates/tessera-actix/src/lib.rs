//! Tessera sessions for actix-web 4: rotating refresh tokens with theft detection, anti-CSRF and
//! device binding, speaking what the SuperTokens frontend SDK expects of a backend. A thin
//! adapter over the framework-neutral `tessera-http`, as `tessera-axum` is for axum; both behave
//! the same on the wire.
//!
//! - [`Session`] is an extractor: a handler taking it is protected; [`MaybeSession`] admits
//!   visitors too. Rejections are the exact responses the SDK reacts to.
//! - [`Tessera::create_new_session`] starts a session in your login handler.
//! - [`Tessera::configure`] installs the state and the refresh and sign-out routes.
//! - [`TokenReissue`] hands the client the access token re-minted during verification (the first
//!   use of a refreshed token, or claims changed on the server).
//!
//! ```no_run
//! use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
//! use serde_json::{json, Map, Value};
//! use tessera_actix::{Error, Session, SessionLayerConfig, Tessera, TokenReissue};
//! use tessera_core::{SessionConfig, Sessions};
//!
//! async fn login(t: web::Data<Tessera>, req: HttpRequest) -> Result<HttpResponse, Error> {
//!     // Check the user's credentials here.
//!     let tokens = t.create_new_session(&req, "alice", Map::new(), Value::Null).await?;
//!     Ok(tokens.respond(HttpResponse::Ok()).json(json!({"status": "OK"})))
//! }
//!
//! async fn me(session: Session) -> String {
//!     session.user_id().to_owned()
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = tessera_store::SqliteStore::open("tessera.db").await?;
//! let tessera = Tessera::new(Sessions::new(store, SessionConfig::default()), SessionLayerConfig::default());
//! HttpServer::new(move || {
//!     App::new()
//!         .wrap(TokenReissue)
//!         .configure(tessera.configure())
//!         .route("/login", web::post().to(login))
//!         .route("/api/me", web::get().to(me))
//! })
//! .bind("127.0.0.1:3000")?
//! .run()
//! .await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Back ends
//!
//! As with axum: the engine in this process ([`Sessions`](tessera_core::Sessions)), or with the
//! `remote` feature a standalone `tessera` server through `RemoteSessions`, which verifies access
//! tokens here against the server's cached JWKS.
#![warn(missing_docs)]

mod error;
mod extractor;
mod headers;
mod reissue;
mod request;
mod response;
mod state;

pub use error::{Error, ErrorKind};
pub use extractor::{MaybeSession, Session};
pub use headers::SessionHeaders;
pub use reissue::{TokenReissue, TokenReissueService};
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
