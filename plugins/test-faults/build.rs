//! The SQL connector's rlib exports its own `gallra_plugin_abi` and `gallra_plugin_entry_v1`
//! (its `export_connector!`), and so does this crate. The linker is told to keep the first
//! definition, which is this crate's own object code (it precedes every rlib on the line),
//! so the library gallra loads is the fault-injecting wrapper and not the plain connector.
// Test binaries of this crate link both as well.
fn main() {
    println!("cargo:rustc-link-arg=-Wl,--allow-multiple-definition");
}
