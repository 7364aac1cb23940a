//! Every CDI version Tessera lists answers as SuperTokens core answered it: the token layout each
//! implies, create → verify → refresh → first use → theft at the replay → revoke, sessions moving
//! between versions, refused versions; and the core-side inputs supertokens-node's own tests use
//! (empty user ids, the JWT recipe).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use tessera_testkit::Server;

/// Every version `/apiversion` lists, with the access-token layout each mints.
const VERSIONS: [(&str, &str); 9] = [
    ("2.21", "3"),
    ("3.0", "4"),
    ("3.1", "4"),
    ("4.0", "5"),
    ("5.0", "5"),
    ("5.1", "5"),
    ("5.2", "5"),
    ("5.3", "5"),
    ("5.4", "5"),
];

/// A request as an SDK of `version` sends it.
async fn call(
    server: &Server,
    version: &str,
    method: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let body = if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(&body).unwrap()
    };
    server
        .raw(
            method,
            path,
            body,
            &[
                ("cdi-version", version),
                ("content-type", "application/json"),
                ("rid", "session"),
            ],
        )
        .await
}

fn segment(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// The session-creation path of a version: tenants in the path from 3.0 on.
fn create_path(version: &str) -> &'static str {
    if version == "2.21" {
        "/recipe/session"
    } else {
        "/public/recipe/session"
    }
}

async fn create(server: &Server, version: &str, user: &str) -> Value {
    let (status, body) = call(
        server,
        version,
        "POST",
        create_path(version),
        json!({"userId": user, "userDataInJWT": {"plan": "gold"}, "userDataInDatabase": {},
               "enableAntiCsrf": false, "useDynamicSigningKey": true}),
    )
    .await;
    assert_eq!(
        (status, body["status"].clone()),
        (200, json!("OK")),
        "{version}: {body}"
    );
    body
}

async fn verify(server: &Server, version: &str, token: &Value) -> Value {
    let (status, body) = call(
        server,
        version,
        "POST",
        "/recipe/session/verify",
        json!({"accessToken": token, "doAntiCsrfCheck": false, "enableAntiCsrf": false,
               "checkDatabase": false}),
    )
    .await;
    assert_eq!(status, 200, "{version}: {body}");
    body
}

