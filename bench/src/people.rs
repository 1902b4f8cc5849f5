//! Made-up subjects, derived from their index alone: the same index always gives the same
//! person, so the harness can say which rows a purge must remove without reading them back.

use jiff::civil::{Date, DateTime};
use jiff::{Span, Zoned};

/// How one generated subject stands towards a 6-month inactivity policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Logged in within the last few months: kept.
    Active,
    /// No activity anywhere for over a year, nothing active or owed: purged.
    Inactive,
}

/// One subject's identifiers. Every value is unique across indices, so erasing one subject
/// by a strong identifier can never touch another.
pub struct Person {
    pub email: String,
    pub name: String,
    pub personnummer: String,
    pub phone: String,
}

impl Person {
    pub fn of(index: u64) -> Person {
        Person {
            email: format!("kund{index}@example.se"),
            name: format!("Kund {index}"),
            personnummer: personnummer(index),
            phone: format!("+4670{:07}", index % 10_000_000),
        }
    }
}

/// A valid personnummer (date and Luhn digit), unique for indices below 10 million:
/// 1,000 serial numbers a day from 1940 on.
pub fn personnummer(index: u64) -> String {
    let day = i64::try_from(index / 1000).expect("small");
    let birth = Date::constant(1940, 1, 1)
        .checked_add(Span::new().days(day))
        .expect("in range");
    let serial = index % 1000;
    let nine = format!(
        "{:02}{:02}{:02}{serial:03}",
        birth.year() % 100,
        birth.month(),
        birth.day()
    );
    format!(
        "{:04}{:02}{:02}-{serial:03}{}",
        birth.year(),
        birth.month(),
        birth.day(),
        luhn_digit(&nine)
    )
}

fn luhn_digit(nine: &str) -> u32 {
    let sum: u32 = nine
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0') * if i % 2 == 0 { 2 } else { 1 };
            d / 10 + d % 10
        })
        .sum();
    (10 - sum % 10) % 10
}

/// Local timestamps `YYYY-MM-DD HH:MM:SS` (Europe/Stockholm, as the config says), `days`
/// before now, precomputed so that a million rows format nothing.
pub struct Clock {
    days: Vec<String>,
}

impl Clock {
    pub fn now() -> Clock {
        let now: DateTime = Zoned::now()
            .in_tz("Europe/Stockholm")
            .expect("the zone database has Europe/Stockholm")
            .datetime();
        let days = (0..4000)
            .map(|d| {
                now.checked_sub(Span::new().days(d))
                    .expect("in range")
                    .strftime("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .collect();
        Clock { days }
    }

    /// The time `days` ago (at most about 11 years).
    pub fn ago(&self, days: u64) -> &str {
        &self.days[usize::try_from(days)
            .expect("small")
            .min(self.days.len() - 1)]
    }
}

/// Which subjects are inactive: every twentieth (5%), or those below `inactive_per_mille`
/// of each thousand.
pub fn standing(index: u64, inactive_per_mille: u64) -> Standing {
    if (index.wrapping_mul(7919)) % 1000 < inactive_per_mille {
        Standing::Inactive
    } else {
        Standing::Active
    }
}

/// A cheap, repeatable spread of small numbers, so rows differ without a random generator.
pub fn spread(index: u64, salt: u64, modulus: u64) -> u64 {
    (index
        .wrapping_mul(2_654_435_761)
        .wrapping_add(salt.wrapping_mul(40_503))
        >> 7)
        % modulus
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personnummer_carries_a_valid_luhn_digit() {
        // 811218-9876 is the Swedish Tax Agency's example.
        assert_eq!(luhn_digit("811218987"), 6);
        assert_eq!(personnummer(0), "19400101-0000");
        assert_eq!(personnummer(1_001), "19400102-0017");
    }

    #[test]
    fn five_percent_are_inactive() {
        let inactive = (0..100_000)
            .filter(|&i| standing(i, 50) == Standing::Inactive)
            .count();
        assert_eq!(inactive, 5_000);
    }
}
