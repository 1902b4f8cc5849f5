//! One function per subcommand. Each returns the process exit status.

use std::path::Path;
use std::sync::Arc;

use super::output;
use super::setup::{load, lock_state, open_systems, read_state, run_status, CONFIG, FAILED, OK};
use super::Command;
use crate::config::{Config, Policy};
use crate::requests::Engine;
use crate::runner::{self, PlanOutcome};
use crate::statelock;
use crate::store::{RunId, Store};

/// Runs one subcommand.
pub async fn dispatch(command: Command) -> u8 {
    match command {
        Command::Check { config, connect } => check(&config.config, connect).await,
        Command::Plan {
            config,
            policy,
            json,
            at,
        } => plan(&config.config, policy.as_deref(), json, at.as_deref()).await,
        Command::Run {
            config,
            once,
            policy,
            json,
        } => {
            if once {
                run_once(&config.config, policy.as_deref(), json).await
            } else {
                run_service(&config.config).await
            }
        }
        Command::Approve { config, run } => approve(&config.config, run).await,
        Command::Reapply {
            config,
            system,
            since,
            dry_run,
            json,
        } => super::reapply::reapply(&config.config, &system, &since, dry_run, json).await,
        Command::Restore(args) => super::restore::restore(args).await,
        Command::Runs {
            config,
            policy,
            limit,
            json,
        } => runs(&config.config, policy.as_deref(), limit, json),
        Command::Register {
            config,
            format,
            output,
        } => super::register::register(&config.config, format, output.as_deref()),
        Command::Demo {
            dir,
            customers,
            seed,
        } => super::demo::demo(dir, customers, seed).await,
        Command::Request {
            config,
            json,
            command,
        } => super::requests::request(&config.config, command, json),
        Command::Audit {
            config,
            json,
            command,
        } => super::audit::audit(&config.config, command, json),
        Command::Task {
            config,
            json,
            command,
        } => super::requests::task(&config.config, command, json),
        Command::State {
            config,
            json,
            command,
        } => super::state::state(&config.config, command, json),
    }
}

async fn check(path: &Path, connect: bool) -> u8 {
    match crate::plugins::check_installed(path) {
        Ok(config) => {
            println!(
                "{}: OK ({}, {})",
                path.display(),
                super::output::plural(config.systems.len() as u64, "system", "systems"),
                super::output::plural(config.policies.len() as u64, "policy", "policies")
            );
            match connect {
                true => connect_systems(&config).await,
                false => OK,
            }
        }
        Err(errors) => {
            eprintln!("{errors}");
            CONFIG
        }
    }
}

/// Opens every system reached through a plugin and asks it `health`: one line per system
/// on stdout when it answers, its error on stderr when not. What connectors warn of at open
/// (a missing index) is logged on stderr as they open.
async fn connect_systems(config: &Config) -> u8 {
    let finder = crate::plugins::PluginFinder::new(config.plugin_dir.as_deref());
    let systems = crate::plugins::Systems::open(config, &finder);
    let mut failed = 0;
    for system in config.systems.values().filter(|s| s.connector().is_some()) {
        let name = &system.name;
        let answer = match systems.get(name) {
            Ok(handle) => handle
                .call("health", |i| i.health())
                .await
                .map_err(|e| e.to_string()),
            Err(why) => Err(why),
        };
        match answer {
            Ok(()) => println!("system \"{name}\": answers"),
            Err(why) => {
                failed += 1;
                eprintln!("gallra check: {why}");
            }
        }
    }
    if failed == 0 {
        OK
    } else {
        FAILED
    }
}

/// The policies a command acts on: all, or the one named.
fn selected_policies<'a>(config: &'a Config, only: Option<&str>) -> Result<Vec<&'a Policy>, u8> {
    match only {
        None => Ok(config.policies.values().collect()),
        Some(name) => config.policies.get(name).map(|p| vec![p]).ok_or_else(|| {
            let known: Vec<&str> = config.policies.keys().map(String::as_str).collect();
            eprintln!(
                "gallra: no policy \"{name}\" in {} (policies: {})",
                config.path.display(),
                known.join(", ")
            );
            CONFIG
        }),
    }
}

