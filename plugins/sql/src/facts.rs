//! `scan` and `status`: subjects with their activity, relationship end, active services and
//! unpaid invoices, gathered from the subjects table and its children.

use std::collections::{BTreeMap, HashMap};

use gallra_plugin_api::{
    Identifier, IdentifierKind, ScanPage, ScanRequest, Subject, SubjectFacts, SubjectRecord,
};

use crate::client::{Client, DbError, Row};
use crate::config::ChildTable;
use crate::schema::{count, run_query, KeyFilter, Schema};
use crate::sql::{Builder, Param};
use crate::timestamps::{Activity, Reader};

/// What a read needs besides the connection: timestamps and identifiers it could not read
/// are counted here and logged once, as counts.
pub struct Tally {
    /// Timestamps.
    pub times: Reader,
    /// Per identifier column and kind, how many stored values were not valid identifiers
    /// (left out, and the kind marked unreadable for their subjects).
    pub unreadable: BTreeMap<(String, IdentifierKind), u64>,
}

/// One subject row as read, before the children's facts are added.
#[derive(Clone)]
struct SubjectRow {
    key: String,
    identifiers: Vec<Identifier>,
    /// Kinds whose stored value could not be read as an identifier.
    unreadable: Vec<IdentifierKind>,
    /// Its activity so far; `facts.last_activity` is filled from it once all is read.
    activity: Activity,
    facts: SubjectFacts,
}

impl SubjectRow {
    /// The facts as reported: an unreadable activity value shows as an implausible time.
    fn reported(&self) -> SubjectFacts {
        SubjectFacts {
            last_activity: self.activity.reported(),
            ..self.facts.clone()
        }
    }
}

/// What one child table knows about one subject.
#[derive(Default)]
struct ChildTotals {
    last_activity: Activity,
    active: u64,
    unpaid: u64,
}

/// One page of subjects in key order, with `total` on the first page.
pub fn scan(
    schema: &Schema,
    client: &mut dyn Client,
    request: &ScanRequest,
    tally: &mut Tally,
) -> Result<ScanPage, DbError> {
    let s = schema.subjects();
    let cap = schema.settings.page_size.unwrap_or(u32::MAX);
    let limit = request.limit.clamp(1, cap.max(1));
    let after = request
        .cursor
        .as_deref()
        .map(|c| schema.key_param(c))
        .transpose()?;
    let total = match after {
        Some(_) => None,
        None => {
            let mut b = Builder::new(schema.dialect);
            let counted = schema.dialect.text("COUNT(*)");
            b.sql("SELECT ").sql(&counted).sql(" FROM ").name(&s.table);
            let rows = run_query(client, &b.finish(), &s.table)?;
            Some(count(
                rows.first()
                    .and_then(|r| r.first())
                    .and_then(Option::as_ref),
            ))
        }
    };
    let mut b = select_subjects(schema);
    if let Some(after) = &after {
        b.sql(" WHERE ").name(&s.key).sql(" > ").bind(after.clone());
    }
    // Qualified, so that PostgreSQL orders by the column and not by the selected text of it
    // (which it also names after the column): "99" must not sort after "100".
    b.sql(" ORDER BY ")
        .name(&s.table)
        .sql(".")
        .name(&s.key)
        .sql(" LIMIT ");
    b.bind(Param::Int(i64::from(limit)));
    let rows = run_query(client, &b.finish(), &s.table)?;
    let mut subjects: Vec<SubjectRow> = rows
        .iter()
        .map(|row| read_subject(schema, row, tally))
        .collect();
    let next_cursor = match subjects.last() {
        Some(last) if subjects.len() as u64 == u64::from(limit) => Some(last.key.clone()),
        _ => None,
    };
    if let Some(last) = subjects.last() {
        let filter = KeyFilter::Page {
            after,
            through: schema.key_param(&last.key)?,
        };
        add_children(schema, client, &filter, &mut subjects, tally)?;
    }
    Ok(ScanPage {
        subjects: subjects
            .into_iter()
            .map(|s| SubjectRecord {
                facts: s.reported(),
                key: s.key,
                identifiers: s.identifiers,
                unreadable: s.unreadable,
            })
            .collect(),
        next_cursor,
        total,
    })
}

