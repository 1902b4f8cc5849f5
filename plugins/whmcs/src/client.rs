//! The WHMCS API: form-encoded POSTs to `/includes/api.php`, answered with
//! `{"result": "success" | "error", ...}` — errors usually with HTTP 200.

use gallra_plugin_api::http::{by_offset, join_url, HttpClient, OffsetPage, Secret};
use gallra_plugin_api::ConnectorError;
use serde::de::DeserializeOwned;

use crate::config::Settings;
use crate::wire::{ClientList, Details, Envelope, Invoice, InvoiceList};

/// What an action answered.
#[derive(Debug)]
pub enum Answer<T> {
    /// `result: success`.
    Found(T),
    /// The client does not exist ("Client Not Found" and kin).
    NotFound,
}

/// One WHMCS installation's API.
pub struct Api {
    http: HttpClient,
    url: String,
    identifier: String,
    secret: Secret,
    access_key: Option<Secret>,
    page_size: u32,
}

impl Api {
    /// Reads the secrets and builds the HTTP client; touches no network.
    pub fn new(system: &str, settings: &Settings) -> Result<Self, ConnectorError> {
        let url = join_url(settings.base_url.trim(), &["includes", "api.php"])
            .map_err(|_| ConnectorError::config("base_url", "base_url is not a valid URL"))?;
        Ok(Self {
            http: HttpClient::new(system, &settings.http)?,
            url,
            identifier: settings.identifier.trim().to_owned(),
            secret: Secret::from_file(&settings.secret_file)?,
            access_key: settings
                .access_key_file
                .as_ref()
                .map(Secret::from_file)
                .transpose()?,
            page_size: settings.page_size,
        })
    }

    /// Runs `action` with `params` and decodes a successful answer as `T`.
    pub fn call<T: DeserializeOwned>(
        &self,
        action: &'static str,
        params: &[(&str, String)],
    ) -> Result<Answer<T>, ConnectorError> {
        let mut form: Vec<(&str, &str)> = vec![
            ("action", action),
            ("identifier", &self.identifier),
            ("secret", self.secret.expose()),
            ("responsetype", "json"),
        ];
        if let Some(key) = &self.access_key {
            form.push(("accesskey", key.expose()));
        }
        form.extend(params.iter().map(|(k, v)| (*k, v.as_str())));
        let response = self
            .http
            .post(&self.url)
            .endpoint(format!("POST /includes/api.php {action}"))
            .form(&form)
            .send()?;
        if response.is_not_found() {
            return Err(ConnectorError::permanent(format!(
                "POST /includes/api.php {action} answered 404 Not Found: is \
                 base_url the address WHMCS is installed at?"
            )));
        }
        let envelope: Envelope = response.json()?;
        if envelope.result.eq_ignore_ascii_case("success") {
            return response.json().map(Answer::Found);
        }
        let message = envelope.message.unwrap_or_default();
        match classify(&message) {
            Class::NotFound => Ok(Answer::NotFound),
            class => Err(class.error(action, &message)),
        }
    }

    /// Like [`call`](Self::call) for actions where "not found" is itself a failure.
    fn call_found<T: DeserializeOwned>(
        &self,
        action: &'static str,
        params: &[(&str, String)],
    ) -> Result<T, ConnectorError> {
        match self.call(action, params)? {
            Answer::Found(value) => Ok(value),
            Answer::NotFound => Err(ConnectorError::permanent(format!(
                "POST /includes/api.php {action} answered \"not found\" where \
                 no client was named"
            ))),
        }
    }

    /// One page of clients in id order.
    pub fn clients(&self, offset: u64, limit: u32) -> Result<ClientList, ConnectorError> {
        self.call_found(
            "GetClients",
            &[
                ("limitstart", offset.to_string()),
                ("limitnum", limit.to_string()),
                ("orderby", "id".to_owned()),
                ("sorting", "ASC".to_owned()),
            ],
        )
    }

    /// A client's details and statistics, by id.
    pub fn details_by_id(&self, id: u64) -> Result<Option<Details>, ConnectorError> {
        self.details(("clientid", id.to_string()))
    }

    /// A client's details and statistics, by email address.
    pub fn details_by_email(&self, email: &str) -> Result<Option<Details>, ConnectorError> {
        self.details(("email", email.to_owned()))
    }

    fn details(&self, by: (&str, String)) -> Result<Option<Details>, ConnectorError> {
        match self.call("GetClientsDetails", &[by, ("stats", "true".to_owned())])? {
            Answer::Found(details) => Ok(Some(details)),
            Answer::NotFound => Ok(None),
        }
    }

    /// Every invoice of the client, drafts included, read page by page.
    pub fn invoices(&self, client_id: u64) -> Result<Vec<Invoice>, ConnectorError> {
        let label = "GetInvoices".to_owned();
        by_offset(label, u64::from(self.page_size), |offset, limit| {
            let page: InvoiceList = self.call_found(
                "GetInvoices",
                &[
                    ("userid", client_id.to_string()),
                    ("limitstart", offset.to_string()),
                    ("limitnum", limit.to_string()),
                ],
            )?;
            Ok(OffsetPage {
                items: page.invoices,
                total: page.totalresults,
            })
        })
        .collect()
    }

