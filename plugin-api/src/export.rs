//! The plugin's side of the ABI, instantiated for one connector type by
//! [`crate::export_connector!`]. Not for direct use.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::abi::{Bytes, HostApi, OwnedBytes, PluginVTable, ABI_VERSION, STATUS_OK, STATUS_PANIC};
use crate::connector::{dispatch, parse_settings, Connector};
use crate::error::ConnectorError;
use crate::messages::{Call, OpenContext};
use crate::open::open_connector;

/// The vtable for connector `C`.
pub const fn vtable<C: Connector>() -> PluginVTable {
    PluginVTable {
        abi_version: ABI_VERSION,
        struct_size: std::mem::size_of::<PluginVTable>() as u32,
        validate: validate::<C>,
        open: open::<C>,
        call: call::<C>,
        close: close::<C>,
        free: free_buffer,
    }
}

/// Runs `body` and writes its JSON result to `out`; a panic becomes a permanent error. The
/// panic's own message is not passed on: it may contain personal data.
fn guarded<T: serde::Serialize>(
    operation: &str,
    out: *mut OwnedBytes,
    body: impl FnOnce() -> Result<T, ConnectorError>,
) -> i32 {
    let (status, result) = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(result) => (STATUS_OK, result),
        Err(_) => (
            STATUS_PANIC,
            Err(ConnectorError::permanent(format!(
                "the connector panicked during {operation} (a bug in the plugin; see its stderr)"
            ))),
        ),
    };
    let json = serde_json::to_vec(&result).unwrap_or_else(|_| {
        br#"{"Err":{"kind":"permanent","message":"the connector could not encode its reply"}}"#
            .to_vec()
    });
    write_out(out, json);
    status
}

fn write_out(out: *mut OwnedBytes, bytes: Vec<u8>) {
    let mut bytes = std::mem::ManuallyDrop::new(bytes);
    let buffer = OwnedBytes {
        ptr: bytes.as_mut_ptr(),
        len: bytes.len(),
        cap: bytes.capacity(),
    };
    if !out.is_null() {
        // SAFETY: the host passes a valid, writable OwnedBytes; we overwrite it without
        // reading, so no previous buffer is dropped here.
        unsafe { out.write(buffer) };
    }
}

unsafe extern "C" fn validate<C: Connector>(settings: Bytes, out: *mut OwnedBytes) -> i32 {
    guarded("validate", out, || {
        // SAFETY: the host keeps `settings` alive for this call.
        let settings = parse_settings::<C::Settings>(unsafe { settings.as_slice() })?;
        C::validate(&settings)
    })
}

unsafe extern "C" fn open<C: Connector>(
    settings: Bytes,
    context: Bytes,
    host: *const HostApi,
    handle: *mut *mut c_void,
    out: *mut OwnedBytes,
) -> i32 {
    guarded("open", out, || {
        // SAFETY: the host keeps `host` alive for the process (it is a static on its side).
        if let Some(host) = unsafe { host.as_ref() } {
            crate::log::forward_to_host(host);
        }
        // SAFETY: the host keeps both buffers alive for this call.
        let (settings, context) = unsafe { (settings.as_slice(), context.as_slice()) };
        let context: OpenContext = serde_json::from_slice(context)
            .map_err(|e| ConnectorError::permanent(format!("bad open context from host: {e}")))?;
        let instance = Box::new(open_connector::<C>(settings, context)?);
        // SAFETY: `handle` is a valid out pointer from the host.
        unsafe { handle.write(Box::into_raw(instance).cast()) };
        Ok(())
    })
}

unsafe extern "C" fn call<C: Connector>(
    handle: *mut c_void,
    call: Bytes,
    out: *mut OwnedBytes,
) -> i32 {
    let mut operation = "call";
    // SAFETY: the host keeps `call` alive for this call.
    let request = unsafe { call.as_slice() };
    let parsed: Result<Call, _> = serde_json::from_slice(request);
    if let Ok(c) = &parsed {
        operation = c.operation();
    }
    guarded(operation, out, || {
        let call =
            parsed.map_err(|e| ConnectorError::permanent(format!("bad call from host: {e}")))?;
        // SAFETY: `handle` came from `open::<C>` and the host never uses it after `close`.
        let connector = unsafe { &*handle.cast::<C>() };
        dispatch(connector, call)
    })
}

unsafe extern "C" fn close<C: Connector>(handle: *mut c_void) {
    if handle.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: `handle` came from `Box::into_raw` in `open::<C>` and is closed once.
        drop(unsafe { Box::from_raw(handle.cast::<C>()) });
    }));
}

unsafe extern "C" fn free_buffer(buffer: OwnedBytes) {
    if buffer.ptr.is_null() {
        return;
    }
    // SAFETY: the buffer came from `write_out` in this library, with this ptr/len/cap.
    drop(unsafe { Vec::from_raw_parts(buffer.ptr, buffer.len, buffer.cap) });
}

/// Exports a [`Connector`] as a gallra plugin. Call it once, in the crate root of a `cdylib`:
///
/// ```text
/// gallra_plugin_api::export_connector!(MyConnector);
/// ```
#[macro_export]
macro_rules! export_connector {
    ($connector:ty) => {
        /// The plugin's ABI version, asked before anything else.
        #[no_mangle]
        pub extern "C" fn gallra_plugin_abi() -> u32 {
            $crate::abi::ABI_VERSION
        }

        /// The plugin's entry: its function table.
        #[no_mangle]
        pub extern "C" fn gallra_plugin_entry_v1() -> *const $crate::abi::PluginVTable {
            static VTABLE: $crate::abi::PluginVTable = $crate::__private::vtable::<$connector>();
            &VTABLE
        }
    };
}
