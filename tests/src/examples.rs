//! The shipped example configs (`config/examples/`) run for real: each test loads one, points
//! its systems at SQLite files it fills, and moves gallra's clock (`GALLRA_NOW`) to let
//! months and years pass.
//!
//! A system that speaks to a SaaS, an IMAP server or a registry keeps its name, role and
//! rules (legal hold, marketing, activity, register keys) but is reached through the SQL
//! connector on a table of the same role: the promise is about what gallra decides and
//! carries out, which is the same whatever connector does the call.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::daemon::Daemon;
use crate::gallra::{Gallra, Outcome};
use crate::requests::SmtpSink;

/// One example config, loaded into a test's scratch directory.
pub struct Example {
    /// The scratch directory (databases, state, the config).
    pub dir: PathBuf,
    /// Where the edited config is written.
    pub config: PathBuf,
    table: toml::Table,
}

/// A SQLite database of one system.
pub struct Db(pub PathBuf);

/// An example ready to run: its databases filled, its config saved, and the `gallra` that
/// runs it.
pub struct World {
    /// The example, to edit further (then [`Example::save`] again).
    pub example: Example,
    /// `gallra` on the example's config.
    pub gallra: Gallra,
}

impl World {
    /// Saves the example's config as it stands.
    pub fn new(example: Example) -> World {
        let gallra = example.save();
        World { example, gallra }
    }

    /// A system's SQLite database (see [`Example::db`]).
    pub fn db(&self, system: &str) -> Db {
        self.example.db(system)
    }

    /// The `id` column of a system's table, in order.
    pub fn ids(&self, system: &str, table: &str) -> Vec<String> {
        self.db(system)
            .rows(&format!("SELECT id FROM {table} ORDER BY id"))
            .into_iter()
            .map(|r| r[0].clone().unwrap())
            .collect()
    }
}

impl Example {
    /// `config/examples/NAME.toml`, with its state kept in `dir/state` and no admin API socket
    /// (the tests use the CLI).
    pub fn load(name: &str, dir: &Path) -> Example {
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../config/examples")
            .join(format!("{name}.toml"));
        let text =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut table: toml::Table = toml::from_str(&text).unwrap();
        table.insert(
            "state_dir".into(),
            dir.join("state").display().to_string().into(),
        );
        table.remove("api");
        Example {
            dir: dir.to_path_buf(),
            config: dir.join(format!("{name}.toml")),
            table,
        }
    }

    /// The whole config, to edit.
    pub fn table(&mut self) -> &mut toml::Table {
        &mut self.table
    }

    /// One system's table, to edit.
    pub fn system(&mut self, name: &str) -> &mut toml::Table {
        self.table["systems"][name]
            .as_table_mut()
            .unwrap_or_else(|| panic!("the example has no system {name}"))
    }

    /// One policy's table, to edit.
    pub fn policy(&mut self, name: &str) -> &mut toml::Table {
        self.table["policies"][name]
            .as_table_mut()
            .unwrap_or_else(|| panic!("the example has no policy {name}"))
    }

    /// Keeps the example's SQL settings for `system` but on a new SQLite file made from
    /// `statements` (its `backend` and `url_file` give way to `path`).
    pub fn sqlite(&mut self, system: &str, statements: &[String]) -> Db {
        let db = Db::create(&self.dir, system, statements);
        let settings = self.system(system)["settings"].as_table_mut().unwrap();
        settings.remove("url_file");
        settings.insert("backend".into(), "sqlite".into());
        settings.insert("path".into(), db.0.display().to_string().into());
        db
    }

    /// Reaches `system` through the SQL connector with `settings` that already name their
    /// database (e.g. a [`crate::Scenario`]'s).
    pub fn reach_by_sql(&mut self, system: &str, settings: toml::Table) {
        let table = self.system(system);
        table.insert("plugin".into(), "sql".into());
        table.insert("settings".into(), toml::Value::Table(settings));
    }

    /// Reaches `system` through the SQL connector with `settings` (tables of the same role
    /// as the real system's), on a new SQLite file made from `statements`.
    pub fn as_sql(&mut self, system: &str, mut settings: toml::Table, statements: &[String]) -> Db {
        let db = Db::create(&self.dir, system, statements);
        settings.insert("backend".into(), "sqlite".into());
        settings.insert("path".into(), db.0.display().to_string().into());
        self.reach_by_sql(system, settings);
        db
    }

