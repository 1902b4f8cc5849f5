//! Target `plugin_messages`: bytes as they cross the plugin ABI, in both directions.
//!
//! - What the host decodes from a plugin: a `CallResult` (every call) and a
//!   `Result<(), ConnectorError>` (validate, open), exactly the types the host's loader reads.
//! - What a plugin decodes from the host: a `Call`, an `OpenContext` and its settings — here
//!   through the real exported function table of a small connector, as a loaded plugin
//!   would run them: `open` with the bytes as settings, then `call` with the bytes as the
//!   request, the reply freed by the plugin's own `free`.
//!
//! Whatever decodes must encode to JSON that decodes to the same value: the host and a plugin
//! are two programs, and one must read back exactly what the other wrote (identifiers are
//! normalized on the way in, so this also checks normalizing is idempotent).

use std::ffi::c_void;

use gallra_plugin_api::abi::{Bytes, OwnedBytes, PluginVTable};
use gallra_plugin_api::{
    Call, CallResult, Capability, Connector, ConnectorError, Description, EraseOutcome,
    ExpireRequest, ExpireResult, ExportResult, LookupResult, OpenContext, RecordRef, ScanPage,
    ScanRequest, Subject, SubjectFacts,
};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// Feeds `data` to every decoder on both sides of the ABI; panics only on a bug.
pub fn feed(data: &[u8]) {
    round_trip::<CallResult>(data);
    round_trip::<Result<(), ConnectorError>>(data);
    round_trip::<Call>(data);
    round_trip::<OpenContext>(data);
    through_the_abi(data);
}

/// Decodes `data` as `T`; if it is one, checks that its encoding decodes to the same value.
fn round_trip<T>(data: &[u8])
where
    T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let Ok(value) = serde_json::from_slice::<T>(data) else {
        return;
    };
    let encoded = serde_json::to_vec(&value).expect("a decoded message encodes");
    let again: T = serde_json::from_slice(&encoded).expect("an encoded message decodes");
    assert_eq!(again, value, "a message changed on its way back");
}

/// The function table `export_connector!` would export for [`Echo`].
static VTABLE: PluginVTable = gallra_plugin_api::__private::vtable::<Echo>();

/// Opens an instance with `data` as its settings (or `{}` when those are refused), sends
/// `data` as a call, and checks the reply is a well-formed `CallResult`.
fn through_the_abi(data: &[u8]) {
    let handle = match open(data) {
        Ok(handle) => handle,
        Err(_) => open(b"{}").expect("empty settings open"),
    };
    let result = call(handle, data).expect("the plugin's reply decodes");
    if serde_json::from_slice::<Call>(data).is_err() {
        assert!(result.is_err(), "a call that does not decode was answered");
    }
    // SAFETY: `handle` came from this table's `open` and is closed once.
    unsafe { (VTABLE.close)(handle) };
}

/// `open` through the table; the handle, or the connector's error.
fn open(settings: &[u8]) -> Result<*mut c_void, ConnectorError> {
    let context = br#"{"system":"fuzz","time_zone":"UTC"}"#;
    let mut handle: *mut c_void = std::ptr::null_mut();
    let mut out = OwnedBytes::empty();
    // SAFETY: every buffer lives through the call; a null host API is allowed.
    unsafe {
        (VTABLE.open)(
            Bytes::from_slice(settings),
            Bytes::from_slice(context),
            std::ptr::null(),
            &mut handle,
            &mut out,
        )
    };
    take::<Result<(), ConnectorError>>(out).expect("open's reply decodes")?;
    assert!(!handle.is_null(), "open succeeded without an instance");
    Ok(handle)
}

/// `call` through the table.
fn call(handle: *mut c_void, request: &[u8]) -> Result<CallResult, serde_json::Error> {
    let mut out = OwnedBytes::empty();
    // SAFETY: `handle` is open; `request` and `out` live through the call.
    unsafe { (VTABLE.call)(handle, Bytes::from_slice(request), &mut out) };
    take(out)
}

/// Decodes a reply buffer as the host does, then hands it back to the plugin to free.
fn take<T: DeserializeOwned>(out: OwnedBytes) -> Result<T, serde_json::Error> {
    assert!(!out.ptr.is_null(), "the plugin wrote no reply");
    // SAFETY: the plugin wrote `len` initialized bytes at `ptr`.
    let bytes = unsafe { std::slice::from_raw_parts(out.ptr, out.len) };
    let decoded = serde_json::from_slice(bytes);
    // SAFETY: the buffer came from this table and is freed once, by it.
    unsafe { (VTABLE.free)(out) };
    decoded
}

/// Settings a connector might take: closed, so unknown keys are refused.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    /// A page size, checked by `validate`.
    page_size: Option<u32>,
}

/// A connector that answers every operation from what it was asked.
struct Echo;

impl Connector for Echo {
    type Settings = Settings;

    fn validate(settings: &Settings) -> Result<(), ConnectorError> {
        match settings.page_size {
            Some(0) | Some(1001..) => {
                Err(ConnectorError::config("page_size", "expected 1 to 1000"))
            }
            _ => Ok(()),
        }
    }

    fn open(_settings: Settings, _context: OpenContext) -> Result<Self, ConnectorError> {
        Ok(Echo)
    }

    fn describe(&self) -> Description {
        Description {
            name: "echo".into(),
            version: "0".into(),
            capabilities: vec![Capability::Scan, Capability::Lookup, Capability::Erase],
            identifier_kinds: vec![],
            record_kinds: vec!["signups".into()],
            activity_bearing: false,
        }
    }

    fn scan(&self, request: ScanRequest) -> Result<ScanPage, ConnectorError> {
        Ok(ScanPage {
            subjects: vec![],
            next_cursor: None,
            total: Some(u64::from(request.limit)),
        })
    }

    fn lookup(&self, subject: &Subject) -> Result<LookupResult, ConnectorError> {
        let records = subject
            .identifiers
            .iter()
            .map(|id| RecordRef {
                collection: id.kind().to_string(),
                key: id.value(),
            })
            .collect();
        Ok(LookupResult { records })
    }

    fn export(&self, _subject: &Subject) -> Result<ExportResult, ConnectorError> {
        Ok(ExportResult::default())
    }

    fn erase(&self, subject: &Subject) -> Result<EraseOutcome, ConnectorError> {
        Ok(EraseOutcome::Erased {
            records: subject.identifiers.len() as u64,
        })
    }

    fn status(&self, _subject: &Subject) -> Result<SubjectFacts, ConnectorError> {
        Ok(SubjectFacts::default())
    }

    fn expire(&self, request: &ExpireRequest) -> Result<ExpireResult, ConnectorError> {
        let matched = u64::from(!request.kind.is_empty());
        let removed = if request.dry_run { 0 } else { matched };
        Ok(ExpireResult { matched, removed })
    }
}
