//! `gallra run` as a service: the admin API, and requests carried through as their tasks
//! come due, until SIGTERM or SIGINT.
//!
//! Everything durable is in the state store, so stopping at any point loses nothing: the
//! next start carries on where this one stood.

mod waking;

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

use crate::api::{self, Auth};
use crate::config::Config;
use crate::requests::{Engine, LocalService, RequestService};
use crate::runner::Context;
use crate::store::{RequestStore, SqliteStore};
use waking::WakingService;

/// The longest the engine sleeps with nothing due (it also wakes on every API submission).
const IDLE_WAKE: Duration = Duration::from_secs(60);

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The state store failed.
    #[error("state store: {0}")]
    Store(#[from] crate::store::StoreError),
    /// The admin API could not start or failed.
    #[error("admin API: {0}")]
    Api(#[from] api::ApiError),
    /// Signals could not be set up.
    #[error("cannot listen for signals: {0}")]
    Signals(std::io::Error),
}

/// Runs until SIGTERM or SIGINT; then stops taking new work, lets the request in hand be
/// recorded, and returns.
pub async fn serve(context: Context, store: Arc<SqliteStore>) -> Result<(), ServeError> {
    let config = Arc::clone(&context.config);
    let wake = Arc::new(Notify::new());
    let (stop_tx, stop_rx) = watch::channel(false);
    let service: Arc<dyn RequestService> = Arc::new(WakingService::new(
        LocalService::new(Arc::clone(&config), store.clone()),
        Arc::clone(&wake),
    ));
    let mut tasks: JoinSet<Result<(), ServeError>> = JoinSet::new();
    start_api(&config, service, &stop_rx, &mut tasks)?;
    let engine = Engine::new(context, store.clone(), config.state_dir.join("exports"));
    tasks.spawn(drive_loop(engine, store, wake, stop_rx.clone()));
    tracing::info!(config = %config.path.display(), "gallra running");

    let signal = wait_for_stop();
    tokio::pin!(signal);
    let outcome = tokio::select! {
        result = &mut signal => result.map_err(ServeError::Signals),
        Some(joined) = tasks.join_next() => flatten(joined),
    };
    tracing::info!("stopping: finishing the work in hand");
    let _ = stop_tx.send(true);
    while let Some(joined) = tasks.join_next().await {
        if let Err(error) = flatten(joined) {
            tracing::error!(%error, "stopped with an error");
        }
    }
    outcome
}

fn flatten(
    joined: Result<Result<(), ServeError>, tokio::task::JoinError>,
) -> Result<(), ServeError> {
    match joined {
        Ok(result) => result,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => Ok(()),
    }
}

/// Starts the configured listeners: the Unix socket without tokens (its file mode guards
/// it), TCP with bearer tokens.
fn start_api(
    config: &Config,
    service: Arc<dyn RequestService>,
    stop: &watch::Receiver<bool>,
    tasks: &mut JoinSet<Result<(), ServeError>>,
) -> Result<(), ServeError> {
    if let Some(socket) = config.api.socket.clone() {
        let router = api::router(Arc::clone(&service), Auth::None);
        let stopped = stopped(stop.clone());
        tasks.spawn(async move { Ok(api::serve_unix(&socket, router, stopped).await?) });
    }
    if let (Some(addr), Some(tokens_file)) = (config.api.listen, config.api.tokens_file.as_deref())
    {
        let router = api::router(service, Auth::Bearer(api::load_tokens(tokens_file)?));
        let stopped = stopped(stop.clone());
        tasks.spawn(async move { Ok(api::serve_tcp(addr, router, stopped).await?) });
    }
    Ok(())
}

/// Resolves once a stop has been asked for.
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopping| *stopping).await;
}

/// Drives due requests, then sleeps until the next task is due, a request arrives, or a
/// stop is asked for.
async fn drive_loop(
    engine: Engine,
    store: Arc<SqliteStore>,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), ServeError> {
    loop {
        engine.drive(Timestamp::now()).await?;
        let sleep = until_next(store.as_ref())?;
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = wake.notified() => {}
            _ = stop.wait_for(|stopping| *stopping) => return Ok(()),
        }
    }
}

/// How long until the earliest waiting task is due, at most [`IDLE_WAKE`].
fn until_next(store: &dyn RequestStore) -> Result<Duration, ServeError> {
    let now = Timestamp::now();
    Ok(match store.next_wakeup()? {
        Some(at) if at <= now => Duration::ZERO,
        Some(at) => Duration::try_from(at.duration_since(now))
            .unwrap_or(IDLE_WAKE)
            .min(IDLE_WAKE),
        None => IDLE_WAKE,
    })
}

/// SIGTERM (systemd's stop) or SIGINT (Ctrl-C).
async fn wait_for_stop() -> std::io::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => tracing::info!("SIGTERM received"),
        _ = int.recv() => tracing::info!("SIGINT received"),
    }
    Ok(())
}
