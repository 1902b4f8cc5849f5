//! Carries a plugin's `tracing` events to the host.
//!
//! A plugin library has its own copy of `tracing` with its own global dispatcher, so events it
//! emits would otherwise go nowhere. On the first `open`, the plugin installs a small
//! subscriber that formats each event and hands it to the host's log callback. Plugin authors
//! just use `tracing::info!` and friends — and, like the host, never log personal data.

use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record};
use tracing_core::{Event, Level, Metadata, Subscriber};

use crate::abi::{Bytes, HostApi};

/// Installs the forwarder once per plugin library; later calls do nothing.
pub(crate) fn forward_to_host(host: &HostApi) {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    if host.struct_size < std::mem::size_of::<HostApi>() as u32 {
        return;
    }
    let log = host.log;
    INSTALLED.get_or_init(|| {
        let subscriber = HostForwarder {
            log,
            next_span: AtomicU64::new(1),
        };
        // Fails only if the plugin already set one itself; then it keeps its own.
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

/// Level numbers on the wire: 1 error, 2 warn, 3 info, 4 debug, 5 trace.
pub fn level_number(level: &Level) -> u32 {
    match *level {
        Level::ERROR => 1,
        Level::WARN => 2,
        Level::INFO => 3,
        Level::DEBUG => 4,
        Level::TRACE => 5,
    }
}

struct HostForwarder {
    log: extern "C" fn(u32, Bytes, Bytes),
    next_span: AtomicU64,
}

impl Subscriber for HostForwarder {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        *metadata.level() <= Level::DEBUG
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed))
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut line = Line::default();
        event.record(&mut line);
        let metadata = event.metadata();
        (self.log)(
            level_number(metadata.level()),
            Bytes::from_slice(metadata.target().as_bytes()),
            Bytes::from_slice(line.finish().as_bytes()),
        );
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}

/// `message key=value key=value`.
#[derive(Default)]
struct Line {
    message: String,
    fields: String,
}

impl Line {
    fn finish(mut self) -> String {
        if !self.fields.is_empty() {
            self.message.push_str(&self.fields);
        }
        self.message
    }
}

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }
}
