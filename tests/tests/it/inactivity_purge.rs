//! The inactivity purge, end to end: the real `gallra` binary and SQL plugin against SQLite,
//! PostgreSQL and MariaDB, on customers generated to be active, inactive, in debt, …
//!
//! Policy (000, "Automatisk utfasning av data"): «I de fall en kund eller användare inte
//! loggat in beebytes kontrollpanel eller använder någon av beebyte levererad tjänst om en
//! tidsperiod om 6 månader så kommer kundens konto att automatisk raderas. Uppgifter i
//! tredjeparts system kommer också att raderas i samband med detta.»

use std::collections::BTreeSet;

use gallra_e2e::{available, Backend, Gallra, Scenario};

fn ids(rows: &[Vec<Option<String>>], column: usize) -> BTreeSet<i64> {
    rows.iter()
        .map(|r| r[column].as_deref().unwrap().parse().unwrap())
        .collect()
}

fn exactly_the_inactive_are_erased_everywhere(backend: Backend) {
    if !available(backend, "exactly_the_inactive_are_erased_everywhere") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::build(backend, dir.path(), 11, 400);
    let gallra = Gallra::new(&scenario.config);
    let expected = scenario.expected_purged();
    assert!(
        expected.len() > 20,
        "the data must hold inactive customers to purge"
    );
    let before = scenario.snapshot();

    // The plan predicts exactly the customers the data was made to need purged…
    let plan = gallra.run(&["plan", "--json"]).expect_code(0).json();
    let planned: BTreeSet<i64> = plan[0]["selected_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().parse().unwrap())
        .collect();
    let wrong: Vec<String> = planned
        .symmetric_difference(&expected)
        .map(|id| {
            format!(
                "{id} ({})",
                scenario.data.customer(*id).unwrap().category().as_str()
            )
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "plan chose wrongly for: {}",
        wrong.join(", ")
    );
    assert_eq!(scenario.snapshot(), before, "plan changed data");

    // …and the run erases exactly those, from every system.
    let run = gallra
        .run(&["run", "--once", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(run[0]["state"], "done");
    let after = scenario.snapshot();

    let purged_billing: BTreeSet<i64> = expected
        .iter()
        .map(|id| scenario.data.customer(*id).unwrap().billing_id())
        .collect();
    let purged_crm: BTreeSet<i64> = expected
        .iter()
        .filter_map(|id| scenario.data.customer(*id).unwrap().crm_id())
        .collect();

    // Control panel: the inactive customers and their services are gone; nothing else changed.
    let keep = |rows: &Vec<Vec<Option<String>>>,
                column: usize,
                gone: &BTreeSet<i64>|
     -> Vec<Vec<Option<String>>> {
        rows.iter()
            .filter(|r| !gone.contains(&r[column].as_deref().unwrap().parse::<i64>().unwrap()))
            .cloned()
            .collect()
    };
    assert_eq!(after["customers"], keep(&before["customers"], 0, &expected));
    assert_eq!(after["services"], keep(&before["services"], 1, &expected));
    // CRM: the people and their notes are gone.
    assert_eq!(after["people"], keep(&before["people"], 0, &purged_crm));
    assert_eq!(after["notes"], keep(&before["notes"], 1, &purged_crm));
    assert!(ids(&after["people"], 0).is_disjoint(&purged_crm));
    // Billing: bookkeeping stays — every invoice, and every client row, anonymized for the purged.
    assert_eq!(
        after["invoices"], before["invoices"],
        "invoices must stay (bookkeeping)"
    );
    assert_eq!(ids(&after["clients"], 0), ids(&before["clients"], 0));
    for (old, new) in before["clients"].iter().zip(&after["clients"]) {
        let id: i64 = new[0].as_deref().unwrap().parse().unwrap();
        if purged_billing.contains(&id) {
            assert_eq!(
                &new[1..],
                &[None, Some("Anonymiserad kund".into()), None, None],
                "client {id}"
            );
        } else {
            assert_eq!(old, new, "client {id} was not to be touched");
        }
    }

    // A second run changes nothing.
    let again = gallra
        .run(&["run", "--once", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(again[0]["selected"], 0);
    assert_eq!(scenario.snapshot(), after, "a second run changed data");
}

#[test]
fn exactly_the_inactive_are_erased_everywhere_in_sqlite() {
    exactly_the_inactive_are_erased_everywhere(Backend::Sqlite);
}

#[test]
fn exactly_the_inactive_are_erased_everywhere_in_postgres() {
    exactly_the_inactive_are_erased_everywhere(Backend::Postgres);
}

#[test]
fn exactly_the_inactive_are_erased_everywhere_in_mariadb() {
    exactly_the_inactive_are_erased_everywhere(Backend::Mysql);
}
