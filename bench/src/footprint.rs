//! Workload 4, footprint: placeholder until written.

use anyhow::{bail, Result};

use crate::report::Section;
use crate::Harness;

pub fn run(_h: &Harness) -> Result<Section> {
    bail!("not written yet")
}
