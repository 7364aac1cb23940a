//! The HTTP contract of the framework adapters (`docs/protocol.md`): one list of tests, run the
//! same over every back end (the engine on an in-memory store, the engine on a SQLite file, a
//! remote `tessera` server) and both frameworks (axum through `tessera-axum`, actix-web through
//! `tessera-actix`). These are the contract's clock-free parts; tessera-axum's `protocol.rs`
//! drives expiry, grace windows and the anti-CSRF modes through the in-memory engine with a clock
//! it moves.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use std::any::Any;
use std::time::Duration;

use axum::http::{Method, Request, StatusCode};
use serde_json::{json, Value};
use tessera_core::{SessionConfig, Sessions};
use tessera_http::{Backend, SessionLayerConfig};

#[path = "../../tessera-axum/tests/support/mod.rs"]
mod support;
use support::{Client, Resp};

/// The app over axum.
mod axum_app {
    use axum::extract::State;
    use axum::http::HeaderMap;
    use axum::response::IntoResponse;
    use axum::routing::{get, post};
    use axum::{Json, Router};
    use serde_json::{json, Map, Value};
    use tessera_axum::{Error, Session, Tessera};

    async fn login(
        State(t): State<Tessera>,
        headers: HeaderMap,
    ) -> Result<impl IntoResponse, Error> {
        let mut payload = Map::new();
        payload.insert("role".into(), json!("admin"));
        let tokens = t
            .create_new_session(&headers, "alice", payload, json!({"n": 1}))
            .await?;
        Ok((tokens, Json(json!({"status": "OK"}))))
    }

    async fn me(session: Session) -> Json<Value> {
        Json(json!({"user": session.user_id(), "payload": session.access_token_payload()}))
    }

    async fn data(session: Session) -> Result<Json<Value>, Error> {
        let before = session.session_data().await?;
        session.update_session_data(json!({"n": 2})).await?;
        let after = session.session_data().await?;
        Ok(Json(json!({"before": before, "after": after})))
    }

    async fn payload(mut session: Session) -> Result<impl IntoResponse, Error> {
        let mut claims = Map::new();
        claims.insert("role".into(), json!("reader"));
        let headers = session.update_access_token_payload(claims).await?;
        Ok((headers, Json(json!(session.access_token_payload()))))
    }

    async fn claim(State(t): State<Tessera>, _session: Session) -> Error {
        t.invalid_claim(vec![json!({"id": "st-ev", "reason": "wrong value"})])
    }

    pub fn router(tessera: Tessera) -> Router {
        let app = Router::new()
            .route("/login", post(login))
            .route("/api/me", get(me).post(me))
            .route("/api/data", post(data))
            .route("/api/payload", post(payload))
            .route("/api/claim", get(claim));
        tessera.install(app)
    }
}

/// The same app over actix-web, served on a port of its own by a thread running actix's runtime.
mod actix_app {
    use actix_web::dev::ServerHandle;
    use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
    use serde_json::{json, Map};
    use tessera_actix::{Error, Session, Tessera, TokenReissue};

    async fn login(t: web::Data<Tessera>, request: HttpRequest) -> Result<HttpResponse, Error> {
        let mut payload = Map::new();
        payload.insert("role".into(), json!("admin"));
        let tokens = t
            .create_new_session(&request, "alice", payload, json!({"n": 1}))
            .await?;
        Ok(tokens
            .respond(HttpResponse::Ok())
            .json(json!({"status": "OK"})))
    }

    async fn me(session: Session) -> HttpResponse {
        HttpResponse::Ok()
            .json(json!({"user": session.user_id(), "payload": session.access_token_payload()}))
    }

    async fn data(session: Session) -> Result<HttpResponse, Error> {
        let before = session.session_data().await?;
        session.update_session_data(json!({"n": 2})).await?;
        let after = session.session_data().await?;
        Ok(HttpResponse::Ok().json(json!({"before": before, "after": after})))
    }

