//! The conformance suite: every behaviour of the engine's API, written once as the bodies of one
//! macro per store contract (a file each beside this one), which [`conformance_tests!`] gathers
//! and `tests/conformance.rs` expands once per store. Each test is named in one place, its
//! function; the helpers they share are here.

pub mod revocation_log;
pub mod session_records;
pub mod signing_key_store;
pub mod tenant_registry;

use std::time::Duration;

use serde_json::{Map, Value};
use tessera_core::{SessionConfig, SessionError};

pub const GRACE: Duration = Duration::from_secs(30);

pub fn config() -> SessionConfig {
    SessionConfig::default()
}

pub fn object(value: Value) -> Map<String, Value> {
    value.as_object().cloned().expect("a JSON object")
}

pub fn is_theft(
    result: &Result<impl std::fmt::Debug, SessionError>,
    user: &str,
    handle: &str,
) -> bool {
    matches!(result, Err(SessionError::TokenTheftDetected { user_id, session_handle })
        if user_id == user && session_handle == handle)
}

pub fn is_unauthorised<T>(result: &Result<T, SessionError>) -> bool {
    matches!(
        result,
        Err(SessionError::Unauthorised {
            clear_tokens: true,
            ..
        })
    )
}

pub fn is_try_refresh<T>(result: &Result<T, SessionError>) -> bool {
    matches!(result, Err(SessionError::TryRefreshToken { .. }))
}

pub fn is_too_large<T>(result: &Result<T, SessionError>) -> bool {
    matches!(
        result,
        Err(SessionError::General(tessera_core::GeneralError::TokenTooLarge { limit, .. }))
            if *limit == tessera_core::MAX_ACCESS_TOKEN_LEN
    )
}

pub fn device_refused<T: std::fmt::Debug>(
    result: &Result<T, tessera_core::DeviceError>,
) -> Option<&'static str> {
    match result {
        Err(tessera_core::DeviceError::Challenge(_)) => Some("challenge"),
        Err(tessera_core::DeviceError::Proof(_)) => Some("proof"),
        Err(tessera_core::DeviceError::Session(SessionError::Unauthorised { .. })) => {
            Some("unauthorised")
        }
        Err(tessera_core::DeviceError::Session(SessionError::TokenTheftDetected { .. })) => {
            Some("theft")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// What the store keys a refresh token by: `H(H(token))`.
pub fn hash2(token: &tessera_core::RefreshToken) -> String {
    tessera_core::hash2_from_hash1(&tessera_core::refresh_token_hash1(token))
}

pub fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

/// What every section's tests have in scope.
#[allow(unused_macros)]
macro_rules! suite_prelude {
    () => {
        #[allow(unused_imports)]
        use crate::common::suite::*;
        #[allow(unused_imports)]
        use crate::common::Harness;
        #[allow(unused_imports)]
        use serde_json::{json, Map, Value};
        #[allow(unused_imports)]
        use std::sync::Arc;
        #[allow(unused_imports)]
        use std::time::Duration;
        #[allow(unused_imports)]
        use tessera_core::{
            AntiCsrfToken, KeyKind, NewSession, RefreshToken, SessionConfig, SessionError,
            SessionStore, SigningAlgorithm, VerifyOptions,
        };
    };
}
#[allow(unused_imports)]
pub(crate) use suite_prelude;

/// Every conformance test, for the store `$open` opens (an expression giving
/// `Option<(Arc<dyn SessionStore>, guard)>`; `None` skips, for a database that is not set up):
/// one module per store contract.
#[allow(unused_macros)] // test files that share `common` without running the suite
macro_rules! conformance_tests {
    ($open:expr) => {
        mod session_records {
            #[allow(unused_imports)]
            use super::*;
            crate::common::suite::session_records::session_records_tests!($open);
        }
        mod revocation_log {
            #[allow(unused_imports)]
            use super::*;
            crate::common::suite::revocation_log::revocation_log_tests!($open);
        }
        mod signing_key_store {
            #[allow(unused_imports)]
            use super::*;
            crate::common::suite::signing_key_store::signing_key_store_tests!($open);
        }
        mod tenant_registry {
            #[allow(unused_imports)]
            use super::*;
            crate::common::suite::tenant_registry::tenant_registry_tests!($open);
        }
    };
}
#[allow(unused_imports)]
pub(crate) use conformance_tests;
