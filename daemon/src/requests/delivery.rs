//! Notices to processors without an API: an email or a webhook, from a template.

use std::collections::BTreeMap;
use std::time::Duration;

use super::model::RequestRecord;
use super::steps::notice_vars;
use crate::config::{Config, Confirm, NotifyTarget, NotifyVia};
use crate::notify::smtp::send_email;
use crate::notify::smtp_settings;
use crate::notify::template::render;
use crate::notify::webhook::post_webhook;
use gallra_core::policy::answer::Next;

/// How long a webhook may take.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(30);

/// Which notice of a task this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// The first.
    First,
    /// The Nth reminder (from 1): the subject line starts with `Reminder N:`.
    Reminder(u32),
}

/// Sends the system's notice for this request: the task is done, or waits for a person to
/// confirm the processor's answer.
pub async fn notify(
    config: &Config,
    record: &RequestRecord,
    system: &str,
    target: &NotifyTarget,
) -> Next {
    match send(config, record, system, target, Notice::First).await {
        Ok(()) if target.confirm != Confirm::No => Next::NeedsPerson(
            "notice sent; confirm with `gallra task done` when the processor answers that the data is deleted".into(),
        ),
        Ok(()) => Next::Done("notice sent".into()),
        Err(NotSent::Transient(e)) => Next::Retry(e),
        Err(NotSent::Permanent(e)) => Next::Failed(e),
    }
}

/// Why a notice did not go out. No personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotSent {
    /// Worth trying again.
    Transient(String),
    /// Will fail until someone changes the config.
    Permanent(String),
}

impl std::fmt::Display for NotSent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotSent::Transient(e) | NotSent::Permanent(e) => f.write_str(e),
        }
    }
}

/// Renders and sends one notice by email or webhook.
pub async fn send(
    config: &Config,
    record: &RequestRecord,
    system: &str,
    target: &NotifyTarget,
    notice: Notice,
) -> Result<(), NotSent> {
    let vars: BTreeMap<&str, String> = notice_vars(record, system, config).into_iter().collect();
    let (subject, body) = match (
        render(&target.subject, &vars),
        render(&target.template, &vars),
    ) {
        (Ok(subject), Ok(body)) => (subject, body),
        (Err(e), _) | (_, Err(e)) => {
            return Err(NotSent::Permanent(format!(
                "the notice template is wrong: {e}"
            )))
        }
    };
    let subject = match notice {
        Notice::First => subject,
        Notice::Reminder(n) => format!("Reminder {n}: {subject}"),
    };
    let sent = match &target.via {
        NotifyVia::Email(to) => match smtp_settings(config) {
            Ok(settings) => send_email(&settings, to, &subject, &body).await,
            Err(why) => return Err(NotSent::Permanent(why)),
        },
        NotifyVia::Webhook { url, token_file } => {
            let token = match token_file
                .as_deref()
                .map(std::fs::read_to_string)
                .transpose()
            {
                Ok(token) => token.map(|t| t.trim().to_owned()),
                Err(e) => {
                    return Err(NotSent::Permanent(format!(
                        "cannot read the webhook token file: {e}"
                    )))
                }
            };
            let payload = serde_json::json!({
                "request": record.id,
                "kind": record.kind,
                "system": system,
                "subject": subject,
                "text": body,
                "reminder": match notice {
                    Notice::First => 0,
                    Notice::Reminder(n) => n,
                },
                "identifiers": vars.iter().filter(|(k, v)| is_identifier(k) && !v.is_empty()).collect::<BTreeMap<_, _>>(),
            });
            post_webhook(url, token.as_deref(), &payload, WEBHOOK_TIMEOUT).await
        }
    };
    sent.map_err(|e| match e.is_transient() {
        true => NotSent::Transient(e.to_string()),
        false => NotSent::Permanent(e.to_string()),
    })
}

fn is_identifier(name: &str) -> bool {
    matches!(
        name,
        "email" | "personnummer" | "customer_id" | "phone" | "domain"
    )
}
