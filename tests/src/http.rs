//! Talking to a running daemon as its users do: the admin API over its Unix socket, the
//! metrics over TCP on a port the kernel found free.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use serde_json::Value;

/// A TCP port on 127.0.0.1 that was free a moment ago (for a listener the daemon opens).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 request over the admin API's socket; returns the status and the JSON body.
pub fn http(socket: &Path, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
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

/// `GET /metrics` over a plain TCP connection; panics unless the answer is 200.
pub fn scrape(port: u16) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET /metrics HTTP/1.1\r\nHost: gallra\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response
}

/// The value of one sample line of a scrape, 0 if absent.
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series).map(|v| v.trim().parse().unwrap()))
        .unwrap_or(0.0)
}
