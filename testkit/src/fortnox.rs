//! Test server for the fortnox connector (owned by the fortnox helper).
