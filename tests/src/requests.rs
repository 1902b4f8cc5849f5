//! Support for the data-subject request tests: the demo systems configured for requests
//! only, the CLI calls every test makes, the state store read directly (to know where a
//! killed process stood), and a small SMTP server that keeps what it receives.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

pub use gallra_testkit::smtp_sink::ReceivedMail;
use serde_json::Value;

use crate::gallra::Gallra;
use crate::scenario::Scenario;

/// Turns a scenario's config into one for requests only: no purge policy runs beside them,
/// billing keeps its records under the 7-year bookkeeping hold, and blocked requests and
/// transient failures are tried again within a second, so tests need not wait.
pub fn for_requests(scenario: &Scenario) {
    scenario.edit_config(|config| {
        config.remove("policies");
        hold_billing_and_retry_quickly(config);
    });
}

/// Billing keeps its records under the 7-year bookkeeping hold; requests are due in 7 days
/// and blocked or failed tasks are tried again within a second.
pub fn hold_billing_and_retry_quickly(config: &mut toml::Table) {
    let billing = config["systems"]["billing"].as_table_mut().unwrap();
    billing.insert(
        "legal_hold".into(),
        toml::Value::Table(toml::toml! { keep = "7 years"  law = "Bokföringslagen 7 kap. 2 §" }),
    );
    config.insert(
        "requests".into(),
        toml::Value::Table(toml::toml! {
            erase_within = "7 days"
            recheck_every = "1 second"
            retry_base = "200ms"
        }),
    );
}

/// Puts `system` behind the `test-faults` connector, every erase call of it taking `ms`
/// milliseconds before it is made (within a call timeout long enough to let it finish): a
/// step that is still running when the test acts.
pub fn slow_erase(scenario: &Scenario, system: &str, ms: u64) {
    scenario.edit_config(|config| {
        let ms = ms as i64;
        let schedule = toml::toml! {
            seed = 1
            rate = 1.0
            faults = ["hang"]
            hang_ms = ms
            operations = ["erase"]
        };
        let table = crate::behind_faults(config, system, ("schedule", schedule.into()));
        table.insert("call_timeout".into(), "60s".into());
    });
}

/// Billing as a system that deletes once its bookkeeping hold is over: its client rows are
/// found by their own key as `customer_id` (so that what an anonymization keeps can be
/// found again without the email), and erase deletes the client and its invoices. During
/// the hold gallra only anonymizes, which keeps the invoices.
pub fn billing_deletes_after_its_hold(scenario: &Scenario) {
    scenario.edit_config(|config| {
        let settings = crate::scenario::settings_of(config, "billing");
        let subjects = settings["subjects"].as_table_mut().unwrap();
        subjects["identifiers"]
            .as_table_mut()
            .unwrap()
            .insert("customer_id".into(), "id".into());
        subjects.insert("on_erase".into(), "delete".into());
        let children = settings["children"].as_array_mut().unwrap();
        children[0]
            .as_table_mut()
            .unwrap()
            .insert("on_erase".into(), "delete".into());
    });
}

/// The first file of the one node's audit chain in `audit_dir` (`audit-NODE-1.log`).
pub fn first_audit_file(audit_dir: &Path) -> PathBuf {
    std::fs::read_dir(audit_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with("audit-") && name.ends_with("-1.log")
        })
        .expect("a node's first audit file")
}

/// The audit log's entries (every file, in order), as JSON.
pub fn audit_entries(scenario: &Scenario) -> Vec<Value> {
    let dir = scenario.dir.join("state/audit");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    files.sort_by_key(|p| {
        p.file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.strip_prefix("audit-"))
            .and_then(|s| s.rsplit('-').next())
            .and_then(|n| n.parse::<u64>().ok())
    });
    files
        .iter()
        .flat_map(|p| {
            std::fs::read_to_string(p)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect::<Vec<Value>>()
        })
        .collect()
}

/// `at` plus `days` days, as `GALLRA_NOW` takes it.
pub fn days_after(at: &str, days: i64) -> String {
    let at: jiff::Timestamp = at.parse().unwrap();
    (at + jiff::SignedDuration::from_hours(24 * days)).to_string()
}

/// Adds a system to the config.
pub fn add_system(scenario: &Scenario, name: &str, system: toml::Table) {
    scenario.edit_config(|config| {
        config["systems"]
            .as_table_mut()
            .unwrap()
            .insert(name.into(), toml::Value::Table(system));
    });
}

/// `gallra request KIND --email EMAIL`: the new request's number.
pub fn submit(gallra: &Gallra, kind: &str, email: &str) -> i64 {
    let view = gallra
        .run(&["request", kind, "--email", email, "--json"])
        .expect_code(0)
        .json();
    view["id"].as_i64().unwrap()
}

