//! One process at a time changes a state directory.
//!
//! Every command that changes state (`gallra run`, `run --once`, `approve`, `restore`,
//! `reapply`, the mutating `request` and `task` commands) first takes an exclusive OS file
//! lock on `<state_dir>/lock` and holds it until it exits. Two of them side by side would
//! both carry out the same run (every erasure twice) and fork the audit chain, so the second
//! one refuses, naming the holder. The lock is the kernel's (`flock`): it goes away with the
//! process however that ends, so a crash never leaves a stale lock behind; the file's text
//! (pid, command, since when) is only there to name the holder.
//!
//! Read-only commands (`plan`, `runs`, `request list`, `audit verify`, `check`) never take it.

use std::fmt;
use std::fs::{DirBuilder, File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The lock file's name in the state directory.
pub const FILE_NAME: &str = "lock";

/// The command label of the long-running service, whose holder is told about the admin API.
pub const SERVICE: &str = "run";

/// How long a refused process waits for a holder that has the lock but has not yet written
/// who it is (it writes right after locking).
const HOLDER_WAIT: Duration = Duration::from_millis(500);

/// The exclusive lock on a state directory, held until dropped (or the process ends).
#[derive(Debug)]
pub struct StateLock {
    // Closing the file releases the lock.
    file: File,
    path: PathBuf,
}

impl Drop for StateLock {
    fn drop(&mut self) {
        // Still locked: nobody reads this holder's text once it is gone. (A crash leaves the
        // text behind; readers then find its process gone.)
        let _ = self.file.set_len(0);
    }
}

impl StateLock {
    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Who holds a state directory, as the holder wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// Its process id.
    pub pid: u32,
    /// Its command, without arguments (`run --once`, `request erase`): arguments could be
    /// personal data.
    pub command: String,
    /// When it took the lock (RFC 3339, the system clock).
    pub since: String,
}

impl Holder {
    fn text(&self) -> String {
        format!(
            "pid {}\ncommand {}\nsince {}\n",
            self.pid, self.command, self.since
        )
    }

    fn parse(text: &str) -> Option<Holder> {
        let mut pid = None;
        let mut command = None;
        let mut since = None;
        for line in text.lines() {
            match line.split_once(' ') {
                Some(("pid", v)) => pid = v.parse().ok(),
                Some(("command", v)) => command = Some(v.to_owned()),
                Some(("since", v)) => since = Some(v.to_owned()),
                _ => {}
            }
        }
        Some(Holder {
            pid: pid?,
            command: command?,
            since: since?,
        })
    }

    /// Whether the holder is the service (`gallra run` without `--once`).
    pub fn is_service(&self) -> bool {
        self.command == SERVICE
    }
}

impl fmt::Display for Holder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pid {}, `gallra {}`, since {}",
            self.pid, self.command, self.since
        )
    }
}

/// Why the state directory could not be locked.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another gallra process holds it.
    #[error("the state directory {dir} is in use by another gallra process ({}); {}", describe(.holder), advice(.holder))]
    Held {
        /// The state directory.
        dir: PathBuf,
        /// Who holds it, if it has said so yet.
        holder: Option<Holder>,
    },
    /// The state directory could not be created.
    #[error("cannot create the state directory {path}: {source} (is its parent writable by the user gallra runs as?)")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The lock file could not be opened, locked or written.
    #[error("cannot lock {path}: {source} (is the state directory writable by the user gallra runs as?)")]
    File {
        /// The lock file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn describe(holder: &Option<Holder>) -> String {
    match holder {
        Some(holder) => holder.to_string(),
        None => "it has not said which yet".to_owned(),
    }
}

fn advice(holder: &Option<Holder>) -> &'static str {
    match holder {
        Some(holder) if holder.is_service() => {
            "the gallra service is running: submit and follow requests and tasks through its admin API (see /v1/openapi.json), or stop the service (systemctl stop gallra) before running this command"
        }
        _ => "only one gallra process may change it at a time: wait for that one to finish and run this command again",
    }
}

/// Takes the exclusive lock on `state_dir` (created with mode 0700 if missing) for
/// `command` (the subcommand without its arguments), or says who holds it.
pub fn acquire(state_dir: &Path, command: &str) -> Result<StateLock, LockError> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(state_dir)
        .map_err(|source| LockError::CreateDir {
            path: state_dir.to_owned(),
            source,
        })?;
    let path = state_dir.join(FILE_NAME);
    let file_err = |source| LockError::File {
        path: path.clone(),
        source,
    };
    // Not truncated on open: until this process holds the lock, the text is the holder's.
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(file_err)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            return Err(LockError::Held {
                dir: state_dir.to_owned(),
                holder: read_holder(&mut file),
            })
        }
        Err(TryLockError::Error(source)) => return Err(file_err(source)),
    }
    let now = jiff::Timestamp::now();
    let holder = Holder {
        pid: std::process::id(),
        command: command.to_owned(),
        since: now.round(jiff::Unit::Second).unwrap_or(now).to_string(),
    };
    file.set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(holder.text().as_bytes()))
        .and_then(|()| file.flush())
        .map_err(file_err)?;
    Ok(StateLock { file, path })
}

