//! Test server for the rest connector (owned by the rest helper).
