//! The Mailchimp Marketing API calls the connector makes, each labelled with its path
//! template, and the gate that keeps simultaneous requests within the account's limit.

use std::sync::{Condvar, Mutex};

use gallra_plugin_api::http::{
    by_offset, join_url, HttpClient, Method, OffsetPage, RequestBuilder, Response, Secret,
};
use gallra_plugin_api::ConnectorError;
use md5::{Digest, Md5};
use serde::Deserialize;
use serde_json::{Map, Value};

/// An audience member, with the fields that hold personal data.
#[derive(Debug, Clone, Deserialize)]
pub struct Member {
    /// The subscriber hash: MD5 of the lower-cased email.
    pub id: String,
    /// The email address.
    pub email_address: String,
    /// `subscribed`, `unsubscribed`, `cleaned`, `pending`, `transactional` or `archived`.
    pub status: String,
    /// The audience.
    pub list_id: String,
    /// The audience's own fields (FNAME, LNAME, ADDRESS, PHONE, …).
    #[serde(default)]
    pub merge_fields: Map<String, Value>,
    /// When the member signed up, if known.
    #[serde(default)]
    pub timestamp_signup: Option<String>,
    /// When the member confirmed their opt-in.
    #[serde(default)]
    pub timestamp_opt: Option<String>,
    /// The IP address the member signed up from.
    #[serde(default)]
    pub ip_signup: Option<String>,
    /// The IP address the member confirmed from.
    #[serde(default)]
    pub ip_opt: Option<String>,
    /// The member's language.
    #[serde(default)]
    pub language: Option<String>,
    /// When the member was last changed.
    #[serde(default)]
    pub last_changed: Option<String>,
}

#[derive(Deserialize)]
struct SearchMembers {
    exact_matches: Matches,
}

#[derive(Deserialize)]
struct Matches {
    members: Vec<Member>,
}

#[derive(Deserialize)]
struct Lists {
    lists: Vec<List>,
    total_items: u64,
}

#[derive(Deserialize)]
struct List {
    id: String,
}

/// A counting semaphore: at most `permits` holders at once.
#[derive(Debug)]
pub struct Gate {
    free: Mutex<u32>,
    freed: Condvar,
}

/// A held permit; gives it back when dropped.
pub struct Permit<'a>(&'a Gate);

impl Gate {
    /// A gate that lets `permits` through at once.
    pub fn new(permits: u32) -> Self {
        Self {
            free: Mutex::new(permits.max(1)),
            freed: Condvar::new(),
        }
    }

    /// Waits for a permit.
    pub fn enter(&self) -> Permit<'_> {
        let mut free = self.free.lock().unwrap_or_else(|p| p.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|p| p.into_inner());
        }
        *free -= 1;
        Permit(self)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut free = self.0.free.lock().unwrap_or_else(|p| p.into_inner());
        *free += 1;
        self.0.freed.notify_one();
    }
}

