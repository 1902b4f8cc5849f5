//! `gallra audit verify` and `gallra audit show`: checking the audit log's chain, and
//! finding a subject's entries by their keyed hash.
//!
//! Both read `<state_dir>/audit`. `show` reads the subject key from `<state_dir>/audit.key`
//! (the configuration will name it with `audit_key_file`).

use std::fmt::Write as _;
use std::path::Path;

use clap::{Args, Subcommand};
use gallra_plugin_api::{Identifier, IdentifierKind};
use serde_json::json;

use super::commands::{load, FAILED, OK};
use super::output::print_json;
use crate::audit::{self, Entry, SubjectKey, VerifyError, VerifyReport};

/// `gallra audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check that no line of the audit log was changed, deleted, inserted or moved, and
    /// that no file is missing. Exit 1 names the first bad line.
    Verify,
    /// Every entry about one subject: "was this person erased, and when?".
    Show(ShowArgs),
}

/// Who to look for. The values are hashed with the audit key, never printed.
#[derive(Debug, Args)]
#[group(required = true, multiple = true)]
pub struct ShowArgs {
    /// Email address (any capitalization).
    #[arg(long)]
    pub email: Option<String>,
    /// Personnummer or samordningsnummer (YYYYMMDD-NNNN or YYMMDD-NNNN).
    #[arg(long)]
    pub personnummer: Option<String>,
    /// The customer's number in the account source.
    #[arg(long)]
    pub customer_id: Option<String>,
}

/// Runs `gallra audit …` with the configuration at `config_path`. Returns the exit status.
pub fn audit(config_path: &Path, command: AuditCommand, json: bool) -> u8 {
    let config = match load(config_path) {
        Ok(config) => config,
        Err(status) => return status,
    };
    let dir = audit::log_dir(&config.state_dir);
    match command {
        AuditCommand::Verify => verify(&dir, json),
        AuditCommand::Show(args) => show(
            &dir,
            &audit::default_key_path(&config.state_dir),
            args,
            json,
        ),
    }
}

fn verify(dir: &Path, json: bool) -> u8 {
    let result = audit::verify(dir);
    if let Err(VerifyError::Io { .. }) = &result {
        if let Err(error) = result {
            eprintln!("gallra: audit log: {error}");
        }
        return FAILED;
    }
    let (status, text) = render_verify(&result, dir, json);
    println!("{text}");
    status
}

/// The verdict as text or JSON, and the exit status.
fn render_verify(
    result: &Result<VerifyReport, VerifyError>,
    dir: &Path,
    json: bool,
) -> (u8, String) {
    match result {
        Ok(report) if json => {
            let mut value = json!({ "intact": true });
            if let (Some(map), Ok(serde_json::Value::Object(more))) =
                (value.as_object_mut(), serde_json::to_value(report))
            {
                map.extend(more);
            }
            (OK, value.to_string())
        }
        Ok(report) => {
            let mut text = format!(
                "{} in {}, chain intact",
                plural(report.entries, "entry", "entries"),
                plural(report.files as u64, "file", "files"),
            );
            match &report.last_hash {
                Some(hash) => {
                    let _ = write!(text, "\nlast entry {}, hash {hash}", report.last_seq);
                }
                None => {
                    let _ = write!(text, " (no audit log in {} yet)", dir.display());
                }
            }
            (OK, text)
        }
        Err(VerifyError::Broken {
            file,
            line,
            problem,
        }) if json => {
            let value = json!({
                "intact": false,
                "file": file,
                "line": line,
                "problem": problem.to_string(),
            });
            (FAILED, value.to_string())
        }
        Err(error) => (FAILED, error.to_string()),
    }
}

fn show(dir: &Path, key_path: &Path, args: ShowArgs, json: bool) -> u8 {
    let identifiers = match identifiers(args) {
        Ok(identifiers) => identifiers,
        Err(status) => return status,
    };
    if !key_path.exists() {
        eprintln!(
            "gallra: no audit key at {} (gallra creates it when it first writes the audit log)",
            key_path.display()
        );
        return FAILED;
    }
    let key = match SubjectKey::load(key_path) {
        Ok(key) => key,
        Err(error) => {
            eprintln!("gallra: {error}");
            return FAILED;
        }
    };
    match audit::find_subjects(dir, &key, &identifiers) {
        Ok(entries) if json => {
            print_json(&entries);
            OK
        }
        Ok(entries) => {
            print!("{}", render_entries(&entries));
            OK
        }
        Err(error) => {
            eprintln!("gallra: {error}");
            FAILED
        }
    }
}

fn identifiers(args: ShowArgs) -> Result<Vec<Identifier>, u8> {
    let given = [
        (IdentifierKind::Email, args.email, "--email"),
        (
            IdentifierKind::Personnummer,
            args.personnummer,
            "--personnummer",
        ),
        (
            IdentifierKind::CustomerId,
            args.customer_id,
            "--customer-id",
        ),
    ];
    super::requests::parse_identifiers(given)
}

