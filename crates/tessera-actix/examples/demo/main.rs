//! Tessera's demo on actix-web: the same page, paths and settings as the axum demo
//! (`crates/tessera-axum/examples/demo`, whose module `shared.rs` both use), so the same browser
//! suites run against either. A login form, a protected "home feed" API and sign-out, on one page
//! that uses the unmodified SuperTokens frontend SDK to refresh sessions by itself.
//!
//! ```text
//! npm ci --prefix crates/tessera-axum/examples/demo
//! cargo run -p tessera-actix --example actix-demo
//! ```
//!
//! Then open <http://127.0.0.1:3000>, sign in with any user name and the password `tessera-demo`.
//! The settings (`PORT`, `DATABASE`, `TESSERA_URL`, `DEVICE_BINDING`, `CORS_ORIGINS`, …) are the
//! axum demo's; see its documentation.

use actix_cors::Cors;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::sync::Arc;
use tessera_actix::{
    Error, Session, Tessera, TokenReissue, SDK_REQUEST_HEADERS, SDK_RESPONSE_HEADERS,
};
use tessera_core::constant_time_eq;

#[path = "../../../tessera-axum/examples/demo/shared.rs"]
mod shared;
#[path = "../../../tessera-axum/examples/demo/tls.rs"]
mod tls;
use shared::{Settings, PASSWORD, SDK_PATH};

/// What the page needs besides the session layer.
struct Assets {
    page: String,
    sdk: String,
}

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

async fn login(
    tessera: web::Data<Tessera>,
    request: HttpRequest,
    login: web::Json<Login>,
) -> Result<HttpResponse, Error> {
    let username = login.username.trim();
    // The demo's whole user database: any name, one shared password.
    if username.is_empty() || !constant_time_eq(&login.password, PASSWORD) {
        return Ok(HttpResponse::Ok().json(json!({"status": "WRONG_CREDENTIALS_ERROR"})));
    }
    let mut payload = Map::new();
    payload.insert("name".to_owned(), Value::from(username));
    let tokens = tessera
        .create_new_session(&request, username, payload, json!({"logins": 1}))
        .await?;
    Ok(tokens
        .respond(HttpResponse::Ok())
        .json(json!({"status": "OK", "userId": username})))
}

async fn feed(tessera: web::Data<Tessera>, session: Session) -> HttpResponse {
    match shared::feed(&tessera, &session).await {
        Some(body) => HttpResponse::Ok().json(body),
        None => HttpResponse::new(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

async fn home(session: Session) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(shared::home_page(&session))
}

async fn serve_page(assets: web::Data<Assets>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .content_type("text/html; charset=utf-8")
        .body(assets.page.clone())
}

async fn serve_sdk(assets: web::Data<Assets>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .body(assets.sdk.clone())
}

/// CORS for the page on another origin: exactly these origins, with credentials, the SDK's
/// request headers allowed and its response headers exposed. None when no origin is admitted.
fn cors(origins: &[String]) -> Cors {
    let mut cors = Cors::default()
        .supports_credentials()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers(SDK_REQUEST_HEADERS)
        .expose_headers(SDK_RESPONSE_HEADERS);
    for origin in origins {
        cors = cors.allowed_origin(origin);
    }
    cors
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let settings = Settings::from_env()?;
    let sdk = shared::read_sdk_bundle(&settings.sdk_bundle_dir)?;
    let backend = shared::backend(&settings).await?;
    let layer = shared::layer_config(&settings);
    let page = shared::page(&settings, &layer);
    let tessera = Tessera::new(backend, layer);
    let assets = web::Data::from(Arc::new(Assets { page, sdk }));
    let origins = settings.cors_origins.clone();
    let server = HttpServer::new(move || {
        App::new()
            // Outermost, so that preflights are answered before any extractor runs.
            .wrap(actix_web::middleware::Condition::new(
                !origins.is_empty(),
                cors(&origins),
            ))
            // With CHECK_DATABASE, claims changed on the server reach the page on its next call.
            .wrap(TokenReissue)
            .app_data(assets.clone())
            .configure(tessera.configure())
            .route("/", web::get().to(serve_page))
            .route(SDK_PATH, web::get().to(serve_sdk))
            .route("/login", web::post().to(login))
            .route("/api/feed", web::get().to(feed))
            .route("/home", web::get().to(home))
    });
    let listener = std::net::TcpListener::bind(("127.0.0.1", settings.port))?;
    let address = listener.local_addr()?;
    let server = if settings.device_binding.is_some() {
        let tls = tls::self_signed()?;
        // Tests start the demo on port 0 and read the address from this line.
        println!(
            "tessera demo listening on https://{address} (certificate SPKI SHA-256: {})",
            tls.spki_sha256
        );
        server.listen_rustls_0_23(listener, tls.config)?
    } else {
        println!("tessera demo listening on http://{address}");
        server.listen(listener)?
    };
    server.run().await?;
    Ok(())
}

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tessera demo: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
