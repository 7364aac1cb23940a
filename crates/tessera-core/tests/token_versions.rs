//! Access-token layouts for older clients: each is minted as asked, carries exactly its layout's
//! claims, verifies, and a session moves between layouts as its clients upgrade.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Map, Value};
use tessera_core::testing::MemoryStore;
use tessera_core::{
    AccessToken, AccessTokenVersion, NewSession, RefreshOptions, SessionConfig, SessionError,
    Sessions, VerifyOptions,
};

fn part(token: &AccessToken, index: usize) -> Value {
    let segment = token.expose().split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn each_layout_carries_its_claims_and_verifies() {
    runtime().block_on(async {
        let sessions = Sessions::new(MemoryStore::default(), SessionConfig::default());
        for (version, header, has_tenant, has_rsub) in [
            (AccessTokenVersion::V3, "3", false, false),
            (AccessTokenVersion::V4, "4", true, false),
            (AccessTokenVersion::V5, "5", true, true),
        ] {
            let mut payload = Map::new();
            payload.insert("role".to_owned(), json!("admin"));
            let created = sessions
                .create_new_session(
                    NewSession::new("ann")
                        .access_token_payload(payload)
                        .token_version(version),
                )
                .await
                .unwrap();
            let token = &created.access_token.token;
            assert_eq!(part(token, 0)["version"], json!(header));
            let claims = part(token, 1);
            assert_eq!(claims.get("tId").is_some(), has_tenant, "{claims}");
            assert_eq!(claims.get("rsub").is_some(), has_rsub, "{claims}");
            assert_eq!(claims["sub"], json!("ann"));
            assert_eq!(claims["role"], json!("admin"));
            assert!(claims.get("parentRefreshTokenHash1").is_some());

            let verified = sessions
                .get_session(token, None, VerifyOptions::default())
                .await
                .unwrap();
            assert_eq!(verified.user_id, "ann");
            assert_eq!(verified.tenant_id, "public");
            assert_eq!(verified.access_token_payload["role"], json!("admin"));
        }
    });
}

#[test]
fn a_session_keeps_working_as_its_clients_change_layouts() {
    runtime().block_on(async {
        let sessions = Sessions::new(MemoryStore::default(), SessionConfig::default());
        let created = sessions
            .create_new_session(NewSession::new("bob").token_version(AccessTokenVersion::V3))
            .await
            .unwrap();
        // An upgraded SDK refreshes the old session and gets the newest layout...
        let refreshed = sessions
            .refresh_session_with(
                &created.refresh_token.token,
                None,
                RefreshOptions::default(),
            )
            .await
            .unwrap();
        assert_eq!(
            part(&refreshed.access_token.token, 0)["version"],
            json!("5")
        );
        // ...and its first verification hands back a token of the same layout, as SuperTokens
        // core re-mints.
        let old_refresh = RefreshOptions {
            token_version: AccessTokenVersion::V4,
            ..RefreshOptions::default()
        };
        let refreshed = sessions
            .refresh_session_with(&refreshed.refresh_token.token, None, old_refresh)
            .await
            .unwrap();
        let first_use = sessions
            .get_session(
                &refreshed.access_token.token,
                None,
                VerifyOptions::default(),
            )
            .await
            .unwrap();
        let reissued = first_use.new_access_token.unwrap().token;
        assert_eq!(part(&reissued, 0)["version"], json!("4"));
        assert!(part(&reissued, 1)["parentRefreshTokenHash1"].is_null());
        sessions
            .get_session(&reissued, None, VerifyOptions::default())
            .await
            .unwrap();

        // Theft detection holds across layouts: the V3 refresh token replayed after its child
        // was used is theft.
        let config = SessionConfig {
            refresh_token_rotation_grace_period: std::time::Duration::ZERO,
            ..SessionConfig::default()
        };
        let strict = Sessions::new(MemoryStore::default(), config);
        let created = strict
            .create_new_session(NewSession::new("cy").token_version(AccessTokenVersion::V3))
            .await
            .unwrap();
        let old = RefreshOptions {
            token_version: AccessTokenVersion::V3,
            ..RefreshOptions::default()
        };
        let child = strict
            .refresh_session_with(&created.refresh_token.token, None, old)
            .await
            .unwrap();
        strict
            .refresh_session_with(&child.refresh_token.token, None, old)
            .await
            .unwrap();
        let replay = strict
            .refresh_session_with(&created.refresh_token.token, None, old)
            .await;
        assert!(
            matches!(replay, Err(SessionError::TokenTheftDetected { .. })),
            "{replay:?}"
        );
    });
}

/// The legacy layouts: a fixed header, standard base64, milliseconds and `userData`, signed so
/// the key from `legacy_public_keys` (what `/handshake` hands out) verifies it, as the old SDKs
/// check it with their own RSA code.
#[test]
fn legacy_layouts_are_signed_as_old_sdks_check_them() {
    use base64::engine::general_purpose::STANDARD;
    runtime().block_on(async {
        let sessions = Sessions::new(MemoryStore::default(), SessionConfig::default());
        let keys = sessions.legacy_public_keys().await.unwrap();
        assert!(!keys.is_empty());
        for (version, header) in [
            (
                AccessTokenVersion::V1,
                "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsInZlcnNpb24iOiIxIn0=",
            ),
            (
                AccessTokenVersion::V2,
                "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsInZlcnNpb24iOiIyIn0=",
            ),
        ] {
            let mut payload = Map::new();
            payload.insert("role".to_owned(), json!("admin"));
            let created = sessions
                .create_new_session(
                    NewSession::new("dee")
                        .access_token_payload(payload)
                        .anti_csrf(true)
                        .token_version(version),
                )
                .await
                .unwrap();
            let token = created.access_token.token.expose().to_owned();
            let parts: Vec<&str> = token.split('.').collect();
            assert_eq!(parts[0], header);
            let claims: Value =
                serde_json::from_slice(&STANDARD.decode(parts[1]).unwrap()).unwrap();
            assert_eq!(claims["userId"], json!("dee"));
            assert_eq!(claims["userData"], json!({"role": "admin"}));
            assert_eq!(claims["sessionHandle"], json!(created.session.handle));
            assert_eq!(
                claims["antiCsrfToken"],
                json!(created.anti_csrf_token.as_ref().unwrap().expose())
            );
            let expiry = claims["expiryTime"].as_i64().unwrap();
            assert_eq!(
                expiry,
                created.access_token.expiry.as_millis(),
                "milliseconds"
            );
            assert!(claims["timeCreated"].as_i64().unwrap() > 1_600_000_000_000);

            // Verified as the old SDKs verify: RSA SHA-256 over `header.payload` with the
            // handed-out SubjectPublicKeyInfo.
            let spki = STANDARD.decode(&keys[0].public_key).unwrap();
            let signature = STANDARD.decode(parts[2]).unwrap();
            let signed = format!("{}.{}", parts[0], parts[1]);
            aws_lc_rs::signature::UnparsedPublicKey::new(
                &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
                &spki,
            )
            .verify(signed.as_bytes(), &signature)
            .unwrap();

            let verified = sessions
                .get_session(
                    &created.access_token.token,
                    created.anti_csrf_token.as_ref(),
                    VerifyOptions {
                        do_anti_csrf_check: true,
                        ..VerifyOptions::default()
                    },
                )
                .await
                .unwrap();
            assert_eq!(verified.user_id, "dee");
            assert_eq!(verified.access_token_payload["role"], json!("admin"));

            // A changed payload no longer verifies.
            let forged_claims = STANDARD.encode(
                serde_json::to_vec(&json!({"sessionHandle": claims["sessionHandle"],
                    "userId": "mallory", "refreshTokenHash1": claims["refreshTokenHash1"],
                    "userData": {}, "expiryTime": expiry, "timeCreated": expiry - 1000}))
                .unwrap(),
            );
            let forged = AccessToken::new(format!("{}.{forged_claims}.{}", parts[0], parts[2]));
            let refused = sessions
                .get_session(&forged, None, VerifyOptions::default())
                .await;
            assert!(
                matches!(refused, Err(SessionError::TryRefreshToken { .. })),
                "{refused:?}"
            );
        }
    });
}
