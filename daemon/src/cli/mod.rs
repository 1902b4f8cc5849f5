//! cli (placeholder)

/// Entry point of the `gallra` binary.
pub fn main() -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
