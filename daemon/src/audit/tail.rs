//! Reading and repairing the end of a log file: where its chain ends, and cutting away a
//! line a crash left unfinished.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::entry::{sha256_hex, Entry, GENESIS_PREV};
use super::AuditError;

/// Creates an empty log file (0600) and makes its name durable.
pub(super) fn create_file(path: &Path, dir: &Path) -> Result<File, AuditError> {
    let file = OpenOptions::new()
        .read(true)
        .append(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| AuditError::Io {
            path: path.to_owned(),
            action: "create",
            source,
        })?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| AuditError::Io {
            path: dir.to_owned(),
            action: "sync",
            source,
        })?;
    Ok(file)
}

/// Removes an unfinished last line (no newline) from the file being continued. Returns the
/// size left.
pub(super) fn cut_torn_line(file: &mut File, path: &Path) -> Result<u64, AuditError> {
    let io_error = |action| {
        move |source| AuditError::Io {
            path: path.to_owned(),
            action,
            source,
        }
    };
    let len = file.metadata().map_err(io_error("stat"))?.len();
    let complete = complete_len(file, len).map_err(io_error("read"))?;
    if complete < len {
        file.set_len(complete)
            .and_then(|()| file.sync_data())
            .map_err(io_error("cut the unfinished last line of"))?;
        tracing::warn!(
            path = %path.display(),
            bytes = len - complete,
            "removed an unfinished last line of the audit log, left by a write that was cut short; it was never reported as written"
        );
    }
    Ok(complete)
}

/// The seq and line hash of the last entry in a file of `len` complete bytes, or `None` for
/// an empty file.
pub(super) fn chain_end(
    file: &mut File,
    len: u64,
    path: &Path,
) -> Result<Option<(u64, String)>, AuditError> {
    let line = last_line(file, len).map_err(|source| AuditError::Io {
        path: path.to_owned(),
        action: "read",
        source,
    })?;
    let Some(line) = line else {
        return Ok(None);
    };
    match serde_json::from_slice::<Entry>(&line) {
        Ok(entry) => Ok(Some((entry.seq, sha256_hex(&line)))),
        Err(e) => Err(AuditError::Damaged {
            path: path.to_owned(),
            problem: format!(
                "its last line is not an audit entry ({:?} error at column {})",
                e.classify(),
                e.column()
            ),
        }),
    }
}

/// Where the chain ends when the newest file is empty: the last line of the newest file
/// before it that has one, or the start of the chain.
pub(super) fn earlier_chain_end(files: &[(u64, PathBuf)]) -> Result<(u64, String), AuditError> {
    for (_, path) in files.iter().rev() {
        let io_error = |action| {
            move |source| AuditError::Io {
                path: path.clone(),
                action,
                source,
            }
        };
        let mut file = File::open(path).map_err(io_error("open"))?;
        let len = file.metadata().map_err(io_error("stat"))?.len();
        if complete_len(&mut file, len).map_err(io_error("read"))? < len {
            return Err(AuditError::Damaged {
                path: path.clone(),
                problem: "its last line has no newline, in a file gallra had finished".into(),
            });
        }
        if let Some(end) = chain_end(&mut file, len, path)? {
            return Ok(end);
        }
    }
    Ok((0, GENESIS_PREV.to_owned()))
}

const CHUNK: u64 = 64 * 1024;

/// Reads backwards from `end` until `done` finds what it needs in the bytes read so far
/// (which start at the returned offset), or the start of the file is reached.
fn read_back(
    file: &mut File,
    end: u64,
    done: impl Fn(&[u8]) -> bool,
) -> io::Result<(Vec<u8>, u64)> {
    let mut buf = Vec::new();
    let mut start = end;
    while start > 0 && !done(&buf) {
        let from = start.saturating_sub(CHUNK);
        let mut chunk = vec![0; usize::try_from(start - from).unwrap_or(0)];
        file.seek(SeekFrom::Start(from))?;
        file.read_exact(&mut chunk)?;
        chunk.extend_from_slice(&buf);
        buf = chunk;
        start = from;
    }
    Ok((buf, start))
}

/// Length of the file up to and including its last newline.
fn complete_len(file: &mut File, len: u64) -> io::Result<u64> {
    let (buf, start) = read_back(file, len, |buf| buf.contains(&b'\n'))?;
    Ok(match buf.iter().rposition(|&b| b == b'\n') {
        Some(i) => start + i as u64 + 1,
        None => 0,
    })
}

/// The last line of the first `len` bytes (which end in a newline, or are empty), without
/// its newline.
fn last_line(file: &mut File, len: u64) -> io::Result<Option<Vec<u8>>> {
    if len == 0 {
        return Ok(None);
    }
    // The line starts after the newline before the final one.
    let (buf, _) = read_back(file, len, |buf| {
        buf.len() > 1 && buf[..buf.len() - 1].contains(&b'\n')
    })?;
    let body = &buf[..buf.len().saturating_sub(1)];
    let begin = body.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    Ok(Some(body[begin..].to_vec()))
}
