//! [`Tessera`]: the session back end and the HTTP settings, shared by the extractor, the routes
//! and login handlers.

use serde_json::Value;
use std::sync::Arc;
use tessera_core::Sessions;

use crate::backend::Backend;

use crate::config::SessionLayerConfig;
use crate::error::{Error, ErrorKind};

/// The session back end plus the HTTP settings. Cheap to clone (one `Arc`); use it as the router
/// state, or as part of yours with `FromRef`.
#[derive(Clone)]
pub struct Tessera {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Backend,
    config: SessionLayerConfig,
}

impl std::fmt::Debug for Tessera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tessera")
            .field("backend", &self.inner.backend)
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Tessera {
    /// Wraps a back end with HTTP settings: the in-process engine ([`Sessions`]) or, with the
    /// `remote` feature, a `tessera` server ([`RemoteSessions`](crate::RemoteSessions)).
    pub fn new(backend: impl Into<Backend>, config: SessionLayerConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                backend: backend.into(),
                config,
            }),
        }
    }

    /// The back end, for calls this layer does not wrap (listing or revoking a user's sessions).
    pub fn backend(&self) -> &Backend {
        &self.inner.backend
    }

    /// The in-process engine, when that is the back end.
    pub fn sessions(&self) -> Option<&Sessions> {
        self.inner.backend.sessions()
    }

    /// The HTTP settings.
    pub fn config(&self) -> &SessionLayerConfig {
        &self.inner.config
    }

    /// A 403 "invalid claim" rejection carrying the failed claims, for routes that check claims
    /// of a valid session themselves.
    pub fn invalid_claim(&self, claim_validation_errors: Vec<Value>) -> Error {
        Error::new(
            ErrorKind::InvalidClaim(claim_validation_errors),
            self.config(),
        )
    }
}
