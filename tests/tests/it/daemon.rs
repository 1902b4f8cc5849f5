//! `gallra run` as a daemon: policies on their schedules, SIGHUP reloads (a broken config is
//! refused and the running one stays), SIGTERM stops cleanly.

use std::time::{Duration, Instant};

use gallra_e2e::http::{free_port, metric, scrape};
use gallra_e2e::wait::wait_until;
use gallra_e2e::{Backend, Daemon, Gallra, Scenario};
use serde_json::Value;

fn runs_of(gallra: &Gallra, policy: &str) -> Vec<Value> {
    let runs = gallra
        .run(&["runs", "--json", "--policy", policy])
        .expect_code(0)
        .json();
    runs.as_array().unwrap().clone()
}

#[test]
fn policies_run_on_schedule_reload_on_sighup_and_stop_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::build(Backend::Sqlite, dir.path(), 4, 30);
    scenario.edit_config(|config| {
        let policy = config["policies"]["inactive-6-months"]
            .as_table_mut()
            .unwrap();
        policy.insert("mode".into(), "report".into());
        policy.insert("schedule".into(), "*/2 * * * * *".into());
    });
    let metrics_port = free_port();
    scenario.edit_config(|config| {
        let listen = format!("127.0.0.1:{metrics_port}");
        config.insert(
            "metrics".into(),
            toml::Value::Table(toml::toml! { listen = listen }),
        );
    });
    // The CLI reads a copy: the daemon's own file is broken on purpose below.
    let query = dir.path().join("query.toml");
    std::fs::copy(&scenario.config, &query).unwrap();
    let gallra = Gallra::new(&query);
    let before = scenario.snapshot();
    let mut daemon = Daemon::start(&scenario.config);

    // Runs come every 2 seconds, each recorded under its own slot.
    wait_until("three scheduled runs", Duration::from_secs(60), || {
        runs_of(&gallra, "inactive-6-months").len() >= 3
    });
    let runs = runs_of(&gallra, "inactive-6-months");
    assert!(runs.iter().all(|r| r["state"] == "reported"), "{runs:#?}");

    // /metrics counts what the store recorded (a run is counted just after its record is
    // committed), and holds no personal data.
    let runs_total = "gallra_policy_runs_total{policy=\"inactive-6-months\",outcome=\"reported\"}";
    let mut text = String::new();
    wait_until(
        "the metrics to count three runs",
        Duration::from_secs(30),
        || {
            text = scrape(metrics_port);
            metric(&text, runs_total) >= 3.0
        },
    );
    let recorded = runs_of(&gallra, "inactive-6-months").len() as f64;
    let counted = metric(&text, runs_total);
    assert!(
        counted >= 3.0 && counted <= recorded,
        "counted {counted}, recorded {recorded}"
    );
    let scans = metric(
        &text,
        "gallra_connector_calls_total{system=\"panel\",operation=\"scan\",outcome=\"ok\"}",
    );
    assert!(
        scans >= counted,
        "every run scans the account source: {scans} scans, {counted} runs"
    );
    assert_eq!(metric(&text, "gallra_up"), 1.0);
    for customer in scenario.data.customers() {
        assert!(
            !text
                .to_lowercase()
                .contains(&customer.email().to_lowercase()),
            "an email in /metrics"
        );
        assert!(
            !text.contains(customer.personnummer()),
            "a personnummer in /metrics"
        );
    }

    // SIGHUP with a broken config: refused, the daemon keeps running the old one.
    let good = std::fs::read_to_string(&scenario.config).unwrap();
    std::fs::write(
        &scenario.config,
        good.replace("idle_for = \"6 months\"", "idle_for = \"soon\""),
    )
    .unwrap();
    daemon.signal("HUP");
    let count = runs_of(&gallra, "inactive-6-months").len();
    wait_until(
        "runs to go on after a refused reload",
        Duration::from_secs(60),
        || runs_of(&gallra, "inactive-6-months").len() >= count + 2,
    );
    assert!(daemon.running(), "a broken config stopped the daemon");

    // SIGHUP with a fixed config that adds a policy: the new policy takes effect.
    let extra = "\n[policies.second]\nkind = \"inactivity\"\nmode = \"report\"\nidle_for = \"1 year\"\nschedule = \"*/2 * * * * *\"\n";
    std::fs::write(&scenario.config, format!("{good}{extra}")).unwrap();
    daemon.signal("HUP");
    wait_until("the new policy to run", Duration::from_secs(60), || {
        !runs_of(&gallra, "second").is_empty()
    });

    // SIGTERM: exit 0 within the systemd stop timeout; nothing deleted in report mode.
    daemon.signal("TERM");
    let status = daemon.wait(Duration::from_secs(30));
    assert!(status.success(), "{status:?}");
    assert_eq!(scenario.snapshot(), before, "report mode deleted data");
    let slots: Vec<String> = runs_of(&gallra, "inactive-6-months")
        .iter()
        .map(|r| r["started_at"].as_str().unwrap().to_owned())
        .collect();
    let unique: std::collections::BTreeSet<&String> = slots.iter().collect();
    assert_eq!(unique.len(), slots.len(), "a slot ran twice");
}

