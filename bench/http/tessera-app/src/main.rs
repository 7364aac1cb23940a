//! The benchmark app on tessera-axum: `POST /login` starts a session (cookie transport, the
//! embedded SQLite store), `GET /api/feed` answers a fixed body to a signed-in client, and
//! `GET /plain` answers the same body to anyone. `bench/http/run.sh` drives it side by side with
//! the same app on tower-sessions.
//!
//! Usage: `bench-http-tessera PORT DATABASE_FILE`

use axum::{
    http::HeaderMap,
    response::IntoResponse,
    routing::{get, post},
    Router,
};
use serde_json::{Map, Value};
use tessera_axum::{Error, Session, SessionLayerConfig, Tessera};
use tessera_core::{SessionConfig, Sessions};

/// The body both routes answer, the same bytes as the tower-sessions app's.
const FEED: &str = include_str!("../../feed.json");

async fn login(
    axum::extract::State(tessera): axum::extract::State<Tessera>,
    headers: HeaderMap,
) -> Result<impl IntoResponse, Error> {
    let tokens = tessera
        .create_new_session(&headers, "bench-user", Map::new(), Value::Null)
        .await?;
    Ok((tokens, "signed in"))
}

async fn feed(_session: Session) -> &'static str {
    FEED
}

async fn plain() -> &'static str {
    FEED
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port = args.next().unwrap_or_else(|| "3001".into());
    let database = args.next().unwrap_or_else(|| "bench-tessera.db".into());
    let store = tessera_store::SqliteStore::open(&database).await?;
    let tessera = Tessera::new(
        Sessions::new(store, SessionConfig::default()),
        SessionLayerConfig::default(),
    );
    // `install` adds the session routes, the layer that delivers re-minted tokens and the state.
    let app = tessera.install(
        Router::new()
            .route("/login", post(login))
            .route("/api/feed", get(feed))
            .route("/plain", get(plain)),
    );
    let listener = tokio::net::TcpListener::bind(format!("127.0.0.1:{port}")).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
