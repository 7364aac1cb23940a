//! A database instance of the harness's own, in a scratch directory on its own port, so that
//! crashing and restarting it disturbs no other test: PostgreSQL (`initdb`, Debian's binaries in
//! `/usr/lib/postgresql/<version>/bin`, run as the `postgres` user when the test runs as root,
//! since PostgreSQL refuses root) or MariaDB (`mariadb-install-db`, `mariadbd`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A database the harness can crash and start again.
pub trait OwnDatabase: Send + Sync + 'static {
    /// The URL to connect with on `port` (the database's own, or a proxy's in front of it).
    fn url_on(&self, port: u16) -> String;
    /// The port it listens on.
    fn port(&self) -> u16;
    /// The URL to connect with directly.
    fn url(&self) -> String {
        self.url_on(self.port())
    }
    /// Stops it as a crash would: no shutdown, connections cut.
    fn crash(&self) -> Result<(), String>;
    /// Starts it again after a crash; returns once it accepts connections.
    fn start_server(&self) -> Result<(), String>;
}

pub struct OwnPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl OwnDatabase for OwnPostgres {
    fn url_on(&self, port: u16) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/postgres")
    }

    fn port(&self) -> u16 {
        self.port
    }

    /// `immediate`: no checkpoint, so it comes back through WAL recovery.
    fn crash(&self) -> Result<(), String> {
        self.run_pg(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        )
    }

    fn start_server(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log");
        self.run_pg(
            "pg_ctl",
            &[
                "-D",
                &self.data(),
                "-o",
                &options,
                "-l",
                &log.display().to_string(),
                "-w",
                "start",
            ],
        )
    }
}

impl OwnPostgres {
    /// Creates and starts the instance; an error says why it could not (PostgreSQL's server
    /// binaries not installed, say).
    pub fn start() -> Result<Self, String> {
        let bin = server_binaries().ok_or("no /usr/lib/postgresql/*/bin/initdb")?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let as_postgres = running_as_root();
        if as_postgres {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path()))?;
        }
        let cluster = Self {
            dir,
            bin,
            port: free_port(),
            as_postgres,
        };
        let data = cluster.data();
        cluster.run_pg(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        cluster.start_server()?;
        Ok(cluster)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn run_pg(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let program = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(&program);
            command
        } else {
            Command::new(&program)
        };
        run(command.args(args))
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self.crash();
    }
}

/// A MariaDB server of the harness's own.
pub struct OwnMariaDb {
    dir: tempfile::TempDir,
    port: u16,
    process: Mutex<Option<Child>>,
}

impl OwnMariaDb {
    /// Creates and starts the instance, with a database `tessera`; an error says why it could
    /// not.
    pub fn start() -> Result<Self, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        run(Command::new("mariadb-install-db")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", dir.path().join("data").display()))
            .args([
                "--auth-root-authentication-method=normal",
                "--user=root",
                "--skip-test-db",
            ]))?;
        let database = Self {
            dir,
            port: free_port(),
            process: Mutex::new(None),
        };
        database.start_server()?;
        run(Command::new("mysql")
            .args(["-h", "127.0.0.1", "-uroot"])
            .arg(format!("-P{}", database.port))
            .args(["-e", "CREATE DATABASE IF NOT EXISTS tessera"]))?;
        Ok(database)
    }
}

impl OwnDatabase for OwnMariaDb {
    fn url_on(&self, port: u16) -> String {
        format!("mysql://root@127.0.0.1:{port}/tessera")
    }

    fn port(&self) -> u16 {
        self.port
    }

    /// SIGKILL: InnoDB comes back through its redo log.
    fn crash(&self) -> Result<(), String> {
        if let Some(mut process) = self.process.lock().unwrap().take() {
            process.kill().map_err(|e| e.to_string())?;
            process.wait().map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    fn start_server(&self) -> Result<(), String> {
        let path = |name: &str| self.dir.path().join(name).display().to_string();
        let process = Command::new("mariadbd")
            .arg("--no-defaults")
            .arg(format!("--datadir={}", path("data")))
            .arg(format!("--port={}", self.port))
            .arg(format!("--socket={}", path("mariadb.sock")))
            .arg(format!("--pid-file={}", path("mariadb.pid")))
            .arg(format!("--log-error={}", path("mariadb.log")))
            .args([
                "--bind-address=127.0.0.1",
                "--user=root",
                "--max-connections=300",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("mariadbd: {e}"))?;
        *self.process.lock().unwrap() = Some(process);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let ping = Command::new("mysqladmin")
                .args(["-h", "127.0.0.1", "-uroot"])
                .arg(format!("-P{}", self.port))
                .arg("ping")
                .output();
            if ping.is_ok_and(|out| out.status.success()) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err("mariadbd did not come up within 60 s".to_owned())
    }
}

impl Drop for OwnMariaDb {
    fn drop(&mut self) {
        let _ = self.crash();
    }
}

fn server_binaries() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok().map(|entry| entry.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort_by_key(|bin| version_of(bin));
    versions.pop()
}

fn version_of(bin: &Path) -> u32 {
    bin.parent()
        .and_then(Path::file_name)
        .and_then(|name| name.to_str())
        .and_then(|name| name.parse().ok())
        .unwrap_or(0)
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command.output().map_err(|e| format!("{command:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}
