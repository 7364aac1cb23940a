//! Every CDI version Tessera lists answers as SuperTokens core answered it: the token layout each
//! implies, create → verify → refresh → first use → theft at the replay → revoke, sessions moving
//! between versions, refused versions; and the core-side inputs supertokens-node's own tests use
//! (empty user ids, the JWT recipe).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Value};
use tessera_testkit::Server;

/// Every version `/apiversion` lists.
const VERSIONS: [&str; 31] = [
    "1.0", "2.0", "2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7", "2.8", "2.9", "2.10", "2.11",
    "2.12", "2.13", "2.14", "2.15", "2.16", "2.17", "2.18", "2.19", "2.20", "2.21", "3.0", "3.1",
    "4.0", "5.0", "5.1", "5.2", "5.3", "5.4",
];

/// A version as its SDKs speak it: paths, request fields and what to expect back.
#[derive(Clone, Copy)]
struct Sdk {
    major: u32,
    minor: u32,
}

impl Sdk {
    fn new(version: &str) -> Self {
        let (major, minor) = version.split_once('.').unwrap();
        Self {
            major: major.parse().unwrap(),
            minor: minor.parse().unwrap(),
        }
    }

    fn at_least(self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }

    /// The access-token layout SuperTokens core minted for this version.
    fn layout(self) -> &'static str {
        if self.at_least(4, 0) {
            "5"
        } else if self.at_least(3, 0) {
            "4"
        } else if self.at_least(2, 21) {
            "3"
        } else {
            "2"
        }
    }

    /// `/recipe/<path>`, without the prefix before 2.4.
    fn path(self, path: &str) -> String {
        if self.at_least(2, 4) {
            format!("/recipe/{path}")
        } else {
            format!("/{path}")
        }
    }

    /// The session-creation path: tenants in the path from 3.0 on.
    fn create_path(self) -> String {
        if self.at_least(3, 0) {
            "/public/recipe/session".to_owned()
        } else {
            self.path("session")
        }
    }

    /// Adds the fields this version's drivers send: `enableAntiCsrf` from 2.6, `checkDatabase`
    /// and `useDynamicSigningKey` from 2.21.
    fn body(self, mut body: Value, check_database: bool) -> Value {
        if self.at_least(2, 6) {
            body["enableAntiCsrf"] = json!(false);
        }
        if self.at_least(2, 21) {
            body["useDynamicSigningKey"] = json!(true);
            if check_database {
                body["checkDatabase"] = json!(false);
            }
        }
        body
    }
}

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
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .or_else(|_| STANDARD.decode(part))
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The header's version: the legacy layouts have a fixed header in standard base64.
fn layout_of(token: &str) -> String {
    segment(token, 0)["version"].as_str().unwrap().to_owned()
}

async fn create(server: &Server, version: &str, user: &str) -> Value {
    let sdk = Sdk::new(version);
    let (status, body) = call(
        server,
        version,
        "POST",
        &sdk.create_path(),
        sdk.body(
            json!({"userId": user, "userDataInJWT": {"plan": "gold"}, "userDataInDatabase": {}}),
            false,
        ),
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
    let sdk = Sdk::new(version);
    let (status, body) = call(
        server,
        version,
        "POST",
        &sdk.path("session/verify"),
        sdk.body(
            json!({"accessToken": token, "doAntiCsrfCheck": false}),
            true,
        ),
    )
    .await;
    assert_eq!(status, 200, "{version}: {body}");
    body
}

async fn refresh(server: &Server, version: &str, token: &Value) -> Value {
    let sdk = Sdk::new(version);
    let (status, body) = call(
        server,
        version,
        "POST",
        &sdk.path("session/refresh"),
        sdk.body(json!({"refreshToken": token}), false),
    )
    .await;
    assert_eq!(status, 200, "{version}: {body}");
    body
}

/// The claims' user id: `userId` in the legacy layouts, `sub` after.
fn claimed_user(claims: &Value) -> &Value {
    claims.get("sub").unwrap_or(&claims["userId"])
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
    assert_eq!(listed, VERSIONS);
    for refused in ["2.22", "1.1", "5.5", "banana", "5.4.1"] {
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
            body["message"].as_str().unwrap().contains("1.0, 2.0, 2.1"),
            "{refused}: {body}"
        );
    }
}

