//! Test server for the zendesk connector (owned by the zendesk helper).
