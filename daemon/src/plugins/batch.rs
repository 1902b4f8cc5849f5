//! Calls for many subjects at once ([`BatchOp`]): a purge hands each system batches, so that a
//! connector can do the work of many subjects in one query and one transaction, and the
//! boundary (a blocking-pool hop, JSON both ways) is crossed once per batch, not per subject.
//!
//! A batch is split into at most `concurrency` chunks that run side by side, each one call,
//! so a connector whose batch is the default loop of single calls (an HTTP API) keeps the
//! overlap it had. A plugin built before batches existed (no [`Capability::Batch`]) gets the
//! single calls, as many at once as its concurrency allows. Every subject gets its own
//! result: one subject's failure never fails its neighbours.

use gallra_core::policy::answer::Answer;
use gallra_plugin_api::{
    BatchOp, Capability, ConnectorError, EraseOutcome, ExportResult, Identifier, LookupResult,
    Reply, Subject, SubjectFacts, MAX_BATCH,
};
use tokio::task::JoinSet;

use super::system::{CallError, SystemHandle};

/// The fewest subjects worth a chunk of their own: below this a batch is not split further.
const MIN_CHUNK: usize = 32;

impl SystemHandle {
    /// `lookup` for each subject, in order.
    pub async fn lookup_many(
        &self,
        subjects: Vec<Subject>,
    ) -> Vec<Result<LookupResult, CallError>> {
        self.typed(BatchOp::Lookup, subjects, |r| match r {
            Reply::Lookup(found) => Some(found),
            _ => None,
        })
        .await
    }

    /// `status` for each subject, in order.
    pub async fn status_many(
        &self,
        subjects: Vec<Subject>,
    ) -> Vec<Result<SubjectFacts, CallError>> {
        self.typed(BatchOp::Status, subjects, |r| match r {
            Reply::Status(facts) => Some(facts),
            _ => None,
        })
        .await
    }

    /// `export` for each subject, in order.
    pub async fn export_many(
        &self,
        subjects: Vec<Subject>,
    ) -> Vec<Result<ExportResult, CallError>> {
        self.typed(BatchOp::Export, subjects, |r| match r {
            Reply::Export(export) => Some(export),
            _ => None,
        })
        .await
    }

    /// `erase` for each subject, in order.
    pub async fn erase_many(&self, subjects: Vec<Subject>) -> Vec<Result<EraseOutcome, CallError>> {
        self.typed(BatchOp::Erase, subjects, |r| match r {
            Reply::Erase(outcome) => Some(outcome),
            _ => None,
        })
        .await
    }

    /// Erases each subject and reads back what the connector says it did, the lookups of
    /// the read-back batched too: the one way every engine erases (see
    /// [`confirm`](Self::confirm)). Each pair is a subject as handed to the system and all
    /// it is known by (for an anonymization's read-back).
    pub async fn erase_confirmed_many(
        &self,
        subjects: Vec<(Subject, Vec<Identifier>)>,
    ) -> Vec<Answer> {
        let handed: Vec<Subject> = subjects.iter().map(|(s, _)| s.clone()).collect();
        let outcomes = self.erase_many(handed).await;
        // The erasures to read back by a lookup, batched; the rest are confirmed one by one
        // (an anonymization by an export), or need no confirmation.
        let erased: Vec<usize> = outcomes
            .iter()
            .enumerate()
            .filter(|(_, o)| matches!(o, Ok(EraseOutcome::Erased { .. })))
            .map(|(i, _)| i)
            .collect();
        let mut read_back: Vec<Option<Result<(), String>>> = vec![None; subjects.len()];
        if self.can(Capability::Lookup) && !erased.is_empty() {
            let asked = erased.iter().map(|&i| subjects[i].0.clone()).collect();
            let found = self.lookup_many(asked).await;
            for (&i, found) in erased.iter().zip(found) {
                read_back[i] = Some(super::system::read_back_verdict(found));
            }
        }
        let mut answers = Vec::with_capacity(subjects.len());
        for ((outcome, (subject, identifiers)), checked) in
            outcomes.into_iter().zip(&subjects).zip(read_back)
        {
            answers.push(match outcome {
                Ok(outcome) => {
                    let confirmed = match checked {
                        Some(verdict) => verdict,
                        None => self.confirm(subject, identifiers, &outcome).await,
                    };
                    match confirmed {
                        Ok(()) => Answer::Confirmed(outcome),
                        Err(why) => Answer::Unconfirmed(why),
                    }
                }
                Err(error) => Answer::from(&error),
            });
        }
        answers
    }

