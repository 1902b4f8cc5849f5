//! Stored names of fieldless enums: one spelling in the database, in JSON and in messages.

/// Gives a fieldless enum its stored name (`as_str`, `FromStr`, `Display`), so the text in the
/// database, in JSON and in messages is one spelling.
#[macro_export]
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
            type Err = $crate::named::UnknownName;

            fn from_str(s: &str) -> ::std::result::Result<Self, $crate::named::UnknownName> {
                match s {
                    $($name => Ok($ty::$variant),)+
                    _ => Err($crate::named::UnknownName { of: stringify!($ty), name: s.to_owned() }),
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

/// A name that is not one of an enum's stored names (e.g. a database written by a newer gallra).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{name}` is not a known {of}")]
pub struct UnknownName {
    /// The type that was being read, e.g. `TaskState`.
    pub of: &'static str,
    /// The text found.
    pub name: String,
}
