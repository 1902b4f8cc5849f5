//! A plugin built wrong on purpose: it claims plugin ABI version 999. gallra must refuse to
//! load it with an error that names both versions, before calling anything else in it.
//! It is hand-written rather than made with `export_connector!`, which always exports the
//! right version.

/// The ABI version this fake plugin claims.
#[no_mangle]
pub extern "C" fn gallra_plugin_abi() -> u32 {
    999
}

/// A v999 entry symbol; gallra must never call it.
#[no_mangle]
pub extern "C" fn gallra_plugin_entry_v999() -> *const u8 {
    panic!("a gallra host for another ABI version called this entry")
}
