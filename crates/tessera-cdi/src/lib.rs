//! The protocol versions and the JSON bodies of SuperTokens' Core Driver Interface session endpoints, as Tessera
//! speaks them (`docs/protocol.md` in the repository): the `tessera` server reads the requests
//! and writes the replies, tessera-axum's remote back end writes the requests and reads the
//! replies, and both use these types, so each field name is written once.
//!
//! Request bodies hold tokens, so they do not derive `Debug`.
//!
//! ```
//! use tessera_cdi::{SessionReply, Status};
//!
//! let reply = SessionReply::refused("anti-csrf token missing or wrong", false);
//! let json = serde_json::to_value(&reply)?;
//! assert_eq!(json, serde_json::json!({
//!     "status": "UNAUTHORISED",
//!     "message": "anti-csrf token missing or wrong",
//!     "keepTokens": true,
//! }));
//! let read: SessionReply = serde_json::from_value(json)?;
//! assert_eq!(read.status, Status::Unauthorised);
//! assert!(read.keep_tokens);
//! # Ok::<(), serde_json::Error>(())
//! ```
#![warn(missing_docs)]

mod replies;
mod requests;
mod version;

pub use replies::{
    CookieJson, DeviceJson, DeviceRefusal, PublicKeyJson, RevocationJson, SessionJson,
    SessionReply, Status, TokenJson,
};
pub use requests::{
    CreateSessionRequest, DeviceRequest, EndedRequest, RefreshRequest, RegenerateRequest,
    VerifyRequest,
};
pub use version::CdiVersion;