async fn plan(path: &Path, only: Option<&str>, json: bool, at: Option<&str>) -> u8 {
    let config = match load(path) {
        Ok(config) => config,
        Err(status) => return status,
    };
    if let Some(at) = at {
        match crate::clock::parse_instant(at, &config.time_zone) {
            Ok(at) => crate::clock::set(at),
            Err(why) => {
                eprintln!("gallra plan: --at {why}");
                return 2;
            }
        }
    }
    let now = crate::clock::now_in(&config.time_zone);
    let names: Vec<String> = match selected_policies(&config, only) {
        Ok(policies) => policies.iter().map(|p| p.name.clone()).collect(),
        Err(status) => return status,
    };
    let context = open_systems(config, !json).await;
    let mut plans = Vec::new();
    for name in names {
        let policy = &context.config.policies[&name];
        plans.push(runner::plan_policy(&context, policy, &now).await);
    }
    if json {
        output::print_json(&plans);
    } else {
        plans.iter().for_each(output::print_plan);
    }
    if plans
        .iter()
        .any(|p| matches!(p.outcome, PlanOutcome::Failed { .. }))
    {
        FAILED
    } else {
        OK
    }
}

async fn run_once(path: &Path, only: Option<&str>, json: bool) -> u8 {
    let config = match load(path) {
        Ok(config) => config,
        Err(status) => return status,
    };
    let names: Vec<String> = match selected_policies(&config, only) {
        Ok(policies) => policies.iter().map(|p| p.name.clone()).collect(),
        Err(status) => return status,
    };
    let _lock = match lock_state(&config, "run --once") {
        Ok(lock) => lock,
        Err(status) => return status,
    };
    let sqlite = match crate::statestore::open(&config) {
        Ok(store) => store,
        Err(error) => {
            eprintln!("gallra: {error}");
            return FAILED;
        }
    };
    // Policy runs start on the scheduler's leader only: with daemons sharing the store,
    // this command runs policies only if none of them leads now.
    match sqlite.lead() {
        Ok(true) => {}
        Ok(false) => {
            let holder = sqlite.leader().ok().flatten();
            let who = holder.map_or("another daemon".to_owned(), |(node, _)| {
                format!("daemon \"{node}\"")
            });
            eprintln!("gallra: {who} leads the scheduler of this state store and starts the policy runs; `gallra run --once` runs none beside it (stop that daemon first, or let it run them)");
            return FAILED;
        }
        Err(error) => {
            eprintln!("gallra: {error}");
            return FAILED;
        }
    }
    let _resign = Resign(sqlite.clone());
    let store: Arc<dyn Store> = sqlite.clone();
    let now = crate::clock::now_in(&config.time_zone);
    let export_dir = config.state_dir.join("exports");
    // Every erasure is written to the audit log before it is made: no log, no run.
    let audit = match crate::audit::open(&config.state_dir, sqlite.clone()) {
        Ok(audit) => audit,
        Err(error) => {
            eprintln!(
                "gallra: {error}; `gallra run` erases nothing it cannot record in its audit log: make {} writable by the user gallra runs as (or free space on its disk) and run again",
                crate::audit::log_dir(&config.state_dir).display()
            );
            return FAILED;
        }
    };
    let mut context = open_systems(config, !json).await;
    context.audit = Some(audit);
    let engine = Engine::new(context.clone(), sqlite, export_dir);
    if let Err(error) = engine.drive(now.timestamp()).await {
        eprintln!("gallra: requests: {error}");
        return FAILED;
    }
    let mut reports = match runner::resume_open_runs(&context, &store).await {
        Ok(reports) => reports,
        Err(error) => {
            eprintln!("gallra: {error}");
            return FAILED;
        }
    };
    for name in names {
        let policy = &context.config.policies[&name];
        match runner::run_policy(&context, &store, policy, &now).await {
            Ok(report) => reports.push(report),
            Err(error) => {
                eprintln!("gallra: policy \"{name}\": {error}");
                return FAILED;
            }
        }
    }
    // The erasure requests the runs filed (manual, notify, legal hold) start now.
    let filed = context
        .config
        .policies
        .values()
        .any(|policy| runner::hands_over(&context.config, policy));
    if filed {
        if let Err(error) = engine.drive(crate::clock::now()).await {
            eprintln!("gallra: requests: {error}");
            return FAILED;
        }
    }
    if json {
        output::print_json(&reports);
    } else {
        reports.iter().for_each(output::print_run);
    }
    run_status(&reports)
}

