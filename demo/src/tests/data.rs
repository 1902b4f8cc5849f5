//! The generated customers: deterministic, valid identifiers, the stated shares, and rows
//! that fit each customer's category.

use std::collections::HashSet;

use gallra_plugin_api::{Identifier, IdentifierKind, Personnummer};
use jiff::civil::DateTime;
use jiff::{Timestamp, ToSpan};

use super::super::timeline::OLD_MARGIN_DAYS;
use super::*;
use crate::Category;

#[test]
fn same_seed_gives_the_same_data_and_another_seed_other_data() {
    let a = Dataset::generate(1, 300, now());
    let b = Dataset::generate(1, 300, now());
    let c = Dataset::generate(2, 300, now());
    for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
        assert_eq!(all_statements(&a, dialect), all_statements(&b, dialect));
        assert_ne!(all_statements(&a, dialect), all_statements(&c, dialect));
    }
    assert_eq!(a.expected_purged(), b.expected_purged());
}

#[test]
fn every_personnummer_in_every_system_is_valid_and_belongs_to_its_customer() {
    let data = dataset(1_000);
    let today = data.now().date();
    let mut checked = 0;
    for (system, table) in [
        ("panel", "customers"),
        ("billing", "clients"),
        ("crm", "people"),
    ] {
        for value in texts(column(&data, system, table, "personnummer")) {
            let parsed = Personnummer::parse_at(value, today)
                .unwrap_or_else(|e| panic!("{system}.{table}: {e}"));
            assert!(data
                .customers()
                .iter()
                .any(|c| c.personnummer() == parsed.as_str()));
            checked += 1;
        }
    }
    assert!(checked > 2_500, "only {checked} personnummer checked");
    let samordning = data
        .customers()
        .iter()
        .filter(|c| {
            Personnummer::parse_at(c.personnummer(), today)
                .unwrap()
                .is_samordningsnummer()
        })
        .count();
    assert!(
        (50..=150).contains(&samordning),
        "{samordning} samordningsnummer"
    );
}

#[test]
fn other_systems_spell_personnummer_and_email_differently_sometimes() {
    let data = dataset(1_000);
    for (system, table) in [("billing", "clients"), ("crm", "people")] {
        let pnr = texts(column(&data, system, table, "personnummer"));
        assert!(
            pnr.iter().any(|p| p.len() == 11),
            "{system}: no YYMMDD-NNNN"
        );
        assert!(
            pnr.iter().any(|p| p.len() == 12),
            "{system}: no YYYYMMDDNNNN"
        );
        let emails = texts(column(&data, system, table, "email"));
        let panel: HashSet<&str> = data.customers().iter().map(|c| c.email()).collect();
        assert!(
            emails.iter().any(|e| !panel.contains(e)),
            "{system}: same case everywhere"
        );
    }
    let mixed = data
        .customers()
        .iter()
        .filter(|c| c.email() != c.email().to_lowercase())
        .count();
    assert!(mixed > 100, "{mixed} mixed-case emails");
}

#[test]
fn categories_come_in_the_stated_shares() {
    let data = dataset(2_000);
    let n = data.customers().len() as f64;
    for category in Category::ALL {
        let share = data.in_category(category).count() as f64 / n * 100.0;
        let want = category.share_percent() as f64;
        assert!(
            (share - want).abs() <= 3.0,
            "{}: {share:.1}% instead of {want}%",
            category.as_str()
        );
    }
    let small = dataset(20);
    for category in Category::ALL {
        assert!(
            small.in_category(category).count() > 0,
            "{}",
            category.as_str()
        );
    }
}

#[test]
fn expected_purged_is_exactly_the_inactive_clean_customers() {
    let data = dataset(500);
    let purged = data.expected_purged();
    assert_eq!(
        purged.len(),
        data.in_category(Category::InactiveClean).count()
    );
    for id in &purged {
        assert_eq!(
            data.customer(*id).unwrap().category(),
            Category::InactiveClean
        );
    }
}

