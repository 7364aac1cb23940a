//! The admin page over plain HTTP: off without a key, signed in only with the right key, its
//! cookie's flags, and every state-changing form refused without this sign-in's anti-CSRF token
//! or from another site. (The browser suite in `tests/admin/` drives the same page in Chromium.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

mod common;

use common::Server;
use serde_json::json;

const ADMIN_KEY: &str = "an-admin-key-for-the-tests";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Signs in; the `tessera_admin=…` cookie pair and the anti-CSRF token of the dashboard's forms.
async fn sign_in(server: &Server) -> (String, String) {
    let response = client()
        .post(format!("{}/admin/login", server.url))
        .form(&[("key", ADMIN_KEY)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let set_cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(set_cookie.contains(flag), "{set_cookie}");
    }
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let page = client()
        .get(format!("{}/admin", server.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker).expect("a form with an anti-CSRF token") + marker.len();
    let token = page[start..][..page[start..].find('"').unwrap()].to_owned();
    (cookie, token)
}

async fn live(server: &Server, access_token: &str) -> bool {
    live_in(server, "", access_token).await
}

/// Whether the access token's session is live in the app at `prefix` (`""` or `/appid-<app>`).
async fn live_in(server: &Server, prefix: &str, access_token: &str) -> bool {
    let (_, body) = server
        .post(
            &format!("{prefix}/recipe/session/verify"),
            json!({"accessToken": access_token, "doAntiCsrfCheck": false,
                   "enableAntiCsrf": false, "checkDatabase": true}),
        )
        .await;
    body["status"] == "OK"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_page_is_off_without_an_admin_key() {
    let server = Server::start("").await;
    for path in ["/admin", "/admin/sessions?user=u"] {
        let status = client()
            .get(format!("{}{path}", server.url))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 404, "{path}");
    }
    let status = client()
        .post(format!("{}/admin/login", server.url))
        .form(&[("key", ADMIN_KEY)])
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_need_this_sign_in_and_its_token_and_the_same_site() {
    let server = Server::start(&format!("admin_key: {ADMIN_KEY}\n")).await;
    let created = server.create("mallory-target", json!({})).await;
    let access = created["accessToken"]["token"].as_str().unwrap();
    let revoke_all = |cookie: Option<String>, token: &str, origin: Option<&str>| {
        let mut request = client()
            .post(format!("{}/admin/users/revoke", server.url))
            .form(&[("user", "mallory-target"), ("csrf", token)]);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };

    // A wrong key: 401 and no cookie; the page says why.
    let wrong = client()
        .post(format!("{}/admin/login", server.url))
        .form(&[("key", "an-admin-key-for-the-test")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());
    assert!(wrong.text().await.unwrap().contains("wrong admin key"));

    let (cookie, token) = sign_in(&server).await;
    let (other_cookie, other_token) = sign_in(&server).await;
    assert_ne!(token, other_token, "form tokens are bound to one sign-in");

    let own_origin = server.url.clone();
    let refusals = [
        (None, token.clone(), Some(own_origin.as_str())),
        (
            Some(cookie.clone()),
            String::new(),
            Some(own_origin.as_str()),
        ),
        (
            Some(cookie.clone()),
            "forged".to_owned(),
            Some(own_origin.as_str()),
        ),
        (
            Some(cookie.clone()),
            other_token.clone(),
            Some(own_origin.as_str()),
        ),
        (
            Some(other_cookie.clone()),
            token.clone(),
            Some(own_origin.as_str()),
        ),
        (
            Some(cookie.clone()),
            token.clone(),
            Some("http://evil.example"),
        ),
        (
            Some("tessera_admin=1.forged".to_owned()),
            token.clone(),
            None,
        ),
    ];
    for (cookie, token, origin) in refusals {
        let response = revoke_all(cookie.clone(), &token, origin).await.unwrap();
        assert_eq!(response.status(), 403, "{cookie:?} {token:?} {origin:?}");
        assert!(
            live(&server, access).await,
            "{cookie:?} {token:?} {origin:?} revoked"
        );
    }

    let done = revoke_all(Some(cookie.clone()), &token, Some(&own_origin))
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    assert_eq!(
        done.headers()["location"],
        "/admin/sessions?app=public&user=mallory-target&revoked=1"
    );
    assert!(!live(&server, access).await);

    // A page of the admin with a user id that is markup shows it as text.
    let page = client()
        .get(format!(
            "{}/admin/sessions?user=%3Cscript%3Ex%3C%2Fscript%3E",
            server.url
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let body = page.text().await.unwrap();
    assert!(!body.contains("<script>"), "{body}");
    assert!(
        body.contains("&#60;script&#62;") || body.contains("&lt;script&gt;"),
        "{body}"
    );

    // Signed out, the cookie is cleared.
    let out = client()
        .post(format!("{}/admin/logout", server.url))
        .header("cookie", &cookie)
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 303);
    assert!(out.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
}

/// A page's body, signed in with `cookie`.
async fn page(server: &Server, cookie: &str, path_and_query: &str) -> (u16, String) {
    let response = client()
        .get(format!("{}{path_and_query}", server.url))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_app_is_shown_and_revoked_on_its_own() {
    let server = Server::start(&format!("admin_key: {ADMIN_KEY}\n")).await;
    let (status, body) = server
        .put("/recipe/multitenancy/app/v2", json!({"appId": "shop"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let in_public = server.create("ann", json!({})).await;
    let (status, in_shop) = server
        .post(
            "/appid-shop/public/recipe/session",
            json!({"userId": "ann", "userDataInJWT": {}, "userDataInDatabase": {},
                   "enableAntiCsrf": false, "useDynamicSigningKey": true}),
        )
        .await;
    assert_eq!(status, 200, "{in_shop}");
    let handle =
        |created: &serde_json::Value| created["session"]["handle"].as_str().unwrap().to_owned();
    let access =
        |created: &serde_json::Value| created["accessToken"]["token"].as_str().unwrap().to_owned();
    let (cookie, token) = sign_in(&server).await;

    // Each app's page lists that app's sessions only, and the picker offers every app.
    let (status, public_page) = page(&server, &cookie, "/admin/sessions?user=ann").await;
    assert_eq!(status, 200);
    assert!(public_page.contains(&handle(&in_public)), "{public_page}");
    assert!(!public_page.contains(&handle(&in_shop)), "{public_page}");
    let (status, shop_page) = page(&server, &cookie, "/admin/sessions?app=shop&user=ann").await;
    assert_eq!(status, 200);
    assert!(shop_page.contains(&handle(&in_shop)), "{shop_page}");
    assert!(!shop_page.contains(&handle(&in_public)), "{shop_page}");
    assert!(
        shop_page.contains(r#"<option value="shop" selected>"#),
        "{shop_page}"
    );
    assert!(
        shop_page.contains(r#"<option value="public">"#),
        "{shop_page}"
    );
    let (status, _) = page(&server, &cookie, "/admin?app=shop").await;
    assert_eq!(status, 200);
    for unknown in ["/admin?app=nope", "/admin/sessions?app=nope&user=ann"] {
        let (status, body) = page(&server, &cookie, unknown).await;
        assert_eq!(status, 404, "{unknown}");
        assert!(body.contains("no such app"), "{body}");
    }

    // Revoking the user in the shop app leaves the public app's session alone.
    let revoked = client()
        .post(format!("{}/admin/users/revoke", server.url))
        .header("cookie", &cookie)
        .header("origin", &server.url)
        .form(&[("csrf", token.as_str()), ("app", "shop"), ("user", "ann")])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 303);
    assert_eq!(
        revoked.headers()["location"],
        "/admin/sessions?app=shop&user=ann&revoked=1"
    );
    assert!(!live_in(&server, "/appid-shop", &access(&in_shop)).await);
    assert!(live(&server, &access(&in_public)).await);

    // A form naming an unknown app changes nothing.
    let refused = client()
        .post(format!("{}/admin/users/revoke", server.url))
        .header("cookie", &cookie)
        .header("origin", &server.url)
        .form(&[("csrf", token.as_str()), ("app", "nope"), ("user", "ann")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 404);
    assert!(live(&server, &access(&in_public)).await);
}

#[test]
fn a_short_or_reused_admin_key_is_refused() {
    use tessera_server::config::ServerConfig;
    let short = ServerConfig::from_yaml("admin_key: short\n", []).unwrap_err();
    assert!(short.to_string().contains("admin_key"), "{short}");
    let reused = ServerConfig::from_yaml(
        "admin_key: a-key-long-enough-to-pass\napi_keys: a-key-long-enough-to-pass\n",
        [],
    )
    .unwrap_err();
    assert!(reused.to_string().contains("differ"), "{reused}");
    let fine = ServerConfig::from_yaml("admin_key: a-key-long-enough-to-pass\n", []).unwrap();
    assert_eq!(fine.admin_key.as_deref(), Some("a-key-long-enough-to-pass"));
}

/// "Why was this user signed out?": a theft provoked through the CDI is found on the dashboard and
/// by user, and the session's page (after the revocation deleted the session) shows the sentence
/// that explains it and the timeline with the replay marked; the app's counters and charts count
/// it, another app's do not, and `/metrics` counts it per app.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_theft_is_explained_with_its_timeline() {
    let server = Server::start(&format!(
        "admin_key: {ADMIN_KEY}\nrefresh_token_rotation_grace_period: 0\n"
    ))
    .await;
    let (status, body) = server
        .put("/recipe/multitenancy/app/v2", json!({"appId": "shop"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let created = server.create("victim", json!({})).await;
    let handle = created["session"]["handle"].as_str().unwrap().to_owned();
    let refresh_token =
        |reply: &serde_json::Value| reply["refreshToken"]["token"].as_str().unwrap().to_owned();
    let refresh = |token: String| json!({"refreshToken": token, "enableAntiCsrf": false, "useDynamicSigningKey": true});
    let (_, child) = server
        .post("/recipe/session/refresh", refresh(refresh_token(&created)))
        .await;
    let (_, grandchild) = server
        .post("/recipe/session/refresh", refresh(refresh_token(&child)))
        .await;
    assert_eq!(grandchild["status"], "OK", "{grandchild}");
    let (_, theft) = server
        .post("/recipe/session/refresh", refresh(refresh_token(&created)))
        .await;
    assert_eq!(theft["status"], "TOKEN_THEFT_DETECTED", "{theft}");

    let (cookie, _) = sign_in(&server).await;
    let link = format!("/admin/session?app=public&amp;handle={handle}");
    let (status, dashboard) = page(&server, &cookie, "/admin").await;
    assert_eq!(status, 200);
    assert!(dashboard.contains(&link), "{dashboard}");
    assert!(dashboard.contains("id=\"rates\""), "{dashboard}");
    assert!(
        dashboard.contains("thefts detected: <strong>1</strong> in the hour"),
        "{dashboard}"
    );
    let (_, by_user) = page(&server, &cookie, "/admin/thefts?user=victim").await;
    assert!(by_user.contains(&link), "{by_user}");
    let (_, other_user) = page(&server, &cookie, "/admin/thefts?user=someone-else").await;
    assert!(other_user.contains("No thefts recorded."), "{other_user}");
    let (_, shop) = page(&server, &cookie, "/admin/thefts?app=shop").await;
    assert!(shop.contains("No thefts recorded."), "{shop}");
    let (_, shop_dashboard) = page(&server, &cookie, "/admin?app=shop").await;
    assert!(
        shop_dashboard.contains("thefts detected: <strong>0</strong> in the hour"),
        "{shop_dashboard}"
    );

    let (status, session) =
        page(&server, &cookie, &format!("/admin/session?handle={handle}")).await;
    assert_eq!(status, 200);
    assert!(session.contains("Not live"), "{session}");
    assert!(
        session.contains("Token 1 was presented by a refresh"),
        "{session}"
    );
    assert!(
        session.contains("after token 2 had been used; the grace window is 0 s, so the session was revoked as stolen. The other copy had reached token 3"),
        "{session}"
    );
    assert_eq!(session.matches("class=\"replay\"").count(), 1, "{session}");
    assert_eq!(session.matches("<g class=\"row").count(), 3, "{session}");
    assert!(
        session.contains(
            "<g class=\"row stolen\"><text class=\"label\" x=\"8\" y=\"30.0\">token 1</text>"
        ),
        "{session}"
    );

    // A live session's page draws its tokens without a theft.
    let live_one = server.create("ann", json!({})).await;
    let live_handle = live_one["session"]["handle"].as_str().unwrap();
    let (status, live_page) = page(
        &server,
        &cookie,
        &format!("/admin/session?handle={live_handle}"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(live_page.contains("id=\"live-timeline\""), "{live_page}");
    assert!(!live_page.contains("class=\"replay\""), "{live_page}");
    let (status, unknown) = page(&server, &cookie, "/admin/session?handle=no-such-session").await;
    assert_eq!(status, 404);
    assert!(
        unknown.contains("Nothing is known about this session"),
        "{unknown}"
    );

    let (_, metrics) = server.get("/metrics").await;
    let metrics = metrics.as_str().unwrap();
    assert!(
        metrics.contains(r#"tessera_token_theft_detected_total{app="public"} 1"#),
        "{metrics}"
    );
    assert!(!metrics.contains(r#"tessera_token_theft_detected_total{app="shop"}"#));
}
