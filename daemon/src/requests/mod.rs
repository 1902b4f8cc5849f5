//! Requests from data subjects: erasure, export, restriction, objection — received, fanned
//! out to one task per system, and carried through before their due date.

pub mod model;
pub mod service;
pub mod view;

pub use model::{
    NewRequestTask, RequestAction, RequestId, RequestKind, RequestRecord, RequestState,
    RequestTask, RequestTaskId, TaskUpdate,
};
pub use service::RequestService;
pub use view::{
    Receipt, ReceiptLine, ReceiptOutcome, RequestSummary, RequestView, ServiceError, TaskView,
};
