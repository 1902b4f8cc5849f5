//! The Zendesk Support API calls the connector makes, each labelled with its path template.

use gallra_plugin_api::http::{
    by_cursor, join_url, CursorPage, HttpClient, Method, RequestBuilder, Response, Secret,
};
use gallra_plugin_api::ConnectorError;
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// Zendesk's user search returns at most this many results; a query that reaches it cannot
/// be read to the end.
pub const SEARCH_CAP: u64 = 10_000;

/// The most records Zendesk returns per page.
const PAGE_SIZE: &str = "100";

/// How requests authenticate.
#[derive(Debug)]
pub enum Auth {
    /// Basic `{email}/token:{token}`.
    ApiToken {
        /// The token owner's email.
        email: String,
        /// The API token.
        token: Secret,
    },
    /// Bearer token.
    OAuth(Secret),
}

/// A user, active or deleted, with the fields the connector reads.
#[derive(Debug, Clone, Deserialize)]
pub struct User {
    /// Zendesk's user id.
    pub id: u64,
    /// Display name ("Permanently Deleted User" once permanently deleted).
    pub name: Option<String>,
    /// Primary email; null once permanently deleted.
    pub email: Option<String>,
    /// Phone number.
    pub phone: Option<String>,
    /// The account's own id for the user.
    pub external_id: Option<String>,
    /// When the user was created (RFC 3339).
    pub created_at: Option<String>,
    /// When the user last signed in (RFC 3339).
    pub last_login_at: Option<String>,
}

impl User {
    /// Whether this user's primary email is `email` (already lower-cased).
    pub fn has_email(&self, email: &str) -> bool {
        self.email
            .as_deref()
            .is_some_and(|e| e.trim().to_lowercase() == email)
    }
}

/// A ticket, with the fields that hold the requester's words.
#[derive(Debug, Clone, Deserialize)]
pub struct Ticket {
    /// Zendesk's ticket id.
    pub id: u64,
    /// The subject line.
    pub subject: Option<String>,
    /// The first comment.
    pub description: Option<String>,
}

/// One entry of a user's compliance deletion log.
#[derive(Debug, Clone, Deserialize)]
pub struct ComplianceStatus {
    /// `request_deletion`, `started`, `complete`, …
    pub action: String,
    /// The area of compliance (`support`, `chat`, `explore`, or `all` for the request).
    pub application: String,
}

#[derive(Deserialize)]
struct SearchPage {
    users: Vec<User>,
    next_page: Option<String>,
    count: u64,
}

#[derive(Deserialize)]
struct CursorMeta {
    has_more: bool,
}

#[derive(Deserialize, Default)]
struct CursorLinks {
    next: Option<String>,
}

#[derive(Deserialize)]
struct DeletedUsersPage {
    deleted_users: Vec<User>,
    meta: CursorMeta,
    #[serde(default)]
    links: CursorLinks,
}

#[derive(Deserialize)]
struct TicketsPage {
    tickets: Vec<Ticket>,
    meta: CursorMeta,
    #[serde(default)]
    links: CursorLinks,
}

#[derive(Deserialize)]
struct ComplianceStatuses {
    compliance_deletion_statuses: Vec<ComplianceStatus>,
}

/// The Zendesk API of one account.
#[derive(Debug)]
pub struct Zendesk {
    http: HttpClient,
    /// `https://SUB.zendesk.com/api/v2`, no trailing slash.
    base: String,
    auth: Auth,
}

/// What a DELETE found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    /// It was there and is deleted now.
    Now,
    /// 404: it was already gone (or never there).
    AlreadyGone,
}

impl Zendesk {
    /// A client for the account at `base`.
    pub fn new(http: HttpClient, base: String, auth: Auth) -> Self {
        Self { http, base, auth }
    }

    fn url(&self, segments: &[&str]) -> Result<String, ConnectorError> {
        join_url(&self.base, segments)
    }

    fn request(&self, method: Method, url: &str, endpoint: &str) -> RequestBuilder {
        let request = self
            .http
            .request(method, url)
            .endpoint(endpoint)
            .header("Accept", "application/json");
        match &self.auth {
            Auth::ApiToken { email, token } => {
                request.basic_auth(&format!("{email}/token"), Some(token.expose()))
            }
            Auth::OAuth(token) => request.bearer(token.expose()),
        }
    }

