//! `gallra request …` and `gallra task …`: requests from data subjects and the tasks people
//! do, through the same service as the admin API.

use std::path::Path;
use std::sync::Arc;

use clap::{Args, Subcommand};
use gallra_plugin_api::{Identifier, IdentifierKind};

use super::output::print_json;
use super::setup::{load, lock_state, read_state, CONFIG, FAILED, OK};
use crate::requests::{
    LocalService, RequestId, RequestKind, RequestService, RequestTaskId, ServiceError,
};
use crate::statelock::StateLock;

/// Who a request is about. At least one; values are validated (a personnummer by its date
/// and check digit).
#[derive(Debug, Args)]
pub struct SubjectArgs {
    /// Email address.
    #[arg(long)]
    pub email: Option<String>,
    /// Personnummer or samordningsnummer (YYYYMMDD-NNNN or YYMMDD-NNNN).
    #[arg(long)]
    pub personnummer: Option<String>,
    /// The customer's number in the account source.
    #[arg(long)]
    pub customer_id: Option<String>,
    /// Phone number (with another identifier: alone it may belong to several people).
    #[arg(long)]
    pub phone: Option<String>,
    /// A domain name the customer holds.
    #[arg(long)]
    pub domain: Option<String>,
}

/// `gallra request …`.
#[derive(Debug, Subcommand)]
pub enum RequestCommand {
    /// Erase the subject from every system (kept only where a law requires, until then).
    Erase(SubjectArgs),
    /// Export all the subject's data (CSV and JSON, mode 0600) once `gallra run` has done it.
    Export(SubjectArgs),
    /// Restrict processing to storage while accuracy is checked.
    Restrict(SubjectArgs),
    /// Lift a restriction.
    Unrestrict(SubjectArgs),
    /// Stop marketing (an objection under Art. 21): erased from marketing systems.
    Object(SubjectArgs),
    /// Requests by due date, soonest first; those at risk are marked.
    List {
        /// Include finished requests.
        #[arg(long)]
        all: bool,
        /// How many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// One request, its tasks and (once finished) its receipt.
    Show {
        /// The request's number.
        id: i64,
    },
    /// Cancel an open, blocked or failed request (its identifiers are forgotten).
    Cancel {
        /// The request's number.
        id: i64,
        /// Why (kept on the receipt; no personal data).
        #[arg(long)]
        reason: String,
    },
}

/// `gallra task …`.
#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Tasks waiting for a person: paper, phones, calendars, processors' answers.
    List,
    /// Confirm a task done.
    Done {
        /// The task's number, as `gallra task list` shows it.
        id: i64,
        /// What was done (kept on the receipt; no personal data).
        #[arg(long)]
        note: String,
    },
    /// Try a failed task, or one waiting for a person, again: due at once, its attempts
    /// counted from zero; a failed request is open again.
    Retry {
        /// The task's number, as `gallra request show` or `gallra task list` shows it.
        id: i64,
        /// Why, e.g. what was fixed (kept with the task; no personal data).
        #[arg(long, default_value = "")]
        reason: String,
    },
}

/// The service over the state store, for a command that changes it: with the state
/// directory's lock, held until the returned lock is dropped.
fn writer(path: &Path, command: &str) -> Result<(LocalService, StateLock), u8> {
    let config = load(path)?;
    let lock = lock_state(&config, command)?;
    let store = crate::statestore::open(&config).map_err(|e| {
        eprintln!("gallra: {e}");
        FAILED
    })?;
    Ok((LocalService::new(Arc::new(config), store), lock))
}

/// The service over the state store opened to read only, for a command that only looks;
/// `None` when there is no state yet (and none is created).
fn reader(path: &Path) -> Result<Option<LocalService>, u8> {
    let config = load(path)?;
    let store = read_state(&config)?;
    Ok(store.map(|store| LocalService::new(Arc::new(config), store)))
}

fn identifiers(args: SubjectArgs) -> Result<Vec<Identifier>, u8> {
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
        (IdentifierKind::Phone, args.phone, "--phone"),
        (IdentifierKind::Domain, args.domain, "--domain"),
    ];
    parse_identifiers(given)
}

