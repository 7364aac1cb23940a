//! A store that says what it is asked before doing it: the server counts store calls by operation
//! in its metrics through it, and tests show through it which paths stay off the database.
//!
//! Its pass-through for each contract method is written by the contract's own declaration (see
//! `contract.rs` beside it), so it never falls out of step with the contracts.

use std::sync::Arc;

use super::SessionStore;

/// Wraps a store and calls `observe` with each call's operation name (the contract method's name)
/// before passing the call on.
pub struct ObservedStore {
    inner: Arc<dyn SessionStore>,
    observe: Box<dyn Fn(&'static str) + Send + Sync>,
}

impl ObservedStore {
    /// Observes the calls made to `inner`.
    pub fn new(
        inner: Arc<dyn SessionStore>,
        observe: impl Fn(&'static str) + Send + Sync + 'static,
    ) -> Self {
        Self {
            inner,
            observe: Box::new(observe),
        }
    }

    pub(crate) fn observe(&self, operation: &'static str) {
        (self.observe)(operation);
    }

    pub(crate) fn inner(&self) -> &dyn SessionStore {
        self.inner.as_ref()
    }
}
