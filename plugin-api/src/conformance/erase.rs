//! Erase, restore and refusal: the rules that change the system.

use crate::error::ConnectorError;
use crate::messages::{Call, EraseOutcome, ExportResult, Reply, RestoreOutcome, Subject};

use super::suite::Suite;
use super::{kind_of, violated, ConformanceSystem};

impl<S: ConformanceSystem> Suite<'_, S> {
    /// Restores the export made before the erase, twice: the first puts the subject back as
    /// they were, the second changes nothing.
    pub(super) fn restore(&mut self, connector: &S::Connector, before: &ExportResult) {
        let first = self.restore_once(connector, before, "restore-round-trip");
        if first.restored == 0 {
            violated(
                "restore-round-trip",
                "restoring the export of an erased subject put back no record",
            );
        }
        match self.lookup(connector, self.subject) {
            Ok(found) if !found.records.is_empty() => {}
            Ok(_) => violated(
                "restore-round-trip",
                "after the restore, lookup does not find the subject",
            ),
            Err(e) => violated(
                "restore-round-trip",
                format!("lookup after the restore failed: {e}"),
            ),
        }
        if !self.system.holds(self.subject) {
            violated(
                "restore-round-trip",
                "after the restore, the system does not hold the subject's data",
            );
        }
        self.same_export(connector, before, "restore-round-trip");
        let second = self.restore_once(connector, before, "restore-idempotent");
        if second.restored != 0 || second.already_present == 0 {
            violated(
                "restore-idempotent",
                format!("restoring the same export again answered {second:?}; expected nothing restored and the records already present"),
            );
        }
        self.same_export(connector, before, "restore-idempotent");
    }

    pub(super) fn restore_once(
        &self,
        connector: &S::Connector,
        data: &ExportResult,
        rule: &str,
    ) -> RestoreOutcome {
        match self.call(connector, Call::Restore(data.clone())) {
            Ok(Reply::Restore(outcome)) => outcome,
            Ok(other) => violated(rule, format!("restore answered {}", kind_of(&other))),
            Err(e) => violated(rule, format!("restore failed: {e}")),
        }
    }

    /// The subject's export now holds exactly the fields of `before` (in any order).
    pub(super) fn same_export(&self, connector: &S::Connector, before: &ExportResult, rule: &str) {
        let now = self
            .export_of(connector, self.subject)
            .unwrap_or_else(|e| violated(rule, format!("export after the restore failed: {e}")));
        let sorted = |export: &ExportResult| {
            let mut fields: Vec<_> = export
                .fields
                .iter()
                .map(|f| (&f.collection, &f.record, &f.field, &f.value))
                .collect();
            fields.sort();
            fields
                .into_iter()
                .map(|(c, r, f, v)| (c.clone(), r.clone(), f.clone(), v.clone()))
                .collect::<Vec<_>>()
        };
        let (was, is) = (sorted(before), sorted(&now));
        if was != is {
            let differ = was.iter().filter(|f| !is.contains(f)).count()
                + is.iter().filter(|f| !was.contains(f)).count();
            violated(
                rule,
                format!(
                    "after the restore the subject's export differs from the one before the erase in {differ} fields ({} then, {} now)",
                    was.len(),
                    is.len()
                ),
            );
        }
    }

    pub(super) fn erase(&mut self, connector: &S::Connector) {
        let subject = self.subject;
        match self.erase_until_settled(connector, subject, "erase-succeeds") {
            Ok(EraseOutcome::Erased { .. })
            | Ok(EraseOutcome::Anonymized { retained: None, .. }) => {}
            Ok(other) => violated(
                "erase-succeeds",
                format!(
                    "erasing the seeded subject answered {other:?}; it has nothing that must stay"
                ),
            ),
            Err(e) => violated(
                "erase-succeeds",
                format!("erasing the seeded subject failed: {e}"),
            ),
        }
        let kinds = self.description().identifier_kinds.clone();
        for kind in &kinds {
            for identifier in subject.of_kind(*kind) {
                let alone = Subject::new(vec![identifier.clone()]);
                match self.lookup(connector, &alone) {
                    Ok(found) if found.records.is_empty() => {}
                    Ok(found) => violated(
                        "erase-removes",
                        format!(
                            "after erase, lookup by the subject's {kind} still finds {} records",
                            found.records.len()
                        ),
                    ),
                    Err(e) => violated("erase-removes", format!("lookup after erase failed: {e}")),
                }
            }
        }
        if self.system.holds(subject) {
            violated(
                "erase-removes",
                "after erase (and lookup finding nothing), the system still holds the subject's data",
            );
        }
        match self.lookup(connector, self.bystander) {
            Ok(found) if !found.records.is_empty() => {}
            Ok(_) => violated(
                "erase-spares-bystander",
                "after erasing the subject, lookup no longer finds the bystander",
            ),
            Err(e) => violated(
                "erase-spares-bystander",
                format!("lookup of the bystander failed: {e}"),
            ),
        }
        if !self.system.holds(self.bystander) {
            violated(
                "erase-spares-bystander",
                "after erasing the subject, the system no longer holds the bystander",
            );
        }
        match self.erase_until_settled(connector, subject, "erase-idempotent") {
            Ok(EraseOutcome::Erased { .. })
            | Ok(EraseOutcome::Anonymized { retained: None, .. }) => {}
            Ok(other) => violated(
                "erase-idempotent",
                format!("erasing an erased subject again answered {other:?}"),
            ),
            Err(e) => violated(
                "erase-idempotent",
                format!("erasing an erased subject again failed: {e}"),
            ),
        }
        if self.system.holds(subject) {
            violated(
                "erase-idempotent",
                "after the second erase the system holds the subject's data again",
            );
        }
    }

    pub(super) fn refusal(&mut self, connector: &S::Connector, refused: &Subject) {
        const RULE: &str = "refusal-honest";
        match self.erase_until_settled(connector, refused, RULE) {
            Ok(EraseOutcome::Retained(_)) => {}
            Ok(EraseOutcome::Anonymized { retained: Some(_), .. }) => {}
            Err(ConnectorError::Refused { .. }) => {}
            Ok(other) => violated(
                RULE,
                format!("erasing a subject whose data must stay answered {other:?}; expected Retained, Anonymized with a retention, or Refused"),
            ),
            Err(e) => violated(
                RULE,
                format!("erasing a subject whose data must stay failed with {e:?}; expected Retained, Anonymized with a retention, or Refused"),
            ),
        }
        if !self.system.refused_data_intact(refused) {
            violated(
                "refusal-keeps-data",
                "the data that must stay for the refused subject is gone",
            );
        }
    }
}
