//! Where a key sits in the file: dotted key paths to `line:col`, and back.
//!
//! A key path is what an error message shows: `policies.inactive.idle_for`,
//! `systems.crm.settings.children[1].table`, `systems."odd.name".plugin`. Positions come
//! from toml_edit's spans over the same text serde read, so they agree.

use std::ops::Range;

use toml_edit::{Document, Item, Key, Table, Value};

/// One step of a key path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Segment {
    /// A table key.
    Key(String),
    /// An index into an array or array of tables.
    Index(usize),
}

/// `base.key`, quoting `key` the TOML way if it is not a bare key.
pub(crate) fn join(base: &str, key: &str) -> String {
    let key = quote(key);
    if base.is_empty() {
        key
    } else {
        format!("{base}.{key}")
    }
}

/// `base[index]`.
pub(crate) fn index(base: &str, index: usize) -> String {
    format!("{base}[{index}]")
}

fn quote(key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        key.to_owned()
    } else {
        format!("{key:?}")
    }
}

/// Splits a key path into its steps. Lenient: whatever does not parse ends the path, so a
/// malformed key from a plugin still points at its nearest sensible parent.
pub(crate) fn parse_path(path: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut chars = path.chars().peekable();
    loop {
        match chars.peek() {
            None => break,
            Some('.') => {
                chars.next();
            }
            Some('[') => {
                chars.next();
                let digits: String = chars.by_ref().take_while(|c| *c != ']').collect();
                match digits.trim().parse() {
                    Ok(i) => segments.push(Segment::Index(i)),
                    Err(_) => break,
                }
            }
            Some('"') => {
                chars.next();
                let mut key = String::new();
                let mut closed = false;
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => key.extend(chars.next()),
                        '"' => {
                            closed = true;
                            break;
                        }
                        c => key.push(c),
                    }
                }
                if !closed {
                    break;
                }
                segments.push(Segment::Key(key));
            }
            Some(_) => {
                let mut key = String::new();
                while let Some(&c) = chars.peek() {
                    if c == '.' || c == '[' {
                        break;
                    }
                    key.push(c);
                    chars.next();
                }
                segments.push(Segment::Key(key.trim().to_owned()));
            }
        }
    }
    segments
}

/// The source text with its parsed document, for finding keys.
pub(crate) struct Locator<'t> {
    text: &'t str,
    doc: Option<Document<String>>,
}

