//! Soak run for `tessera serve`: starts the server binary as a separate process on loopback, drives
//! a mixed load (create, verify, refresh, revoke) for a long time, and every `--sample` seconds
//! prints the server's resident memory (`VmRSS`) and the latency percentiles of that window, so a
//! leak or a slow drift shows as a trend. The last lines compare the first and last minutes.
//!
//! ```text
//! cargo build --release -p tessera-server --bin tessera --example soak
//! target/release/examples/soak --bin target/release/tessera --seconds 600 --access-token-validity 60
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{json, Value};

#[derive(Parser)]
struct Args {
    /// The `tessera` binary to start.
    #[arg(long)]
    bin: std::path::PathBuf,
    /// Length of the run, seconds.
    #[arg(long, default_value_t = 600)]
    seconds: u64,
    /// Seconds between samples.
    #[arg(long, default_value_t = 10)]
    sample: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// A database URL (PostgreSQL or MySQL) instead of a temporary SQLite file.
    #[arg(long)]
    database_url: Option<String>,
    /// The server's `access_token_validity`, seconds. A short one makes every structure sized
    /// by it (revoked sessions held in memory, the revocation log) reach its steady state
    /// within the run; expired access tokens are refreshed, as a frontend would.
    #[arg(long, default_value_t = 3600)]
    access_token_validity: u64,
}

/// One client's live sessions: (handle, access token, refresh token).
type Held = Vec<(String, String, String)>;

/// What every worker adds to and the sampler drains.
#[derive(Default)]
struct Window {
    latencies_us: Vec<u64>,
    by_operation: [u64; 4],
}

struct Sample {
    at_s: u64,
    rss_mib: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests: usize,
}

