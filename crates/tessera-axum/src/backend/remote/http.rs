//! Requests to the server: URL building, the `api-key`/`cdi-version` headers, and turning
//! transport failures and non-200 answers into [`GeneralError`]s. Tokens travel only in JSON
//! bodies, so no error or log line here can contain one.

use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use tessera_core::{GeneralError, JwksVerifier, SessionError};

use super::wire::Reply;
use super::RemoteConfig;

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
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .build()
            .map_err(|e| GeneralError::Remote(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            client,
            base,
            api_key: config.api_key.clone(),
        })
    }

    pub(super) fn base(&self) -> &Url {
        &self.base
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

    /// Reads `/.well-known/jwks.json`.
    pub(super) async fn jwks(&self) -> Result<JwksVerifier, SessionError> {
        let route = ".well-known/jwks.json";
        let response = self
            .client
            .get(self.url(&[".well-known", "jwks.json"])?)
            .send()
            .await
            .map_err(|e| unreachable(route, e))?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| unreachable(route, e))?;
        if status != StatusCode::OK {
            return Err(refused(route, status, &bytes));
        }
        Ok(JwksVerifier::from_json(&bytes)?)
    }
}

fn unreachable(route: &str, error: reqwest::Error) -> SessionError {
    // Without the URL: the query of some routes names a user.
    GeneralError::Remote(format!("{route}: {}", error.without_url())).into()
}

/// A non-200 answer. The server's 4xx/5xx bodies are `{"message": …}` and never echo a token.
fn refused(route: &str, status: StatusCode, body: &[u8]) -> SessionError {
    let message = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
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
