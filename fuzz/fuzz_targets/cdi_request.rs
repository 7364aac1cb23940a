//! CDI requests to the server's router (in-process, over an in-memory store): any body, query or
//! header on any route gets an answer below 500, never a panic. The first input byte picks the
//! route, the second the method; the rest is the body (and, for GET, the query string).
#![no_main]

use std::sync::OnceLock;

use axum::body::Body;
use axum::http::{Method, Request};
use libfuzzer_sys::fuzz_target;
use tessera_core::testing::MemoryStore;
use tessera_core::{SessionConfig, Sessions};
use tessera_server::routes::{router, BodyRules};
use tessera_server::state::ServerState;
use tower::ServiceExt;

const ROUTES: [&str; 14] = [
    "/recipe/session",
    "/public/recipe/session",
    "/recipe/session/verify",
    "/recipe/session/refresh",
    "/recipe/session/regenerate",
    "/recipe/session/remove",
    "/public/recipe/session/remove",
    "/recipe/session/user",
    "/recipe/session/data",
    "/recipe/jwt/data",
    "/apiversion",
    "/user/id",
    "/.well-known/jwks.json",
    "/other/recipe/session",
];

struct Fixture {
    runtime: tokio::runtime::Runtime,
    app: axum::Router,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let sessions = Sessions::new(MemoryStore::default(), SessionConfig::default());
        // Apps would open SQLite files under the temporary directory; the fuzzer creates none
        // (creating one needs a valid request it is unlikely to find, and is refused without
        // harm if it does).
        let dir = std::env::temp_dir().join("tessera-fuzz-apps.db");
        let apps = tessera_server::apps::Apps::new(
            sessions.clone(),
            tessera_store::StoreConfig::Sqlite { path: dir },
            SessionConfig::default(),
            tessera_store::SchemaPolicy::Migrate,
            std::time::Duration::from_secs(60),
        );
        let state = ServerState {
            activity: std::sync::Arc::new(tessera_server::activity::ActivityLog::new(
                std::sync::Arc::clone(sessions.clock()),
            )),
            sessions,
            apps: std::sync::Arc::new(apps),
            api_keys: std::sync::Arc::new(Vec::new()),
            metrics: None,
            admin_key: None,
        };
        let app = router(state, BodyRules::limit(64 * 1024));
        Fixture { runtime, app }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let (Some(&route), Some(&method)) = (data.first(), data.get(1)) else {
        return;
    };
    let body = data.get(2..).unwrap_or_default().to_vec();
    let path = ROUTES[usize::from(route) % ROUTES.len()];
    let method = [Method::GET, Method::POST, Method::PUT][usize::from(method) % 3].clone();
    let uri = if method == Method::GET {
        let query: String = String::from_utf8_lossy(&body)
            .chars()
            .filter(|c| c.is_ascii_graphic() && *c != '#')
            .collect();
        format!("{path}?{query}")
    } else {
        path.to_owned()
    };
    let Ok(request) = Request::builder()
        .method(method)
        .uri(uri)
        .header("content-type", "application/json")
        .header("cdi-version", "5.4")
        .body(Body::from(body))
    else {
        return;
    };
    let response = f
        .runtime
        .block_on(f.app.clone().oneshot(request))
        .expect("infallible");
    assert!(
        !response.status().is_server_error(),
        "{} for input {data:?}",
        response.status()
    );
});
