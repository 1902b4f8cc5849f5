//! Made-up people: Swedish-looking names, unique email addresses, phone numbers and valid
//! personnummer, and the different spellings other systems keep them in.
//!
//! Every identifier is unique across the dataset, so erasing one customer can never match
//! another customer's rows in a system that resolves subjects by identifier.

use std::collections::HashSet;

use jiff::civil::Date;

use gallra_plugin_api::Personnummer;

use super::rng::Rng;

const FIRST_NAMES: &[&str] = &[
    "Anna", "Eva", "Maria", "Karin", "Sara", "Kristina", "Lena", "Emma", "Ingrid", "Åsa", "Sofia",
    "Linnéa", "Maja", "Elsa", "Astrid", "Erik", "Lars", "Karl", "Anders", "Johan", "Per", "Nils",
    "Björn", "Mikael", "Olof", "Gustav", "Oskar", "Lukas", "Jörgen", "Hampus", "Måns", "Ali",
];

const SURNAMES: &[&str] = &[
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Eriksson",
    "Larsson",
    "Olsson",
    "Persson",
    "Svensson",
    "Gustafsson",
    "Pettersson",
    "Jonsson",
    "Hansson",
    "Bengtsson",
    "Lindberg",
    "Lindström",
    "Söderberg",
    "Åberg",
    "Öberg",
    "Sjöberg",
    "Ek",
    "Holm",
    "Lundqvist",
    "Berglund",
    "Dahl",
    "af Klint",
    "O'Connor",
    "Hassan",
];

const EMAIL_DOMAINS: &[&str] = &["example.se", "example.com", "example.net", "example.org"];

const STREETS: &[&str] = &[
    "Storgatan",
    "Drottninggatan",
    "Kungsgatan",
    "Vasagatan",
    "Skolgatan",
    "Östra Hamngatan",
    "Järnvägsgatan",
];

const TOWNS: &[(&str, &str)] = &[
    ("111 22", "Stockholm"),
    ("411 05", "Göteborg"),
    ("211 20", "Malmö"),
    ("753 10", "Uppsala"),
    ("581 83", "Linköping"),
    ("903 26", "Umeå"),
    ("972 31", "Luleå"),
];

/// One made-up person, in the spelling the control panel keeps.
pub(super) struct Identity {
    pub(super) name: String,
    /// Unique case-insensitively; sometimes mixed-case.
    pub(super) email: String,
    /// Twelve digits, `YYYYMMDDNNNN`.
    pub(super) personnummer: String,
    /// `070-xxx xx xx`.
    pub(super) phone: String,
    pub(super) address: String,
}

/// Makes identities, remembering what it handed out so that nothing repeats.
#[derive(Default)]
pub(super) struct IdentityFactory {
    emails: HashSet<String>,
    personnummer: HashSet<String>,
    phones: HashSet<u64>,
}

impl IdentityFactory {
    pub(super) fn next(&mut self, rng: &mut Rng) -> Identity {
        let first = rng.pick(FIRST_NAMES);
        let last = rng.pick(SURNAMES);
        let (postcode, town) = rng.pick(TOWNS);
        Identity {
            name: format!("{first} {last}"),
            email: self.email(rng, first, last),
            personnummer: self.personnummer(rng),
            phone: self.phone(rng),
            address: format!(
                "{} {}, {postcode} {town}",
                rng.pick(STREETS),
                rng.range(1, 120)
            ),
        }
    }

    fn email(&mut self, rng: &mut Rng, first: &str, last: &str) -> String {
        let domain = rng.pick(EMAIL_DOMAINS);
        let local = format!("{}.{}", ascii_local(first), ascii_local(last));
        let mut number = if rng.percent(60) { rng.range(1, 99) } else { 0 };
        loop {
            let suffix = if number == 0 {
                String::new()
            } else {
                number.to_string()
            };
            let lower = format!("{local}{suffix}@{domain}");
            if self.emails.insert(lower.clone()) {
                return if rng.percent(25) {
                    capitalize_parts(&lower)
                } else {
                    lower
                };
            }
            number += 1;
        }
    }

    fn personnummer(&mut self, rng: &mut Rng) -> String {
        loop {
            let candidate = random_personnummer(rng);
            if self.personnummer.insert(candidate.clone()) {
                return candidate;
            }
        }
    }

    fn phone(&mut self, rng: &mut Rng) -> String {
        loop {
            let n = rng.below(10_000_000);
            if self.phones.insert(n) {
                return format!("070-{:03} {:02} {:02}", n / 10_000, n / 100 % 100, n % 100);
            }
        }
    }
}

