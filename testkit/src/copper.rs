//! Test server for the copper connector (owned by the copper helper).
