//! The page answered to a browser navigating to a protected page with an expired access token
//! (`docs/protocol.md`). The refresh cookie is only sent to the refresh route, so the navigation itself
//! cannot refresh: the page loads the frontend SDK, refreshes, and reloads the URL.

use serde_json::json;

use crate::request::{RequestHeader, RequestHeaders};

/// Turns "try refresh token" for page navigations into a small HTML page whose script refreshes
/// the session with the frontend SDK and reloads, or goes to the login page if that fails.
/// Enable it with [`SessionLayerConfig::with_html_refresh`](crate::SessionLayerConfig::with_html_refresh).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HtmlRefresh {
    sdk_script_url: String,
    login_url: String,
}

impl HtmlRefresh {
    /// `sdk_script_url` serves supertokens-web-js's `supertokensWebsite` bundle (from your own
    /// origin or a CDN); `login_url` is where the page sends the user when refreshing fails.
    pub fn new(sdk_script_url: impl Into<String>, login_url: impl Into<String>) -> Self {
        Self {
            sdk_script_url: sdk_script_url.into(),
            login_url: login_url.into(),
        }
    }

    /// The page, for a layer whose routes live under `base_path` and that tells the frontend to
    /// refresh with `expired_status`.
    pub(crate) fn render(&self, base_path: &str, expired_status: u16) -> String {
        // JSON-encoded values are valid JavaScript literals; escaping `<` keeps a value from
        // closing the script element.
        let settings = json!({
            "apiBasePath": if base_path.is_empty() { "/" } else { base_path },
            "sessionExpiredStatusCode": expired_status,
            "loginUrl": self.login_url,
        })
        .to_string()
        .replace('<', "\\u003c");
        let script_url = html_attribute(&self.sdk_script_url);
        let login_href = html_attribute(&self.login_url);
        format!(
            r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Refreshing your session…</title></head>
<body>
<p>Refreshing your session… <a href="{login_href}">Sign in again</a> if nothing happens.</p>
<script src="{script_url}"></script>
<script>
(function () {{
  var settings = {settings};
  var marker = "tessera-html-refresh:" + location.pathname + location.search;
  function toLogin() {{ location.assign(settings.loginUrl); }}
  // A refresh that succeeds but still leaves this page unauthorised (a cookie the browser
  // refuses, say) must not reload forever: a second attempt within five seconds gives up.
  var last = Number(sessionStorage.getItem(marker) || 0);
  if (Date.now() - last < 5000) {{ sessionStorage.removeItem(marker); toLogin(); return; }}
  sessionStorage.setItem(marker, String(Date.now()));
  try {{
    supertokensWebsite.init({{
      apiDomain: location.origin,
      apiBasePath: settings.apiBasePath,
      sessionExpiredStatusCode: settings.sessionExpiredStatusCode,
      tokenTransferMethod: "cookie"
    }});
  }} catch (e) {{ toLogin(); return; }}
  supertokensWebsite.attemptRefreshingSession().then(function (refreshed) {{
    if (refreshed) {{ location.reload(); }} else {{ sessionStorage.removeItem(marker); toLogin(); }}
  }}, function () {{ sessionStorage.removeItem(marker); toLogin(); }});
}})();
</script>
</body></html>
"#
        )
    }
}

/// Whether a request is a browser loading a page (not the SDK's or an app's `fetch`): a GET that
/// browsers mark as a navigation, or, from browsers without Fetch Metadata, one accepting HTML.
pub(crate) fn is_page_navigation(is_get: bool, headers: &impl RequestHeaders) -> bool {
    if !is_get {
        return false;
    }
    match headers.header(RequestHeader::SecFetchMode) {
        Some(mode) => mode == b"navigate",
        None => headers
            .header_str(RequestHeader::Accept)
            .is_some_and(|accept| accept.contains("text/html")),
    }
}

fn html_attribute(value: &str) -> String {
    value
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderName, HeaderValue, Method};

    fn is_navigation(method: Method, headers: &[(&'static str, &str)]) -> bool {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                HeaderName::from_static(name),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        is_page_navigation(method == Method::GET, &map)
    }

    #[test]
    fn navigations_are_told_apart_from_fetches() {
        assert!(is_navigation(
            Method::GET,
            &[("sec-fetch-mode", "navigate"), ("accept", "text/html")]
        ));
        assert!(is_navigation(
            Method::GET,
            &[("accept", "text/html,application/xhtml+xml")]
        ));
        // The SDK's fetch from a page: Fetch Metadata says cors/same-origin, even if it accepts HTML.
        assert!(!is_navigation(
            Method::GET,
            &[("sec-fetch-mode", "cors"), ("accept", "text/html")]
        ));
        assert!(!is_navigation(Method::GET, &[("accept", "*/*")]));
        assert!(!is_navigation(
            Method::POST,
            &[("sec-fetch-mode", "navigate"), ("accept", "text/html")]
        ));
    }

    #[test]
    fn values_cannot_break_out_of_the_page() {
        let page = HtmlRefresh::new("/sdk.js\"><script>alert(1)</script>", "/</script><b>")
            .render("/auth", 401);
        assert!(!page.contains("<script>alert(1)"));
        assert!(!page.contains("/</script><b>"));
        assert_eq!(page.matches("</script>").count(), 2);
        assert!(page.contains(r#""apiBasePath":"/auth""#));
        assert!(page.contains(r#""sessionExpiredStatusCode":401"#));
    }
}
