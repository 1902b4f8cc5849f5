//! One configured system, opened: its connector instance, with a concurrency limit and a
//! timeout on every call, called from tokio's blocking pool.

use std::sync::Arc;
use std::time::Duration;

use gallra_core::policy::answer::{Answer, Next};
use gallra_plugin_api::host::PluginInstance;
use gallra_plugin_api::{Capability, ConnectorError, Description, OpenContext};
use tokio::sync::Semaphore;

use super::finder::{PluginError, PluginFinder};
use crate::config::SystemConfig;
use crate::metrics::{CallOutcome, Metrics, Operation, SafeName};

/// Why a call to a system did not give an answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    /// The connector answered with an error.
    #[error("system \"{system}\": {operation} failed: {source}")]
    Connector {
        /// The system's name.
        system: String,
        /// The operation.
        operation: &'static str,
        /// The connector's error.
        source: ConnectorError,
    },
    /// The call took longer than the system's `call_timeout`. It may still finish in the
    /// background; every operation is idempotent, so a retry is safe.
    #[error("system \"{system}\": {operation} timed out after {timeout:?} (raise call_timeout or check the system)")]
    Timeout {
        /// The system's name.
        system: String,
        /// The operation.
        operation: &'static str,
        /// The configured timeout.
        timeout: Duration,
    },
}

impl From<&CallError> for Answer {
    fn from(error: &CallError) -> Self {
        Answer::Error {
            error: error.connector_error().cloned(),
            transient: error.is_transient(),
            text: error.to_string(),
        }
    }
}

impl CallError {
    /// What a step that failed with this error (outside an erase, whose refusal means more:
    /// see [`gallra_core::policy::answer::next`]) comes to: another try if the error may
    /// pass, a failure otherwise.
    pub fn next(&self) -> Next {
        match self.is_transient() {
            true => Next::Retry(self.to_string()),
            false => Next::Failed(self.to_string()),
        }
    }

    /// Whether a later retry may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            CallError::Connector { source, .. } => source.is_transient(),
            CallError::Timeout { .. } => true,
        }
    }

    /// The connector's error, if it gave one.
    pub fn connector_error(&self) -> Option<&ConnectorError> {
        match self {
            CallError::Connector { source, .. } => Some(source),
            CallError::Timeout { .. } => None,
        }
    }
}

/// Why a system could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Its plugin could not be found or loaded.
    #[error("system \"{system}\": {source}")]
    Plugin {
        /// The system's name.
        system: String,
        /// Why.
        source: PluginError,
    },
    /// The system is not reached through a plugin (it is manual or notified).
    #[error("system \"{system}\" has no plugin: a person or a notice reaches it")]
    NoPlugin {
        /// The system's name.
        system: String,
    },
    /// The connector refused to open (bad settings, unreachable system).
    #[error("system \"{system}\": cannot open: {source}")]
    Open {
        /// The system's name.
        system: String,
        /// Why.
        source: ConnectorError,
    },
}

/// An opened system. Cheap to clone.
#[derive(Clone)]
pub struct SystemHandle {
    name: Arc<str>,
    instance: Arc<PluginInstance>,
    description: Arc<Description>,
    permits: Arc<Semaphore>,
    concurrency: usize,
    timeout: Duration,
    metrics: Option<(Metrics, SafeName)>,
}

impl SystemHandle {
    /// Loads the system's plugin and opens an instance with its settings. Blocking: call it
    /// from the blocking pool or before the runtime's work starts.
    pub fn open(
        config: &SystemConfig,
        time_zone: &str,
        finder: &PluginFinder,
    ) -> Result<Self, OpenError> {
        let (plugin, settings) = config.connector().ok_or_else(|| OpenError::NoPlugin {
            system: config.name.clone(),
        })?;
        let library = finder.load(plugin).map_err(|source| OpenError::Plugin {
            system: config.name.clone(),
            source,
        })?;
        let settings = serde_json::to_vec(settings).unwrap_or_default();
        let context = OpenContext {
            system: config.name.clone(),
            time_zone: time_zone.to_owned(),
        };
        let open_error = |source| OpenError::Open {
            system: config.name.clone(),
            source,
        };
        let instance = library.open(&settings, &context).map_err(open_error)?;
        let description = instance.describe().map_err(open_error)?;
        Ok(Self {
            name: config.name.as_str().into(),
            instance: Arc::new(instance),
            description: Arc::new(description),
            permits: Arc::new(Semaphore::new(config.concurrency.max(1))),
            concurrency: config.concurrency.max(1),
            timeout: config.call_timeout,
            metrics: None,
        })
    }

