//! The suite's state and its calls to the connector: every call goes through
//! [`dispatch`] and a JSON round trip, and every error is checked for personal data.

use crate::connector::dispatch;
use crate::error::ConnectorError;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::messages::{
    Call, Capability, Description, EraseOutcome, ExportResult, LookupResult, Reply, Subject,
    SubjectFacts,
};

use super::pii::Sensitive;
use super::{kind_of, violated, ConformanceSystem};

pub(super) struct Suite<'s, S: ConformanceSystem> {
    pub(super) system: &'s mut S,
    pub(super) subject: &'s Subject,
    pub(super) bystander: &'s Subject,
    pub(super) refused: Option<&'s Subject>,
    pub(super) description: Option<Description>,
    pub(super) sensitive: Sensitive,
}

impl<'s, S: ConformanceSystem> Suite<'s, S> {
    pub(super) fn new(
        system: &'s mut S,
        subject: &'s Subject,
        bystander: &'s Subject,
        refused: Option<&'s Subject>,
    ) -> Self {
        let mut sensitive = Sensitive::default();
        for who in [Some(subject), Some(bystander), refused]
            .into_iter()
            .flatten()
        {
            sensitive.add_subject(who);
        }
        sensitive.add_subject(&system.absent_subject());
        for value in system
            .expected_export()
            .iter()
            .chain(&system.bystander_values())
        {
            sensitive.add_value(value);
        }
        Self {
            system,
            subject,
            bystander,
            refused,
            description: None,
            sensitive,
        }
    }

    pub(super) fn open(&mut self) -> S::Connector {
        match self.system.open() {
            Ok(connector) => connector,
            Err(e) => {
                self.check_error("open", &e);
                panic!(
                    "conformance test setup: cannot open the connector on the seeded system: {e}"
                )
            }
        }
    }

    pub(super) fn description(&self) -> &Description {
        self.description.as_ref().expect("described first")
    }

    pub(super) fn claims(&self, capability: Capability) -> bool {
        self.description().capabilities.contains(&capability)
    }

    /// Calls `connector` as the host would: through `dispatch` and a JSON round trip; checks
    /// any error for personal data.
    pub(super) fn call(
        &self,
        connector: &S::Connector,
        call: Call,
    ) -> Result<Reply, ConnectorError> {
        let operation = call.operation();
        self.through_json(operation, dispatch(connector, call))
    }

    /// `result` as the host receives it, after a JSON round trip; any error checked for
    /// personal data.
    pub(super) fn through_json<T: Serialize + DeserializeOwned>(
        &self,
        operation: &str,
        result: Result<T, ConnectorError>,
    ) -> Result<T, ConnectorError> {
        let json = serde_json::to_string(&result).unwrap_or_else(|e| {
            violated(
                "describe",
                format!("the {operation} result does not serialize: {e}"),
            )
        });
        let back: Result<T, ConnectorError> = serde_json::from_str(&json).unwrap_or_else(|e| {
            violated(
                "describe",
                format!("the {operation} result does not deserialize: {e}"),
            )
        });
        if let Err(e) = &back {
            self.check_error(operation, e);
        }
        back
    }

    pub(super) fn check_error(&self, operation: &str, error: &ConnectorError) {
        let text = format!("{error} {error:?}");
        if self.sensitive.found_in(&text) {
            violated(
                "no-personal-data-in-errors",
                format!(
                    "the {operation} error contains an identifier or a seeded value of a test \
                     subject: {text}"
                ),
            );
        }
    }

    pub(super) fn lookup(
        &self,
        connector: &S::Connector,
        who: &Subject,
    ) -> Result<LookupResult, ConnectorError> {
        self.call(connector, Call::Lookup(who.clone()))
            .map(|reply| match reply {
                Reply::Lookup(found) => found,
                other => violated("describe", format!("lookup answered {other:?}")),
            })
    }

    pub(super) fn export_of(
        &self,
        connector: &S::Connector,
        who: &Subject,
    ) -> Result<ExportResult, ConnectorError> {
        self.call(connector, Call::Export(who.clone()))
            .map(|reply| match reply {
                Reply::Export(export) => export,
                other => violated("describe", format!("export answered {other:?}")),
            })
    }

    pub(super) fn status_of(
        &self,
        connector: &S::Connector,
        who: &Subject,
    ) -> Result<SubjectFacts, ConnectorError> {
        self.call(connector, Call::Status(who.clone()))
            .map(|reply| match reply {
                Reply::Status(facts) => facts,
                other => violated("describe", format!("status answered {}", kind_of(&other))),
            })
    }

    /// The seeded people the suite knows by name: the subject, the bystander and the
    /// refused subject, if any.
    pub(super) fn seeded(&self) -> Vec<(&'s Subject, &'static str)> {
        let mut seeded = vec![(self.subject, "subject"), (self.bystander, "bystander")];
        seeded.extend(self.refused.map(|r| (r, "refused subject")));
        seeded
    }

    pub(super) fn erase_once(
        &self,
        connector: &S::Connector,
        who: &Subject,
    ) -> Result<EraseOutcome, ConnectorError> {
        self.call(connector, Call::Erase(who.clone()))
            .map(|reply| match reply {
                Reply::Erase(outcome) => outcome,
                other => violated("describe", format!("erase answered {other:?}")),
            })
    }

    /// Erase, asked again while it answers `InProgress` as gallra asks after a restart: by a
    /// new instance of the connector, handed the resume token the last answer gave (rule
    /// `resume-token`: which must hold no personal data).
    pub(super) fn erase_until_settled(
        &mut self,
        connector: &S::Connector,
        who: &Subject,
        rule: &str,
    ) -> Result<EraseOutcome, ConnectorError> {
        let mut polls = 0;
        let mut asked = who.clone();
        let mut restarted: Option<S::Connector> = None;
        loop {
            let outcome = self.erase_once(restarted.as_ref().unwrap_or(connector), &asked);
            let Ok(EraseOutcome::InProgress { resume, .. }) = outcome else {
                return outcome;
            };
            if let Some(token) = &resume {
                if self.sensitive.found_in(token.as_str()) {
                    violated(
                        "resume-token",
                        format!("the resume token holds personal data of a test subject: {token}"),
                    );
                }
            }
            polls += 1;
            if polls > self.system.max_in_progress_polls() {
                violated(
                    rule,
                    format!("erase still answers InProgress after {polls} calls"),
                );
            }
            self.system.erase_in_progress();
            asked = Subject {
                resume,
                ..who.clone()
            };
            restarted = Some(self.open());
        }
    }
}
