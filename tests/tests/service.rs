//! `gallra run` as a service: requests submitted over the admin API's Unix socket are carried
//! through by the running daemon, and SIGTERM stops it cleanly.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

use gallra::demo::Category;
use gallra_e2e::{Backend, Daemon, Scenario};
use serde_json::Value;

/// One HTTP/1.1 request over the socket; returns the status and the JSON body.
fn http(socket: &Path, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let mut stream = UnixStream::connect(socket).unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: gallra\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let json = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or("");
    // The body may be chunked; take the JSON between the first '{' or '[' and the last '}' or ']'.
    let start = json.find(['{', '[']).unwrap_or(0);
    let end = json.rfind(['}', ']']).map_or(json.len(), |i| i + 1);
    (
        status,
        serde_json::from_str(&json[start..end]).unwrap_or(Value::Null),
    )
}

fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_running_service_takes_requests_over_its_socket_and_stops_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::build(Backend::Sqlite, dir.path(), 9, 40);
    let socket = dir.path().join("api.sock");
    scenario.edit_config(|config| {
        config.remove("policies");
        config.insert(
            "api".into(),
            toml::Value::Table(toml::toml! { socket = "api.sock" }),
        );
    });
    let mut daemon = Daemon::start(&scenario.config);
    wait_until("the socket", || socket.exists());
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&socket).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o660);

    let customer = scenario
        .data
        .in_category(Category::InactiveClean)
        .next()
        .unwrap();
    let body = serde_json::json!({ "kind": "erase", "identifiers": { "email": customer.email() } });
    let (status, created) = http(&socket, "POST", "/v1/requests", Some(&body));
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();

    // The daemon carries it through by itself.
    wait_until("the request to finish", || {
        let (_, view) = http(&socket, "GET", &format!("/v1/requests/{id}"), None);
        view["state"] == "done"
    });
    assert_eq!(
        scenario
            .db("panel")
            .count("customers", Some(&format!("id = {}", customer.panel_id()))),
        0
    );

    // Bad input is a 4xx with a machine-readable error, never a 500.
    let (status, error) = http(
        &socket,
        "POST",
        "/v1/requests",
        Some(&serde_json::json!({ "kind": "erase" })),
    );
    assert!((400..500).contains(&status), "{status} {error}");
    assert!(error["error"]["code"].is_string(), "{error}");

    // SIGTERM: exit 0, socket removed.
    daemon.signal("TERM");
    let status = daemon.wait(Duration::from_secs(10));
    assert!(status.success(), "exit status {status:?}");
    assert!(!socket.exists(), "the socket was left behind");
}
