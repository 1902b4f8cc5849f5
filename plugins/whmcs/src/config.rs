//! The settings a sysadmin writes for a WHMCS system (`[systems.X.settings]`).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use gallra_plugin_api::http::HttpSettings;
use gallra_plugin_api::{ConnectorError, SettingsProblems};
use serde::{Deserialize, Deserializer};

/// How to talk to one WHMCS installation, and what erasing a client may destroy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The installation's address, e.g. `https://billing.example.se`; the API is at
    /// `<base_url>/includes/api.php`.
    pub base_url: String,
    /// The API credential's identifier (Setup > Staff Management > Manage API Credentials).
    pub identifier: String,
    /// A file holding the API credential's secret.
    pub secret_file: PathBuf,
    /// A file holding the `$api_access_key` of `configuration.php`, for installations that
    /// cannot allow-list gallra's IP address. Leave out to rely on the IP allow-list.
    pub access_key_file: Option<PathBuf>,
    /// The id of the client custom field that holds the personnummer, if the site keeps
    /// one. Scans report it as an identifier; anonymizing clears it.
    pub personnummer_field: Option<u64>,
    /// How the site writes dates (General Settings > Localisation > Date Format), which the
    /// client's last login is written in: `dd/mm/yyyy` (default), `dd.mm.yyyy`,
    /// `dd-mm-yyyy`, `mm/dd/yyyy`, `yyyy/mm/dd` or `yyyy-mm-dd`.
    #[serde(default)]
    pub date_format: DateFormat,
    /// What `erase` does with a client who has invoices: `refuse` (default) answers that
    /// invoices are bookkeeping records and deletes nothing; `delete` deletes the client
    /// with its invoices. WHMCS itself does not guard them. Use `delete` only when no law
    /// keeps the invoices, or together with a `legal_hold` on this system in gallra.toml,
    /// which anonymizes the client until the hold ends and erases only then.
    #[serde(default)]
    pub invoices: InvoicePolicy,
    /// Whether deleting a client also deletes its users (logins) that belong to no other
    /// client (`deleteusers`). Default true.
    #[serde(default = "yes")]
    pub delete_users: bool,
    /// Whether deleting a client also deletes its payment transactions
    /// (`deletetransactions`). Default true.
    #[serde(default = "yes")]
    pub delete_transactions: bool,
    /// The domain of the address an anonymized client gets (`anonymized-<id>@<domain>`),
    /// since WHMCS requires every client to have a unique email. Default
    /// `anonymized.invalid`, which can never receive mail.
    #[serde(default = "default_anonymized_email_domain")]
    pub anonymized_email_domain: String,
    /// How many clients or invoices one API call asks for. Default 100.
    #[serde(default = "default_page_size")]
    pub page_size: u32,
    /// Timeouts, retries and request rate (`[systems.X.settings.http]`).
    #[serde(default)]
    pub http: HttpSettings,
}

fn yes() -> bool {
    true
}

fn default_anonymized_email_domain() -> String {
    "anonymized.invalid".to_owned()
}

fn default_page_size() -> u32 {
    100
}

impl Settings {
    /// Checks what serde cannot.
    pub fn validate(&self) -> Result<(), ConnectorError> {
        let mut problems = SettingsProblems::new();
        let url = self.base_url.trim();
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            problems.add(
                "base_url",
                "base_url must be the installation's http(s) address, e.g. https://billing.example.se",
            );
        }
        if url.contains("api.php") {
            problems.add(
                "base_url",
                "base_url is the installation's address without /includes/api.php; the connector adds it",
            );
        }
        if self.identifier.trim().is_empty() {
            problems.add(
                "identifier",
                "identifier must be the API credential's identifier",
            );
        }
        let domain = &self.anonymized_email_domain;
        if domain.is_empty() || domain.contains('@') || !domain.contains('.') {
            problems.add(
                "anonymized_email_domain",
                "anonymized_email_domain must be a domain name such as anonymized.invalid",
            );
        }
        if !(1..=1000).contains(&self.page_size) {
            problems.add("page_size", "page_size must be between 1 and 1000");
        }
        problems.check(self.http.validate("http"));
        problems.into_result()
    }
}

/// What `erase` does with a client who has invoices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoicePolicy {
    /// Delete nothing and answer that the invoices are bookkeeping records.
    #[default]
    Refuse,
    /// Delete the client, invoices included.
    Delete,
}

/// One part of a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Day,
    Month,
    Year,
}

/// The order and separator of a WHMCS date, e.g. `dd/mm/yyyy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateFormat {
    order: [Part; 3],
    separator: char,
}

impl Default for DateFormat {
    fn default() -> Self {
        Self {
            order: [Part::Day, Part::Month, Part::Year],
            separator: '/',
        }
    }
}

