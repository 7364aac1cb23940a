//! The router: the session endpoints of every CDI version from 1.0 to 5.4 (the older paths
//! included), plus the public endpoints.

mod apps;
mod device;
mod jwt;
mod legacy;
pub mod meta;
mod revoke;
mod session;
mod tenants;
mod update;

use axum::extract::DefaultBodyLimit;
use axum::http::{Method, Uri};
use axum::routing::{get, post, put};
use axum::{middleware, Extension, Router};
use tower_http::catch_panic::CatchPanicLayer;

use crate::error::ApiError;
pub use crate::extract::BodyRules;
use crate::state::ServerState;

/// Builds the application. Core API routes are behind the API-key check; `/hello`, the JWKS and
/// `/metrics` are not (SDKs fetch the JWKS without a key, as from SuperTokens core).
pub fn router(state: ServerState, body_rules: BodyRules) -> Router {
    let core_api = Router::new()
        .route("/apiversion", get(meta::api_version))
        .route("/user/id", get(meta::user_id))
        .route("/recipe/session", post(session::create).get(session::info))
        .route(
            "/{tenant}/recipe/session",
            post(session::create).get(session::info),
        )
        .route("/recipe/session/verify", post(session::verify))
        // The paths of CDI 1.0 to 2.3, before the `/recipe` prefix, and the calls only the
        // drivers before 2.21 make (docs/protocol.md, "Protocol versions").
        .route("/session", post(session::create).delete(legacy::delete))
        .route("/session/verify", post(session::verify))
        .route("/session/refresh", post(session::refresh))
        .route("/session/regenerate", post(session::regenerate))
        .route("/session/remove", post(revoke::remove))
        .route("/session/user", get(revoke::handles_for_user))
        .route(
            "/session/data",
            get(legacy::session_data).put(update::session_data),
        )
        .route(
            "/jwt/data",
            get(legacy::access_token_payload).put(update::access_token_payload),
        )
        .route("/handshake", post(legacy::handshake))
        .route("/recipe/handshake", post(legacy::handshake))
        .route("/recipe/session/refresh", post(session::refresh))
        .route("/recipe/session/regenerate", post(session::regenerate))
        .route("/recipe/session/remove", post(revoke::remove))
        .route("/{tenant}/recipe/session/remove", post(revoke::remove))
        .route("/recipe/session/user", get(revoke::handles_for_user))
        .route(
            "/{tenant}/recipe/session/user",
            get(revoke::handles_for_user),
        )
        .route(
            "/recipe/session/data",
            get(legacy::session_data).put(update::session_data),
        )
        .route(
            "/recipe/jwt/data",
            get(legacy::access_token_payload).put(update::access_token_payload),
        )
        .route("/recipe/jwt", post(jwt::create))
        .route("/recipe/jwt/jwks", get(jwt::jwks))
        .route("/tessera/revocations", get(revoke::revocations))
        .route("/tessera/session/ended", post(session::ended))
        .route("/tessera/device", get(device::status))
        .route("/tessera/device/challenge", post(device::challenge))
        .route("/tessera/device/bind", post(device::bind))
        .route("/tessera/device/refresh", post(device::refresh))
        .route(
            "/recipe/multitenancy/tenant/v2",
            get(tenants::get).put(tenants::put),
        )
        .route(
            "/{tenant}/recipe/multitenancy/tenant/v2",
            get(tenants::get).put(tenants::put),
        )
        .route("/recipe/multitenancy/tenant/remove", post(tenants::remove))
        .route("/recipe/multitenancy/tenant/list/v2", get(tenants::list))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::auth::check_request,
        ));
    // Everything an app serves, at the root for `public` and under `/appid-<app>` for the others:
    // the core API behind the API-key check, `/hello` and the JWKS without it (SDKs fetch the
    // JWKS without a key, as from SuperTokens core).
    let per_app = core_api
        .route("/hello", get(meta::hello))
        .route("/.well-known/jwks.json", get(meta::jwks));
    let app_admin = Router::new()
        .route("/recipe/multitenancy/app/v2", put(apps::put))
        .route("/recipe/multitenancy/app/remove", post(apps::remove))
        .route("/recipe/multitenancy/app/list/v2", get(apps::list))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            crate::auth::check_request,
        ));
    let admin = match state.admin_key {
        Some(_) => crate::admin::routes(),
        None => Router::new(),
    };
    Router::new()
        .route("/metrics", get(meta::metrics))
        .nest("/appid-{app}", per_app.clone())
        .merge(per_app)
        .merge(app_admin)
        .merge(admin)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(body_rules.max_bytes))
        .layer(Extension(body_rules))
        .layer(middleware::from_fn(crate::observe::observe))
        // Tessera's own code does not panic (clippy denies it), but a dependency might: answer
        // 500 JSON instead of dropping the connection, and keep the count in the metrics.
        .layer(CatchPanicLayer::custom(panic_response))
        .with_state(state)
}

fn panic_response(_panic: Box<dyn std::any::Any + Send>) -> axum::response::Response {
    tracing::error!("request handler panicked");
    metrics::counter!("tessera_errors_total", "kind" => "panic").increment(1);
    axum::response::IntoResponse::into_response(ApiError::Internal)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::NotFound(uri.path().chars().take(200).collect())
}

async fn method_not_allowed(method: Method) -> ApiError {
    ApiError::MethodNotAllowed(method.to_string())
}
