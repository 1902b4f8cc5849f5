//! Test server for the whmcs connector (owned by the whmcs helper).
