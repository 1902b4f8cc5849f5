//! The records the store keeps, as plain data: runs and their tasks ([`runs`]), and data
//! subjects' requests ([`requests`]). Nothing here does I/O or decides anything.

// Defined before the modules that use it (a macro is in scope from where it is written).
/// Gives a fieldless enum its stored name (`as_str`, `FromStr`, `Display`), so the text in the
/// database, in JSON and in messages is one spelling.
macro_rules! named_enum {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The name stored in the database and used in JSON.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }

        impl ::std::str::FromStr for $ty {
            type Err = $crate::model::UnknownName;

            fn from_str(s: &str) -> ::std::result::Result<Self, $crate::model::UnknownName> {
                match s {
                    $($name => Ok($ty::$variant),)+
                    _ => Err($crate::model::UnknownName { of: stringify!($ty), name: s.to_owned() }),
                }
            }
        }

        impl ::std::fmt::Display for $ty {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub mod requests;
pub mod runs;
pub mod sealed;

/// A name that is not one of an enum's stored names (e.g. a database written by a newer gallra).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` is not a known {of}")]
pub struct UnknownName {
    /// The type that was being read, e.g. `TaskState`.
    pub of: &'static str,
    /// The text found.
    pub name: String,
}

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