/// Reads datagrams from a fake systemd notify socket until one contains `want`.
fn expect_notification(
    socket: &std::os::unix::net::UnixDatagram,
    want: &str,
    limit: Duration,
) -> String {
    socket.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 4096];
    let start = Instant::now();
    loop {
        assert!(
            start.elapsed() < limit,
            "no {want} from gallra within {limit:?}"
        );
        if let Ok(n) = socket.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            if text.lines().any(|l| l == want) {
                return text;
            }
        }
    }
}

#[test]
fn systemd_hears_ready_watchdog_pings_and_stopping() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::build(Backend::Sqlite, dir.path(), 4, 20);
    let notify_path = dir.path().join("notify.sock");
    let notify = std::os::unix::net::UnixDatagram::bind(&notify_path).unwrap();
    let socket = notify_path.to_str().unwrap().to_owned();
    let mut daemon = Daemon::start_with_env(
        &scenario.config,
        &[
            ("NOTIFY_SOCKET", socket.as_str()),
            ("WATCHDOG_USEC", "1500000"),
        ],
    );

    let ready = expect_notification(&notify, "READY=1", Duration::from_secs(60));
    assert!(ready.contains("STATUS=running"), "{ready}");
    expect_notification(&notify, "WATCHDOG=1", Duration::from_secs(5));
    // Well past the 1.5 s period the pings go on: the service loop keeps turning.
    std::thread::sleep(Duration::from_secs(4));
    let drained = notify.set_nonblocking(true).map(|()| {
        let mut buf = [0u8; 4096];
        while notify.recv(&mut buf).is_ok() {}
    });
    drained.unwrap();
    notify.set_nonblocking(false).unwrap();
    expect_notification(&notify, "WATCHDOG=1", Duration::from_secs(3));
    daemon.signal("TERM");
    expect_notification(&notify, "STOPPING=1", Duration::from_secs(10));
    assert!(daemon.wait(Duration::from_secs(30)).success());
}

/// With no policy on a schedule the scheduler has nothing to start, but it still ticks, so
/// `GallraSchedulerStalled` (time() - last tick > 5 min) does not fire on an idle daemon; and
/// `gallra_plugin_loaded` names each system's plugin.
#[test]
fn a_daemon_with_nothing_scheduled_still_shows_its_scheduler_alive_and_its_plugins_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::build(Backend::Sqlite, dir.path(), 2, 30);
    let port = free_port();
    scenario.edit_config(|config| {
        for (_, policy) in config["policies"].as_table_mut().unwrap().iter_mut() {
            policy.as_table_mut().unwrap().remove("schedule");
        }
        let listen = format!("127.0.0.1:{port}");
        config.insert(
            "metrics".into(),
            toml::Value::Table(toml::toml! { listen = listen }),
        );
    });
    let _daemon = Daemon::start(&scenario.config);
    let tick = "gallra_scheduler_last_tick_timestamp_seconds";
    wait_until("metrics to answer", Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    wait_until("a scheduler tick", Duration::from_secs(30), || {
        metric(&scrape(port), tick) > 1.0e9
    });
    // Each system's plugin is declared loaded (the dashboard's "Loaded plugins" panel).
    let text = scrape(port);
    for system in ["panel", "billing", "crm"] {
        let series = format!("gallra_plugin_loaded{{system=\"{system}\",plugin=\"sql\"");
        assert!(
            text.lines()
                .any(|l| l.starts_with(&series) && l.ends_with(" 1")),
            "no {series}…}} 1 in:\n{text}"
        );
    }
}

/// A listener that cannot be bound (its port is taken) stops the service before it tells
/// systemd it is ready, with an error naming the address: systemd never hears READY=1 from a
/// service that cannot serve.
#[test]
fn a_port_that_is_taken_stops_the_service_before_it_says_ready() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::build(Backend::Sqlite, dir.path(), 2, 30);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    scenario.edit_config(|config| {
        let listen = addr.clone();
        config.insert(
            "metrics".into(),
            toml::Value::Table(toml::toml! { listen = listen }),
        );
    });
    let notify_path = dir.path().join("notify.sock");
    let notify = std::os::unix::net::UnixDatagram::bind(&notify_path).unwrap();
    let socket = notify_path.to_str().unwrap().to_owned();
    let out = Gallra::new(&scenario.config).run_with_env(&["run"], &[("NOTIFY_SOCKET", &socket)]);
    assert_ne!(out.code, Some(0), "{}", out.stderr);
    assert!(
        out.stderr.contains(&addr),
        "the error names the address:\n{}",
        out.stderr
    );
    notify.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 4096];
    while let Ok(n) = notify.recv(&mut buf) {
        let said = String::from_utf8_lossy(&buf[..n]).into_owned();
        assert!(
            !said.lines().any(|l| l == "READY=1"),
            "READY=1 before failing: {said}"
        );
    }
}
