//! Test server for the epp connector (owned by the epp helper).
