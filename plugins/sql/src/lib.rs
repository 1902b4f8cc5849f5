//! SQL connector (placeholder).
