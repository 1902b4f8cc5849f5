//! An activity time the SQL connector cannot read (`last_login = 'last Tuesday'`) must keep
//! the subject: it might have been the latest activity. Before the fix it was dropped from
//! the latest-of, and the customer's older columns made him look inactive, so he was
//! selected for deletion. The panel and billing are the demo's, behind the `test-faults`
//! connector (which wraps the sql connector); the test writes no fault schedule.

use gallra_e2e::faults::FaultScenario;

#[test]
fn an_unreadable_activity_time_never_counts_as_inactivity() {
    let dir = tempfile::tempdir().unwrap();
    let fs = FaultScenario::build(1, dir.path(), gallra_e2e::faults::Shape::standard());
    let customer = &fs.scenario.data.customers()[0];
    let (panel_id, billing_id) = (customer.panel_id(), customer.billing_id());
    // Only the last login could show recent activity, and it cannot be read.
    let old = "'2015-01-01 00:00:00'";
    fs.scenario.db("panel").execute(&[
        format!("UPDATE customers SET last_login = 'last Tuesday', created_at = {old} WHERE id = {panel_id}"),
        format!("DELETE FROM services WHERE customer_id = {panel_id}"),
    ]);
    fs.scenario.db("billing").execute(&[format!(
        "UPDATE invoices SET paid_at = {old}, issued_at = {old} WHERE client_id = {billing_id}"
    )]);
    let at = gallra_e2e::faults::start().timestamp().to_string();
    let plans = fs.gallra.at(&at, &["plan", "--json"]).expect_code(0).json();
    let selected = &gallra_e2e::examples::report(&plans, "inactive-6-months")["selected_keys"];
    assert!(
        !selected
            .as_array()
            .unwrap()
            .contains(&panel_id.to_string().into()),
        "customer {panel_id}, whose last login is unreadable, was selected as inactive"
    );
}
