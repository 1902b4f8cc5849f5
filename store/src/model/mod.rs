//! The records the store keeps, as plain data: runs and their tasks ([`runs`]), and data
//! subjects' requests ([`requests`]). Nothing here does I/O or decides anything.

pub use gallra_core::named::UnknownName;

pub mod lease;
pub mod requests;
pub mod runs;
pub mod sealed;

#[cfg(test)]
mod tests {
    use super::runs::{Action, RunState, TaskState};

    #[test]
    fn every_state_and_action_reads_back_from_its_stored_name() {
        for s in RunState::ALL {
            assert_eq!(s.as_str().parse::<RunState>(), Ok(*s));
        }
        for s in TaskState::ALL {
            assert_eq!(s.as_str().parse::<TaskState>(), Ok(*s));
        }
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>(), Ok(*a));
        }
        assert!("sleeping".parse::<TaskState>().is_err());
    }

    #[test]
    fn stored_names_match_the_json_names() {
        let json = serde_json::to_string(&RunState::AwaitingApproval).unwrap();
        assert_eq!(json, format!("\"{}\"", RunState::AwaitingApproval.as_str()));
        let json = serde_json::to_string(&TaskState::NeedsPerson).unwrap();
        assert_eq!(json, format!("\"{}\"", TaskState::NeedsPerson.as_str()));
    }
}
