//! gallra's benchmark harness; see BENCHMARKS.md.

fn main() {}