/// A reading of the generated rows, independent of the generator, that checks every
/// customer is what its category says.
#[test]
fn every_customers_rows_fit_their_category() {
    let data = dataset(1_000);
    let tz = data.now().time_zone().clone();
    let cutoff = data.now().saturating_sub(6.months()).timestamp();
    let old_end = data
        .now()
        .saturating_sub(6.months())
        .saturating_sub(OLD_MARGIN_DAYS.days())
        .timestamp();
    let borderline = data
        .now()
        .saturating_sub(6.months())
        .saturating_add(1.day())
        .timestamp();
    let time = |v: &Value| match v {
        Value::Text(s) => Some(
            DateTime::strptime("%Y-%m-%d %H:%M:%S", s)
                .unwrap()
                .to_zoned(tz.clone())
                .unwrap()
                .timestamp(),
        ),
        _ => None,
    };
    let id = |v: &Value| match v {
        Value::Int(i) => *i,
        _ => panic!("not an id"),
    };
    let cust_id = column(&data, "panel", "customers", "id");
    let last_login = column(&data, "panel", "customers", "last_login");
    let created = column(&data, "panel", "customers", "created_at");
    let svc_owner = column(&data, "panel", "services", "customer_id");
    let svc_status = column(&data, "panel", "services", "status");
    let svc_ended = column(&data, "panel", "services", "ended_at");
    let inv_owner = column(&data, "billing", "invoices", "client_id");
    let inv_paid = column(&data, "billing", "invoices", "paid_at");
    let client_id = column(&data, "billing", "clients", "id");
    let client_email = texts(column(&data, "billing", "clients", "email"));

    for (row, customer) in data.customers().iter().enumerate() {
        assert_eq!(id(cust_id[row]), customer.panel_id());
        let b = client_id
            .iter()
            .position(|v| id(v) == customer.billing_id());
        let b = b.expect("every customer has a billing client");
        assert_eq!(
            client_email[b].to_lowercase(),
            customer.email().to_lowercase()
        );

        let login = time(last_login[row]);
        let mut panel_activity: Vec<Timestamp> = login.into_iter().collect();
        panel_activity.extend(time(created[row]));
        let mut active_services = 0;
        for s in (0..svc_owner.len()).filter(|s| id(svc_owner[*s]) == customer.panel_id()) {
            panel_activity.extend(time(svc_ended[s]));
            active_services += usize::from(svc_status[s] == &Value::Text("active".into()));
            assert_eq!(
                svc_status[s] == &Value::Text("active".into()),
                svc_ended[s] == &Value::Null
            );
        }
        let mut billing_activity = Vec::new();
        let mut unpaid = 0;
        for i in (0..inv_owner.len()).filter(|i| id(inv_owner[*i]) == customer.billing_id()) {
            billing_activity.extend(time(inv_paid[i]));
            unpaid += usize::from(inv_paid[i] == &Value::Null);
        }
        let panel_last = panel_activity.iter().max().copied().unwrap();
        let last = billing_activity
            .iter()
            .copied()
            .chain([panel_last])
            .max()
            .unwrap();

        let what = customer.category().as_str();
        let ok = match customer.category() {
            Category::Active => login.is_some_and(|l| l > cutoff),
            Category::InactiveClean => last < old_end && active_services == 0 && unpaid == 0,
            Category::InactiveWithActiveService => {
                last < old_end && active_services > 0 && unpaid == 0
            }
            Category::InactiveWithDebt => last < old_end && active_services == 0 && unpaid > 0,
            Category::RecentlyActiveElsewhere => {
                panel_last < old_end && last > cutoff && active_services == 0 && unpaid == 0
            }
            Category::NeverLoggedInRecentSignup => login.is_none() && panel_last > cutoff,
            Category::Borderline => {
                (last.as_second() - borderline.as_second()).abs() <= 1
                    && active_services == 0
                    && unpaid == 0
            }
        };
        assert!(ok, "panel id {} does not fit {what}", customer.panel_id());
        assert!(last < data.now().timestamp(), "activity in the future");
    }
}

#[test]
fn identifiers_are_unique_and_parse() {
    let data = dataset(2_000);
    let mut seen = HashSet::new();
    for c in data.customers() {
        let ids = c.identifiers();
        assert_eq!(ids.len(), 3, "panel id {}", c.panel_id());
        for id in ids {
            assert!(seen.insert(id), "a duplicate identifier");
        }
        assert!(c.phone().starts_with("070-"));
    }
    for phone in texts(column(&data, "crm", "people", "phone")) {
        Identifier::parse(IdentifierKind::Phone, phone).unwrap();
    }
}

#[test]
fn billing_numbers_clients_itself_and_some_customers_have_no_crm_row() {
    let data = dataset(1_000);
    assert!(data
        .customers()
        .iter()
        .all(|c| c.billing_id() != c.panel_id()));
    let without_crm = data
        .customers()
        .iter()
        .filter(|c| c.crm_id().is_none())
        .count();
    assert!(
        (60..=140).contains(&without_crm),
        "{without_crm} without CRM row"
    );
}

#[test]
fn timestamps_are_local_text_without_zone() {
    let data = dataset(200);
    for (system, table, col) in [
        ("panel", "customers", "created_at"),
        ("panel", "services", "started_at"),
        ("billing", "invoices", "issued_at"),
        ("crm", "notes", "created_at"),
    ] {
        for value in texts(column(&data, system, table, col)) {
            assert_eq!(value.len(), 19, "{system}.{table}.{col}");
            DateTime::strptime("%Y-%m-%d %H:%M:%S", value).unwrap();
        }
    }
}

#[test]
fn debug_output_shows_no_personal_data() {
    let data = dataset(50);
    let c = &data.customers()[0];
    for text in [format!("{c:?}"), format!("{data:?}")] {
        assert!(!text.contains(c.email()));
        assert!(!text.contains(c.name()));
        assert!(!text.contains(&c.personnummer()[8..]));
    }
}