/// A valid personnummer, `YYYYMMDDNNNN`, born 1940–2005; about one in ten is a
/// samordningsnummer (day of birth + 60).
fn random_personnummer(rng: &mut Rng) -> String {
    let year = rng.range(1940, 2005) as i16;
    let month = rng.range(1, 12) as i8;
    let days = Date::new(year, month, 1).map_or(28, |d| d.days_in_month());
    let mut day = rng.range(1, i64::from(days));
    if rng.percent(10) {
        day += 60;
    }
    let serial = rng.below(1000);
    let nine = format!("{:02}{month:02}{day:02}{serial:03}", year % 100);
    let check = Personnummer::check_digit(&nine).expect("nine digits");
    format!("{:02}{nine}{check}", year / 100)
}

/// The ways Swedish systems write one personnummer; the SQL connector matches all of them.
#[derive(Debug, Clone, Copy)]
pub(super) enum Spelling {
    /// `YYYYMMDDNNNN`
    Twelve,
    /// `YYYYMMDD-NNNN`
    TwelveDash,
    /// `YYMMDD-NNNN`
    TenDash,
    /// `YYMMDDNNNN`
    Ten,
}

/// `twelve` (`YYYYMMDDNNNN`) written in `spelling`.
pub(super) fn spell(twelve: &str, spelling: Spelling) -> String {
    let (date, serial) = twelve.split_at(8);
    match spelling {
        Spelling::Twelve => twelve.to_owned(),
        Spelling::TwelveDash => format!("{date}-{serial}"),
        Spelling::TenDash => format!("{}-{serial}", &date[2..]),
        Spelling::Ten => format!("{}{serial}", &date[2..]),
    }
}

/// The email as another system typed it: the same address, sometimes in another case.
pub(super) fn respell_email(email: &str, rng: &mut Rng) -> String {
    match rng.below(10) {
        0 => email.to_lowercase(),
        1 => capitalize_parts(&email.to_lowercase()),
        2 => email.to_uppercase(),
        _ => email.to_owned(),
    }
}

/// The phone as the CRM typed it: as given, or in E.164.
pub(super) fn respell_phone(phone: &str, rng: &mut Rng) -> String {
    if rng.percent(30) {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        format!("+46{}", &digits[1..])
    } else {
        phone.to_owned()
    }
}

/// `anna.karlsson42@example.se` → `Anna.Karlsson42@Example.se`.
fn capitalize_parts(email: &str) -> String {
    let mut out = String::with_capacity(email.len());
    let mut start = true;
    let mut in_domain = false;
    for c in email.chars() {
        out.push(if start { c.to_ascii_uppercase() } else { c });
        start = c == '@' || (c == '.' && !in_domain);
        in_domain |= c == '@';
    }
    out
}

/// A name as an email local part: lower-case ASCII letters only (`Åsa` → `asa`).
fn ascii_local(name: &str) -> String {
    name.to_lowercase()
        .chars()
        .filter_map(|c| match c {
            'å' | 'ä' => Some('a'),
            'ö' => Some('o'),
            'é' => Some('e'),
            c if c.is_ascii_lowercase() => Some(c),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digit_matches_a_known_personnummer() {
        // 811218-9876 is the Skatteverket textbook example.
        assert_eq!(Personnummer::check_digit("811218987"), Some(6));
    }

    #[test]
    fn every_spelling_keeps_the_digits() {
        let twelve = "198112189876";
        assert_eq!(spell(twelve, Spelling::Twelve), "198112189876");
        assert_eq!(spell(twelve, Spelling::TwelveDash), "19811218-9876");
        assert_eq!(spell(twelve, Spelling::TenDash), "811218-9876");
        assert_eq!(spell(twelve, Spelling::Ten), "8112189876");
    }

    #[test]
    fn capitalized_email_looks_typed_by_a_person() {
        assert_eq!(
            capitalize_parts("anna.karlsson42@example.se"),
            "Anna.Karlsson42@Example.se"
        );
        assert_eq!(ascii_local("af Klint"), "afklint");
        assert_eq!(ascii_local("O'Connor"), "oconnor");
        assert_eq!(ascii_local("Åsa"), "asa");
    }

    #[test]
    fn phone_spellings_are_swedish_mobile_numbers() {
        let mut factory = IdentityFactory::default();
        let mut rng = Rng::new(1);
        let phone = factory.next(&mut rng).phone;
        assert!(phone.starts_with("070-") && phone.len() == 13, "{phone}");
        let e164 = format!("+4670{}", &phone[4..].replace(' ', ""));
        for _ in 0..20 {
            let other = respell_phone(&phone, &mut rng);
            assert!(other == phone || other == e164, "{other}");
        }
    }
}
