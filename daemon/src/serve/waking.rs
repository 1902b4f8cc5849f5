//! The request service, waking the engine whenever there is new work for it.

use std::sync::Arc;

use gallra_plugin_api::Identifier;
use tokio::sync::Notify;

use crate::metrics::Metrics;

use crate::requests::{
    LocalService, RequestId, RequestKind, RequestService, RequestSummary, RequestTaskId,
    RequestView, ServiceError, TaskView,
};

/// [`LocalService`] that wakes the engine after a submission, a confirmed task or a retry.
pub struct WakingService {
    inner: LocalService,
    wake: Arc<Notify>,
    metrics: Metrics,
}

impl WakingService {
    /// Wraps `inner`; `wake` is the engine's.
    pub fn new(inner: LocalService, wake: Arc<Notify>, metrics: Metrics) -> Self {
        Self {
            inner,
            wake,
            metrics,
        }
    }
}

impl RequestService for WakingService {
    fn submit(
        &self,
        kind: RequestKind,
        identifiers: Vec<Identifier>,
    ) -> Result<RequestView, ServiceError> {
        let view = self.inner.submit(kind, identifiers)?;
        self.metrics.request_received(kind);
        self.wake.notify_one();
        Ok(view)
    }

    fn list(&self, open_only: bool, limit: usize) -> Result<Vec<RequestSummary>, ServiceError> {
        self.inner.list(open_only, limit)
    }

    fn show(&self, id: RequestId) -> Result<RequestView, ServiceError> {
        self.inner.show(id)
    }

    fn cancel(&self, id: RequestId, reason: &str) -> Result<RequestView, ServiceError> {
        self.inner.cancel(id, reason)
    }

    fn manual_tasks(&self) -> Result<Vec<TaskView>, ServiceError> {
        self.inner.manual_tasks()
    }

    fn task_done(&self, id: RequestTaskId, note: &str) -> Result<TaskView, ServiceError> {
        let task = self.inner.task_done(id, note)?;
        self.wake.notify_one();
        Ok(task)
    }

    fn task_retry(&self, id: RequestTaskId, reason: &str) -> Result<TaskView, ServiceError> {
        let task = self.inner.task_retry(id, reason)?;
        self.wake.notify_one();
        Ok(task)
    }
}