/// A node of the document while walking a key path.
#[derive(Clone, Copy)]
enum Node<'a> {
    Item(&'a Item),
    /// An element of an array of tables, which is a `Table` rather than an `Item`.
    Table(&'a Table),
    Value(&'a Value),
}

impl<'a> Node<'a> {
    /// The child at `key` and where to point for it.
    fn key(self, key: &str) -> Option<(Node<'a>, Option<usize>)> {
        let (k, item) = match self {
            Node::Item(Item::Table(table)) | Node::Table(table) => table.get_key_value(key)?,
            Node::Item(Item::Value(value)) | Node::Value(value) => {
                value.as_inline_table()?.get_key_value(key)?
            }
            Node::Item(_) => return None,
        };
        Some((Node::Item(item), keyed_offset(k, item)))
    }

    /// The element at `i` and where to point for it.
    fn index(self, i: usize) -> Option<(Node<'a>, Option<usize>)> {
        match self {
            Node::Item(Item::ArrayOfTables(tables)) => {
                let table = tables.get(i)?;
                Some((Node::Table(table), table.span().map(|s| s.start)))
            }
            Node::Item(Item::Value(value)) | Node::Value(value) => {
                let element = value.as_array()?.get(i)?;
                Some((Node::Value(element), element.span().map(|s| s.start)))
            }
            _ => None,
        }
    }
}

/// Where to point for a key: a table's `[header]` line, otherwise the key itself.
fn keyed_offset(key: &Key, item: &Item) -> Option<usize> {
    let header = match item {
        Item::Table(table) if !table.is_implicit() && !table.is_dotted() => table.span(),
        Item::ArrayOfTables(tables) => tables.get(0).and_then(Table::span),
        _ => None,
    };
    header
        .or_else(|| key.span())
        .or_else(|| item.span())
        .map(|s| s.start)
}

fn contains(span: Option<Range<usize>>, offset: usize) -> bool {
    span.is_some_and(|s| s.start <= offset && offset < s.end.max(s.start + 1))
}

impl<'t> Locator<'t> {
    /// Parses `text` for locating. A text that does not parse locates everything at 1:1.
    pub(crate) fn new(text: &'t str) -> Self {
        Self {
            text,
            doc: Document::parse(text.to_owned()).ok(),
        }
    }

    /// The 1-based line and column of the key at `path`, or of its nearest existing parent,
    /// or 1:1.
    pub(crate) fn locate(&self, path: &str) -> (usize, usize) {
        self.position(self.offset_of(path).unwrap_or(0))
    }

    fn offset_of(&self, path: &str) -> Option<usize> {
        let doc = self.doc.as_ref()?;
        let mut node = Node::Item(doc.as_item());
        let mut best = None;
        for segment in parse_path(path) {
            let step = match segment {
                Segment::Key(key) => node.key(&key),
                Segment::Index(i) => node.index(i),
            };
            let Some((next, offset)) = step else { break };
            best = offset.or(best);
            node = next;
        }
        best
    }

    /// The deepest key path whose key, value or table header covers byte `offset`.
    pub(crate) fn path_at(&self, offset: usize) -> Option<String> {
        let doc = self.doc.as_ref()?;
        search_table(doc.as_table(), offset, "")
    }

    /// The 1-based line and column (in characters) of byte `offset`.
    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let before = &self.text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }
}

fn search_table(table: &Table, offset: usize, base: &str) -> Option<String> {
    table.iter().find_map(|(name, item)| {
        let path = join(base, name);
        search_item(item, offset, &path).or_else(|| {
            let key_hit = table.key(name).is_some_and(|k| contains(k.span(), offset));
            (key_hit || contains(item.span(), offset)).then_some(path)
        })
    })
}

fn search_item(item: &Item, offset: usize, path: &str) -> Option<String> {
    match item {
        Item::Table(table) => search_table(table, offset, path),
        Item::ArrayOfTables(tables) => tables.iter().enumerate().find_map(|(i, table)| {
            let path = index(path, i);
            search_table(table, offset, &path)
                .or_else(|| contains(table.span(), offset).then_some(path))
        }),
        Item::Value(value) => search_value(value, offset, path),
        Item::None => None,
    }
}

fn search_value(value: &Value, offset: usize, path: &str) -> Option<String> {
    match value {
        Value::InlineTable(table) => table.iter().find_map(|(name, value)| {
            let path = join(path, name);
            search_value(value, offset, &path).or_else(|| {
                let key_hit = table.key(name).is_some_and(|k| contains(k.span(), offset));
                (key_hit || contains(value.span(), offset)).then_some(path)
            })
        }),
        Value::Array(array) => array.iter().enumerate().find_map(|(i, value)| {
            let path = index(path, i);
            search_value(value, offset, &path)
                .or_else(|| contains(value.span(), offset).then_some(path))
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = r#"state_dir = "/s"

[systems.crm]
plugin = "sql"

[systems.crm.settings]
backend = "sqlite"

[systems.crm.settings.subjects]
table = "customers"
identifiers = { email = "email", phone = "phone" }
activity = ["last_login", "created_at"]

[[systems.crm.settings.children]]
table = "services"

[[systems.crm.settings.children]]
  table = "invoices"

[systems."odd.name"]
plugin = "sql"
"#;

    #[test]
    fn paths_parse_with_indexes_and_quoted_keys() {
        assert_eq!(
            parse_path(r#"systems."odd.name".settings.children[1].table"#),
            [
                Segment::Key("systems".into()),
                Segment::Key("odd.name".into()),
                Segment::Key("settings".into()),
                Segment::Key("children".into()),
                Segment::Index(1),
                Segment::Key("table".into()),
            ]
        );
        assert_eq!(join("systems", "odd.name"), r#"systems."odd.name""#);
        assert_eq!(join("", "state_dir"), "state_dir");
    }

    #[test]
    fn keys_locate_at_the_key_and_tables_at_their_header() {
        let locator = Locator::new(TEXT);
        assert_eq!(locator.locate("state_dir"), (1, 1));
        assert_eq!(locator.locate("systems.crm"), (3, 1));
        assert_eq!(locator.locate("systems.crm.plugin"), (4, 1));
        assert_eq!(locator.locate("systems.crm.settings"), (6, 1));
        assert_eq!(
            locator.locate("systems.crm.settings.subjects.identifiers.phone"),
            (11, 34)
        );
        assert_eq!(
            locator.locate("systems.crm.settings.subjects.activity[1]"),
            (12, 27)
        );
        assert_eq!(locator.locate("systems.crm.settings.children[1]"), (17, 1));
        assert_eq!(
            locator.locate("systems.crm.settings.children[1].table"),
            (18, 3)
        );
        assert_eq!(locator.locate(r#"systems."odd.name".plugin"#), (21, 1));
    }

    #[test]
    fn a_missing_key_falls_back_to_its_nearest_parent_then_to_the_start() {
        let locator = Locator::new(TEXT);
        assert_eq!(locator.locate("systems.crm.settings.subjects.key"), (9, 1));
        assert_eq!(
            locator.locate("systems.crm.settings.children[7].table"),
            (14, 1)
        );
        assert_eq!(locator.locate("policies.idle.idle_for"), (1, 1));
        assert_eq!(Locator::new("not [toml").locate("state_dir"), (1, 1));
    }

    #[test]
    fn an_offset_maps_back_to_the_deepest_key_path() {
        let locator = Locator::new(TEXT);
        let at = |needle: &str| locator.path_at(TEXT.find(needle).unwrap());
        assert_eq!(at("\"/s\"").as_deref(), Some("state_dir"));
        assert_eq!(
            at("phone = ").as_deref(),
            Some("systems.crm.settings.subjects.identifiers.phone")
        );
        assert_eq!(
            at("\"created_at\"").as_deref(),
            Some("systems.crm.settings.subjects.activity[1]")
        );
        assert_eq!(
            at("\"invoices\"").as_deref(),
            Some("systems.crm.settings.children[1].table")
        );
        assert_eq!(
            at("[systems.crm.settings]").as_deref(),
            Some("systems.crm.settings")
        );
    }

    #[test]
    fn columns_count_characters_not_bytes() {
        let locator = Locator::new("a = \"åäö\"\nb = 1\n");
        // The closing quote is byte 11 but the 9th character.
        assert_eq!(locator.position(11), (1, 9));
        assert_eq!(locator.position(13), (2, 1));
    }
}