    /// Counts this system's calls in `metrics` (by system, operation and outcome).
    pub fn with_metrics(mut self, metrics: &Metrics) -> Self {
        self.metrics = Some((metrics.clone(), SafeName::lossy(&self.name)));
        self
    }

    /// The system's configured name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the connector said it can do.
    pub fn description(&self) -> &Description {
        &self.description
    }

    /// Whether the connector offers an operation.
    pub fn can(&self, capability: Capability) -> bool {
        self.description.capabilities.contains(&capability)
    }

    /// Erases `subject` and reads back what the connector says it did (see
    /// [`confirm`](Self::confirm)): the one way every engine erases. `identifiers` are all the
    /// subject is known by, for the anonymization's read-back.
    pub async fn erase_confirmed(
        &self,
        subject: &gallra_plugin_api::Subject,
        identifiers: &[gallra_plugin_api::Identifier],
    ) -> Answer {
        let one = vec![(subject.clone(), identifiers.to_vec())];
        let mut answers = self.erase_confirmed_many(one).await;
        answers.pop().expect("one answer per subject")
    }

    /// Confirms what a connector says it did, by reading back: an erasure with
    /// [`read_back`](Self::read_back), an anonymization with
    /// [`anonymized_read_back`](Self::anonymized_read_back). Other outcomes need no check.
    pub async fn confirm(
        &self,
        subject: &gallra_plugin_api::Subject,
        identifiers: &[gallra_plugin_api::Identifier],
        outcome: &gallra_plugin_api::EraseOutcome,
    ) -> Result<(), String> {
        use gallra_plugin_api::EraseOutcome;
        match outcome {
            EraseOutcome::Erased { .. } => self.read_back(subject).await,
            EraseOutcome::Anonymized { .. } => {
                self.anonymized_read_back(subject, identifiers).await
            }
            EraseOutcome::Retained(_) | EraseOutcome::InProgress { .. } => Ok(()),
        }
    }

    /// Confirms an anonymization by exporting what is left (asking by `subject`, the
    /// identifiers the system was handed): `Ok` when no field holds any of `identifiers`
    /// (all the subject is known by) that is an email, personnummer, phone number or domain
    /// (or the connector cannot export), otherwise why it cannot count as done. The kept records may still carry the
    /// system's own customer number; that is what anonymized bookkeeping keeps.
    pub async fn anonymized_read_back(
        &self,
        subject: &gallra_plugin_api::Subject,
        identifiers: &[gallra_plugin_api::Identifier],
    ) -> Result<(), String> {
        use gallra_plugin_api::IdentifierKind as Kind;
        if !self.can(Capability::Export) {
            return Ok(());
        }
        let who = subject.clone();
        let export = match self.call("export", move |i| i.export(&who)).await {
            Ok(export) => export,
            Err(error) => {
                return Err(format!(
                    "the anonymization could not be confirmed by an export: {error}"
                ))
            }
        };
        let personal: Vec<_> = identifiers
            .iter()
            .filter(|i| {
                matches!(
                    i.kind(),
                    Kind::Email | Kind::Personnummer | Kind::Phone | Kind::Domain
                )
            })
            .collect();
        let left = export
            .fields
            .iter()
            .filter(|f| {
                f.value
                    .as_deref()
                    .is_some_and(|v| personal.iter().any(|i| i.appears_in(v)))
            })
            .count();
        if left == 0 {
            Ok(())
        } else {
            Err(format!(
                "the system answered anonymized, but an export still finds the subject's \
                 identifiers in {left} fields; not counted as done"
            ))
        }
    }

    /// Confirms an erasure by reading back: `Ok` when a lookup finds nothing of the subject
    /// (or the connector cannot look up, so there is nothing to read back with), otherwise
    /// why the erasure cannot count as done. A connector that answers "erased" and left the
    /// data is caught here, not believed.
    pub async fn read_back(&self, subject: &gallra_plugin_api::Subject) -> Result<(), String> {
        if !self.can(Capability::Lookup) {
            return Ok(());
        }
        let who = subject.clone();
        read_back_verdict(self.call("lookup", move |i| i.lookup(&who)).await)
    }

    /// How many calls may run on this system at once.
    pub(super) fn concurrency(&self) -> usize {
        self.concurrency
    }

    /// The configured timeout of one call.
    pub(super) fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The error of a call the connector answered with `source`.
    pub(super) fn connector_error(
        &self,
        operation: &'static str,
        source: ConnectorError,
    ) -> CallError {
        CallError::Connector {
            system: self.name.to_string(),
            operation,
            source,
        }
    }

