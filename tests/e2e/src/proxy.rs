//! A TCP proxy whose backend can be switched at runtime: the URL a server was configured with
//! stays the same while what answers behind it changes (a load balancer repointed, a DNS name
//! moved to another node). Switching cuts every open connection, so pooled HTTP connections
//! reconnect and reach the new backend.

use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running proxy on `127.0.0.1:0`. Stops (and cuts its connections) when dropped.
#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    backend: watch::Sender<SocketAddr>,
    accept: JoinHandle<()>,
}

impl Proxy {
    /// Starts forwarding to `backend`.
    pub async fn start(backend: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding the proxy's port");
        let addr = listener.local_addr().expect("the proxy's address");
        let (tx, rx) = watch::channel(backend);
        let accept = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                let mut rx = rx.clone();
                tokio::spawn(async move {
                    let target = *rx.borrow_and_update();
                    forward(client, target, rx).await;
                });
            }
        });
        Proxy {
            addr,
            backend: tx,
            accept,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sends new connections to `backend` and cuts the open ones.
    pub fn switch(&self, backend: SocketAddr) {
        self.backend.send_replace(backend);
    }

    /// Where new connections go.
    pub fn backend(&self) -> SocketAddr {
        *self.backend.borrow()
    }
}

/// Copies both ways until either side closes or the backend is switched. A backend that does
/// not accept (a stopped node) closes the client's connection at once, as a dead endpoint would.
async fn forward(
    mut client: TcpStream,
    target: SocketAddr,
    mut switched: watch::Receiver<SocketAddr>,
) {
    let Ok(mut upstream) = TcpStream::connect(target).await else {
        return;
    };
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {}
        _ = switched.changed() => {}
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accept.abort();
    }
}
