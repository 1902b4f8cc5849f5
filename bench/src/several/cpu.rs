//! Where the cores went during a timed phase, from what the kernel counts in `/proc`: the
//! machine's busy time, each daemon's, PostgreSQL's (every process named `postgres`) and the
//! harness's own (it serves the test APIs). The evidence of what binds on a small machine.

use anyhow::{Context, Result};

/// `/proc` counts in clock ticks of 1/100 s (`USER_HZ`, 100 on every Linux architecture
/// the harness runs on).
const TICKS_PER_SEC: f64 = 100.0;

/// CPU time counted so far, in ticks.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// The machine: busy ticks (all but idle and iowait) and all ticks, over every core.
    machine_busy: u64,
    machine_all: u64,
    daemons: Vec<u64>,
    postgres: u64,
    harness: u64,
}

/// CPU seconds spent between two samples, and the machine's load in cores.
#[derive(Debug, Clone, Default)]
pub struct Spent {
    /// Cores busy on average (2.0: both cores all the time).
    pub cores_busy: f64,
    pub daemons: Vec<f64>,
    pub postgres: f64,
    pub harness: f64,
}

impl Sample {
    pub fn now(daemons: &[u32]) -> Result<Sample> {
        let (machine_busy, machine_all) = machine()?;
        Ok(Sample {
            machine_busy,
            machine_all,
            daemons: daemons
                .iter()
                .map(|&pid| process(&pid.to_string()))
                .collect::<Result<_>>()?,
            postgres: postgres(),
            harness: process("self")?,
        })
    }

    /// What was spent from `self` to `later` (the same daemons, or the first of them).
    pub fn until(&self, later: &Sample) -> Spent {
        let secs = |ticks: u64| ticks as f64 / TICKS_PER_SEC;
        let all = later.machine_all.saturating_sub(self.machine_all).max(1) as f64;
        let busy = later.machine_busy.saturating_sub(self.machine_busy) as f64;
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        Spent {
            cores_busy: busy / all * cores,
            daemons: (self.daemons.iter().zip(&later.daemons))
                .map(|(a, b)| secs(b.saturating_sub(*a)))
                .collect(),
            postgres: secs(later.postgres.saturating_sub(self.postgres)),
            harness: secs(later.harness.saturating_sub(self.harness)),
        }
    }
}

/// The first line of `/proc/stat`: busy and total ticks of every core.
fn machine() -> Result<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let ticks: Vec<u64> = (stat.lines().next().unwrap_or(""))
        .split_whitespace()
        .skip(1)
        .filter_map(|t| t.parse().ok())
        .collect();
    let all: u64 = ticks.iter().sum();
    // user nice system idle iowait irq softirq steal …
    let idle = ticks.get(3).copied().unwrap_or(0) + ticks.get(4).copied().unwrap_or(0);
    Ok((all - idle, all))
}

/// utime + stime of `/proc/<pid>/stat`.
fn process(pid: &str) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("reading /proc/{pid}/stat"))?;
    // The command name may hold spaces; the fields after it are plain.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<u64> = after
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // Fields 14 and 15 of the line, 11 and 12 after the state.
    Ok(fields.get(10).copied().unwrap_or(0) + fields.get(11).copied().unwrap_or(0))
}

/// Every PostgreSQL process's CPU time (those that ended in between are missed: the server's
/// backends of the daemons live as long as their connections).
fn postgres() -> u64 {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return 0;
    };
    procs
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|pid| pid.bytes().all(|b| b.is_ascii_digit()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .filter_map(|pid| process(&pid).ok())
        .sum()
}
