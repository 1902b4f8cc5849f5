//! Serving the router: on a unix socket (the default; its file mode 0660 is the access
//! control) or on TCP (with bearer tokens).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Router;
use tokio::net::{TcpListener, UnixListener};

use super::errors::ApiError;

/// The socket's mode: the daemon's user and group may connect, nobody else.
pub const SOCKET_MODE: u32 = 0o660;

/// Serves `router` on a unix socket at `path` until `shutdown` completes, then removes the
/// socket. A stale socket (nobody answering) is replaced; a live one, or anything that is not
/// a socket, is refused.
pub async fn serve_unix(
    path: &Path,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ApiError> {
    let listener = bind_unix(path)?;
    serve_unix_on(listener, path, router, shutdown).await
}

/// Serves `router` on a socket [`bind_unix`] made at `path` until `shutdown` completes, then
/// removes the socket if it is still the one made.
pub async fn serve_unix_on(
    listener: UnixListener,
    path: &Path,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ApiError> {
    let inode = std::fs::metadata(path).map(|m| m.ino()).ok();
    tracing::info!(target: "gallra::api", socket = %path.display(), "admin API listening");
    let result = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await;
    // Remove the socket only if it is still the one we made.
    if inode.is_some() && std::fs::metadata(path).map(|m| m.ino()).ok() == inode {
        let _ = std::fs::remove_file(path);
    }
    result.map_err(ApiError::Serve)
}

/// Serves `router` on TCP at `addr` until `shutdown` completes. Use [`super::Auth::Bearer`]:
/// TCP has no file mode to guard it.
pub async fn serve_tcp(
    addr: SocketAddr,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ApiError> {
    let listener = bind_tcp(addr).await?;
    serve_tcp_on(listener, router, shutdown).await
}

/// Binds the admin API's TCP address, or says which address could not be bound and why.
pub async fn bind_tcp(addr: SocketAddr) -> Result<TcpListener, ApiError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ApiError::Bind { addr, source })
}

/// Serves `router` on a bound TCP listener until `shutdown` completes.
pub async fn serve_tcp_on(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ApiError> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(target: "gallra::api", %addr, "admin API listening");
    }
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(ApiError::Serve)
}

/// Creates the socket with mode 0660 and no moment at which it is open wider: it is bound
/// inside a fresh private (0700) directory, given its mode, and only then linked into place.
/// Linking fails if something took the path meanwhile, so a live socket is never replaced.
pub fn bind_unix(path: &Path) -> Result<UnixListener, ApiError> {
    let socket_error = |source| ApiError::Socket {
        path: path.to_owned(),
        source,
    };
    remove_stale(path)?;
    let private = PrivateDir::create(path).map_err(socket_error)?;
    let staged = private.path.join("s");
    let listener = UnixListener::bind(&staged).map_err(socket_error)?;
    std::fs::set_permissions(&staged, std::fs::Permissions::from_mode(SOCKET_MODE))
        .map_err(socket_error)?;
    std::fs::hard_link(&staged, path).map_err(|source| {
        if source.kind() == io::ErrorKind::AlreadyExists {
            ApiError::SocketInUse {
                path: path.to_owned(),
            }
        } else {
            socket_error(source)
        }
    })?;
    Ok(listener)
}

/// Removes a socket nobody answers on; refuses a live socket and anything else.
fn remove_stale(path: &Path) -> Result<(), ApiError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(ApiError::Socket {
                path: path.to_owned(),
                source,
            })
        }
    };
    if !meta.file_type().is_socket() {
        return Err(ApiError::NotASocket {
            path: path.to_owned(),
        });
    }
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(ApiError::SocketInUse {
            path: path.to_owned(),
        });
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(ApiError::Socket {
            path: path.to_owned(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// A 0700 directory beside the socket (same filesystem, so the socket can be linked out of
/// it), removed with whatever is in it when dropped. Its name is short because a socket
/// path is limited to about 100 bytes.
struct PrivateDir {
    path: PathBuf,
}

impl PrivateDir {
    fn create(socket: &Path) -> io::Result<Self> {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let parent = match socket.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut attempts = 0;
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = parent.join(format!(".g{:x}.{n:x}", std::process::id()));
            match std::fs::DirBuilder::new().mode(0o700).create(&path) {
                Ok(()) => return Ok(Self { path }),
                // Left by an earlier process with the same pid: take the next name.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempts < 100 => {
                    attempts += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Drop for PrivateDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
