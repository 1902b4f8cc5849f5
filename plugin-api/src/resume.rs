//! [`ResumeToken`]: what a connector needs to follow an asynchronous deletion to its end,
//! kept by gallra with the task across restarts.

use serde::{Deserialize, Serialize};

use crate::error::ConnectorError;

/// The longest [`ResumeToken`], in bytes.
pub const MAX_RESUME_TOKEN: usize = 1024;

/// An opaque note a connector hands gallra with [`crate::EraseOutcome::InProgress`]: what it
/// needs to check, on the next `erase` of the same subject, the deletion it started (a
/// processor's job id, the internal ids of records it asked to be deleted). gallra stores it
/// with the task and gives it back in [`crate::Subject::resume`], also after a restart or on
/// another daemon, until the deletion is done; the connector's memory is not needed.
///
/// At most [`MAX_RESUME_TOKEN`] bytes of printable ASCII (`!` to `~`, no space): encode
/// structure as JSON or a list of ids. It is stored in the state store, so it must hold no
/// personal data — ids the system assigned, never an email, a name or a personnummer (the
/// conformance suite checks). A policy run's next erase of the subject in the system is
/// handed the latest token too, which may name a deletion that has finished since: treat
/// what it names that is gone as done.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ResumeToken(String);

impl ResumeToken {
    /// A token of `text`, refused if it is too long or not printable ASCII.
    pub fn new(text: impl Into<String>) -> Result<Self, ConnectorError> {
        let text = text.into();
        check(&text).map_err(ConnectorError::permanent)?;
        Ok(Self(text))
    }

    /// The token's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ResumeToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ResumeToken {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        check(&text)?;
        Ok(Self(text))
    }
}

impl From<ResumeToken> for String {
    fn from(token: ResumeToken) -> Self {
        token.0
    }
}

/// Why `text` cannot be a token (its content is never repeated: it is the connector's).
fn check(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("a resume token is empty (a connector bug: leave it out instead)".to_owned());
    }
    if text.len() > MAX_RESUME_TOKEN {
        return Err(format!(
            "a resume token is {} bytes, more than the {MAX_RESUME_TOKEN} allowed (a connector bug)",
            text.len()
        ));
    }
    if !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(
            "a resume token holds a character other than printable ASCII (a connector bug)"
                .to_owned(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_bounded_printable_ascii() {
        assert!(ResumeToken::new("[123,456]").is_ok());
        assert!(ResumeToken::new("x".repeat(MAX_RESUME_TOKEN)).is_ok());
        assert!(ResumeToken::new("x".repeat(MAX_RESUME_TOKEN + 1)).is_err());
        assert!(ResumeToken::new("").is_err());
        assert!(ResumeToken::new("a b").is_err());
        assert!(ResumeToken::new("å").is_err());
        assert!(ResumeToken::new("a\nb").is_err());
    }

    #[test]
    fn a_bad_token_on_the_wire_is_refused() {
        let long = format!("\"{}\"", "x".repeat(MAX_RESUME_TOKEN + 1));
        assert!(serde_json::from_str::<ResumeToken>(&long).is_err());
        let good: ResumeToken = serde_json::from_str("\"job-7\"").unwrap();
        assert_eq!(good.as_str(), "job-7");
        assert_eq!(serde_json::to_string(&good).unwrap(), "\"job-7\"");
    }
}
