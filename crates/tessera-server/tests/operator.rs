//! The operator commands of the real `tessera` binary: `sessions`, `keys`, `config check` and
//! `migrate`, run against the database of a running server (and on their own), in table and JSON
//! form. A revocation made by the command line reaches the running server through the revocation
//! log; a rotated key signs the next server's tokens.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests fail loudly

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use base64::Engine;
use common::Server;
use serde_json::{json, Value};

/// `tessera ARGS` with only the given `TESSERA_*` variables (not CI's), logging warnings only.
fn command(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tessera"));
    for (name, _) in std::env::vars() {
        if name.starts_with("TESSERA_") {
            command.env_remove(name);
        }
    }
    command
        .args(args)
        .envs(env.iter().copied())
        .env("TESSERA_LOG", "warn");
    command
}

/// Runs `tessera ARGS` to completion.
fn tessera(args: &[&str], env: &[(&str, &str)]) -> Output {
    command(args, env).output().unwrap()
}

/// Like [`tessera`] for a command that must exit by itself: killed (and the test failed) if it
/// is still running after 30 s, so a server that starts when it should not cannot hang the test.
fn tessera_exits(args: &[&str]) -> Output {
    let mut child = command(args, &[])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("tessera {args:?} did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `tessera ARGS --config CONFIG --json`, which must succeed; its JSON.
fn json_of(config: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--config", config.to_str().unwrap(), "--json"]);
    let output = tessera(&all, &[]);
    assert!(
        output.status.success(),
        "tessera {all:?}: {}{}",
        stdout(&output),
        stderr(&output)
    );
    serde_json::from_str(&stdout(&output)).unwrap()
}

async fn verify_status(server: &Server, access_token: &str) -> String {
    server.verify(access_token, false).await["status"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn refresh_status(server: &Server, refresh_token: &str) -> String {
    let (status, body) = server
        .post(
            "/recipe/session/refresh",
            json!({"refreshToken": refresh_token, "enableAntiCsrf": false}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["status"].as_str().unwrap().to_owned()
}

fn handles(listing: &Value) -> Vec<String> {
    let mut handles: Vec<String> = listing
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["handle"].as_str().unwrap().to_owned())
        .collect();
    handles.sort();
    handles
}

/// Sessions in a tenant other than `public`, made through the engine on the server's database
/// (the server's CDI routes serve the public tenant only).
async fn create_in_tenant(database: &Path, user: &str, tenant: &str) -> String {
    let store = tessera_store::SqliteStore::open(database).await.unwrap();
    let sessions = tessera_core::Sessions::new(store, tessera_core::SessionConfig::default());
    let mut new = tessera_core::NewSession::new(user);
    new.tenant_id = tenant.to_owned();
    sessions
        .create_new_session(new)
        .await
        .unwrap()
        .session
        .handle
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_listed_shown_and_revoked_from_the_command_line() {
    let server = Server::start("").await;
    let config = server.config_path().to_owned();
    let database = config.parent().unwrap().join("tessera.db");
    let first = server.create("alice", json!({"role": "admin"})).await;
    let second = server.create("alice", json!({})).await;
    let bob = server.create("bob", json!({})).await;
    let elsewhere = create_in_tenant(&database, "alice", "tenant-two").await;
    let handle = |created: &Value| created["session"]["handle"].as_str().unwrap().to_owned();

    // list: every tenant by default, one with --tenant; never another user's.
    let listed = json_of(&config, &["sessions", "list", "--user", "alice"]);
    let mut expected = vec![handle(&first), handle(&second), elsewhere.clone()];
    expected.sort();
    assert_eq!(handles(&listed), expected);
    let public = json_of(
        &config,
        &["sessions", "list", "--user", "alice", "--tenant", "public"],
    );
    let mut expected_public = vec![handle(&first), handle(&second)];
    expected_public.sort();
    assert_eq!(handles(&public), expected_public);
    let table = tessera(
        &[
            "sessions",
            "list",
            "--user",
            "alice",
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    );
    let table = stdout(&table);
    assert!(table.starts_with("HANDLE"), "{table}");
    for handle in &expected {
        assert!(table.contains(handle.as_str()), "{table}");
    }
    assert!(table.contains("tenant-two"), "{table}");
    assert!(!table.contains(&handle(&bob)), "{table}");

    // show: what the store holds, and a clear error for an unknown handle.
    let shown = json_of(&config, &["sessions", "show", &handle(&first)]);
    assert_eq!(shown["user_id"], "alice");
    assert_eq!(shown["tenant_id"], "public");
    assert_eq!(shown["session_data"], json!({"n": 1}));
    assert_eq!(shown["access_token_payload"]["role"], "admin");
    assert!(shown["expires_at_ms"].as_i64().unwrap() > shown["created_at_ms"].as_i64().unwrap());
    assert_eq!(shown["device_key_thumbprint"], Value::Null);
    // A session bound to a device through the server's own endpoints shows its key.
    let device = tessera_core::testing::TestDevice::es256().unwrap();
    let second_refresh = second["refreshToken"]["token"].as_str().unwrap();
    let (status, challenge) = server
        .post(
            "/tessera/device/challenge",
            json!({"refreshToken": second_refresh}),
        )
        .await;
    assert_eq!(status, 200, "{challenge}");
    assert_eq!(challenge["device"]["bound"], false);
    let proof = device
        .registration(challenge["device"]["challenge"].as_str().unwrap())
        .unwrap();
    let (status, bound) = server
        .post(
            "/tessera/device/bind",
            json!({"refreshToken": second_refresh, "proof": proof}),
        )
        .await;
    assert_eq!(status, 200, "{bound}");
    assert_eq!(bound["status"], "OK", "{bound}");
    let (status, refused) = server
        .post(
            "/tessera/device/bind",
            json!({"refreshToken": second_refresh}),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["message"].as_str().unwrap().contains("proof"),
        "{refused}"
    );
    let shown = json_of(&config, &["sessions", "show", &handle(&second)]);
    assert_eq!(
        shown["device_key_thumbprint"],
        bound["device"]["thumbprint"]
    );
    let missing = tessera(
        &[
            "sessions",
            "show",
            "no-such-handle",
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("no live session with handle no-such-handle"));

    // revoke one: the running server refuses its refresh token at once and its access token
    // within its revocation poll interval (it learns of it from the log, not from the command).
    let access = first["accessToken"]["token"].as_str().unwrap();
    assert_eq!(verify_status(&server, access).await, "OK");
    let revoked = json_of(&config, &["sessions", "revoke", &handle(&first)]);
    assert_eq!(revoked["revoked"], json!([handle(&first)]));
    let revoked_at = Instant::now();
    let refresh = first["refreshToken"]["token"].as_str().unwrap();
    assert_eq!(refresh_status(&server, refresh).await, "UNAUTHORISED");
    let mut checks = tokio::time::interval(Duration::from_millis(10));
    loop {
        checks.tick().await;
        if verify_status(&server, access).await == "UNAUTHORISED" {
            break;
        }
        assert!(
            revoked_at.elapsed() < Duration::from_secs(1),
            "the server still accepts a session revoked from the command line"
        );
    }
    let second_access = second["accessToken"]["token"].as_str().unwrap();
    assert_eq!(verify_status(&server, second_access).await, "OK");

    // revoke a user in one tenant, then everywhere; bob is untouched.
    let in_tenant = json_of(
        &config,
        &[
            "sessions",
            "revoke",
            "--user",
            "alice",
            "--tenant",
            "tenant-two",
        ],
    );
    assert_eq!(in_tenant["revoked"], json!([elsewhere]));
    let rest = json_of(&config, &["sessions", "revoke", "--user", "alice"]);
    assert_eq!(rest["revoked"], json!([handle(&second)]));
    assert_eq!(
        json_of(&config, &["sessions", "list", "--user", "alice"]),
        json!([])
    );
    assert_eq!(
        handles(&json_of(&config, &["sessions", "list", "--user", "bob"])),
        vec![handle(&bob)]
    );
    let again = json_of(&config, &["sessions", "revoke", &handle(&first)]);
    assert_eq!(again["revoked"], json!([]));

    // Nothing to revoke named: a usage error, not a silent success.
    let nothing = tessera(
        &["sessions", "revoke", "--config", config.to_str().unwrap()],
        &[],
    );
    assert_eq!(nothing.status.code(), Some(2), "{}", stderr(&nothing));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_signs_new_tokens_and_the_old_one_keeps_verifying() {
    let mut server = Server::start("").await;
    let config = server.config_path().to_owned();
    let before = server.create("carol", json!({})).await;
    let keys = json_of(&config, &["keys", "list"]);
    let keys = keys.as_array().unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0]["in_use"], true);
    assert_eq!(keys[0]["kind"], "dynamic");
    let old_kid = keys[0]["kid"].as_str().unwrap().to_owned();

    let rotated = json_of(&config, &["keys", "rotate"]);
    let new_kid = rotated["kid"].as_str().unwrap().to_owned();
    assert_ne!(new_kid, old_kid);
    assert_eq!(rotated["in_use"], true);
    let listed = json_of(&config, &["keys", "list"]);
    let in_use: Vec<(&str, bool)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|k| (k["kid"].as_str().unwrap(), k["in_use"].as_bool().unwrap()))
        .collect();
    assert_eq!(
        in_use,
        vec![(new_kid.as_str(), true), (old_kid.as_str(), false)]
    );

    // A server started now signs with the new key; tokens of the old one still verify.
    server.terminate();
    server.restart().await;
    let after = server.create("carol", json!({})).await;
    let kid_of = |created: &Value| {
        let token = created["accessToken"]["token"].as_str().unwrap();
        let header = token.split('.').next().unwrap();
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header)
            .unwrap();
        let header: Value = serde_json::from_slice(&header).unwrap();
        header["kid"].as_str().unwrap().to_owned()
    };
    assert_eq!(kid_of(&before), old_kid);
    assert_eq!(kid_of(&after), new_kid);
    let old_access = before["accessToken"]["token"].as_str().unwrap();
    assert_eq!(verify_status(&server, old_access).await, "OK");
    let (_, jwks) = server.get("/.well-known/jwks.json").await;
    let published: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap())
        .collect();
    assert_eq!(published, vec![new_kid.as_str(), old_kid.as_str()]);
}

#[test]
fn config_check_prints_the_effective_settings_and_names_a_bad_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tessera.yaml");
    std::fs::write(
        &config,
        "access_token_validity: 600\napi_keys: \"a-very-secret-key\"\ndatabase_url: \"postgresql://tessera:db-password@db.internal/sessions\"\n",
    )
    .unwrap();
    let path = config.to_str().unwrap();
    let table = tessera(
        &["config", "check", "--config", path],
        &[("TESSERA_PORT", "4000")],
    );
    assert!(table.status.success(), "{}", stderr(&table));
    let text = stdout(&table);
    for expected in [
        "access_token_validity",
        "600",
        "4000",
        "1 key (masked)",
        "postgresql://tessera:****@db.internal/sessions",
        "migrate_on_start",
    ] {
        assert!(text.contains(expected), "missing {expected}: {text}");
    }
    for secret in ["a-very-secret-key", "db-password"] {
        assert!(!text.contains(secret), "{secret} printed: {text}");
    }
    let json: Value = serde_json::from_str(&stdout(&tessera(
        &["config", "check", "--config", path, "--json"],
        &[],
    )))
    .unwrap();
    assert_eq!(json["access_token_validity"], "600");
    assert_eq!(json["port"], "3567");

    std::fs::write(&config, "acess_token_validity: 600\n").unwrap();
    let typo = tessera(&["config", "check", "--config", path], &[]);
    assert_eq!(typo.status.code(), Some(2));
    assert!(
        stderr(&typo).contains("acess_token_validity"),
        "{}",
        stderr(&typo)
    );
    assert!(stdout(&typo).is_empty());

    std::fs::write(&config, "port: 80\n").unwrap();
    let bad_env = tessera(
        &["config", "check", "--config", path],
        &[("TESSERA_MAX_CONNECTIONS", "lots")],
    );
    assert_eq!(bad_env.status.code(), Some(2));
    assert!(
        stderr(&bad_env).contains("TESSERA_MAX_CONNECTIONS"),
        "{}",
        stderr(&bad_env)
    );

    let zero = tessera(
        &["config", "check", "--config", path],
        &[("TESSERA_ACCESS_TOKEN_VALIDITY", "0")],
    );
    assert_eq!(zero.status.code(), Some(2));
    assert!(
        stderr(&zero).contains("access_token_validity"),
        "{}",
        stderr(&zero)
    );
}

/// With `migrate_on_start: false` nothing alters the schema but `tessera migrate`: the server and
/// the operator commands refuse an unmigrated database, naming the command that fixes it.
fn migrate_separately(store_yaml: &str) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tessera.yaml");
    std::fs::write(
        &config,
        format!("port: 0\nmigrate_on_start: false\n{store_yaml}"),
    )
    .unwrap();
    let path = config.to_str().unwrap();

    let serve = tessera_exits(&["serve", "--config", path]);
    assert!(!serve.status.success());
    assert!(
        stderr(&serve).contains("tessera migrate"),
        "{}",
        stderr(&serve)
    );
    let list = tessera(&["sessions", "list", "--user", "u", "--config", path], &[]);
    assert_eq!(list.status.code(), Some(1));
    assert!(
        stderr(&list).contains("tessera migrate"),
        "{}",
        stderr(&list)
    );

    let migrated = json_of(&config, &["migrate"]);
    assert_eq!(migrated["schema_version_found"], 0);
    let version = migrated["schema_version"].as_i64().unwrap();
    assert!(version >= 3, "{migrated}");
    let again = tessera(&["migrate", "--config", path], &[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(
        stdout(&again).trim(),
        format!("schema already at version {version}")
    );
    assert_eq!(
        json_of(&config, &["sessions", "list", "--user", "u"]),
        json!([])
    );
}

#[test]
fn migrations_can_be_left_to_the_migrate_command_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    migrate_separately(&format!(
        "sqlite_path: {}\n",
        dir.path().join("fresh.db").display()
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_can_be_left_to_the_migrate_command_on_postgres() {
    let Some(scratch) = common::PostgresScratch::create("tessera_migrate").await else {
        return;
    };
    let yaml = scratch.config_yaml.clone();
    tokio::task::spawn_blocking(move || migrate_separately(&yaml))
        .await
        .unwrap();
    scratch.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_can_be_left_to_the_migrate_command_on_mysql() {
    let Some(scratch) = common::MySqlScratch::create("tessera_migrate").await else {
        return;
    };
    let yaml = scratch.config_yaml.clone();
    tokio::task::spawn_blocking(move || migrate_separately(&yaml))
        .await
        .unwrap();
    scratch.drop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_work_on_one_app_with_app() {
    let server = Server::start("").await;
    let config = server.config_path().to_owned();
    let (status, body) = server
        .put("/recipe/multitenancy/app/v2", json!({"appId": "app-one"}))
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, created) = server
        .post(
            "/appid-app-one/public/recipe/session",
            json!({"userId": "dana", "userDataInJWT": {}, "userDataInDatabase": {},
                   "enableAntiCsrf": false}),
        )
        .await;
    assert_eq!(status, 200, "{created}");
    let handle = created["session"]["handle"].as_str().unwrap().to_owned();
    let in_app = json_of(
        &config,
        &["sessions", "list", "--user", "dana", "--app", "app-one"],
    );
    assert_eq!(handles(&in_app), vec![handle.clone()]);
    assert_eq!(
        json_of(&config, &["sessions", "list", "--user", "dana"]),
        json!([])
    );
    // A new app has a key of each family, as SuperTokens core makes one.
    let keys = json_of(&config, &["keys", "list", "--app", "app-one"]);
    let mut kinds: Vec<&str> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kind"].as_str().unwrap())
        .collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["dynamic", "static"], "{keys}");
    let revoked = json_of(
        &config,
        &["sessions", "revoke", &handle, "--app", "app-one"],
    );
    assert_eq!(revoked["revoked"], json!([handle]));
    let missing = tessera(
        &[
            "sessions",
            "list",
            "--user",
            "dana",
            "--app",
            "nope",
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("no app nope"),
        "{}",
        stderr(&missing)
    );
}

/// `tessera thefts list` and `sessions show --tokens`: a theft provoked through the running
/// server is listed by user with its sentence and tokens; the session it ended still shows its
/// tokens from the report; a live session shows its own, numbered and linked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thefts_and_a_sessions_tokens_from_the_command_line() {
    let server = Server::start("refresh_token_rotation_grace_period: 0\n").await;
    let config = server.config_path().to_owned();
    let created = server.create("victim", json!({})).await;
    let handle = created["session"]["handle"].as_str().unwrap().to_owned();
    let refresh_token = |reply: &Value| reply["refreshToken"]["token"].as_str().unwrap().to_owned();
    let refresh = |token: String| json!({"refreshToken": token, "enableAntiCsrf": false});
    let (_, child) = server
        .post("/recipe/session/refresh", refresh(refresh_token(&created)))
        .await;
    // Live: two tokens, the second the first's child, the first used once (to mint it).
    let shown = json_of(&config, &["sessions", "show", &handle, "--tokens"]);
    let tokens = shown["tokens"]["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 2, "{shown}");
    assert_eq!(tokens[1]["parent"], 1);
    assert_eq!(tokens[0]["uses_us"].as_array().unwrap().len(), 1);
    assert!(json_of(&config, &["thefts", "list"])
        .as_array()
        .unwrap()
        .is_empty());

    let (_, grandchild) = server
        .post("/recipe/session/refresh", refresh(refresh_token(&child)))
        .await;
    assert_eq!(grandchild["status"], "OK");
    assert_eq!(
        refresh_status(&server, &refresh_token(&created)).await,
        "TOKEN_THEFT_DETECTED"
    );

    let listed = json_of(&config, &["thefts", "list", "--user", "victim"]);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["session_handle"], handle.as_str());
    assert_eq!(listed[0]["kind"], "refresh");
    assert_eq!(listed[0]["revoked"], true);
    assert!(listed[0]["explanation"]
        .as_str()
        .unwrap()
        .starts_with("Token 1 was presented by a refresh"));
    assert_eq!(listed[0]["tokens"]["theft"]["token"], 1);
    assert!(json_of(&config, &["thefts", "list", "--user", "nobody"])
        .as_array()
        .unwrap()
        .is_empty());
    let table = stdout(&tessera(
        &["thefts", "list", "--config", config.to_str().unwrap()],
        &[],
    ));
    assert!(table.starts_with("ID"), "{table}");
    assert!(
        table.contains(&handle) && table.contains("revoked"),
        "{table}"
    );

    // The session is gone, but its tokens are still shown from the report.
    let gone = json_of(&config, &["sessions", "show", &handle, "--tokens"]);
    assert_eq!(gone["live"], false, "{gone}");
    assert_eq!(
        gone["thefts"][0]["tokens"]["tokens"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let text = stdout(&tessera(
        &[
            "sessions",
            "show",
            &handle,
            "--tokens",
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    ));
    assert!(text.contains("ended by a detected theft"), "{text}");
    assert!(text.contains("KILLED BY"), "{text}");
    // Without --tokens a session that is not live is not found, as before.
    let plain = tessera(
        &[
            "sessions",
            "show",
            &handle,
            "--config",
            config.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!plain.status.success());
    assert!(
        stderr(&plain).contains("no live session"),
        "{}",
        stderr(&plain)
    );
}

/// `tessera config keys` needs no configuration (even a broken one), lists every key with its
/// default, and `--markdown` prints the table docs/server.md carries.
#[test]
fn config_keys_lists_every_key_without_a_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, "no_such_key: 1\n").unwrap();
    let listed = json_of(&broken, &["config", "keys"]);
    let keys: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["key"].as_str().unwrap())
        .collect();
    assert!(
        keys.contains(&"theft_report_retention_days") && keys.contains(&"port"),
        "{keys:?}"
    );
    assert_eq!(keys.len(), tessera_server::config::CONFIG_KEYS.len());
    let markdown = tessera(&["config", "keys", "--markdown"], &[]);
    assert!(markdown.status.success());
    let docs = include_str!("../../../docs/server.md");
    assert!(docs.contains(&stdout(&markdown)), "{}", stdout(&markdown));
    // Checking that broken configuration still names its bad key.
    let check = tessera(
        &["config", "check", "--config", broken.to_str().unwrap()],
        &[],
    );
    assert_eq!(check.status.code(), Some(2));
    assert!(stderr(&check).contains("no_such_key"), "{}", stderr(&check));
}
