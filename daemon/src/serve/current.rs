//! The request service the admin API listeners hold across reloads: it hands each call to
//! the service of the configuration in force, so a reload swaps the configuration under the
//! listeners instead of closing them.

use std::sync::{Arc, RwLock};

use gallra_plugin_api::Identifier;

use crate::requests::{
    RequestId, RequestKind, RequestService, RequestSummary, RequestTaskId, RequestView,
    ServiceError, TaskView,
};

/// The service of the configuration in force.
pub struct CurrentService {
    inner: RwLock<Arc<dyn RequestService>>,
}

impl CurrentService {
    /// Starts with `service`.
    pub fn new(service: Arc<dyn RequestService>) -> Self {
        Self {
            inner: RwLock::new(service),
        }
    }

    /// From now on calls go to `service`; calls already under way finish on the old one.
    pub fn switch(&self, service: Arc<dyn RequestService>) {
        *self.inner.write().unwrap_or_else(|e| e.into_inner()) = service;
    }

    fn now(&self) -> Arc<dyn RequestService> {
        Arc::clone(&self.inner.read().unwrap_or_else(|e| e.into_inner()))
    }
}

impl RequestService for CurrentService {
    fn submit(
        &self,
        kind: RequestKind,
        identifiers: Vec<Identifier>,
    ) -> Result<RequestView, ServiceError> {
        self.now().submit(kind, identifiers)
    }

    fn list(&self, open_only: bool, limit: usize) -> Result<Vec<RequestSummary>, ServiceError> {
        self.now().list(open_only, limit)
    }

    fn show(&self, id: RequestId) -> Result<RequestView, ServiceError> {
        self.now().show(id)
    }

    fn cancel(&self, id: RequestId, reason: &str) -> Result<RequestView, ServiceError> {
        self.now().cancel(id, reason)
    }

    fn manual_tasks(&self) -> Result<Vec<TaskView>, ServiceError> {
        self.now().manual_tasks()
    }

    fn task_done(&self, id: RequestTaskId, note: &str) -> Result<TaskView, ServiceError> {
        self.now().task_done(id, note)
    }

    fn task_retry(&self, id: RequestTaskId, reason: &str) -> Result<TaskView, ServiceError> {
        self.now().task_retry(id, reason)
    }
}
