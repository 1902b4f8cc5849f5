//! The backend conformance suite: one set of cases that every backend of the store must pass,
//! so that the daemon can rely on the same contract whether its state is in SQLite or
//! elsewhere.
//!
//! Each case is a function taking a fresh, empty backend (`fn(&dyn Backend)`), and panics if
//! the backend breaks the contract: what one call does atomically, in which order reads come
//! back, which calls are idempotent, what is refused. The cases use only the traits, never a
//! backend's own tables, so a new backend runs them as they are:
//!
//! ```ignore
//! /// Runs one case against a fresh backend, and cleans up after it.
//! fn with_postgres(case: impl FnOnce(&dyn gallra_store::Backend)) {
//!     let schema = Schema::fresh(); // a new schema's name; dropped with the guard
//!     let store = PostgresStore::connect_schema(URL, &schema.name).unwrap();
//!     case(&store);
//! }
//!
//! /// Runs one two-node case: each handle is another store on one fresh schema.
//! fn with_postgres_nodes(case: impl FnOnce(gallra_store::conformance::leases::Open<'_>)) {
//!     let schema = Schema::fresh();
//!     case(&|lease| {
//!         Box::new(PostgresStore::connect_schema(URL, &schema.name).unwrap().leasing(lease))
//!     });
//! }
//!
//! gallra_store::backend_conformance!(with_postgres, nodes: with_postgres_nodes);
//! ```
//!
//! (`tests/it/postgres/` runs it so.)
//!
//! [`backend_conformance!`](crate::backend_conformance) generates one `#[test]` per case,
//! named after it, so a failure names the broken promise; [`cases`] lists them for a runner
//! of its own. What only one backend can show (its files, its schema versions, how many
//! transactions it commits) stays in that backend's own tests.

pub mod audit_head;
pub mod leases;
pub mod nodes;
pub mod request_due;
pub mod request_ends;
pub mod requests;
pub mod restore;
pub mod resume;
pub mod runs;
pub mod tasks;
pub mod tombstones;
pub mod warnings;

pub use crate::Backend;

