//! The relay settings from configuration: `[smtp]` with its password read from
//! `password_file`, for every notice gallra sends by email.

use std::time::Duration;

use super::smtp::SmtpSettings;
use crate::config::Config;

/// How long one delivery (connect and every command) may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The `[smtp]` relay as [`super::send_email`] takes it. The error says what is wrong in
/// words for a sysadmin (no `[smtp]` table, an unreadable password file).
pub fn smtp_settings(config: &Config) -> Result<SmtpSettings, String> {
    let smtp = config
        .smtp
        .as_ref()
        .ok_or("no [smtp] table: email notices cannot be sent")?;
    let password = match &smtp.password_file {
        Some(file) => Some(
            std::fs::read_to_string(file)
                .map_err(|e| format!("cannot read smtp.password_file {}: {e}", file.display()))?
                .trim()
                .to_owned(),
        ),
        None => None,
    };
    Ok(SmtpSettings {
        host: smtp.host.clone(),
        port: smtp.port,
        from: smtp.from.clone(),
        starttls: smtp.starttls,
        username: smtp.username.clone(),
        password,
        timeout: TIMEOUT,
    })
}
