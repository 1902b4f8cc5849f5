//! What a client's details say: its identifiers and the facts policies decide on. Pure
//! functions of the API's answers, so that the dates can be tested without a server.

use gallra_plugin_api::{Identifier, IdentifierKind, SubjectFacts};
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;
use jiff::Timestamp;

use crate::config::DateFormat;
use crate::wire::{Client, Details};

/// Reads `client.lastlogin`, an HTML fragment like
/// `Date: 03/10/2016 10:26<br>IP Address: 192.0.2.7<br>Host: example`, in the site's date
/// format and `tz`. "No Login Logged", an empty or a malformed date are `None`: unknown,
/// never "long ago".
pub fn last_login(text: &str, format: DateFormat, tz: &TimeZone) -> Option<Timestamp> {
    let start = text.find("Date:")? + "Date:".len();
    let rest = &text[start..];
    let end = rest.find('<').unwrap_or(rest.len());
    let mut words = rest[..end].split_whitespace();
    let date = format.parse(words.next()?)?;
    let time = match words.next() {
        Some(time) => parse_time(time)?,
        None => Time::midnight(),
    };
    if words.next().is_some() {
        return None;
    }
    at(date.to_datetime(time), tz)
}

fn parse_time(text: &str) -> Option<Time> {
    let mut parts = text.split(':');
    let mut next = || -> Option<i8> {
        let p = parts.next()?;
        if p.is_empty() || p.len() > 2 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        p.parse().ok()
    };
    let (hour, minute) = (next()?, next()?);
    let second = match parts.next() {
        None => 0,
        Some(s) if s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok()?,
        Some(_) => return None,
    };
    if parts.next().is_some() {
        return None;
    }
    Time::new(hour, minute, second, 0).ok()
}

/// A wall-clock time in `tz`; in a DST gap or fold, the earlier reading.
fn at(datetime: DateTime, tz: &TimeZone) -> Option<Timestamp> {
    tz.to_ambiguous_timestamp(datetime).compatible().ok()
}

/// The start of `date` in `tz`.
pub fn start_of(date: Date, tz: &TimeZone) -> Option<Timestamp> {
    at(date.to_datetime(Time::midnight()), tz)
}

/// The facts the client's details give: last login, active products and domains, unpaid
/// invoices. A count WHMCS did not give is unknown, not zero.
pub fn facts(details: &Details, format: DateFormat, tz: &TimeZone) -> SubjectFacts {
    let stats = details.stats.as_ref();
    let active_services = stats.and_then(|s| {
        s.productsnumactive
            .zip(s.numactivedomains)
            .map(|(products, domains)| products + domains)
    });
    SubjectFacts {
        last_activity: details
            .client
            .lastlogin
            .as_deref()
            .and_then(|text| last_login(text, format, tz)),
        relationship_ended: None,
        active_services,
        unpaid_invoices: stats.and_then(|s| s.numunpaidinvoices),
    }
}

/// Every identifier the client's record holds; values that do not parse are left out.
pub fn identifiers(client: &Client, personnummer_field: Option<u64>) -> Vec<Identifier> {
    let mut found = Vec::new();
    let mut add = |kind: IdentifierKind, value: Option<&str>| {
        if let Some(id) = value.and_then(|v| Identifier::parse(kind, v).ok()) {
            if !found.contains(&id) {
                found.push(id);
            }
        }
    };
    add(IdentifierKind::CustomerId, Some(&client.id.to_string()));
    add(IdentifierKind::Email, client.email.as_deref());
    if let Some(field) = personnummer_field {
        add(IdentifierKind::Personnummer, client.custom_field(field));
    }
    add(IdentifierKind::Phone, phone(client).as_deref());
    found
}

/// The client's phone number in international form: `phonenumberformatted` (`+46.70…`)
/// where WHMCS gives it, else the country code and the number.
fn phone(client: &Client) -> Option<String> {
    let formatted = client.phonenumberformatted.as_deref().map(str::trim);
    if let Some(f) = formatted.filter(|f| f.starts_with('+')) {
        return Some(f.to_owned());
    }
    let number = client.phonenumber.as_deref()?.trim();
    if number.is_empty() {
        return None;
    }
    if number.starts_with('+') || number.starts_with("00") {
        return Some(number.to_owned());
    }
    let cc = client.phonecc.as_deref()?.trim();
    let national = number.trim_start_matches('0');
    Some(format!("+{cc}{national}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn stockholm() -> TimeZone {
        TimeZone::get("Europe/Stockholm").unwrap()
    }

    fn dmy() -> DateFormat {
        DateFormat::default()
    }

    fn ts(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn last_login_reads_the_html_fragment_in_the_site_format_and_zone() {
        let tz = stockholm();
        let cases: [(&str, DateFormat, Option<Timestamp>); 9] = [
            (
                "Date: 03/10/2016 10:26<br>IP Address:<br>Host:",
                dmy(),
                Some(ts("2016-10-03T08:26:00Z")),
            ),
            (
                "Date: 03/10/2016 10:26<br>IP Address:<br>Host:",
                "mm/dd/yyyy".parse().unwrap(),
                Some(ts("2016-03-10T09:26:00Z")),
            ),
            (
                "Date: 2024-02-29 23:59:30<br>IP Address: 192.0.2.7<br>Host: h.example",
                "yyyy-mm-dd".parse().unwrap(),
                Some(ts("2024-02-29T22:59:30Z")),
            ),
            (
                "Date: 03/10/2016<br>",
                dmy(),
                Some(ts("2016-10-02T22:00:00Z")),
            ),
            ("No Login Logged", dmy(), None),
            ("", dmy(), None),
            ("Date: 2016-10-03 10:26<br>", dmy(), None),
            ("Date: 31/02/2016 10:26<br>", dmy(), None),
            ("Date: 03/10/2016 25:26<br>", dmy(), None),
        ];
        for (text, format, expected) in cases {
            assert_eq!(last_login(text, format, &tz), expected, "{text}");
        }
    }

    #[test]
    fn a_login_in_the_dst_gap_reads_as_the_earlier_offset() {
        // 2025-03-30 02:30 does not exist in Stockholm; the clock went 02:00 → 03:00.
        let got = last_login("Date: 30/03/2025 02:30<br>", dmy(), &stockholm()).unwrap();
        assert_eq!(got, ts("2025-03-30T01:30:00Z"));
    }

    #[test]
    fn the_time_zone_is_the_configured_one() {
        let utc = last_login("Date: 03/10/2016 10:26", dmy(), &TimeZone::UTC);
        assert_eq!(utc, Some(ts("2016-10-03T10:26:00Z")));
    }

    #[test]
    fn start_of_a_day_is_midnight_in_the_zone() {
        assert_eq!(
            start_of(date(2024, 7, 1), &stockholm()),
            Some(ts("2024-06-30T22:00:00Z"))
        );
    }
}
