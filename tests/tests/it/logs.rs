//! Logs: with `--log-format json` every line is a JSON object, and what a run logs carries
//! the run's span (its policy) — so journald or a log pipeline can follow one run. Written to
//! a pipe, plain logs carry no colour codes, and a new state database is one line.

use gallra_e2e::{Backend, Gallra, Scenario};

#[test]
fn json_logs_are_one_object_per_line_within_the_runs_span() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::build(Backend::Sqlite, dir.path(), 2, 60);
    let gallra = Gallra::new(&scenario.config);
    let out = gallra
        .run(&["--log-format", "json", "run", "--once"])
        .expect_code(0);
    let lines: Vec<serde_json::Value> = out
        .stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let in_run: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| {
            l["spans"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s["name"] == "run"))
        })
        .collect();
    assert!(
        !in_run.is_empty(),
        "no line inside a run span:\n{}",
        out.stderr
    );
    assert!(in_run
        .iter()
        .all(|l| l["span"]["policy"] == "inactive-6-months"
            || l["spans"][0]["policy"] == "inactive-6-months"));
}

#[test]
fn plain_logs_to_a_pipe_have_no_colour_codes_and_a_new_state_database_is_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::build(Backend::Sqlite, dir.path(), 2, 60);
    let out = Gallra::new(&scenario.config)
        .run(&["run", "--once"])
        .expect_code(0);
    assert!(
        !out.stderr.contains('\u{1b}'),
        "an escape code in logs written to a pipe:\n{}",
        out.stderr
    );
    let created = out
        .stderr
        .lines()
        .filter(|l| l.contains("state database"))
        .collect::<Vec<_>>();
    assert_eq!(created.len(), 1, "{}", out.stderr);
    assert!(
        created[0].contains("state database created"),
        "{}",
        out.stderr
    );
}
