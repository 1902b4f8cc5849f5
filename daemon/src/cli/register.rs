//! `gallra register`: the record of processing activities from the configuration.

use std::io::Write;
use std::path::Path;

use clap::ValueEnum;

use super::setup::{load, FAILED, OK};
use crate::register;

/// How the register is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A Markdown document with one table.
    Markdown,
    /// CSV (RFC 4180) with a header line.
    Csv,
}

/// Prints (or writes to `output`) the register of the configuration at `path`.
pub fn register(path: &Path, format: Format, output: Option<&Path>) -> u8 {
    let config = match load(path) {
        Ok(config) => config,
        Err(status) => return status,
    };
    let rows = register::rows(&config);
    let text = match format {
        Format::Markdown => {
            let date = crate::clock::now_in(&config.time_zone).date().to_string();
            register::markdown(&rows, &path.display().to_string(), &date)
        }
        Format::Csv => register::csv(&rows),
    };
    let written = match output {
        Some(file) => std::fs::write(file, &text).map_err(|e| (file.display().to_string(), e)),
        None => std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .map_err(|e| ("standard output".to_owned(), e)),
    };
    match written {
        Ok(()) => OK,
        // A closed pipe (`| head`) is the reader's choice.
        Err((_, e)) if e.kind() == std::io::ErrorKind::BrokenPipe => OK,
        Err((to, e)) => {
            eprintln!("gallra register: cannot write {to}: {e}");
            FAILED
        }
    }
}
