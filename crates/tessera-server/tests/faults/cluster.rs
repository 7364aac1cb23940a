//! A database instance of the harness's own, in a scratch directory on its own port, so that
//! crashing and restarting it disturbs no other test: PostgreSQL (`initdb`, Debian's binaries in
//! `/usr/lib/postgresql/<version>/bin`, run as the `postgres` user when the test runs as root,
//! since PostgreSQL refuses root) or MariaDB (`mariadb-install-db`, `mariadbd`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// Promotes a standby in place of the primary, which stops; the new primary's port, or `None`
    /// if there is no standby (left).
    fn fail_over(&self) -> Result<Option<u16>, String> {
        Ok(None)
    }
}

/// A PostgreSQL primary, and (with [`OwnPostgres::with_standby`]) a synchronous standby that
/// [`OwnDatabase::fail_over`] promotes.
pub struct OwnPostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    as_postgres: bool,
    /// Data directories and ports: the primary first, then the standby if any.
    nodes: Vec<(String, u16)>,
    /// Which node is the primary now.
    primary: AtomicUsize,
}

impl OwnDatabase for OwnPostgres {
    fn url_on(&self, port: u16) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/postgres")
    }

    fn port(&self) -> u16 {
        self.node().1
    }

    /// `immediate`: no checkpoint, so it comes back through WAL recovery.
    fn crash(&self) -> Result<(), String> {
        self.stop(self.primary.load(Ordering::SeqCst))
    }

    fn start_server(&self) -> Result<(), String> {
        self.start_node(self.primary.load(Ordering::SeqCst))
    }

    /// Stops the primary as a crash would and promotes the standby, which has every transaction
    /// the primary acknowledged (commits wait for the standby's flush). Once only.
    fn fail_over(&self) -> Result<Option<u16>, String> {
        if self.nodes.len() < 2 || self.primary.load(Ordering::SeqCst) != 0 {
            return Ok(None);
        }
        self.stop(0)?;
        self.run_pg("pg_ctl", &["-D", &self.nodes[1].0, "-w", "promote"])?;
        self.primary.store(1, Ordering::SeqCst);
        Ok(Some(self.nodes[1].1))
    }
}

impl OwnPostgres {
    /// A primary whose every commit waits for a synchronous standby (`synchronous_commit = on`
    /// with `synchronous_standby_names = '*'`), and that standby, streaming from it; an error
    /// says why they could not start (PostgreSQL's server binaries not installed, say).
    pub fn with_standby() -> Result<Self, String> {
        let cluster = Self::create(2)?;
        cluster.start_node(0)?;
        let primary = format!("host=127.0.0.1 port={} user=postgres", cluster.nodes[0].1);
        cluster.run_pg(
            "pg_basebackup",
            &[
                "-d",
                &primary,
                "-D",
                &cluster.nodes[1].0,
                "-R",
                "-X",
                "stream",
                "--no-sync",
            ],
        )?;
        cluster.start_node(1)?;
        Ok(cluster)
    }

    fn create(nodes: usize) -> Result<Self, String> {
        let bin = server_binaries().ok_or("no /usr/lib/postgresql/*/bin/initdb")?;
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let as_postgres = running_as_root();
        if as_postgres {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path()))?;
        }
        let nodes = (0..nodes)
            .map(|n| {
                let data = dir.path().join(format!("node{n}")).display().to_string();
                (data, free_port())
            })
            .collect();
        let cluster = Self {
            dir,
            bin,
            as_postgres,
            nodes,
            primary: AtomicUsize::new(0),
        };
        cluster.run_pg(
            "initdb",
            &[
                "-D",
                &cluster.nodes[0].0,
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        )?;
        Ok(cluster)
    }

    fn node(&self) -> &(String, u16) {
        &self.nodes[self.primary.load(Ordering::SeqCst)]
    }

    fn stop(&self, node: usize) -> Result<(), String> {
        self.run_pg(
            "pg_ctl",
            &["-D", &self.nodes[node].0, "-m", "immediate", "-w", "stop"],
        )
    }

    fn start_node(&self, node: usize) -> Result<(), String> {
        let (data, port) = &self.nodes[node];
        // Only the first primary waits for a standby: a promoted standby has none.
        let synchronous = if node == 0 && self.nodes.len() > 1 {
            " -c synchronous_standby_names=* -c synchronous_commit=on"
        } else {
            ""
        };
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200{synchronous}",
            self.dir.path().display()
        );
        let log = self.dir.path().join(format!("node{node}.log"));
        self.run_pg(
            "pg_ctl",
            &[
                "-D",
                data,
                "-o",
                &options,
                "-l",
                &log.display().to_string(),
                "-w",
                "start",
            ],
        )
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
        for node in 0..self.nodes.len() {
            let _ = self.stop(node);
        }
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
