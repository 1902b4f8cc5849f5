//! A `gallra run` daemon for a test, killed when the test ends — even when it panics.

use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

use crate::binaries::gallra_bin;

/// A running `gallra run --config …`.
pub struct Daemon {
    child: Option<Child>,
}

impl Daemon {
    /// Starts `gallra run` with this config.
    pub fn start(config: &Path) -> Daemon {
        Self::start_with_env(config, &[])
    }

    /// Starts `gallra run` with this config and extra environment (e.g. `NOTIFY_SOCKET`).
    pub fn start_with_env(config: &Path, env: &[(&str, &str)]) -> Daemon {
        let child = Command::new(gallra_bin())
            .args(["run", "--config"])
            .arg(config)
            .envs(env.iter().copied())
            .spawn()
            .expect("gallra starts");
        Daemon { child: Some(child) }
    }

    fn child(&mut self) -> &mut Child {
        self.child.as_mut().expect("running")
    }

    /// Its process id.
    pub fn pid(&mut self) -> u32 {
        self.child().id()
    }

    /// Sends a signal by name (`HUP`, `TERM`).
    pub fn signal(&mut self, name: &str) {
        let pid = self.child().id().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .expect("kill runs");
        assert!(sent.success(), "kill -{name} {pid} failed");
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        self.child().try_wait().expect("wait works").is_none()
    }

    /// Waits up to `limit` for it to exit; panics if it does not.
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child().try_wait().expect("wait works") {
                self.child = None;
                return status;
            }
            assert!(
                start.elapsed() < limit,
                "gallra did not exit within {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