/// The whole life of a session at each version, with a grace window of zero so the replay is
/// theft at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_version_runs_a_session_from_creation_to_theft_and_revocation() {
    let server = Server::start("refresh_token_rotation_grace_period: 0\n").await;
    for version in VERSIONS {
        let sdk = Sdk::new(version);
        let layout = sdk.layout();
        let user = format!("user-{version}");
        let created = create(&server, version, &user).await;
        let access = &created["accessToken"]["token"];
        let header = segment(access.as_str().unwrap(), 0);
        let claims = segment(access.as_str().unwrap(), 1);
        assert_eq!(header["version"], json!(layout), "{version}: {header}");
        assert_eq!(claimed_user(&claims), &json!(user));
        if layout == "2" {
            assert_eq!(claims["userData"]["plan"], json!("gold"), "{claims}");
        } else {
            assert_eq!(claims["plan"], json!("gold"));
            assert!(
                header["kid"].as_str().unwrap().starts_with("d-"),
                "{header}"
            );
        }
        assert_eq!(
            claims.get("tId").is_some(),
            layout >= "4",
            "{version}: {claims}"
        );
        assert_eq!(
            claims.get("rsub").is_some(),
            layout == "5",
            "{version}: {claims}"
        );
        // What the handshake-era drivers read from a new session.
        let handshake_era = !sdk.at_least(2, 21);
        assert_eq!(
            created.get("idRefreshToken").is_some(),
            handshake_era,
            "{created}"
        );
        assert_eq!(
            created.get("jwtSigningPublicKey").is_some(),
            handshake_era,
            "{created}"
        );
        assert_eq!(
            created.get("jwtSigningPublicKeyList").is_some(),
            handshake_era && sdk.at_least(2, 9),
            "{created}"
        );
        let cookies = !sdk.at_least(2, 4);
        assert_eq!(
            created["accessToken"].get("cookiePath").is_some(),
            cookies,
            "{created}"
        );
        assert_eq!(
            created["refreshToken"].get("domain").is_some(),
            cookies,
            "{created}"
        );
        assert_eq!(
            created["accessToken"].get("sameSite").is_some(),
            cookies && sdk.at_least(2, 0),
            "{created}"
        );

        let verified = verify(&server, version, access).await;
        assert_eq!(verified["status"], json!("OK"), "{version}: {verified}");
        assert_eq!(verified["session"]["userId"], json!(user));
        assert!(verified.get("accessToken").is_none(), "{verified}");
        assert_eq!(
            verified.get("jwtSigningPublicKey").is_some(),
            handshake_era,
            "{verified}"
        );

        // Refresh, then the first verification of the new access token commits its refresh
        // token and hands back a token of the same layout without the parent claim.
        let first = &created["refreshToken"]["token"];
        let refreshed = refresh(&server, version, first).await;
        assert_eq!(refreshed["status"], json!("OK"), "{version}: {refreshed}");
        assert_eq!(
            refreshed.get("idRefreshToken").is_some(),
            handshake_era,
            "{refreshed}"
        );
        assert!(
            refreshed.get("jwtSigningPublicKey").is_none(),
            "{refreshed}"
        );
        let next_access = refreshed["accessToken"]["token"].as_str().unwrap();
        assert_eq!(layout_of(next_access), layout);
        assert!(segment(next_access, 1)["parentRefreshTokenHash1"].is_string());
        let first_use = verify(&server, version, &json!(next_access)).await;
        assert_eq!(first_use["status"], json!("OK"), "{version}: {first_use}");
        let reissued = first_use["accessToken"]["token"].as_str().unwrap();
        assert_eq!(layout_of(reissued), layout);
        assert!(segment(reissued, 1)
            .get("parentRefreshTokenHash1")
            .is_none_or(Value::is_null));

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

        // Revocation by handle through the version's own call.
        let other = create(&server, version, &user).await;
        let handle = other["session"]["handle"].clone();
        if version == "1.0" {
            let (status, removed) = call(
                &server,
                version,
                "DELETE",
                "/session",
                json!({"sessionHandle": handle}),
            )
            .await;
            assert_eq!(
                (status, removed["numberOfSessionsRevoked"].clone()),
                (200, json!(1))
            );
        } else {
            let remove_path = if sdk.at_least(3, 0) {
                "/public/recipe/session/remove".to_owned()
            } else {
                sdk.path("session/remove")
            };
            let (status, removed) = call(
                &server,
                version,
                "POST",
                &remove_path,
                json!({"sessionHandles": [handle]}),
            )
            .await;
            assert_eq!(status, 200, "{removed}");
            assert_eq!(removed["sessionHandlesRevoked"], json!([handle]));
        }
        let gone = refresh(&server, version, &other["refreshToken"]["token"]).await;
        assert_eq!(gone["status"], json!("UNAUTHORISED"), "{version}: {gone}");
    }
}

