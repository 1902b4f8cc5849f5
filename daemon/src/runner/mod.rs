//! runner (placeholder)
