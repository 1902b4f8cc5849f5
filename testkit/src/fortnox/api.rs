//! The token endpoint and the `/3` routes on the company's state.

use std::collections::HashMap;
use std::time::Instant;

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use base64::Engine;
use serde_json::{json, Map, Value};

use super::{lock, Inner, Logged, Shared, CLIENT_ID, CLIENT_SECRET, TENANT_ID};

/// Fortnox' error shape. The codes here are placeholders, not Fortnox's own: the connector
/// reads only the status.
fn error_information(status: StatusCode, code: u32, message: &str) -> Response {
    let body = json!({ "ErrorInformation": { "error": 1, "message": message, "code": code } });
    (status, Json(body)).into_response()
}

pub(super) async fn token(
    State(state): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let expected =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    let basic_ok = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        == Some(expected.as_str());
    let tenant_ok = headers.get("tenantid").and_then(|v| v.to_str().ok()) == Some(TENANT_ID);
    let grant_ok = form
        .iter()
        .any(|(k, v)| k == "grant_type" && v == "client_credentials");
    let mut s = lock(&state);
    s.token_requests += 1;
    if !grant_ok {
        let body = json!({ "error": "unsupported_grant_type" });
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    if !(basic_ok && tenant_ok) {
        let body =
            json!({ "error": "invalid_client", "error_description": "Invalid client credentials" });
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    let value = format!("fortnox-token-{}", s.next_token);
    s.next_token += 1;
    let lifetime = s.token_lifetime;
    s.tokens.insert(value.clone(), Instant::now() + lifetime);
    Json(json!({
        "access_token": value,
        "expires_in": lifetime.as_secs(),
        "token_type": "bearer",
        "scope": "customer invoice",
    }))
    .into_response()
}

/// The checks every `/3` request passes first: the rate window, then the token. Logs the
/// request with the status it ends with.
fn admit(
    state: &Shared,
    headers: &HeaderMap,
    method: &str,
    endpoint: &str,
    handle: impl FnOnce(&mut Inner) -> Response,
) -> Response {
    let mut s = lock(state);
    let now = Instant::now();
    let window = s.window;
    while s
        .admitted
        .front()
        .is_some_and(|t| now.duration_since(*t) >= window)
    {
        s.admitted.pop_front();
    }
    let response = if s.admitted.len() >= s.per_window {
        let mut response = (
            StatusCode::TOO_MANY_REQUESTS,
            Json(json!({ "message": "Too many requests" })),
        )
            .into_response();
        if let Some(wait) = s
            .retry_after
            .as_deref()
            .and_then(|w| HeaderValue::from_str(w).ok())
        {
            response.headers_mut().insert("retry-after", wait);
        }
        response
    } else {
        s.admitted.push_back(now);
        let token = headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let valid = token
            .and_then(|t| s.tokens.get(t))
            .is_some_and(|expires| now < *expires);
        if valid {
            handle(&mut s)
        } else {
            let body = json!({ "message": "unauthorized" });
            (StatusCode::UNAUTHORIZED, Json(body)).into_response()
        }
    };
    s.log.push(Logged {
        at: now,
        method: method.to_owned(),
        endpoint: endpoint.to_owned(),
        status: response.status().as_u16(),
    });
    response
}

/// `page` and `limit` (default 100, at most 500); `None` for values Fortnox refuses.
fn paging(query: &HashMap<String, String>) -> Option<(usize, usize)> {
    let read = |name: &str, default: usize| match query.get(name) {
        None => Some(default),
        Some(v) => v.parse::<usize>().ok(),
    };
    let page = read("page", 1)?;
    let limit = read("limit", 100)?;
    (page >= 1 && (1..=500).contains(&limit)).then_some((page, limit))
}

/// One page of `items` wrapped as Fortnox lists are.
fn listing(key: &str, items: Vec<Value>, page: usize, limit: usize) -> Response {
    Json(listing_body(key, items, page, limit)).into_response()
}

fn listing_body(key: &str, items: Vec<Value>, page: usize, limit: usize) -> Value {
    let total = items.len();
    let pages = total.div_ceil(limit);
    let rows: Vec<Value> = items
        .into_iter()
        .skip((page - 1) * limit)
        .take(limit)
        .collect();
    let mut body = Map::new();
    body.insert(
        "MetaInformation".to_owned(),
        json!({ "@TotalResources": total, "@TotalPages": pages, "@CurrentPage": page }),
    );
    body.insert(key.to_owned(), Value::Array(rows));
    Value::Object(body)
}

fn bad_paging() -> Response {
    error_information(
        StatusCode::BAD_REQUEST,
        2000588,
        "Ogiltig parameter för sidindelning.",
    )
}

fn text(card: &Map<String, Value>, key: &str) -> Value {
    card.get(key).cloned().unwrap_or(Value::Null)
}

pub(super) async fn list_customers(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    admit(&state, &headers, "GET", "/3/customers", |s| {
        let Some((page, limit)) = paging(&query) else {
            return bad_paging();
        };
        let email = query.get("email").map(|e| e.to_lowercase());
        let rows = s
            .customers
            .iter()
            .filter(|(_, card)| {
                email.as_ref().is_none_or(|wanted| {
                    card.get("Email")
                        .and_then(Value::as_str)
                        .is_some_and(|e| e.to_lowercase().contains(wanted.as_str()))
                })
            })
            .map(|(number, card)| {
                json!({
                    "@url": format!("/3/customers/{number}"),
                    "Address1": text(card, "Address1"), "Address2": text(card, "Address2"),
                    "City": text(card, "City"), "CustomerNumber": number,
                    "Email": text(card, "Email"), "Name": text(card, "Name"),
                    "OrganisationNumber": text(card, "OrganisationNumber"),
                    "Phone": text(card, "Phone1"), "ZipCode": text(card, "ZipCode"),
                    "Active": text(card, "Active"),
                })
            })
            .collect();
        listing("Customers", rows, page, limit)
    })
}

fn not_found() -> Response {
    error_information(StatusCode::NOT_FOUND, 2000433, "Kan inte hitta kunden.")
}

fn card_answer(number: &str, card: &Map<String, Value>) -> Response {
    let mut card = card.clone();
    card.insert(
        "@url".to_owned(),
        Value::from(format!("/3/customers/{number}")),
    );
    Json(json!({ "Customer": card })).into_response()
}

pub(super) async fn get_customer(
    State(state): State<Shared>,
    headers: HeaderMap,
    UrlPath(number): UrlPath<String>,
) -> Response {
    admit(
        &state,
        &headers,
        "GET",
        "/3/customers/{CustomerNumber}",
        |s| match s.customers.get(&number) {
            Some(card) => card_answer(&number, card),
            None => not_found(),
        },
    )
}

pub(super) async fn put_customer(
    State(state): State<Shared>,
    headers: HeaderMap,
    UrlPath(number): UrlPath<String>,
    Json(body): Json<Value>,
) -> Response {
    admit(
        &state,
        &headers,
        "PUT",
        "/3/customers/{CustomerNumber}",
        |s| {
            let Some(card) = s.customers.get_mut(&number) else {
                return not_found();
            };
            let Some(fields) = body.get("Customer").and_then(Value::as_object) else {
                return error_information(StatusCode::BAD_REQUEST, 2000355, "Ogiltig data.");
            };
            if fields
                .get("CustomerNumber")
                .is_some_and(|n| n.as_str() != Some(number.as_str()))
            {
                return error_information(
                    StatusCode::BAD_REQUEST,
                    2000355,
                    "Kundnummer kan inte ändras.",
                );
            }
            if fields
                .get("Name")
                .is_some_and(|n| n.as_str().is_none_or(str::is_empty))
            {
                return error_information(StatusCode::BAD_REQUEST, 2000355, "Namn måste anges.");
            }
            for (key, value) in fields {
                card.insert(key.clone(), value.clone());
            }
            let card = card.clone();
            card_answer(&number, &card)
        },
    )
}

pub(super) async fn delete_customer(
    State(state): State<Shared>,
    headers: HeaderMap,
    UrlPath(number): UrlPath<String>,
) -> Response {
    admit(
        &state,
        &headers,
        "DELETE",
        "/3/customers/{CustomerNumber}",
        |s| {
            if !s.customers.contains_key(&number) {
                return not_found();
            }
            let referred = s.blocked.contains(&number)
                || s.invoices.values().any(|(customer, _)| *customer == number);
            if referred {
                // Fortnox keeps a customer that business events refer to.
                return error_information(
                    StatusCode::BAD_REQUEST,
                    2000106,
                    "Kunden kan inte tas bort eftersom den används.",
                );
            }
            s.customers.remove(&number);
            StatusCode::NO_CONTENT.into_response()
        },
    )
}

pub(super) async fn list_invoices(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    admit(&state, &headers, "GET", "/3/invoices", |s| {
        let Some((page, limit)) = paging(&query) else {
            return bad_paging();
        };
        let customer = query.get("customernumber");
        let rows = s
            .invoices
            .iter()
            .filter(|(_, (c, _))| customer.is_none_or(|wanted| c == wanted))
            .map(|(id, (c, i))| {
                let name = s.customers.get(c).map(|card| text(card, "Name"));
                json!({
                    "@url": format!("/3/invoices/{id}"),
                    "Balance": i.balance, "Booked": true, "Cancelled": i.cancelled,
                    "Currency": "SEK", "CustomerName": name.unwrap_or(Value::Null),
                    "CustomerNumber": c, "DocumentNumber": id.to_string(),
                    "DueDate": i.invoice_date, "InvoiceDate": i.invoice_date,
                    "FinalPayDate": i.final_pay_date, "Sent": true, "Total": 125,
                })
            })
            .collect();
        listing("Invoices", rows, page, limit)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn paging_defaults_to_100_and_refuses_more_than_500() {
        assert_eq!(paging(&query(&[])), Some((1, 100)));
        assert_eq!(
            paging(&query(&[("page", "3"), ("limit", "500")])),
            Some((3, 500))
        );
        assert_eq!(paging(&query(&[("limit", "501")])), None);
        assert_eq!(paging(&query(&[("page", "0")])), None);
    }

    #[test]
    fn lists_carry_meta_information_and_one_page() {
        let items: Vec<Value> = (0..5).map(Value::from).collect();
        let body = listing_body("Customers", items.clone(), 3, 2);
        assert_eq!(body["MetaInformation"]["@TotalPages"], 3);
        assert_eq!(body["MetaInformation"]["@TotalResources"], 5);
        assert_eq!(body["Customers"], json!([4]));
        let empty = listing_body("Invoices", Vec::new(), 1, 100);
        assert_eq!(empty["MetaInformation"]["@TotalPages"], 0);
        assert_eq!(empty["Invoices"], json!([]));
    }
}
