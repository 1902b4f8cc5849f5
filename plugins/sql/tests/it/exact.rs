//! Never the wrong person, never "done" while data stays: a subject's rows are found in
//! every spelling of their identifier (surrounding space, case, composed or decomposed
//! letters, any personnummer form of their century) and no one else's (`asa` is not `åsa`,
//! `muller` is not `müller`, the child born 2012 is not the person born 1912). Against
//! SQLite, PostgreSQL and MariaDB with its default collation `utf8mb4_general_ci` (each when
//! reachable; see `support`), counting rows in the database.

use gallra_plugin_api::{Connector, EraseOutcome, IdentifierKind, Subject};

use crate::support::{by_email, each_backend, standard_settings, subject, Backend, Fixture};

/// Adds customers `(id, email, personnummer)` and one service row per customer (id + 100).
fn add(fx: &mut Fixture, rows: &[(u32, &str, &str)]) {
    for (id, email, personnummer) in rows {
        let value = |v: &str| {
            if v.is_empty() {
                "NULL".to_owned()
            } else {
                format!("'{v}'")
            }
        };
        fx.exec(&format!(
            "INSERT INTO customers (id, email, personnummer, name) VALUES ({id}, {}, {}, 'X');
             INSERT INTO services VALUES ({}, {id}, 'closed', NULL);",
            value(email),
            value(personnummer),
            id + 100
        ));
    }
}

/// How many of these customers, and of their service rows, are still there.
fn left(fx: &mut Fixture, ids: &[u32]) -> (u64, u64) {
    let list = ids
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    (
        fx.count("customers", &format!("id IN ({list})")),
        fx.count("services", &format!("customer_id IN ({list})")),
    )
}

/// The customer keys an export of `who` holds.
fn exported_keys(fx: &Fixture, who: &Subject) -> Vec<String> {
    let export = fx.connector().export(who).expect("export");
    let mut keys: Vec<String> = export
        .fields
        .into_iter()
        .filter(|f| f.collection == "customers")
        .map(|f| f.record)
        .collect();
    keys.dedup();
    keys
}

/// Erases `who` and checks that a lookup (the read-back) then finds nothing.
fn erase(fx: &Fixture, who: &Subject) -> u64 {
    erase_with(&fx.connector(), who)
}

fn erase_with(c: &impl Connector, who: &Subject) -> u64 {
    let EraseOutcome::Erased { records } = c.erase(who).expect("erase") else {
        panic!("expected Erased");
    };
    assert_eq!(c.lookup(who).expect("read-back").records, []);
    records
}

#[test]
fn an_email_is_erased_in_every_spelling_and_no_one_elses() {
    each_backend(|fx| {
        let backend = fx.backend;
        add(
            fx,
            &[
                (20, "kalle@example.se ", ""),
                (21, " KALLE@example.se", ""),
                (22, "Kalle@Example.SE", ""),
                (30, "ÅSA@EXAMPLE.SE", ""),
                (31, "a\u{30a}sa@example.se", ""),
                (32, "asa@example.se", ""),
                (40, "müller@example.de", ""),
                (41, "MU\u{308}LLER@example.de", ""),
                (42, "muller@example.de", ""),
                (50, "jo\u{308}ran@example.se", ""),
                (51, "joran@example.se", ""),
            ],
        );
        assert_eq!(erase(fx, &by_email("kalle@example.se")), 6, "{backend:?}");
        assert_eq!(left(fx, &[20, 21, 22]), (0, 0), "{backend:?}: kalle");

        let asa = by_email("åsa@example.se");
        assert_eq!(exported_keys(fx, &asa), ["30", "31"], "{backend:?}");
        assert_eq!(exported_keys(fx, &by_email("asa@example.se")), ["32"]);
        assert_eq!(erase(fx, &asa), 4, "{backend:?}");
        assert_eq!(left(fx, &[30, 31]), (0, 0), "{backend:?}: åsa");
        assert_eq!(left(fx, &[32]), (1, 1), "{backend:?}: asa is someone else");

        assert_eq!(erase(fx, &by_email("müller@example.de")), 4, "{backend:?}");
        assert_eq!(left(fx, &[40, 41]), (0, 0), "{backend:?}: müller");
        assert_eq!(
            left(fx, &[42]),
            (1, 1),
            "{backend:?}: muller is someone else"
        );

        assert_eq!(erase(fx, &by_email("jöran@example.se")), 2, "{backend:?}");
        assert_eq!(left(fx, &[50]), (0, 0), "{backend:?}: jöran in NFD");
        assert_eq!(
            left(fx, &[51]),
            (1, 1),
            "{backend:?}: joran is someone else"
        );
    });
}

