//! Copper's developer API: people search, fetch and delete, with its headers and limits.

use gallra_plugin_api::http::{
    join_url, until_short_page, HttpClient, Method, RequestBuilder, Response, Secret,
};
use gallra_plugin_api::ConnectorError;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::config::Settings;

/// Copper's search returns at most this many records, whatever the page parameters: a
/// search that reaches it may have missed people.
pub const SEARCH_CAP: u64 = 100_000;

/// The people search's endpoint label.
const SEARCH: &str = "POST /people/search";

/// The header in which Copper announces an upper bound of a search's matches.
const TOTAL_HEADER: &str = "X-PW-TOTAL";

/// One person as a search lists it: only what finding and judging a match needs.
#[derive(Debug, Clone, Deserialize)]
pub struct Person {
    /// Copper's id.
    pub id: u64,
    /// Email addresses.
    #[serde(default)]
    pub emails: Vec<EmailEntry>,
    /// Phone numbers, as entered in Copper.
    #[serde(default)]
    pub phone_numbers: Vec<PhoneEntry>,
    /// Unix seconds of the last change to the record.
    #[serde(default)]
    pub date_modified: Option<i64>,
    /// Unix seconds of the last logged contact.
    #[serde(default)]
    pub date_last_contacted: Option<i64>,
}

/// An entry of `emails`.
#[derive(Debug, Clone, Deserialize)]
pub struct EmailEntry {
    /// The address.
    pub email: String,
}

/// An entry of `phone_numbers`.
#[derive(Debug, Clone, Deserialize)]
pub struct PhoneEntry {
    /// The number as entered.
    pub number: String,
}

/// What a people search filters on.
#[derive(Debug, Clone)]
pub enum Filter {
    /// Any of these emails.
    Emails(Vec<String>),
    /// This phone number.
    Phone(String),
}

/// A client for one Copper account.
pub struct CopperClient {
    http: HttpClient,
    base_url: String,
    token: Secret,
    user_email: String,
    page_size: u32,
}

impl CopperClient {
    /// Reads the token and sets up the HTTP client; does not connect.
    pub fn new(system: &str, settings: &Settings) -> Result<Self, ConnectorError> {
        let token = Secret::from_file(&settings.token_file).map_err(|e| match e {
            ConnectorError::Permanent { message } => {
                ConnectorError::permanent(format!("token_file: {message}"))
            }
            other => other,
        })?;
        Ok(Self {
            http: HttpClient::new(system, &settings.http_settings())?,
            base_url: settings.base_url.clone(),
            token,
            user_email: settings.user_email.trim().to_owned(),
            page_size: settings.page_size,
        })
    }

    fn request(&self, method: Method, segments: &[&str], endpoint: &str) -> RequestBuilder {
        // The base URL was validated as http(s); a join failure surfaces at send.
        let url = join_url(&self.base_url, segments).unwrap_or_else(|_| self.base_url.clone());
        self.http
            .request(method, &url)
            .endpoint(endpoint)
            .secret_header("X-PW-AccessToken", self.token.expose())
            .header("X-PW-Application", "developer_api")
            .header("X-PW-UserEmail", &self.user_email)
    }

    fn label(&self, endpoint: &str) -> String {
        endpoint.to_owned()
    }

    /// Every person matching `filter`, page by page until a short page.
    ///
    /// Errors (never a partial list): a page longer than asked for, or a search that reaches
    /// Copper's cap of 100,000 records.
    pub fn search(&self, filter: &Filter) -> Result<Vec<Person>, ConnectorError> {
        let page_size = u64::from(self.page_size);
        until_short_page(self.label(SEARCH), self.page_size as usize, |page_number| {
            let page_number = u64::from(page_number);
            // Only full pages lead here: past the cap Copper has nothing more to give.
            if (page_number - 1) * page_size >= SEARCH_CAP {
                return Err(self.capped(SEARCH));
            }
            self.search_page(filter, page_number, page_size)
        })
        .collect()
    }

    /// One page of a people search.
    fn search_page(
        &self,
        filter: &Filter,
        page_number: u64,
        page_size: u64,
    ) -> Result<Vec<Person>, ConnectorError> {
        let mut body = json!({
            "page_number": page_number,
            "page_size": page_size,
            // A fixed order keeps pages stable while they are read.
            "sort_by": "date_created",
            "sort_direction": "asc",
        });
        match filter {
            Filter::Emails(emails) => body["emails"] = json!(emails),
            Filter::Phone(number) => body["phone_number"] = json!(number),
        }
        let response = self
            .request(Method::POST, &["people", "search"], SEARCH)
            .json(&body)
            .send()?;
        let response = self.expect_found(response, SEARCH)?;
        let total = response
            .header(TOTAL_HEADER)
            .and_then(|t| t.trim().parse::<u64>().ok());
        if total.is_some_and(|total| total > SEARCH_CAP) {
            return Err(self.capped(SEARCH));
        }
        response.json()
    }

    fn capped(&self, endpoint: &str) -> ConnectorError {
        ConnectorError::permanent(format!(
            "{}: the search matches more than {SEARCH_CAP} people and Copper returns only the \
             first {SEARCH_CAP}, so it cannot be read completely (is an identifier shared by \
             that many records?)",
            self.label(endpoint)
        ))
    }

    /// The person's whole record, or `None` if Copper has no such person.
    pub fn person(&self, id: u64) -> Result<Option<Value>, ConnectorError> {
        let id = id.to_string();
        let response = self
            .request(Method::GET, &["people", &id], "GET /people/{id}")
            .send()?;
        match response.found() {
            Some(response) => response.json().map(Some),
            None => Ok(None),
        }
    }

    /// Deletes the person; `false` if Copper had no such person (already gone).
    pub fn delete(&self, id: u64) -> Result<bool, ConnectorError> {
        const ENDPOINT: &str = "DELETE /people/{id}";
        let id = id.to_string();
        let response = self
            .request(Method::DELETE, &["people", &id], ENDPOINT)
            .send()?;
        let Some(response) = response.found() else {
            return Ok(false);
        };
        #[derive(Deserialize)]
        struct Deleted {
            #[serde(default)]
            is_deleted: Option<bool>,
        }
        let deleted: Deleted = if response.bytes().iter().all(u8::is_ascii_whitespace) {
            Deleted { is_deleted: None }
        } else {
            response.json()?
        };
        if deleted.is_deleted == Some(false) {
            return Err(ConnectorError::permanent(format!(
                "{}: Copper answered is_deleted = false; the person was not deleted (does the \
                 API user have permission to delete people?)",
                self.label(ENDPOINT)
            )));
        }
        Ok(true)
    }

    /// Checks that Copper answers and accepts the credentials (`GET /account`).
    pub fn health(&self) -> Result<(), ConnectorError> {
        const ENDPOINT: &str = "GET /account";
        let response = self.request(Method::GET, &["account"], ENDPOINT).send()?;
        self.expect_found(response, ENDPOINT).map(drop)
    }

    fn expect_found(&self, response: Response, endpoint: &str) -> Result<Response, ConnectorError> {
        response.found().ok_or_else(|| {
            ConnectorError::permanent(format!(
                "{}: answered 404 Not Found (is base_url right?)",
                self.label(endpoint)
            ))
        })
    }
}
