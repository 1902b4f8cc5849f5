//! What the figures were measured on.

use std::process::Command;

use anyhow::{Context, Result};

/// e.g. "2 × Intel Xeon … (x86_64), 23.5 GiB RAM, Linux 6.1, rustc 1.95, gallra 1a2b3c4".
pub fn describe() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_kib: u64 = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    let kernel = output("uname", &["-r"]);
    let rustc = output("rustc", &["--version"]);
    let commit = output("git", &["rev-parse", "--short", "HEAD"]);
    format!(
        "{cores} × {model}, {:.1} GiB RAM, Linux {kernel}, {rustc}, gallra at commit {commit}",
        mem_kib as f64 / 1024.0 / 1024.0
    )
}

/// Today's date and time, UTC.
pub fn date() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%d %H:%M UTC")
        .to_string()
}

fn output(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|| "?".to_owned())
}

/// The 1-minute load average (/proc/loadavg): other work on the same cores.
pub fn load_average() -> Result<f64> {
    let text = std::fs::read_to_string("/proc/loadavg")?;
    text.split_whitespace()
        .next()
        .and_then(|first| first.parse().ok())
        .context("/proc/loadavg holds no load average")
}
