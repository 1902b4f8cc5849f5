//! Figures: printed as they are measured, and written into BENCHMARKS.md as one section per
//! workload between `<!-- BEGIN name -->` and `<!-- END name -->`. Everything outside those
//! markers (the notes on why a target is missed and what would close it) is kept as written.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use crate::stats::Summary;

/// One measured figure, with what it is held against.
#[derive(Debug, Clone)]
pub struct Figure {
    pub label: String,
    pub unit: &'static str,
    pub value: Summary,
    /// The target as an absolute bound: the figure should be at most this.
    pub target: Option<f64>,
    /// The physical limit measured beside it, in the same unit.
    pub floor: Option<Floor>,
}

/// What a figure is compared with, and how far above it it may be.
#[derive(Debug, Clone)]
pub struct Floor {
    pub what: String,
    pub value: Summary,
    /// The target as a multiple of the floor (e.g. 2.0 for "≤ 2× the floor").
    pub max_ratio: Option<f64>,
}

impl Figure {
    pub fn new(label: impl Into<String>, unit: &'static str, runs: &[f64]) -> Figure {
        Figure {
            label: label.into(),
            unit,
            value: Summary::of(runs),
            target: None,
            floor: None,
        }
    }

    pub fn target(mut self, at_most: f64) -> Figure {
        self.target = Some(at_most);
        self
    }

    pub fn floor(
        mut self,
        what: impl Into<String>,
        runs: &[f64],
        max_ratio: Option<f64>,
    ) -> Figure {
        self.floor = Some(Floor {
            what: what.into(),
            value: Summary::of(runs),
            max_ratio,
        });
        self
    }

    /// Median over floor median.
    pub fn ratio_to_floor(&self) -> Option<f64> {
        self.floor
            .as_ref()
            .map(|f| self.value.median / f.value.median)
    }

    /// Whether the median meets every target given; `None` if there is none.
    pub fn met(&self) -> Option<bool> {
        let absolute = self.target.map(|t| self.value.median <= t);
        let relative = self
            .floor
            .as_ref()
            .and_then(|f| f.max_ratio.map(|r| self.value.median <= r * f.value.median));
        match (absolute, relative) {
            (None, None) => None,
            (a, r) => Some(a.unwrap_or(true) && r.unwrap_or(true)),
        }
    }

    fn target_text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(t) = self.target {
            parts.push(format!("≤ {} {}", num(t), self.unit));
        }
        if let Some(r) = self.floor.as_ref().and_then(|f| f.max_ratio) {
            parts.push(format!("≤ {}× floor", num(r)));
        }
        if parts.is_empty() {
            "—".to_owned()
        } else {
            parts.join(", ")
        }
    }

    /// One line for the terminal.
    pub fn print(&self) {
        let v = &self.value;
        let mut line = format!(
            "  {:<44} {:>9} {:<4} (min {}, max {}; {} runs)",
            self.label,
            num(v.median),
            self.unit,
            num(v.min),
            num(v.max),
            v.runs
        );
        if let Some(f) = &self.floor {
            let _ = write!(
                line,
                "  floor {} {} ({}) → {}×",
                num(f.value.median),
                self.unit,
                f.what,
                num(self.ratio_to_floor().unwrap_or(0.0))
            );
        }
        if let Some(t) = self.target {
            let _ = write!(
                line,
                "  target ≤ {} {} → {}×",
                num(t),
                self.unit,
                num(v.median / t)
            );
        }
        match self.met() {
            Some(true) => line.push_str("  MET"),
            Some(false) => line.push_str("  MISSED"),
            None => {}
        }
        println!("{line}");
    }
}

/// A readable number: three significant digits, no exponent.
pub fn num(x: f64) -> String {
    let a = x.abs();
    if a == 0.0 {
        "0".to_owned()
    } else if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else if a >= 0.1 {
        format!("{x:.3}")
    } else {
        format!("{x:.4}")
    }
}

/// One workload's section of BENCHMARKS.md.
pub struct Section {
    pub key: &'static str,
    pub title: String,
    pub command: String,
    pub date: String,
    pub machine: String,
    /// What was measured and how, in a sentence or two.
    pub method: String,
    pub figures: Vec<Figure>,
    /// Set instead of figures when the workload could not be measured.
    pub not_measured: Option<String>,
}

impl Section {
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "## {}\n", self.title);
        let _ = writeln!(s, "Measured {} on {}.  ", self.date, self.machine);
        let _ = writeln!(s, "Command: `{}`\n", self.command);
        let _ = writeln!(s, "{}\n", self.method);
        if let Some(why) = &self.not_measured {
            let _ = writeln!(s, "**Not measured:** {why}");
            return s;
        }
        let _ = writeln!(
            s,
            "| figure | min | median | max | runs | floor (median) | ratio to floor | target | met |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---|---:|---|---|");
        for f in &self.figures {
            let v = &f.value;
            let (floor, ratio) = match &f.floor {
                Some(fl) => (
                    format!("{} {} ({})", num(fl.value.median), f.unit, fl.what),
                    format!("{}×", num(f.ratio_to_floor().unwrap_or(0.0))),
                ),
                None => ("—".to_owned(), "—".to_owned()),
            };
            let met = match f.met() {
                Some(true) => "yes",
                Some(false) => "**no**",
                None => "—",
            };
            let _ = writeln!(
                s,
                "| {} | {} {u} | {} {u} | {} {u} | {} | {} | {} | {} | {} |",
                f.label,
                num(v.min),
                num(v.median),
                num(v.max),
                v.runs,
                floor,
                ratio,
                f.target_text(),
                met,
                u = f.unit
            );
        }
        s
    }
}

/// Replaces (or appends) the sections in `path`, keeping everything else.
pub fn write_sections(path: &Path, sections: &[Section]) -> Result<()> {
    let mut text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::from(HEADER),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    for section in sections {
        let begin = format!("<!-- BEGIN {} -->", section.key);
        let end = format!("<!-- END {} -->", section.key);
        let body = format!("{begin}\n{}{end}", section.markdown());
        match (text.find(&begin), text.find(&end)) {
            (Some(b), Some(e)) if e > b => text.replace_range(b..e + end.len(), &body),
            _ => {
                if !text.ends_with("\n\n") {
                    text.push('\n');
                }
                text.push_str(&body);
                text.push('\n');
            }
        }
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

const HEADER: &str = "# Benchmarks\n\n";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rewritten_section_keeps_the_notes_around_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("B.md");
        std::fs::write(
            &path,
            "# B\n\nintro\n<!-- BEGIN plan -->\nold\n<!-- END plan -->\nnote kept\n",
        )
        .unwrap();
        let section = Section {
            key: "plan",
            title: "Plan".into(),
            command: "c".into(),
            date: "d".into(),
            machine: "m".into(),
            method: "how".into(),
            figures: vec![Figure::new("t", "s", &[1.0, 2.0, 3.0]).target(3.0)],
            not_measured: None,
        };
        write_sections(&path, &[section]).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# B\n\nintro\n<!-- BEGIN plan -->\n## Plan"));
        assert!(text.ends_with("<!-- END plan -->\nnote kept\n"));
        assert!(!text.contains("old"));
        assert!(text.contains("| t | 1.00 s | 2.00 s | 3.00 s | 3 |"));
    }
}
