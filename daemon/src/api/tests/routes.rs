//! Each route's promise: happy paths, and the 4xx for what is wrong.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use gallra_plugin_api::IdentifierKind;

use super::{app, bearer, get, post, send, ERASE_ANNA, TOKEN};
use crate::requests::RequestKind;

#[tokio::test]
async fn health_answers_ok_without_a_token() {
    let (app, _) = app(bearer());
    let answer = send(
        &app,
        Request::get("/v1/health").body(Body::empty()).unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json, serde_json::json!({"status": "ok"}));
}

#[tokio::test]
async fn submit_creates_a_request_with_normalized_identifiers() {
    let (app, fake) = app(bearer());
    let answer = post(&app, "/v1/requests", ERASE_ANNA).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    assert_eq!(answer.json["id"], 1);
    assert_eq!(answer.json["kind"], "erase");
    assert_eq!(answer.json["state"], "open");
    assert_eq!(answer.json["task_list"].as_array().unwrap().len(), 2);
    assert_eq!(answer.headers["location"], "/v1/requests/1");
    assert!(
        !answer.text.contains("anna"),
        "a view never shows identifiers"
    );

    let submitted = fake.submitted();
    assert_eq!(submitted.len(), 1);
    let (kind, ids) = &submitted[0];
    assert_eq!(*kind, RequestKind::Erase);
    let values: Vec<(IdentifierKind, String)> = ids.iter().map(|i| (i.kind(), i.value())).collect();
    assert_eq!(
        values,
        vec![
            (IdentifierKind::Email, "anna.svensson@example.se".to_owned()),
            (IdentifierKind::Personnummer, "198112189876".to_owned()),
        ]
    );
}

#[tokio::test]
async fn every_kind_and_identifier_field_is_accepted() {
    let (app, fake) = app(bearer());
    for kind in ["erase", "export", "restrict", "unrestrict", "object"] {
        let body = format!(
            r#"{{"kind":"{kind}","identifiers":{{"customer_id":"C-1001","phone":"070-123 45 67","domain":"Example.SE."}}}}"#
        );
        let answer = post(&app, "/v1/requests", &body).await;
        assert_eq!(
            answer.status,
            StatusCode::CREATED,
            "{kind}: {}",
            answer.text
        );
        assert_eq!(answer.json["kind"], kind);
    }
    assert_eq!(fake.submitted().len(), 5);
}

#[tokio::test]
async fn submit_without_content_type_is_taken_as_json() {
    let (app, _) = app(bearer());
    let request = Request::post("/v1/requests")
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Body::from(ERASE_ANNA))
        .unwrap();
    assert_eq!(send(&app, request).await.status, StatusCode::CREATED);
    let request = Request::post("/v1/requests")
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "text/plain")
        .body(Body::from(ERASE_ANNA))
        .unwrap();
    let answer = send(&app, request).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.code(), "bad_request");
}

