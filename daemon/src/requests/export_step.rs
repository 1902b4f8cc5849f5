//! An export request: every system's data about the subject, written once as CSV and JSON.
//!
//! All of a request's exports run together, so the files hold one consistent picture; a
//! transient failure anywhere retries the whole export later.

use std::path::Path;

use jiff::Timestamp;

use super::export::{write_export, ExportFormat};
use super::model::{RequestRecord, RequestTask, RequestTaskId};
use super::settle::is_due;
use crate::config::Handling;
use crate::context::Context;
use gallra_core::policy::answer::Next;
use gallra_core::policy::identifiers::subject_for;

/// Runs the export tasks that are due and returns their outcomes.
pub async fn run(
    context: &Context,
    dir: &Path,
    record: &RequestRecord,
    tasks: &[RequestTask],
    _now: Timestamp,
) -> Vec<(RequestTaskId, Next)> {
    let config = &context.config;
    let mut outcomes = Vec::new();
    let mut parts = Vec::new();
    let mut exported = Vec::new();
    let mut retry: Option<String> = None;
    for task in tasks.iter().filter(|t| is_due(t, crate::clock::now())) {
        let Some(system) = config.systems.get(&task.system) else {
            continue;
        };
        match &system.handling {
            Handling::Manual { instructions } => {
                outcomes.push((
                    task.id,
                    Next::NeedsPerson(format!("export by hand: {instructions}")),
                ));
            }
            Handling::Notify(_) => outcomes.push((task.id, Next::Done("nothing to export".into()))),
            Handling::Connector { .. } => {
                let handle = match context.systems.get(&task.system) {
                    Ok(handle) => handle.clone(),
                    Err(why) => {
                        retry = Some(why);
                        exported.push(task.id);
                        continue;
                    }
                };
                let subject = subject_for(&record.identifiers, config.customer_ids(&task.system));
                match handle.call("export", move |i| i.export(&subject)).await {
                    Ok(result) => {
                        parts.push((task.system.clone(), result));
                        exported.push(task.id);
                    }
                    Err(e) if e.is_transient() => {
                        retry = Some(e.to_string());
                        exported.push(task.id);
                    }
                    Err(e) => outcomes.push((task.id, Next::Failed(e.to_string()))),
                }
            }
        }
    }
    if exported.is_empty() {
        return outcomes;
    }
    if let Some(error) = retry {
        outcomes.extend(
            exported
                .into_iter()
                .map(|id| (id, Next::Retry(error.clone()))),
        );
        return outcomes;
    }
    let fields: usize = parts.iter().map(|(_, r)| r.fields.len()).sum();
    let written = write_both(dir, record, &parts);
    outcomes.extend(exported.into_iter().map(|id| {
        let outcome = match &written {
            Ok(paths) => Next::Done(format!("{fields} fields exported to {paths}")),
            Err(e) => Next::Retry(format!("cannot write the export: {e}")),
        };
        (id, outcome)
    }));
    outcomes
}

/// Writes the CSV and the JSON (replacing files left by an interrupted attempt).
fn write_both(
    dir: &Path,
    record: &RequestRecord,
    parts: &[(String, gallra_plugin_api::ExportResult)],
) -> std::io::Result<String> {
    std::fs::create_dir_all(dir)?;
    let mut paths = Vec::new();
    for (format, ext) in [(ExportFormat::Csv, "csv"), (ExportFormat::Json, "json")] {
        let stale = dir.join(format!("request-{}.{ext}", record.id));
        if stale.exists() {
            std::fs::remove_file(&stale)?;
        }
        paths.push(
            write_export(dir, record.id, parts, format)?
                .display()
                .to_string(),
        );
    }
    Ok(paths.join(" and "))
}