#[test]
fn a_personnummer_names_only_the_person_its_century_gives() {
    each_backend(|fx| {
        let backend = fx.backend;
        // The fixture's Bo (id 2) is stored as 121212-1212: born 2012.
        add(
            fx,
            &[
                (60, "", "19121212-1212"),
                (61, "", "191212121212"),
                (62, "", "121212+1212"),
                (63, "", "1212121212"),
                (64, "", " 20121212 1212 "),
            ],
        );
        let pnr = |v| subject(IdentifierKind::Personnummer, v);
        let (elder, child) = ([60, 61, 62], [2, 63, 64]);
        assert_eq!(
            exported_keys(fx, &pnr("19121212-1212")),
            ["60", "61", "62"],
            "{backend:?}: the export of the 1912 person holds only theirs"
        );
        assert_eq!(exported_keys(fx, &pnr("121212+1212")), ["60", "61", "62"]);
        assert_eq!(exported_keys(fx, &pnr("121212-1212")), ["2", "63", "64"]);

        assert_eq!(erase(fx, &pnr("121212+1212")), 6, "{backend:?}");
        assert_eq!(left(fx, &elder), (0, 0), "{backend:?}: the 1912 person");
        assert_eq!(left(fx, &child), (3, 2), "{backend:?}: the 2012 child");

        assert_eq!(erase(fx, &pnr("20121212-1212")), 5, "{backend:?}");
        assert_eq!(left(fx, &child), (0, 0), "{backend:?}: the child");
    });
}

#[test]
fn a_personnummer_written_with_a_space_is_erased() {
    each_backend(|fx| {
        // Anna (id 1) is stored as 198112189876; a second row of hers with a space.
        add(fx, &[(70, "", "811218 9876")]);
        let anna = subject(IdentifierKind::Personnummer, "19811218-9876");
        assert_eq!(exported_keys(fx, &anna), ["1", "70"], "{:?}", fx.backend);
        erase(fx, &anna);
        assert_eq!(left(fx, &[1, 70]), (0, 0), "{:?}", fx.backend);
    });
}

/// MariaDB cannot index `lower(trim(email))`; an indexed generated column holding it, named
/// in `match_columns`, serves the match, and every candidate is still checked against the
/// email column (its `utf8mb4_general_ci` equals `åsa` and `asa`).
#[test]
fn mariadb_matches_through_an_indexed_generated_column() {
    let Some(mut fx) = Fixture::new(Backend::Mysql) else {
        return;
    };
    fx.exec(
        "ALTER TABLE customers ADD email_match VARCHAR(200) AS (lower(trim(email))) VIRTUAL, \
         ADD INDEX (email_match)",
    );
    add(
        &mut fx,
        &[
            (30, " ÅSA@EXAMPLE.SE", ""),
            (31, "a\u{30a}sa@example.se", ""),
            (32, "asa@example.se", ""),
        ],
    );
    let mut settings = standard_settings();
    settings["subjects"]["match_columns"] = serde_json::json!({"email": "email_match"});
    let c = fx.open(settings).expect("open with match_columns");
    assert_eq!(erase_with(&c, &by_email("åsa@example.se")), 4);
    assert_eq!(left(&mut fx, &[30, 31]), (0, 0));
    assert_eq!(left(&mut fx, &[32]), (1, 1), "asa is someone else");
}