/// `gallra request show ID --json`.
pub fn show(gallra: &Gallra, id: i64) -> Value {
    gallra
        .run(&["request", "show", &id.to_string(), "--json"])
        .expect_code(0)
        .json()
}

/// The task of a request view for one system.
pub fn task<'a>(view: &'a Value, system: &str) -> &'a Value {
    view["task_list"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["system"] == system)
        .unwrap_or_else(|| panic!("no task for {system}: {view:#}"))
}

/// The systems a request reached, in task order.
pub fn task_systems(view: &Value) -> Vec<String> {
    view["task_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["system"].as_str().unwrap().to_owned())
        .collect()
}

/// A receipt's line for one system.
pub fn receipt_line<'a>(view: &'a Value, system: &str) -> &'a Value {
    view["receipt"]["systems"]
        .as_array()
        .unwrap_or_else(|| panic!("no receipt: {view:#}"))
        .iter()
        .find(|l| l["system"] == system)
        .unwrap_or_else(|| panic!("no receipt line for {system}: {view:#}"))
}

/// `gallra task done ID --note NOTE`.
pub fn task_done(gallra: &Gallra, task: &Value, note: &str) {
    gallra
        .run(&["task", "done", &task["id"].to_string(), "--note", note])
        .expect_code(0);
}

/// `gallra task retry ID --reason REASON`.
pub fn task_retry(gallra: &Gallra, task: &Value, reason: &str) {
    gallra
        .run(&["task", "retry", &task["id"].to_string(), "--reason", reason])
        .expect_code(0);
}

/// Sleeps until `at` (an RFC 3339 instant) has passed, plus a little.
pub fn sleep_past(at: &Value) {
    let at: jiff::Timestamp = at.as_str().unwrap().parse().unwrap();
    let wait = at.duration_since(jiff::Timestamp::now());
    if wait.is_positive() {
        std::thread::sleep(wait.unsigned_abs());
    }
    std::thread::sleep(Duration::from_millis(20));
}

/// The state store of a scenario, read directly (read-only): where requests and their tasks
/// stand, even while a process that was killed left them half-way.
pub struct StateDb<'a>(&'a Path);

