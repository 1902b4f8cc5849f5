//! The host's side of the ABI: load a plugin library, check its ABI, open instances and call
//! them. The gallra daemon and the conformance suite use this (feature `host`).

use std::ffi::c_void;
use std::path::{Path, PathBuf};

use crate::abi::{
    Bytes, HostApi, OwnedBytes, PluginVTable, ABI_SYMBOL, ABI_VERSION, ENTRY_SYMBOL, STATUS_OK,
};
use crate::error::ConnectorError;
use crate::messages::{
    BatchOp, Call, CallResult, Description, EraseOutcome, ExpireRequest, ExpireResult,
    ExportResult, LookupResult, OpenContext, Reply, RestoreOutcome, ScanPage, ScanRequest, Subject,
    SubjectFacts,
};

/// Why a plugin library could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be opened as a shared library.
    #[error("cannot load plugin {path}: {source}")]
    Open {
        /// The library's path.
        path: PathBuf,
        /// The loader's error.
        source: libloading::Error,
    },
    /// The library exports no `gallra_plugin_abi`: it is not a gallra plugin.
    #[error("{path} is not a gallra plugin (it exports no gallra_plugin_abi symbol; was it built with export_connector!?)")]
    NotAPlugin {
        /// The library's path.
        path: PathBuf,
    },
    /// The plugin was built for another ABI version.
    #[error("plugin {path} was built for plugin ABI version {plugin}, but this gallra speaks version {host}: rebuild the plugin against gallra-plugin-api {host}.x")]
    AbiMismatch {
        /// The library's path.
        path: PathBuf,
        /// The version the plugin reports.
        plugin: u32,
        /// The version this host speaks.
        host: u32,
    },
    /// The plugin's function table is missing or malformed.
    #[error("plugin {path} has a malformed entry table: {what}")]
    BadTable {
        /// The library's path.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
}

/// A loaded plugin library. Cheap to copy; the library stays loaded for the process's life.
#[derive(Clone, Copy)]
pub struct PluginLibrary {
    vtable: &'static PluginVTable,
}

/// The host callbacks, alive for the whole process as the ABI requires.
static HOST_API: HostApi = HostApi {
    struct_size: std::mem::size_of::<HostApi>() as u32,
    log: host_log,
};

extern "C" fn host_log(level: u32, target: Bytes, message: Bytes) {
    // SAFETY: the plugin passes buffers that live for the duration of this call.
    let (target, message) = unsafe { (target.as_slice(), message.as_slice()) };
    let target = String::from_utf8_lossy(target);
    let message = String::from_utf8_lossy(message);
    match level {
        1 => tracing::error!(target: "plugin", plugin_target = %target, "{message}"),
        2 => tracing::warn!(target: "plugin", plugin_target = %target, "{message}"),
        3 => tracing::info!(target: "plugin", plugin_target = %target, "{message}"),
        4 => tracing::debug!(target: "plugin", plugin_target = %target, "{message}"),
        _ => tracing::trace!(target: "plugin", plugin_target = %target, "{message}"),
    }
}

impl PluginLibrary {
    /// Loads the library at `path`, checks that it is a gallra plugin of this ABI version,
    /// and keeps it loaded for the rest of the process (plugins are never unloaded).
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        let path_buf = path.to_path_buf();
        // SAFETY: loading a library runs its initializers. gallra only loads from the
        // configured plugin directory, which the daemon checks is not writable by others.
        let library =
            unsafe { libloading::Library::new(path) }.map_err(|source| LoadError::Open {
                path: path_buf.clone(),
                source,
            })?;
        let library: &'static libloading::Library = Box::leak(Box::new(library));