/// The subscriber hash Mailchimp keys a member by: MD5 of the lower-cased email, in hex.
pub fn subscriber_hash(email: &str) -> String {
    Md5::digest(email.to_lowercase().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The Mailchimp API of one account.
#[derive(Debug)]
pub struct Mailchimp {
    http: HttpClient,
    /// `https://DC.api.mailchimp.com/3.0`, no trailing slash.
    base: String,
    key: Secret,
    gate: Gate,
    page_size: u32,
}

impl Mailchimp {
    /// A client for the account at `base`, with at most `connections` requests at once.
    pub fn new(
        http: HttpClient,
        base: String,
        key: Secret,
        connections: u32,
        page_size: u32,
    ) -> Self {
        Self {
            http,
            base,
            key,
            gate: Gate::new(connections),
            page_size,
        }
    }

    fn url(&self, segments: &[&str]) -> Result<String, ConnectorError> {
        join_url(&self.base, segments)
    }

    fn request(&self, method: Method, url: &str, endpoint: &str) -> RequestBuilder {
        self.http
            .request(method, url)
            .endpoint(endpoint)
            .header("Accept", "application/json")
            // Mailchimp takes any user name; the key is the password.
            .basic_auth("gallra", Some(self.key.expose()))
    }

    /// Sends through the gate, so that this connector never has more than
    /// `max_connections` requests under way (retries and their waits included).
    fn send(&self, request: RequestBuilder) -> Result<Response, ConnectorError> {
        let _permit = self.gate.enter();
        request.send()
    }

    fn not_found(&self, endpoint: &str) -> ConnectorError {
        ConnectorError::permanent(format!("{endpoint} answered 404 Not Found; check base_url"))
    }

    /// Checks the key: `GET /ping`.
    pub fn ping(&self) -> Result<(), ConnectorError> {
        const ENDPOINT: &str = "GET /ping";
        let url = self.url(&["ping"])?;
        let response = self.send(self.request(Method::GET, &url, ENDPOINT))?;
        match response.found() {
            Some(_) => Ok(()),
            None => Err(self.not_found(ENDPOINT)),
        }
    }

    /// The members whose email is `email` (lower-cased) that Mailchimp's search finds, in
    /// any audience: `GET /search-members`, exact matches only.
    pub fn search(&self, email: &str) -> Result<Vec<Member>, ConnectorError> {
        const ENDPOINT: &str = "GET /search-members";
        let url = self.url(&["search-members"])?;
        let request = self
            .request(Method::GET, &url, ENDPOINT)
            .query(&[("query", email)]);
        let found: SearchMembers = self
            .send(request)?
            .found()
            .ok_or_else(|| self.not_found(ENDPOINT))?
            .json()?;
        Ok(found
            .exact_matches
            .members
            .into_iter()
            .filter(|m| m.email_address.to_lowercase() == email)
            .collect())
    }

    /// Every audience's id: `GET /lists`, every page.
    pub fn audiences(&self) -> Result<Vec<String>, ConnectorError> {
        const ENDPOINT: &str = "GET /lists";
        let url = self.url(&["lists"])?;
        let label = ENDPOINT.to_owned();
        by_offset(label, u64::from(self.page_size), |offset, count| {
            let request = self.request(Method::GET, &url, ENDPOINT).query(&[
                ("count", count.to_string()),
                ("offset", offset.to_string()),
                ("fields", "lists.id,total_items".to_owned()),
            ]);
            let page: Lists = self
                .send(request)?
                .found()
                .ok_or_else(|| self.not_found(ENDPOINT))?
                .json()?;
            Ok(OffsetPage {
                items: page.lists.into_iter().map(|l| l.id).collect(),
                total: page.total_items,
            })
        })
        .collect()
    }

    /// The member `hash` of audience `list`, in whatever status (archived included); `None`
    /// if the audience has no such member: `GET /lists/{list}/members/{hash}`.
    pub fn member(&self, list: &str, hash: &str) -> Result<Option<Member>, ConnectorError> {
        let url = self.url(&["lists", list, "members", hash])?;
        let response = self.send(self.request(
            Method::GET,
            &url,
            "GET /lists/{list_id}/members/{subscriber_hash}",
        ))?;
        response.found().map(|r| r.json()).transpose()
    }

    /// Deletes the member for good (`POST …/actions/delete-permanent`); `false` if it was
    /// already gone. Mailchimp will not let the address be added to the audience again.
    pub fn delete_permanent(&self, list: &str, hash: &str) -> Result<bool, ConnectorError> {
        let url = self.url(&[
            "lists",
            list,
            "members",
            hash,
            "actions",
            "delete-permanent",
        ])?;
        let response = self.send(self.request(
            Method::POST,
            &url,
            "POST /lists/{list_id}/members/{subscriber_hash}/actions/delete-permanent",
        ))?;
        Ok(!response.is_not_found())
    }

    /// Sets the member's status to `unsubscribed`: `PATCH /lists/{list}/members/{hash}`;
    /// `false` if the member was gone.
    pub fn unsubscribe(&self, list: &str, hash: &str) -> Result<bool, ConnectorError> {
        let url = self.url(&["lists", list, "members", hash])?;
        let request = self
            .request(
                Method::PATCH,
                &url,
                "PATCH /lists/{list_id}/members/{subscriber_hash}",
            )
            .json(&serde_json::json!({"status": "unsubscribed"}));
        Ok(!self.send(request)?.is_not_found())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;

    #[test]
    fn subscriber_hash_is_md5_of_the_lowercased_email() {
        // md5("urist.mcvankab@freddiesjokes.com"), Mailchimp's documented example.
        assert_eq!(
            subscriber_hash("Urist.McVankab@freddiesjokes.com"),
            "62eeb292278cc15f5817cb78f7790b08"
        );
    }

    #[test]
    fn the_gate_never_lets_more_through_than_its_permits() {
        let gate = Arc::new(Gate::new(3));
        let inside = Arc::new(AtomicU32::new(0));
        let most = Arc::new(AtomicU32::new(0));
        let threads: Vec<_> = (0..12)
            .map(|_| {
                let (gate, inside, most) = (gate.clone(), inside.clone(), most.clone());
                std::thread::spawn(move || {
                    let _permit = gate.enter();
                    let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 3);
    }
}
