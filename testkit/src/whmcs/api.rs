//! The API's actions on the installation's state.

use std::collections::BTreeMap;
use std::time::Instant;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde_json::{json, Value};

use super::php::parse_custom_fields;
use super::{lock, ClientData, Inner, InvoiceData, Logged, Shared, IDENTIFIER, SECRET};

/// The request's parameters; the last of a repeated name wins, as in PHP.
struct Params(BTreeMap<String, String>);

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    fn number(&self, name: &str) -> Option<u64> {
        self.get(name).and_then(|v| v.trim().parse().ok())
    }

    fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some("true" | "1" | "on" | "yes"))
    }
}

pub(super) async fn api(
    State(state): State<Shared>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let params = Params(form.into_iter().collect());
    let action = params.get("action").unwrap_or("").to_owned();
    let mut s = lock(&state);
    let (status, response) = if !s.injected.is_empty() {
        let injected = s.injected.remove(0);
        let status =
            StatusCode::from_u16(injected.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, "injected").into_response();
        if let Some(wait) = injected
            .retry_after
            .and_then(|w| HeaderValue::from_str(&w).ok())
        {
            response.headers_mut().insert("retry-after", wait);
        }
        (status, response)
    } else if !authenticated(&params) {
        let status = if s.auth_403 {
            StatusCode::FORBIDDEN
        } else {
            StatusCode::OK
        };
        (
            status,
            (status, Json(error("Authentication Failed"))).into_response(),
        )
    } else {
        let body = s.dispatch(&action, &params);
        (StatusCode::OK, Json(body).into_response())
    };
    s.log.push(Logged {
        at: Instant::now(),
        action,
        status: status.as_u16(),
    });
    response
}

fn authenticated(params: &Params) -> bool {
    let pair = |id: &str, secret: &str| {
        params.get(id) == Some(IDENTIFIER) && params.get(secret) == Some(SECRET)
    };
    pair("identifier", "secret") || pair("username", "password")
}

fn error(message: &str) -> Value {
    json!({ "result": "error", "message": message })
}

impl Inner {
    fn dispatch(&mut self, action: &str, p: &Params) -> Value {
        match action.to_ascii_lowercase().as_str() {
            "getclients" => self.get_clients(p),
            "getclientsdetails" => self.get_clients_details(p),
            "getinvoices" => self.get_invoices(p),
            "updateclient" => self.update_client(p),
            "deleteclient" => self.delete_client(p),
            _ => error("Command Not Found"),
        }
    }

    /// `limitstart`/`limitnum` with WHMCS' default of 25 and the site's cap.
    fn window(&self, p: &Params) -> (usize, usize) {
        let start = p.number("limitstart").unwrap_or(0) as usize;
        let num = p.number("limitnum").unwrap_or(25).clamp(1, self.max_page) as usize;
        (start, num)
    }

    fn get_clients(&self, p: &Params) -> Value {
        let search = p.get("search").unwrap_or("").to_lowercase();
        let status = p.get("status").filter(|s| !s.is_empty());
        let mut rows: Vec<(&u64, &ClientData)> = self
            .clients
            .iter()
            .filter(|(_, c)| {
                search.is_empty()
                    || [&c.email, &c.firstname, &c.lastname, &c.companyname]
                        .iter()
                        .any(|f| f.to_lowercase().starts_with(&search))
                    || format!("{} {}", c.firstname, c.lastname)
                        .to_lowercase()
                        .starts_with(&search)
            })
            .filter(|(_, c)| status.is_none_or(|s| c.status.eq_ignore_ascii_case(s)))
            .collect();
        match p.get("orderby").unwrap_or("id") {
            "email" => rows.sort_by(|a, b| a.1.email.cmp(&b.1.email)),
            "lastname" => rows.sort_by(|a, b| a.1.lastname.cmp(&b.1.lastname)),
            _ => rows.sort_by_key(|(id, _)| **id),
        }
        if p.get("sorting")
            .is_some_and(|s| s.eq_ignore_ascii_case("desc"))
        {
            rows.reverse();
        }
        let (start, num) = self.window(p);
        let page: Vec<Value> = rows
            .iter()
            .skip(start)
            .take(num)
            .map(|(id, c)| {
                json!({
                    "id": id, "firstname": c.firstname, "lastname": c.lastname,
                    "companyname": c.companyname, "email": c.email,
                    "datecreated": "2020-01-01", "groupid": 0, "status": c.status,
                })
            })
            .collect();
        let mut answer = json!({
            "result": "success",
            "totalresults": rows.len(),
            "startnumber": start,
            "numreturned": page.len(),
        });
        // PHP leaves the key out when there is no row.
        if !page.is_empty() {
            answer["clients"] = json!({ "client": page });
        }
        answer
    }

    fn find(&self, p: &Params) -> Option<u64> {
        if let Some(id) = p.number("clientid") {
            return self.clients.contains_key(&id).then_some(id);
        }
        let email = p.get("email")?.trim().to_lowercase();
        self.clients
            .iter()
            .find(|(_, c)| c.email.to_lowercase() == email)
            .map(|(id, _)| *id)
    }

    fn invoices_of(&self, client: u64) -> impl Iterator<Item = (&u64, &InvoiceData)> {
        self.invoices
            .iter()
            .filter(move |(_, (c, _))| *c == client)
            .map(|(id, (_, invoice))| (id, invoice))
    }

