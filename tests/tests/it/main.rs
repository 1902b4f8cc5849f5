//! gallra's end-to-end tests: the real `gallra` binary and plugins against real stores.
//!
//! One test binary, not one per file: Cargo links each file under `tests/` as a binary of its
//! own, each with the whole daemon library, and linking dominated CI. Add a test file here as
//! a module; what the modules share lives in the crate (`tests/src`, `gallra_e2e`). Run one
//! module with `cargo test -p gallra-e2e --test it <module>::`.
//!
//! The modules run side by side on the test threads. They may: every daemon is killed by its
//! own pid (`Daemon`, `crash::run_and_kill`), never by name; ports are the kernel's free ones;
//! databases, PostgreSQL clusters and tmpfs mounts are each test's own; nothing sets an
//! environment variable of this process. `fault_harness` stays a binary of its own: it is
//! long and sized by environment variables (`GALLRA_FAULT_SEEDS`), and is run by itself.

mod all_connectors;
mod audit_log;
mod check;
mod connector_guide;
mod crash_full_disk;
mod crash_kills;
mod crash_postgres_restart;
mod crash_resume;
mod daemon;
mod examples_check;
mod identity;
mod inactivity_purge;
mod inactivity_warnings;
mod logs;
mod policy_backup_vendor;
mod policy_consultancy;
mod policy_hosting_inactivity;
mod policy_hosting_termination;
mod policy_processor_annex;
mod purge_handover;
mod reapply;
mod register;
mod requests;
mod requests_faults;
mod requests_final;
mod requests_notices;
mod requests_restrict;
mod restore;
mod retention;
mod run_resume;
mod safety_valve;
mod service;
mod several_daemons;
mod several_daemons_failover;
mod state_copy;
mod two_processes;
mod unreadable_activity;
mod zendesk_resume;