/// One case of the suite.
#[derive(Clone, Copy)]
pub struct Case {
    /// `module::case`, e.g. `runs::a_runs_slot_cannot_be_taken_twice`.
    pub name: &'static str,
    /// Runs the case against a fresh backend; panics if the backend fails it.
    pub run: fn(&dyn Backend),
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// One case of the suite that needs two nodes on one database ([`leases`]).
#[derive(Clone, Copy)]
pub struct NodesCase {
    /// `module::case`.
    pub name: &'static str,
    /// Runs the case; its argument opens handles on one fresh database as given nodes.
    pub run: fn(leases::Open<'_>),
}

impl std::fmt::Debug for NodesCase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// Every case of the suite, in module order.
pub fn cases() -> Vec<Case> {
    crate::backend_conformance! { @each list [] }
}

/// Every case that needs two nodes on one database.
pub fn node_cases() -> Vec<NodesCase> {
    crate::backend_conformance! { @nodes node_list [] }
}

/// Generates one `#[test]` per conformance case for a backend. `$with` is a function
/// `fn(impl FnOnce(&dyn Backend))` that makes a fresh, empty backend, runs the case on it and
/// cleans up; `$nodes` a function `fn(impl FnOnce(leases::Open<'_>))` that makes a fresh
/// database and hands the case a way to open handles on it as different nodes.
#[macro_export]
macro_rules! backend_conformance {
    ($with:path, nodes: $nodes:path) => {
        $crate::backend_conformance! { @each tests [$with] }
        $crate::backend_conformance! { @nodes node_tests [$nodes] }
    };
    // The cases that need two nodes on one database.
    (@nodes $how:ident [$($arg:tt)*]) => {
        $crate::backend_conformance! { @$how [$($arg)*]
            leases::a_task_another_node_runs_is_left_alone_until_its_lease_runs_out,
            leases::a_node_takes_its_own_running_tasks_back_at_once,
            leases::a_request_another_node_works_is_not_due_elsewhere_until_its_lease_runs_out,
            nodes::one_node_leads_at_a_time_until_its_lease_runs_out_or_it_resigns,
            nodes::a_run_is_claimed_a_whole_subject_at_a_time_by_one_node,
            nodes::a_claimed_request_is_one_nodes_until_released_or_lapsed,
            audit_head::each_node_keeps_its_own_audit_head_and_all_are_listed,
        }
    };
    // The one list of cases; `@tests` and `@list` are what is made of it.
    (@each $how:ident [$($arg:tt)*]) => {
        $crate::backend_conformance! { @$how [$($arg)*]
            runs::a_runs_slot_cannot_be_taken_twice,
            runs::run_state_moves_are_kept_and_a_final_state_sets_finished_at,
            runs::runs_in_state_are_oldest_first_and_recent_runs_newest_first,
            runs::recent_runs_are_newest_first_and_filter_by_policy,
            runs::writing_to_an_unknown_run_is_refused,
            runs::recording_a_subject_again_replaces_its_decision,
            runs::selected_decisions_page_through_each_subject_once_in_key_order,
            runs::deselected_subjects_lose_their_selection_and_identifiers_but_keep_their_tasks,
            tasks::creating_tasks_for_selected_twice_creates_no_duplicates,
            tasks::pending_tasks_returns_interrupted_running_tasks,
            tasks::finishing_a_task_counts_the_attempt_and_starting_a_final_task_changes_nothing,
            tasks::a_batch_of_outcomes_with_an_unknown_task_changes_nothing,
            tasks::outcomes_and_their_tombstones_are_written_together,
            runs::identifiers_round_trip_and_are_forgotten_only_once_no_task_needs_them,
            runs::a_run_files_one_erasure_request_per_selected_subject_once,
            requests::a_request_and_its_tasks_are_created_together,
            requests::every_request_kind_state_and_action_reads_back,
            requests::list_requests_orders_by_due_date_and_open_only_keeps_open_and_blocked,
            request_due::instants_with_fractions_of_a_second_compare_and_order_chronologically,
            request_due::due_requests_returns_exactly_the_requests_with_a_due_task,
            request_due::next_wakeup_is_the_earliest_time_a_task_becomes_due,
            requests::update_request_tasks_is_one_transaction_and_counts_only_attempted_calls,
            requests::a_final_request_state_sets_completed_at_once_and_reopening_clears_it,
            resume::a_resume_token_is_kept_until_the_task_is_final,
            resume::a_runs_task_is_handed_the_latest_resume_token_of_its_subject_in_its_system,
            request_ends::forget_refuses_while_a_task_needs_the_identifiers_and_empties_them_otherwise,
            request_due::needs_person_tasks_lists_only_tasks_waiting_for_a_person_in_requests_not_cancelled,
            request_ends::only_a_failed_task_or_one_waiting_for_a_person_is_tried_again,
            request_ends::a_cancel_is_final_forgets_the_subject_and_is_audited_once,
            request_ends::a_notice_counts_its_reminders_and_records_its_escalation,
            warnings::a_sent_warning_stands_until_cleared,
            warnings::a_new_warning_supersedes_the_standing_one,
            warnings::held_addresses_reach_the_send_step_in_key_order_and_are_forgotten_with_the_run,
            warnings::only_subjects_erased_everywhere_have_their_warning_cleared,
            tombstones::prune_removes_exactly_the_expired,
            tombstones::tombstones_are_listed_per_system_from_a_date_with_their_sealed_bytes,
            restore::a_window_is_opened_once_and_its_first_end_stands,
            restore::a_keep_is_stored_once_and_the_first_stands,
            restore::an_ended_window_is_listed_until_destroyed_and_then_keeps_nothing,
            audit_head::the_audit_head_is_one_row_replaced_on_each_write,
        }
    };
    (@tests [$with:path] $($module:ident :: $case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $with(|store| $crate::conformance::$module::$case(store));
            }
        )*
    };
    (@node_tests [$nodes:path] $($module:ident :: $case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $nodes(|open| $crate::conformance::$module::$case(open));
            }
        )*
    };
    (@node_list [] $($module:ident :: $case:ident),* $(,)?) => {
        vec![$($crate::conformance::NodesCase {
            name: concat!(stringify!($module), "::", stringify!($case)),
            run: $crate::conformance::$module::$case,
        }),*]
    };
    (@list [] $($module:ident :: $case:ident),* $(,)?) => {
        vec![$($crate::conformance::Case {
            name: concat!(stringify!($module), "::", stringify!($case)),
            run: $crate::conformance::$module::$case,
        }),*]
    };
}
