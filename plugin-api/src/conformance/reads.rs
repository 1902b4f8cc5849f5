//! The first rules: what the connector claims, an unreachable system, lookups and export.

use crate::error::ConnectorError;
use crate::messages::{Call, Capability, ExportResult, Reply, ScanRequest, Subject};

use super::suite::Suite;
use super::{kind_of, violated, ConformanceSystem};

impl<S: ConformanceSystem> Suite<'_, S> {
    pub(super) fn describe_claims_enough(&mut self) {
        let connector = self.open();
        let description = match self.call(&connector, Call::Describe) {
            Ok(Reply::Description(d)) => d,
            other => violated("describe", format!("describe answered {other:?}")),
        };
        for needed in [Capability::Lookup, Capability::Erase] {
            if !description.capabilities.contains(&needed) {
                violated(
                    "describe",
                    format!(
                        "the connector does not claim {needed:?}; the suite needs lookup and erase"
                    ),
                );
            }
        }
        if description.activity_bearing && !description.capabilities.contains(&Capability::Status) {
            violated(
                "describe",
                "the connector says activity_bearing but does not claim Status: gallra reads \
                 activity through status",
            );
        }
        if description.identifier_kinds.is_empty() {
            violated("describe", "the connector claims no identifier kind");
        }
        for kind in &description.identifier_kinds {
            if self.subject.of_kind(*kind).next().is_none() {
                panic!(
                    "conformance test setup: the connector claims identifier kind {kind}, but \
                     the seeded subject has no {kind} identifier; add one"
                );
            }
        }
        self.description = Some(description);
    }

    pub(super) fn unreachable_is_transient(&mut self) {
        const RULE: &str = "unreachable-is-transient";
        let connector = match self.system.open_unreachable() {
            Err(e) => {
                self.check_error("open", &e);
                if !e.is_transient() {
                    violated(RULE, format!("open on an unreachable system failed with a non-transient error: {e:?}"));
                }
                return;
            }
            Ok(connector) => connector,
        };
        let subject = self.subject.clone();
        let mut calls = vec![Call::Lookup(subject.clone()), Call::Erase(subject.clone())];
        if self.claims(Capability::Export) {
            calls.push(Call::Export(subject.clone()));
        }
        if self.claims(Capability::Status) {
            calls.push(Call::Status(subject.clone()));
        }
        if self.claims(Capability::Scan) {
            calls.push(Call::Scan(ScanRequest {
                cursor: None,
                limit: 2,
            }));
        }
        if self.claims(Capability::Anonymize) {
            calls.push(Call::Anonymize(subject));
        }
        calls.push(Call::Health);
        for call in calls {
            let operation = call.operation();
            match self.call(&connector, call) {
                Err(e) if e.is_transient() => {}
                Err(ConnectorError::Unsupported { .. }) if operation == "health" => violated(
                    RULE,
                    "health is not implemented (its default answers Unsupported): implement \
                     Connector::health so that it checks the system is reachable",
                ),
                Err(e) => violated(RULE, format!("{operation} on an unreachable system failed with a non-transient error: {e:?}")),
                Ok(Reply::Done) if operation == "health" => violated(
                    RULE,
                    "health on an unreachable system answered Ok (implement Connector::health \
                     so that it checks the system is reachable)",
                ),
                Ok(reply) => violated(
                    RULE,
                    format!("{operation} on an unreachable system answered as if it had looked: {}", kind_of(&reply)),
                ),
            }
        }
    }

    pub(super) fn lookups(&mut self, connector: &S::Connector) {
        let kinds = self.description().identifier_kinds.clone();
        for (who, name) in [(self.subject, "subject"), (self.bystander, "bystander")] {
            for kind in &kinds {
                let Some(identifier) = who.of_kind(*kind).next() else {
                    continue;
                };
                let alone = Subject::new(vec![identifier.clone()]);
                match self.lookup(connector, &alone) {
                    Ok(found) if !found.records.is_empty() => {}
                    Ok(_) => violated(
                        "lookup-finds-subject",
                        format!("lookup by the {name}'s {kind} alone found nothing"),
                    ),
                    Err(e) => violated(
                        "lookup-finds-subject",
                        format!("lookup by the {name}'s {kind} alone failed: {e}"),
                    ),
                }
            }
        }
        let absent = self.system.absent_subject();
        match self.lookup(connector, &absent) {
            Ok(found) if found.records.is_empty() => {}
            Ok(found) => violated(
                "lookup-absent-is-empty",
                format!(
                    "lookup of someone never seeded found {} records",
                    found.records.len()
                ),
            ),
            Err(e) => violated(
                "lookup-absent-is-empty",
                format!("lookup of someone never seeded failed instead of finding nothing: {e}"),
            ),
        }
    }

    /// Checks the subject's export; returns it for the restore round trip.
    pub(super) fn export(&mut self, connector: &S::Connector) -> Option<ExportResult> {
        if !self.claims(Capability::Export) {
            return None;
        }
        let export = self.export_of(connector, self.subject).unwrap_or_else(|e| {
            violated(
                "export-complete",
                format!("export of the subject failed: {e}"),
            )
        });
        let values: Vec<String> = export
            .fields
            .iter()
            .filter_map(|f| f.value.as_deref())
            .map(str::to_lowercase)
            .collect();
        for (n, expected) in self.system.expected_export().iter().enumerate() {
            let expected = expected.to_lowercase();
            if !values.iter().any(|v| v.contains(&expected)) {
                violated(
                    "export-complete",
                    format!(
                        "expected export value #{} (of expected_export()) is in no exported field",
                        n + 1
                    ),
                );
            }
        }
        for (n, foreign) in self.system.bystander_values().iter().enumerate() {
            let foreign = foreign.to_lowercase();
            if values.iter().any(|v| v.contains(&foreign)) {
                violated(
                    "export-only-subject",
                    format!(
                        "the subject's export holds bystander value #{} (of bystander_values())",
                        n + 1
                    ),
                );
            }
        }
        Some(export)
    }
}
