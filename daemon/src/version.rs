//! What gallra is: its version, the source revision it was built from and the plugin ABI it
//! speaks, as `gallra --version` and `gallra_build_info` say them.

use std::sync::LazyLock;

/// The crate's version, e.g. `0.1.0`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The source revision (a git commit, or what the packager set in `GALLRA_REVISION`), or
/// `unknown`.
pub const REVISION: &str = env!("GALLRA_REVISION");

/// The plugin ABI version, as text.
pub static ABI: LazyLock<String> =
    LazyLock::new(|| gallra_plugin_api::abi::ABI_VERSION.to_string());

/// `0.1.0 (revision 1a2b3c4d5e6f, plugin ABI 1)`.
pub static LONG: LazyLock<String> =
    LazyLock::new(|| format!("{VERSION} (revision {REVISION}, plugin ABI {})", *ABI));

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_names_the_revision_and_the_plugin_abi() {
        assert!(LONG.starts_with(VERSION), "{}", *LONG);
        assert!(LONG.contains(&format!(
            "plugin ABI {}",
            gallra_plugin_api::abi::ABI_VERSION
        )));
        assert!(!REVISION.is_empty(), "a revision, or `unknown`");
        assert!(LONG.contains(&format!("revision {REVISION}")), "{}", *LONG);
    }
}
