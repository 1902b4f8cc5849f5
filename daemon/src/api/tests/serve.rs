//! Real round trips: a hyper client over a unix socket and over TCP.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::{app, bearer, ERASE_ANNA, TOKEN};
use crate::api::{serve_tcp, serve_unix, ApiError, Auth, SOCKET_MODE};

/// Sends one request over `stream`; answers (status, body).
async fn round_trip<S>(stream: S, request: Request<Full<Bytes>>) -> (u16, serde_json::Value)
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

fn get(uri: &str, token: Option<&str>) -> Request<Full<Bytes>> {
    let mut builder = Request::get(uri).header("host", "gallra");
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    builder.body(Full::default()).unwrap()
}

fn post(uri: &str, body: &'static str, token: Option<&str>) -> Request<Full<Bytes>> {
    let mut builder = Request::post(uri)
        .header("host", "gallra")
        .header("content-type", "application/json");
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    builder
        .body(Full::new(Bytes::from_static(body.as_bytes())))
        .unwrap()
}

type Server = (oneshot::Sender<()>, JoinHandle<Result<(), ApiError>>);

fn start_unix(path: &Path) -> Server {
    let (stop, stopped) = oneshot::channel::<()>();
    let (router, _) = app(Auth::None);
    let path = path.to_owned();
    let handle = tokio::spawn(async move {
        serve_unix(&path, router, async {
            let _ = stopped.await;
        })
        .await
    });
    (stop, handle)
}

async fn connect_unix(path: &Path) -> tokio::net::UnixStream {
    for _ in 0..200 {
        if let Ok(stream) = tokio::net::UnixStream::connect(path).await {
            return stream;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("nothing listens on {}", path.display());
}

#[tokio::test]
async fn unix_socket_round_trip_with_mode_0660_and_cleanup() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("api.sock");
    let (stop, handle) = start_unix(&path);

    let (status, body) = round_trip(connect_unix(&path).await, get("/v1/health", None)).await;
    assert_eq!((status, body), (200, serde_json::json!({"status": "ok"})));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o7777, SOCKET_MODE, "mode {mode:o}");

    let (status, body) = round_trip(
        connect_unix(&path).await,
        post("/v1/requests", ERASE_ANNA, None),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = round_trip(connect_unix(&path).await, get("/v1/requests/1", None)).await;
    assert_eq!((status, &body["kind"]), (200, &serde_json::json!("erase")));

    // A second server on the same live socket is refused.
    let (_stop2, second) = start_unix(&path);
    let err = second.await.unwrap().unwrap_err();
    assert!(matches!(err, ApiError::SocketInUse { .. }), "{err}");

    stop.send(()).unwrap();
    handle.await.unwrap().unwrap();
    assert!(!path.exists(), "the socket is removed at shutdown");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(
        leftovers.is_empty(),
        "no staging directory left: {leftovers:?}"
    );
}

#[tokio::test]
async fn stale_socket_is_replaced_but_a_regular_file_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("api.sock");
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists(), "a stale socket is left behind");
    let (stop, handle) = start_unix(&path);
    let (status, _) = round_trip(connect_unix(&path).await, get("/v1/health", None)).await;
    assert_eq!(status, 200);
    stop.send(()).unwrap();
    handle.await.unwrap().unwrap();

    std::fs::write(&path, "not a socket").unwrap();
    let (_stop, handle) = start_unix(&path);
    let err = handle.await.unwrap().unwrap_err();
    assert!(matches!(err, ApiError::NotASocket { .. }), "{err}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "not a socket");
}

#[tokio::test]
async fn tcp_round_trip_with_bearer_token() {
    let (router, _) = app(bearer());
    let (stop, stopped) = oneshot::channel::<()>();
    // Find a free port, then serve on it.
    let addr: SocketAddr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let handle = tokio::spawn(serve_tcp(addr, router, async {
        let _ = stopped.await;
    }));
    let connect = || async {
        for _ in 0..200 {
            if let Ok(stream) = tokio::net::TcpStream::connect(addr).await {
                return stream;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("nothing listens on {addr}");
    };

    let (status, body) = round_trip(connect().await, get("/v1/tasks", None)).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (401, &serde_json::json!("unauthorized"))
    );
    let (status, body) = round_trip(
        connect().await,
        post("/v1/requests", ERASE_ANNA, Some(TOKEN)),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let (status, body) = round_trip(connect().await, get("/v1/tasks", Some(TOKEN))).await;
    assert_eq!(status, 200);
    assert_eq!(body.as_array().unwrap().len(), 1);
    let (status, body) = round_trip(connect().await, get("/v1/openapi.json", None)).await;
    assert_eq!(
        (status, &body["openapi"]),
        (200, &serde_json::json!("3.1.0"))
    );

    stop.send(()).unwrap();
    handle.await.unwrap().unwrap();
}

#[tokio::test]
async fn tcp_address_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let (router, _) = app(bearer());
    let err = serve_tcp(addr, router, async {}).await.unwrap_err();
    assert!(matches!(err, ApiError::Bind { .. }));
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}
