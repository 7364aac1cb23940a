//! The benchmark app on actix-session with its Redis store (the common production choice), route
//! for route the same as the tessera-actix app beside it: `POST /login` starts a session,
//! `GET /api/feed` answers a fixed body to a signed-in client (one Redis read per request, which
//! is how actix-session works), `GET /plain` answers the same body to anyone.
//!
//! Usage: `bench-http-actix-session PORT REDIS_URL`

use actix_session::storage::RedisSessionStore;
use actix_session::{Session, SessionMiddleware};
use actix_web::cookie::Key;
use actix_web::{web, App, HttpResponse, HttpServer};

/// The body both routes answer, the same bytes as the tessera-actix app's.
const FEED: &str = include_str!("../../feed.json");
const USER_KEY: &str = "user_id";

async fn login(session: Session) -> HttpResponse {
    match session.insert(USER_KEY, "bench-user") {
        Ok(()) => HttpResponse::Ok().body("signed in"),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

async fn feed(session: Session) -> HttpResponse {
    match session.get::<String>(USER_KEY) {
        Ok(Some(_)) => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(FEED),
        Ok(None) => HttpResponse::Unauthorized().finish(),
        Err(_) => HttpResponse::InternalServerError().finish(),
    }
}

async fn plain() -> &'static str {
    FEED
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port = args.next().unwrap_or_else(|| "3002".into());
    let redis = args
        .next()
        .unwrap_or_else(|| "redis://127.0.0.1:6379".into());
    let store = RedisSessionStore::new(redis).await?;
    let key = Key::generate();
    HttpServer::new(move || {
        App::new()
            .wrap(
                SessionMiddleware::builder(store.clone(), key.clone())
                    .cookie_secure(false)
                    .build(),
            )
            .route("/login", web::post().to(login))
            .route("/api/feed", web::get().to(feed))
            .route("/plain", web::get().to(plain))
    })
    .bind(format!("127.0.0.1:{port}"))?
    .run()
    .await?;
    Ok(())
}
