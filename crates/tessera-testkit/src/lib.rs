//! The test kit of the workspace's tests: [`Server`] starts the real `tessera` binary on a free
//! port with a temporary SQLite file (or a database of the test's choosing) and gives the test one
//! HTTP client for it; [`PostgresScratch`] and [`MySqlScratch`] give a test a database of its own,
//! and [`database_url`] says when a test is skipped for want of one.
//!
//! The binary is `TESSERA_BIN` if set, else `tessera` in the directory above the running test's
//! own (`target/<profile>/`), where cargo builds it for tessera-server's tests and `cargo test
//! --workspace` for everyone's. A missing binary, or one older than the server's sources (a test
//! of another crate run alone, after an edit, would otherwise test yesterday's server), fails the
//! test with the command that fixes it; nothing is ever skipped silently.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test kit fails loudly

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub struct Server {
    pub child: Child,
    pub url: String,
    /// Holds the config and database until the server is dropped.
    pub _dir: tempfile::TempDir,
    pub client: reqwest::Client,
    pub api_key: Option<String>,
    config: PathBuf,
    log_filter: String,
    extra_args: Vec<String>,
}

impl Server {
    /// Starts `tessera serve` with `extra_yaml` appended to a config that sets port 0 and a temp
    /// database, then waits until `/hello` answers.
    pub async fn start(extra_yaml: &str) -> Server {
        Self::start_with(extra_yaml, None).await
    }

    pub async fn start_with(extra_yaml: &str, api_key: Option<&str>) -> Server {
        Self::start_logging(extra_yaml, api_key, "warn").await
    }

    /// Starts with log filter `log`; stderr goes to `server.log` in the temp dir.
    pub async fn start_logging(extra_yaml: &str, api_key: Option<&str>, log: &str) -> Server {
        Self::start_full(extra_yaml, api_key, log, &[]).await
    }

    /// Starts with extra command-line arguments before `serve` (global flags).
    pub async fn start_full(
        extra_yaml: &str,
        api_key: Option<&str>,
        log: &str,
        extra_args: &[&str],
    ) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("tessera.yaml");
        let db: PathBuf = dir.path().join("tessera.db");
        // A config that names a database URL uses it instead of the temp SQLite file.
        let mut yaml =
            if extra_yaml.contains("database_url:") || extra_yaml.contains("sqlite_path:") {
                format!("port: 0\n{extra_yaml}")
            } else {
                format!("port: 0\nsqlite_path: {}\n{extra_yaml}", db.display())
            };
        if let Some(key) = api_key {
            yaml.push_str(&format!("api_keys: {key}\n"));
        }
        std::fs::write(&config, yaml).unwrap();
        let (child, url) = spawn(&config, log, extra_args, &dir).await;
        let server = Server {
            child,
            url,
            _dir: dir,
            client: reqwest::Client::new(),
            api_key: api_key.map(str::to_owned),
            config,
            log_filter: log.to_owned(),
            extra_args: extra_args.iter().map(|a| (*a).to_owned()).collect(),
        };
        server.wait_ready().await;
        server
    }

    /// The config file the server was started with (operator commands take it too).
    pub fn config_path(&self) -> &std::path::Path {
        &self.config
    }

    /// `host:port`, for raw TCP clients.
    pub fn address(&self) -> String {
        self.url.trim_start_matches("http://").to_owned()
    }

    /// Kills the process with SIGKILL (no chance to clean up) and waits for it.
    pub fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Starts the server again on the same config and database (after `kill` or `terminate`).
    pub async fn restart(&mut self) {
        let extra: Vec<&str> = self.extra_args.iter().map(String::as_str).collect();
        let (child, url) = spawn(&self.config, &self.log_filter, &extra, &self._dir).await;
        self.child = child;
        self.url = url;
        self.client = reqwest::Client::new();
        self.wait_ready().await;
    }

    /// Polls `/hello` with a bounded number of tries.
    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = self.client.get(format!("{}/hello", self.url)).send().await {
                if r.status() == 200 {
                    return;
                }
            }
            assert!(Instant::now() < deadline, "server never answered /hello");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn with_headers(&self, builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let builder = builder
            .header("cdi-version", "5.4")
            .header("rid", "session");
        match &self.api_key {
            Some(key) => builder.header("api-key", key),
            None => builder,
        }
    }

    /// POST or PUT JSON; returns status and parsed body.
    pub async fn send(&self, method: &str, path: &str, body: Value) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let request = self
            .client
            .request(method, format!("{}{path}", self.url))
            .json(&body);
        let response = self.with_headers(request).send().await.unwrap();
        read(response).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send("POST", path, body).await
    }

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        self.send("PUT", path, body).await
    }

    pub async fn get(&self, path_and_query: &str) -> (u16, Value) {
        let request = self.client.get(format!("{}{path_and_query}", self.url));
        let response = self.with_headers(request).send().await.unwrap();
        read(response).await
    }

    /// A raw request, for malformed input.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        body: Vec<u8>,
        headers: &[(&str, &str)],
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.url))
            .body(body);
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        read(request.send().await.unwrap()).await
    }

    /// CDI verification of an access token in the public app (no anti-CSRF check); the reply.
    pub async fn verify(&self, access_token: &str, check_database: bool) -> Value {
        let (status, body) = self
            .post(
                "/recipe/session/verify",
                serde_json::json!({
                    "accessToken": access_token,
                    "doAntiCsrfCheck": false,
                    "enableAntiCsrf": false,
                    "checkDatabase": check_database,
                }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body
    }

    pub async fn create(&self, user: &str, payload: Value) -> Value {
        let (status, body) = self
            .post(
                "/public/recipe/session",
                serde_json::json!({
                    "userId": user,
                    "userDataInJWT": payload,
                    "userDataInDatabase": {"n": 1},
                    "enableAntiCsrf": false,
                    "useDynamicSigningKey": true,
                }),
            )
            .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["status"], "OK", "{body}");
        body
    }

    /// How many requests the server has answered on `route` (its Prometheus counter).
    pub async fn requests(&self, route: &str) -> u64 {
        let text = self
            .client
            .get(format!("{}/metrics", self.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let label = format!("route=\"{route}\"");
        text.lines()
            .filter(|l| l.starts_with("tessera_http_requests_total{") && l.contains(&label))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap() as u64)
            .sum()
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("server.log")).unwrap()
    }

    /// Sends SIGTERM and waits (bounded) for the process to exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        self.send_sigterm();
        self.wait_exit()
    }

    pub fn send_sigterm(&self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
    }

    /// Waits (bounded) for the process to exit.
    pub fn wait_exit(&mut self) -> std::process::ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "server ignored SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

