//! Tessera sessions over HTTP for any Rust web framework: everything between a request and the
//! session engine that is not one framework's business. The axum (`tessera-axum`) and actix-web
//! (`tessera-actix`) adapters are thin layers over it; an adapter for another framework needs
//! only what they have:
//!
//! - an implementation of [`RequestHeaders`] for the framework's header map;
//! - a `Session` extractor that calls [`Tessera::verify_request`] (and
//!   [`Tessera::no_access_token`] when a protected route gets no token);
//! - a middleware that puts a [`ReissueSlot`] in each request and adds what it holds to the
//!   response ([`merge_reissued`] does it for `http` responses), so tokens re-minted during
//!   verification reach the client;
//! - routes for [`Tessera::refresh`], [`Tessera::sign_out`] and, with device binding,
//!   [`Tessera::register_device`] and [`Tessera::refresh_device`] at the configured paths;
//! - the framework's response for a [`Reply`], an [`Error`] (through [`Error::reply`]) and
//!   [`SessionHeaders`].
//!
//! What is here: reading tokens from cookies and headers, anti-CSRF, the answers the SuperTokens
//! frontend SDK acts on (try-refresh, unauthorised, theft, sign-out, `front-token`, the HTML
//! refresh page, the 440 mode), the reissue of first-use tokens, device binding, the
//! configuration, and both back ends: the engine in this process ([`Sessions`]) or, with the
//! `remote` feature, a standalone `tessera` server.
//!
//! [`Sessions`]: tessera_core::Sessions
#![warn(missing_docs)]

mod backend;
mod config;
mod device;
mod error;
mod fault;
mod front_token;
mod html_refresh;
mod reissue;
mod reply;
mod request;
mod routes;
mod sign_in;
mod signed_out;
mod state;
mod transport;
mod verify;

/// The `http` crate whose types this layer reads and writes (version 1).
pub use http;

pub use backend::Backend;
#[cfg(feature = "remote")]
pub use backend::{RemoteConfig, RemoteSessions};
pub use config::{AntiCsrfMode, DeviceBindingConfig, SameSite, SessionLayerConfig};
pub use device::{CHALLENGE_HEADER, REGISTRATION_HEADER};
pub use error::{Error, ErrorKind};
pub use html_refresh::HtmlRefresh;
pub use reissue::{merge_reissued, Merge, ReissueSlot};
pub use reply::Reply;
pub use request::{
    RequestHeader, RequestHeaders, ANTI_CSRF_HEADER, AUTH_MODE_HEADER, RESPONSE_HEADER, RID_HEADER,
    SESSION_ID_HEADER, SKIPPED_HEADER,
};
pub use signed_out::{ENDED_BY_THEFT, SESSION_ENDED_COOKIE};
pub use state::Tessera;
pub use transport::{
    SessionHeaders, Transport, ACCESS_TOKEN_COOKIE, ACCESS_TOKEN_HEADER, FRONT_TOKEN_HEADER,
    LEGACY_ID_REFRESH_TOKEN_COOKIE, REFRESH_TOKEN_COOKIE, REFRESH_TOKEN_HEADER,
};
pub use verify::{RequestView, Session};

/// Request headers the frontend SDK sends (plus `content-type` for JSON bodies): what a CORS
/// policy must allow for a website on another origin.
pub const SDK_REQUEST_HEADERS: [&str; 6] = [
    "content-type",
    "rid",
    "fdi-version",
    "anti-csrf",
    "authorization",
    "st-auth-mode",
];

/// Response headers the SDK must be able to read: what a CORS policy must expose.
pub const SDK_RESPONSE_HEADERS: [&str; 4] = [
    "front-token",
    "anti-csrf",
    "st-access-token",
    "st-refresh-token",
];