    fn get_clients_details(&self, p: &Params) -> Value {
        let Some(id) = self.find(p) else {
            return error("Client Not Found");
        };
        let c = &self.clients[&id];
        let formatted = if c.phonenumber.is_empty() {
            String::new()
        } else {
            format!("+{}.{}", c.phonecc, c.phonenumber.trim_start_matches('0'))
        };
        let customfields: Vec<Value> = c
            .customfields
            .iter()
            .map(|(id, value)| json!({ "id": id, "value": value }))
            .collect();
        let client = json!({
            "userid": id, "client_id": id, "id": id,
            "uuid": format!("00000000-0000-4000-8000-{id:012}"),
            "firstname": c.firstname, "lastname": c.lastname,
            "fullname": format!("{} {}", c.firstname, c.lastname),
            "companyname": c.companyname, "email": c.email,
            "address1": c.address1, "address2": c.address2, "city": c.city,
            "fullstate": c.state, "state": c.state, "postcode": c.postcode,
            "countrycode": c.country, "country": c.country,
            "phonecc": c.phonecc, "phonenumber": c.phonenumber,
            "phonenumberformatted": formatted, "tax_id": c.tax_id,
            "notes": c.notes, "status": c.status, "lastlogin": c.lastlogin,
            "customfields": customfields, "currency_code": "SEK", "credit": "0.00",
            "cctype": if c.has_card { json!("Visa") } else { Value::Null },
            "cclastfour": if c.has_card { json!("4242") } else { Value::Null },
        });
        let count = |status: &str| {
            self.invoices_of(id)
                .filter(|(_, i)| i.status.eq_ignore_ascii_case(status))
                .count()
                .to_string()
        };
        let mut answer = json!({ "result": "success", "client": client });
        if p.flag("stats") {
            answer["stats"] = json!({
                "numunpaidinvoices": count("Unpaid"),
                "unpaidinvoicesamount": "0.00 SEK",
                "numpaidinvoices": count("Paid"),
                "productsnumactive": c.active_products.to_string(),
                "productsnumtotal": c.active_products.to_string(),
                "numactivedomains": c.active_domains.to_string(),
                "numdomains": c.active_domains.to_string(),
                "income": "0.00 SEK",
            });
        }
        answer
    }

    fn get_invoices(&self, p: &Params) -> Value {
        let status = p.get("status").filter(|s| !s.is_empty());
        let rows: Vec<(&u64, &(u64, InvoiceData))> = self
            .invoices
            .iter()
            .filter(|(_, (c, _))| p.number("userid").is_none_or(|u| u == *c))
            .filter(|(_, (_, i))| status.is_none_or(|s| i.status.eq_ignore_ascii_case(s)))
            .collect();
        let (start, num) = self.window(p);
        let page: Vec<Value> = rows
            .iter()
            .skip(start)
            .take(num)
            .map(|(id, (client, i))| {
                json!({
                    "id": id.to_string(), "userid": client.to_string(), "invoicenum": "",
                    "date": i.date, "duedate": i.date, "datepaid": "0000-00-00 00:00:00",
                    "subtotal": "100.00", "credit": "0.00", "tax": "25.00", "total": "125.00",
                    "status": i.status, "paymentmethod": "banktransfer", "currencycode": "SEK",
                })
            })
            .collect();
        json!({
            "result": "success",
            "totalresults": rows.len().to_string(),
            "startnumber": start,
            "numreturned": page.len(),
            "invoices": { "invoice": page },
        })
    }

    fn update_client(&mut self, p: &Params) -> Value {
        let Some(id) = p
            .number("clientid")
            .filter(|id| self.clients.contains_key(id))
        else {
            return error("Client ID Not Found");
        };
        if let Some(email) = p.get("email") {
            let taken = self
                .clients
                .iter()
                .any(|(other, c)| *other != id && c.email.eq_ignore_ascii_case(email));
            if taken {
                return error("Duplicate Email Address");
            }
        }
        let customfields = match p.get("customfields").map(parse_custom_fields) {
            Some(None) => return error("Invalid custom fields"),
            Some(Some(fields)) => fields,
            None => Vec::new(),
        };
        let c = self.clients.get_mut(&id).expect("checked above");
        let text_fields: [(&str, &mut String); 13] = [
            ("firstname", &mut c.firstname),
            ("lastname", &mut c.lastname),
            ("companyname", &mut c.companyname),
            ("email", &mut c.email),
            ("address1", &mut c.address1),
            ("address2", &mut c.address2),
            ("city", &mut c.city),
            ("state", &mut c.state),
            ("postcode", &mut c.postcode),
            ("country", &mut c.country),
            ("phonenumber", &mut c.phonenumber),
            ("tax_id", &mut c.tax_id),
            ("notes", &mut c.notes),
        ];
        for (name, field) in text_fields {
            if let Some(value) = p.get(name) {
                *field = value.to_owned();
            }
        }
        if let Some(status) = p.get("status") {
            c.status = status.to_owned();
        }
        if p.flag("clearcreditcard") {
            c.has_card = false;
        }
        for (field, value) in customfields {
            c.customfields.insert(field, value);
        }
        json!({ "result": "success", "clientid": id })
    }

    fn delete_client(&mut self, p: &Params) -> Value {
        let Some(id) = p
            .number("clientid")
            .filter(|id| self.clients.contains_key(id))
        else {
            return error("Client ID Not Found");
        };
        self.clients.remove(&id);
        self.invoices.retain(|_, (client, _)| *client != id);
        json!({ "result": "success", "clientid": id })
    }
}