/// Gives the scheduler's leadership up when `gallra run --once` ends, however it ends.
struct Resign(Arc<dyn crate::store::Backend>);

impl Drop for Resign {
    fn drop(&mut self) {
        if let Err(error) = self.0.resign() {
            tracing::warn!(%error, "cannot give the scheduler's leadership up; a daemon takes it when the lease runs out");
        }
    }
}

/// `gallra run`: the admin API and the request engine until SIGTERM.
async fn run_service(path: &Path) -> u8 {
    let config = match load(path) {
        Ok(config) => config,
        Err(status) => return status,
    };
    // Held until the service stops: nothing else changes the state meanwhile.
    let _lock = match lock_state(&config, statelock::SERVICE) {
        Ok(lock) => lock,
        Err(status) => return status,
    };
    let store = match crate::statestore::open(&config) {
        Ok(store) => store,
        Err(error) => {
            eprintln!("gallra: {error}");
            return FAILED;
        }
    };
    match crate::serve::serve(path, config, store).await {
        Ok(()) => OK,
        Err(error) => {
            eprintln!("gallra: {error}");
            FAILED
        }
    }
}

async fn approve(path: &Path, run: i64) -> u8 {
    let config = match load(path) {
        Ok(config) => config,
        Err(status) => return status,
    };
    let _lock = match lock_state(&config, "approve") {
        Ok(lock) => lock,
        Err(status) => return status,
    };
    let store = match crate::statestore::open(&config) {
        Ok(store) => store,
        Err(error) => {
            eprintln!("gallra: {error}");
            return FAILED;
        }
    };
    match runner::approve(&config, store.as_ref(), RunId(run), crate::clock::now()) {
        Ok(record) => {
            println!(
                "run {run} of policy \"{}\" approved: {} subjects when it was planned; the next \
                 `gallra run` carries it out, deciding each subject again just before erasing it",
                record.policy, record.selected
            );
            // What the run would select now: subjects the plan no longer selects are kept.
            let now = crate::clock::now_in(&config.time_zone);
            let context = open_systems(config, false).await;
            if let Some(policy) = context.config.policies.get(&record.policy) {
                println!("as of now:");
                output::print_plan(&runner::plan_policy(&context, policy, &now).await);
            }
            OK
        }
        Err(runner::ApproveError::Store(error)) => {
            eprintln!("gallra: state store: {error}");
            FAILED
        }
        Err(error) => {
            eprintln!("gallra: {error}");
            CONFIG
        }
    }
}

fn runs(path: &Path, policy: Option<&str>, limit: usize, json: bool) -> u8 {
    let config = match load(path) {
        Ok(config) => config,
        Err(status) => return status,
    };
    // Only looks: with no state yet there are no runs, and none is created.
    let runs = match read_state(&config) {
        Ok(Some(store)) => store.recent_runs(policy, limit),
        Ok(None) => Ok(Vec::new()),
        Err(status) => return status,
    };
    match runs {
        Ok(runs) => {
            output::print_runs(&runs, json);
            OK
        }
        Err(error) => {
            eprintln!("gallra: {error}");
            FAILED
        }
    }
}
