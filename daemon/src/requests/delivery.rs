//! Notices to processors without an API: an email or a webhook, from a template.

use std::collections::BTreeMap;
use std::time::Duration;

use super::model::RequestRecord;
use super::steps::{notice_vars, StepOutcome};
use crate::config::{Config, NotifyTarget, NotifyVia};
use crate::notify::smtp::send_email;
use crate::notify::smtp_settings;
use crate::notify::template::render;
use crate::notify::webhook::post_webhook;

/// How long a webhook may take.
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(30);

/// Sends the system's notice for this request.
pub async fn notify(
    config: &Config,
    record: &RequestRecord,
    system: &str,
    target: &NotifyTarget,
) -> StepOutcome {
    let vars: BTreeMap<&str, String> = notice_vars(record, system, config).into_iter().collect();
    let (subject, body) = match (
        render(&target.subject, &vars),
        render(&target.template, &vars),
    ) {
        (Ok(subject), Ok(body)) => (subject, body),
        (Err(e), _) | (_, Err(e)) => {
            return StepOutcome::Failed(format!("the notice template is wrong: {e}"))
        }
    };
    let sent = match &target.via {
        NotifyVia::Email(to) => match smtp_settings(config) {
            Ok(settings) => send_email(&settings, to, &subject, &body).await,
            Err(why) => return StepOutcome::Failed(why),
        },
        NotifyVia::Webhook { url, token_file } => {
            let token = match token_file
                .as_deref()
                .map(std::fs::read_to_string)
                .transpose()
            {
                Ok(token) => token.map(|t| t.trim().to_owned()),
                Err(e) => {
                    return StepOutcome::Failed(format!("cannot read the webhook token file: {e}"))
                }
            };
            let payload = serde_json::json!({
                "request": record.id,
                "kind": record.kind,
                "system": system,
                "subject": subject,
                "text": body,
                "identifiers": vars.iter().filter(|(k, v)| is_identifier(k) && !v.is_empty()).collect::<BTreeMap<_, _>>(),
            });
            post_webhook(url, token.as_deref(), &payload, WEBHOOK_TIMEOUT).await
        }
    };
    match sent {
        Ok(()) if target.confirm => StepOutcome::NeedsPerson(
            "notice sent; confirm with `gallra task done` when the processor answers that the data is deleted".into(),
        ),
        Ok(()) => StepOutcome::Done("notice sent".into()),
        Err(e) if e.is_transient() => StepOutcome::Retry(e.to_string()),
        Err(e) => StepOutcome::Failed(e.to_string()),
    }
}

fn is_identifier(name: &str) -> bool {
    matches!(
        name,
        "email" | "personnummer" | "customer_id" | "phone" | "domain"
    )
}