    async fn payload(mut session: Session) -> Result<HttpResponse, Error> {
        let mut claims = Map::new();
        claims.insert("role".into(), json!("reader"));
        let headers = session.update_access_token_payload(claims).await?;
        Ok(headers
            .respond(HttpResponse::Ok())
            .json(json!(session.access_token_payload())))
    }

    async fn claim(t: web::Data<Tessera>, _session: Session) -> Error {
        t.invalid_claim(vec![json!({"id": "st-ev", "reason": "wrong value"})])
    }

    /// A running actix-web server; stopped when dropped.
    pub struct Server {
        pub url: String,
        handle: ServerHandle,
    }

    impl Drop for Server {
        fn drop(&mut self) {
            // The stop command is sent at once; nobody needs to wait for the workers to end.
            drop(self.handle.stop(false));
        }
    }

    pub fn serve(tessera: Tessera) -> Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .wrap(TokenReissue)
                        .configure(tessera.configure())
                        .route("/login", web::post().to(login))
                        .route("/api/me", web::get().to(me))
                        .route("/api/me", web::post().to(me))
                        .route("/api/data", web::post().to(data))
                        .route("/api/payload", web::post().to(payload))
                        .route("/api/claim", web::get().to(claim))
                })
                .workers(1)
                .listen(listener)
                .unwrap()
                .run();
                handle_tx.send(server.handle()).unwrap();
                server.await.unwrap();
            });
        });
        Server {
            url,
            handle: handle_rx.recv().unwrap(),
        }
    }
}

/// Engine settings for every back end: no grace window, so a replay is theft at once.
fn settings() -> SessionConfig {
    SessionConfig {
        refresh_token_rotation_grace_period: Duration::ZERO,
        ..SessionConfig::default()
    }
}

#[derive(Clone, Copy)]
enum Framework {
    Axum,
    Actix,
}

enum Target {
    Axum(axum::Router),
    Actix {
        server: actix_app::Server,
        client: reqwest::Client,
    },
}

/// The app over one back end and one framework, and whatever must live as long as it (a temp
/// dir, a server).
struct App {
    target: Target,
    _keep: Box<dyn Any + Send>,
}

fn app_over(framework: Framework, backend: impl Into<Backend>, keep: Box<dyn Any + Send>) -> App {
    let config = SessionLayerConfig::default();
    let target = match framework {
        Framework::Axum => Target::Axum(axum_app::router(tessera_axum::Tessera::new(
            backend, config,
        ))),
        Framework::Actix => Target::Actix {
            server: actix_app::serve(tessera_actix::Tessera::new(backend, config)),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        },
    };
    App {
        target,
        _keep: keep,
    }
}

async fn memory(framework: Framework) -> App {
    let store = tessera_core::testing::MemoryStore::default();
    app_over(framework, Sessions::new(store, settings()), Box::new(()))
}

async fn sqlite(framework: Framework) -> App {
    let dir = tempfile::tempdir().unwrap();
    let store = tessera_store::SqliteStore::open(dir.path().join("contract.db"))
        .await
        .unwrap();
    app_over(framework, Sessions::new(store, settings()), Box::new(dir))
}

#[cfg(feature = "remote")]
async fn remote(framework: Framework) -> App {
    let server = tessera_testkit::Server::start("refresh_token_rotation_grace_period: 0\n").await;
    let remote =
        tessera_http::RemoteSessions::connect(tessera_http::RemoteConfig::new(&server.url))
            .await
            .unwrap();
    app_over(framework, remote, Box::new(server))
}

impl App {
    async fn send(&self, request: axum::http::request::Builder) -> Resp {
        match &self.target {
            Target::Axum(router) => support::send(router, request).await,
            Target::Actix { server, client } => {
                let request = request.body(()).unwrap();
                let resp = client
                    .request(
                        request.method().clone(),
                        format!("{}{}", server.url, request.uri()),
                    )
                    .headers(request.headers().clone())
                    .send()
                    .await
                    .unwrap();
                let status = resp.status();
                let headers = resp.headers().clone();
                let bytes = resp.bytes().await.unwrap();
                let body = if bytes.is_empty() {
                    Value::Null
                } else {
                    serde_json::from_slice(&bytes).unwrap_or_else(|_| {
                        Value::String(String::from_utf8_lossy(&bytes).into_owned())
                    })
                };
                Resp {
                    status,
                    headers,
                    body,
                }
            }
        }
    }