        // SAFETY: `gallra_plugin_abi` has had this signature in every ABI version.
        let abi = unsafe { library.get::<extern "C" fn() -> u32>(ABI_SYMBOL) }.map_err(|_| {
            LoadError::NotAPlugin {
                path: path_buf.clone(),
            }
        })?;
        let plugin_version = abi();
        if plugin_version != ABI_VERSION {
            return Err(LoadError::AbiMismatch {
                path: path_buf,
                plugin: plugin_version,
                host: ABI_VERSION,
            });
        }
        // SAFETY: the ABI version matches, so the entry symbol has this signature.
        let entry = unsafe { library.get::<extern "C" fn() -> *const PluginVTable>(ENTRY_SYMBOL) }
            .map_err(|_| bad_table(path, "no entry symbol for this ABI version"))?;
        let table = entry();
        // SAFETY: a matching plugin returns a pointer to a static table, or null.
        let vtable: &'static PluginVTable =
            unsafe { table.as_ref() }.ok_or_else(|| bad_table(path, "entry returned null"))?;
        if vtable.abi_version != ABI_VERSION {
            return Err(LoadError::AbiMismatch {
                path: path_buf,
                plugin: vtable.abi_version,
                host: ABI_VERSION,
            });
        }
        if (vtable.struct_size as usize) < std::mem::size_of::<PluginVTable>() {
            return Err(bad_table(path, "table is smaller than this ABI version's"));
        }
        Ok(Self { vtable })
    }

    /// Checks settings (JSON) without touching the system.
    pub fn validate(&self, settings: &[u8]) -> Result<(), ConnectorError> {
        let mut out = OwnedBytes::empty();
        // SAFETY: `settings` lives through the call; `out` is a valid out pointer.
        unsafe { (self.vtable.validate)(Bytes::from_slice(settings), &mut out) };
        self.take_json::<Result<(), ConnectorError>>(out)?
    }

    /// Opens an instance with these settings (JSON).
    pub fn open(
        &self,
        settings: &[u8],
        context: &OpenContext,
    ) -> Result<PluginInstance, ConnectorError> {
        let context =
            serde_json::to_vec(context).map_err(|e| ConnectorError::permanent(e.to_string()))?;
        let mut handle: *mut c_void = std::ptr::null_mut();
        let mut out = OwnedBytes::empty();
        // SAFETY: every pointer is valid for the call; HOST_API is a static.
        unsafe {
            (self.vtable.open)(
                Bytes::from_slice(settings),
                Bytes::from_slice(&context),
                &HOST_API,
                &mut handle,
                &mut out,
            )
        };
        self.take_json::<Result<(), ConnectorError>>(out)??;
        if handle.is_null() {
            return Err(ConnectorError::permanent("the plugin opened no instance"));
        }
        Ok(PluginInstance {
            library: *self,
            handle,
        })
    }

    /// Decodes a buffer the plugin wrote, then gives it back to the plugin to free.
    fn take_json<T: serde::de::DeserializeOwned>(
        &self,
        out: OwnedBytes,
    ) -> Result<T, ConnectorError> {
        let decoded = if out.ptr.is_null() {
            Err(ConnectorError::permanent("the plugin wrote no reply"))
        } else {
            // SAFETY: the plugin wrote `len` initialized bytes at `ptr`.
            let bytes = unsafe { std::slice::from_raw_parts(out.ptr, out.len) };
            serde_json::from_slice(bytes).map_err(|e| {
                ConnectorError::permanent(format!("the plugin's reply is malformed: {e}"))
            })
        };
        // SAFETY: the buffer came from this plugin and is freed exactly once, by it.
        unsafe { (self.vtable.free)(out) };
        decoded
    }
}

fn bad_table(path: &Path, what: &str) -> LoadError {
    LoadError::BadTable {
        path: path.to_path_buf(),
        what: what.to_owned(),
    }
}

/// One open connector instance (one configured system).
pub struct PluginInstance {
    library: PluginLibrary,
    handle: *mut c_void,
}

// SAFETY: `Connector` requires `Send + Sync`, so the instance behind the handle may be used
// from any thread, concurrently; the handle itself is just an address.
unsafe impl Send for PluginInstance {}
// SAFETY: as above.
unsafe impl Sync for PluginInstance {}

impl Drop for PluginInstance {
    fn drop(&mut self) {
        // SAFETY: the handle came from this library's `open` and is closed once, here.
        unsafe { (self.library.vtable.close)(self.handle) };
    }
}

impl PluginInstance {
    /// Sends one call and returns the connector's answer. Blocks for as long as the
    /// connector does: the daemon runs this on its blocking pool with a timeout.
    pub fn call(&self, call: &Call) -> CallResult {
        let request =
            serde_json::to_vec(call).map_err(|e| ConnectorError::permanent(e.to_string()))?;
        let mut out = OwnedBytes::empty();
        // SAFETY: the handle is live until drop; request and out are valid for the call.
        let status = unsafe {
            (self.library.vtable.call)(self.handle, Bytes::from_slice(&request), &mut out)
        };
        let result = self.library.take_json::<CallResult>(out)?;
        if status != STATUS_OK {
            tracing::error!(
                operation = call.operation(),
                "a connector panicked; the call failed"
            );
        }
        result
    }

