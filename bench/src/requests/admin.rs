//! The daemon under test and its admin API, as a control panel reaches it: `gallra run`
//! serving `[api] listen` on loopback TCP with a bearer token, and a plain HTTP/1.1 client
//! (one connection per call, `Connection: close`), so that nothing but gallra is timed.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;

use crate::config;
use crate::measure;

/// The token the harness presents.
const TOKEN: &str = "gallra-bench-requests-0123456789abcdef";

/// A running `gallra run`, stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Daemon {
    child: Child,
    pub api: Api,
    log: PathBuf,
}

/// Where the admin API answers.
#[derive(Clone)]
pub struct Api {
    addr: String,
}

impl Daemon {
    /// Writes the `[api]` section and its token file into `dir`, appends it to `config`,
    /// starts `gallra run` on it and waits for `/v1/health`.
    pub fn start(gallra: &Path, dir: &Path, config: &str) -> Result<Daemon> {
        let tokens = dir.join("api.tokens");
        config::secret(&tokens, TOKEN)?;
        let addr = free_loopback_port()?;
        let path = dir.join("gallra.toml");
        std::fs::write(&path, format!("{config}{}", config::api(&addr, &tokens)))?;
        let log = dir.join("gallra.log");
        let child = Command::new(gallra)
            .args(["run", "--config"])
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log)?)
            .spawn()
            .context("starting gallra run")?;
        let mut daemon = Daemon {
            child,
            api: Api { addr },
            log,
        };
        let started = Instant::now();
        loop {
            if let Ok((200, _)) = daemon.api.call("GET", "/v1/health", None) {
                return Ok(daemon);
            }
            if let Some(status) = daemon.child.try_wait()? {
                bail!("gallra run exited ({status}): {}", daemon.log_tail());
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!(
                    "the admin API did not answer within 30 s: {}",
                    daemon.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9`, as when its host dies: it gives nothing up (leases, leadership).
    pub fn kill(mut self) -> Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    /// Its resident set size now, in MiB.
    pub fn rss_mib(&self) -> Result<f64> {
        Ok(measure::vm_rss_kib(self.child.id())? as f64 / 1024.0)
    }

    /// What it logged, all of it.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// SIGTERM, and its exit awaited: it must stop cleanly.
    pub fn stop(mut self) -> Result<()> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if let Some(status) = self.child.try_wait()? {
                ensure!(
                    status.success(),
                    "gallra run exited with {status} after SIGTERM: {}",
                    self.log_tail()
                );
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("gallra run did not stop within 30 s of SIGTERM")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Api {
    /// Submits a request for the customer with `email`; returns its number.
    pub fn submit(&self, kind: &str, email: &str) -> Result<i64> {
        let body = serde_json::json!({"kind": kind, "identifiers": {"email": email}});
        let (status, answer) = self.call("POST", "/v1/requests", Some(&body.to_string()))?;
        ensure!(
            status == 201,
            "POST /v1/requests answered {status}: {answer}"
        );
        json(&answer)?["id"]
            .as_i64()
            .context("POST /v1/requests answered no request id")
    }

    /// `GET /v1/requests/{id}`.
    pub fn show(&self, id: i64) -> Result<Value> {
        let (status, answer) = self.call("GET", &format!("/v1/requests/{id}"), None)?;
        ensure!(
            status == 200,
            "GET /v1/requests/{id} answered {status}: {answer}"
        );
        json(&answer)
    }

    /// `GET /v1/requests?open=true`: the requests not yet done (failed ones included).
    pub fn open(&self) -> Result<Vec<Value>> {
        let (status, answer) = self.call("GET", "/v1/requests?open=true&limit=1000", None)?;
        ensure!(
            status == 200,
            "GET /v1/requests?open=true answered {status}: {answer}"
        );
        match json(&answer)? {
            Value::Array(items) => Ok(items),
            other => bail!("GET /v1/requests?open=true answered no list: {other}"),
        }
    }

    /// One HTTP/1.1 exchange on a new connection: the status and the body.
    pub fn call(&self, method: &str, path: &str, body: Option<&str>) -> Result<(u16, String)> {
        let mut stream = TcpStream::connect(&self.addr)
            .with_context(|| format!("connecting to the admin API at {}", self.addr))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(120)))?;
        let body = body.unwrap_or("");
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {TOKEN}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        stream.write_all(request.as_bytes())?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        parse_response(&raw).with_context(|| format!("{method} {path}"))
    }
}

/// Status and body of an HTTP/1.1 response read to its end (`Connection: close`), chunked
/// or not.
fn parse_response(raw: &[u8]) -> Result<(u16, String)> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .context("an HTTP answer without a blank line after its head")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("an HTTP answer without a status")?;
    let chunked = head.lines().any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    if !chunked {
        return Ok((status, body.to_owned()));
    }
    let (mut rest, mut out) = (body, String::new());
    loop {
        let (size, after) = rest.split_once("\r\n").context("a chunk without a size")?;
        let size = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
            .context("a chunk size that is no hex number")?;
        if size == 0 {
            return Ok((status, out));
        }
        let chunk = after.get(..size).context("a chunk cut short")?;
        out.push_str(chunk);
        rest = after[size..].trim_start_matches("\r\n");
    }
}

fn json(text: &str) -> Result<Value> {
    serde_json::from_str(text).with_context(|| format!("the admin API answered no JSON: {text}"))
}

/// A loopback address nobody listens on (the kernel's pick, released for gallra to bind).
fn free_loopback_port() -> Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.to_string())
}

#[cfg(test)]
mod tests {
    use super::parse_response;

    #[test]
    fn reads_plain_and_chunked_answers() {
        let plain = b"HTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(parse_response(plain).unwrap(), (201, "{}".to_owned()));
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n[1,\r\n2\r\n2]\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked).unwrap(), (200, "[1,2]".to_owned()));
    }
}