    /// `POST /login` in cookie or header mode; the client holding what it handed over.
    async fn login(&self, header_mode: bool) -> (Client, Resp) {
        let mode = if header_mode { "header" } else { "cookie" };
        let request = Request::builder()
            .method(Method::POST)
            .uri("/login")
            .header("st-auth-mode", mode);
        let resp = self.send(request).await;
        assert_eq!(resp.status, StatusCode::OK);
        let mut client = Client {
            header_mode,
            ..Client::default()
        };
        client.absorb(&resp);
        (client, resp)
    }

    async fn refresh(&self, client: &mut Client) -> Resp {
        let resp = self
            .send(client.request(Method::POST, "/auth/session/refresh"))
            .await;
        client.absorb_any(&resp);
        resp
    }
}

async fn login_hands_out_tokens_in_both_transports(app: App) {
    let (_, cookies) = app.login(false).await;
    let refresh = cookies.cookie("sRefreshToken");
    assert_eq!(refresh.path(), Some("/auth/session/refresh"));
    assert_eq!(refresh.http_only(), Some(true));
    assert_eq!(cookies.cookie("sAccessToken").path(), Some("/"));
    assert_eq!(cookies.front_token()["uid"], "alice");
    assert_eq!(cookies.front_token()["up"]["role"], "admin");
    let (client, headers) = app.login(true).await;
    assert!(headers.find_cookie("sAccessToken").is_none());
    assert!(!client.access.is_empty() && !client.refresh.is_empty());
    assert_eq!(headers.front_token()["uid"], "alice");
}

async fn only_a_valid_access_token_reaches_the_handler(app: App) {
    for header_mode in [false, true] {
        let (client, _) = app.login(header_mode).await;
        let resp = app.send(client.request(Method::GET, "/api/me")).await;
        assert_eq!(resp.status, StatusCode::OK);
        assert_eq!(resp.body["user"], "alice");
        assert_eq!(resp.body["payload"]["role"], "admin");
    }
    let none = app.send(Request::builder().uri("/api/me")).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.body, json!({"message": "unauthorised"}));
    assert!(!none.clears());
    let (mut forged, _) = app.login(false).await;
    forged.access.push('x');
    let resp = app.send(forged.request(Method::GET, "/api/me")).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert_eq!(resp.body, json!({"message": "try refresh token"}));
    assert!(!resp.clears());
}

async fn refresh_rotates_both_tokens_and_the_new_ones_work(app: App) {
    for header_mode in [false, true] {
        let (mut client, _) = app.login(header_mode).await;
        let old = client.clone();
        let resp = app.refresh(&mut client).await;
        assert_eq!(resp.status, StatusCode::OK);
        assert_ne!(client.access, old.access);
        assert_ne!(client.refresh, old.refresh);
        let resp = app.send(client.request(Method::GET, "/api/me")).await;
        assert_eq!(resp.status, StatusCode::OK);
        client.absorb_any(&resp);
        let resp = app.send(client.request(Method::GET, "/api/me")).await;
        assert_eq!(resp.status, StatusCode::OK);
    }
}

