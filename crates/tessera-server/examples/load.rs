//! Load client for `tessera serve`: starts the server binary as a separate process on loopback
//! with a temporary SQLite file, drives create, verify and refresh with bounded request counts and
//! time, and reports requests per second and the server's peak RSS (`VmHWM`).
//!
//! ```text
//! cargo build --release -p tessera-server --bin tessera --example load
//! target/release/examples/load --bin target/release/tessera --seconds 10 --concurrency 32 [--server-config "…"]
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{json, Value};

#[derive(Parser)]
struct Args {
    /// The `tessera` binary to start.
    #[arg(long)]
    bin: std::path::PathBuf,
    /// Time limit per phase, seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Request limit per phase.
    #[arg(long, default_value_t = 200_000)]
    max_requests: usize,
    /// Concurrent connections.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Extra config lines for the server, e.g. `verified_token_cache_entries: 0`.
    #[arg(long, default_value = "")]
    server_config: String,
}

/// One worker's (access token, newest refresh token) pairs.
type WorkerTokens = tokio::sync::Mutex<Vec<(String, String)>>;

struct Phase {
    name: &'static str,
    requests: usize,
    elapsed: Duration,
    latencies_us: Vec<u64>,
}

impl Phase {
    fn report(&mut self) {
        self.latencies_us.sort_unstable();
        let pct = |p: f64| {
            let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
            self.latencies_us.get(i).copied().unwrap_or(0) as f64 / 1000.0
        };
        println!(
            "{:<22} {:>8} req in {:>6.2} s = {:>8.0} req/s   p50 {:>6.2} ms  p99 {:>6.2} ms",
            self.name,
            self.requests,
            self.elapsed.as_secs_f64(),
            self.requests as f64 / self.elapsed.as_secs_f64(),
            pct(0.5),
            pct(0.99),
        );
    }
}

/// Runs `concurrency` workers calling `call(worker, i)` until the time or request budget is spent.
async fn phase<F, Fut>(name: &'static str, args: &Args, call: F) -> Phase
where
    F: Fn(usize, usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let call = Arc::new(call);
    let issued = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let mut workers = Vec::new();
    for worker in 0..args.concurrency {
        let (call, issued) = (call.clone(), issued.clone());
        let max = args.max_requests;
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = issued.fetch_add(1, Ordering::Relaxed);
                if i >= max || Instant::now() >= deadline {
                    break;
                }
                let t = Instant::now();
                call(worker, i).await;
                latencies.push(t.elapsed().as_micros() as u64);
            }
            latencies
        }));
    }
    let mut latencies_us = Vec::new();
    for w in workers {
        latencies_us.extend(w.await.unwrap());
    }
    Phase {
        name,
        requests: latencies_us.len(),
        elapsed: started.elapsed(),
        latencies_us,
    }
}

async fn post(client: &reqwest::Client, url: &str, body: Value) -> Value {
    let response = client
        .post(url)
        .header("cdi-version", "5.4")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tessera.yaml");
    std::fs::write(
        &config,
        format!(
            "port: 0\nsqlite_path: {}\n{}\n",
            dir.path().join("bench.db").display(),
            args.server_config
        ),
    )
    .unwrap();
    let mut child = Command::new(&args.bin)
        .args(["serve", "--config"])
        .arg(&config)
        .env("TESSERA_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("tessera listening on ")
        .unwrap()
        .to_owned();
    let pid = child.id();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .unwrap();
    let ready_deadline = Instant::now() + Duration::from_secs(30);
    while client.get(format!("{base}/hello")).send().await.is_err() {
        assert!(Instant::now() < ready_deadline, "server not ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "tessera pid {pid} at {base}; {} connections, ≤{} s and ≤{} requests per phase",
        args.concurrency, args.seconds, args.max_requests
    );

    // Create: keep each worker's newest tokens for the later phases.
    let tokens: Arc<Vec<WorkerTokens>> = Arc::new(
        (0..args.concurrency)
            .map(|_| tokio::sync::Mutex::new(Vec::new()))
            .collect(),
    );
    let (c, t, b) = (client.clone(), tokens.clone(), base.clone());
    let mut create = phase("create", &args, move |worker, i| {
        let (c, t, b) = (c.clone(), t.clone(), b.clone());
        async move {
            let body = post(
                &c,
                &format!("{b}/public/recipe/session"),
                json!({"userId": format!("user-{i}"), "userDataInJWT": {"role": "bench"},
                       "userDataInDatabase": {}, "enableAntiCsrf": false,
                       "useDynamicSigningKey": true}),
            )
            .await;
            let mut mine = t[worker].lock().await;
            if mine.len() < 64 {
                mine.push((
                    body["accessToken"]["token"].as_str().unwrap().to_owned(),
                    body["refreshToken"]["token"].as_str().unwrap().to_owned(),
                ));
            }
        }
    })
    .await;
    create.report();

    for check_database in [false, true] {
        let (c, t, b) = (client.clone(), tokens.clone(), base.clone());
        let name = if check_database {
            "verify (checkDatabase)"
        } else {
            "verify"
        };
        let mut verify = phase(name, &args, move |worker, i| {
            let (c, t, b) = (c.clone(), t.clone(), b.clone());
            async move {
                let access = {
                    let mine = t[worker].lock().await;
                    mine[i % mine.len()].0.clone()
                };
                let body = post(
                    &c,
                    &format!("{b}/recipe/session/verify"),
                    json!({"accessToken": access, "doAntiCsrfCheck": false,
                           "enableAntiCsrf": false, "checkDatabase": check_database}),
                )
                .await;
                assert_eq!(body["status"], "OK");
            }
        })
        .await;
        verify.report();
    }

    // Refresh: each worker rotates its own sessions, always with the newest refresh token.
    let (c, t, b) = (client.clone(), tokens.clone(), base.clone());
    let mut refresh = phase("refresh", &args, move |worker, i| {
        let (c, t, b) = (c.clone(), t.clone(), b.clone());
        async move {
            let mut mine = t[worker].lock().await;
            let slot = i % mine.len();
            let body = post(
                &c,
                &format!("{b}/recipe/session/refresh"),
                json!({"refreshToken": mine[slot].1, "enableAntiCsrf": false,
                       "useDynamicSigningKey": true}),
            )
            .await;
            assert_eq!(body["status"], "OK", "{body}");
            mine[slot].1 = body["refreshToken"]["token"].as_str().unwrap().to_owned();
        }
    })
    .await;
    refresh.report();

    match vm_hwm_kib(pid) {
        Some(kib) => println!("server peak RSS (VmHWM): {:.1} MiB", kib as f64 / 1024.0),
        None => println!("server peak RSS: unavailable"),
    }
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();
}
