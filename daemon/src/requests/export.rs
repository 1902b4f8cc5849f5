//! The register extract and portability copy: everything the systems hold about one
//! subject, written to one file as CSV or JSON.
//!
//! The file holds personal data, so it is created new with mode 0600 from the first byte
//! (never widened later, never overwriting a file that is already there), and a file left
//! half-written by an error is removed. Delivering it, and deleting it afterwards, is the
//! caller's job: gallra does not keep exports.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use gallra_plugin_api::messages::{ExportField, ExportResult};
use jiff::Timestamp;
use serde::Serialize;

use super::model::RequestId;

/// The file format of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// UTF-8, RFC 4180 (CRLF line ends, quoted where needed), header
    /// `system,collection,record,field,value`, one row per field; an empty field is an
    /// empty value.
    Csv,
    /// `{"request": N, "generated_at": "…", "systems": [{"system": "…", "fields":
    /// [{"collection", "record", "field", "value"}]}]}`; an empty field is `null`.
    Json,
}

impl ExportFormat {
    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Json => "json",
        }
    }
}

/// Writes the export of `request` to `dir/request-N.csv` (or `.json`) and returns its path.
///
/// `parts` is one entry per system, in the order to list them. Fails with
/// [`io::ErrorKind::AlreadyExists`] if the file is already there: an earlier export must be
/// delivered and removed first.
pub fn write_export(
    dir: &Path,
    request: RequestId,
    parts: &[(String, ExportResult)],
    format: ExportFormat,
) -> io::Result<PathBuf> {
    let path = dir.join(format!("request-{}.{}", request.0, format.extension()));
    let file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    let written = match format {
        ExportFormat::Csv => write_csv(file, parts),
        ExportFormat::Json => write_json(file, request, parts),
    };
    match written {
        Ok(()) => Ok(path),
        Err(err) => {
            // Personal data in a broken file helps no one.
            let _ = fs::remove_file(&path);
            Err(err)
        }
    }
}

fn write_csv(file: File, parts: &[(String, ExportResult)]) -> io::Result<()> {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(BufWriter::new(file));
    writer.write_record(["system", "collection", "record", "field", "value"])?;
    for (system, result) in parts {
        for f in &result.fields {
            writer.write_record([
                system.as_str(),
                &f.collection,
                &f.record,
                &f.field,
                f.value.as_deref().unwrap_or(""),
            ])?;
        }
    }
    let file = writer
        .into_inner()
        .map_err(|e| io::Error::new(e.error().kind(), e.error().to_string()))?
        .into_inner()
        .map_err(|e| e.into_error())?;
    file.sync_all()
}

#[derive(Serialize)]
struct JsonExport<'a> {
    request: RequestId,
    generated_at: Timestamp,
    systems: Vec<JsonSystem<'a>>,
}

#[derive(Serialize)]
struct JsonSystem<'a> {
    system: &'a str,
    fields: &'a [ExportField],
}

fn write_json(file: File, request: RequestId, parts: &[(String, ExportResult)]) -> io::Result<()> {
    let export = JsonExport {
        request,
        generated_at: crate::clock::now(),
        systems: parts
            .iter()
            .map(|(system, result)| JsonSystem {
                system,
                fields: &result.fields,
            })
            .collect(),
    };
    let mut out = BufWriter::new(file);
    serde_json::to_writer_pretty(&mut out, &export)?;
    out.write_all(b"\n")?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn field(collection: &str, record: &str, name: &str, value: Option<&str>) -> ExportField {
        ExportField {
            collection: collection.into(),
            record: record.into(),
            field: name.into(),
            value: value.map(Into::into),
        }
    }

    fn sample() -> Vec<(String, ExportResult)> {
        vec![
            (
                "panel".into(),
                ExportResult {
                    fields: vec![
                        field("customers", "17", "name", Some("Åsa Öberg, \"Bäst\"")),
                        field(
                            "customers",
                            "17",
                            "note",
                            Some("rad ett\r\nrad två\nrad tre"),
                        ),
                        field("customers", "17", "phone", None),
                    ],
                },
            ),
            (
                "crm".into(),
                ExportResult {
                    fields: vec![field("contacts", "a,b", "email", Some("asa@example.se"))],
                },
            ),
        ]
    }

    #[test]
    fn csv_quoting_of_commas_quotes_newlines_and_swedish_letters_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_export(dir.path(), RequestId(7), &sample(), ExportFormat::Csv).unwrap();
        assert_eq!(path, dir.path().join("request-7.csv"));

        let bytes = fs::read(&path).unwrap();
        let text = String::from_utf8(bytes).expect("UTF-8");
        assert!(text.starts_with("system,collection,record,field,value\r\n"));

        let mut reader = csv::Reader::from_path(&path).unwrap();
        let header: Vec<String> = reader.headers().unwrap().iter().map(Into::into).collect();
        assert_eq!(header, ["system", "collection", "record", "field", "value"]);
        let rows: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.unwrap().iter().map(Into::into).collect())
            .collect();
        let expected = [
            ["panel", "customers", "17", "name", "Åsa Öberg, \"Bäst\""],
            [
                "panel",
                "customers",
                "17",
                "note",
                "rad ett\r\nrad två\nrad tre",
            ],
            ["panel", "customers", "17", "phone", ""],
            ["crm", "contacts", "a,b", "email", "asa@example.se"],
        ];
        assert_eq!(rows, expected);
    }

    #[test]
    fn json_lists_every_field_per_system_with_null_for_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_export(dir.path(), RequestId(8), &sample(), ExportFormat::Json).unwrap();
        assert_eq!(path, dir.path().join("request-8.json"));
        let value: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
        assert_eq!(value["request"], 8);
        assert!(value["generated_at"]
            .as_str()
            .unwrap()
            .parse::<Timestamp>()
            .is_ok());
        assert_eq!(value["systems"][0]["system"], "panel");
        assert_eq!(
            value["systems"][0]["fields"][0],
            serde_json::json!({
                "collection": "customers",
                "record": "17",
                "field": "name",
                "value": "Åsa Öberg, \"Bäst\"",
            })
        );
        assert_eq!(
            value["systems"][0]["fields"][2]["value"],
            serde_json::Value::Null
        );
        assert_eq!(value["systems"][1]["system"], "crm");
        assert_eq!(value["systems"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn the_export_file_is_readable_by_its_owner_only() {
        let dir = tempfile::tempdir().unwrap();
        for format in [ExportFormat::Csv, ExportFormat::Json] {
            let path = write_export(dir.path(), RequestId(9), &sample(), format).unwrap();
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{format:?}");
        }
    }

    #[test]
    fn an_existing_file_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("request-10.csv");
        fs::write(&path, "earlier export").unwrap();
        let err =
            write_export(dir.path(), RequestId(10), &sample(), ExportFormat::Csv).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read_to_string(&path).unwrap(), "earlier export");
    }

    #[test]
    fn a_subject_found_nowhere_gets_a_header_only_csv() {
        let dir = tempfile::tempdir().unwrap();
        let parts = vec![("panel".to_owned(), ExportResult::default())];
        let path = write_export(dir.path(), RequestId(11), &parts, ExportFormat::Csv).unwrap();
        assert_eq!(
            fs::read_to_string(path).unwrap(),
            "system,collection,record,field,value\r\n"
        );
    }
}