impl<'a> StateDb<'a> {
    /// The state store under the scenario's `state/` directory.
    pub fn of(scenario: &'a Scenario) -> StateDb<'a> {
        StateDb(&scenario.dir)
    }

    fn counts(&self, sql: &str) -> BTreeMap<String, u64> {
        let path = self.0.join("state/state.db");
        let Ok(db) = rusqlite::Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        ) else {
            return BTreeMap::new();
        };
        let Ok(mut stmt) = db.prepare(sql) else {
            return BTreeMap::new();
        };
        stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
        })
        .map(|rows| rows.filter_map(Result::ok).collect())
        .unwrap_or_default()
    }

    /// Requests per state.
    pub fn requests(&self) -> BTreeMap<String, u64> {
        self.counts("SELECT state, COUNT(*) FROM requests GROUP BY state")
    }

    /// Requests that still hold their subject's identifiers, by state.
    pub fn holding_identifiers(&self) -> BTreeMap<String, u64> {
        self.counts(
            "SELECT state, COUNT(*) FROM requests WHERE identifiers_json IS NOT NULL GROUP BY state",
        )
    }

    /// Request tasks per state.
    pub fn tasks(&self) -> BTreeMap<String, u64> {
        self.counts("SELECT state, COUNT(*) FROM request_tasks GROUP BY state")
    }

    /// The tasks of requests that are not final, one line each, to show in a failure.
    pub fn unfinished(&self) -> Vec<String> {
        let path = self.0.join("state/state.db");
        let db = rusqlite::Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let mut stmt = db
            .prepare(
                "SELECT r.id, r.state, t.system, t.state, t.attempts, \
                 COALESCE(t.not_before, '-'), COALESCE(t.detail, '-') \
                 FROM requests r JOIN request_tasks t ON t.request = r.id \
                 WHERE r.state NOT IN ('done', 'cancelled') ORDER BY r.id, t.ord",
            )
            .unwrap();
        stmt.query_map([], |r| {
            Ok(format!(
                "request {} {}: {} {} attempts={} not_before={} {}",
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, i64>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, String>(6)?,
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    }

    /// Each task's outcome by (request, system): state, retained until, legal basis, detail.
    pub fn task_outcomes(&self) -> BTreeMap<(i64, String), [Option<String>; 4]> {
        let path = self.0.join("state/state.db");
        let db = rusqlite::Connection::open_with_flags(
            &path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        let mut stmt = db
            .prepare(
                "SELECT request, system, state, retained_until, legal_basis, detail \
                 FROM request_tasks",
            )
            .unwrap();
        stmt.query_map([], |r| {
            Ok((
                (r.get(0)?, r.get(1)?),
                [r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?],
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    }

    /// The state of a request's task in `system`, read directly (`None` before it exists).
    pub fn task_state(&self, request: i64, system: &str) -> Option<String> {
        self.task_outcomes()
            .remove(&(request, system.to_owned()))
            .and_then(|[state, ..]| state)
    }

    /// Request tasks that have an outcome (no longer pending or running).
    pub fn tasks_settled(&self) -> u64 {
        self.tasks()
            .iter()
            .filter(|(state, _)| !matches!(state.as_str(), "pending" | "running"))
            .map(|(_, n)| n)
            .sum()
    }
}

/// A small seeded generator, so that a failing kill schedule can be replayed.
pub struct Lcg(pub u64);

impl Lcg {
    /// A number in `0..max`.
    pub fn below(&mut self, max: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % max
    }
}

/// A real SMTP server on `127.0.0.1` that keeps every message, on plain threads (this test
/// crate has no async runtime). Messages come back as gallra's own
/// [`ReceivedMail`], whose `header` and `body_text` decode what lettre encoded.
pub struct SmtpSink {
    port: u16,
    messages: Arc<Mutex<Vec<ReceivedMail>>>,
    stop: Arc<AtomicBool>,
}

impl SmtpSink {
    /// Starts listening on a free port.
    pub fn start() -> SmtpSink {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (kept, stopping) = (Arc::clone(&messages), Arc::clone(&stop));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let kept = Arc::clone(&kept);
                std::thread::spawn(move || {
                    // A client that goes away mid-session is its own business.
                    let _ = session(stream, &kept);
                });
            }
        });
        SmtpSink {
            port,
            messages,
            stop,
        }
    }

    /// An `[smtp]` table that sends to this sink, without TLS or a login.
    pub fn config(&self) -> toml::Value {
        let port = i64::from(self.port);
        toml::Value::Table(toml::toml! {
            host = "127.0.0.1"
            port = port
            from = "privacy@hosting.example"
            starttls = false
        })
    }

    /// Its port (the host is `127.0.0.1`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        self.messages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Every message received so far whose body mentions `needle` (a subject's email: the
    /// notices about one subject among those about others).
    pub fn messages_about(&self, needle: &str) -> Vec<ReceivedMail> {
        let mut messages = self.messages();
        messages.retain(|m| m.body_text().contains(needle));
        messages
    }

    /// Waits until at least `n` messages have arrived and returns them all; `None` if
    /// `timeout` passes first.
    pub fn wait_for(&self, n: usize, timeout: Duration) -> Option<Vec<ReceivedMail>> {
        self.wait_for_about(n, "", timeout)
    }

    /// [`SmtpSink::wait_for`], counting only the messages about `needle`.
    pub fn wait_for_about(
        &self,
        n: usize,
        needle: &str,
        timeout: Duration,
    ) -> Option<Vec<ReceivedMail>> {
        let start = Instant::now();
        loop {
            let messages = self.messages_about(needle);
            if messages.len() >= n {
                return Some(messages);
            }
            if start.elapsed() > timeout {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn session(stream: TcpStream, kept: &Mutex<Vec<ReceivedMail>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut write = stream.try_clone()?;
    let mut read = BufReader::new(stream);
    write.write_all(b"220 gallra-e2e-sink ESMTP\r\n")?;
    let (mut from, mut to) = (None::<String>, Vec::<String>::new());
    let mut line = String::new();
    loop {
        line.clear();
        if read.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end_matches(['\r', '\n']);
        let verb = command
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-gallra-e2e-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "HELO" | "NOOP" | "RSET" => b"250 OK\r\n",
            "QUIT" => {
                write.write_all(b"221 Bye\r\n")?;
                return Ok(());
            }
            "MAIL" => {
                from = angle_path(command);
                to.clear();
                b"250 OK\r\n"
            }
            "RCPT" => {
                to.extend(angle_path(command));
                b"250 OK\r\n"
            }
            "DATA" => {
                write.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if read.read_line(&mut line)? == 0 {
                        return Ok(());
                    }
                    if line.trim_end_matches(['\r', '\n']) == "." {
                        break;
                    }
                    data.push_str(line.strip_prefix('.').unwrap_or(&line));
                }
                kept.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(ReceivedMail {
                        from: from.take().unwrap_or_default(),
                        to: std::mem::take(&mut to),
                        authenticated_as: None,
                        data,
                    });
                b"250 OK queued\r\n"
            }
            _ => b"502 Command not implemented\r\n",
        };
        write.write_all(reply)?;
    }
}

/// `RCPT TO:<a@b> …` → `a@b`.
fn angle_path(command: &str) -> Option<String> {
    let start = command.find('<')? + 1;
    let end = start + command[start..].find('>')?;
    Some(command[start..end].to_owned())
}