async fn a_refresh_token_replayed_after_its_child_was_used_is_theft(app: App) {
    for header_mode in [false, true] {
        let (mut client, _) = app.login(header_mode).await;
        let parent = client.clone();
        assert_eq!(app.refresh(&mut client).await.status, StatusCode::OK);
        // The client uses the refreshed access token: it has moved past the parent.
        let resp = app.send(client.request(Method::GET, "/api/me")).await;
        assert_eq!(resp.status, StatusCode::OK);
        client.absorb_any(&resp);
        let resp = app
            .send(parent.request(Method::POST, "/auth/session/refresh"))
            .await;
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
        assert_eq!(resp.body, json!({"message": "token theft detected"}));
        assert!(resp.clears());
        // The session is revoked for the honest holder too.
        let resp = app.refresh(&mut client).await;
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
        let resp = app.send(client.request(Method::GET, "/api/me")).await;
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    }
}

/// A browser signed out because a theft ended its session is told why: the refresh that signs
/// it out (carrying, as browsers do, the access-token cookie too) sets `sSessionEnded=theft`, a
/// cookie the page can read. A session ended by signing out says nothing of the kind.
async fn a_browser_signed_out_by_theft_is_told_why(app: App) {
    let browser_refresh = |client: &support::Client| {
        Request::builder()
            .method(Method::POST)
            .uri("/auth/session/refresh")
            .header(
                "cookie",
                format!(
                    "sAccessToken={}; sRefreshToken={}",
                    client.access, client.refresh
                ),
            )
    };
    let (mut victim, _) = app.login(false).await;
    let copy = victim.clone();
    assert_eq!(app.refresh(&mut victim).await.status, StatusCode::OK);
    let resp = app.send(victim.request(Method::GET, "/api/me")).await;
    assert_eq!(resp.status, StatusCode::OK);
    victim.absorb_any(&resp);
    let resp = app
        .send(copy.request(Method::POST, "/auth/session/refresh"))
        .await;
    assert_eq!(resp.body, json!({"message": "token theft detected"}));

    let resp = app.send(browser_refresh(&victim)).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert!(resp.clears());
    let why = resp.cookie(tessera_http::SESSION_ENDED_COOKIE);
    assert_eq!(why.value(), tessera_http::ENDED_BY_THEFT);
    assert_ne!(
        why.http_only(),
        Some(true),
        "the page must be able to read it"
    );
    assert_eq!(why.path(), Some("/"));

    // Signed out by the user: the same kind of refresh says nothing about theft.
    let (mut honest, _) = app.login(false).await;
    let kept = honest.clone();
    let resp = app
        .send(honest.request(Method::POST, "/auth/signout"))
        .await;
    assert_eq!(resp.status, StatusCode::OK);
    honest = kept;
    let resp = app.send(browser_refresh(&honest)).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert!(resp
        .find_cookie(tessera_http::SESSION_ENDED_COOKIE)
        .is_none());
    // A forged access-token cookie beside a dead refresh token learns nothing either.
    let forged = support::Client {
        access: "e30.e30.e30".into(),
        ..honest
    };
    let resp = app.send(browser_refresh(&forged)).await;
    assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
    assert!(resp
        .find_cookie(tessera_http::SESSION_ENDED_COOKIE)
        .is_none());
}

/// The first verification of a refreshed access token commits the new refresh token and hands
/// back an access token without the parent's hash, through the adapter's reissue middleware; the
/// client then holds that one, and it works.
async fn the_first_use_of_a_refreshed_token_hands_back_a_new_one(app: App) {
    for header_mode in [false, true] {
        let (mut client, _) = app.login(header_mode).await;
        assert_eq!(app.refresh(&mut client).await.status, StatusCode::OK);
        let refreshed = client.access.clone();
        let resp = app.send(client.request(Method::GET, "/api/me")).await;
        assert_eq!(resp.status, StatusCode::OK);
        client.absorb_any(&resp);
        assert_ne!(
            client.access, refreshed,
            "a re-minted access token is handed back"
        );
        assert_eq!(resp.front_token()["uid"], "alice");
        let resp = app.send(client.request(Method::GET, "/api/me")).await;
        assert_eq!(resp.status, StatusCode::OK);
        assert!(
            resp.header("front-token").is_none(),
            "nothing more to hand back"
        );
    }
}