async fn refresh(server: &Server, version: &str, token: &Value) -> Value {
    let (status, body) = call(
        server,
        version,
        "POST",
        "/recipe/session/refresh",
        json!({"refreshToken": token, "enableAntiCsrf": false, "useDynamicSigningKey": true}),
    )
    .await;
    assert_eq!(status, 200, "{version}: {body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_version_is_listed_and_others_refused() {
    let server = Server::start("").await;
    let (status, body) = call(&server, "5.4", "GET", "/apiversion", Value::Null).await;
    assert_eq!(status, 200);
    let listed: Vec<&str> = body["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let expected: Vec<&str> = VERSIONS.iter().map(|(v, _)| *v).collect();
    assert_eq!(listed, expected);
    for refused in ["2.20", "1.0", "5.5", "banana", "5.4.1"] {
        let (status, body) = call(
            &server,
            refused,
            "POST",
            "/public/recipe/session",
            json!({"userId": "u", "userDataInJWT": {}, "userDataInDatabase": {},
                   "enableAntiCsrf": false}),
        )
        .await;
        assert_eq!(status, 400, "{refused}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains("2.21, 3.0"),
            "{refused}: {body}"
        );
    }
}

/// The whole life of a session at each version, with a grace window of zero so the replay is
/// theft at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_version_runs_a_session_from_creation_to_theft_and_revocation() {
    let server = Server::start("refresh_token_rotation_grace_period: 0\n").await;
    for (version, layout) in VERSIONS {
        let user = format!("user-{version}");
        let created = create(&server, version, &user).await;
        let access = &created["accessToken"]["token"];
        let header = segment(access.as_str().unwrap(), 0);
        let claims = segment(access.as_str().unwrap(), 1);
        assert_eq!(header["version"], json!(layout), "{version}: {header}");
        assert_eq!(claims["sub"], json!(user));
        assert_eq!(claims["plan"], json!("gold"));
        assert_eq!(
            claims.get("tId").is_some(),
            layout != "3",
            "{version}: {claims}"
        );
        assert_eq!(
            claims.get("rsub").is_some(),
            layout == "5",
            "{version}: {claims}"
        );
        assert!(
            header["kid"].as_str().unwrap().starts_with("d-"),
            "{header}"
        );

        let verified = verify(&server, version, access).await;
        assert_eq!(verified["status"], json!("OK"), "{version}: {verified}");
        assert_eq!(verified["session"]["userId"], json!(user));
        assert!(verified.get("accessToken").is_none(), "{verified}");

        // Refresh, then the first verification of the new access token commits its refresh
        // token and hands back a token of the same layout without the parent claim.
        let first = &created["refreshToken"]["token"];
        let refreshed = refresh(&server, version, first).await;
        assert_eq!(refreshed["status"], json!("OK"), "{version}: {refreshed}");
        let next_access = refreshed["accessToken"]["token"].as_str().unwrap();
        assert_eq!(segment(next_access, 0)["version"], json!(layout));
        assert!(segment(next_access, 1)["parentRefreshTokenHash1"].is_string());
        let first_use = verify(&server, version, &json!(next_access)).await;
        assert_eq!(first_use["status"], json!("OK"), "{version}: {first_use}");
        let reissued = first_use["accessToken"]["token"].as_str().unwrap();
        assert_eq!(segment(reissued, 0)["version"], json!(layout));
        assert!(segment(reissued, 1)["parentRefreshTokenHash1"].is_null());

        // The rotated token comes back: theft, naming the user and the session.
        let replay = refresh(&server, version, first).await;
        assert_eq!(
            replay["status"],
            json!("TOKEN_THEFT_DETECTED"),
            "{version}: {replay}"
        );
        assert_eq!(replay["session"]["userId"], json!(user));
        assert_eq!(replay["session"]["handle"], created["session"]["handle"]);
        let after = refresh(&server, version, &refreshed["refreshToken"]["token"]).await;
        assert_eq!(after["status"], json!("UNAUTHORISED"), "{version}: {after}");

        // Revocation by handle through the version's remove call.
        let other = create(&server, version, &user).await;
        let remove_path = if version == "2.21" {
            "/recipe/session/remove"
        } else {
            "/public/recipe/session/remove"
        };
        let (status, removed) = call(
            &server,
            version,
            "POST",
            remove_path,
            json!({"sessionHandles": [other["session"]["handle"]]}),
        )
        .await;
        assert_eq!(status, 200, "{removed}");
        assert_eq!(
            removed["sessionHandlesRevoked"],
            json!([other["session"]["handle"]])
        );
        let gone = refresh(&server, version, &other["refreshToken"]["token"]).await;
        assert_eq!(gone["status"], json!("UNAUTHORISED"), "{version}: {gone}");
    }
}

/// An app upgrading its SDK keeps its users signed in: a session made by the oldest version
/// verifies and refreshes through the newest, and the other way round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_cross_versions() {
    let server = Server::start("").await;
    let old = create(&server, "2.21", "upgrader").await;
    let verified = verify(&server, "5.4", &old["accessToken"]["token"]).await;
    assert_eq!(
        verified["session"]["tenantId"],
        json!("public"),
        "{verified}"
    );
    let refreshed = refresh(&server, "5.4", &old["refreshToken"]["token"]).await;
    let token = refreshed["accessToken"]["token"].as_str().unwrap();
    assert_eq!(segment(token, 0)["version"], json!("5"));

    let new = create(&server, "5.4", "downgrader").await;
    let verified = verify(&server, "3.0", &new["accessToken"]["token"]).await;
    assert_eq!(verified["status"], json!("OK"), "{verified}");
    let refreshed = refresh(&server, "3.0", &new["refreshToken"]["token"]).await;
    let token = refreshed["accessToken"]["token"].as_str().unwrap();
    assert_eq!(segment(token, 0)["version"], json!("4"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_user_id_is_a_user_id() {
    let server = Server::start("").await;
    let created = create(&server, "5.4", "").await;
    assert_eq!(created["session"]["userId"], json!(""));
    let verified = verify(&server, "5.4", &created["accessToken"]["token"]).await;
    assert_eq!(verified["session"]["userId"], json!(""), "{verified}");
}

/// `POST /recipe/jwt` signs with the key ring, `GET /recipe/jwt/jwks` holds the key that verifies
/// it, and a changed byte does not verify.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_jwt_recipe_signs_with_keys_its_jwks_lists() {
    let server = Server::start("").await;
    for (static_key, prefix) in [(Value::Null, "s-"), (json!(false), "d-")] {
        let mut request = json!({"payload": {"role": "reader"}, "validity": 600,
                                 "algorithm": "RS256", "jwksDomain": "https://api.example"});
        if !static_key.is_null() {
            request["useStaticSigningKey"] = static_key;
        }
        let (status, body) = call(&server, "5.4", "POST", "/recipe/jwt", request).await;
        assert_eq!(
            (status, body["status"].clone()),
            (200, json!("OK")),
            "{body}"
        );
        let jwt = body["jwt"].as_str().unwrap();
        let header = segment(jwt, 0);
        let claims = segment(jwt, 1);
        let kid = header["kid"].as_str().unwrap();
        assert!(kid.starts_with(prefix), "{header}");
        assert_eq!(header["alg"], json!("RS256"));
        assert_eq!(claims["role"], json!("reader"));
        assert_eq!(claims["iss"], json!("https://api.example"));
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            600
        );

        let (status, jwks) = call(&server, "5.4", "GET", "/recipe/jwt/jwks", Value::Null).await;
        assert_eq!(
            (status, jwks["status"].clone()),
            (200, json!("OK")),
            "{jwks}"
        );
        let key = jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|key| key["kid"] == json!(kid))
            .unwrap_or_else(|| panic!("{kid} not in {jwks}"));
        let public = aws_lc_rs::signature::RsaPublicKeyComponents {
            n: URL_SAFE_NO_PAD.decode(key["n"].as_str().unwrap()).unwrap(),
            e: URL_SAFE_NO_PAD.decode(key["e"].as_str().unwrap()).unwrap(),
        };
        let (signed, signature) = jwt.rsplit_once('.').unwrap();
        let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        public
            .verify(
                &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
                signed.as_bytes(),
                &signature,
            )
            .unwrap();
        let tampered = format!("{signed}x");
        assert!(public
            .verify(
                &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
                tampered.as_bytes(),
                &signature,
            )
            .is_err());
    }
    let (status, body) = call(
        &server,
        "5.4",
        "POST",
        "/recipe/jwt",
        json!({"payload": {}, "validity": 60, "algorithm": "HS256", "jwksDomain": "x"}),
    )
    .await;
    assert_eq!(
        (status, body["status"].clone()),
        (200, json!("UNSUPPORTED_ALGORITHM_ERROR"))
    );
    let (status, body) = call(
        &server,
        "5.4",
        "POST",
        "/recipe/jwt",
        json!({"payload": {}, "validity": 0, "algorithm": "RS256", "jwksDomain": "x"}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
}
