//! Delivering an access token minted during verification: the first verification of a refreshed
//! access token hands back one without `parentRefreshTokenHash1` (later verifications then stay
//! off the store), and with `check_database` a session whose claims changed on the server (a role
//! granted from an admin tool, say) gets a new access token on its next request. An extractor
//! cannot touch the response, so it leaves the token's headers in a [`ReissueSlot`] that the
//! adapter's middleware put in the request, and the middleware adds them to the response.

use std::sync::{Arc, Mutex};

use crate::transport::SessionHeaders;

/// Where the extractor leaves headers for the response. A framework adapter's middleware puts a
/// fresh one in each request's extensions and, once the handler answered, adds what it holds to
/// the response unless the response hands out or clears tokens itself (it has a `front-token`).
#[derive(Clone, Default)]
pub struct ReissueSlot(Arc<Mutex<Option<SessionHeaders>>>);

impl ReissueSlot {
    /// Adds headers for the response (a re-minted token, a legacy cookie's removal).
    pub(crate) fn put(&self, headers: SessionHeaders) {
        if let Ok(mut slot) = self.0.lock() {
            match slot.as_mut() {
                Some(held) => held.extend(headers),
                None => *slot = Some(headers),
            }
        }
    }

    /// What the extractor left, if anything.
    pub fn take(&self) -> Option<SessionHeaders> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}

impl std::fmt::Debug for ReissueSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReissueSlot")
    }
}

/// How one reissued header joins a response's headers: `Set-Cookie` lines are added to the app's
/// own, `Access-Control-Expose-Headers` is merged with the app's list (a cross-origin page must
/// still read ours), and any other header replaces the response's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Merge {
    /// Add a line.
    Append,
    /// Join with the existing value, comma-separated.
    JoinList,
    /// Replace the existing value.
    Replace,
}

impl Merge {
    /// How a header of this name joins the response.
    pub fn for_header(name: &str) -> Self {
        if name.eq_ignore_ascii_case("set-cookie") {
            Self::Append
        } else if name.eq_ignore_ascii_case("access-control-expose-headers") {
            Self::JoinList
        } else {
            Self::Replace
        }
    }
}

/// Adds reissued headers to an `http` response's headers, unless the response already hands out
/// or clears tokens (sign-out, a payload update): then it wins and is left as it is.
pub fn merge_reissued(headers: &mut http::HeaderMap, reissued: &SessionHeaders) {
    if headers.contains_key(crate::transport::FRONT_TOKEN_HEADER) {
        return;
    }
    for (name, value) in reissued.headers() {
        match Merge::for_header(name.as_str()) {
            Merge::Append => {
                headers.append(name.clone(), value.clone());
            }
            Merge::JoinList => {
                let joined = match headers.get(name) {
                    Some(existing) => {
                        let mut joined = existing.as_bytes().to_vec();
                        joined.extend_from_slice(b", ");
                        joined.extend_from_slice(value.as_bytes());
                        http::HeaderValue::from_bytes(&joined).ok()
                    }
                    None => Some(value.clone()),
                };
                if let Some(joined) = joined {
                    headers.insert(name.clone(), joined);
                }
            }
            Merge::Replace => {
                headers.insert(name.clone(), value.clone());
            }
        }
    }
}
