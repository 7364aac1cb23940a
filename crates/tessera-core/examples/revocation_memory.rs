//! Memory held for revoked sessions: adds 1 000 000 revoked session handles (as random v4 UUIDs,
//! the form Tessera's handles take) to a [`Revocations`] view, as a process following the log of
//! a million revocations within one access-token lifetime would, and prints the growth of the
//! process's resident memory and the time one lookup takes.
//!
//! ```text
//! cargo run --release -p tessera-core --example revocation_memory
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use tessera_core::Revocations;
use tessera_core::Timestamp;

const SESSIONS: usize = 1_000_000;

fn vm_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn main() {
    let handles: Vec<String> = (0..SESSIONS)
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    let revocations = Revocations::new();
    let before = vm_rss_kib();
    for chunk in handles.chunks(10_000) {
        revocations.add(chunk, Timestamp::from_millis(1_767_225_600_000));
    }
    let after = vm_rss_kib();
    assert_eq!(revocations.len(), SESSIONS);
    let started = Instant::now();
    let mut found = 0;
    for handle in handles
        .iter()
        .step_by(10)
        .chain(std::iter::once(&"absent".to_owned()))
    {
        found += usize::from(revocations.is_revoked(handle));
    }
    let lookups = SESSIONS / 10 + 1;
    let per_lookup_ns = started.elapsed().as_nanos() as f64 / lookups as f64;
    assert_eq!(found, SESSIONS / 10);
    println!(
        "{SESSIONS} revoked sessions held: +{:.1} MiB resident ({:.0} bytes each); \
         lookup {per_lookup_ns:.0} ns",
        (after - before) as f64 / 1024.0,
        (after - before) as f64 * 1024.0 / SESSIONS as f64
    );
}
