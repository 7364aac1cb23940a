//! The `front-token` response header: how the frontend SDK learns the user id, the access-token
//! expiry and payload without being able to read the HttpOnly access-token cookie.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde_json::{json, Map, Value};
use tessera_core::{AccessToken, Timestamp};

use crate::fault::Fault;

/// The full claim set of a token this server just minted. The SDK reads `up.iat` for clock-skew
/// correction and apps read their own claims from `up`, so `up` is the whole JWT body, as node
/// sends it. The token was signed a moment ago by this process, so no verification is needed.
pub(crate) fn jwt_payload(token: &AccessToken) -> Result<Map<String, Value>, Fault> {
    let body = token
        .expose()
        .split('.')
        .nth(1)
        .ok_or(Fault("minted access token is not a JWT"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(body.trim_end_matches('='))
        .map_err(|_| Fault("minted access token body is not base64url"))?;
    serde_json::from_slice(&bytes)
        .map_err(|_| Fault("minted access token body is not a JSON object"))
}

/// STANDARD base64 (the SDK decodes with `atob`, which rejects base64url) of
/// `{"uid", "ate" (expiry, epoch ms), "up" (the token's claims)}`.
pub(crate) fn build(
    user_id: &str,
    access_token: &AccessToken,
    expiry: Timestamp,
) -> Result<String, Fault> {
    let up = jwt_payload(access_token)?;
    let json = json!({ "uid": user_id, "ate": expiry.as_millis(), "up": up });
    Ok(STANDARD.encode(json.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_the_token_body_as_up() {
        let body = URL_SAFE_NO_PAD.encode(r#"{"sub":"u","iat":5,"exp":9,"x":"é?>"}"#);
        let token = AccessToken::new(format!("h.{body}.s"));
        let encoded = build("u", &token, Timestamp::from_millis(9000)).unwrap_or_default();
        let decoded: Value = serde_json::from_slice(&STANDARD.decode(encoded).unwrap_or_default())
            .unwrap_or_default();
        assert_eq!(decoded["uid"], "u");
        assert_eq!(decoded["ate"], 9000);
        assert_eq!(decoded["up"]["iat"], 5);
        assert_eq!(decoded["up"]["x"], "é?>");
    }

    #[test]
    fn rejects_a_non_jwt() {
        assert!(build("u", &AccessToken::new("nope"), Timestamp::from_millis(1)).is_err());
    }
}
