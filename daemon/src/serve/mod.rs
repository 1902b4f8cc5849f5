//! `gallra run` as a service: the admin API, requests carried through as their tasks come
//! due, and policies run on their schedules — until SIGTERM or SIGINT. SIGHUP reloads the
//! configuration; a configuration that does not validate is refused and the running one
//! stays.
//!
//! Everything durable is in the state store, so stopping at any point loses nothing: the
//! next start carries on where this one stood.

mod current;
mod gauges;
mod leadership;
mod leases;
mod listeners;
mod scheduler;
mod systemd;
mod waking;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

use crate::api;
use crate::config::{self, Config};
use crate::metrics::Metrics;
use crate::plugins::{PluginFinder, Systems};
use crate::requests::engine::DriveError;
use crate::requests::{Engine, LocalService, RequestService};
use crate::runner::{self, Context};
use crate::store::{Backend, RequestStore};
use listeners::{Listeners, Plan};
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
    /// A run could not be recorded.
    #[error("{0}")]
    Run(#[from] runner::RunError),
    /// The metrics listener failed.
    #[error("metrics: {0}")]
    Metrics(String),
    /// The audit log cannot be opened: gallra does not start without it.
    #[error("{0}")]
    Audit(String),
}

/// What stopped one generation of workers.
enum Stop {
    /// SIGTERM or SIGINT: the service ends.
    Exit,
    /// SIGHUP with a valid configuration: go on with it.
    Reload(Box<(Config, Plan)>),
}

/// Runs until SIGTERM or SIGINT, reloading on SIGHUP.
///
/// A reload keeps the admin API and metrics listeners open (they switch to the new
/// configuration's service at once), lets the requests in hand and a policy run under way
/// finish on the old configuration, then starts the request engine and the schedules on
/// the new one. A task of a system the new configuration removed goes to a person.
pub async fn serve(path: &Path, config: Config, store: Arc<dyn Backend>) -> Result<(), ServeError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).map_err(ServeError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(ServeError::Signals)?;
    let mut hup = signal(SignalKind::hangup()).map_err(ServeError::Signals)?;
    let started = crate::clock::now();
    let metrics = Metrics::new();
    // The engine's wake-up: submissions through any generation's service reach the engine
    // in force.
    let wake = Arc::new(Notify::new());
    let mut plan = Plan::of(&config)?;
    let mut config = config;
    let mut listeners: Option<Listeners> = None;
    let (_renewer, leading) = leases::Renewer::start(
        store.clone(),
        config.state_store.lease / 3,
        Some(metrics.clone()),
    );
    loop {
        let context = open(config, &metrics).await?;
        // Tombstones for what resumed runs erase too (the request engine sets this again).
        if let Some(keeper) = crate::tombstones::keeper_or_log(&context.config) {
            crate::tombstones::keep_with(&context.config.state_dir, keeper);
        }
        let service = request_service(&context.config, &store, &wake, &metrics);
        match listeners.take() {
            Some(open) if open.serve(&plan) => {
                open.switch(service);
                listeners = Some(open);
            }
            stale => {
                if let Some(stale) = stale {
                    stale.stop().await;
                }
                listeners = Some(Listeners::start(plan.clone(), service, &metrics).await?);
            }
        }
        let serving = listeners.as_mut().expect("started above");
        gauges::seed_policies(&metrics, &context.config, store.as_ref())?;
        let mut generation =
            Generation::start(&context, &store, started, &metrics, &wake, &leading)?;
        let policies = context.config.policies.len();
        tracing::info!(config = %path.display(), policies, "gallra running");
        systemd::ready(&format!(
            "running: {} systems, {policies} policies",
            context.config.systems.len()
        ));
        let stop = loop {
            tokio::select! {
                _ = term.recv() => break Stop::Exit,
                _ = int.recv() => break Stop::Exit,
                _ = hup.recv() => match reload(path, &context.config.state_dir) {
                    Ok(new) => {
                        metrics.config_reloaded(true);
                        break Stop::Reload(Box::new(new));
                    }
                    Err(errors) => {
                        metrics.config_reloaded(false);
                        tracing::error!("configuration reload refused; the running configuration stays:\n{errors}");
                        systemd::ready("running (a configuration reload was refused: see the log)");
                    }
                },
                Some(joined) = generation.tasks.join_next() => {
                    if let Err(error) = flatten(joined) {
                        generation.stop().await;
                        return Err(error);
                    }
                }
                Some(joined) = serving.tasks.join_next() => {
                    if let Err(error) = flatten(joined) {
                        generation.stop().await;
                        return Err(error);
                    }
                }
            }
        };
        match stop {
            Stop::Exit => {
                tracing::info!("stopping: finishing the work in hand");
                systemd::stopping();
                generation.stop().await;
                if let Some(listeners) = listeners.take() {
                    listeners.stop().await;
                }
                resign(&store).await;
                return Ok(());
            }
            Stop::Reload(new) => {
                tracing::info!("reloading: the work in hand finishes on the old configuration; the admin API keeps answering");
                generation.stop().await;
                tracing::info!("configuration reloaded");
                (config, plan) = *new;
            }
        }
    }
}

