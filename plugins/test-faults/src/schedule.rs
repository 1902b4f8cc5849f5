//! Which fault, if any, a call meets: a pure function of the schedule's seed and step, the
//! call's operation and arguments, and how often this process has seen that same call.
//!
//! The choice never depends on which thread runs first: two calls with different arguments
//! draw from different streams, and a repeated call (a retry) draws its next number. So a
//! scenario replays exactly from its seed, whatever gallra's concurrency.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Deserialize;

/// One way to misbehave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// A transient error, as a client timeout gives.
    Timeout,
    /// A transient error, as an HTTP 503 gives.
    #[serde(rename = "5xx")]
    ServerError,
    /// A panic inside the connector (the ABI must turn it into an error).
    Panic,
    /// Sleeps `hang_ms` before answering (longer than gallra's `call_timeout`).
    Hang,
    /// Scan: a page with no subjects that claims to be the last, with no total.
    EmptyPage,
    /// Scan: half the page, with a cursor that continues after it (a legal short page).
    ShortPage,
    /// Scan: half the page, claiming to be the last.
    TruncatedPage,
    /// Scan and status: activity times read as 1970-01-01T00:00:00Z.
    Ts1970,
    /// Scan and status: activity times read as 9999-12-30 (the last day jiff holds in UTC).
    Ts9999,
    /// Any call: the first identifier column is renamed in the table (the query names a
    /// column that is not there).
    SchemaDrift,
    /// Erase and anonymize: the change is made, then the connection drops before the
    /// answer (a transient error after the commit).
    PartialErase,
    /// Erase and anonymize: claims the subject was erased without touching anything.
    LyingErase,
    /// Erase and anonymize: nothing is removed now; the answer is `InProgress` with a resume
    /// token, and only a call handed that token back removes the subject (as a system whose
    /// deletion job can be followed only by its id).
    Deferred,
}

impl Fault {
    /// The name used in the schedule and the fault log.
    pub fn name(self) -> &'static str {
        match self {
            Fault::Timeout => "timeout",
            Fault::ServerError => "5xx",
            Fault::Panic => "panic",
            Fault::Hang => "hang",
            Fault::EmptyPage => "empty_page",
            Fault::ShortPage => "short_page",
            Fault::TruncatedPage => "truncated_page",
            Fault::Ts1970 => "ts1970",
            Fault::Ts9999 => "ts9999",
            Fault::SchemaDrift => "schema_drift",
            Fault::PartialErase => "partial_erase",
            Fault::LyingErase => "lying_erase",
            Fault::Deferred => "deferred",
        }
    }

    /// Whether the fault means anything for `operation`.
    pub fn applies_to(self, operation: &str) -> bool {
        let erasing = matches!(operation, "erase" | "anonymize");
        match self {
            Fault::Timeout | Fault::ServerError | Fault::Panic | Fault::Hang => {
                operation != "describe" && operation != "health"
            }
            Fault::SchemaDrift => matches!(
                operation,
                "scan" | "lookup" | "status" | "erase" | "anonymize" | "export"
            ),
            Fault::EmptyPage | Fault::ShortPage | Fault::TruncatedPage => operation == "scan",
            Fault::Ts1970 | Fault::Ts9999 => matches!(operation, "scan" | "status"),
            Fault::PartialErase | Fault::LyingErase | Fault::Deferred => erasing,
        }
    }
}

/// The fault schedule, inline in the settings or in a JSON file re-read on every call.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// The scenario's seed.
    #[serde(default)]
    pub seed: u64,
    /// Which step of the scenario this is; each step draws other faults.
    #[serde(default)]
    pub step: u64,
    /// The share of calls that meet a fault, 0 to 1.
    #[serde(default)]
    pub rate: f64,
    /// The faults to draw from (each call draws among those that apply to it).
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// How long a `hang` sleeps, in milliseconds. Default 3000.
    pub hang_ms: Option<u64>,
    /// Only these operations meet faults (default: all).
    pub operations: Option<Vec<String>>,
    /// A file to append one line per injected fault to: `SYSTEM OPERATION FAULT`.
    pub log_file: Option<PathBuf>,
}