impl DateFormat {
    /// Reads a date written in this format; `None` if it is not one (or not a real date).
    pub fn parse(&self, text: &str) -> Option<jiff::civil::Date> {
        let mut parts = text.split(self.separator);
        let (mut year, mut month, mut day) = (None, None, None);
        for part in self.order {
            let field = parts.next()?;
            let width_ok = match part {
                Part::Year => field.len() == 4,
                Part::Month | Part::Day => (1..=2).contains(&field.len()),
            };
            if !width_ok || !field.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let value: i16 = field.parse().ok()?;
            match part {
                Part::Year => year = Some(value),
                Part::Month => month = Some(value),
                Part::Day => day = Some(value),
            }
        }
        if parts.next().is_some() {
            return None;
        }
        let month = i8::try_from(month?).ok()?;
        let day = i8::try_from(day?).ok()?;
        jiff::civil::Date::new(year?, month, day).ok()
    }
}

impl FromStr for DateFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const EXPECTED: &str = "expected one of dd/mm/yyyy, dd.mm.yyyy, dd-mm-yyyy, mm/dd/yyyy, \
                                yyyy/mm/dd, yyyy-mm-dd";
        let lower = s.trim().to_ascii_lowercase();
        let separator = lower
            .chars()
            .find(|c| matches!(c, '/' | '.' | '-'))
            .ok_or_else(|| format!("no separator in the date format; {EXPECTED}"))?;
        let mut order = Vec::new();
        for token in lower.split(separator) {
            order.push(match token {
                "dd" => Part::Day,
                "mm" => Part::Month,
                "yyyy" => Part::Year,
                _ => {
                    return Err(format!(
                        "unknown part {token:?} in the date format; {EXPECTED}"
                    ))
                }
            });
        }
        let order: [Part; 3] = order
            .try_into()
            .map_err(|_| format!("a date format has three parts; {EXPECTED}"))?;
        let distinct = order[0] != order[1] && order[1] != order[2] && order[0] != order[2];
        if !distinct {
            return Err(format!(
                "each part appears once in a date format; {EXPECTED}"
            ));
        }
        Ok(Self { order, separator })
    }
}

impl fmt::Display for DateFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = |p: Part| match p {
            Part::Day => "dd",
            Part::Month => "mm",
            Part::Year => "yyyy",
        };
        let s = self.separator;
        write!(
            f,
            "{}{s}{}{s}{}",
            name(self.order[0]),
            name(self.order[1]),
            name(self.order[2])
        )
    }
}

impl<'de> Deserialize<'de> for DateFormat {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    #[test]
    fn date_formats_read_whmcs_dates() {
        let cases = [
            ("dd/mm/yyyy", "03/10/2016", Some(date(2016, 10, 3))),
            ("mm/dd/yyyy", "03/10/2016", Some(date(2016, 3, 10))),
            ("dd.mm.yyyy", "29.02.2024", Some(date(2024, 2, 29))),
            ("dd-mm-yyyy", "29-02-2023", None),
            ("yyyy-mm-dd", "2016-10-03", Some(date(2016, 10, 3))),
            ("YYYY/MM/DD", "2016/10/03", Some(date(2016, 10, 3))),
            ("dd/mm/yyyy", "2016-10-03", None),
            ("dd/mm/yyyy", "00/00/0000", None),
            ("dd/mm/yyyy", "3/1/2016", Some(date(2016, 1, 3))),
            ("dd/mm/yyyy", "03/10/16", None),
            ("dd/mm/yyyy", "03/10/2016/1", None),
        ];
        for (format, text, expected) in cases {
            let format: DateFormat = format.parse().unwrap();
            assert_eq!(format.parse(text), expected, "{format} {text}");
        }
    }

    #[test]
    fn bad_date_formats_are_refused_with_the_choices() {
        for bad in [
            "dd/mm",
            "dd/mm/yy",
            "dd mm yyyy",
            "dd/dd/yyyy",
            "dd/mm/yyyy/hh",
        ] {
            let err = bad.parse::<DateFormat>().unwrap_err();
            assert!(err.contains("dd/mm/yyyy"), "{bad}: {err}");
        }
        assert_eq!(
            "DD.MM.YYYY".parse::<DateFormat>().unwrap().to_string(),
            "dd.mm.yyyy"
        );
    }

    /// `gallra check` shows every mistake at once, not one per edit.
    #[test]
    fn every_settings_problem_is_reported_at_once() {
        let settings = serde_json::json!({ "base_url": "ftp://billing.example.se", "identifier": " ", "secret_file": "/s", "page_size": 0 });
        let keys =
            gallra_plugin_api::testing::settings_problems::<crate::WhmcsConnector>(&settings);
        assert_eq!(keys, ["base_url", "identifier", "page_size"]);
    }
}
