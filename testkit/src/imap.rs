//! Test server for the imap connector (owned by the imap helper).
