//! Which subject rows hold one of a subject's identifiers: exactly, on every backend.
//!
//! A stored value and a requested identifier name the same person when both normalize to
//! the same identifier ([`Identifier::parse`]: trimmed, NFC, lower-cased where the kind is
//! case-insensitive, personnummer in twelve digits with the century right). Databases cannot
//! run that normalization (SQLite lower-cases ASCII only, MariaDB's default collation equals
//! `å` and `a`, none of them knows NFC), so a match has two steps:
//!
//! 1. **Candidates**, in SQL that an index can serve: the column through a fixed expression
//!    (`lower(trim(col))`, `trim(col)` or the bare key column) `IN` every spelling that
//!    expression can give for a stored value normalizing to the identifier: upper and lower
//!    case and composed and decomposed forms of each non-ASCII letter, every personnummer
//!    spelling that reads as this person today. The collation may widen this (MariaDB's
//!    `general_ci` adds `asa` to `åsa`); it never narrows it.
//! 2. **Verification**, in Rust: each candidate's stored values are parsed with the same
//!    [`Identifier::parse`] as the request was, and the row is kept only if one of them
//!    equals one of the subject's identifiers.
//!
//! The expressions are what an index must be built on; see the README's SQL section.

use std::collections::{BTreeSet, HashMap};

use gallra_plugin_api::{Identifier, IdentifierKind, Subject};
use unicode_normalization::UnicodeNormalization;

use crate::client::DbError;
use crate::config::{KeyType, SubjectTable};
use crate::sql::{Builder, Param};

/// The most spellings one identifier is looked for in. An email with many letters outside
/// ASCII could need thousands; past this gallra refuses rather than match partly.
const MAX_SPELLINGS: usize = 256;

/// How a column is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expr {
    /// The column itself: the subject key, which is matched exactly.
    Plain,
    /// `trim(col)`.
    Trimmed,
    /// `lower(trim(col))`.
    Folded,
}

/// One configured identifier column, with how it is compared.
struct Column<'a> {
    kind: IdentifierKind,
    name: &'a str,
    /// A column holding `expr` of `name` (`subjects.match_columns`), compared instead.
    stand_in: Option<&'a str>,
    /// The subject key with integer keys: compared as a number.
    integer_key: bool,
    expr: Expr,
}

fn columns(s: &SubjectTable) -> impl Iterator<Item = Column<'_>> {
    s.identifiers.iter().map(move |(kind, name)| {
        let is_key = *kind == IdentifierKind::CustomerId && *name == s.key;
        let expr = match kind {
            _ if is_key => Expr::Plain,
            IdentifierKind::Email | IdentifierKind::Domain | IdentifierKind::Ip => Expr::Folded,
            _ => Expr::Trimmed,
        };
        Column {
            kind: *kind,
            name,
            stand_in: s.match_columns.get(kind).map(String::as_str),
            integer_key: is_key && s.key_type == KeyType::Integer,
            expr,
        }
    })
}

/// Appends `SELECT key, identifier columns… FROM subjects WHERE (candidates)`; `Ok(false)`
/// (with nothing usable appended) if no identifier of the subject can match here.
pub fn push_candidates(
    b: &mut Builder,
    s: &SubjectTable,
    subject: &Subject,
) -> Result<bool, DbError> {
    let used: Vec<Column<'_>> = columns(s)
        .filter(|c| subject.of_kind(c.kind).next().is_some())
        .collect();
    push_select(b, s, &used);
    b.sql(" FROM ").name(&s.table).sql(" WHERE (");
    let mut terms = 0;
    for column in &used {
        for identifier in subject.of_kind(column.kind) {
            let values = spellings(column, identifier)?;
            if values.is_empty() {
                continue;
            }
            if terms > 0 {
                b.sql(" OR ");
            }
            terms += 1;
            push_expr(b, column);
            b.sql(" IN ").bind_list(values);
        }
    }
    b.sql(")");
    Ok(terms > 0)
}

/// Each identifier column compared through an expression, with that expression as SQL an
/// index can be built on (`lower(trim(email))`): the columns whose match an index on the
/// bare column cannot serve. The key and columns with a `match_columns` stand-in are left out.
pub fn indexed_expressions(s: &SubjectTable) -> Vec<(&str, String)> {
    columns(s)
        .filter(|c| c.stand_in.is_none())
        .filter_map(|c| match c.expr {
            Expr::Plain => None,
            Expr::Trimmed => Some((c.name, format!("trim({})", c.name))),
            Expr::Folded => Some((c.name, format!("lower(trim({}))", c.name))),
        })
        .collect()
}

