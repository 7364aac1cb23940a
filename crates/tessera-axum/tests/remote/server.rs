//! Starts the real `tessera` binary on a free port with a temporary SQLite file, as
//! `crates/tessera-server/tests/common` does. A test of another crate has no
//! `CARGO_BIN_EXE_tessera`, so the binary is looked up next to this test's own `deps` directory,
//! where `cargo test --workspace` builds it (tessera-server's tests need it); `TESSERA_BIN`
//! overrides. A missing binary fails the test, never skips it.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    child: Option<Child>,
    pub url: String,
    _dir: tempfile::TempDir,
    client: reqwest::Client,
}

fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("TESSERA_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().unwrap();
    // target/<profile>/deps/remote-<hash> -> target/<profile>/tessera
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

/// A binary older than the server's sources would test yesterday's server. In a workspace run
/// cargo builds it before any test starts; with `-p tessera-axum` alone nothing does.
fn assert_not_stale(bin: &std::path::Path) {
    let built = std::fs::metadata(bin).and_then(|m| m.modified()).unwrap();
    let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let newest_source = ["tessera-server", "tessera-core", "tessera-store"]
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

impl Server {
    /// `tessera serve` with `extra_yaml` appended to a config setting port 0 and a temp
    /// database; returns once `/hello` answers.
    pub async fn start(extra_yaml: &str) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("tessera.yaml");
        let db = dir.path().join("tessera.db");
        let yaml = format!("port: 0\nsqlite_path: {}\n{extra_yaml}", db.display());
        std::fs::write(&config, yaml).unwrap();
        let mut command = Command::new(binary());
        command
            .arg("serve")
            .arg("--config")
            .arg(&config)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.path().join("server.log")).unwrap());
        // The file is the whole configuration; stray overrides from the environment are not.
        for (var, _) in std::env::vars() {
            if var.starts_with("TESSERA_") {
                command.env_remove(var);
            }
        }
        command.env("TESSERA_LOG", "warn");
        let mut child = command.spawn().unwrap();
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
        let server = Server {
            child: Some(child),
            url,
            _dir: dir,
            client: reqwest::Client::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !matches!(
            server.client.get(format!("{}/hello", server.url)).send().await,
            Ok(r) if r.status() == 200
        ) {
            assert!(Instant::now() < deadline, "server never answered /hello");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server
    }

    /// Kills the server; later requests to it fail to connect.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
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
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
