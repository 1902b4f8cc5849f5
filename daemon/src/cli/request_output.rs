//! Requests and tasks as text.

use crate::requests::receipt::render_receipt;
use crate::requests::{LocalService, RequestSummary, RequestView, TaskView};

/// The request list: soonest due first, those at risk or overdue marked.
pub fn print_list(list: &[RequestSummary]) {
    if list.is_empty() {
        println!("no requests");
        return;
    }
    println!(
        "{:>6}  {:<10} {:<9} {:<26} {:>5}  note",
        "id", "kind", "state", "due", "open"
    );
    for r in list {
        let mark = if r.overdue {
            "OVERDUE"
        } else if r.at_risk {
            "AT RISK"
        } else {
            ""
        };
        println!(
            "{:>6}  {:<10} {:<9} {:<26} {:>5}  {mark} {}",
            r.id.0,
            r.kind.as_str(),
            r.state.as_str(),
            r.due_at.to_string(),
            r.tasks_open,
            r.detail.as_deref().unwrap_or("")
        );
    }
}

/// One request with its tasks, and its receipt once finished.
pub fn print_view(view: &RequestView, _service: &LocalService) {
    let s = &view.summary;
    println!(
        "request {} ({}): {}, received {}, due {}",
        s.id, s.kind, s.state, s.received_at, s.due_at
    );
    if let Some(detail) = &s.detail {
        println!("  {detail}");
    }
    print_tasks(&view.task_list);
    if let Some(receipt) = &view.receipt {
        println!();
        print!("{}", render_receipt(receipt, &jiff::tz::TimeZone::system()));
    }
}

/// Tasks, one line each.
pub fn print_tasks(tasks: &[TaskView]) {
    if tasks.is_empty() {
        println!("no tasks");
        return;
    }
    for t in tasks {
        println!(
            "  task {:>5}  request {:>5}  {:<12} {:<10} {:<12} {}",
            t.id.0,
            t.request.0,
            t.system,
            t.action.as_str(),
            t.state.as_str(),
            t.detail
                .as_deref()
                .or(t.instructions.as_deref())
                .unwrap_or("")
        );
    }
}
