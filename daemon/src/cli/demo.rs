//! `gallra demo`: sample databases, the plan, the enforcement, and what became of whom.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::output;
use super::setup::{load, lock_state, open_context, run_status, FAILED};
use crate::runner;
use crate::store::Store;
use gallra_demo::{demo_config, Category, Dataset};

/// Builds the demo in `dir` (or a new directory under the system's temp dir), plans and
/// enforces its policy, and shows the outcome per kind of customer.
pub async fn demo(dir: Option<PathBuf>, customers: usize, seed: u64) -> u8 {
    match build_and_run(dir, customers, seed).await {
        Ok(status) => status,
        Err(error) => {
            eprintln!("gallra demo: {error}");
            FAILED
        }
    }
}

async fn build_and_run(dir: Option<PathBuf>, customers: usize, seed: u64) -> Result<u8, String> {
    // The data is generated relative to gallra's clock, so that GALLRA_NOW moves both (read
    // in the demo config's time zone).
    let tz = jiff::tz::TimeZone::get("Europe/Stockholm")
        .map_err(|e| format!("no Europe/Stockholm time zone: {e}"))?;
    crate::clock::set_from_env(&tz)?;
    let now = crate::clock::now_in(&tz);
    let dir = dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("gallra-demo-{}", now.timestamp().as_second()))
    });
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;

    println!(
        "== 1. sample systems: {customers} customers of a hosting company, in {}",
        dir.display()
    );
    let data = Dataset::generate(seed, customers, now.clone());
    let files = data.write_sqlite(&dir).map_err(|e| e.to_string())?;
    let config_path = dir.join("gallra.toml");
    std::fs::write(&config_path, demo_config(&files, &dir.join("state")))
        .map_err(|e| format!("cannot write {}: {e}", config_path.display()))?;
    println!(
        "   control panel {}, billing {}, CRM {}",
        files.panel.display(),
        files.billing.display(),
        files.crm.display()
    );
    println!("   config {}\n", config_path.display());

    let config =
        load(&config_path).map_err(|_| "the demo config did not load (see above)".to_owned())?;
    let _lock = lock_state(&config, "demo").map_err(|_| {
        "another gallra process uses the demo's state directory (see above)".to_owned()
    })?;
    let store: Arc<dyn Store> = crate::statestore::open(&config).map_err(|e| e.to_string())?;
    let context = open_context(config, true).await;
    let policy = context
        .config
        .policies
        .values()
        .next()
        .ok_or("the demo config has no policy")?
        .clone();

    println!("== 2. gallra plan --config {}", config_path.display());
    let plan = runner::plan_policy(&context, &policy, &now).await;
    output::print_plan(&plan);

    println!("== 3. gallra run --once --config {}", config_path.display());
    let report = runner::run_policy(&context, &store, &policy, &now)
        .await
        .map_err(|e| e.to_string())?;
    output::print_run(&report);

    println!("== 4. what became of whom (checked in the databases themselves)");
    let left = panel_ids(&files.panel)?;
    print_outcome(&data, &left);
    println!(
        "\nTry it yourself: gallra plan --config {}",
        config_path.display()
    );
    Ok(run_status(&[report]))
}

/// The customer ids still in the control panel.
fn panel_ids(panel: &Path) -> Result<BTreeSet<i64>, String> {
    let db = rusqlite::Connection::open(panel).map_err(|e| e.to_string())?;
    let mut stmt = db
        .prepare("SELECT id FROM customers")
        .map_err(|e| e.to_string())?;
    let ids = stmt
        .query_map([], |row| row.get(0))
        .map_err(|e| e.to_string())?
        .collect::<Result<BTreeSet<i64>, _>>()
        .map_err(|e| e.to_string())?;
    Ok(ids)
}

fn print_outcome(data: &Dataset, left: &BTreeSet<i64>) {
    println!(
        "   {:<34} {:>9} {:>8} {:>6}  why",
        "kind of customer", "customers", "deleted", "kept"
    );
    for category in Category::ALL {
        let ids: Vec<i64> = data.in_category(category).map(|c| c.panel_id()).collect();
        let deleted = ids.iter().filter(|id| !left.contains(id)).count();
        println!(
            "   {:<34} {:>9} {:>8} {:>6}  {}",
            category.as_str(),
            ids.len(),
            deleted,
            ids.len() - deleted,
            why(category)
        );
    }
    let wrong = data
        .customers()
        .iter()
        .filter(|c| c.category().must_be_purged() == left.contains(&c.panel_id()))
        .count();
    if wrong == 0 {
        println!("   every customer ended as the data was made to need: deleted from the CRM and panel, anonymized in billing (invoices kept for bookkeeping)");
    } else {
        println!("   {wrong} customers did NOT end as the data was made to need");
    }
}

fn why(category: Category) -> &'static str {
    match category {
        Category::Active => "logged in within 6 months",
        Category::InactiveClean => "no activity anywhere for 6 months, nothing active or owed",
        Category::InactiveWithActiveService => "a service is still active",
        Category::InactiveWithDebt => "an invoice is unpaid",
        Category::RecentlyActiveElsewhere => "old login, but paid an invoice recently",
        Category::NeverLoggedInRecentSignup => "signed up recently, never logged in",
        Category::Borderline => "last active 6 months minus a day ago",
    }
}