/// Appends `SELECT key, used columns…` (as text).
fn push_select(b: &mut Builder, s: &SubjectTable, used: &[Column<'_>]) {
    b.sql("SELECT ").text_of(&s.key);
    for column in used {
        b.sql(", ").text_of(column.name);
    }
}

/// Appends the expression `column` is compared through (the one an index must be on).
fn push_expr(b: &mut Builder, column: &Column<'_>) {
    match (column.stand_in, column.expr) {
        (Some(stand_in), _) => b.name(stand_in),
        (None, Expr::Plain) => b.name(column.name),
        (None, Expr::Trimmed) => b.sql("trim(").name(column.name).sql(")"),
        (None, Expr::Folded) => b.sql("lower(trim(").name(column.name).sql("))"),
    };
}

/// Whether a candidate row (key, then the columns [`push_candidates`] selected) really holds
/// one of the subject's identifiers.
pub fn verify(s: &SubjectTable, subject: &Subject, row: &[Option<String>]) -> bool {
    let used = columns(s).filter(|c| subject.of_kind(c.kind).next().is_some());
    holds(used, subject, row)
}

/// Whether one of `used` (the columns after the key in `row`) holds one of the subject's
/// identifiers: its stored value parsed as the request's was, or the same number for an
/// integer key.
fn holds<'a>(
    used: impl Iterator<Item = Column<'a>>,
    subject: &Subject,
    row: &[Option<String>],
) -> bool {
    used.zip(row.iter().skip(1)).any(|(column, stored)| {
        let Some(stored) = stored else {
            return false;
        };
        if column.integer_key {
            let number = |v: &str| v.trim().parse::<i64>().ok();
            return subject
                .of_kind(column.kind)
                .any(|id| number(&id.value()).is_some_and(|n| number(stored) == Some(n)));
        }
        match Identifier::parse(column.kind, stored) {
            Ok(found) => subject.of_kind(column.kind).any(|id| *id == found),
            Err(_) => false,
        }
    })
}

/// The most values one candidate query of a batch binds; a batch that needs more is looked
/// up subject by subject (SQLite binds at most 32,766).
const MAX_BATCH_PARAMS: usize = 16_000;

/// For a batch: which of its subjects each candidate row belongs to, by exactly the two tests
/// a single lookup makes. A row is a subject's candidate only if one of its columns, through
/// its expression, equals one of that subject's own spellings (so a neighbour's wider query
/// never hands it a row its own would not have found: a key ` abc` is not `abc`'s), and is
/// kept only if [`verify`] holds for that subject. The first test compares bytes, as SQLite
/// and PostgreSQL compare text; MySQL's collations compare more widely (`asa` equals
/// `åsa`), so there batches are looked up subject by subject (see [`batch_exact`]).
pub struct Owners {
    /// Per used column: its kind, and whether it is the integer key.
    kinds: Vec<(IdentifierKind, bool)>,
    /// Per used column: each spelling, and the subjects it is one of.
    spelled: Vec<HashMap<Param, Vec<usize>>>,
    subjects: Vec<Subject>,
}

impl Owners {
    /// The subjects (by index in the batch) the row belongs to. The row is the key, the used
    /// columns, then each used column through its expression.
    pub fn of(&self, s: &SubjectTable, row: &[Option<String>]) -> BTreeSet<usize> {
        let used = self.kinds.len();
        let mut candidates = BTreeSet::new();
        for (n, ((_, integer_key), value)) in
            self.kinds.iter().zip(row.iter().skip(1 + used)).enumerate()
        {
            let Some(value) = value else { continue };
            let key = match integer_key {
                true => match value.trim().parse::<i64>() {
                    Ok(number) => Param::Int(number),
                    Err(_) => continue,
                },
                false => Param::Match(value.clone()),
            };
            candidates.extend(self.spelled[n].get(&key).into_iter().flatten().copied());
        }
        // The row holds the batch's used columns, in the order the query selected them.
        let columns = || columns(s).filter(|c| self.kinds.iter().any(|(k, _)| *k == c.kind));
        candidates
            .into_iter()
            .filter(|&n| holds(columns(), &self.subjects[n], &row[..1 + used]))
            .collect()
    }
}

/// Whether a dialect compares text by its bytes in `IN`, so that a batch's rows can be given
/// to their subjects exactly as single lookups would find them.
pub fn batch_exact(dialect: crate::sql::Dialect) -> bool {
    !matches!(dialect, crate::sql::Dialect::Mysql)
}

