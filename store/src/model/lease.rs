//! Leases: which node works a running task, and until when.
//!
//! A task marked running carries its node's id and an expiry. Another node (a second daemon
//! sharing the store) leaves it alone until the lease expires, then takes it over: erasure is
//! idempotent and read back, so the repeat is harmless, and its audit entries say "again".
//! The node that holds a lease renews it while it works; the same node started again (the
//! state directory's lock says the old process is gone) takes its own tasks back at once.
//!
//! Leases count in real time, never on gallra's policy clock (which a test or a sysadmin can
//! move): whether a process is alive has nothing to do with what day the policies think it is.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a lease lasts unless renewed: longer than any one connector call may take.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(5 * 60);

/// Who takes leases, and for how long.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The node's id, as it is stored with each task it runs. No personal data.
    pub node: String,
    /// How long a lease lasts from its last renewal.
    pub lasts: Duration,
}

impl Lease {
    /// A lease for `node`, lasting [`DEFAULT_LEASE`].
    pub fn new(node: impl Into<String>) -> Self {
        Self {
            node: node.into(),
            lasts: DEFAULT_LEASE,
        }
    }

    /// The same node, with leases that last `lasts`.
    pub fn lasting(self, lasts: Duration) -> Self {
        Self { lasts, ..self }
    }

    /// When a lease taken or renewed now ends, in whole seconds since 1970.
    pub fn until_now(&self) -> i64 {
        now_secs().saturating_add(i64::try_from(self.lasts.as_secs()).unwrap_or(i64::MAX))
    }
}

impl Default for Lease {
    /// This host's name (from the kernel), or `gallra` where it cannot be read.
    fn default() -> Self {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        let host = host.trim();
        Lease::new(if host.is_empty() { "gallra" } else { host })
    }
}

/// Now, in whole seconds since 1970, by the system's real clock.
pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
