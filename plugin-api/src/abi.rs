//! The C ABI between gallra and a plugin library. Plugin authors never touch this module:
//! [`crate::export_connector!`] writes their side of it.
//!
//! The rules that keep it sound across two separately compiled Rust binaries:
//! - only C types cross: pointers with lengths, integers, `extern "C"` function pointers;
//! - messages are JSON in byte buffers; a buffer is freed by the side that allocated it
//!   (the plugin's replies by the plugin's [`PluginVTable::free`]);
//! - the host first calls the unversioned [`ABI_SYMBOL`] and refuses a plugin whose answer is
//!   not [`ABI_VERSION`], then resolves the entry symbol that carries the version in its name
//!   and checks the table's `abi_version` and `struct_size` before calling anything in it;
//! - no panic unwinds out of a plugin function: each body runs inside `catch_unwind`;
//! - libraries are never unloaded (thread-locals and `dlclose` do not mix).

use std::ffi::c_void;

/// The ABI version this crate speaks. Bump it for any change to the types in this module or
/// to the JSON messages that is not backwards compatible, and rename [`ENTRY_SYMBOL`] with it.
///
/// A new call with its own [`crate::Capability`] is backwards compatible and needs no bump
/// (`restore` was added so): the host sends it only to a plugin that declares the
/// capability, which a plugin built before the call existed cannot, so every older plugin
/// keeps working unchanged. The other way round does not hold: an older host reads a newer
/// plugin's `describe` with a capability it does not know as an error, so upgrade gallra
/// with its plugins.
pub const ABI_VERSION: u32 = 1;

/// Unversioned symbol, stable forever: `extern "C" fn() -> u32` giving the plugin's ABI version.
pub const ABI_SYMBOL: &[u8] = b"gallra_plugin_abi\0";

/// The versioned entry symbol: `extern "C" fn() -> *const PluginVTable`.
pub const ENTRY_SYMBOL: &[u8] = b"gallra_plugin_entry_v1\0";

/// Status code: the out buffer holds a JSON result.
pub const STATUS_OK: i32 = 0;
/// Status code: the plugin panicked; the out buffer holds a JSON `ConnectorError`.
pub const STATUS_PANIC: i32 = 1;

/// A borrowed byte slice, owned by the caller for the duration of the call.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Bytes {
    /// Start of the bytes; may be dangling when `len` is 0.
    pub ptr: *const u8,
    /// Number of bytes.
    pub len: usize,
}

impl Bytes {
    /// Borrows a slice for a call.
    pub fn from_slice(slice: &[u8]) -> Self {
        Self {
            ptr: slice.as_ptr(),
            len: slice.len(),
        }
    }

    /// Views the bytes again.
    ///
    /// # Safety
    /// `ptr` must point at `len` readable bytes that outlive the returned slice.
    pub unsafe fn as_slice<'a>(self) -> &'a [u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: the caller guarantees ptr/len describe live memory.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

/// A byte buffer allocated by the plugin; the host must hand it back to
/// [`PluginVTable::free`] and never free it itself.
#[repr(C)]
pub struct OwnedBytes {
    /// Start of the allocation; null for an empty buffer.
    pub ptr: *mut u8,
    /// Bytes in use.
    pub len: usize,
    /// Allocated capacity, needed to free it.
    pub cap: usize,
}

impl OwnedBytes {
    /// An empty buffer, for the host to pass as an out parameter.
    pub const fn empty() -> Self {
        Self {
            ptr: std::ptr::null_mut(),
            len: 0,
            cap: 0,
        }
    }
}

/// What the host offers a plugin: a struct that can grow at its end, checked by `struct_size`.
#[repr(C)]
pub struct HostApi {
    /// `size_of::<HostApi>()` as the host compiled it.
    pub struct_size: u32,
    /// Forwards one log line to the host's `tracing`: level (1 error … 5 trace), target, message.
    pub log: extern "C" fn(level: u32, target: Bytes, message: Bytes),
}

/// Checks settings without touching the system; `out` gets `Result<(), ConnectorError>`.
pub type ValidateFn = unsafe extern "C" fn(settings: Bytes, out: *mut OwnedBytes) -> i32;
/// Opens an instance; on success `*handle` is set. `out` gets `Result<(), ConnectorError>`.
pub type OpenFn = unsafe extern "C" fn(
    settings: Bytes,
    context: Bytes,
    host: *const HostApi,
    handle: *mut *mut c_void,
    out: *mut OwnedBytes,
) -> i32;
/// Runs one `Call` on an instance; `out` gets a `CallResult`.
pub type CallFn =
    unsafe extern "C" fn(handle: *mut c_void, call: Bytes, out: *mut OwnedBytes) -> i32;
/// Drops an instance.
pub type CloseFn = unsafe extern "C" fn(handle: *mut c_void);
/// Frees a buffer the plugin allocated.
pub type FreeFn = unsafe extern "C" fn(buffer: OwnedBytes);

/// The table a plugin's entry symbol returns. Fields are only ever appended.
#[repr(C)]
pub struct PluginVTable {
    /// Must equal the host's [`ABI_VERSION`].
    pub abi_version: u32,
    /// `size_of::<PluginVTable>()` as the plugin compiled it; at least the host's.
    pub struct_size: u32,
    /// See [`ValidateFn`].
    pub validate: ValidateFn,
    /// See [`OpenFn`].
    pub open: OpenFn,
    /// See [`CallFn`].
    pub call: CallFn,
    /// See [`CloseFn`].
    pub close: CloseFn,
    /// See [`FreeFn`].
    pub free: FreeFn,
}
