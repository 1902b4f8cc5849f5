//! The tables of the three demo systems, described once so that every SQL dialect and the
//! SQLite writer build them the same way.

use self::ColumnType::{Key, LongText, Text, Timestamp};

/// What a column holds; each dialect picks its own type for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ColumnType {
    /// The table's integer primary key.
    Key,
    /// An integer that must be present (amounts, foreign keys).
    Integer,
    /// Short text: names, emails, identifiers, codes.
    Text,
    /// Free text of any length.
    LongText,
    /// A local date and time, `YYYY-MM-DD HH:MM:SS` in Europe/Stockholm.
    Timestamp,
}

pub(super) struct Column {
    pub(super) name: &'static str,
    pub(super) ty: ColumnType,
    /// The table whose `id` this column refers to.
    pub(super) references: Option<&'static str>,
    pub(super) not_null: bool,
}

pub(super) struct TableSchema {
    pub(super) name: &'static str,
    pub(super) columns: &'static [Column],
}

impl TableSchema {
    /// The columns that refer to another table; each gets an index.
    pub(super) fn foreign_keys(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.references.is_some())
    }
}

const fn col(name: &'static str, ty: ColumnType) -> Column {
    Column {
        name,
        ty,
        references: None,
        not_null: matches!(ty, ColumnType::Key),
    }
}

const fn required(name: &'static str, ty: ColumnType) -> Column {
    Column {
        name,
        ty,
        references: None,
        not_null: true,
    }
}

const fn foreign_key(name: &'static str, table: &'static str) -> Column {
    Column {
        name,
        ty: ColumnType::Integer,
        references: Some(table),
        not_null: true,
    }
}

/// The control panel: accounts and the services they run.
pub(super) const PANEL: &[TableSchema] = &[
    TableSchema {
        name: "customers",
        columns: &[
            col("id", Key),
            col("email", Text),
            col("name", Text),
            col("personnummer", Text),
            col("phone", Text),
            required("created_at", Timestamp),
            col("last_login", Timestamp),
            col("closed_at", Timestamp),
        ],
    },
    TableSchema {
        name: "services",
        columns: &[
            col("id", Key),
            foreign_key("customer_id", "customers"),
            required("kind", Text),
            required("status", Text),
            required("started_at", Timestamp),
            col("ended_at", Timestamp),
        ],
    },
];

/// Billing: clients (numbered independently of the panel) and their invoices.
pub(super) const BILLING: &[TableSchema] = &[
    TableSchema {
        name: "clients",
        columns: &[
            col("id", Key),
            col("email", Text),
            col("name", Text),
            col("personnummer", Text),
            col("address", Text),
        ],
    },
    TableSchema {
        name: "invoices",
        columns: &[
            col("id", Key),
            foreign_key("client_id", "clients"),
            required("amount_ore", ColumnType::Integer),
            required("issued_at", Timestamp),
            col("paid_at", Timestamp),
        ],
    },
];

/// The CRM: people and the notes staff wrote about them.
pub(super) const CRM: &[TableSchema] = &[
    TableSchema {
        name: "people",
        columns: &[
            col("id", Key),
            col("email", Text),
            col("name", Text),
            col("phone", Text),
            col("personnummer", Text),
        ],
    },
    TableSchema {
        name: "notes",
        columns: &[
            col("id", Key),
            foreign_key("person_id", "people"),
            col("body", LongText),
            required("created_at", Timestamp),
        ],
    },
];