    /// A page URL that Zendesk handed back (`next_page`, `links.next`), checked to stay on
    /// this account's API, so the credentials never go anywhere else.
    fn follow(&self, next: &str, endpoint: &str) -> Result<String, ConnectorError> {
        let inside = next
            .strip_prefix(&self.base)
            .is_some_and(|rest| rest.starts_with(['/', '.', '?']));
        if inside {
            Ok(next.to_owned())
        } else {
            Err(ConnectorError::permanent(format!(
                "{endpoint} answered with a next-page link outside the \
                 configured API base URL; check base_url (or subdomain)"
            )))
        }
    }

    fn get_json<T: DeserializeOwned>(
        &self,
        url: &str,
        endpoint: &str,
        query: &[(&str, &str)],
    ) -> Result<Option<T>, ConnectorError> {
        let response = self
            .request(Method::GET, url, endpoint)
            .query(query)
            .send()?;
        match response.found() {
            Some(response) => response.json().map(Some),
            None => Ok(None),
        }
    }

    /// Checks the credentials: `GET /users/me`.
    pub fn me(&self) -> Result<(), ConnectorError> {
        let url = self.url(&["users", "me"])?;
        let response = self.request(Method::GET, &url, "GET /users/me").send()?;
        self.expect_found(response)
    }

    fn expect_found(&self, response: Response) -> Result<(), ConnectorError> {
        if response.is_not_found() {
            Err(ConnectorError::permanent(format!(
                "{} answered 404 Not Found; check base_url (or subdomain)",
                response.endpoint()
            )))
        } else {
            Ok(())
        }
    }

    /// Active users whose primary email is `email` (lower-cased): `GET /users/search`,
    /// every page, the exact matches of Zendesk's (partial-matching) search.
    pub fn users_by_email(&self, email: &str) -> Result<Vec<User>, ConnectorError> {
        const ENDPOINT: &str = "GET /users/search";
        let label = ENDPOINT.to_owned();
        let first = self.url(&["users", "search"])?;
        let query = format!("email:{email}");
        let mut announced: Option<u64> = None;
        let mut read: u64 = 0;
        let users = by_cursor(label.clone(), |next| {
            let page: SearchPage = match next {
                None => self.get_json(
                    &first,
                    ENDPOINT,
                    &[("query", query.as_str()), ("per_page", PAGE_SIZE)],
                )?,
                Some(next) => self.get_json(&self.follow(next, ENDPOINT)?, ENDPOINT, &[])?,
            }
            .ok_or_else(|| self.not_found_error(ENDPOINT))?;
            if page.count >= SEARCH_CAP {
                return Err(ConnectorError::permanent(format!(
                    "{label}: the search matched {SEARCH_CAP} users or more, Zendesk's cap, so \
                     its results cannot all be read and the lookup cannot be complete; this \
                     happens when an email is a fragment of very many others"
                )));
            }
            match announced {
                Some(count) if count != page.count => {
                    return Err(ConnectorError::transient(format!(
                        "{label}: the result count changed from {count} to {} while the pages \
                         were read; try again",
                        page.count
                    )))
                }
                _ => announced = Some(page.count),
            }
            read += page.users.len() as u64;
            Ok(CursorPage {
                items: page.users,
                next: page.next_page,
            })
        })
        .collect::<Result<Vec<User>, _>>()?;
        if let Some(count) = announced {
            if read != count {
                return Err(ConnectorError::transient(format!(
                    "{label}: the pages held {read} users where the search announced {count}; \
                     the listing was cut short, so it is not taken as complete"
                )));
            }
        }
        Ok(users
            .into_iter()
            .filter(|user| user.has_email(email))
            .collect())
    }

    /// Deleted users not yet permanently deleted whose email is `email`: `GET /deleted_users`,
    /// every page (Zendesk cannot filter it).
    pub fn deleted_users_by_email(&self, email: &str) -> Result<Vec<User>, ConnectorError> {
        const ENDPOINT: &str = "GET /deleted_users";
        let first = self.url(&["deleted_users"])?;
        let pages = self.cursor_pages(&first, ENDPOINT, |page: DeletedUsersPage| {
            (page.deleted_users, page.meta.has_more, page.links.next)
        });
        pages
            .filter(|user| !matches!(user, Ok(u) if !u.has_email(email)))
            .collect()
    }