async fn read(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let text = response.text().await.unwrap();
    if content_type.starts_with("application/json") {
        (status, serde_json::from_str(&text).unwrap())
    } else {
        (status, Value::String(text))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `tessera` binary under test (see the crate docs).
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("TESSERA_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/<test>-<hash> -> target/<profile>/tessera
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).unwrap();
    let bin = profile_dir.join(format!("tessera{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.is_file(),
        "the `tessera` server binary is not at {}. Build it first (`cargo build -p tessera-server`; \
         `cargo test --workspace` does it), or point TESSERA_BIN at it.",
        bin.display()
    );
    assert_not_stale(&bin);
    bin
}

/// A binary older than the server's sources would test yesterday's server. Cargo rebuilds it
/// before tessera-server's own tests and before a workspace run; a test of another crate run
/// alone (`cargo test -p tessera-axum`) builds nothing.
fn assert_not_stale(bin: &std::path::Path) {
    let built = std::fs::metadata(bin).and_then(|m| m.modified()).unwrap();
    let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let newest_source = [
        "tessera-server",
        "tessera-core",
        "tessera-store",
        "tessera-cdi",
    ]
    .iter()
    .flat_map(|name| newest_file(&crates.join(name).join("src")))
    .max();
    if let Some((modified, path)) = newest_source {
        assert!(
            modified <= built,
            "{} is older than {}: rebuild it with `cargo build -p tessera-server` (or run \
             `cargo test --workspace --all-features`)",
            bin.display(),
            path.display()
        );
    }
}

fn newest_file(dir: &std::path::Path) -> Option<(std::time::SystemTime, PathBuf)> {
    let mut newest = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let candidate = if path.is_dir() {
            newest_file(&path)
        } else {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .map(|t| (t, path))
        };
        newest = newest.max(candidate);
    }
    newest
}

/// Spawns `tessera [extra_args] serve --config config` and reads the bound URL off its stdout.
async fn spawn(
    config: &std::path::Path,
    log: &str,
    extra_args: &[&str],
    dir: &tempfile::TempDir,
) -> (Child, String) {
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.path().join("server.log"))
        .unwrap();
    let mut command = Command::new(binary());
    command
        .args(extra_args)
        .arg("serve")
        .arg("--config")
        .arg(config)
        .stdout(Stdio::piped())
        .stderr(log_file);
    // The file is the whole configuration: no stray override from the environment (CI's own
    // TESSERA_TEST_* variables, say).
    for (var, _) in std::env::vars() {
        if var.starts_with("TESSERA_") {
            command.env_remove(var);
        }
    }
    let mut child = command.env("TESSERA_LOG", log).spawn().unwrap();
    // The first stdout line names the bound address.
    let stdout = child.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    let line = tokio::time::timeout(Duration::from_secs(60), line)
        .await
        .expect("server did not start within 60 s")
        .unwrap()
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("tessera listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (child, url)
}

/// A database URL from `variable`, or `None` after saying the test was skipped (a failure when
/// `TESSERA_REQUIRE_DATABASES` forbids skipping).
pub fn database_url(variable: &str) -> Option<String> {
    match std::env::var(variable) {
        Ok(url) => Some(url),
        Err(_) => {
            assert!(
                std::env::var_os("TESSERA_REQUIRE_DATABASES").is_none(),
                "{variable} is not set, and TESSERA_REQUIRE_DATABASES forbids skipping"
            );
            eprintln!("SKIPPED: a test needing {variable}");
            None
        }
    }
}

/// A PostgreSQL schema of its own for one test: `database_url` config for it, dropped by `drop`.
pub struct PostgresScratch {
    pub config_yaml: String,
    admin: sqlx::PgPool,
    schema: String,
}

impl PostgresScratch {
    pub async fn create(prefix: &str) -> Option<PostgresScratch> {
        let url = database_url("TESSERA_TEST_POSTGRES_URL")?;
        let schema = format!("{prefix}_{:016x}", rand::random::<u64>());
        let admin = sqlx::PgPool::connect(&url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&admin)
            .await
            .unwrap();
        let separator = if url.contains('?') { '&' } else { '?' };
        let store_url = format!("{url}{separator}options=-c%20search_path%3D{schema}");
        Some(PostgresScratch {
            config_yaml: format!("database_url: \"{store_url}\"\n"),
            admin,
            schema,
        })
    }

    /// Drops the schema and those of the apps created in it (`<schema>_app_<id>`).
    pub async fn drop(self) {
        let apps: Vec<String> = sqlx::query_scalar(
            "SELECT nspname::text FROM pg_namespace WHERE starts_with(nspname, $1)",
        )
        .bind(format!("{}_app_", self.schema))
        .fetch_all(&self.admin)
        .await
        .unwrap();
        for schema in apps.iter().chain(std::iter::once(&self.schema)) {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP SCHEMA \"{schema}\" CASCADE"
            )))
            .execute(&self.admin)
            .await
            .unwrap();
        }
    }
}

