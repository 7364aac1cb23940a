//! Request metrics and access logs. Logs name the route pattern, never the URI or body, so no
//! token or user data reaches them; handlers log session handles where useful.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Latency buckets in seconds: sub-millisecond verifies up to slow database writes.
const LATENCY_BUCKETS: [f64; 12] = [
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
];

/// Installs the process-wide Prometheus recorder. `None` (logged) if one is installed already.
pub fn install_recorder() -> Option<PrometheusHandle> {
    let builder = PrometheusBuilder::new().set_buckets_for_metric(
        Matcher::Full("tessera_http_request_duration_seconds".to_owned()),
        &LATENCY_BUCKETS,
    );
    match builder.and_then(|b| b.install_recorder()) {
        Ok(handle) => {
            describe();
            Some(handle)
        }
        Err(error) => {
            tracing::warn!(%error, "metrics disabled");
            None
        }
    }
}

/// Drains recorded histogram samples into their buckets every few seconds. The recorder keeps
/// raw samples until then, so without this (or a scrape of `/metrics`) they would pile up for as
/// long as the server runs: the soak run found it growing about 2 MiB a minute.
pub fn spawn_upkeep(handle: PrometheusHandle) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(std::time::Duration::from_secs(5));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            handle.run_upkeep();
        }
    })
}

fn describe() {
    metrics::describe_counter!("tessera_sessions_created_total", "Sessions created");
    metrics::describe_counter!(
        "tessera_session_refreshes_total",
        "Refresh calls by outcome (ok, unauthorised, theft)"
    );
    metrics::describe_counter!(
        "tessera_token_theft_detected_total",
        "Refresh-token reuse detected; the session was revoked"
    );
    metrics::describe_counter!(
        "tessera_session_verifications_total",
        "Verify calls by outcome"
    );
    metrics::describe_counter!(
        "tessera_api_key_rejections_total",
        "Requests refused for a missing or wrong API key"
    );
    metrics::describe_counter!(
        "tessera_errors_total",
        "Requests that failed on the server's side, by kind"
    );
    metrics::describe_counter!(
        "tessera_store_calls_total",
        "Calls to the session store (the database) by operation"
    );
    metrics::describe_gauge!("tessera_open_connections", "HTTP connections open now");
    metrics::describe_gauge!(
        "tessera_revocation_lag_seconds",
        "Time since the revocation log was last read"
    );
    metrics::describe_gauge!(
        "tessera_revoked_sessions_held",
        "Revoked sessions held in memory until their access tokens expire"
    );
    metrics::describe_gauge!(
        "tessera_revocations_stale",
        "1 while the revocation log has not been read for longer than the access-token validity"
    );
    metrics::describe_counter!(
        "tessera_connection_timeouts_total",
        "Connections closed because no complete request head arrived in time"
    );
    metrics::describe_counter!(
        "tessera_http_requests_total",
        "HTTP requests by route and status"
    );
    metrics::describe_histogram!(
        "tessera_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency by route"
    );
}

/// Times each request and logs one line for it.
pub async fn observe(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let labels = [
        ("method", method.clone()),
        ("route", route.clone()),
        ("status", status.to_string()),
    ];
    metrics::counter!("tessera_http_requests_total", &labels).increment(1);
    metrics::histogram!(
        "tessera_http_request_duration_seconds",
        "method" => method.clone(),
        "route" => route.clone()
    )
    .record(elapsed.as_secs_f64());
    if response.status().is_server_error() {
        tracing::warn!(%method, %route, status, latency_us = elapsed.as_micros() as u64, "request");
    } else {
        tracing::debug!(%method, %route, status, latency_us = elapsed.as_micros() as u64, "request");
    }
    response
}
