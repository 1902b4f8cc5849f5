//! Test server for the mailchimp connector (owned by the mailchimp helper).
