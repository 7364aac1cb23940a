//! Drives every endpoint of the real `tessera` binary over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

mod common;

use common::Server;
use serde_json::{json, Value};

fn token(body: &Value, which: &str) -> String {
    body[which]["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn meta_endpoints() {
    let server = Server::start("").await;
    let (status, body) = server.get("/hello").await;
    assert_eq!((status, body), (200, json!("Hello")));

    let (status, body) = server.get("/apiversion?apiDomain=x&websiteDomain=y").await;
    assert_eq!(status, 200);
    assert!(body["versions"].as_array().unwrap().contains(&json!("5.4")));

    let (status, body) = server.get("/user/id?userId=alice").await;
    assert_eq!(
        (status, body),
        (200, json!({"status": "UNKNOWN_USER_ID_ERROR"}))
    );

    let response = server
        .client
        .get(format!("{}/.well-known/jwks.json", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cache = response.headers()["cache-control"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(cache.starts_with("max-age="), "{cache}");
    let jwks: Value = response.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert!(!keys.is_empty());
    assert!(keys
        .iter()
        .any(|k| k["kid"].as_str().unwrap().starts_with("d-")
            && k["alg"] == "RS256"
            && k["kty"] == "RSA"
            && k["use"] == "sig"));

    // A cdi-version the server does not speak.
    let (status, body) = server
        .raw("GET", "/apiversion", vec![], &[("cdi-version", "9.9")])
        .await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("9.9"));
}

#[tokio::test]
async fn session_lifecycle() {
    let server = Server::start("").await;
    let created = server
        .create(
            "alice",
            json!({"role": "admin", "iss": "http://localhost/auth"}),
        )
        .await;
    let session = &created["session"];
    let handle = session["handle"].as_str().unwrap().to_owned();
    assert_eq!(session["userId"], "alice");
    assert_eq!(session["recipeUserId"], "alice");
    assert_eq!(session["tenantId"], "public");
    assert_eq!(session["userDataInJWT"]["role"], "admin");
    assert!(created.get("antiCsrfToken").is_none());
    let at = &created["accessToken"];
    assert_eq!(at["createdTime"].as_i64().unwrap() % 1000, 0);
    assert!(at["expiry"].as_i64().unwrap() > at["createdTime"].as_i64().unwrap());
    let access = token(&created, "accessToken");
    let refresh = token(&created, "refreshToken");

    // Verify, without and with the database.
    for check_database in [false, true] {
        let (status, body) = server
            .post(
                "/recipe/session/verify",
                json!({"accessToken": access, "doAntiCsrfCheck": true, "enableAntiCsrf": false,
                       "checkDatabase": check_database}),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(body["status"], "OK", "{body}");
        assert_eq!(body["session"]["handle"], handle.as_str());
        assert!(body.get("accessToken").is_none());
    }
    // A garbage access token asks for a refresh.
    let (_, body) = server
        .post(
            "/recipe/session/verify",
            json!({"accessToken": "a.b.c", "doAntiCsrfCheck": false, "enableAntiCsrf": false,
                   "checkDatabase": false}),
        )
        .await;
    assert_eq!(body["status"], "TRY_REFRESH_TOKEN");
    assert!(body["message"].is_string());

    // Session info, data and payload updates.
    let (_, info) = server
        .get(&format!("/recipe/session?sessionHandle={handle}"))
        .await;
    assert_eq!(info["status"], "OK");
    assert_eq!(info["userDataInDatabase"], json!({"n": 1}));
    assert_eq!(info["recipeUserId"], "alice");
    assert!(info["expiry"].is_i64() && info["timeCreated"].is_i64());
    let (_, body) = server
        .put(
            "/recipe/session/data",
            json!({"sessionHandle": handle, "userDataInDatabase": {"cart": [1, 2]}}),
        )
        .await;
    assert_eq!(body, json!({"status": "OK"}));
    let (_, body) = server
        .put(
            "/recipe/jwt/data",
            json!({"sessionHandle": handle, "userDataInJWT": {"role": "owner"}}),
        )
        .await;
    assert_eq!(body, json!({"status": "OK"}));
    let (_, info) = server
        .get(&format!("/recipe/session?sessionHandle={handle}"))
        .await;
    assert_eq!(info["userDataInDatabase"], json!({"cart": [1, 2]}));
    assert_eq!(info["userDataInJWT"], json!({"role": "owner"}));
    // The stored payload changed, so verify with the database mints a new token.
    let (_, body) = server
        .post(
            "/recipe/session/verify",
            json!({"accessToken": access, "doAntiCsrfCheck": false, "enableAntiCsrf": false,
                   "checkDatabase": true}),
        )
        .await;
    assert_eq!(body["status"], "OK");
    assert_eq!(body["session"]["userDataInJWT"]["role"], "owner");
    assert!(body["accessToken"]["token"].is_string(), "{body}");

    // Regenerate.
    let (_, body) = server
        .post(
            "/recipe/session/regenerate",
            json!({"accessToken": access, "userDataInJWT": {"role": "viewer"}}),
        )
        .await;
    assert_eq!(body["status"], "OK", "{body}");
    assert_eq!(body["session"]["userDataInJWT"]["role"], "viewer");
    assert!(body["accessToken"]["token"].is_string());

    // Protected claims are refused.
    let (status, body) = server
        .put(
            "/recipe/jwt/data",
            json!({"sessionHandle": handle, "userDataInJWT": {"sub": "mallory"}}),
        )
        .await;
    assert_eq!(status, 400, "{body}");

    // Refresh.
    let (_, refreshed) = server
        .post(
            "/recipe/session/refresh",
            json!({"refreshToken": refresh, "enableAntiCsrf": false, "useDynamicSigningKey": true}),
        )
        .await;
    assert_eq!(refreshed["status"], "OK", "{refreshed}");
    assert_eq!(refreshed["session"]["handle"], handle.as_str());
    assert_ne!(token(&refreshed, "refreshToken"), refresh);
    let (_, body) = server
        .post(
            "/recipe/session/refresh",
            json!({"refreshToken": "not-a-token", "enableAntiCsrf": false,
                   "useDynamicSigningKey": true}),
        )
        .await;
    assert_eq!(body["status"], "UNAUTHORISED");
    assert!(body.get("keepTokens").is_none(), "{body}");

    // Handles and revocation.
    let second = server.create("alice", json!({})).await;
    let second_handle = second["session"]["handle"].as_str().unwrap().to_owned();
    let _other = server.create("bob", json!({})).await;
    for path in [
        "/recipe/session/user?userId=alice&fetchSessionsForAllLinkedAccounts=true&fetchAcrossAllTenants=true",
        "/public/recipe/session/user?userId=alice&fetchSessionsForAllLinkedAccounts=true&fetchAcrossAllTenants=false",
    ] {
        let (_, body) = server.get(path).await;
        let mut handles: Vec<_> = body["sessionHandles"].as_array().unwrap().clone();
        handles.sort_by_key(|h| h.as_str().unwrap().to_owned());
        let mut expected = vec![json!(handle), json!(second_handle)];
        expected.sort_by_key(|h| h.as_str().unwrap().to_owned());
        assert_eq!(handles, expected);
    }
    let (_, body) = server
        .post(
            "/recipe/session/remove",
            json!({"sessionHandles": [second_handle]}),
        )
        .await;
    assert_eq!(
        body,
        json!({"status": "OK", "sessionHandlesRevoked": [second_handle]})
    );
    let (_, body) = server
        .post(
            "/public/recipe/session/remove",
            json!({"userId": "alice", "revokeSessionsForLinkedAccounts": true,
                   "revokeAcrossAllTenants": false}),
        )
        .await;
    assert_eq!(
        body,
        json!({"status": "OK", "sessionHandlesRevoked": [handle]})
    );
    let (_, body) = server
        .post(
            "/recipe/session/remove",
            json!({"userId": "bob", "revokeSessionsForLinkedAccounts": true,
                   "revokeAcrossAllTenants": true}),
        )
        .await;
    assert_eq!(body["sessionHandlesRevoked"].as_array().unwrap().len(), 1);

    // Everything about a revoked session is UNAUTHORISED.
    let (_, body) = server
        .get(&format!("/recipe/session?sessionHandle={handle}"))
        .await;
    assert_eq!(body["status"], "UNAUTHORISED");
    let (_, body) = server
        .put(
            "/recipe/session/data",
            json!({"sessionHandle": handle, "userDataInDatabase": {}}),
        )
        .await;
    assert_eq!(body["status"], "UNAUTHORISED");
    let (_, body) = server
        .post(
            "/recipe/session/verify",
            json!({"accessToken": access, "doAntiCsrfCheck": false, "enableAntiCsrf": false,
                   "checkDatabase": true}),
        )
        .await;
    assert_eq!(body["status"], "UNAUTHORISED");
    let (_, body) = server
        .post(
            "/recipe/session/regenerate",
            json!({"accessToken": access, "userDataInJWT": {}}),
        )
        .await;
    assert_eq!(body["status"], "UNAUTHORISED");
}

#[tokio::test]
async fn anti_csrf() {
    let server = Server::start("").await;
    let (_, created) = server
        .post(
            "/public/recipe/session",
            json!({"userId": "carol", "userDataInJWT": {}, "userDataInDatabase": {},
                   "enableAntiCsrf": true}),
        )
        .await;
    let csrf = created["antiCsrfToken"].as_str().unwrap().to_owned();
    let access = token(&created, "accessToken");
    let verify = |csrf: Option<&str>| {
        let mut body = json!({"accessToken": access, "doAntiCsrfCheck": true,
                              "enableAntiCsrf": true, "checkDatabase": false});
        if let Some(csrf) = csrf {
            body["antiCsrfToken"] = json!(csrf);
        }
        body
    };
    let (_, body) = server
        .post("/recipe/session/verify", verify(Some(&csrf)))
        .await;
    assert_eq!(body["status"], "OK");
    let (_, body) = server
        .post("/recipe/session/verify", verify(Some("wrong")))
        .await;
    assert_eq!(body["status"], "TRY_REFRESH_TOKEN");
    let (_, body) = server.post("/recipe/session/verify", verify(None)).await;
    assert_eq!(body["status"], "TRY_REFRESH_TOKEN");
    let (_, body) = server
        .post(
            "/recipe/session/refresh",
            json!({"refreshToken": token(&created, "refreshToken"), "antiCsrfToken": "wrong",
                   "enableAntiCsrf": true, "useDynamicSigningKey": true}),
        )
        .await;
    assert_eq!(body["status"], "UNAUTHORISED");
    // The tokens stay valid, and the reply says so as data (the SDKs ignore the field).
    assert_eq!(body["keepTokens"], true, "{body}");
    let (_, body) = server
        .post(
            "/recipe/session/refresh",
            json!({"refreshToken": token(&created, "refreshToken"), "antiCsrfToken": csrf,
                   "enableAntiCsrf": true, "useDynamicSigningKey": true}),
        )
        .await;
    assert_eq!(body["status"], "OK", "{body}");
    assert!(body["antiCsrfToken"].is_string());
}

#[tokio::test]
async fn theft_is_detected_and_revokes() {
    let server = Server::start("refresh_token_rotation_grace_period: 0\n").await;
    let created = server.create("dave", json!({})).await;
    let handle = created["session"]["handle"].as_str().unwrap().to_owned();
    let refresh = |token: String| json!({"refreshToken": token, "enableAntiCsrf": false, "useDynamicSigningKey": true});
    let rt0 = token(&created, "refreshToken");
    let (_, first) = server
        .post("/recipe/session/refresh", refresh(rt0.clone()))
        .await;
    assert_eq!(first["status"], "OK");
    // The victim uses the child token, which commits the rotation.
    let (_, second) = server
        .post(
            "/recipe/session/refresh",
            refresh(token(&first, "refreshToken")),
        )
        .await;
    assert_eq!(second["status"], "OK", "{second}");
    // The attacker replays the original token, after the zero grace window (which includes the
    // millisecond of the rotation) has passed.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let (status, theft) = server.post("/recipe/session/refresh", refresh(rt0)).await;
    assert_eq!(status, 200);
    assert_eq!(
        theft,
        json!({"status": "TOKEN_THEFT_DETECTED",
               "session": {"handle": handle, "userId": "dave", "recipeUserId": "dave"}})
    );
    // The session is gone for everyone.
    let (_, body) = server
        .post(
            "/recipe/session/refresh",
            refresh(token(&second, "refreshToken")),
        )
        .await;
    assert_eq!(body["status"], "UNAUTHORISED");
    let (_, body) = server.get("/metrics").await;
    let metrics = body.as_str().unwrap();
    assert!(
        metrics.contains(r#"tessera_token_theft_detected_total{app="public"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"tessera_sessions_created_total{app="public"} 1"#));
    assert!(metrics.contains("tessera_http_request_duration_seconds_bucket"));
}

#[tokio::test]
async fn bad_input_gets_clear_4xx() {
    let server = Server::start("max_body_bytes: 4096\n").await;
    let json_ct = [("content-type", "application/json")];
    let check = |status: u16, body: &Value, expected: u16| {
        assert_eq!(status, expected, "{body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    };
    let (s, b) = server
        .raw(
            "POST",
            "/public/recipe/session",
            b"{not json".to_vec(),
            &json_ct,
        )
        .await;
    check(s, &b, 400);
    let (s, b) = server
        .post("/public/recipe/session", json!({"userDataInJWT": {}}))
        .await;
    check(s, &b, 400);
    assert!(b["message"].as_str().unwrap().contains("userId"), "{b}");
    let (s, b) = server
        .post(
            "/public/recipe/session",
            json!({"userId": 5, "userDataInJWT": {}, "userDataInDatabase": {},
                   "enableAntiCsrf": false}),
        )
        .await;
    check(s, &b, 400);
    let (s, b) = server
        .post(
            "/recipe/session/verify",
            json!({"accessToken": "x", "doAntiCsrfCheck": "yes", "enableAntiCsrf": false,
                   "checkDatabase": false}),
        )
        .await;
    check(s, &b, 400);
    let (s, b) = server
        .raw(
            "POST",
            "/recipe/session/refresh",
            vec![b' '; 10_000],
            &json_ct,
        )
        .await;
    check(s, &b, 413);
    let (s, b) = server.get("/recipe/session/user").await;
    check(s, &b, 400);
    let (s, b) = server.get("/recipe/session").await;
    check(s, &b, 400);
    let (s, b) = server.get("/no/such/route").await;
    check(s, &b, 404);
    let (s, b) = server
        .raw("DELETE", "/recipe/session/verify", vec![], &[])
        .await;
    check(s, &b, 405);
    let (s, b) = server.get("/recipe/session/verify").await;
    check(s, &b, 405);
    let (s, b) = server
        .post(
            "/recipe/session/remove",
            json!({"userId": "a", "sessionHandles": []}),
        )
        .await;
    check(s, &b, 400);
    let (s, b) = server.post("/recipe/session/remove", json!({})).await;
    check(s, &b, 400);
    // Another tenant does not exist.
    let (s, b) = server
        .post(
            "/acme/recipe/session",
            json!({"userId": "a", "userDataInJWT": {}, "userDataInDatabase": {},
                   "enableAntiCsrf": false}),
        )
        .await;
    check(s, &b, 400);
    assert!(b["message"].as_str().unwrap().contains("acme"));
    let (s, b) = server.get("/acme/recipe/session/user?userId=a").await;
    check(s, &b, 400);
    // Nothing above hurt the server.
    let (s, _) = server.get("/hello").await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn api_key_is_enforced() {
    let server = Server::start_with("", Some("secret-key-0123456789")).await;
    let (s, b) = server.get("/apiversion").await;
    assert_eq!(s, 200, "{b}");
    for headers in [vec![], vec![("api-key", "wrong")]] {
        let (s, b) = server
            .raw("GET", "/recipe/session/user?userId=a", vec![], &headers)
            .await;
        assert_eq!(s, 401, "{b}");
        assert_eq!(b["message"], "Invalid API key");
    }
    let (s, _) = server
        .raw(
            "GET",
            "/recipe/session/user?userId=a",
            vec![],
            &[("authorization", "Bearer secret-key-0123456789")],
        )
        .await;
    assert_eq!(s, 200);
    // Public endpoints stay public.
    let (s, _) = server
        .raw("GET", "/.well-known/jwks.json", vec![], &[])
        .await;
    assert_eq!(s, 200);
    let (s, _) = server.raw("GET", "/hello", vec![], &[]).await;
    assert_eq!(s, 200);
}

#[tokio::test]
async fn bad_config_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bad.yaml");
    std::fs::write(&config, "port: 0\nacess_token_validity: 10\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("acess_token_validity"), "{stderr}");

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve"])
        .env("TESSERA_PORT", "not-a-port")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("TESSERA_PORT"), "{stderr}");
}

#[tokio::test]
async fn sigterm_stops_gracefully() {
    let mut server = Server::start("").await;
    let created = server.create("erin", json!({})).await;
    assert_eq!(created["status"], "OK");
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn logs_never_contain_tokens() {
    let mut server = Server::start_logging("", None, "trace").await;
    let created = server
        .create("grace", json!({"secret": "payload-value"}))
        .await;
    let (_, refreshed) = server
        .post(
            "/recipe/session/refresh",
            json!({"refreshToken": token(&created, "refreshToken"), "enableAntiCsrf": false,
                   "useDynamicSigningKey": true}),
        )
        .await;
    let (_, verified) = server
        .post(
            "/recipe/session/verify",
            json!({"accessToken": token(&refreshed, "accessToken"), "doAntiCsrfCheck": false,
                   "enableAntiCsrf": false, "checkDatabase": true}),
        )
        .await;
    assert_eq!(verified["status"], "OK");
    assert!(server.terminate().success());
    let log = server.log();
    let handle = created["session"]["handle"].as_str().unwrap();
    assert!(log.contains(handle), "handles are logged:\n{log}");
    for secret in [
        token(&created, "accessToken"),
        token(&created, "refreshToken"),
        token(&refreshed, "accessToken"),
        token(&refreshed, "refreshToken"),
        "payload-value".to_owned(),
    ] {
        // The JWT signature part is the secret-looking tail; check the whole token and it.
        let tail = secret.rsplit('.').next().unwrap();
        assert!(
            !log.contains(&secret) && !log.contains(tail),
            "a token leaked:\n{log}"
        );
    }
}

#[tokio::test]
async fn prefixed_and_unprefixed_forms() {
    let server = Server::start("").await;
    let (status, created) = server
        .post(
            "/recipe/session",
            json!({"userId": "hana", "userDataInJWT": {}, "userDataInDatabase": {},
                   "enableAntiCsrf": false}),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    assert_eq!(created["session"]["tenantId"], "public");
    let handle = created["session"]["handle"].as_str().unwrap();
    let (_, info) = server
        .get(&format!("/public/recipe/session?sessionHandle={handle}"))
        .await;
    assert_eq!(info["status"], "OK");
    let (status, body) = server
        .get(&format!("/other/recipe/session?sessionHandle={handle}"))
        .await;
    assert_eq!(status, 400, "{body}");
    // A static-key session gets an `s-` key.
    let (_, created) = server
        .post(
            "/public/recipe/session",
            json!({"userId": "hana", "userDataInJWT": {}, "userDataInDatabase": {},
                   "enableAntiCsrf": false, "useDynamicSigningKey": false}),
        )
        .await;
    let jwt = token(&created, "accessToken");
    let (_, verified) = server
        .post(
            "/recipe/session/verify",
            json!({"accessToken": jwt, "doAntiCsrfCheck": false, "enableAntiCsrf": false,
                   "checkDatabase": false}),
        )
        .await;
    assert_eq!(verified["status"], "OK", "{verified}");
    let (_, jwks) = server.get("/.well-known/jwks.json").await;
    assert!(jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["kid"].as_str().unwrap().starts_with("s-")));
}

#[tokio::test]
async fn sigterm_finishes_in_flight_requests() {
    use std::io::{Read, Write};

    let mut server = Server::start("").await;
    let address = server.url.trim_start_matches("http://").to_owned();
    let body = serde_json::to_vec(&json!({"userId": "ivan", "userDataInJWT": {},
        "userDataInDatabase": {}, "enableAntiCsrf": false}))
    .unwrap();
    let (head, tail) = body.split_at(body.len() / 2);
    // A request whose body is still arriving when SIGTERM comes.
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    let request = format!(
        "POST /public/recipe/session HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nexpect: 100-continue\r\nconnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    stream.flush().unwrap();
    // The server is reading this request's body before the signal: it says "100 Continue" when
    // the handler first asks for the body (a request whose head has not been read yet is not in
    // flight, and shutdown may drop it).
    let mut interim = Vec::new();
    let mut byte = [0u8; 1];
    while !interim.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        interim.push(byte[0]);
    }
    assert!(
        interim.starts_with(b"HTTP/1.1 100"),
        "{}",
        String::from_utf8_lossy(&interim)
    );
    stream.write_all(head).unwrap();
    stream.flush().unwrap();
    server.send_sigterm();
    // Wait (bounded) until the server stops accepting connections: shutdown has begun.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(&address).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "server kept accepting"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    stream.write_all(tail).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.contains("\"status\":\"OK\""), "{response}");
    assert!(server.wait_exit().success());
}

/// A keyless client is counted, not logged at info: it cannot grow the log. Logs written to a
/// file carry no colour escapes.
#[tokio::test]
async fn api_key_rejections_are_counted_not_logged() {
    let mut server = Server::start_logging("", Some("the-key-0123456789"), "info").await;
    for user in ["x", "y"] {
        // `raw` sends only the headers given: no API key.
        let path = format!("/recipe/session/user?userId={user}");
        let (status, _) = server.raw("GET", &path, Vec::new(), &[]).await;
        assert_eq!(status, 401);
    }
    let (_, body) = server.get("/metrics").await;
    let metrics = body.as_str().unwrap();
    assert!(
        metrics.contains("tessera_api_key_rejections_total 2"),
        "{metrics}"
    );
    assert!(server.terminate().success());
    let log = server.log();
    assert!(!log.contains("API key"), "{log}");
    assert!(log.contains("tessera listening"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "no ANSI escapes in a log file:\n{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_reject_bad_input_and_unknown_names() {
    let server = Server::start("").await;
    // A client error with a JSON message.
    let check = |status: u16, body: &Value, expected: u16| {
        assert_eq!(status, expected, "{body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{body}"
        );
    };
    for bad in [
        json!({"tenantId": "recipe"}),
        json!({"tenantId": "appid-x"}),
        json!({"tenantId": "a b"}),
        json!({"tenantId": "x".repeat(65)}),
        json!({"tenantId": 7}),
        json!([]),
    ] {
        let (s, b) = server
            .put("/recipe/multitenancy/tenant/v2", bad.clone())
            .await;
        check(s, &b, 400);
    }
    let (s, b) = server
        .post(
            "/recipe/multitenancy/tenant/remove",
            json!({"tenantId": "public"}),
        )
        .await;
    check(s, &b, 400);
    let (s, b) = server
        .post(
            "/recipe/multitenancy/tenant/remove",
            json!({"tenantId": "ghost"}),
        )
        .await;
    assert_eq!((s, b["didExist"].clone()), (200, json!(false)), "{b}");
    for path in [
        "/ghost/recipe/multitenancy/tenant/v2",
        "/a%20b/recipe/multitenancy/tenant/v2",
    ] {
        let (s, b) = server.get(path).await;
        assert_eq!(s, 200, "{path}: {b}");
        assert_eq!(b["status"], "TENANT_NOT_FOUND_ERROR", "{path}: {b}");
    }
    let (s, b) = server.get("/public/recipe/multitenancy/tenant/v2").await;
    assert_eq!((s, b["tenantId"].clone()), (200, json!("public")), "{b}");

    // Created, a tenant takes sessions; deleted, it refuses them again.
    let (s, b) = server
        .put(
            "/recipe/multitenancy/tenant/v2",
            json!({"tenantId": "acme"}),
        )
        .await;
    assert_eq!((s, b["createdNew"].clone()), (200, json!(true)), "{b}");
    let body = json!({"userId": "a", "userDataInJWT": {}, "userDataInDatabase": {},
                      "enableAntiCsrf": false});
    let (s, b) = server.post("/acme/recipe/session", body.clone()).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["session"]["tenantId"], "acme");
    let (s, b) = server
        .post(
            "/recipe/multitenancy/tenant/remove",
            json!({"tenantId": "acme"}),
        )
        .await;
    assert_eq!((s, b["didExist"].clone()), (200, json!(true)), "{b}");
    let (s, b) = server.post("/acme/recipe/session", body).await;
    check(s, &b, 400);
    let (s, b) = server.get("/recipe/session/user?userId=a").await;
    assert_eq!((s, b["sessionHandles"].clone()), (200, json!([])), "{b}");
}

/// Apps keep everything apart: sessions, tenants and signing keys of one are unknown to another
/// and to `public`; an unknown or removed app is refused with 400, never a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_keep_their_sessions_tenants_and_keys_apart_on_sqlite() {
    apps_keep_their_sessions_tenants_and_keys_apart("").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_keep_their_sessions_tenants_and_keys_apart_on_postgres() {
    let Some(scratch) = common::PostgresScratch::create("tessera_apps").await else {
        return;
    };
    apps_keep_their_sessions_tenants_and_keys_apart(&scratch.config_yaml).await;
    scratch.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apps_keep_their_sessions_tenants_and_keys_apart_on_mysql() {
    let Some(scratch) = common::MySqlScratch::create("tessera_apps").await else {
        return;
    };
    apps_keep_their_sessions_tenants_and_keys_apart(&scratch.config_yaml).await;
    scratch.drop().await;
}

async fn apps_keep_their_sessions_tenants_and_keys_apart(store_yaml: &str) {
    let server = Server::start(store_yaml).await;
    let create = json!({"userId": "u", "userDataInJWT": {}, "userDataInDatabase": {},
                        "enableAntiCsrf": false});
    let (s, b) = server
        .post("/appid-nope/public/recipe/session", create.clone())
        .await;
    assert_eq!(s, 400, "{b}");
    assert!(b["message"].as_str().unwrap().contains("nope"), "{b}");
    for bad in ["Bad_Id", "", "x/y", &"a".repeat(65)] {
        let (s, b) = server
            .put("/recipe/multitenancy/app/v2", json!({"appId": bad}))
            .await;
        assert_eq!(s, 400, "{bad:?}: {b}");
    }
    for app in ["app-one", "app-two"] {
        let (s, b) = server
            .put("/recipe/multitenancy/app/v2", json!({"appId": app}))
            .await;
        assert_eq!((s, b["createdNew"].clone()), (200, json!(true)), "{b}");
    }
    // supertokens-node's own tests name each app with a UUID (longer than a schema name holds
    // once prefixed, on some configurations).
    let uuid = "0b8e5c1a-7f3d-4c2e-9a6b-5d4c3b2a1f0e";
    let (s, b) = server
        .put("/recipe/multitenancy/app/v2", json!({"appId": uuid}))
        .await;
    assert_eq!((s, b["createdNew"].clone()), (200, json!(true)), "{b}");
    let (s, b) = server
        .post(
            &format!("/appid-{uuid}/public/recipe/session"),
            create.clone(),
        )
        .await;
    assert_eq!((s, b["status"].clone()), (200, json!("OK")), "{b}");
    let (s, b) = server
        .post("/recipe/multitenancy/app/remove", json!({"appId": uuid}))
        .await;
    assert_eq!((s, b["didExist"].clone()), (200, json!(true)), "{b}");
    let (_, b) = server
        .put("/recipe/multitenancy/app/v2", json!({"appId": "app-one"}))
        .await;
    assert_eq!(b["createdNew"], false, "{b}");
    let (_, listed) = server.get("/recipe/multitenancy/app/list/v2").await;
    let ids: Vec<&str> = listed["apps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["appId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["public", "app-one", "app-two"], "{listed}");

    let (s, one) = server
        .post("/appid-app-one/public/recipe/session", create.clone())
        .await;
    assert_eq!(s, 200, "{one}");
    let (s, two) = server
        .post("/appid-app-two/public/recipe/session", create.clone())
        .await;
    assert_eq!(s, 200, "{two}");
    let handle = |created: &Value| created["session"]["handle"].clone();
    let (_, b) = server
        .get("/appid-app-one/recipe/session/user?userId=u")
        .await;
    assert_eq!(b["sessionHandles"], json!([handle(&one)]), "{b}");
    let (_, b) = server.get("/recipe/session/user?userId=u").await;
    assert_eq!(b["sessionHandles"], json!([]), "{b}");

    // Each app signs with keys of its own: a token of one is not accepted by the other.
    let kids = |jwks: &Value| -> Vec<String> {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let (_, jwks_one) = server.get("/appid-app-one/.well-known/jwks.json").await;
    let (_, jwks_two) = server.get("/appid-app-two/.well-known/jwks.json").await;
    assert!(kids(&jwks_one)
        .iter()
        .all(|kid| !kids(&jwks_two).contains(kid)));
    let verify = |token: &Value| {
        json!({"accessToken": token["accessToken"]["token"], "doAntiCsrfCheck": false,
               "enableAntiCsrf": false, "checkDatabase": false})
    };
    let (_, b) = server
        .post("/appid-app-two/recipe/session/verify", verify(&one))
        .await;
    assert_eq!(b["status"], "TRY_REFRESH_TOKEN", "{b}");
    let (_, b) = server.post("/recipe/session/verify", verify(&one)).await;
    assert_eq!(b["status"], "TRY_REFRESH_TOKEN", "{b}");
    let (_, b) = server
        .post("/appid-app-one/recipe/session/verify", verify(&one))
        .await;
    assert_eq!(b["status"], "OK", "{b}");

    // Tenants belong to an app.
    let (_, b) = server
        .put(
            "/appid-app-one/recipe/multitenancy/tenant/v2",
            json!({"tenantId": "acme"}),
        )
        .await;
    assert_eq!(b["createdNew"], true, "{b}");
    let (s, _) = server
        .post("/appid-app-one/acme/recipe/session", create.clone())
        .await;
    assert_eq!(s, 200);
    let (s, _) = server
        .post("/appid-app-two/acme/recipe/session", create.clone())
        .await;
    assert_eq!(s, 400);

    // A removed app is refused; the others are not touched.
    let (_, b) = server
        .post(
            "/recipe/multitenancy/app/remove",
            json!({"appId": "app-one"}),
        )
        .await;
    assert_eq!(b["didExist"], true, "{b}");
    let refresh = json!({"refreshToken": one["refreshToken"]["token"], "enableAntiCsrf": false});
    let (s, _) = server
        .post("/appid-app-one/recipe/session/refresh", refresh)
        .await;
    assert_eq!(s, 400);
    let (_, b) = server
        .post("/appid-app-two/recipe/session/verify", verify(&two))
        .await;
    assert_eq!(b["status"], "OK", "{b}");
    let (s, _) = server
        .post(
            "/recipe/multitenancy/app/remove",
            json!({"appId": "public"}),
        )
        .await;
    assert_eq!(s, 400);
}

/// An app's `coreConfig` sets its own token lifetimes; changing it applies to the next sessions,
/// and a bad value is refused when the app is created or updated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_has_settings_of_its_own() {
    let server = Server::start("").await;
    let create = json!({"userId": "u", "userDataInJWT": {}, "userDataInDatabase": {},
                        "enableAntiCsrf": false});
    let lifetime = |created: &Value| {
        let token = &created["accessToken"];
        (token["expiry"].as_i64().unwrap() - token["createdTime"].as_i64().unwrap()) / 1000
    };
    let app = |config: Value| {
        let mut body = json!({"appId": "short"});
        body["coreConfig"] = config;
        body
    };
    let (s, b) = server
        .put(
            "/recipe/multitenancy/app/v2",
            app(json!({"access_token_validity": 120})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (_, short) = server
        .post("/appid-short/public/recipe/session", create.clone())
        .await;
    assert_eq!(lifetime(&short), 120, "{short}");
    let (_, public) = server.post("/public/recipe/session", create.clone()).await;
    assert_eq!(lifetime(&public), 3600, "{public}");

    let (s, b) = server
        .put(
            "/recipe/multitenancy/app/v2",
            app(json!({"access_token_validity": 300, "other_recipe_key": true})),
        )
        .await;
    assert_eq!((s, b["createdNew"].clone()), (200, json!(false)), "{b}");
    let (_, longer) = server
        .post("/appid-short/public/recipe/session", create.clone())
        .await;
    assert_eq!(lifetime(&longer), 300, "{longer}");

    for bad in [
        json!({"access_token_validity": 0}),
        json!({"refresh_token_validity": "soon"}),
        json!([]),
    ] {
        let (s, b) = server
            .put("/recipe/multitenancy/app/v2", app(bad.clone()))
            .await;
        assert_eq!(s, 400, "{bad}: {b}");
    }
    let (_, still) = server
        .post("/appid-short/public/recipe/session", create)
        .await;
    assert_eq!(
        lifetime(&still),
        300,
        "a refused update changed the app: {still}"
    );
}

/// An app's `coreConfig.api_keys` guards that app (and only it), as in SuperTokens core.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_app_can_require_api_keys_of_its_own() {
    let server = Server::start("").await;
    let (s, b) = server
        .put(
            "/recipe/multitenancy/app/v2",
            json!({"appId": "guarded", "coreConfig": {"api_keys": "app-key-one-0123456789, app-key-two-0123456789"}}),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let ask = |key: Option<&'static str>, path: &'static str| {
        let mut headers = vec![("cdi-version", "5.4")];
        if let Some(key) = key {
            headers.push(("api-key", key));
        }
        let server = &server;
        async move { server.raw("GET", path, Vec::new(), &headers).await.0 }
    };
    assert_eq!(ask(None, "/appid-guarded/apiversion").await, 401);
    assert_eq!(
        ask(Some("wrong-key-0123456789"), "/appid-guarded/apiversion").await,
        401
    );
    assert_eq!(
        ask(Some("app-key-two-0123456789"), "/appid-guarded/apiversion").await,
        200
    );
    assert_eq!(ask(None, "/apiversion").await, 200);
    // The JWKS stays public, as for every app.
    assert_eq!(ask(None, "/appid-guarded/.well-known/jwks.json").await, 200);
}
