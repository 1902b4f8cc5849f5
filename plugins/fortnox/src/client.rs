//! The Fortnox REST API (`/3`): customers and invoices, with a bearer token that is renewed
//! once when the API refuses it.

use gallra_plugin_api::http::{by_page_number, join_url, HttpClient, NumberedPage, RequestBuilder};
use gallra_plugin_api::http::{Response, Secret, StatusCode};
use gallra_plugin_api::ConnectorError;
use serde_json::{Map, Value};

use crate::auth::Auth;
use crate::config::Settings;
use crate::wire::{CustomerCard, CustomerList, CustomerRow, InvoiceList, InvoiceRow};

/// What a delete did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// The customer is gone.
    Yes,
    /// There was no such customer.
    NotFound,
    /// Fortnox refused (400): business events (invoices, orders, offers, contracts) still
    /// refer to the customer.
    Refused,
}

/// One Fortnox company's API.
pub struct Api {
    http: HttpClient,
    base_url: String,
    auth: Auth,
    page_size: u32,
}

impl Api {
    /// Reads the secret and builds the HTTP client; touches no network.
    pub fn new(
        system: &str,
        settings: &Settings,
        client_secret: Secret,
    ) -> Result<Self, ConnectorError> {
        Ok(Self {
            http: HttpClient::new(system, &settings.http())?,
            base_url: settings.base_url.trim().to_owned(),
            auth: Auth::new(
                settings.token_url.trim().to_owned(),
                settings.client_id.trim().to_owned(),
                client_secret,
                settings.tenant_id.trim().to_owned(),
            ),
            page_size: settings.page_size,
        })
    }

    fn url(&self, segments: &[&str]) -> Result<String, ConnectorError> {
        join_url(&self.base_url, segments)
            .map_err(|_| ConnectorError::config("base_url", "base_url is not a valid URL"))
    }

    /// Sends the request `build` makes with a token; when Fortnox answers 401 (a token
    /// revoked or expired early), once more with a fresh one, whose 401 is then an error
    /// (the kit's "check the credentials").
    fn send(&self, build: impl Fn(&str) -> RequestBuilder) -> Result<Response, ConnectorError> {
        let token = self.auth.token(&self.http)?;
        let response = build(token.expose())
            .accept(StatusCode::UNAUTHORIZED)
            .send()?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        self.auth.forget(&token);
        let token = self.auth.token(&self.http)?;
        build(token.expose()).send()
    }

    /// Checks that the token endpoint and the API accept the credentials.
    pub fn health(&self) -> Result<(), ConnectorError> {
        let url = self.url(&["customers"])?;
        self.send(|token| {
            self.http
                .get(&url)
                .endpoint("GET /customers")
                .query(&[("limit", "1")])
                .bearer(token)
        })
        .map(|_| ())
    }

    /// The customers whose `Email` Fortnox matches to `email` (compare exactly yourself).
    pub fn customers_by_email(&self, email: &str) -> Result<Vec<CustomerRow>, ConnectorError> {
        self.customers(Some(email), "GET /customers?email")
    }

    /// Every customer, page by page.
    pub fn all_customers(&self) -> Result<Vec<CustomerRow>, ConnectorError> {
        self.customers(None, "GET /customers")
    }

    fn customers(
        &self,
        email: Option<&str>,
        label: &'static str,
    ) -> Result<Vec<CustomerRow>, ConnectorError> {
        let url = self.url(&["customers"])?;
        let size = self.page_size.to_string();
        by_page_number(self.listing(label), self.page_size as usize, |page| {
            let page_text = page.to_string();
            let response = self.send(|token| {
                let mut query = vec![("limit", size.as_str()), ("page", page_text.as_str())];
                if let Some(email) = email {
                    query.push(("email", email));
                }
                self.http
                    .get(&url)
                    .endpoint(label)
                    .query(&query)
                    .bearer(token)
            })?;
            let list: CustomerList = self.found(response, label)?.json()?;
            Ok(NumberedPage {
                items: list.customers,
                total_pages: list.meta.total_pages,
            })
        })
        .collect()
    }

    /// The customer card, every field; `None` if there is no such customer.
    pub fn customer(&self, number: &str) -> Result<Option<Map<String, Value>>, ConnectorError> {
        let url = self.url(&["customers", number])?;
        let response = self.send(|token| {
            self.http
                .get(&url)
                .endpoint("GET /customers/{CustomerNumber}")
                .bearer(token)
        })?;
        match response.found() {
            None => Ok(None),
            Some(response) => Ok(Some(response.json::<CustomerCard>()?.customer)),
        }
    }

    /// Writes `fields` to the customer card; `false` if there is no such customer.
    pub fn update_customer(
        &self,
        number: &str,
        fields: &Map<String, Value>,
    ) -> Result<bool, ConnectorError> {
        let url = self.url(&["customers", number])?;
        let body = serde_json::json!({ "Customer": fields });
        let response = self.send(|token| {
            self.http
                .put(&url)
                .endpoint("PUT /customers/{CustomerNumber}")
                .json(&body)
                .bearer(token)
        })?;
        Ok(!response.is_not_found())
    }

    /// Deletes the customer card.
    pub fn delete_customer(&self, number: &str) -> Result<Deleted, ConnectorError> {
        let url = self.url(&["customers", number])?;
        let response = self.send(|token| {
            self.http
                .delete(&url)
                .endpoint("DELETE /customers/{CustomerNumber}")
                .accept(StatusCode::BAD_REQUEST)
                .bearer(token)
        })?;
        Ok(match response.status() {
            StatusCode::NOT_FOUND => Deleted::NotFound,
            StatusCode::BAD_REQUEST => Deleted::Refused,
            _ => Deleted::Yes,
        })
    }

    /// Every invoice of the customer (cancelled ones included), page by page.
    pub fn invoices(&self, number: &str) -> Result<Vec<InvoiceRow>, ConnectorError> {
        const LABEL: &str = "GET /invoices?customernumber";
        let url = self.url(&["invoices"])?;
        let size = self.page_size.to_string();
        by_page_number(self.listing(LABEL), self.page_size as usize, |page| {
            let page_text = page.to_string();
            let response = self.send(|token| {
                self.http
                    .get(&url)
                    .endpoint(LABEL)
                    .query(&[
                        ("customernumber", number),
                        ("limit", size.as_str()),
                        ("page", page_text.as_str()),
                    ])
                    .bearer(token)
            })?;
            let list: InvoiceList = self.found(response, LABEL)?.json()?;
            Ok(NumberedPage {
                items: list.invoices,
                total_pages: list.meta.total_pages,
            })
        })
        .collect()
    }

    fn listing(&self, label: &str) -> String {
        label.to_owned()
    }

    /// A list endpoint answering 404 is a wrong base URL, not an empty list.
    fn found(&self, response: Response, label: &str) -> Result<Response, ConnectorError> {
        response.found().ok_or_else(|| {
            ConnectorError::permanent(format!("{label} answered 404 Not Found: check base_url"))
        })
    }
}
