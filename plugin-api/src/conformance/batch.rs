//! The batched calls ([`Call::Many`]): each subject answered as its single call would.

use crate::error::ConnectorError;
use crate::messages::{BatchOp, Call, Capability, Reply, Subject};

use super::suite::Suite;
use super::{kind_of, violated, ConformanceSystem};

impl<S: ConformanceSystem> Suite<'_, S> {
    pub(super) fn batch_reads(&mut self, connector: &S::Connector) {
        let absent = self.system.absent_subject();
        let who = vec![self.subject.clone(), self.bystander.clone(), absent];
        let ops = [
            (BatchOp::Lookup, Capability::Lookup),
            (BatchOp::Status, Capability::Status),
            (BatchOp::Export, Capability::Export),
        ];
        for (op, capability) in ops {
            if self.claims(capability) {
                self.batch_matches(connector, op, &who, "batch-matches-single");
            }
        }
    }

    pub(super) fn batch_erase(&mut self, connector: &S::Connector) {
        let who = vec![self.subject.clone(), self.system.absent_subject()];
        self.batch_matches(
            connector,
            BatchOp::Erase,
            &who,
            "batch-erase-matches-single",
        );
        if !self.system.holds(self.bystander) {
            violated(
                "batch-erase-matches-single",
                "after a batched erase of the subject and someone never held, the system no longer holds the bystander",
            );
        }
    }

    /// Asks `op` for `who` in one batch, then one by one, and compares subject by subject:
    /// the same reply, or an error of the same kind.
    pub(super) fn batch_matches(
        &self,
        connector: &S::Connector,
        op: BatchOp,
        who: &[Subject],
        rule: &str,
    ) {
        let name = op.operation();
        let call = Call::Many {
            of: op,
            subjects: who.to_vec(),
        };
        let batched = match self.call(connector, call) {
            Ok(Reply::Many(results)) => results,
            Ok(other) => violated(
                rule,
                format!("a batched {name} answered {}", kind_of(&other)),
            ),
            Err(e) => violated(rule, format!("a batched {name} failed as a whole: {e}")),
        };
        if batched.len() != who.len() {
            violated(
                rule,
                format!(
                    "a batched {name} of {} subjects answered {} results",
                    who.len(),
                    batched.len()
                ),
            );
        }
        for (n, (subject, in_batch)) in who.iter().zip(batched).enumerate() {
            if let Err(e) = &in_batch {
                self.check_error(name, e);
            }
            let alone = self.call(connector, op.single(subject.clone()));
            let same = match (&in_batch, &alone) {
                (Ok(a), Ok(b)) => a == b,
                (Err(a), Err(b)) => std::mem::discriminant(a) == std::mem::discriminant(b),
                _ => false,
            };
            if !same {
                let shown = |r: &Result<Reply, ConnectorError>| match r {
                    Ok(reply) => kind_of(reply),
                    Err(e) => format!("error {e}"),
                };
                violated(
                    rule,
                    format!(
                        "subject #{} of a batched {name} was answered {}, but the single call answers {}",
                        n + 1,
                        shown(&in_batch),
                        shown(&alone)
                    ),
                );
            }
        }
    }
}
