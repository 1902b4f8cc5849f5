//! What every engine works with: the configuration, the opened systems and the audit log.
//! Policy runs ([`crate::runner`]) and requests ([`crate::requests`]) both take a [`Context`];
//! it lives apart from either so that neither has to import the other for it.

use std::sync::Arc;

use crate::config::Config;
use crate::plugins::Systems;

/// What a run, a plan or a request step works with.
#[derive(Clone)]
pub struct Context {
    /// The configuration.
    pub config: Arc<Config>,
    /// The opened systems.
    pub systems: Arc<Systems>,
    /// Whether to draw progress bars (on a terminal).
    pub progress: bool,
    /// The audit log, where what is done is recorded before it is done. `None` only for
    /// `plan`, which does nothing; a run or a request step that would act refuses without it
    /// ([`Context::audit_log`]).
    pub audit: Option<Arc<crate::audit::AuditLog>>,
}

impl Context {
    /// The audit log, or why there is none: nothing is erased without one.
    pub fn audit_log(
        &self,
    ) -> Result<&Arc<crate::audit::AuditLog>, crate::audit::AuditUnavailable> {
        self.audit
            .as_ref()
            .ok_or_else(|| crate::audit::AuditUnavailable::not_open(&self.config.state_dir))
    }

    /// Appends entries to the audit log (one write, one fsync), or says why it could not.
    pub fn write_audit(
        &self,
        entries: &[crate::audit::NewEntry],
    ) -> Result<(), crate::audit::AuditUnavailable> {
        crate::audit::write(self.audit_log()?, entries)
    }
}
