//! The pagination helpers over a paged test API: every style reads three pages, and a page
//! cut short is an error, never the end of the listing.

#![cfg(feature = "http")]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use axum::extract::Query;
use axum::routing::get;
use axum::{Json, Router};
use gallra_plugin_api::http::{
    by_cursor, by_offset, by_page_number, CursorPage, HttpClient, HttpSettings, NumberedPage,
    OffsetPage,
};
use gallra_plugin_api::ConnectorError;
use gallra_testkit::server::TestServer;
use serde::Deserialize;
use serde_json::{json, Value};

const ITEMS: u64 = 7;
const PAGE: u64 = 3;

#[derive(Deserialize)]
struct Params {
    page: Option<u64>,
    offset: Option<u64>,
    cursor: Option<u64>,
}

/// Seven users, three to a page, in every pagination style. With `truncate` set, the
/// second page loses its last item (a proxy cut the answer, a replica lagged).
fn server(truncate: Arc<AtomicBool>) -> TestServer {
    let slice = move |start: u64| {
        let end = (start + PAGE).min(ITEMS);
        let end = if truncate.load(Ordering::SeqCst) && start == PAGE {
            end - 1
        } else {
            end
        };
        (start..end)
            .map(|id| json!({ "id": id }))
            .collect::<Vec<_>>()
    };
    let router = Router::new().route(
        "/users",
        get(move |Query(p): Query<Params>| {
            let slice = slice.clone();
            async move {
                let total_pages = ITEMS.div_ceil(PAGE);
                let body = if let Some(page) = p.page {
                    json!({ "users": slice((page - 1) * PAGE), "total_pages": total_pages })
                } else if let Some(offset) = p.offset {
                    json!({ "users": slice(offset), "total": ITEMS })
                } else {
                    let start = p.cursor.unwrap_or(0);
                    let next = (start + PAGE < ITEMS).then(|| (start + PAGE).to_string());
                    json!({ "users": slice(start), "next": next })
                };
                Json(body)
            }
        }),
    );
    TestServer::start(router)
}

#[derive(Debug, Deserialize, PartialEq)]
struct User {
    id: u64,
}

fn fetch(
    client: &HttpClient,
    url: &str,
    query: &[(&str, String)],
) -> Result<Value, ConnectorError> {
    client
        .get(url)
        .query(query)
        .endpoint("GET /users")
        .send()?
        .json()
}

fn users(body: &Value) -> Vec<User> {
    serde_json::from_value(body["users"].clone()).unwrap()
}

struct Api {
    client: HttpClient,
    url: String,
    truncate: Arc<AtomicBool>,
    _server: TestServer,
}

fn api() -> Api {
    let truncate = Arc::new(AtomicBool::new(false));
    let server = server(truncate.clone());
    Api {
        client: HttpClient::new("crm", &HttpSettings::default()).unwrap(),
        url: format!("{}/users", server.base_url()),
        truncate,
        _server: server,
    }
}

impl Api {
    fn by_page(&self) -> Result<Vec<User>, ConnectorError> {
        by_page_number("GET /users", PAGE as usize, |page| {
            let body = fetch(&self.client, &self.url, &[("page", page.to_string())])?;
            Ok(NumberedPage {
                items: users(&body),
                total_pages: body["total_pages"].as_u64().unwrap() as u32,
            })
        })
        .collect()
    }

    fn by_offset(&self) -> Result<Vec<User>, ConnectorError> {
        by_offset("GET /users", PAGE, |offset, _limit| {
            let body = fetch(&self.client, &self.url, &[("offset", offset.to_string())])?;
            Ok(OffsetPage {
                items: users(&body),
                total: body["total"].as_u64().unwrap(),
            })
        })
        .collect()
    }

    fn by_cursor(&self) -> Result<Vec<User>, ConnectorError> {
        by_cursor("GET /users", |cursor| {
            let query: Vec<(&str, String)> = cursor
                .map(|c| ("cursor", c.to_owned()))
                .into_iter()
                .collect();
            let body = fetch(&self.client, &self.url, &query)?;
            Ok(CursorPage {
                items: users(&body),
                next: body["next"].as_str().map(str::to_owned),
            })
        })
        .collect()
    }
}

fn all() -> Vec<User> {
    (0..ITEMS).map(|id| User { id }).collect()
}

#[test]
fn every_style_reads_all_three_pages() {
    let api = api();
    assert_eq!(api.by_page().unwrap(), all());
    assert_eq!(api.by_offset().unwrap(), all());
    assert_eq!(api.by_cursor().unwrap(), all());
}

#[test]
fn a_truncated_page_is_an_error_not_the_end() {
    let api = api();
    api.truncate.store(true, Ordering::SeqCst);
    for (style, result) in [("page", api.by_page()), ("offset", api.by_offset())] {
        let error = result.expect_err(style);
        assert!(error.is_transient(), "{style}: {error:?}");
        let message = error.to_string();
        assert!(message.contains("GET /users"), "{message}");
        assert!(message.contains("not taken as complete"), "{message}");
    }
}

#[test]
fn a_failed_page_ends_the_listing_with_its_error() {
    let mut calls = 0;
    let items: Vec<Result<u32, ConnectorError>> = by_cursor("GET /users", |cursor| {
        calls += 1;
        match cursor {
            None => Ok(CursorPage {
                items: vec![1, 2],
                next: Some("2".into()),
            }),
            Some(_) => Err(ConnectorError::transient("GET /users answered 503")),
        }
    })
    .collect();
    assert_eq!(items.len(), 3);
    assert!(items[2].is_err());
    assert_eq!(calls, 2);
}

#[test]
fn inconsistent_listings_are_errors() {
    // An empty page that says more follow.
    let empty: Result<Vec<u32>, _> = by_cursor("l", |_| {
        Ok(CursorPage {
            items: vec![],
            next: Some("x".into()),
        })
    })
    .collect();
    assert!(empty.is_err());
    // A cursor that points at itself.
    let looping: Result<Vec<u32>, _> = by_cursor("l", |_| {
        Ok(CursorPage {
            items: vec![1],
            next: Some("same".into()),
        })
    })
    .collect();
    assert!(looping.is_err());
    // A total that changes between pages.
    let mut total = 4;
    let shifting: Result<Vec<u32>, _> = by_offset("l", 2, |_, _| {
        total += 1;
        Ok(OffsetPage {
            items: vec![1, 2],
            total,
        })
    })
    .collect();
    assert!(shifting
        .unwrap_err()
        .to_string()
        .contains("the total went from 5 to 6"));
    // More items than the total.
    let over: Result<Vec<u32>, _> = by_offset("l", 5, |_, _| {
        Ok(OffsetPage {
            items: vec![1, 2, 3],
            total: 2,
        })
    })
    .collect();
    assert!(over.is_err());
    // An empty listing is fine in every style.
    let none: Vec<u32> = by_page_number("l", 10, |_| {
        Ok(NumberedPage {
            items: vec![],
            total_pages: 0,
        })
    })
    .collect::<Result<_, _>>()
    .unwrap();
    assert!(none.is_empty());
    let none: Vec<u32> = by_offset("l", 10, |_, _| {
        Ok(OffsetPage {
            items: vec![],
            total: 0,
        })
    })
    .collect::<Result<_, _>>()
    .unwrap();
    assert!(none.is_empty());
}