    /// Runs `of` for every subject and keeps the replies `pick` accepts; any other reply is
    /// the plugin answering the wrong question, an error for that subject.
    async fn typed<T: Send + 'static>(
        &self,
        of: BatchOp,
        subjects: Vec<Subject>,
        pick: fn(Reply) -> Option<T>,
    ) -> Vec<Result<T, CallError>> {
        let operation = of.operation();
        self.many(of, subjects)
            .await
            .into_iter()
            .map(|result| {
                result.and_then(|reply| {
                    pick(reply).ok_or_else(|| CallError::Connector {
                        system: self.name().to_owned(),
                        operation,
                        source: ConnectorError::permanent(format!(
                            "the plugin answered {operation} with another operation's reply"
                        )),
                    })
                })
            })
            .collect()
    }

    /// Runs `of` for every subject: in chunks of batch calls, or in single calls for a
    /// plugin that takes no batches. The results are in the subjects' order.
    async fn many(&self, of: BatchOp, subjects: Vec<Subject>) -> Vec<Result<Reply, CallError>> {
        let total = subjects.len();
        let chunks = chunk(subjects, self.concurrency(), self.can(Capability::Batch));
        let mut work = JoinSet::new();
        for (index, chunk) in chunks.into_iter().enumerate() {
            let handle = self.clone();
            work.spawn(async move {
                let results = handle.chunk(of, chunk).await;
                (index, results)
            });
        }
        let mut parts = Vec::new();
        while let Some(joined) = work.join_next().await {
            // A chunk's task only awaits calls that catch their own panics; if it still
            // failed, its subjects are lost to this call, which cannot be: say so loudly.
            parts.push(joined.expect("a batch chunk's task failed"));
        }
        parts.sort_by_key(|(index, _)| *index);
        let results: Vec<_> = parts.into_iter().flat_map(|(_, r)| r).collect();
        debug_assert_eq!(results.len(), total);
        results
    }

    /// One chunk: one batch call, or one single call for a chunk of one.
    async fn chunk(&self, of: BatchOp, subjects: Vec<Subject>) -> Vec<Result<Reply, CallError>> {
        let asked = subjects.len();
        if asked == 1 || !self.can(Capability::Batch) {
            let subject = subjects.into_iter().next().expect("one subject");
            let call = of.single(subject);
            return vec![self.call(of.operation(), move |i| i.call(&call)).await];
        }
        // Each subject may take what a single call may: the timeout scales with the chunk.
        let timeout = self.timeout().saturating_mul(asked as u32);
        let results = self
            .call_with_timeout(of.operation(), timeout, asked, move |i| {
                Ok(i.many(of, subjects))
            })
            .await;
        match results {
            Ok(results) => results
                .into_iter()
                .map(|r| r.map_err(|source| self.connector_error(of.operation(), source)))
                .collect(),
            Err(error) => vec![Err(error); asked],
        }
    }
}

/// Splits `subjects` into the chunks to call with: one subject each for a plugin that takes
/// no batches; otherwise at most `concurrency` chunks of at least [`MIN_CHUNK`] (and at most
/// [`MAX_BATCH`]) subjects, in order.
fn chunk(subjects: Vec<Subject>, concurrency: usize, batches: bool) -> Vec<Vec<Subject>> {
    if !batches {
        return subjects.into_iter().map(|s| vec![s]).collect();
    }
    let total = subjects.len();
    let by_concurrency = total.div_ceil(concurrency.max(1));
    let size = by_concurrency.clamp(MIN_CHUNK, MAX_BATCH);
    let mut chunks = Vec::with_capacity(total.div_ceil(size));
    let mut rest = subjects.into_iter().peekable();
    while rest.peek().is_some() {
        chunks.push(rest.by_ref().take(size).collect());
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subjects(n: usize) -> Vec<Subject> {
        (0..n)
            .map(|i| {
                let id = Identifier::parse(
                    gallra_plugin_api::IdentifierKind::CustomerId,
                    &i.to_string(),
                );
                Subject::new(vec![id.unwrap()])
            })
            .collect()
    }

    fn sizes(chunks: &[Vec<Subject>]) -> Vec<usize> {
        chunks.iter().map(Vec::len).collect()
    }

    #[test]
    fn a_batch_is_split_across_the_concurrency_keeping_order_and_every_subject() {
        let chunks = chunk(subjects(500), 4, true);
        assert_eq!(sizes(&chunks), [125, 125, 125, 125]);
        let flat: Vec<Subject> = chunks.into_iter().flatten().collect();
        assert_eq!(flat, subjects(500), "same subjects, same order");
        assert_eq!(
            sizes(&chunk(subjects(40), 4, true)),
            [32, 8],
            "no tiny chunks"
        );
        assert_eq!(sizes(&chunk(subjects(1200), 1, true)), [500, 500, 200]);
        assert_eq!(
            sizes(&chunk(subjects(3), 4, false)),
            [1, 1, 1],
            "no batches"
        );
        assert!(chunk(Vec::new(), 4, true).is_empty());
    }
}
