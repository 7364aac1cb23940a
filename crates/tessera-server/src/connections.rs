//! Serving HTTP/1 connections with limits, so that slow or hostile clients cannot exhaust the
//! server, and shutting down with a deadline.
//!
//! The limits are hyper's own where hyper has them: its header-read timer starts when a connection
//! waits for a request head (a new connection, or a keep-alive one after its previous response)
//! and closes the connection when no complete head arrived in time, so half-open and idle
//! connections both go. Bodies are timed by the JSON extractor (`extract`), which answers 408. The
//! connection cap is a semaphore taken before `accept`: past it, new connections wait in the
//! kernel's listen backlog, which costs the process nothing.
//!
//! On shutdown the listener closes, connections without a request in flight (idle, or with half a
//! request head) are dropped at once, and requests in flight (a body still arriving included,
//! within its read timeout) get until the deadline to finish.

use std::future::Future;
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower_service::Service;

use crate::config::ConnectionLimits;

/// Serves `app` on `listener` until `shutdown` resolves, then winds down within
/// `shutdown_timeout`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
    shutdown_timeout: Duration,
) {
    let stopping = CancellationToken::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let tracker = TaskTracker::new();
    let mut saturated = false;
    tokio::pin!(shutdown);
    loop {
        if slots.available_permits() == 0 && !saturated {
            tracing::warn!(
                max_connections = limits.max_connections,
                "connection limit reached; new connections wait to be accepted"
            );
        }
        saturated = slots.available_permits() == 0;
        let permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                // The semaphore is never closed.
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(error) => {
                    accept_failed(&error).await;
                    continue;
                }
            },
        };
        let connection = serve_connection(stream, app.clone(), builder.clone(), stopping.clone());
        tracker.spawn(async move {
            metrics::gauge!("tessera_open_connections").increment(1.0);
            connection.await;
            metrics::gauge!("tessera_open_connections").decrement(1.0);
            drop(permit);
        });
    }
    drop(listener);
    stopping.cancel();
    tracker.close();
    let open = tracker.len();
    if open > 0 {
        tracing::info!(open, "waiting for requests in flight");
    }
    if tokio::time::timeout(shutdown_timeout, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            open = tracker.len(),
            timeout_s = shutdown_timeout.as_secs(),
            "shutdown deadline passed; dropping the connections still open"
        );
    }
}

/// An `accept` error is about one connection (reset before it was accepted) or about the process
/// (out of file handles). Either way the loop goes on; after the second kind it pauses briefly,
/// because retrying at once would spin while nothing can be accepted.
async fn accept_failed(error: &io::Error) {
    let per_connection = matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
    );
    if per_connection {
        tracing::debug!(%error, "connection failed before it was accepted");
    } else {
        tracing::warn!(%error, "cannot accept connections");
        metrics::counter!("tessera_errors_total", "kind" => "accept").increment(1);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Serves one connection until it closes, or, once shutdown begins, until its request in flight
/// (if any) is answered.
async fn serve_connection(
    stream: TcpStream,
    app: Router,
    builder: http1::Builder,
    stopping: CancellationToken,
) {
    // Small JSON answers: send them now rather than waiting to fill a segment.
    let _ = stream.set_nodelay(true);
    let in_flight = Arc::new(AtomicUsize::new(0));
    let service = {
        let in_flight = Arc::clone(&in_flight);
        hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let guard = InFlight::enter(&in_flight);
            let mut app = app.clone();
            async move {
                let response = app.call(request).await;
                drop(guard);
                response
            }
        })
    };
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            closed(result);
            return;
        }
        () = stopping.cancelled() => {}
    }
    connection.as_mut().graceful_shutdown();
    // Idle, or holding half a request head: nothing to finish.
    if in_flight.load(Ordering::Acquire) == 0 {
        return;
    }
    closed(connection.await);
}

fn closed(result: Result<(), hyper::Error>) {
    match result {
        Ok(()) => {}
        Err(error) if error.is_timeout() => {
            metrics::counter!("tessera_connection_timeouts_total").increment(1);
            tracing::debug!("connection closed: no complete request head in time");
        }
        Err(error) => tracing::debug!(%error, "connection closed with an error"),
    }
}

/// Counts a request while its handler runs.
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::AcqRel);
        Self(Arc::clone(counter))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