/// The facts about one subject, over every subject row its identifiers find.
pub fn status(
    schema: &Schema,
    client: &mut dyn Client,
    subject: &Subject,
    tally: &mut Tally,
) -> Result<SubjectFacts, DbError> {
    let keys = schema.find_keys(client, subject)?;
    let rows = rows_of(schema, client, &keys, tally)?;
    Ok(combine(schema, rows))
}

/// [`status`] for a batch: the subject rows of all its subjects, and their children's
/// facts, read with one statement per table; each subject's facts over its own rows.
pub fn status_many(
    schema: &Schema,
    client: &mut dyn Client,
    subjects: &[Subject],
    tally: &mut Tally,
) -> Result<Vec<SubjectFacts>, DbError> {
    let keys = crate::set_based::find_keys_many(schema, client, subjects)?;
    let all: std::collections::BTreeSet<&String> = keys.iter().flatten().collect();
    let all: Vec<String> = all.into_iter().cloned().collect();
    // Every row of a key, should the key column not be unique: none of them is left out.
    let mut by_key: HashMap<String, Vec<SubjectRow>> = HashMap::new();
    for row in rows_of(schema, client, &all, tally)? {
        by_key.entry(row.key.clone()).or_default().push(row);
    }
    Ok(keys
        .iter()
        .map(|own| {
            let rows = own
                .iter()
                .flat_map(|k| by_key.get(k).cloned().unwrap_or_default());
            combine(schema, rows.collect())
        })
        .collect())
}

/// The subject rows whose key is one of `keys`, with their children's facts added.
fn rows_of(
    schema: &Schema,
    client: &mut dyn Client,
    keys: &[String],
    tally: &mut Tally,
) -> Result<Vec<SubjectRow>, DbError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let s = schema.subjects();
    let params = keys
        .iter()
        .map(|k| schema.key_param(k))
        .collect::<Result<Vec<_>, _>>()?;
    let mut b = select_subjects(schema);
    b.sql(" WHERE ")
        .name(&s.key)
        .sql(" IN ")
        .bind_list(params.clone());
    let found = run_query(client, &b.finish(), &s.table)?;
    let mut rows: Vec<SubjectRow> = found
        .iter()
        .map(|r| read_subject(schema, r, tally))
        .collect();
    add_children(schema, client, &KeyFilter::Keys(params), &mut rows, tally)?;
    Ok(rows)
}

/// A subject's facts over its subject rows (with their children's facts added).
fn combine(schema: &Schema, rows: Vec<SubjectRow>) -> SubjectFacts {
    let children = &schema.settings.children;
    let mut facts = SubjectFacts {
        active_services: children
            .iter()
            .any(|c| c.active_when.is_some())
            .then_some(0),
        unpaid_invoices: children
            .iter()
            .any(|c| c.unpaid_when.is_some())
            .then_some(0),
        ..SubjectFacts::default()
    };
    let all_ended = !rows.is_empty() && rows.iter().all(|r| r.facts.relationship_ended.is_some());
    let mut activity = Activity::None;
    for row in rows {
        activity = activity.max(row.activity);
        if all_ended {
            facts.relationship_ended = facts.relationship_ended.max(row.facts.relationship_ended);
        }
        facts.active_services = sum(facts.active_services, row.facts.active_services);
        facts.unpaid_invoices = sum(facts.unpaid_invoices, row.facts.unpaid_invoices);
    }
    facts.last_activity = activity.reported();
    facts
}

fn sum(a: Option<u64>, b: Option<u64>) -> Option<u64> {
    a.map(|a| a + b.unwrap_or(0))
}

/// `SELECT key, identifier columns, activity columns, relationship_end FROM subjects`.
fn select_subjects(schema: &Schema) -> Builder {
    let s = schema.subjects();
    let mut b = Builder::new(schema.dialect);
    let columns = std::iter::once(s.key.as_str())
        .chain(s.identifiers.values().map(String::as_str))
        .chain(s.activity.iter().map(String::as_str))
        .chain(s.relationship_end.as_deref());
    b.sql("SELECT ").text_columns(columns);
    b.sql(" FROM ").name(&s.table);
    b
}