/// The request service of a configuration, waking the engine on new work.
fn request_service(
    config: &Arc<Config>,
    store: &Arc<dyn Backend>,
    wake: &Arc<Notify>,
    metrics: &Metrics,
) -> Arc<dyn RequestService> {
    Arc::new(WakingService::new(
        LocalService::new(Arc::clone(config), store.clone()),
        Arc::clone(wake),
        metrics.clone(),
    ))
}

/// Reads the configuration again, telling systemd a reload is under way. A new `state_dir`
/// is refused: the service holds the lock on the one it started with, and its state is there.
/// So is an API tokens file that cannot be read.
fn reload(path: &Path, state_dir: &Path) -> Result<(Config, Plan), String> {
    systemd::reloading();
    let config = config::load(path).map_err(|errors| errors.to_string())?;
    if config.state_dir != state_dir {
        return Err(format!(
            "state_dir changed from {} to {}: a running gallra keeps its state (and its lock) where it started; restart it to move",
            state_dir.display(),
            config.state_dir.display()
        ));
    }
    let plan = Plan::of(&config).map_err(|e| e.to_string())?;
    Ok((config, plan))
}

/// Opens the audit log and the systems of a configuration (blocking plugin calls, on the
/// blocking pool).
async fn open(config: Config, metrics: &Metrics) -> Result<Context, ServeError> {
    let audit = audit_log(&config)?;
    metrics.watch_audit(&audit);
    let config = Arc::new(config);
    let for_open = Arc::clone(&config);
    let systems = tokio::task::spawn_blocking(move || {
        let finder = PluginFinder::new(for_open.plugin_dir.as_deref());
        Systems::open(&for_open, &finder)
    })
    .await
    .expect("opening systems does not panic")
    .with_metrics(metrics);
    Ok(Context {
        audit: Some(audit),
        config,
        systems: Arc::new(systems),
        progress: false,
    })
}

/// The workers of one configuration: the request engine, one loop per scheduled policy,
/// the systemd watchdog.
struct Generation {
    tasks: JoinSet<Result<(), ServeError>>,
    stop: watch::Sender<bool>,
}

impl Generation {
    fn start(
        context: &Context,
        store: &Arc<dyn Backend>,
        started: Timestamp,
        metrics: &Metrics,
        wake: &Arc<Notify>,
        leading: &watch::Receiver<bool>,
    ) -> Result<Self, ServeError> {
        let config = Arc::clone(&context.config);
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let engine = Engine::new(context.clone(), store.clone(), exports(&config.state_dir))
            .with_metrics(metrics.clone())
            .with_stop(stop_rx.clone());
        let heartbeat = Arc::new(systemd::Heartbeat::default());
        heartbeat.beat();
        let gauges =
            gauges::RequestGaugeSource::new(Arc::clone(&config), store.clone(), metrics.clone());
        // Sharing the store, an idle daemon looks again soon: requests a dead daemon held come
        // free when its lease runs out, and nothing else would wake this one for them.
        let idle = match config.state_store.backend {
            config::StateBackend::Sqlite => IDLE_WAKE,
            config::StateBackend::Postgresql { .. } => crate::requests::SHARED_IDLE_WAKE,
        };
        tasks.spawn(drive_loop(
            engine,
            (gauges, idle),
            config.state_dir.clone(),
            Arc::clone(wake),
            Arc::clone(&heartbeat),
            stop_rx.clone(),
        ));
        let watchdog = systemd::watchdog(heartbeat, stop_rx.clone());
        tasks.spawn(async move {
            watchdog.await;
            Ok(())
        });
        let (role, roles) = watch::channel(leadership::Role::Follower);
        let work = leadership::RunWork::default();
        tasks.spawn(leadership::duties(
            context.clone(),
            store.clone(),
            leading.clone(),
            (role, work.clone()),
            stop_rx.clone(),
        ));
        tasks.spawn(leadership::follow(
            context.clone(),
            store.clone(),
            (roles.clone(), work.clone()),
            stop_rx.clone(),
        ));
        for policy in config.policies.values() {
            if let Some(schedule) = policy.schedule.as_deref() {
                let task = scheduler::PolicyLoop::new(
                    context.clone(),
                    store.clone(),
                    policy,
                    schedule,
                    started,
                    metrics.clone(),
                    (roles.clone(), work.clone()),
                )?;
                tasks.spawn(task.run(stop_rx.clone()));
            }
        }
        if config.policies.values().all(|p| p.schedule.is_none()) {
            let (metrics, zone) = (metrics.clone(), config.time_zone.clone());
            tasks.spawn(scheduler::idle(metrics, zone, stop_rx.clone()));
        }
        Ok(Self { tasks, stop })
    }

