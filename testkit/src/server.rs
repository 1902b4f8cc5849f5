//! [`TestServer`]: an axum `Router` served on `127.0.0.1` from a background thread with
//! its own tokio runtime, so blocking test code (and blocking connectors) can call it.
//!
//! ```
//! use axum::{routing::get, Router};
//! use gallra_testkit::server::TestServer;
//!
//! let server = TestServer::start(Router::new().route("/ping", get(|| async { "pong" })));
//! let url = format!("{}/ping", server.base_url());
//! # let _ = url;
//! // … point the connector at `server.base_url()` …
//! drop(server); // stops serving and closes every connection
//! ```

use std::net::{SocketAddr, TcpListener};
use std::thread::JoinHandle;

use axum::Router;
use tokio::sync::oneshot;

/// A running test server; it stops when dropped.
#[derive(Debug)]
pub struct TestServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Serves `router` on a free port of `127.0.0.1`. Returns once the port is bound, so
    /// requests may be sent at once.
    pub fn start(router: Router) -> Self {
        // Bound here, not in the thread, so the address is known before `start` returns.
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
        listener
            .set_nonblocking(true)
            .expect("make the listener non-blocking");
        let addr = listener.local_addr().expect("the listener's address");
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("testkit-server-{}", addr.port()))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("a tokio runtime");
                runtime.block_on(async move {
                    let listener =
                        tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
                    // Not a graceful shutdown: a client's pooled keep-alive connection would
                    // hold it open. Dropping the runtime below cancels every connection.
                    tokio::select! {
                        result = axum::serve(listener, router) => {
                            result.expect("the test server failed");
                        }
                        _ = stopped => {}
                    }
                });
                runtime.shutdown_background();
            })
            .expect("spawn the server thread");
        Self {
            addr,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The same as [`base_url`](Self::base_url).
    pub fn url(&self) -> String {
        self.base_url()
    }

    /// The socket address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// An `http://127.0.0.1:PORT` URL where nothing listens: for the "system is down" tests.
///
/// The port was free a moment ago; another process could take it, but on a test machine
/// that is rare enough.
pub fn unreachable_url() -> String {
    format!("http://127.0.0.1:{}", closed_port())
}

/// A port of `127.0.0.1` where nothing listens, for a system that speaks something other
/// than HTTP (or whose URLs are built from parts). The same caveat as [`unreachable_url`].
pub fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a local port");
    listener
        .local_addr()
        .expect("the listener's address")
        .port()
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;

    use axum::routing::get;

    use super::*;

    fn get_body(addr: SocketAddr, path: &str) -> std::io::Result<String> {
        let mut stream = TcpStream::connect(addr)?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
        )?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        Ok(answer)
    }

    #[test]
    fn serves_the_router_and_stops_on_drop() {
        let server = TestServer::start(Router::new().route("/ping", get(|| async { "pong" })));
        let addr = server.addr();
        assert_eq!(server.base_url(), format!("http://{addr}"));
        let answer = get_body(addr, "/ping").expect("server answers");
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(answer.ends_with("pong"), "{answer}");
        drop(server);
        assert!(
            TcpStream::connect(addr).is_err(),
            "still listening after drop"
        );
    }

    #[test]
    fn drop_does_not_wait_for_an_open_keep_alive_connection() {
        let server = TestServer::start(Router::new().route("/", get(|| async { "hi" })));
        let mut idle = TcpStream::connect(server.addr()).expect("connect");
        write!(idle, "GET / HTTP/1.1\r\nHost: test\r\n\r\n").expect("send");
        let mut buf = [0u8; 64];
        let _ = idle.read(&mut buf).expect("an answer");
        drop(server); // would hang here with a graceful shutdown
    }

    #[test]
    fn unreachable_url_refuses_connections() {
        let url = unreachable_url();
        let addr = url.trim_start_matches("http://");
        assert!(TcpStream::connect(addr).is_err());
    }
}
