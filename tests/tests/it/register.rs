//! `gallra register`: the record of processing activities (GDPR Art. 30) from the config, as
//! Markdown and as CSV, with the retention of each system read from the rules enforced there.
//!
//! Policy (002): «Leverantören har fullgoda hjälpmedel för att få en bra kontroll på de
//! system, enheter och organisationer som behandlar personuppgifter.» (Systemregister)

use gallra_e2e::{Backend, Gallra, Scenario};

/// The demo systems, with register keys and a bookkeeping hold on billing.
fn scenario(dir: &std::path::Path) -> Scenario {
    let scenario = Scenario::build(Backend::Sqlite, dir, 3, 10);
    scenario.edit_config(|config| {
        let billing = config["systems"]["billing"].as_table_mut().unwrap();
        billing.insert("processor".into(), "Fortnox AB".into());
        billing.insert(
            "recipients".into(),
            toml::Value::Array(vec!["Skatteverket, on request".into()]),
        );
        billing.insert(
            "legal_hold".into(),
            toml::Value::Table(toml::toml! {
                keep = "7 years"
                law = "Bokföringslagen 7 kap. 2 §"
                from = "end_of_financial_year"
                round_up_to = "year"
            }),
        );
        config["systems"].as_table_mut().unwrap().insert(
            "binders".into(),
            toml::Value::Table(toml::toml! {
                description = "Printed notes, in binders"
                data_categories = ["name", "notes"]
                manual = { instructions = "Shred the customer's pages" }
                retention = "until no longer needed"
            }),
        );
    });
    scenario
}

#[test]
fn the_register_lists_every_system_with_its_retention_as_markdown() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(dir.path());
    let out = Gallra::new(&scenario.config)
        .run_with_env(&["register"], &[("GALLRA_NOW", "2027-03-01T12:00:00Z")])
        .expect_code(0);
    let text = out.stdout;
    assert!(
        text.starts_with("# Record of processing activities (GDPR Art. 30)"),
        "{text}"
    );
    assert!(text.contains("on 2027-03-01."), "{text}");
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("| ")).collect();
    // The heading, then one row per system.
    assert_eq!(rows.len(), 1 + 4, "{text}");
    let billing = rows.iter().find(|r| r.starts_with("| billing |")).unwrap();
    for expected in [
        "Fortnox AB",
        "Skatteverket, on request",
        "7 years after the end of the financial year (ending 12-31)",
        "Bokföringslagen 7 kap. 2 §",
        "erased after 6 months without activity in any system (policy inactive-6-months)",
    ] {
        assert!(billing.contains(expected), "{expected:?} not in {billing}");
    }
    let binders = rows.iter().find(|r| r.starts_with("| binders |")).unwrap();
    assert!(binders.contains("a person (manual tasks)"), "{binders}");
    assert!(binders.contains("until no longer needed"), "{binders}");
}

#[test]
fn the_register_as_csv_goes_to_a_file_and_reads_back_one_record_per_system() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(dir.path());
    let file = dir.path().join("register.csv");
    let out = Gallra::new(&scenario.config)
        .run(&[
            "register",
            "--format",
            "csv",
            "--output",
            file.to_str().unwrap(),
        ])
        .expect_code(0);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    let mut reader = csv::Reader::from_path(&file).unwrap();
    let headers: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        headers,
        [
            "system",
            "description",
            "reached by",
            "data categories",
            "purpose",
            "legal basis",
            "processor",
            "recipients",
            "retention",
            "backup retention"
        ]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let systems: Vec<&str> = records.iter().map(|r| &r[0]).collect();
    assert_eq!(systems, ["billing", "binders", "crm", "panel"]);
    let panel = &records[3];
    assert_eq!(&panel[2], "connector sql (account source)");
    assert_eq!(&panel[9], "30 days");
}

#[test]
fn a_broken_config_gives_no_register_but_its_errors() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("gallra.toml");
    std::fs::write(
        &config,
        "state_dir = \"s\"\naccount_source = \"p\"\n[systems.p]\nplugin = \"sql\"\nrecipients = \"Skatteverket\"\n",
    )
    .unwrap();
    let out = Gallra::new(&config).run(&["register"]).expect_code(2);
    assert!(out.stdout.is_empty());
    assert!(
        out.stderr.contains(":5:") && out.stderr.contains("systems.p.recipients"),
        "{}",
        out.stderr
    );
}