    /// The tickets `user` requested: `GET /users/{id}/tickets/requested`, every page. A user
    /// Zendesk no longer lists (deleted) has none to read: `None`.
    pub fn requested_tickets(&self, user: u64) -> Result<Option<Vec<Ticket>>, ConnectorError> {
        const ENDPOINT: &str = "GET /users/{id}/tickets/requested";
        let first = self.url(&["users", &user.to_string(), "tickets", "requested"])?;
        let mut gone = false;
        let tickets = by_cursor(ENDPOINT.to_owned(), |next| {
            let url = match next {
                None => first.clone(),
                Some(next) => self.follow(next, ENDPOINT)?,
            };
            let query: &[(&str, &str)] = if next.is_none() {
                &[("page[size]", PAGE_SIZE)]
            } else {
                &[]
            };
            match self.get_json::<TicketsPage>(&url, ENDPOINT, query)? {
                Some(page) => {
                    cursor_page(ENDPOINT, page.tickets, page.meta.has_more, page.links.next)
                }
                None if next.is_none() => {
                    gone = true;
                    Ok(CursorPage {
                        items: Vec::new(),
                        next: None,
                    })
                }
                None => Err(self.not_found_error(ENDPOINT)),
            }
        })
        .collect::<Result<Vec<Ticket>, _>>()?;
        Ok((!gone).then_some(tickets))
    }

    fn cursor_pages<'a, P, T, F>(
        &'a self,
        first: &'a str,
        endpoint: &'static str,
        split: F,
    ) -> impl Iterator<Item = Result<T, ConnectorError>> + 'a
    where
        P: DeserializeOwned + 'a,
        T: 'a,
        F: Fn(P) -> (Vec<T>, bool, Option<String>) + 'a,
    {
        by_cursor(endpoint.to_owned(), move |next| {
            let page: P = match next {
                None => self.get_json(first, endpoint, &[("page[size]", PAGE_SIZE)])?,
                Some(next) => self.get_json(&self.follow(next, endpoint)?, endpoint, &[])?,
            }
            .ok_or_else(|| self.not_found_error(endpoint))?;
            let (items, has_more, next) = split(page);
            cursor_page(endpoint, items, has_more, next)
        })
    }

    fn not_found_error(&self, endpoint: &str) -> ConnectorError {
        ConnectorError::permanent(format!(
            "{endpoint} answered 404 Not Found; check base_url (or subdomain)"
        ))
    }

    fn delete(&self, segments: &[&str], endpoint: &str) -> Result<Deleted, ConnectorError> {
        let url = self.url(segments)?;
        let response = self.request(Method::DELETE, &url, endpoint).send()?;
        Ok(if response.is_not_found() {
            Deleted::AlreadyGone
        } else {
            Deleted::Now
        })
    }

    /// `DELETE /tickets/{id}`: moves the ticket to the deleted tickets (soft).
    pub fn delete_ticket(&self, id: u64) -> Result<Deleted, ConnectorError> {
        self.delete(&["tickets", &id.to_string()], "DELETE /tickets/{id}")
    }

    /// `DELETE /deleted_tickets/{id}`: removes a deleted ticket for good.
    pub fn purge_ticket(&self, id: u64) -> Result<Deleted, ConnectorError> {
        self.delete(
            &["deleted_tickets", &id.to_string()],
            "DELETE /deleted_tickets/{id}",
        )
    }

    /// `DELETE /users/{id}`: moves the user to the deleted users (soft).
    pub fn delete_user(&self, id: u64) -> Result<Deleted, ConnectorError> {
        self.delete(&["users", &id.to_string()], "DELETE /users/{id}")
    }

    /// `DELETE /deleted_users/{id}`: deletes a deleted user permanently, which starts
    /// Zendesk's compliance deletion in every product.
    pub fn purge_user(&self, id: u64) -> Result<Deleted, ConnectorError> {
        self.delete(
            &["deleted_users", &id.to_string()],
            "DELETE /deleted_users/{id}",
        )
    }

    /// `GET /users/{id}/compliance_deletion_statuses`; `None` if Zendesk knows no such user.
    pub fn compliance_statuses(
        &self,
        id: u64,
    ) -> Result<Option<Vec<ComplianceStatus>>, ConnectorError> {
        let url = self.url(&["users", &id.to_string(), "compliance_deletion_statuses"])?;
        Ok(self
            .get_json::<ComplianceStatuses>(
                &url,
                "GET /users/{id}/compliance_deletion_statuses",
                &[],
            )?
            .map(|s| s.compliance_deletion_statuses))
    }
}