    /// Asks every worker to stop and waits for them; the work in hand is recorded first.
    async fn stop(mut self) {
        let _ = self.stop.send(true);
        while let Some(joined) = self.tasks.join_next().await {
            if let Err(error) = flatten(joined) {
                tracing::error!(%error, "a worker stopped with an error");
            }
        }
    }
}

/// This node's audit chain, its head in the state store the daemon uses. gallra records
/// each erasure there before making it, so without one it does not start.
fn audit_log(config: &Config) -> Result<Arc<crate::audit::AuditLog>, ServeError> {
    let state_dir = &config.state_dir;
    crate::statestore::open(config)
        .map_err(|error| error.to_string())
        .and_then(|store| crate::audit::open(state_dir, store))
        .map_err(|error| {
            ServeError::Audit(format!(
                "{error}; gallra erases nothing it cannot record in its audit log, so it does not start without one: make {} writable by the user gallra runs as (or free space on its disk) and start it again",
                crate::audit::log_dir(state_dir).display()
            ))
        })
}

fn exports(state_dir: &Path) -> PathBuf {
    state_dir.join("exports")
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

/// Gives the scheduler's leadership up on a clean stop, so that another daemon sharing the
/// store takes it at its next beat rather than when the lease runs out.
async fn resign(store: &Arc<dyn Backend>) {
    let store = Arc::clone(store);
    match tokio::task::spawn_blocking(move || store.resign()).await {
        Ok(Err(error)) => {
            tracing::warn!(%error, "cannot give the scheduler's leadership up; another daemon takes it when the lease runs out")
        }
        _ => tracing::debug!("leadership given up"),
    }
}

/// Resolves once a stop has been asked for.
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopping| *stopping).await;
}

/// Ends the restore windows whose time is up on every wake, so that a run's key is destroyed
/// on time even when no policy runs (policy runs and `gallra restore` prune too).
fn prune_restore_windows(store: &dyn Backend, state_dir: &Path) {
    if let Err(error) = crate::restore::prune(store, state_dir, crate::clock::now()) {
        tracing::error!(%error, "restore windows could not be ended; trying again at the next wake");
    }
}

/// Drives due requests, then sleeps until the next task is due, a request arrives, or a
/// stop is asked for.
async fn drive_loop(
    engine: Engine,
    (gauges, idle): (gauges::RequestGaugeSource, Duration),
    state_dir: PathBuf,
    wake: Arc<Notify>,
    heartbeat: Arc<systemd::Heartbeat>,
    mut stop: watch::Receiver<bool>,
) -> Result<(), ServeError> {
    loop {
        heartbeat.beat();
        let audit_stuck = match engine.drive(crate::clock::now()).await {
            Ok(_) => false,
            Err(DriveError::Store(error)) if error.is_transient() => {
                tracing::warn!(%error, "requests wait: the state store cannot be reached; trying again in a moment");
                tokio::select! {
                    _ = tokio::time::sleep(scheduler::RETRY_UNREACHABLE) => continue,
                    _ = stop.wait_for(|stopping| *stopping) => return Ok(()),
                }
            }
            Err(DriveError::Store(error)) => return Err(error.into()),
            Err(DriveError::Audit(error)) => {
                tracing::error!(%error, "requests wait: nothing is erased until the audit log can be written; trying again in a minute");
                true
            }
        };
        prune_restore_windows(gauges.store(), &state_dir);
        let gauged = gauges.update().map_err(ServeError::from);
        let sleep = match gauged.and_then(|()| until_next(gauges.store(), idle)) {
            Ok(_) if audit_stuck => systemd::max_sleep(IDLE_WAKE),
            Ok(sleep) => sleep,
            Err(ServeError::Store(error)) if error.is_transient() => scheduler::RETRY_UNREACHABLE,
            Err(error) => return Err(error),
        };
        tokio::select! {
            _ = tokio::time::sleep(sleep) => {}
            _ = wake.notified() => {}
            _ = stop.wait_for(|stopping| *stopping) => return Ok(()),
        }
    }
}

/// How long until the earliest waiting task is due, at most `idle` (shorter under a systemd
/// watchdog, so that the loop's heartbeat stays fresh).
fn until_next(store: &dyn RequestStore, idle: Duration) -> Result<Duration, ServeError> {
    let now = crate::clock::now();
    let longest = systemd::max_sleep(idle);
    Ok(match store.next_wakeup()? {
        Some(at) if at <= now => Duration::ZERO,
        Some(at) => Duration::try_from(at.duration_since(now))
            .unwrap_or(longest)
            .min(longest),
        None => longest,
    })
}