impl Schedule {
    /// Reads a schedule file; a missing file means a calm run (no faults).
    pub fn read(path: &Path) -> Result<Schedule, String> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| format!("fault schedule {}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Schedule::default()),
            Err(e) => Err(format!("fault schedule {}: {e}", path.display())),
        }
    }

    /// How long a hang lasts.
    pub fn hang(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.hang_ms.unwrap_or(3000))
    }
}

/// Draws faults for one connector instance, counting repeated calls.
#[derive(Default)]
pub struct Dice {
    seen: Mutex<HashMap<u64, u64>>,
}

/// A drawn fault and the number it was drawn with (for choices inside the fault).
#[derive(Debug, Clone, Copy)]
pub struct Draw {
    /// The fault.
    pub fault: Fault,
    /// Further random bits.
    pub bits: u64,
}

impl Dice {
    /// The fault (if any) the call with `operation` and `arguments` meets under `schedule`.
    pub fn draw(&self, schedule: &Schedule, operation: &str, arguments: &[u8]) -> Option<Draw> {
        if schedule.rate <= 0.0 || schedule.faults.is_empty() {
            return None;
        }
        if let Some(only) = &schedule.operations {
            if !only.iter().any(|o| o == operation) {
                return None;
            }
        }
        let key = fnv1a(operation.as_bytes(), fnv1a(arguments, FNV_OFFSET));
        let attempt = {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            let n = seen.entry(key).or_insert(0);
            *n += 1;
            *n
        };
        let r = mix(mix(mix(schedule.seed ^ key) ^ schedule.step) ^ attempt);
        let roll = (r % 1_000_000) as f64 / 1_000_000.0;
        if roll >= schedule.rate {
            return None;
        }
        let applicable: Vec<Fault> = schedule
            .faults
            .iter()
            .copied()
            .filter(|f| f.applies_to(operation))
            .collect();
        if applicable.is_empty() {
            return None;
        }
        let bits = mix(r);
        let fault = applicable[(bits % applicable.len() as u64) as usize];
        Some(Draw {
            fault,
            bits: mix(bits),
        })
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv1a(bytes: &[u8], mut hash: u64) -> u64 {
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// SplitMix64's finalizer: spreads every input bit over the output.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(rate: f64) -> Schedule {
        Schedule {
            seed: 7,
            rate,
            faults: vec![Fault::Timeout, Fault::EmptyPage, Fault::LyingErase],
            ..Schedule::default()
        }
    }

    #[test]
    fn the_same_calls_meet_the_same_faults_and_a_retry_draws_again() {
        let draws = |dice: &Dice| {
            (0..200)
                .map(|i| {
                    dice.draw(&schedule(0.5), "erase", format!("{}", i % 50).as_bytes())
                        .map(|d| d.fault)
                })
                .collect::<Vec<_>>()
        };
        let first = draws(&Dice::default());
        assert_eq!(first, draws(&Dice::default()));
        assert!(first.contains(&None) && first.contains(&Some(Fault::LyingErase)));
        // Retries of one call (the same arguments) do not all meet the same fault.
        let retries: Vec<_> = (0..20)
            .map(|_| first_of(&Dice::default(), "x"))
            .collect::<Vec<_>>();
        assert!(retries.windows(2).all(|w| w[0] == w[1]));
        let dice = Dice::default();
        let repeated: Vec<_> = (0..20).map(|_| first_of(&dice, "x")).collect();
        assert!(repeated.iter().any(|d| d.is_some()) && repeated.iter().any(|d| d.is_none()));
    }

    fn first_of(dice: &Dice, arguments: &str) -> Option<Fault> {
        dice.draw(&schedule(0.5), "erase", arguments.as_bytes())
            .map(|d| d.fault)
    }

    #[test]
    fn only_faults_that_apply_are_drawn_and_rate_zero_draws_none() {
        let dice = Dice::default();
        for i in 0..500 {
            let args = i.to_string();
            if let Some(d) = dice.draw(&schedule(1.0), "status", args.as_bytes()) {
                assert_eq!(d.fault, Fault::Timeout);
            }
            assert!(dice.draw(&schedule(0.0), "scan", args.as_bytes()).is_none());
        }
        let rate = (0..2000)
            .filter(|i| {
                dice.draw(&schedule(0.2), "scan", i.to_string().as_bytes())
                    .is_some()
            })
            .count();
        assert!((300..500).contains(&rate), "about 20% of 2000: {rate}");
    }
}
