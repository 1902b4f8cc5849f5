//! Running a command and reading what the kernel counted for it: wall time from spawn to
//! exit, and peak resident set size from `wait4`'s rusage (the figure `/usr/bin/time -v`
//! prints as "Maximum resident set size").
//!
//! This is the harness's one `unsafe` module: std's `Child::wait` discards the rusage, and
//! only `wait4` returns it.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// What one run of a command came to.
#[derive(Debug)]
pub struct Measured {
    pub wall: Duration,
    /// Peak resident set size, in KiB.
    pub max_rss_kib: u64,
    pub stdout: String,
    #[allow(dead_code)]
    pub stderr: String,
}

impl Measured {
    pub fn secs(&self) -> f64 {
        self.wall.as_secs_f64()
    }

    pub fn rss_mib(&self) -> f64 {
        self.max_rss_kib as f64 / 1024.0
    }
}

/// Runs `command` to its end; fails if it exits other than with `expect_code`.
pub fn run(command: &mut Command, expect_code: i32) -> Result<Measured> {
    let shown = format!("{command:?}");
    let started = Instant::now();
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {shown}"))?;
    let mut stderr_pipe = child.stderr.take().expect("piped");
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr_pipe.read_to_string(&mut text);
        text
    });
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_string(&mut stdout)?;
    let (code, max_rss_kib) = wait4(child.id())?;
    let wall = started.elapsed();
    let stderr = stderr_reader.join().unwrap_or_default();
    if code != expect_code {
        let tail: String = stderr
            .lines()
            .rev()
            .take(15)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n");
        bail!("{shown} exited with {code}, not {expect_code}:\n{tail}");
    }
    Ok(Measured {
        wall,
        max_rss_kib,
        stdout,
        stderr,
    })
}

/// Waits for the child `pid` and returns its exit code (128 + signal if killed) and peak
/// RSS in KiB.
pub fn wait4(pid: u32) -> Result<(i32, u64)> {
    let pid = libc::pid_t::try_from(pid)?;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data, for which all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: both pointers are to live, writable locals of the types wait4 expects, and
        // `pid` is our own child, not yet reaped (std reaps only in `wait`, which we never
        // call on it).
        let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if reaped == pid {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error).context("wait4");
        }
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        128 + libc::WTERMSIG(status)
    };
    // Linux reports ru_maxrss in KiB.
    Ok((code, u64::try_from(usage.ru_maxrss).unwrap_or(0)))
}

/// The resident set size of the running process `pid` now (VmRSS), in KiB.
pub fn vm_rss_kib(pid: u32) -> Result<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .context("no VmRSS")
}