/// [`push_candidates`] for a batch: one query whose `IN` lists hold the spellings of every
/// subject's identifiers, column by column, selecting each column also through its
/// expression. `Ok(None)` when no identifier of any subject can match here; an error when one
/// subject's could not be spelled out or the batch would bind too many values (the caller
/// then looks the subjects up one by one).
pub fn push_candidates_many(
    b: &mut Builder,
    s: &SubjectTable,
    subjects: &[Subject],
) -> Result<Option<Owners>, DbError> {
    let used: Vec<Column<'_>> = columns(s)
        .filter(|c| {
            subjects
                .iter()
                .any(|subject| subject.of_kind(c.kind).next().is_some())
        })
        .collect();
    let mut owners = Owners {
        kinds: used.iter().map(|c| (c.kind, c.integer_key)).collect(),
        spelled: vec![HashMap::new(); used.len()],
        subjects: subjects.to_vec(),
    };
    push_select(b, s, &used);
    for column in &used {
        b.sql(", CAST(");
        push_expr(b, column);
        let mysql = b.dialect() == crate::sql::Dialect::Mysql;
        b.sql(if mysql { " AS CHAR)" } else { " AS TEXT)" });
    }
    b.sql(" FROM ").name(&s.table).sql(" WHERE (");
    let (mut terms, mut bound) = (0, 0);
    for (c, column) in used.iter().enumerate() {
        for (n, subject) in subjects.iter().enumerate() {
            for identifier in subject.of_kind(column.kind) {
                for spelling in spellings(column, identifier)? {
                    owners.spelled[c].entry(spelling).or_default().push(n);
                }
            }
        }
        let values: Vec<Param> = owners.spelled[c].keys().cloned().collect();
        if values.is_empty() {
            continue;
        }
        bound += values.len();
        if bound > MAX_BATCH_PARAMS {
            return Err(DbError::permanent("a batch too large for one query"));
        }
        if terms > 0 {
            b.sql(" OR ");
        }
        terms += 1;
        push_expr(b, column);
        b.sql(" IN ").bind_list(values);
    }
    b.sql(")");
    Ok((terms > 0).then_some(owners))
}

/// The values `column`'s expression may give for a stored value that normalizes to
/// `identifier`. Empty when it can hold none (a customer id that is no integer, for an
/// integer key).
fn spellings(column: &Column<'_>, identifier: &Identifier) -> Result<Vec<Param>, DbError> {
    let text = |v: String| Param::Match(v);
    Ok(match identifier {
        Identifier::CustomerId(v) if column.integer_key => match v.trim().parse() {
            // Binding it as text would let MySQL compare it as 0.
            Ok(n) => vec![Param::Int(n)],
            Err(_) => Vec::new(),
        },
        Identifier::Personnummer(p) => {
            let today = gallra_plugin_api::jiff::Zoned::now().date();
            p.spellings_at(today).into_iter().map(text).collect()
        }
        Identifier::Phone(v) => {
            let mut values = vec![v.clone()];
            if let Some(national) = v.strip_prefix("+46") {
                values.push(format!("0{national}"));
            }
            values.into_iter().map(text).collect()
        }
        _ => {
            let value = identifier.value();
            let folded = column.expr == Expr::Folded;
            forms(&value, folded)
                .ok_or_else(|| {
                    DbError::permanent(format!(
                        "a {} has too many letters outside ASCII to look for in every \
                         spelling (more than {MAX_SPELLINGS}); handle this subject in this \
                         system by hand",
                        identifier.kind()
                    ))
                })?
                .into_iter()
                .map(text)
                .collect()
        }
    })
}

/// Every string a normalized `value` may be stored as, after the SQL expression: per
/// non-ASCII letter composed or decomposed, and with `folded` in either case as the
/// database's `lower` leaves it (SQLite lowers ASCII only). `None` past [`MAX_SPELLINGS`].
fn forms(value: &str, folded: bool) -> Option<BTreeSet<String>> {
    let mut all = BTreeSet::from([String::new()]);
    for c in value.chars() {
        let letter = letter_forms(c, folded);
        if all.len() * letter.len() > MAX_SPELLINGS {
            return None;
        }
        all = all
            .iter()
            .flat_map(|prefix| letter.iter().map(move |l| format!("{prefix}{l}")))
            .collect();
    }
    Some(all)
}

/// The forms one letter of a normalized value may take in the SQL expression's result.
fn letter_forms(c: char, folded: bool) -> BTreeSet<String> {
    if c.is_ascii() {
        return BTreeSet::from([c.to_string()]);
    }
    let mut cases = vec![c.to_string()];
    if folded {
        let upper = c.to_uppercase().collect::<String>();
        // `ß` upper-cases to `SS`, which lower-cases to `ss`: not a spelling of `ß`.
        if upper.to_lowercase().nfc().eq(std::iter::once(c)) {
            cases.push(upper);
        }
    }
    let mut forms = BTreeSet::new();
    for case in cases {
        for form in [case.nfc().collect::<String>(), case.nfd().collect()] {
            if folded {
                forms.insert(form.to_ascii_lowercase());
                forms.insert(form.to_lowercase());
            } else {
                forms.insert(form);
            }
        }
    }
    forms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folded_letter_is_looked_for_in_each_case_and_form() {
        let got = forms("åsa@x.se", true).expect("few spellings");
        let want = ["Åsa@x.se", "a\u{30a}sa@x.se", "åsa@x.se"];
        assert_eq!(got, want.iter().map(|s| s.to_string()).collect());
        assert!(!got.contains("asa@x.se"), "another person");
    }

    #[test]
    fn a_case_sensitive_value_keeps_its_case() {
        let got = forms("Jöran", false).expect("few spellings");
        let want = ["Jöran", "Jo\u{308}ran"];
        assert_eq!(got, want.iter().map(|s| s.to_string()).collect());
    }

    #[test]
    fn too_many_spellings_are_refused_not_cut_short() {
        assert!(forms("åäöåäöåäö@x.se", true).is_none());
        assert_eq!(forms("plain@example.se", true).map(|f| f.len()), Some(1));
    }
}