async fn post(client: &reqwest::Client, url: String, body: Value) -> Value {
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

fn token(body: &Value, which: &str) -> String {
    body[which]["token"].as_str().unwrap().to_owned()
}

/// Rotates one held session's tokens with its newest refresh token.
async fn refresh(client: &reqwest::Client, base: &str, session: &mut (String, String, String)) {
    let body = post(
        client,
        format!("{base}/recipe/session/refresh"),
        json!({"refreshToken": session.2, "enableAntiCsrf": false}),
    )
    .await;
    assert_eq!(body["status"], "OK", "{body}");
    session.1 = token(&body, "accessToken");
    session.2 = token(&body, "refreshToken");
}

/// One client: mostly verifications, then refreshes, creations and revocations (10:4:2:1), on
/// sessions of its own, with at most 32 live at a time.
async fn worker(
    client: reqwest::Client,
    base: String,
    id: usize,
    deadline: Instant,
    window: Arc<Mutex<Window>>,
) {
    let mut held: Held = Vec::new();
    let mut i = 0_usize;
    while Instant::now() < deadline {
        i += 1;
        let step = i % 17;
        let started = Instant::now();
        let operation = if held.is_empty() || (step < 2 && held.len() < 32) {
            let body = post(
                &client,
                format!("{base}/public/recipe/session"),
                json!({"userId": format!("soak-{id}-{i}"), "userDataInJWT": {"role": "soak"},
                       "userDataInDatabase": {"n": i}, "enableAntiCsrf": false}),
            )
            .await;
            assert_eq!(body["status"], "OK", "{body}");
            let handle = body["session"]["handle"].as_str().unwrap().to_owned();
            held.push((
                handle,
                token(&body, "accessToken"),
                token(&body, "refreshToken"),
            ));
            0
        } else if step < 6 {
            let slot = i % held.len();
            refresh(&client, &base, &mut held[slot]).await;
            2
        } else if step == 6 {
            let (handle, _, _) = held.swap_remove(i % held.len());
            let body = post(
                &client,
                format!("{base}/recipe/session/remove"),
                json!({"sessionHandles": [handle]}),
            )
            .await;
            assert_eq!(body["status"], "OK", "{body}");
            3
        } else {
            let slot = i % held.len();
            let body = post(
                &client,
                format!("{base}/recipe/session/verify"),
                json!({"accessToken": held[slot].1, "doAntiCsrfCheck": false,
                       "enableAntiCsrf": false, "checkDatabase": false}),
            )
            .await;
            if body["status"] == "TRY_REFRESH_TOKEN" {
                // Expired: refresh, as the frontend SDK would.
                refresh(&client, &base, &mut held[slot]).await;
                2
            } else {
                assert_eq!(body["status"], "OK", "{body}");
                // A first verification hands back a token without the parent claim: use it.
                if let Some(newer) = body["accessToken"]["token"].as_str() {
                    held[slot].1 = newer.to_owned();
                }
                1
            }
        };
        let elapsed = started.elapsed().as_micros() as u64;
        let mut window = window.lock().unwrap();
        window.latencies_us.push(elapsed);
        window.by_operation[operation] += 1;
    }
}

fn vm_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    let i = ((sorted.len().max(1) as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or(0) as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tessera.yaml");
    let store = match &args.database_url {
        Some(url) => format!("database_url: \"{url}\"\n"),
        None => format!("sqlite_path: {}\n", dir.path().join("soak.db").display()),
    };
    std::fs::write(
        &config,
        format!(
            "port: 0\naccess_token_validity: {}\n{store}",
            args.access_token_validity
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
        "tessera pid {pid} at {base}; {} clients for {} s, a sample every {} s",
        args.concurrency, args.seconds, args.sample
    );
    println!("    t   RSS MiB   p50 ms   p99 ms    req/s   create verify refresh revoke");

    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let window = Arc::new(Mutex::new(Window::default()));
    let workers: Vec<_> = (0..args.concurrency)
        .map(|id| {
            tokio::spawn(worker(
                client.clone(),
                base.clone(),
                id,
                deadline,
                Arc::clone(&window),
            ))
        })
        .collect();
    let mut samples = Vec::new();
    let mut ticks = tokio::time::interval(Duration::from_secs(args.sample));
    ticks.tick().await;
    while Instant::now() < deadline {
        ticks.tick().await;
        let Window {
            mut latencies_us,
            by_operation,
        } = std::mem::take(&mut *window.lock().unwrap());
        latencies_us.sort_unstable();
        let sample = Sample {
            at_s: started.elapsed().as_secs(),
            rss_mib: vm_rss_kib(pid).unwrap_or(0) as f64 / 1024.0,
            p50_ms: percentile(&latencies_us, 0.5),
            p99_ms: percentile(&latencies_us, 0.99),
            requests: latencies_us.len(),
        };
        println!(
            "{:>5} {:>9.1} {:>8.2} {:>8.2} {:>8.0}   {:>6} {:>6} {:>7} {:>6}",
            sample.at_s,
            sample.rss_mib,
            sample.p50_ms,
            sample.p99_ms,
            sample.requests as f64 / args.sample as f64,
            by_operation[0],
            by_operation[1],
            by_operation[2],
            by_operation[3],
        );
        samples.push(sample);
    }
    for w in workers {
        w.await.unwrap();
    }
    let per_minute = (60 / args.sample.max(1)).max(1) as usize;
    if samples.len() >= 2 * per_minute {
        let mean =
            |s: &[Sample], f: fn(&Sample) -> f64| s.iter().map(f).sum::<f64>() / s.len() as f64;
        let first = &samples[..per_minute];
        let last = &samples[samples.len() - per_minute..];
        println!(
            "first minute: RSS {:.1} MiB, p99 {:.2} ms; last minute: RSS {:.1} MiB, p99 {:.2} ms \
             (RSS ×{:.2}, p99 ×{:.2})",
            mean(first, |s| s.rss_mib),
            mean(first, |s| s.p99_ms),
            mean(last, |s| s.rss_mib),
            mean(last, |s| s.p99_ms),
            mean(last, |s| s.rss_mib) / mean(first, |s| s.rss_mib),
            mean(last, |s| s.p99_ms) / mean(first, |s| s.p99_ms),
        );
    }
    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = child.wait();
}