    /// `describe`.
    pub fn describe(&self) -> Result<Description, ConnectorError> {
        match self.call(&Call::Describe)? {
            Reply::Description(d) => Ok(d),
            other => Err(mismatch("describe", &other)),
        }
    }

    /// `scan`.
    pub fn scan(&self, request: ScanRequest) -> Result<ScanPage, ConnectorError> {
        match self.call(&Call::Scan(request))? {
            Reply::ScanPage(p) => Ok(p),
            other => Err(mismatch("scan", &other)),
        }
    }

    /// `lookup`.
    pub fn lookup(&self, subject: &Subject) -> Result<LookupResult, ConnectorError> {
        match self.call(&Call::Lookup(subject.clone()))? {
            Reply::Lookup(r) => Ok(r),
            other => Err(mismatch("lookup", &other)),
        }
    }

    /// `export`.
    pub fn export(&self, subject: &Subject) -> Result<ExportResult, ConnectorError> {
        match self.call(&Call::Export(subject.clone()))? {
            Reply::Export(r) => Ok(r),
            other => Err(mismatch("export", &other)),
        }
    }

    /// `erase`.
    pub fn erase(&self, subject: &Subject) -> Result<EraseOutcome, ConnectorError> {
        match self.call(&Call::Erase(subject.clone()))? {
            Reply::Erase(r) => Ok(r),
            other => Err(mismatch("erase", &other)),
        }
    }

    /// `anonymize`.
    pub fn anonymize(&self, subject: &Subject) -> Result<EraseOutcome, ConnectorError> {
        match self.call(&Call::Anonymize(subject.clone()))? {
            Reply::Erase(r) => Ok(r),
            other => Err(mismatch("anonymize", &other)),
        }
    }

    /// `restrict`.
    pub fn restrict(&self, subject: &Subject, restricted: bool) -> Result<(), ConnectorError> {
        let call = Call::Restrict {
            subject: subject.clone(),
            restricted,
        };
        match self.call(&call)? {
            Reply::Done => Ok(()),
            other => Err(mismatch("restrict", &other)),
        }
    }

    /// `status`.
    pub fn status(&self, subject: &Subject) -> Result<SubjectFacts, ConnectorError> {
        match self.call(&Call::Status(subject.clone()))? {
            Reply::Status(f) => Ok(f),
            other => Err(mismatch("status", &other)),
        }
    }

    /// `expire`.
    pub fn expire(&self, request: ExpireRequest) -> Result<ExpireResult, ConnectorError> {
        match self.call(&Call::Expire(request))? {
            Reply::Expire(r) => Ok(r),
            other => Err(mismatch("expire", &other)),
        }
    }

    /// `restore`: puts back the records of an export (see [`crate::Connector::restore`]).
    pub fn restore(&self, data: &ExportResult) -> Result<RestoreOutcome, ConnectorError> {
        match self.call(&Call::Restore(data.clone()))? {
            Reply::Restore(r) => Ok(r),
            other => Err(mismatch("restore", &other)),
        }
    }

    /// One operation for several subjects ([`Call::Many`]): each subject's own result, in
    /// order. Send it only to a plugin whose description lists [`crate::Capability::Batch`].
    pub fn many(&self, of: BatchOp, subjects: Vec<Subject>) -> Vec<CallResult> {
        let asked = subjects.len();
        let answer = match self.call(&Call::Many { of, subjects }) {
            Ok(Reply::Many(results)) if results.len() == asked => Ok(results),
            Ok(Reply::Many(results)) => Err(ConnectorError::permanent(format!(
                "the plugin answered {} results to a batch of {asked}",
                results.len()
            ))),
            Ok(other) => Err(mismatch(of.operation(), &other)),
            Err(error) => Err(error),
        };
        // A batch that failed as a whole fails each of its subjects with the same error.
        answer.unwrap_or_else(|error| vec![Err(error); asked])
    }

    /// `health`.
    pub fn health(&self) -> Result<(), ConnectorError> {
        match self.call(&Call::Health)? {
            Reply::Done => Ok(()),
            other => Err(mismatch("health", &other)),
        }
    }
}

fn mismatch(operation: &str, reply: &Reply) -> ConnectorError {
    let got = serde_json::to_value(reply)
        .ok()
        .and_then(|v| v.get("reply").and_then(|r| r.as_str()).map(str::to_owned))
        .unwrap_or_default();
    ConnectorError::permanent(format!(
        "the plugin answered {operation} with a {got} reply"
    ))
}
