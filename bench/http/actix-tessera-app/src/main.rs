//! The benchmark app on tessera-actix: `POST /login` starts a session (cookie transport, the
//! embedded SQLite store), `GET /api/feed` answers a fixed body to a signed-in client, and
//! `GET /plain` answers the same body to anyone. `FRAMEWORK=actix bench/http/run.sh` drives it
//! side by side with the same app on actix-session over Redis.
//!
//! Usage: `bench-http-actix-tessera PORT DATABASE_FILE`

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde_json::{Map, Value};
use tessera_actix::{Error, Session, SessionLayerConfig, Tessera, TokenReissue};
use tessera_core::{SessionConfig, Sessions};

/// The body both routes answer, the same bytes as the actix-session app's.
const FEED: &str = include_str!("../../feed.json");

async fn login(tessera: web::Data<Tessera>, request: HttpRequest) -> Result<HttpResponse, Error> {
    let tokens = tessera
        .create_new_session(&request, "bench-user", Map::new(), Value::Null)
        .await?;
    Ok(tokens.respond(HttpResponse::Ok()).body("signed in"))
}

async fn feed(_session: Session) -> &'static str {
    FEED
}

async fn plain() -> &'static str {
    FEED
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port = args.next().unwrap_or_else(|| "3001".into());
    let database = args.next().unwrap_or_else(|| "bench-tessera.db".into());
    let store = tessera_store::SqliteStore::open(&database).await?;
    let tessera = Tessera::new(
        Sessions::new(store, SessionConfig::default()),
        SessionLayerConfig::default(),
    );
    HttpServer::new(move || {
        App::new()
            .wrap(TokenReissue)
            .configure(tessera.configure())
            .route("/login", web::post().to(login))
            .route("/api/feed", web::get().to(feed))
            .route("/plain", web::get().to(plain))
    })
    .bind(format!("127.0.0.1:{port}"))?
    .run()
    .await?;
    Ok(())
}
