//! A fault of this layer that no client input causes (a minted token that is not a valid header
//! value, a date out of range): what the response builders report; [`crate::error`] answers it
//! as a server error.

/// What went wrong, for logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Fault(pub(crate) &'static str);
