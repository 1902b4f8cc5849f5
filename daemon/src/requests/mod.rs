//! Requests from data subjects: erasure, export, restriction, objection — received, fanned
//! out to one task per system, and carried through before their due date.
//!
//! [`intake`] decides due dates and tasks; [`local::LocalService`] is the service the CLI and
//! API call; [`engine::Engine`] carries due tasks out; [`steps`], [`export_step`] and
//! [`delivery`] are what one task does; [`settle`] derives a request's state from its tasks.

mod delivery;
#[cfg(test)]
mod ends_tests;
pub mod engine;
pub mod export;
mod export_step;
pub mod followup;
mod hold_end;
pub mod intake;
pub mod local;
pub mod receipt;
pub mod service;
pub mod settle;
pub mod steps;
mod upkeep;
pub mod view;

pub use engine::{Engine, SHARED_IDLE_WAKE};
pub use local::LocalService;
// The request model lives in gallra-store, beneath the engine; it keeps its old paths here.
pub use gallra_store::model::requests as model;
pub use model::{
    NewRequestTask, RequestAction, RequestId, RequestKind, RequestRecord, RequestState,
    RequestTask, RequestTaskId, TaskUpdate,
};
pub use service::RequestService;
pub use view::{
    Receipt, ReceiptLine, ReceiptOutcome, RequestSummary, RequestView, ServiceError, TaskView,
};
