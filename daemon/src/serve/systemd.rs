//! Telling systemd how the service is doing (`Type=notify`): READY=1 once the store is open
//! and the plugins are loaded, STATUS= lines, STOPPING=1, and watchdog pings that come only
//! while the service's loops are still turning — so a wedged loop gets the process
//! restarted. Outside systemd (no NOTIFY_SOCKET) every call does nothing.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use sd_notify::NotifyState;
use tokio::sync::watch;

fn send(states: &[NotifyState]) {
    if let Err(error) = sd_notify::notify(states) {
        tracing::debug!(%error, "cannot notify systemd");
    }
}

/// The service is up.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// A configuration reload has started.
pub fn reloading() {
    send(&[
        NotifyState::Reloading,
        NotifyState::Status("reloading the configuration"),
    ]);
}

/// The service is stopping.
pub fn stopping() {
    send(&[
        NotifyState::Stopping,
        NotifyState::Status("stopping: finishing the work in hand"),
    ]);
}

/// When the service's loops last went round, for the watchdog.
#[derive(Debug, Default)]
pub struct Heartbeat(AtomicI64);

impl Heartbeat {
    /// A loop went round now.
    pub fn beat(&self) {
        self.0
            .store(Timestamp::now().as_millisecond(), Ordering::Relaxed);
    }

    fn age(&self) -> Duration {
        let last = self.0.load(Ordering::Relaxed);
        Duration::from_millis(
            Timestamp::now()
                .as_millisecond()
                .saturating_sub(last)
                .max(0) as u64,
        )
    }
}

/// The longest a loop may sleep so that the watchdog sees it turn in time.
pub fn max_sleep(default: Duration) -> Duration {
    match sd_notify::watchdog_enabled() {
        Some(period) => default.min(period / 3),
        None => default,
    }
}

/// Pings the watchdog at half its period while `heartbeat` is fresher than the period.
pub async fn watchdog(heartbeat: Arc<Heartbeat>, mut stop: watch::Receiver<bool>) {
    let Some(period) = sd_notify::watchdog_enabled() else {
        return;
    };
    let mut tick = tokio::time::interval(period / 2);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if heartbeat.age() < period {
                    send(&[NotifyState::Watchdog]);
                } else {
                    tracing::error!(stalled_for = ?heartbeat.age(), "the service's loop has stalled; not pinging the watchdog");
                }
            }
            _ = stop.wait_for(|stopping| *stopping) => return,
        }
    }
}