    /// Runs one connector call on the blocking pool, within the system's concurrency limit
    /// and timeout.
    pub async fn call<T, F>(&self, operation: &'static str, f: F) -> Result<T, CallError>
    where
        T: Send + 'static,
        F: FnOnce(&PluginInstance) -> Result<T, ConnectorError> + Send + 'static,
    {
        self.call_with_timeout(operation, self.timeout, 1, f).await
    }

    /// [`call`](Self::call) with its own timeout, for a call that carries `subjects`
    /// subjects (each counted in the call metrics, with an equal share of the time).
    pub(super) async fn call_with_timeout<T, F>(
        &self,
        operation: &'static str,
        timeout: Duration,
        subjects: usize,
        f: F,
    ) -> Result<T, CallError>
    where
        T: Send + 'static,
        F: FnOnce(&PluginInstance) -> Result<T, ConnectorError> + Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("semaphore never closed");
        let instance = Arc::clone(&self.instance);
        let started = std::time::Instant::now();
        let work = tokio::task::spawn_blocking(move || f(&instance));
        let result = match tokio::time::timeout(timeout, work).await {
            Ok(Ok(result)) => result.map_err(|source| CallError::Connector {
                system: self.name.to_string(),
                operation,
                source,
            }),
            Ok(Err(_join)) => Err(CallError::Connector {
                system: self.name.to_string(),
                operation,
                source: ConnectorError::permanent("the call's thread panicked in the host"),
            }),
            Err(_) => Err(CallError::Timeout {
                system: self.name.to_string(),
                operation,
                timeout,
            }),
        };
        if let Some((metrics, system)) = &self.metrics {
            let outcome = call_outcome(&result);
            let share = started.elapsed() / subjects.max(1) as u32;
            for _ in 0..subjects.max(1) {
                metrics.connector_call(system, Operation::from_name(operation), outcome, share);
            }
        }
        result
    }
}

/// What a read-back lookup says of an erasure: `Ok` when it found nothing of the subject,
/// otherwise why the erasure cannot count as done. A connector that answers "erased" and
/// left the data is caught here, not believed.
pub(super) fn read_back_verdict(
    found: Result<gallra_plugin_api::LookupResult, CallError>,
) -> Result<(), String> {
    match found {
        Ok(found) if found.records.is_empty() => Ok(()),
        Ok(found) => Err(format!(
            "the system answered erased, but a lookup still finds {} records; not counted as done",
            found.records.len()
        )),
        Err(error) => Err(format!(
            "the erasure could not be confirmed by a lookup: {error}"
        )),
    }
}

/// How a call's result is counted in `gallra_connector_calls_total`.
fn call_outcome<T>(result: &Result<T, CallError>) -> CallOutcome {
    use gallra_plugin_api::ConnectorError as E;
    match result {
        Ok(_) => CallOutcome::Ok,
        Err(CallError::Timeout { .. }) => CallOutcome::Timeout,
        Err(CallError::Connector { source, .. }) => match source {
            E::Transient { .. } => CallOutcome::Transient,
            E::Refused { .. } => CallOutcome::Refused,
            E::Permanent { .. } | E::Unsupported { .. } | E::Config { .. } | E::Settings { .. } => {
                CallOutcome::Permanent
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use gallra_plugin_api::ConnectorError;

    use super::*;

    #[test]
    fn call_results_map_to_outcomes() {
        let err = |source| -> Result<(), CallError> {
            Err(CallError::Connector {
                system: "crm".into(),
                operation: "erase",
                source,
            })
        };
        assert_eq!(call_outcome(&Ok::<(), CallError>(())), CallOutcome::Ok);
        assert_eq!(
            call_outcome(&err(ConnectorError::transient("x"))),
            CallOutcome::Transient
        );
        assert_eq!(
            call_outcome(&err(ConnectorError::Permanent {
                message: "x".into()
            })),
            CallOutcome::Permanent
        );
        let refused = ConnectorError::Refused {
            reason: "bookkeeping".into(),
            legal_basis: None,
        };
        assert_eq!(call_outcome(&err(refused)), CallOutcome::Refused);
        let timeout: Result<(), CallError> = Err(CallError::Timeout {
            system: "crm".into(),
            operation: "erase",
            timeout: Duration::from_secs(1),
        });
        assert_eq!(call_outcome(&timeout), CallOutcome::Timeout);
    }
}
