//! Never the wrong person: a deletion happens only on a fresh decision about an exact,
//! unambiguous identification. Each case runs on SQLite, PostgreSQL and MariaDB, and its
//! assertions are rows counted in the databases after the run.

use gallra_e2e::identity::{Customer, World};
use gallra_e2e::{available, Backend};

const BACKENDS: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::Mysql];

/// Runs `case` on every backend whose server is there.
fn on_every_backend(test: &str, case: impl Fn(Backend)) {
    for backend in BACKENDS {
        if available(backend, test) {
            case(backend);
        }
    }
}

/// Runs the policy, expecting it to stop for approval, and returns the run's id.
fn run_stopped_for_approval(world: &World) -> String {
    let run = world
        .gallra
        .run(&["run", "--once", "--json"])
        .expect_code(3)
        .json();
    assert_eq!(run[0]["state"], "awaiting_approval", "{run}");
    run[0]["run"].as_i64().unwrap().to_string()
}

/// Approves `run` and carries it out; returns the run's report.
fn approve_and_run(world: &World, run: &str) -> serde_json::Value {
    world.gallra.run(&["approve", run]).expect_code(0);
    let report = world.gallra.run(&["run", "--once", "--json"]).json();
    assert_eq!(report[0]["run"].as_i64().unwrap().to_string(), run);
    report[0].clone()
}

#[test]
fn a_login_or_a_new_service_while_a_run_waits_keeps_the_customer() {
    on_every_backend(
        "a_login_or_a_new_service_while_a_run_waits_keeps_the_customer",
        |backend| {
            let dir = tempfile::tempdir().unwrap();
            let people: Vec<Customer> = (1..=3).map(Customer::inactive).collect();
            let world = World::build(backend, dir.path(), &people, 2);
            let run = run_stopped_for_approval(&world);

            world.login(2);
            world.add_service(3);
            let report = approve_and_run(&world, &run);

            assert!(
                !world.in_panel(1) && !world.in_crm(1),
                "{backend:?}: 1 stayed inactive"
            );
            for kept in [2, 3] {
                assert!(
                    world.in_panel(kept) && world.in_crm(kept),
                    "{backend:?}: customer {kept} changed while the run waited and was erased: {report}"
                );
            }
            assert_eq!(report["tasks"]["panel"]["kept"], 2, "{report}");
            assert_eq!(report["tasks"]["panel"]["done"], 1, "{report}");
        },
    );
}

#[test]
fn a_mailbox_moved_while_a_run_waits_erases_only_its_old_owner() {
    on_every_backend(
        "a_mailbox_moved_while_a_run_waits_erases_only_its_old_owner",
        |backend| {
            let dir = tempfile::tempdir().unwrap();
            let people = [
                Customer::inactive(1),
                Customer::inactive(2),
                Customer::active(4),
            ];
            let world = World::build(backend, dir.path(), &people, 1);
            let run = run_stopped_for_approval(&world);

            world.move_email(&people[0].email, 1, 4);
            let report = approve_and_run(&world, &run);

            assert!(
                world.in_panel(4) && world.in_crm(4),
                "{backend:?}: the active customer who took over the mailbox lost data: {report}"
            );
            assert!(
                !world.in_crm(1),
                "{backend:?}: the old owner's CRM row is found by personnummer and erased"
            );
            assert!(!world.in_panel(1) && !world.in_panel(2) && !world.in_crm(2));
        },
    );
}

#[test]
fn an_email_two_customers_share_is_never_used_to_erase() {
    on_every_backend(
        "an_email_two_customers_share_is_never_used_to_erase",
        |backend| {
            let dir = tempfile::tempdir().unwrap();
            let family = "family@example.se";
            let people = [
                Customer::inactive(1)
                    .with_email(family)
                    .without_personnummer(),
                Customer::active(2).with_email(family),
                Customer::inactive(3),
            ];
            let world = World::build(backend, dir.path(), &people, 100);
            // The CRM knows one person by the family address: the active customer.
            world.scenario.db("crm").execute(&[
                "DELETE FROM notes WHERE person_id = 1".into(),
                "DELETE FROM people WHERE id = 1".into(),
            ]);

            let report = world.gallra.run(&["run", "--once", "--json"]).json();

            assert!(
                world.in_crm(2) && world.in_panel(2),
                "{backend:?}: the active customer's data went with the shared email: {report}"
            );
            assert!(
                world.in_panel(1),
                "{backend:?}: the account source waits while the CRM needs a person"
            );
            assert!(
                !world.in_panel(3) && !world.in_crm(3),
                "{backend:?}: {report}"
            );
            let tasks = world.gallra.run(&["runs", "--json"]).stdout;
            assert!(!tasks.contains(family), "no email in the output");
            assert_eq!(report[0]["tasks"]["crm"]["blocked"], 1, "{report}");
        },
    );
}

#[test]
fn a_debt_in_a_system_whose_activity_does_not_count_keeps_the_customer_everywhere() {
    on_every_backend(
        "a_debt_in_a_system_whose_activity_does_not_count_keeps_the_customer_everywhere",
        |backend| {
            let dir = tempfile::tempdir().unwrap();
            let people = [Customer::inactive(1), Customer::inactive(2)];
            let world = World::build(backend, dir.path(), &people, 100);
            world.add_unpaid_invoice(1, &people[0].email);
            world.scenario.edit_config(|config| {
                config["systems"]["billing"]
                    .as_table_mut()
                    .unwrap()
                    .insert("activity".into(), false.into());
            });

            let report = world.gallra.run(&["run", "--once", "--json"]).json();

            assert!(
                world.in_panel(1) && world.in_crm(1),
                "{backend:?}: a customer who owes money was erased from the panel or CRM: {report}"
            );
            assert!(
                !world.in_panel(2) && !world.in_crm(2),
                "{backend:?}: {report}"
            );
            assert_eq!(report[0]["reasons"]["unpaid_invoices"], 1, "{report}");
        },
    );
}
