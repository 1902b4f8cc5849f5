//! Rendering plans and run reports for a person (text) or a script (JSON).

use serde::Serialize;

use crate::policy::Reason;
use crate::runner::{state_name, PlanOutcome, PolicyPlan, RunReport, SystemPlan};
use crate::store::RunRecord;

/// Prints any report as pretty JSON on stdout.
pub fn print_json<T: Serialize + ?Sized>(value: &T) {
    use std::io::Write;
    match serde_json::to_string_pretty(value) {
        // A closed pipe (`| head`) is not an error worth a panic.
        Ok(text) => {
            let _ = writeln!(std::io::stdout().lock(), "{text}");
        }
        Err(error) => eprintln!("gallra: cannot encode the report as JSON: {error}"),
    }
}

/// Prints one policy's plan.
pub fn print_plan(plan: &PolicyPlan) {
    println!(
        "policy {} ({}, mode {}) at {}",
        plan.policy, plan.kind, plan.mode, plan.at
    );
    match &plan.outcome {
        PlanOutcome::Subjects {
            scanned,
            selected,
            reasons,
            systems,
            safety,
            ..
        } => {
            println!("  {scanned} subjects scanned, {selected} selected");
            print_reasons(reasons);
            println!("  a run would erase, in this order:");
            for system in systems {
                print_system_plan(system);
            }
            print_safety(safety.as_deref(), plan.mode);
        }
        PlanOutcome::Records {
            system,
            records,
            cutoff,
            matched,
            safety,
        } => {
            println!("  {matched} {records} records in {system} started before {cutoff}: a run would remove them");
            print_safety(safety.as_deref(), plan.mode);
        }
        PlanOutcome::Failed { error } => {
            println!("  cannot plan, and a run would delete nothing: {error}")
        }
    }
    println!();
}

fn print_reasons(reasons: &std::collections::BTreeMap<&'static str, u64>) {
    for reason in Reason::ALL {
        if let Some(count) = reasons.get(reason.code()) {
            let verdict = if reason.selects() { "selected" } else { "kept" };
            println!("    {verdict:<9}{count:>9}  {}", reason.describe());
        }
    }
}

fn print_safety(trip: Option<&str>, mode: &str) {
    match (trip, mode) {
        (_, "report") => println!("  mode is report: a run records this plan and deletes nothing"),
        (Some(trip), _) => println!(
            "  SAFETY VALVE: {trip}; a run will stop before deleting and wait for `gallra approve`"
        ),
        (None, _) => println!("  within the safety valves"),
    }
}

/// Prints one run's report.
pub fn print_run(report: &RunReport) {
    println!(
        "policy {}: run {} {}: {} scanned, {} selected",
        report.policy, report.run, report.state, report.scanned, report.selected
    );
    print_reasons(&report.reasons);
    for (system, counts) in &report.tasks {
        println!(
            "    {system:<16} {} done, {} retained, {} kept (changed since the plan), {} blocked, {} failed",
            counts.done, counts.retained, counts.kept, counts.blocked, counts.failed
        );
    }
    if let Some(detail) = &report.detail {
        println!("  {detail}");
    }
    println!();
}

/// Prints a list of runs.
pub fn print_runs(runs: &[RunRecord], json: bool) {
    if json {
        let rows: Vec<_> = runs
            .iter()
            .map(|r| {
                serde_json::json!({
                    "run": r.id.0, "policy": r.policy, "mode": r.mode, "state": state_name(r.state),
                    "started_at": r.started_at.to_string(),
                    "finished_at": r.finished_at.map(|t| t.to_string()),
                    "scanned": r.scanned, "selected": r.selected, "detail": r.detail,
                })
            })
            .collect();
        print_json(&rows);
        return;
    }
    println!(
        "{:>6}  {:<24} {:<8} {:<18} {:>9} {:>9}  started",
        "run", "policy", "mode", "state", "scanned", "selected"
    );
    for r in runs {
        println!(
            "{:>6}  {:<24} {:<8} {:<18} {:>9} {:>9}  {}",
            r.id.0,
            r.policy,
            r.mode,
            state_name(r.state),
            r.scanned,
            r.selected,
            r.started_at
        );
    }
}

/// One system of a plan: how many selected subjects it holds, and who erases there.
fn print_system_plan(system: &SystemPlan) {
    let errors = match system.lookup_errors {
        0 => String::new(),
        n => format!(" ({n} lookups failed)"),
    };
    let held = match system.subjects_with_data {
        Some(n) => format!("{n} of the selected subjects have data here{errors}"),
        None => "no connector to ask".to_owned(),
    };
    let by = match system.handled_by {
        "run" => String::new(),
        request => format!("; an erasure {request} for each"),
    };
    println!("    {:<16} {held}{by}", system.system);
}

/// `n` with its noun, singular for one: `1 policy`, `3 policies`.
pub(crate) fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}
