//! Requests to the server: URL building, the `api-key`/`cdi-version` headers, and turning
//! transport failures and non-200 answers into [`GeneralError`]s. Tokens travel only in JSON
//! bodies, so no error or log line here can contain one.

use reqwest::header::CACHE_CONTROL;
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use std::time::Duration;
use tessera_core::{GeneralError, JwksVerifier, SessionError};

use super::RemoteConfig;
use tessera_cdi::SessionReply as Reply;

/// The CDI version this client speaks, the one `tessera-server` implements.
const CDI_VERSION: &str = "5.4";
/// Server messages are quoted in errors, cut to this length.
const MAX_MESSAGE_CHARS: usize = 200;

pub(super) struct Http {
    client: reqwest::Client,
    base: Url,
    api_key: Option<String>,
}

impl Http {
    pub(super) fn new(config: &RemoteConfig) -> Result<Self, SessionError> {
        let invalid = |why: &str| GeneralError::InvalidArgument(format!("remote url: {why}"));
        let base = Url::parse(&config.url).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(invalid("must be an http:// or https:// URL").into());
        }
        // No redirects: reqwest would carry the api-key header, and on 307/308 the body with
        // its tokens, to wherever the redirect points.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .build()
            .map_err(|e| GeneralError::Remote(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            client,
            base,
            api_key: config.api_key.clone(),
        })
    }

    /// The server's URL without credentials, for Debug output and logs.
    pub(super) fn display_base(&self) -> String {
        redacted(&self.base)
    }

    /// `base` with `segments` appended, each escaped.
    fn url(&self, segments: &[&str]) -> Result<Url, SessionError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| GeneralError::InvalidArgument("remote url cannot be a base".to_owned()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// Sends a core API request and reads its JSON reply (`status` not yet checked).
    pub(super) async fn call(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, &str)],
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<Reply, SessionError> {
        let mut request = self
            .client
            .request(method, self.url(segments)?)
            .header("cdi-version", CDI_VERSION);
        if !query.is_empty() {
            request = request.query(query);
        }
        if let Some(key) = &self.api_key {
            request = request.header("api-key", key);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let route = segments.join("/");
        let response = request.send().await.map_err(|e| unreachable(&route, e))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| unreachable(&route, e))?;
        if status != StatusCode::OK {
            return Err(refused(&route, status, &bytes));
        }
        serde_json::from_slice(&bytes).map_err(|_| {
            GeneralError::Remote(format!("{route}: reply is not the expected JSON")).into()
        })
    }

    /// Reads `/.well-known/jwks.json`, with how long the server says it may be cached.
    pub(super) async fn jwks(&self) -> Result<(JwksVerifier, Option<Duration>), SessionError> {
        let route = ".well-known/jwks.json";
        let response = self
            .client
            .get(self.url(&[".well-known", "jwks.json"])?)
            .send()
            .await
            .map_err(|e| unreachable(route, e))?;
        let status = response.status();
        let max_age = response
            .headers()
            .get(CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age);
        let bytes = response.bytes().await.map_err(|e| unreachable(route, e))?;
        if status != StatusCode::OK {
            return Err(refused(route, status, &bytes));
        }
        Ok((JwksVerifier::from_json(&bytes)?, max_age))
    }
}

/// `max-age=N` of a Cache-Control value.
fn max_age(cache_control: &str) -> Option<Duration> {
    cache_control.split(',').find_map(|directive| {
        let (name, value) = directive.trim().split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("max-age")
            .then(|| value.trim().trim_matches('"').parse().ok())
            .flatten()
            .map(Duration::from_secs)
    })
}

/// A URL without its user name and password.
pub(super) fn redacted(url: &Url) -> String {
    let mut shown = url.clone();
    // Both fail only for URLs that cannot carry credentials, which then have none to hide.
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.to_string()
}

fn unreachable(route: &str, error: reqwest::Error) -> SessionError {
    // Without the URL: the query of some routes names a user.
    GeneralError::Remote(format!("{route}: {}", error.without_url())).into()
}

/// A non-200 answer. The server's 4xx/5xx bodies are `{"message": …}` and never echo a token.
fn refused(route: &str, status: StatusCode, body: &[u8]) -> SessionError {
    let body = serde_json::from_slice::<serde_json::Value>(body).ok();
    if let Some(too_large) = body.as_ref().and_then(|b| b.get("tokenTooLarge")) {
        let number = |name: &str| {
            too_large
                .get(name)
                .and_then(serde_json::Value::as_u64)
                .and_then(|n| usize::try_from(n).ok())
        };
        if let (StatusCode::BAD_REQUEST, Some(length), Some(limit)) =
            (status, number("length"), number("limit"))
        {
            return GeneralError::TokenTooLarge { length, limit }.into();
        }
    }
    let message = body
        .and_then(|v| v.get("message")?.as_str().map(str::to_owned))
        .unwrap_or_default()
        .chars()
        .take(MAX_MESSAGE_CHARS)
        .collect::<String>();
    match status {
        StatusCode::BAD_REQUEST => GeneralError::InvalidArgument(format!("{route}: {message}")),
        StatusCode::UNAUTHORIZED => {
            GeneralError::Remote(format!("{route}: the server refused the API key"))
        }
        _ => GeneralError::Remote(format!("{route}: HTTP {status}: {message}")),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_max_age() {
        assert_eq!(max_age("max-age=60"), Some(Duration::from_secs(60)));
        assert_eq!(
            max_age("public, Max-Age = 5 , must-revalidate"),
            Some(Duration::from_secs(5))
        );
        assert_eq!(max_age("no-store"), None);
        assert_eq!(max_age("max-age=soon"), None);
    }

    #[test]
    fn credentials_never_show() {
        let url = Url::parse("http://user:secret@sessions.internal:3567/base").unwrap();
        assert_eq!(redacted(&url), "http://sessions.internal:3567/base");
    }
}