    /// A system's SQLite database, `DIR/SYSTEM.db` (made by [`Example::sqlite`] or
    /// [`Example::as_sql`], or a [`crate::Scenario`]'s in the same directory).
    pub fn db(&self, system: &str) -> Db {
        Db(self.dir.join(format!("{system}.db")))
    }

    /// Reaches the mailbox `system` (IMAP in the example) through the SQL connector on a
    /// table of the same role, `messages`: a correspondent's messages are found by their
    /// `address` and deleted on erasure. `statements` make and fill it.
    pub fn mailbox_as_sql(&mut self, system: &str, statements: &[String]) -> Db {
        self.as_sql(
            system,
            toml::toml! {
                [subjects]
                table = "messages"
                key = "id"
                identifiers = { email = "address" }
                on_erase = "delete"
            },
            statements,
        )
    }

    /// Every policy in `enforce` mode (the examples ship in `report` mode).
    pub fn enforce(&mut self) {
        if let Some(policies) = self
            .table
            .get_mut("policies")
            .and_then(|p| p.as_table_mut())
        {
            for (_, policy) in policies.iter_mut() {
                policy["mode"] = "enforce".into();
            }
        }
    }

    /// Notices go to `sink`, without TLS or a login.
    pub fn smtp(&mut self, sink: &SmtpSink) {
        let port = i64::from(sink.port());
        let smtp = self.table["smtp"]
            .as_table_mut()
            .expect("the example sends email");
        smtp.insert("host".into(), "127.0.0.1".into());
        smtp.insert("port".into(), port.into());
        smtp.insert("starttls".into(), false.into());
        smtp.remove("username");
        smtp.remove("password_file");
    }

    /// Blocked requests and transient failures are tried again within a second.
    pub fn quick_rechecks(&mut self) {
        let requests = self
            .table
            .entry("requests")
            .or_insert_with(|| toml::Value::Table(toml::Table::new()))
            .as_table_mut()
            .unwrap();
        requests.insert("recheck_every".into(), "1 second".into());
        requests.insert("retry_base".into(), "200ms".into());
    }

    /// Writes the config and returns the binary bound to it.
    pub fn save(&self) -> Gallra {
        std::fs::write(&self.config, toml::to_string(&self.table).unwrap()).unwrap();
        Gallra::new(&self.config)
    }

    /// Starts `gallra run` (the service) with the clock at `at`.
    pub fn start_daemon_at(&self, at: &str) -> Daemon {
        self.save();
        Daemon::start_with_env(&self.config, &[("GALLRA_NOW", at), ("GALLRA_LOG", "info")])
    }
}

impl Db {
    fn create(dir: &Path, system: &str, statements: &[String]) -> Db {
        let path = dir.join(format!("{system}.db"));
        let db = rusqlite::Connection::open(&path).unwrap();
        for statement in statements {
            db.execute_batch(statement)
                .unwrap_or_else(|e| panic!("{system}: {statement}: {e}"));
        }
        Db(path)
    }

