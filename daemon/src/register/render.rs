//! The register as a Markdown document (to read, print or commit beside the policy) or as
//! CSV (RFC 4180, to open in a spreadsheet).

use super::{Row, COLUMNS};

/// A Markdown document: a heading naming the configuration and the date, then one table.
pub fn markdown(rows: &[Row], source: &str, date: &str) -> String {
    let mut out = String::new();
    out.push_str("# Record of processing activities (GDPR Art. 30)\n\n");
    out.push_str(&format!(
        "Written by `gallra register` from `{}` on {date}. Retention lists the rules gallra \
         enforces for each system; a rule in report mode is not enforced yet.\n\n",
        cell(source)
    ));
    out.push_str(&format!("| {} |\n", COLUMNS.join(" | ")));
    out.push_str(&format!("|{}\n", "---|".repeat(COLUMNS.len())));
    for row in rows {
        let cells: Vec<String> = row.cells().iter().map(|c| cell(c)).collect();
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

/// CSV with a header line, every field quoted where RFC 4180 needs it.
pub fn csv(rows: &[Row]) -> String {
    let mut writer = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::CRLF)
        .from_writer(Vec::new());
    let written = std::iter::once(COLUMNS.map(String::from))
        .chain(rows.iter().map(Row::cells))
        .try_for_each(|record| writer.write_record(&record));
    // Writing to memory fails only on a bug: a record of the wrong length.
    written.expect("every register row has every column");
    let bytes = writer.into_inner().expect("writing to memory cannot fail");
    String::from_utf8(bytes).expect("the cells are strings")
}

/// One table cell: a pipe would end the cell, a line break the row.
fn cell(text: &str) -> String {
    text.trim()
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace("\r\n", "<br>")
        .replace(['\n', '\r'], "<br>")
}