    /// Sets the client's fields; "not found" means it is gone.
    pub fn update_client(
        &self,
        client_id: u64,
        fields: &[(&str, String)],
    ) -> Result<Answer<()>, ConnectorError> {
        let mut params = vec![("clientid", client_id.to_string())];
        params.extend(fields.iter().cloned());
        Ok(
            match self.call::<serde_json::Value>("UpdateClient", &params)? {
                Answer::Found(_) => Answer::Found(()),
                Answer::NotFound => Answer::NotFound,
            },
        )
    }

    /// Deletes the client and everything WHMCS keeps for it.
    pub fn delete_client(
        &self,
        client_id: u64,
        delete_users: bool,
        delete_transactions: bool,
    ) -> Result<Answer<()>, ConnectorError> {
        let flag = |b: bool| if b { "true" } else { "false" }.to_owned();
        let params = [
            ("clientid", client_id.to_string()),
            ("deleteusers", flag(delete_users)),
            ("deletetransactions", flag(delete_transactions)),
        ];
        Ok(
            match self.call::<serde_json::Value>("DeleteClient", &params)? {
                Answer::Found(_) => Answer::Found(()),
                Answer::NotFound => Answer::NotFound,
            },
        )
    }
}

/// What an error message means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    NotFound,
    Credentials,
    IpNotAllowed,
    NoPermission,
    Other,
}

fn classify(message: &str) -> Class {
    let m = message.trim().to_ascii_lowercase();
    if m.starts_with("client not found")
        || m.starts_with("client id not found")
        || m == "client does not exist"
    {
        Class::NotFound
    } else if m.starts_with("authentication failed") || m.contains("invalid credentials") {
        Class::Credentials
    } else if m.starts_with("invalid ip") {
        Class::IpNotAllowed
    } else if m.starts_with("invalid permissions") || m.contains("not allowed") {
        Class::NoPermission
    } else {
        Class::Other
    }
}

impl Class {
    fn error(self, action: &str, message: &str) -> ConnectorError {
        let at = format!("POST /includes/api.php {action}");
        match self {
            Class::Credentials => ConnectorError::permanent(format!(
                "{at}: WHMCS answered \"Authentication Failed\": check identifier and \
                 secret_file (Setup > Staff Management > Manage API Credentials)"
            )),
            Class::IpNotAllowed => ConnectorError::permanent(format!(
                "{at}: WHMCS does not accept API calls from this host's IP address: add it \
                 under General Settings > Security > API IP Access Restriction, or set \
                 access_key_file"
            )),
            Class::NoPermission => ConnectorError::permanent(format!(
                "{at}: the API credential's role does not allow {action}: grant it in \
                 Manage API Credentials > API Roles"
            )),
            Class::NotFound | Class::Other => ConnectorError::permanent(format!(
                "{at}: WHMCS answered an error: {}",
                safe_message(message)
            )),
        }
    }
}

/// WHMCS' message when it cannot hold personal data (no `@`, no digits, short), else a
/// placeholder: an error text may quote an email, a name or a number from the request.
fn safe_message(message: &str) -> String {
    let message = message.trim();
    let plain = message.len() <= 80
        && message
            .chars()
            .all(|c| c.is_ascii_alphabetic() || matches!(c, ' ' | '.' | ',' | '-' | '\'' | ':'));
    if plain && !message.is_empty() {
        format!("\"{message}\"")
    } else {
        "(the message is withheld: it may quote personal data)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_are_classified() {
        assert_eq!(classify("Client Not Found"), Class::NotFound);
        assert_eq!(classify("Client ID Not Found"), Class::NotFound);
        assert_eq!(classify("Authentication Failed"), Class::Credentials);
        assert_eq!(classify("Invalid IP 192.0.2.1"), Class::IpNotAllowed);
        assert_eq!(
            classify("Invalid Permissions: API action \"DeleteClient\" is not allowed"),
            Class::NoPermission
        );
        assert_eq!(classify("Something else"), Class::Other);
    }

    #[test]
    fn messages_that_may_quote_data_are_withheld() {
        assert_eq!(safe_message("Invalid Action"), "\"Invalid Action\"");
        for risky in [
            "Email anna@example.se already in use",
            "Invalid IP 192.0.2.1",
            "Personnummer 811218-9876 invalid",
        ] {
            assert!(safe_message(risky).contains("withheld"), "{risky}");
        }
    }

    #[test]
    fn auth_errors_name_the_settings_to_fix() {
        let e = Class::Credentials.error("GetClients", "Authentication Failed");
        assert!(matches!(e, ConnectorError::Permanent { .. }));
        let text = e.to_string();
        assert!(
            text.contains("secret_file") && text.contains("identifier"),
            "{text}"
        );
    }
}