    fn open(&self) -> rusqlite::Connection {
        rusqlite::Connection::open_with_flags(&self.0, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap()
    }

    /// Every row of a query, each column as text (NULL as `None`).
    pub fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let db = self.open();
        let mut stmt = db.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let columns = stmt.column_count();
        stmt.query_map([], |row| {
            (0..columns)
                .map(|i| {
                    let value: rusqlite::types::Value = row.get(i)?;
                    Ok(match value {
                        rusqlite::types::Value::Null => None,
                        rusqlite::types::Value::Integer(n) => Some(n.to_string()),
                        rusqlite::types::Value::Real(f) => Some(f.to_string()),
                        rusqlite::types::Value::Text(t) => Some(t),
                        rusqlite::types::Value::Blob(b) => Some(format!("{b:?}")),
                    })
                })
                .collect()
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    }

    /// The first column of a query as a set of texts (NULL left out).
    pub fn set(&self, sql: &str) -> BTreeSet<String> {
        self.rows(sql)
            .into_iter()
            .filter_map(|mut r| r.swap_remove(0))
            .collect()
    }

    /// `SELECT COUNT(*) …`.
    pub fn count(&self, sql: &str) -> i64 {
        self.rows(sql)[0][0].as_deref().unwrap().parse().unwrap()
    }
}

/// A local wall-clock time in Stockholm as an RFC 3339 instant, for `GALLRA_NOW`.
pub fn stockholm(local: &str) -> String {
    let text = if local.len() == 10 {
        format!("{local}T00:00:00")
    } else {
        local.to_owned()
    };
    let zoned: jiff::Zoned = format!("{text}[Europe/Stockholm]").parse().unwrap();
    zoned.timestamp().to_string()
}

/// When a request's receipt says it was completed.
pub fn completed_at(view: &Value) -> jiff::Timestamp {
    view["receipt"]["completed_at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

/// `span` after `at` on Stockholm's calendar, as an RFC 3339 instant (as a receipt says when
/// backups expire).
pub fn stockholm_after(at: jiff::Timestamp, span: jiff::Span) -> String {
    at.to_zoned(jiff::tz::TimeZone::get("Europe/Stockholm").unwrap())
        .checked_add(span)
        .unwrap()
        .timestamp()
        .to_string()
}

impl Gallra {
    /// Runs `ARGS` with gallra's clock at `at` (an RFC 3339 instant).
    pub fn at(&self, at: &str, args: &[&str]) -> Outcome {
        self.run_with_env(args, &[("GALLRA_NOW", at)])
    }

    /// `gallra run --once --json` at `at`: the run reports, one per policy.
    pub fn run_once_at(&self, at: &str) -> Value {
        self.at(at, &["run", "--once", "--json"])
            .expect_code(0)
            .json()
    }

    /// `gallra run --once --policy POLICY --json` at `at` (exit 0): one policy's run, for a
    /// test that jumps months ahead, where the nightly policies would rightly stop at the
    /// clock valve and wait for a person.
    pub fn run_policy_once_at(&self, at: &str, policy: &str) -> Value {
        self.at(at, &["run", "--once", "--policy", policy, "--json"])
            .expect_code(0)
            .json()
    }

    /// `gallra request KIND --email EMAIL --json` at `at`: the new request's number.
    pub fn request_at(&self, at: &str, kind: &str, email: &str) -> i64 {
        self.at(at, &["request", kind, "--email", email, "--json"])
            .expect_code(0)
            .json()["id"]
            .as_i64()
            .unwrap()
    }

    /// `gallra task done ID --note NOTE` at `at` (exit 0): a person has done `task` (a task of
    /// `gallra request show`).
    pub fn task_done_at(&self, at: &str, task: &Value, note: &str) {
        self.at(
            at,
            &["task", "done", &task["id"].to_string(), "--note", note],
        )
        .expect_code(0);
    }

    /// `gallra request show ID --json` at `at`.
    pub fn show_at(&self, at: &str, id: i64) -> Value {
        self.at(at, &["request", "show", &id.to_string(), "--json"])
            .expect_code(0)
            .json()
    }

    /// A person does at `at` the tasks of request `id` in `systems` (each must be waiting for
    /// a person) and notes `note`; a run five minutes later carries the request on. Returns
    /// the request as `gallra request show` gives it ten minutes after `at`.
    pub fn done_by_hand_at(&self, at: &str, id: i64, systems: &[&str], note: &str) -> Value {
        let view = self.show_at(at, id);
        for system in systems {
            let waiting = crate::requests::task(&view, system);
            assert_eq!(waiting["state"], "needs_person", "{waiting:#}");
            self.task_done_at(at, waiting, note);
        }
        let at: jiff::Timestamp = at.parse().unwrap();
        let later = |minutes: i64| (at + jiff::SignedDuration::from_mins(minutes)).to_string();
        self.at(&later(5), &["run", "--once"]).expect_code(0);
        self.show_at(&later(10), id)
    }
}

/// The run report of one policy among those `gallra run --once --json` printed.
pub fn report<'a>(reports: &'a Value, policy: &str) -> &'a Value {
    reports
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["policy"] == policy)
        .unwrap_or_else(|| panic!("no report for {policy}: {reports:#}"))
}
