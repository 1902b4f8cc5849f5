//! Restriction and objection, end to end: the real binary and SQL plugin on SQLite.
//!
//! Policy (issue 3): «processing stops while accuracy is checked» (restriction, GDPR Art.
//! 18) and «objection to marketing stops it» (Art. 21).

use gallra_demo::Category;
use gallra_e2e::requests::{
    add_system, for_requests, receipt_line, show, submit, task, task_done, task_systems,
};
use gallra_e2e::{Backend, Gallra, Scenario, TestDb};

fn scenario(dir: &std::path::Path) -> Scenario {
    let scenario = Scenario::build(Backend::Sqlite, dir, 13, 40);
    for_requests(&scenario);
    scenario
}

#[test]
fn a_restriction_the_sql_systems_cannot_apply_goes_to_a_person_who_closes_it() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(dir.path());
    let gallra = Gallra::new(&scenario.config);
    // A customer with an active service: a restriction is not an erasure and waits for
    // nothing.
    let customer = scenario
        .data
        .in_category(Category::InactiveWithActiveService)
        .next()
        .unwrap();
    let before = scenario.snapshot();
    let id = submit(&gallra, "restrict", customer.email());

    for _ in 0..2 {
        gallra.run(&["run", "--once"]).expect_code(0);
        let view = show(&gallra, id);
        assert_eq!(view["state"], "open", "{view:#}");
        assert_eq!(task_systems(&view), ["billing", "crm", "panel"]);
        for system in ["billing", "crm", "panel"] {
            let t = task(&view, system);
            assert_eq!(t["action"], "restrict");
            assert_eq!(t["state"], "needs_person", "{t:#}");
            assert!(
                t["detail"]
                    .as_str()
                    .unwrap()
                    .contains("cannot restrict processing: do it by hand"),
                "the task tells the person what to do: {t:#}"
            );
        }
    }
    assert_eq!(
        scenario.snapshot(),
        before,
        "gallra changed data for a restriction"
    );

    // The three tasks wait in `task list`; a person restricts by hand and closes them.
    let waiting = gallra
        .run(&["task", "list", "--json"])
        .expect_code(0)
        .json();
    let mine: Vec<&serde_json::Value> = waiting
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["request"] == id)
        .collect();
    assert_eq!(mine.len(), 3, "{waiting:#}");
    for (i, t) in mine.iter().enumerate() {
        task_done(&gallra, t, "processing restricted by hand");
        let view = show(&gallra, id);
        let expected = if i < 2 { "open" } else { "done" };
        assert_eq!(view["state"], expected, "after {} of 3: {view:#}", i + 1);
    }
    let view = show(&gallra, id);
    for system in ["billing", "crm", "panel"] {
        let line = receipt_line(&view, system);
        assert_eq!(line["outcome"], "done", "{line:#}");
        assert_eq!(
            line["detail"], "done by a person: processing restricted by hand",
            "the receipt says a person did it: {line:#}"
        );
    }
    assert_eq!(
        gallra
            .run(&["task", "list", "--json"])
            .expect_code(0)
            .json(),
        serde_json::json!([]),
        "nothing left for a person"
    );
    // A task already closed cannot be closed again (exit 2, usage).
    let again = gallra
        .run(&[
            "task",
            "done",
            &mine[0]["id"].to_string(),
            "--note",
            "again",
        ])
        .expect_code(2);
    assert!(
        again.stderr.contains("not waiting for a person"),
        "{}",
        again.stderr
    );
    assert_eq!(scenario.snapshot(), before);
}

/// A newsletter list in SQLite: one subscriber per customer, by email.
fn newsletter(scenario: &Scenario) -> TestDb {
    let db = TestDb::create(Backend::Sqlite, &scenario.dir, "newsletter");
    let mut statements = vec![
        "CREATE TABLE subscribers (id INTEGER PRIMARY KEY, email TEXT NOT NULL, \
         first_name TEXT, subscribed_at TEXT)"
            .to_owned(),
    ];
    for (i, c) in scenario.data.customers().iter().enumerate() {
        statements.push(format!(
            "INSERT INTO subscribers VALUES ({}, '{}', '{}', '2024-01-01 10:00:00')",
            i + 1,
            c.email(),
            c.name().split(' ').next().unwrap().replace('\'', "''")
        ));
    }
    db.execute(&statements);
    let path = db.path.clone().unwrap().display().to_string();
    add_system(
        scenario,
        "newsletter",
        toml::toml! {
            plugin = "sql"
            marketing = true
            description = "Newsletter subscribers"
            settings = {
                backend = "sqlite",
                path = path,
                subjects = {
                    table = "subscribers",
                    key = "id",
                    identifiers = { email = "email" },
                    on_erase = "delete",
                },
            }
        },
    );
    db
}

#[test]
fn an_objection_erases_the_subject_from_marketing_systems_only() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(dir.path());
    let newsletter = newsletter(&scenario);
    // A person keeps the postal mailing list (marketing) and the binder archive (not).
    add_system(
        &scenario,
        "postal_list",
        toml::toml! {
            marketing = true
            manual = { instructions = "Take the customer off the postal mailing list" }
        },
    );
    add_system(
        &scenario,
        "binders",
        toml::toml! { manual = { instructions = "Shred the customer's folder" } },
    );
    let gallra = Gallra::new(&scenario.config);
    // A customer with an active service: objecting to marketing is not leaving, and is
    // not held back by the contract.
    let customer = scenario
        .data
        .in_category(Category::InactiveWithActiveService)
        .next()
        .unwrap();
    let before = scenario.snapshot();
    let subscribers = "SELECT id, email, first_name, subscribed_at FROM subscribers";
    let others: Vec<_> = newsletter
        .rows(subscribers)
        .into_iter()
        .filter(|r| r[1].as_deref() != Some(customer.email()))
        .collect();
    assert_eq!(others.len(), scenario.data.customers().len() - 1);

    let id = submit(&gallra, "object", customer.email());
    let view = show(&gallra, id);
    assert_eq!(
        task_systems(&view),
        ["newsletter", "postal_list"],
        "an objection reaches the marketing systems and nothing else"
    );
    assert_eq!(task(&view, "newsletter")["action"], "erase");
    assert_eq!(task(&view, "postal_list")["action"], "manual");

    gallra.run(&["run", "--once"]).expect_code(0);
    let view = show(&gallra, id);
    assert_eq!(task(&view, "newsletter")["state"], "done", "{view:#}");
    assert_eq!(task(&view, "postal_list")["state"], "needs_person");
    assert_eq!(
        newsletter.rows(subscribers),
        others,
        "only the subject left the list"
    );
    assert_eq!(
        scenario.snapshot(),
        before,
        "an objection touched the panel, billing or CRM"
    );

    task_done(
        &gallra,
        task(&view, "postal_list"),
        "removed from the postal list",
    );
    let view = show(&gallra, id);
    assert_eq!(view["state"], "done", "{view:#}");
    assert_eq!(receipt_line(&view, "newsletter")["outcome"], "erased");
    assert_eq!(
        receipt_line(&view, "postal_list")["outcome"],
        "done_by_person"
    );
    assert_eq!(scenario.snapshot(), before);
}