/// The handshake of each version before 2.21 hands over the key that verifies that version's
/// tokens, and the settings its drivers read; 2.21 and later have none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handshake_hands_over_the_verifying_key() {
    let server = Server::start("").await;
    for version in VERSIONS {
        let sdk = Sdk::new(version);
        let (status, handshake) =
            call(&server, version, "POST", &sdk.path("handshake"), json!({})).await;
        if sdk.at_least(2, 21) {
            assert_eq!(status, 404, "{version}: {handshake}");
            continue;
        }
        assert_eq!(
            (status, handshake["status"].clone()),
            (200, json!("OK")),
            "{version}: {handshake}"
        );
        let key = handshake["jwtSigningPublicKey"].as_str().unwrap();
        assert!(handshake["jwtSigningPublicKeyExpiryTime"].as_i64().unwrap() > 1_600_000_000_000);
        assert_eq!(handshake["accessTokenBlacklistingEnabled"], json!(false));
        assert_eq!(
            handshake.get("enableAntiCsrf").is_some(),
            !sdk.at_least(2, 6),
            "{handshake}"
        );
        assert_eq!(
            handshake.get("cookieDomain").is_some(),
            !sdk.at_least(2, 4),
            "{handshake}"
        );
        assert_eq!(
            handshake.get("accessTokenValidity").is_some(),
            sdk.at_least(2, 4),
            "{handshake}"
        );
        assert_eq!(
            handshake.get("jwtSigningPublicKeyList").is_some(),
            sdk.at_least(2, 9),
            "{handshake}"
        );
        // The key verifies the version's tokens as the drivers verify them.
        let created = create(&server, version, "keyholder").await;
        let token = created["accessToken"]["token"].as_str().unwrap();
        let (signed, signature) = token.rsplit_once('.').unwrap();
        aws_lc_rs::signature::UnparsedPublicKey::new(
            &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
            STANDARD.decode(key).unwrap(),
        )
        .verify(signed.as_bytes(), &STANDARD.decode(signature).unwrap())
        .unwrap_or_else(|_| panic!("{version}: the handshake key does not verify"));
    }
}