async fn signout_revokes_at_once_and_clears(app: App) {
    for header_mode in [false, true] {
        let (mut client, _) = app.login(header_mode).await;
        let kept = client.clone();
        let resp = app
            .send(client.request(Method::POST, "/auth/signout"))
            .await;
        assert_eq!(resp.status, StatusCode::OK);
        assert_eq!(resp.body, json!({"status": "OK"}));
        assert!(resp.clears());
        // A copy of the tokens made before signing out is worth nothing now.
        let resp = app.send(kept.request(Method::GET, "/api/me")).await;
        assert_eq!(resp.status, StatusCode::UNAUTHORIZED);
        client = kept;
        assert_eq!(
            app.refresh(&mut client).await.status,
            StatusCode::UNAUTHORIZED
        );
    }
}

async fn session_data_and_claims_can_be_changed(app: App) {
    let (mut client, _) = app.login(false).await;
    let resp = app.send(client.request(Method::POST, "/api/data")).await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.body, json!({"before": {"n": 1}, "after": {"n": 2}}));
    let resp = app.send(client.request(Method::POST, "/api/payload")).await;
    assert_eq!(resp.status, StatusCode::OK);
    assert_eq!(resp.front_token()["up"]["role"], "reader");
    client.absorb_any(&resp);
    let resp = app.send(client.request(Method::GET, "/api/me")).await;
    assert_eq!(resp.body["payload"]["role"], "reader");
}

async fn a_failed_claim_is_403_with_the_errors(app: App) {
    let (client, _) = app.login(false).await;
    let resp = app.send(client.request(Method::GET, "/api/claim")).await;
    assert_eq!(resp.status, StatusCode::FORBIDDEN);
    assert_eq!(resp.body["message"], "invalid claim");
    assert_eq!(resp.body["claimValidationErrors"][0]["id"], "st-ev");
}

macro_rules! contract {
    ($module:ident, $make:expr) => {
        mod $module {
            use super::*;
            contract!(@tests $make;
                login_hands_out_tokens_in_both_transports,
                only_a_valid_access_token_reaches_the_handler,
                refresh_rotates_both_tokens_and_the_new_ones_work,
                a_refresh_token_replayed_after_its_child_was_used_is_theft,
                a_browser_signed_out_by_theft_is_told_why,
                signout_revokes_at_once_and_clears,
                session_data_and_claims_can_be_changed,
                a_failed_claim_is_403_with_the_errors,
                the_first_use_of_a_refreshed_token_hands_back_a_new_one
            );
        }
    };
    (@tests $make:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                super::$name($make.await).await;
            }
        )*
    };
}

contract!(axum_over_memory, memory(Framework::Axum));
contract!(axum_over_sqlite, sqlite(Framework::Axum));
#[cfg(feature = "remote")]
contract!(axum_over_a_tessera_server, remote(Framework::Axum));
contract!(actix_over_memory, memory(Framework::Actix));
contract!(actix_over_sqlite, sqlite(Framework::Actix));
#[cfg(feature = "remote")]
contract!(actix_over_a_tessera_server, remote(Framework::Actix));

/// Every contract test above is in the macro's list, and only those: a test left off the list
/// would run over no back end.
#[test]
fn every_contract_test_is_listed() {
    let this_file = include_str!("contract.rs");
    let start = this_file.find("contract!(@tests $make;").unwrap();
    let end = start + this_file[start..].find(");").unwrap();
    let mut listed: Vec<&str> = this_file[start..end]
        .lines()
        .skip(1)
        .map(|line| line.trim().trim_end_matches(','))
        .filter(|name| !name.is_empty())
        .collect();
    let mut defined: Vec<&str> = this_file
        .lines()
        .filter_map(|line| line.strip_prefix("async fn "))
        .filter(|rest| rest.contains("(app: App)"))
        .filter_map(|rest| rest.split('(').next())
        .collect();
    listed.sort_unstable();
    defined.sort_unstable();
    assert!(defined.len() >= 7, "{defined:?}");
    assert_eq!(listed, defined);
}