#[tokio::test]
async fn invalid_identifier_is_422_naming_the_field_never_the_value() {
    let (app, fake) = app(bearer());
    let cases = [
        (
            r#"{"email":"anna.svensson.example.se"}"#,
            "identifiers.email",
            "anna.svensson",
        ),
        (
            r#"{"personnummer":"19811218-9875"}"#,
            "identifiers.personnummer",
            "9875",
        ),
        (
            r#"{"personnummer":"anna-19811218"}"#,
            "identifiers.personnummer",
            "anna",
        ),
        (r#"{"phone":"+46 70 annas"}"#, "identifiers.phone", "annas"),
        (
            r#"{"domain":"anna svensson"}"#,
            "identifiers.domain",
            "svensson",
        ),
        (r#"{"customer_id":""}"#, "identifiers.customer_id", "\"\""),
        (
            r#"{"email":"ok@example.se","personnummer":"811218-98x6"}"#,
            "identifiers.personnummer",
            "98x6",
        ),
    ];
    for (identifiers, field, secret) in cases {
        let body = format!(r#"{{"kind":"erase","identifiers":{identifiers}}}"#);
        let answer = post(&app, "/v1/requests", &body).await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{identifiers}"
        );
        assert_eq!(answer.code(), "invalid");
        let message = answer.json["error"]["message"].as_str().unwrap();
        assert!(message.contains(field), "{message}");
        assert!(
            !answer.text.contains(secret),
            "{identifiers} echoed: {}",
            answer.text
        );
        assert!(!answer.text.contains("ok@example.se"), "{}", answer.text);
    }
    assert!(
        fake.submitted().is_empty(),
        "nothing invalid reaches the service"
    );
}

#[tokio::test]
async fn no_identifier_or_unknown_kind_is_422() {
    let (app, _) = app(bearer());
    for body in [
        r#"{"kind":"erase","identifiers":{}}"#,
        r#"{"kind":"erase","identifiers":{"email":null}}"#,
        r#"{"kind":"forget","identifiers":{"email":"a@example.se"}}"#,
    ] {
        let answer = post(&app, "/v1/requests", body).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(answer.code(), "invalid");
    }
}

#[tokio::test]
async fn malformed_json_wrong_types_and_unknown_fields_are_400() {
    let (app, _) = app(bearer());
    let cases = [
        r#"{"kind":"erase","identifiers":{"email":"anna@example.se"}"#,
        "not json at all",
        "",
        r#"{"kind":"erase","identifiers":{"email":"anna@example.se"},"priority":1}"#,
        r#"{"kind":"erase","identifiers":{"email":"anna@example.se","ip":"10.0.0.1"}}"#,
        r#"{"kind":"erase","identifiers":{"anna@example.se":"x"}}"#,
        r#"{"kind":"erase","identifiers":"anna@example.se"}"#,
        r#"{"kind":"erase","identifiers":{"email":["anna@example.se"]}}"#,
        r#"{"kind":7,"identifiers":{"email":"anna@example.se"}}"#,
        r#"["anna@example.se"]"#,
        r#"{"identifiers":{"email":"anna@example.se"}}"#,
    ];
    for body in cases {
        let answer = post(&app, "/v1/requests", body).await;
        answer.assert_error(StatusCode::BAD_REQUEST, "bad_request", "anna", body);
    }
}

#[tokio::test]
async fn list_is_sorted_by_due_date_and_honours_open_and_limit() {
    let (app, _) = app(bearer());
    for _ in 0..3 {
        post(&app, "/v1/requests", ERASE_ANNA).await;
    }
    post(&app, "/v1/requests/3/cancel", r#"{"reason":"duplicate"}"#).await;

    let all = get(&app, "/v1/requests").await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(all.ids(), vec![3, 2, 1], "soonest due first");

    let open = get(&app, "/v1/requests?open=true&limit=1").await;
    assert_eq!(open.ids(), vec![2]);
}

#[tokio::test]
async fn bad_query_parameters_are_400_without_their_values() {
    let (app, _) = app(bearer());
    for query in [
        "open=yes",
        "limit=0",
        "limit=1001",
        "limit=-1",
        "limit=anna",
        "open=true&open=false",
        "email=anna%40example.se",
        "anna%40example.se=1",
    ] {
        let answer = get(&app, &format!("/v1/requests?{query}")).await;
        answer.assert_error(StatusCode::BAD_REQUEST, "bad_request", "anna", query);
    }
}

#[tokio::test]
async fn show_returns_the_request_and_404_for_unknown_ids() {
    let (app, _) = app(bearer());
    post(&app, "/v1/requests", ERASE_ANNA).await;
    let answer = get(&app, "/v1/requests/1").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.json["id"], 1);
    assert!(answer.json["receipt"].is_null());

    for uri in ["/v1/requests/2", "/v1/requests/999999"] {
        let answer = get(&app, uri).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(answer.code(), "not_found");
    }
    let answer = post(&app, "/v1/tasks/77/done", r#"{"note":"shredded"}"#).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    let answer = post(&app, "/v1/requests/77/cancel", r#"{"reason":"dup"}"#).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn bad_path_ids_are_400_without_the_value() {
    let (app, _) = app(bearer());
    for id in [
        "0",
        "-1",
        "abc",
        "1.5",
        "99999999999999999999",
        "anna%40example.se",
        "%FF",
        "1%00",
    ] {
        let answer = get(&app, &format!("/v1/requests/{id}")).await;
        answer.assert_error(StatusCode::BAD_REQUEST, "bad_request", "anna", id);
    }
}

#[tokio::test]
async fn cancel_returns_the_cancelled_request_then_409() {
    let (app, _) = app(bearer());
    post(&app, "/v1/requests", ERASE_ANNA).await;
    let answer = post(&app, "/v1/requests/1/cancel", r#"{"reason":"sent twice"}"#).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.json["state"], "cancelled");
    assert_eq!(answer.json["receipt"]["systems"][0]["outcome"], "cancelled");

    let again = post(&app, "/v1/requests/1/cancel", r#"{"reason":"again"}"#).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.code(), "conflict");
}

#[tokio::test]
async fn blank_or_overlong_reason_and_note_are_422() {
    let (app, _) = app(bearer());
    post(&app, "/v1/requests", ERASE_ANNA).await;
    let long = format!(r#"{{"reason":"{}"}}"#, "x".repeat(2001));
    for body in [
        r#"{"reason":"  "}"#,
        r#"{"reason":"a\u0000b"}"#,
        long.as_str(),
    ] {
        let answer = post(&app, "/v1/requests/1/cancel", body).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(answer.code(), "invalid");
    }
    for body in [r#"{"note":""}"#, r#"{}"#, r#"{"note":"x","by":"me"}"#] {
        let answer = post(&app, "/v1/tasks/2/done", body).await;
        assert!(answer.status.is_client_error(), "{body}");
    }
}

#[tokio::test]
async fn manual_tasks_are_listed_and_closed_with_a_note() {
    let (app, _) = app(bearer());
    post(&app, "/v1/requests", ERASE_ANNA).await;
    let tasks = get(&app, "/v1/tasks").await;
    assert_eq!(tasks.status, StatusCode::OK);
    let list = tasks.json.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], 2);
    assert_eq!(list[0]["state"], "needs_person");
    assert_eq!(list[0]["instructions"], "Shred the binder page");

    let done = post(
        &app,
        "/v1/tasks/2/done",
        r#"{"note":"shredded 2024-05-02"}"#,
    )
    .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    assert_eq!(done.json["state"], "done");
    assert_eq!(done.json["detail"], "shredded 2024-05-02");
    assert_eq!(get(&app, "/v1/tasks").await.json, serde_json::json!([]));

    let again = post(&app, "/v1/tasks/2/done", r#"{"note":"again"}"#).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
}