/// The 1.0 driver's other calls: a user's handles, session data read and replaced, and
/// `DELETE /session` by user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_drivers_calls_work() {
    let server = Server::start("").await;
    let created = create(&server, "1.0", "first").await;
    let handle = created["session"]["handle"].as_str().unwrap();
    let (status, body) = call(
        &server,
        "1.0",
        "GET",
        "/session/user?userId=first",
        Value::Null,
    )
    .await;
    assert_eq!(
        (status, body["sessionHandles"].clone()),
        (200, json!([handle])),
        "{body}"
    );
    let (status, body) = call(
        &server,
        "1.0",
        "PUT",
        "/session/data",
        json!({"sessionHandle": handle, "userDataInDatabase": {"cart": 2}}),
    )
    .await;
    assert_eq!(
        (status, body["status"].clone()),
        (200, json!("OK")),
        "{body}"
    );
    let (status, body) = call(
        &server,
        "1.0",
        "GET",
        &format!("/session/data?sessionHandle={handle}"),
        Value::Null,
    )
    .await;
    assert_eq!(
        (status, body["userDataInDatabase"].clone()),
        (200, json!({"cart": 2})),
        "{body}"
    );
    let (status, body) = call(
        &server,
        "2.0",
        "GET",
        &format!("/jwt/data?sessionHandle={handle}"),
        Value::Null,
    )
    .await;
    assert_eq!(
        (status, body["userDataInJWT"].clone()),
        (200, json!({"plan": "gold"})),
        "{body}"
    );
    let (status, body) = call(
        &server,
        "1.0",
        "DELETE",
        "/session",
        json!({"userId": "first"}),
    )
    .await;
    assert_eq!(
        (status, body["numberOfSessionsRevoked"].clone()),
        (200, json!(1)),
        "{body}"
    );
    let (status, body) = call(
        &server,
        "1.0",
        "GET",
        &format!("/session/data?sessionHandle={handle}"),
        Value::Null,
    )
    .await;
    assert_eq!(
        (status, body["status"].clone()),
        (200, json!("UNAUTHORISED")),
        "{body}"
    );
    let (status, _) = call(
        &server,
        "1.0",
        "DELETE",
        "/session",
        json!({"userId": "a", "sessionHandle": "b"}),
    )
    .await;
    assert_eq!(status, 400);
}

/// An app upgrading its SDK keeps its users signed in: a session made by the oldest version
/// verifies and refreshes through the newest, and the other way round.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_cross_versions() {
    let server = Server::start("").await;
    let old = create(&server, "1.0", "upgrader").await;
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
    let refreshed = refresh(&server, "2.9", &refreshed["refreshToken"]["token"]).await;
    let token = refreshed["accessToken"]["token"].as_str().unwrap();
    assert_eq!(layout_of(token), "2");
    let verified = verify(&server, "2.21", &json!(token)).await;
    assert_eq!(verified["status"], json!("OK"), "{verified}");
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

/// An SDK that switches `useDynamicSigningKey` gets tokens of the new family from its next
/// refresh on, and the first use of such a token keeps the family (the SDKs refuse a token of
/// the other family).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_switches_the_key_family_the_sdk_asks_for() {
    let server = Server::start("").await;
    let created = create(&server, "5.4", "switcher").await;
    let kid = |token: &Value| {
        segment(token.as_str().unwrap(), 0)["kid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(kid(&created["accessToken"]["token"]).starts_with("d-"));
    let (status, refreshed) = call(
        &server,
        "5.4",
        "POST",
        "/recipe/session/refresh",
        json!({"refreshToken": created["refreshToken"]["token"], "enableAntiCsrf": false,
               "useDynamicSigningKey": false}),
    )
    .await;
    assert_eq!(
        (status, refreshed["status"].clone()),
        (200, json!("OK")),
        "{refreshed}"
    );
    assert!(
        kid(&refreshed["accessToken"]["token"]).starts_with("s-"),
        "{refreshed}"
    );
    let first_use = verify(&server, "5.4", &refreshed["accessToken"]["token"]).await;
    let reissued = &first_use["accessToken"]["token"];
    assert!(kid(reissued).starts_with("s-"), "{first_use}");
    let again = verify(&server, "5.4", reissued).await;
    assert_eq!(again["status"], json!("OK"), "{again}");
    assert!(again.get("accessToken").is_none(), "{again}");
}
