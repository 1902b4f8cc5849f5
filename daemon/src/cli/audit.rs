//! `gallra audit verify`, `show` and `accept`: checking the audit log's chain against its
//! head in the state store, finding a subject's entries by their keyed hash, and a person
//! accepting a log that no longer matches its head.
//!
//! All read `<state_dir>/audit` and the key in `<state_dir>/audit.key` (the configuration
//! will name it with `audit_key_file`).

use std::fmt::Write as _;
use std::path::Path;

use clap::{Args, Subcommand};
use gallra_plugin_api::{Identifier, IdentifierKind};
use serde_json::json;

use super::output::print_json;
use super::setup::{load, lock_state, FAILED, OK};
use crate::audit::{self, AcceptError, Entry, HeadProblem, SubjectKey, VerifyError, VerifyReport};

/// `gallra audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check that no line of the audit log was changed, deleted, inserted or moved, that no
    /// file is missing, and that the log still reaches, and matches, its head in the state
    /// store (nothing cut off the end, emptied, deleted or rewritten). Exit 1 says what is
    /// wrong.
    Verify,
    /// Every entry about one subject: "was this person erased, and when?".
    Show(ShowArgs),
    /// Accept an audit log that no longer matches its head, after finding out why: gallra
    /// goes on from the log as it is (a broken chain's files are moved aside) and records
    /// the acceptance with the reason. Until then it erases nothing.
    Accept {
        /// Why the log may be accepted (kept in the log: no personal data).
        #[arg(long)]
        reason: String,
    },
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
    match command {
        AuditCommand::Verify => verify(&config.state_dir, json),
        AuditCommand::Show(args) => show(&config.state_dir, args, json),
        AuditCommand::Accept { reason } => {
            // Accepting moves the head and may set the log aside: never beside a running
            // gallra, which writes both.
            let _lock = match lock_state(&config, "audit accept") {
                Ok(lock) => lock,
                Err(status) => return status,
            };
            accept(&config.state_dir, &reason, json)
        }
    }
}

fn verify(state_dir: &Path, json: bool) -> u8 {
    let dir = audit::log_dir(state_dir);
    let result = match check(state_dir) {
        Ok(result) => result,
        Err(message) => {
            eprintln!("gallra: {message}");
            return FAILED;
        }
    };
    if let Err(VerifyError::Io { .. }) = &result {
        if let Err(error) = result {
            eprintln!("gallra: audit log: {error}");
        }
        return FAILED;
    }
    let (status, text) = render_verify(&result, &dir, json);
    println!("{text}");
    status
}

/// The log in `state_dir` checked against its head, without creating or locking anything;
/// `Err` if it cannot be checked at all.
fn check(state_dir: &Path) -> Result<Result<VerifyReport, VerifyError>, String> {
    let dir = audit::log_dir(state_dir);
    let head = crate::store::read_audit_head(state_dir).map_err(|e| e.to_string())?;
    let key_path = audit::default_key_path(state_dir);
    if key_path.exists() {
        let key = SubjectKey::load(&key_path).map_err(|e| e.to_string())?;
        return Ok(audit::verify_with_head(
            &dir,
            &key.chain_key(),
            head.as_ref(),
        ));
    }
    let has_lines = audit::verify(
        &dir,
        &SubjectKey::from_bytes(&[0; 32])
            .map_err(|e| e.to_string())?
            .chain_key(),
    )
    .map_or(true, |report| report.entries > 0);
    if has_lines {
        return Err(format!(
            "no audit key at {}: the log's MACs cannot be checked without the key they were made with (put it back from a backup)",
            key_path.display()
        ));
    }
    Ok(match head.filter(|h| h.seq > 0) {
        Some(head) => Err(VerifyError::Head(HeadProblem::Short {
            log_end: 0,
            head: head.seq,
            head_file: head.file,
        })),
        None => Ok(VerifyReport {
            files: 0,
            entries: 0,
            last_seq: 0,
            last_hash: None,
            last_file: 0,
            last_mac: None,
            unsealed: 0,
            head_seq: None,
        }),
    })
}

fn accept(state_dir: &Path, reason: &str, json: bool) -> u8 {
    match audit::accept(state_dir, reason) {
        Ok(accepted) if json => {
            print_json(&json!({
                "accepted": true,
                "head_seq": accepted.head_seq,
                "log_seq": accepted.log_seq,
                "set_aside": accepted.set_aside,
                "seq": accepted.seq,
            }));
            OK
        }
        Ok(accepted) => {
            let mut text = format!(
                "accepted: the state store's head was entry {}, the log ended at entry {}",
                accepted.head_seq, accepted.log_seq
            );
            if let Some(aside) = &accepted.set_aside {
                let _ = write!(
                    text,
                    "; its chain was broken, so its files were moved to {} and a new chain starts",
                    aside.display()
                );
            }
            let _ = write!(
                text,
                "\nentry {} records the acceptance and its reason; gallra erases again",
                accepted.seq
            );
            println!("{text}");
            OK
        }
        Err(AcceptError::Reason(why)) => {
            eprintln!("gallra audit accept: {why}");
            super::setup::CONFIG
        }
        Err(error @ AcceptError::Intact(_)) => {
            println!("{error}");
            OK
        }
        Err(error) => {
            eprintln!("gallra audit accept: {error}");
            FAILED
        }
    }
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
            if let Some(head) = report.head_seq {
                let _ = write!(text, ", matches its head (entry {head}) in the state store");
            }
            if report.unsealed > 0 {
                let _ = write!(
                    text,
                    "\nthe first {} were written before entries were sealed with the audit key",
                    plural(report.unsealed, "entry", "entries")
                );
            }
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
        Err(error @ VerifyError::Head(_)) if json => {
            let value = json!({ "intact": false, "problem": error.to_string() });
            (FAILED, value.to_string())
        }
        Err(error) => (FAILED, error.to_string()),
    }
}

fn show(state_dir: &Path, args: ShowArgs, json: bool) -> u8 {
    let dir = &audit::log_dir(state_dir);
    let key_path = &audit::default_key_path(state_dir);
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
    // An answer from a log that lost entries could deny an erasure that happened.
    let intact = match check(state_dir) {
        Ok(Ok(_)) => OK,
        Ok(Err(error)) => {
            eprintln!("gallra: the audit log is not intact, so entries about this subject may be missing: {error}");
            FAILED
        }
        Err(message) => {
            eprintln!("gallra: {message}");
            FAILED
        }
    };
    match audit::find_subjects(dir, &key, &identifiers) {
        Ok(entries) if json => {
            print_json(&entries);
            intact
        }
        Ok(entries) => {
            print!("{}", render_entries(&entries));
            intact
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
        let chain = SubjectKey::from_bytes(&[7; 32]).unwrap().chain_key();
        let (status, text) = render_verify(&audit::verify(&dir, &chain), &dir, false);
        assert_eq!(status, OK);
        assert!(
            text.starts_with("3 entries in 1 file, chain intact\nlast entry 3, hash "),
            "{text}"
        );
        let (_, json) = render_verify(&audit::verify(&dir, &chain), &dir, true);
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
        let log = audit::open(&state).unwrap();
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
            super::super::setup::CONFIG
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
            hash: None,
            mac: Some("cd".repeat(32)),
        };
        assert_eq!(
            render_entries(&[entry]),
            "2025-03-01 03:00:00Z  #4  request:42  erase in crm: done (rows=3)\n\
             1 entry; `gallra audit verify` checks that the log is intact\n"
        );
        assert_eq!(render_entries(&[]), "no audit entries for this subject\n");
    }
}
