//! The users whose compliance deletion is still running, carried between erase calls in a
//! [`ResumeToken`] that gallra keeps with the task: once permanently deleted, a user cannot be
//! found by email any more, so these ids are the only way to check the deletion to its end,
//! also after gallra restarts. Zendesk's user ids are its own numbers, not personal data.

use std::collections::BTreeSet;

use gallra_plugin_api::{ConnectorError, ResumeToken};

/// What every token this connector makes starts with.
const PREFIX: &str = "zendesk-users:";

/// The ids a token names; none without one.
pub fn ids(token: Option<&ResumeToken>) -> Result<BTreeSet<u64>, ConnectorError> {
    let Some(token) = token else {
        return Ok(BTreeSet::new());
    };
    let not_ours = || {
        ConnectorError::permanent(
            "the resume token handed back is not one this connector makes (was the system's \
             plugin changed while a deletion was in progress?)",
        )
    };
    let list = token.as_str().strip_prefix(PREFIX).ok_or_else(not_ours)?;
    list.split(',')
        .map(|id| id.parse().map_err(|_| not_ours()))
        .collect()
}

/// The token naming `ids`; none when nothing is pending.
pub fn token(ids: &BTreeSet<u64>) -> Result<Option<ResumeToken>, ConnectorError> {
    if ids.is_empty() {
        return Ok(None);
    }
    let list: Vec<String> = ids.iter().map(u64::to_string).collect();
    ResumeToken::new(format!("{PREFIX}{}", list.join(","))).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_survive_a_round_trip_through_the_token() {
        let ids: BTreeSet<u64> = [7, 42, 9_000_000_001].into();
        let token = token(&ids).unwrap();
        assert_eq!(super::ids(token.as_ref()).unwrap(), ids);
        assert_eq!(super::token(&BTreeSet::new()).unwrap(), None);
        let foreign = ResumeToken::new("job-7").unwrap();
        assert!(super::ids(Some(&foreign)).is_err());
    }
}
