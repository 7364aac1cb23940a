//! The engine's results as CDI replies. The JSON types are tessera-cdi's, which knows nothing of
//! the engine; this is where the two meet on the server's side (tessera-axum's remote back end
//! reads them back in its own `wire`).

use tessera_cdi::{CdiVersion, SessionJson, SessionReply, TokenJson};
use tessera_core::{
    AccessToken, AccessTokenVersion, Issued, RefreshToken, SessionSummary, SessionTokens,
};

/// The access-token layout created and refreshed sessions get: the newest one the SDKs of this
/// protocol version can read (2.21 introduced JWKS-verified tokens, 3.0 tenants, 4.0 recipe
/// users). Before 2.21 it is V2, as every core since 2020 minted it, for 1.0 too: the 1.0 PHP
/// driver checks V1 tokens itself without their expiry, and V2 ones at the server.
pub fn token_version(version: CdiVersion) -> AccessTokenVersion {
    if version.has_recipe_users() {
        AccessTokenVersion::V5
    } else if version.has_tenants() {
        AccessTokenVersion::V4
    } else if !version.has_handshake() {
        AccessTokenVersion::V3
    } else {
        AccessTokenVersion::V2
    }
}

/// A session as the replies name it.
pub fn session_json(summary: SessionSummary) -> SessionJson {
    SessionJson::new(
        summary.handle,
        summary.user_id,
        summary.tenant_id,
        summary.access_token_payload,
    )
}

/// An access token. SuperTokens truncates both times to whole seconds for JWTs (they come from
/// `iat`/`exp`), and the SDKs compare them with the token's claims.
pub fn access_json(issued: Issued<AccessToken>) -> TokenJson {
    TokenJson {
        token: issued.token.into_inner(),
        expiry: issued.expiry.as_millis(),
        created_time: issued.created_at.as_secs().saturating_mul(1000),
        cookie: None,
    }
}

/// A refresh token.
pub fn refresh_json(issued: Issued<RefreshToken>) -> TokenJson {
    TokenJson {
        token: issued.token.into_inner(),
        expiry: issued.expiry.as_millis(),
        created_time: issued.created_at.as_millis(),
        cookie: None,
    }
}

/// `OK` with a session and, when one was minted, a new access token (verify, regenerate).
pub fn session_reply(
    session: SessionJson,
    access_token: Option<Issued<AccessToken>>,
) -> SessionReply {
    SessionReply {
        session: Some(session),
        access_token: access_token.map(access_json),
        ..SessionReply::default()
    }
}

/// `OK` with a session's tokens (create, refresh).
pub fn tokens_reply(tokens: SessionTokens) -> SessionReply {
    SessionReply {
        session: Some(session_json(tokens.session)),
        access_token: Some(access_json(tokens.access_token)),
        refresh_token: Some(refresh_json(tokens.refresh_token)),
        anti_csrf_token: tokens.anti_csrf_token.map(|t| t.into_inner()),
        ..SessionReply::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_protocol_version_gets_the_newest_layout_its_sdks_read() {
        let layout = |text| token_version(CdiVersion::parse(text).unwrap());
        assert_eq!(layout("1.0"), AccessTokenVersion::V2);
        assert_eq!(layout("2.20"), AccessTokenVersion::V2);
        assert_eq!(layout("2.21"), AccessTokenVersion::V3);
        assert_eq!(layout("3.1"), AccessTokenVersion::V4);
        assert_eq!(layout("4.0"), AccessTokenVersion::V5);
        assert_eq!(layout("5.4"), AccessTokenVersion::V5);
    }
}
