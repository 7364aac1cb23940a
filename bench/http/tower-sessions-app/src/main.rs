//! The benchmark app on tower-sessions with its rusqlite store, route for route the same as the
//! tessera-axum app beside it: `POST /login` starts a session, `GET /api/feed` answers a fixed
//! body to a signed-in client (one store lookup per request, which is how tower-sessions works),
//! `GET /plain` answers the same body to anyone.
//!
//! Usage: `bench-http-tower-sessions PORT DATABASE_FILE`

use axum::{
    http::StatusCode,
    routing::{get, post},
    Router,
};
use tower_sessions::{Session, SessionManagerLayer};
use tower_sessions_rusqlite_store::{tokio_rusqlite::Connection, RusqliteStore};

/// The body both routes answer, the same bytes as the tessera-axum app's.
const FEED: &str = include_str!("../../feed.json");
const USER_KEY: &str = "user_id";

async fn login(session: Session) -> Result<&'static str, StatusCode> {
    session
        .insert(USER_KEY, "bench-user")
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok("signed in")
}

async fn feed(session: Session) -> Result<&'static str, StatusCode> {
    match session.get::<String>(USER_KEY).await {
        Ok(Some(_)) => Ok(FEED),
        Ok(None) => Err(StatusCode::UNAUTHORIZED),
        Err(_) => Err(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

async fn plain() -> &'static str {
    FEED
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port = args.next().unwrap_or_else(|| "3002".into());
    let database = args
        .next()
        .unwrap_or_else(|| "bench-tower-sessions.db".into());
    let connection = Connection::open(database).await?;
    let store = RusqliteStore::new(connection);
    store.migrate().await?;
    let app = Router::new()
        .route("/login", post(login))
        .route("/api/feed", get(feed))
        .route("/plain", get(plain))
        .layer(SessionManagerLayer::new(store).with_secure(false));
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
