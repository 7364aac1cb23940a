//! The engine on the embedded SQLite store, end to end: create a session, verify its access token,
//! refresh, then replay the old refresh token and watch theft detection revoke the session.
//!
//! Run: `cargo run -p tessera-store --example quickstart` (database: `./tessera.db`, or
//! `TESSERA_SQLITE_PATH`).

use std::time::Duration;

use tessera_core::{NewSession, SessionConfig, SessionError, Sessions, VerifyOptions};
use tessera_store::SqliteStore;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::var("TESSERA_SQLITE_PATH").unwrap_or_else(|_| "tessera.db".to_owned());
    let store = SqliteStore::open(&path).await?;
    // No grace window, so the replay below is theft at once rather than after 30 seconds.
    let config = SessionConfig {
        refresh_token_rotation_grace_period: Duration::ZERO,
        ..SessionConfig::default()
    };
    let sessions = Sessions::new(store, config);

    let created = sessions
        .create_new_session(NewSession::new("alice"))
        .await?;
    println!("created session {} in {path}", created.session.handle);

    let verified = sessions
        .get_session(&created.access_token.token, None, VerifyOptions::default())
        .await?;
    println!("access token verified for user {}", verified.user_id);

    let refreshed = sessions
        .refresh_session(&created.refresh_token.token, None)
        .await?;
    let newest = sessions
        .refresh_session(&refreshed.refresh_token.token, None)
        .await?;
    println!("refreshed twice; the first refresh token is now spent");

    match sessions
        .refresh_session(&created.refresh_token.token, None)
        .await
    {
        Err(SessionError::TokenTheftDetected {
            user_id,
            session_handle,
        }) => println!(
            "replayed old token: theft detected for {user_id}, session {session_handle} revoked"
        ),
        other => return Err(format!("expected theft detection, got {other:?}").into()),
    }
    match sessions
        .refresh_session(&newest.refresh_token.token, None)
        .await
    {
        Err(SessionError::Unauthorised { .. }) => {
            println!("the newest token is dead too: sign in again")
        }
        other => return Err(format!("expected the session to be gone, got {other:?}").into()),
    }
    Ok(())
}
