//! The wire between the servers and the database: a TCP proxy that can slow every byte down and
//! cut every connection at once (the servers see resets, as after a network blip or a failover of
//! a load balancer in front of the database).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct Wire {
    pub port: u16,
    target: Arc<RwLock<String>>,
    latency_ms: Arc<AtomicU64>,
    cuts: watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl Wire {
    /// Forwards connections on a free port to `target` (`host:port`).
    pub async fn start(target: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let latency_ms = Arc::new(AtomicU64::new(0));
        let (cuts, _) = watch::channel(0_u64);
        let target = Arc::new(RwLock::new(target));
        let task = tokio::spawn({
            let latency_ms = Arc::clone(&latency_ms);
            let cuts = cuts.clone();
            let target = Arc::clone(&target);
            async move {
                while let Ok((client, _)) = listener.accept().await {
                    let target = target.read().unwrap().clone();
                    let latency_ms = Arc::clone(&latency_ms);
                    let cut = cuts.subscribe();
                    tokio::spawn(async move {
                        if let Ok(server) = TcpStream::connect(&target).await {
                            forward(client, server, latency_ms, cut).await;
                        }
                    });
                }
            }
        });
        Self {
            port,
            target,
            latency_ms,
            cuts,
            task,
        }
    }

    /// Delays every chunk in either direction by this much from now on.
    pub fn set_latency(&self, latency: Duration) {
        self.latency_ms
            .store(latency.as_millis() as u64, Ordering::SeqCst);
    }

    /// Sends new connections to `target` from now on (a virtual address moved to a promoted
    /// standby).
    pub fn retarget(&self, target: String) {
        *self.target.write().unwrap() = target;
    }

    /// Resets every connection open now (new ones are let through).
    pub fn cut(&self) {
        self.cuts.send_modify(|generation| *generation += 1);
    }
}

impl Drop for Wire {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(
    client: TcpStream,
    server: TcpStream,
    latency_ms: Arc<AtomicU64>,
    mut cut: watch::Receiver<u64>,
) {
    for socket in [&client, &server] {
        let _ = socket.set_nodelay(true);
        // Closed with a reset rather than a goodbye, as a broken network closes them.
        let _ = socket.set_zero_linger();
    }
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = pump(client_read, server_write, Arc::clone(&latency_ms));
    let down = pump(server_read, client_write, latency_ms);
    tokio::select! {
        _ = up => {}
        _ = down => {}
        _ = cut.changed() => {}
    }
    // Dropping both halves of both sockets closes them.
}

async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    latency_ms: Arc<AtomicU64>,
) {
    let mut buffer = vec![0_u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        let latency = latency_ms.load(Ordering::SeqCst);
        if latency > 0 {
            tokio::time::sleep(Duration::from_millis(latency)).await;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}