/// Parses each given `--flag value` as an identifier of its kind; a bad one is reported by
/// its flag (never its value) and gives the usage exit status.
pub(super) fn parse_identifiers(
    given: impl IntoIterator<Item = (IdentifierKind, Option<String>, &'static str)>,
) -> Result<Vec<Identifier>, u8> {
    let mut identifiers = Vec::new();
    for (kind, value, flag) in given {
        if let Some(value) = value {
            let parsed = Identifier::parse(kind, &value).map_err(|e| {
                eprintln!("gallra: {flag}: {e}");
                CONFIG
            })?;
            identifiers.push(parsed);
        }
    }
    Ok(identifiers)
}

fn report(error: ServiceError) -> u8 {
    eprintln!("gallra: {error}");
    match error {
        ServiceError::Unavailable(_) => FAILED,
        _ => CONFIG,
    }
}

/// Runs `gallra request …`.
pub fn request(path: &Path, command: RequestCommand, json: bool) -> u8 {
    let submit = |kind: RequestKind, args: SubjectArgs, lock_name: &str| {
        changing(path, lock_name, |service| submit(service, kind, args, json))
    };
    match command {
        RequestCommand::Erase(a) => submit(RequestKind::Erase, a, "request erase"),
        RequestCommand::Export(a) => submit(RequestKind::Export, a, "request export"),
        RequestCommand::Restrict(a) => submit(RequestKind::Restrict, a, "request restrict"),
        RequestCommand::Unrestrict(a) => submit(RequestKind::Unrestrict, a, "request unrestrict"),
        RequestCommand::Object(a) => submit(RequestKind::Object, a, "request object"),
        RequestCommand::Cancel { id, reason } => unlocked(path, |service| {
            match service.cancel(RequestId(id), &reason) {
                Ok(view) if json => {
                    print_json(&view);
                    OK
                }
                Ok(_) => {
                    println!("request {id} cancelled");
                    OK
                }
                Err(e) => report(e),
            }
        }),
        RequestCommand::List { all, limit } => match reader(path) {
            Ok(Some(service)) => match service.list(!all, limit) {
                Ok(list) => print_list(&list, json),
                Err(e) => report(e),
            },
            Ok(None) => print_list(&[], json),
            Err(status) => status,
        },
        RequestCommand::Show { id } => match reader(path) {
            Ok(Some(service)) => match service.show(RequestId(id)) {
                Ok(view) if json => {
                    print_json(&view);
                    OK
                }
                Ok(view) => {
                    super::request_output::print_view(&view, &service);
                    OK
                }
                Err(e) => report(e),
            },
            Ok(None) => {
                eprintln!("gallra: no request {id}: none has been received yet");
                CONFIG
            }
            Err(status) => status,
        },
    }
}

/// Runs `f` on the service with the state directory's lock held.
/// A cancel is the one change made beside a running gallra without the state lock: it must
/// be able to stop a request whose step is under way. The store takes it in one transaction
/// that running steps cannot write over (they are refused), and the engine, the log's one
/// writer, audits it.
fn unlocked(path: &Path, f: impl FnOnce(&LocalService) -> u8) -> u8 {
    let config = match load(path) {
        Ok(config) => config,
        Err(status) => return status,
    };
    match crate::statestore::open(&config) {
        Ok(store) => f(&LocalService::new(Arc::new(config), store)),
        Err(error) => {
            eprintln!("gallra: {error}");
            FAILED
        }
    }
}

fn changing(path: &Path, lock_name: &str, f: impl FnOnce(&LocalService) -> u8) -> u8 {
    match writer(path, lock_name) {
        Ok((service, _lock)) => f(&service),
        Err(status) => status,
    }
}

fn submit(service: &LocalService, kind: RequestKind, args: SubjectArgs, json: bool) -> u8 {
    let ids = match identifiers(args) {
        Ok(ids) => ids,
        Err(status) => return status,
    };
    match service.submit(kind, ids) {
        Ok(view) if json => {
            print_json(&view);
            OK
        }
        Ok(view) => {
            let s = &view.summary;
            println!(
                "request {} ({}) received: {} tasks, due {}",
                s.id, s.kind, s.tasks, s.due_at
            );
            println!("`gallra run --once` (or the daemon) carries it out; `gallra request show {}` follows it", s.id);
            OK
        }
        Err(e) => report(e),
    }
}

fn print_list(list: &[crate::requests::RequestSummary], json: bool) -> u8 {
    if json {
        print_json(&list);
    } else {
        super::request_output::print_list(list);
    }
    OK
}

/// Runs `gallra task …`.
pub fn task(path: &Path, command: TaskCommand, json: bool) -> u8 {
    match command {
        TaskCommand::List => {
            let tasks = match reader(path) {
                Ok(Some(service)) => service.manual_tasks(),
                Ok(None) => Ok(Vec::new()),
                Err(status) => return status,
            };
            match tasks {
                Ok(tasks) if json => {
                    print_json(&tasks);
                    OK
                }
                Ok(tasks) => {
                    super::request_output::print_tasks(&tasks);
                    OK
                }
                Err(e) => report(e),
            }
        }
        TaskCommand::Done { id, note } => changing(path, "task done", |service| {
            match service.task_done(RequestTaskId(id), &note) {
                Ok(task) if json => {
                    print_json(&task);
                    OK
                }
                Ok(task) => {
                    println!("task {id} ({} on {}) done", task.action, task.system);
                    OK
                }
                Err(e) => report(e),
            }
        }),
        TaskCommand::Retry { id, reason } => changing(path, "task retry", |service| match service
            .task_retry(RequestTaskId(id), &reason)
        {
            Ok(task) if json => {
                print_json(&task);
                OK
            }
            Ok(task) => {
                println!(
                    "task {id} ({} on {}) is tried again at the next pass of `gallra run`",
                    task.action, task.system
                );
                OK
            }
            Err(e) => report(e),
        }),
    }
}