/// One line per entry, oldest first.
fn render_entries(entries: &[Entry]) -> String {
    if entries.is_empty() {
        return "no audit entries for this subject\n".to_owned();
    }
    let mut text = String::new();
    for e in entries {
        let counts: Vec<String> = e.counts.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = write!(
            text,
            "{}  #{}  {}  {}",
            e.time.strftime("%Y-%m-%d %H:%M:%SZ"),
            e.seq,
            e.actor,
            e.action
        );
        if let Some(system) = &e.system {
            let _ = write!(text, " in {system}");
        }
        let _ = write!(text, ": {}", e.outcome);
        if !counts.is_empty() {
            let _ = write!(text, " ({})", counts.join(", "));
        }
        if let Some(detail) = &e.detail {
            let _ = write!(text, " — {detail}");
        }
        text.push('\n');
    }
    let _ = writeln!(
        text,
        "{}; `gallra audit verify` checks that the log is intact",
        plural(entries.len() as u64, "entry", "entries")
    );
    text
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::audit::{Action, Actor, AuditLog, NewEntry, Outcome, Problem};

    fn config(dir: &Path) -> PathBuf {
        let path = dir.join("gallra.toml");
        std::fs::write(
            &path,
            "state_dir = \"state\"\naccount_source = \"panel\"\n[systems.panel]\nplugin = \"sql\"\n",
        )
        .unwrap();
        path
    }

    #[test]
    fn audit_verify_says_how_many_entries_and_files_are_intact() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("audit");
        let key = SubjectKey::from_bytes(&[7; 32]).unwrap();
        let log = AuditLog::open(&dir, key, 1024).unwrap();
        for _ in 0..3 {
            log.append(NewEntry::new(
                Actor::Gallra,
                Action::RunStarted,
                Outcome::Started,
            ))
            .unwrap();
        }
        let (status, text) = render_verify(&audit::verify(&dir), &dir, false);
        assert_eq!(status, OK);
        assert!(
            text.starts_with("3 entries in 1 file, chain intact\nlast entry 3, hash "),
            "{text}"
        );
        let (_, json) = render_verify(&audit::verify(&dir), &dir, true);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["intact"], true);
        assert_eq!(value["entries"], 3);
    }

    #[test]
    fn audit_verify_failure_names_file_and_line_and_exits_1() {
        let result = Err(VerifyError::Broken {
            file: "audit-2.log".into(),
            line: 17,
            problem: Problem::HashMismatch,
        });
        let (status, text) = render_verify(&result, Path::new("/x"), false);
        assert_eq!(status, FAILED);
        assert_eq!(
            text,
            "audit-2.log:17: entry hash does not match its content (the line was changed)"
        );
        let (_, json) = render_verify(&result, Path::new("/x"), true);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["intact"], false);
        assert_eq!(value["line"], 17);
    }

    #[test]
    fn audit_commands_read_the_state_dir_of_the_config() {
        let tmp = tempfile::tempdir().unwrap();
        let path = config(tmp.path());
        let state = tmp.path().join("state");
        assert_eq!(audit(&path, AuditCommand::Verify, false), OK);
        std::fs::create_dir(&state).unwrap();
        let key = SubjectKey::generate(&audit::default_key_path(&state)).unwrap();
        let log = AuditLog::open(&audit::log_dir(&state), key, 1 << 20).unwrap();
        let anna = Identifier::parse(IdentifierKind::Email, "anna@example.se").unwrap();
        log.append(
            NewEntry::new(Actor::Request(1), Action::Erase, Outcome::Done)
                .system("crm")
                .subject(&[anna]),
        )
        .unwrap();
        assert_eq!(audit(&path, AuditCommand::Verify, true), OK);
        let args = ShowArgs {
            email: Some("Anna@Example.se".into()),
            personnummer: None,
            customer_id: None,
        };
        assert_eq!(audit(&path, AuditCommand::Show(args), false), OK);
        let bad = ShowArgs {
            email: Some("not an email".into()),
            personnummer: None,
            customer_id: None,
        };
        assert_eq!(
            audit(&path, AuditCommand::Show(bad), false),
            super::super::commands::CONFIG
        );
    }

    #[test]
    fn audit_show_prints_one_line_per_entry_without_the_identifier() {
        let entry = Entry {
            seq: 4,
            time: "2025-03-01T03:00:00Z".parse().unwrap(),
            actor: "request:42".into(),
            system: Some("crm".into()),
            action: "erase".into(),
            outcome: "done".into(),
            counts: [("rows".to_owned(), 3)].into(),
            subject: vec!["ab".repeat(32)],
            detail: None,
            prev: audit::GENESIS_PREV.into(),
            hash: "cd".repeat(32),
        };
        assert_eq!(
            render_entries(&[entry]),
            "2025-03-01 03:00:00Z  #4  request:42  erase in crm: done (rows=3)\n\
             1 entry; `gallra audit verify` checks that the log is intact\n"
        );
        assert_eq!(render_entries(&[]), "no audit entries for this subject\n");
    }
}
