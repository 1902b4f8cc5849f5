//! A scheduled purge reaches every system of its policy, not only those a connector reaches:
//! for a system a person tends, a processor that is told, and a system under a legal hold,
//! the run files one erasure request per purged subject, and the request engine carries it
//! out (a task with instructions, a notice, anonymize-and-retain).
//!
//! Policy (000, «Inaktiva kunder»): «Om en kund varit inaktiv i 6 månader raderas kundens
//! uppgifter ur samtliga system och tredjepartssystem.»

use std::collections::BTreeSet;
use std::time::Duration;

use gallra_e2e::requests::{add_system, SmtpSink};
use gallra_e2e::{Backend, Gallra, Scenario};
use serde_json::Value;

const REGISTRY: &str = "privacy@registry.example";

/// The demo purge, enforcing, over the demo systems plus printed binders (manual) and a
/// registry told by email (notify); billing keeps bookkeeping under a 7-year hold.
fn scenario(dir: &std::path::Path, sink: &SmtpSink) -> Scenario {
    let scenario = Scenario::build(Backend::Sqlite, dir, 9, 60);
    scenario.edit_config(|config| {
        config.insert("smtp".into(), sink.config());
        config.insert(
            "requests".into(),
            toml::Value::Table(toml::toml! { erase_within = "7 days" }),
        );
        config["systems"]["billing"].as_table_mut().unwrap().insert(
            "legal_hold".into(),
            toml::Value::Table(
                toml::toml! { keep = "7 years"  law = "Bokföringslagen 7 kap. 2 §" },
            ),
        );
        let policy = config["policies"]["inactive-6-months"]
            .as_table_mut()
            .unwrap();
        policy.insert(
            "systems".into(),
            toml::Value::Array(
                ["crm", "billing", "binders", "registry", "panel"]
                    .map(toml::Value::from)
                    .to_vec(),
            ),
        );
        policy.remove("max_fraction");
    });
    add_system(
        &scenario,
        "binders",
        toml::toml! { manual = { instructions = "Shred the customer's pages in the binders." } },
    );
    add_system(
        &scenario,
        "registry",
        toml::toml! {
            processor = "Registry AB"
            notify = { email = REGISTRY, subject = "Radera {email}", template = "Please delete the contact for {email} by {due_date}." }
        },
    );
    scenario
}

/// Every request, finished or not.
fn requests(gallra: &Gallra) -> Vec<Value> {
    let list = gallra
        .run(&["request", "list", "--all", "--json"])
        .expect_code(0)
        .json();
    list.as_array().unwrap().clone()
}

fn show(gallra: &Gallra, id: &Value) -> Value {
    gallra
        .run(&["request", "show", &id.to_string(), "--json"])
        .expect_code(0)
        .json()
}

#[test]
fn a_purge_files_one_erasure_request_per_subject_for_manual_notify_and_held_systems() {
    let sink = SmtpSink::start();
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(dir.path(), &sink);
    let gallra = Gallra::new(&scenario.config);
    let customers = scenario.db("panel").count("customers", None);

    let plan = gallra.run(&["plan", "--json"]).expect_code(0).json();
    let by: Vec<(String, String)> = plan[0]["systems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let name = s["system"].as_str().unwrap().to_owned();
            (name, s["handled_by"].as_str().unwrap().to_owned())
        })
        .collect();
    assert!(by.contains(&("crm".into(), "run".into())), "{by:?}");
    assert!(
        by.contains(&("billing".into(), "request (legal hold)".into())),
        "{by:?}"
    );
    assert!(
        by.contains(&("binders".into(), "request (manual)".into())),
        "{by:?}"
    );
    assert!(
        by.contains(&("registry".into(), "request (notify)".into())),
        "{by:?}"
    );

    let run = gallra
        .run(&["run", "--once", "--json"])
        .expect_code(0)
        .json();
    let selected = run[0]["selected"].as_u64().unwrap();
    assert!(selected > 0, "the scenario purges someone: {run}");
    let reached: BTreeSet<&str> = run[0]["tasks"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        reached,
        BTreeSet::from(["crm", "panel"]),
        "the run's own tasks"
    );
    assert_eq!(
        scenario.db("panel").count("customers", None),
        customers - selected
    );

    // One request per purged subject, filed by the run, reaching exactly the other systems.
    let filed = requests(&gallra);
    assert_eq!(filed.len() as u64, selected);
    let run_id = run[0]["run"].as_i64().unwrap();
    for request in &filed {
        assert_eq!(
            request["filed_by"],
            format!("policy inactive-6-months, run {run_id}")
        );
        let view = show(&gallra, &request["id"]);
        let systems: BTreeSet<&str> = view["task_list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["system"].as_str().unwrap())
            .collect();
        assert_eq!(systems, BTreeSet::from(["billing", "binders", "registry"]));
        let binders = view["task_list"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["system"] == "binders")
            .unwrap();
        assert_eq!(binders["state"], "needs_person", "{view:#}");
        assert!(binders["instructions"].as_str().unwrap().contains("Shred"));
    }
    // The registry was told about every one of them, once.
    let notices = sink
        .wait_for(selected as usize, Duration::from_secs(20))
        .expect("a notice per purged subject");
    assert!(notices.iter().all(|m| m.to.iter().any(|t| t == REGISTRY)));

    // The next night files nothing again, and tells the registry nothing new.
    gallra.run(&["run", "--once", "--json"]).expect_code(0);
    assert_eq!(requests(&gallra).len() as u64, selected);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(sink.messages().len() as u64, selected);
}

#[test]
fn a_record_retention_policy_still_refuses_a_system_without_a_connector() {
    let sink = SmtpSink::start();
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(dir.path(), &sink);
    scenario.edit_config(|config| {
        config["policies"].as_table_mut().unwrap().insert(
            "binder-pages".into(),
            toml::Value::Table(toml::toml! {
                kind = "record_retention"
                system = "binders"
                records = "pages"
                after = "2 years"
            }),
        );
    });
    let refused = Gallra::new(&scenario.config).run(&["check"]).expect_code(2);
    assert!(
        refused.stderr.contains("policies.binder-pages.system")
            && refused.stderr.contains("a person (manual)"),
        "{}",
        refused.stderr
    );
}