fn cursor_page<T>(
    endpoint: &str,
    items: Vec<T>,
    has_more: bool,
    next: Option<String>,
) -> Result<CursorPage<T>, ConnectorError> {
    let next = match (has_more, next) {
        (false, _) => None,
        (true, Some(next)) => Some(next),
        (true, None) => {
            return Err(ConnectorError::transient(format!(
                "{endpoint} says more pages follow but gives no link to them; \
                 the listing is not taken as complete"
            )))
        }
    };
    Ok(CursorPage { items, next })
}

/// Whether a compliance deletion log shows work still under way: some product started (or
/// was asked) and has not reported `complete`. An empty log means nothing was asked.
pub fn compliance_pending(log: &[ComplianceStatus]) -> bool {
    let mut latest: Vec<(&str, &str)> = Vec::new();
    let mut requested = false;
    for entry in log {
        if entry.application == "all" {
            requested |= entry.action == "request_deletion";
            continue;
        }
        match latest.iter_mut().find(|(app, _)| *app == entry.application) {
            Some(slot) => slot.1 = &entry.action,
            None => latest.push((&entry.application, &entry.action)),
        }
    }
    if latest.is_empty() {
        return requested;
    }
    latest.iter().any(|(_, action)| *action != "complete")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(entries: &[(&str, &str)]) -> Vec<ComplianceStatus> {
        entries
            .iter()
            .map(|(application, action)| ComplianceStatus {
                application: (*application).to_owned(),
                action: (*action).to_owned(),
            })
            .collect()
    }

    #[test]
    fn compliance_is_pending_until_every_product_completes() {
        let cases: &[(&[(&str, &str)], bool)] = &[
            (&[], false),
            (&[("all", "request_deletion")], true),
            (&[("all", "request_deletion"), ("support", "started")], true),
            (
                &[
                    ("all", "request_deletion"),
                    ("support", "started"),
                    ("support", "complete"),
                    ("chat", "started"),
                ],
                true,
            ),
            (
                &[
                    ("all", "request_deletion"),
                    ("support", "started"),
                    ("chat", "started"),
                    ("support", "complete"),
                    ("chat", "complete"),
                ],
                false,
            ),
        ];
        for (entries, pending) in cases {
            assert_eq!(compliance_pending(&log(entries)), *pending, "{entries:?}");
        }
    }

    #[test]
    fn next_page_links_must_stay_on_the_configured_api() {
        let http = HttpClient::new("helpdesk", &Default::default()).unwrap();
        let zendesk = Zendesk::new(
            http,
            "https://acme.zendesk.com/api/v2".to_owned(),
            Auth::OAuth(Secret::new("t")),
        );
        for good in [
            "https://acme.zendesk.com/api/v2/users/search.json?page=2&query=email%3Aa%40b.se",
            "https://acme.zendesk.com/api/v2/deleted_users?page%5Bafter%5D=x",
        ] {
            assert_eq!(zendesk.follow(good, "GET /x").unwrap(), good);
        }
        for bad in [
            "https://evil.example/api/v2/users/search.json?page=2",
            "https://acme.zendesk.com.evil.example/api/v2/users",
            "https://acme.zendesk.com/api/v2evil/users",
            "http://acme.zendesk.com/api/v2/users",
        ] {
            let error = zendesk.follow(bad, "GET /x").unwrap_err().to_string();
            assert!(!error.contains("evil"), "the link is not quoted: {error}");
        }
    }

    #[test]
    fn email_match_is_exact_and_case_insensitive() {
        let user = |email: &str| User {
            id: 1,
            name: None,
            email: Some(email.to_owned()),
            phone: None,
            external_id: None,
            created_at: None,
            last_login_at: None,
        };
        assert!(user("Anna@Example.se").has_email("anna@example.se"));
        assert!(!user("xanna@example.se").has_email("anna@example.se"));
        assert!(!user("anna@example.se.evil").has_email("anna@example.se"));
    }
}