fn read_subject(schema: &Schema, row: &Row, tally: &mut Tally) -> SubjectRow {
    let s = schema.subjects();
    let mut values = row.iter().map(Option::as_deref);
    let key = values.next().flatten().unwrap_or_default().to_owned();
    let mut identifiers = Vec::new();
    let mut unreadable = Vec::new();
    for (kind, column) in &s.identifiers {
        if let Some(value) = values.next().flatten().filter(|v| !v.trim().is_empty()) {
            match Identifier::parse(*kind, value) {
                Ok(identifier) => identifiers.push(identifier),
                Err(_) => {
                    unreadable.push(*kind);
                    *tally.unreadable.entry((column.clone(), *kind)).or_default() += 1;
                }
            }
        }
    }
    let mut activity = Activity::None;
    for column in &s.activity {
        let value = values.next().flatten();
        activity = activity.max(tally.times.activity(value, &s.table, column));
    }
    let relationship_ended = s
        .relationship_end
        .as_ref()
        .and_then(|column| tally.times.read(values.next().flatten(), &s.table, column));
    SubjectRow {
        key,
        identifiers,
        unreadable,
        activity,
        facts: SubjectFacts {
            last_activity: None,
            relationship_ended,
            active_services: None,
            unpaid_invoices: None,
        },
    }
}

/// Adds every child table's facts to the subjects it holds rows for.
fn add_children(
    schema: &Schema,
    client: &mut dyn Client,
    filter: &KeyFilter,
    subjects: &mut [SubjectRow],
    tally: &mut Tally,
) -> Result<(), DbError> {
    for child in &schema.settings.children {
        let totals = child_totals(schema, client, child, filter, tally)?;
        for subject in subjects.iter_mut() {
            let t = totals.get(&subject.key);
            if let Some(t) = t {
                subject.activity = subject.activity.max(t.last_activity);
            }
            let f = &mut subject.facts;
            if child.active_when.is_some() {
                let n = t.map_or(0, |t| t.active);
                f.active_services = Some(f.active_services.unwrap_or(0) + n);
            }
            if child.unpaid_when.is_some() {
                let n = t.map_or(0, |t| t.unpaid);
                f.unpaid_invoices = Some(f.unpaid_invoices.unwrap_or(0) + n);
            }
        }
    }
    Ok(())
}

/// One grouped query per child table: latest activity and matching-row counts per subject.
///
/// Each activity column is read as its `MAX` and its `MIN`: a value that cannot be read sorts
/// (as text, or as PostgreSQL's `infinity`) above or below the dates more often than between
/// them, and either end being unreadable makes the subject's activity unreadable.
fn child_totals(
    schema: &Schema,
    client: &mut dyn Client,
    child: &ChildTable,
    filter: &KeyFilter,
    tally: &mut Tally,
) -> Result<HashMap<String, ChildTotals>, DbError> {
    let conditions: Vec<&str> = [&child.active_when, &child.unpaid_when]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    if child.activity.is_empty() && conditions.is_empty() {
        return Ok(HashMap::new());
    }
    let d = schema.dialect;
    let mut b = Builder::new(d);
    b.sql("SELECT ").text_of(&child.foreign_key);
    for column in &child.activity {
        for aggregate in ["MAX", "MIN"] {
            b.sql(", ")
                .sql(&d.text(&format!("{aggregate}({})", d.quote(column))));
        }
    }
    for condition in &conditions {
        let matching = format!("SUM(CASE WHEN (\n{condition}\n) THEN 1 ELSE 0 END)");
        b.sql(", ").sql(&d.text(&matching));
    }
    b.sql(" FROM ").name(&child.table).sql(" WHERE ");
    filter.push(&mut b, &child.foreign_key);
    b.sql(" GROUP BY ").name(&child.foreign_key);
    let rows = run_query(client, &b.finish(), &child.table)?;
    let mut totals = HashMap::new();
    for row in rows {
        let Some(key) = row.first().cloned().flatten() else {
            continue;
        };
        let mut t = ChildTotals::default();
        let mut values = row.iter().skip(1);
        for column in &child.activity {
            let latest = values.next().and_then(Option::as_deref);
            let earliest = values.next().and_then(Option::as_deref);
            let mut read = |v| tally.times.activity(v, &child.table, column);
            let mut activity = read(latest);
            if earliest != latest {
                activity = activity.max(read(earliest));
            }
            t.last_activity = t.last_activity.max(activity);
        }
        if child.active_when.is_some() {
            t.active = count(values.next().and_then(Option::as_ref));
        }
        if child.unpaid_when.is_some() {
            t.unpaid = count(values.next().and_then(Option::as_ref));
        }
        totals.insert(key, t);
    }
    Ok(totals)
}