/// A MySQL/MariaDB database of its own for one test: `database_url` config for it, dropped by
/// `drop`.
pub struct MySqlScratch {
    pub config_yaml: String,
    admin: sqlx::MySqlPool,
    database: String,
}

impl MySqlScratch {
    pub async fn create(prefix: &str) -> Option<MySqlScratch> {
        let url = database_url("TESSERA_TEST_MYSQL_URL")?;
        let database = format!("{prefix}_{:016x}", rand::random::<u64>());
        let admin = sqlx::MySqlPool::connect(&url).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {database}")))
            .execute(&admin)
            .await
            .unwrap();
        let (base, _) = url.rsplit_once('/').unwrap();
        Some(MySqlScratch {
            config_yaml: format!("database_url: \"{base}/{database}\"\n"),
            admin,
            database,
        })
    }

    /// Drops the database and those of the apps created beside it (`<database>_app_<id>`).
    pub async fn drop(self) {
        let apps: Vec<String> = sqlx::query_scalar(
            "SELECT CAST(schema_name AS CHAR) FROM information_schema.schemata WHERE schema_name LIKE ?",
        )
        .bind(format!("{}\\_app\\_%", self.database))
        .fetch_all(&self.admin)
        .await
        .unwrap();
        for database in apps.iter().chain(std::iter::once(&self.database)) {
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE `{database}`")))
                .execute(&self.admin)
                .await
                .unwrap();
        }
    }
}