/// The holder's text; it writes it right after locking, so give it a moment. Until then the
/// file may still hold the text of a holder that crashed, whose process is gone: not named.
fn read_holder(file: &mut File) -> Option<Holder> {
    let start = std::time::Instant::now();
    loop {
        let mut text = String::new();
        let read = file
            .seek(SeekFrom::Start(0))
            .and_then(|_| file.read_to_string(&mut text));
        let holder = read.ok().and_then(|_| Holder::parse(&text));
        if let Some(holder) = holder.filter(|h| alive(h.pid)) {
            return Some(holder);
        }
        if start.elapsed() >= HOLDER_WAIT {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether a process with this id runs (Linux: it has a `/proc` entry). Without `/proc`,
/// every holder is taken at its word.
fn alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.join("self").exists() || proc.join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_second_holder_is_refused_and_told_who_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let _held = acquire(dir.path(), "run --once").unwrap();
        let err = acquire(dir.path(), "approve").unwrap_err();
        let LockError::Held { holder, .. } = &err else {
            panic!("{err}");
        };
        let holder = holder.as_ref().expect("the holder said who it is");
        assert_eq!(holder.pid, std::process::id());
        assert_eq!(holder.command, "run --once");
        let message = err.to_string();
        assert!(
            message.contains(&format!("pid {}", std::process::id())),
            "{message}"
        );
        assert!(message.contains("`gallra run --once`"), "{message}");
        assert!(message.contains("wait for that one to finish"), "{message}");
    }

    #[test]
    fn the_lock_is_released_when_its_holder_drops_it() {
        let dir = tempfile::tempdir().unwrap();
        drop(acquire(dir.path(), "run --once").unwrap());
        let again = acquire(dir.path(), "task done").unwrap();
        let text = std::fs::read_to_string(again.path()).unwrap();
        assert!(text.contains("command task done\n"), "{text}");
    }

    #[test]
    fn beside_the_service_the_message_points_to_the_admin_api() {
        let dir = tempfile::tempdir().unwrap();
        let _service = acquire(dir.path(), SERVICE).unwrap();
        let message = acquire(dir.path(), "request erase")
            .unwrap_err()
            .to_string();
        assert!(
            message.contains("the gallra service is running"),
            "{message}"
        );
        assert!(message.contains("admin API"), "{message}");
    }

    #[test]
    fn text_left_by_a_dead_holder_does_not_block() {
        let dir = tempfile::tempdir().unwrap();
        let stale = Holder {
            pid: 999_999,
            command: "run --once".into(),
            since: "2020-01-01T00:00:00Z".into(),
        };
        std::fs::write(dir.path().join(FILE_NAME), stale.text() + "a longer tail\n").unwrap();
        let lock = acquire(dir.path(), "approve").unwrap();
        let text = std::fs::read_to_string(lock.path()).unwrap();
        let holder = Holder::parse(&text).unwrap();
        assert_eq!(
            (holder.pid, holder.command.as_str()),
            (std::process::id(), "approve")
        );
        assert!(!text.contains("tail"), "{text}");
    }

    #[test]
    fn a_new_holder_not_yet_written_is_never_mistaken_for_an_old_one() {
        let dir = tempfile::tempdir().unwrap();
        // A clean exit leaves no text behind.
        let first = acquire(dir.path(), "run --once").unwrap();
        let path = first.path().to_owned();
        drop(first);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "");
        // A crashed holder's text, with a new holder that has locked but not yet written.
        let dead = Holder {
            pid: u32::MAX - 1,
            command: "run --once".into(),
            since: "2020-01-01T00:00:00Z".into(),
        };
        std::fs::write(&path, dead.text()).unwrap();
        let new_holder = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .unwrap();
        new_holder.lock().unwrap();
        let err = acquire(dir.path(), "approve").unwrap_err();
        assert!(matches!(err, LockError::Held { holder: None, .. }), "{err}");
    }

    #[test]
    fn a_missing_state_directory_is_made_private() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("a/state");
        let lock = acquire(&state, "run").unwrap();
        assert_eq!(mode(&state), 0o700);
        assert_eq!(mode(lock.path()), 0o600);
    }

    #[test]
    fn a_holder_that_has_not_written_yet_is_still_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path()).unwrap();
        let file = File::create(dir.path().join(FILE_NAME)).unwrap();
        file.lock().unwrap();
        let err = acquire(dir.path(), "approve").unwrap_err();
        assert!(matches!(err, LockError::Held { holder: None, .. }), "{err}");
        assert!(
            err.to_string().contains("it has not said which yet"),
            "{err}"
        );
    }
}
