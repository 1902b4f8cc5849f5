//! What the harness (`src/main.rs`) and the criterion benchmarks (`benches/`) share.

pub mod boundary;
