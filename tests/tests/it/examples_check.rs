//! Every shipped example config (`config/examples/`) passes `gallra check` with the real
//! plugins, and prints its system register: a sysadmin can start from any of them.
//!
//! The examples name secret files under `/run/credentials/gallra/` that do not exist here.
//! `gallra check` validates without touching a system, so it does not read them: a missing
//! secret is reported when the system is opened (`gallra plan`, `gallra run`), naming the file.

use std::path::PathBuf;

use gallra_e2e::Gallra;

fn examples() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../config/examples");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_config_passes_check() {
    let files = examples();
    let names: Vec<String> = files
        .iter()
        .map(|f| f.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "backup-vendor",
            "consultancy",
            "hosting-inactivity",
            "hosting-termination",
            "processor-annex"
        ],
        "one example per source policy"
    );
    for file in &files {
        let out = Gallra::new(file).run(&["check"]);
        assert_eq!(
            out.code,
            Some(0),
            "{}:\n{}{}",
            file.display(),
            out.stdout,
            out.stderr
        );
        assert!(out.stdout.contains(": OK ("), "{}", out.stdout);
    }
}

#[test]
fn every_example_config_prints_its_register_with_purpose_and_legal_basis_for_every_system() {
    for file in examples() {
        let out = Gallra::new(&file)
            .run(&["register", "--format", "csv"])
            .expect_code(0);
        let mut reader = csv::Reader::from_reader(out.stdout.as_bytes());
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert!(!rows.is_empty(), "{}", file.display());
        for row in &rows {
            for (column, value) in [("purpose", &row[4]), ("legal basis", &row[5])] {
                assert_ne!(
                    value,
                    "not stated",
                    "{}: system {} has no {column}",
                    file.display(),
                    &row[0]
                );
            }
            assert!(!row[8].is_empty(), "{}: {}", file.display(), &row[0]);
        }
    }
}
