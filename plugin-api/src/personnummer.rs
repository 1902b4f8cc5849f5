//! Swedish personal identity numbers (personnummer) and coordination numbers
//! (samordningsnummer), validated by date and Luhn check digit.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;

/// A validated Swedish personnummer or samordningsnummer.
///
/// Accepted forms: twelve digits `YYYYMMDDNNNN` or ten `YYMMDDNNNN`, with a `-`, a space or
/// nothing before the last four, and `YYMMDD+NNNN`: as Skatteverket writes it, `+` marks a
/// person aged 100 or more, so `121212+1212` was born in 1912 and `121212-1212` (or
/// `121212 1212`, `1212121212`) in 2012. A ten-digit form names only the person its century
/// gives on the day it is read. A samordningsnummer has 60 added to the day of birth. It is
/// stored and displayed in the normalized twelve-digit form, so two spellings of one number
/// compare equal.
///
/// `Debug` never prints the number: it is personal data.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Personnummer {
    /// Twelve ASCII digits: century, year, month, day (+60 for samordningsnummer), four digits.
    digits: String,
}

/// Why a string is not a valid personnummer. Never contains the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonnummerError {
    /// The shape is wrong: not 10 or 12 digits with an optional `-`, space or (ten digits
    /// only) `+` before the last four.
    #[error("expected YYYYMMDD-NNNN, YYMMDD-NNNN or YYMMDD+NNNN")]
    Format,
    /// The digits do not form a real date of birth (after removing 60 from a coordination day).
    #[error("the date of birth is not a real date")]
    Date,
    /// The last digit does not match the Luhn check over the other nine.
    #[error("the check digit is wrong")]
    CheckDigit,
}

impl Personnummer {
    /// Parses a personnummer, resolving a two-digit year against `today`: `-` means the most
    /// recent century in which the person is under 100, `+` the one before.
    pub fn parse_at(input: &str, today: Date) -> Result<Self, PersonnummerError> {
        let input = input.trim();
        let (body, plus) = split_separator(input)?;
        if !body.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PersonnummerError::Format);
        }
        let twelve = match body.len() {
            12 => body.to_owned(),
            10 => format!("{:02}{body}", century(&body[..6], plus, today)?),
            _ => return Err(PersonnummerError::Format),
        };
        birth_date(&twelve)?;
        if !luhn_ok(&twelve[2..]) {
            return Err(PersonnummerError::CheckDigit);
        }
        Ok(Self { digits: twelve })
    }

    /// The date of birth (for a samordningsnummer, with the 60 taken off the day).
    pub fn birth_date(&self) -> Date {
        birth_date(&self.digits).expect("validated at construction")
    }

    /// Whether this is a samordningsnummer (day of birth + 60).
    pub fn is_samordningsnummer(&self) -> bool {
        self.digits[6..8]
            .parse::<u8>()
            .map(|d| d > 60)
            .unwrap_or(false)
    }

    /// The normalized form `YYYYMMDDNNNN`.
    pub fn as_str(&self) -> &str {
        &self.digits
    }

    /// The check digit that completes nine digits `YYMMDDNNN` (for making test data).
    /// `None` unless the input is exactly nine ASCII digits.
    pub fn check_digit(nine: &str) -> Option<u8> {
        if nine.len() != 9 || !nine.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        Some(((10 - luhn_sum(nine) % 10) % 10) as u8)
    }

    /// The ten-digit form with a dash, `YYMMDD-NNNN`, whatever the person's age: for
    /// finding the number in free text. [`Personnummer::spellings_at`] gives the forms that
    /// name this person and no one else.
    pub fn short_form(&self) -> String {
        format!("{}-{}", &self.digits[2..8], &self.digits[8..])
    }

    /// Every spelling a system may store that reads as this number on `today`: twelve
    /// digits with `-`, a space or nothing before the last four, and the ten-digit forms
    /// whose century is this person's (`YYMMDD+NNNN` for someone aged 100 or more, else
    /// `YYMMDD-NNNN`, `YYMMDD NNNN` and `YYMMDDNNNN`). No spelling of one number reads as
    /// another number.
    pub fn spellings_at(&self, today: Date) -> Vec<String> {
        let (long, short, last) = (&self.digits[..8], &self.digits[2..8], &self.digits[8..]);
        let mut all = Vec::with_capacity(6);
        for body in [long, short] {
            for separator in ["", "-", " ", "+"] {
                let spelling = format!("{body}{separator}{last}");
                if Self::parse_at(&spelling, today).as_ref() == Ok(self) {
                    all.push(spelling);
                }
            }
        }
        all
    }
}

impl FromStr for Personnummer {
    type Err = PersonnummerError;

    /// Parses against today's date in UTC; use [`Personnummer::parse_at`] in tests.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_at(s, jiff::Zoned::now().date())
    }
}

impl fmt::Display for Personnummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.digits)
    }
}

impl fmt::Debug for Personnummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Personnummer(<redacted>)")
    }
}

fn split_separator(input: &str) -> Result<(String, bool), PersonnummerError> {
    let mut plus = false;
    let mut body = String::with_capacity(12);
    for (i, c) in input.char_indices() {
        match c {
            '-' | '+' | ' ' if i + 5 == input.len() => plus = c == '+',
            '-' | '+' | ' ' => return Err(PersonnummerError::Format),
            _ => body.push(c),
        }
    }
    if plus && body.len() != 10 {
        return Err(PersonnummerError::Format);
    }
    Ok((body, plus))
}

/// The century of a `YYMMDD` birth date: the latest one that does not put birth in the future,
/// one further back with `+`.
fn century(yymmdd: &str, plus: bool, today: Date) -> Result<i16, PersonnummerError> {
    let yy: i16 = yymmdd[..2].parse().map_err(|_| PersonnummerError::Format)?;
    let mut year = today.year() - (today.year() - yy).rem_euclid(100);
    let month: i8 = yymmdd[2..4]
        .parse()
        .map_err(|_| PersonnummerError::Format)?;
    let day: i8 = yymmdd[4..6]
        .parse()
        .map_err(|_| PersonnummerError::Format)?;
    let day = if day > 60 { day - 60 } else { day };
    if let Ok(born) = Date::new(year, month, day) {
        if born > today {
            year -= 100;
        }
    }
    if plus {
        year -= 100;
    }
    Ok(year / 100)
}

fn birth_date(twelve: &str) -> Result<Date, PersonnummerError> {
    let year: i16 = twelve[..4].parse().map_err(|_| PersonnummerError::Format)?;
    let month: i8 = twelve[4..6]
        .parse()
        .map_err(|_| PersonnummerError::Format)?;
    let mut day: i8 = twelve[6..8]
        .parse()
        .map_err(|_| PersonnummerError::Format)?;
    if day > 60 {
        day -= 60;
    }
    Date::new(year, month, day).map_err(|_| PersonnummerError::Date)
}

/// Luhn over ten digits, doubling from the first.
fn luhn_ok(ten: &str) -> bool {
    luhn_sum(ten).is_multiple_of(10)
}

/// The Luhn sum of ASCII digits, doubling from the first.
fn luhn_sum(digits: &str) -> u32 {
    digits
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let x = d * 2;
                x / 10 + x % 10
            } else {
                d
            }
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    const TODAY: Date = date(2026, 11, 23);

    #[test]
    fn accepts_every_spelling_of_one_number() {
        let forms = ["198112189876", "19811218-9876", "8112189876", "811218-9876"];
        for form in forms {
            let p = Personnummer::parse_at(form, TODAY).unwrap();
            assert_eq!(p.as_str(), "198112189876", "{form}");
            assert_eq!(p.birth_date(), date(1981, 12, 18));
        }
    }

    #[test]
    fn plus_means_a_hundred_years_or_more() {
        let p = Personnummer::parse_at("811218+9876", TODAY).unwrap();
        assert_eq!(p.birth_date(), date(1881, 12, 18));
    }

    #[test]
    fn a_short_form_names_only_the_person_its_century_gives() {
        // 121212-1212 is a child born 2012; 121212+1212 someone born 1912.
        let child = Personnummer::parse_at("121212-1212", TODAY).unwrap();
        assert_eq!(child.as_str(), "201212121212");
        for form in ["1212121212", "121212 1212", " 121212-1212 "] {
            assert_eq!(
                Personnummer::parse_at(form, TODAY),
                Ok(child.clone()),
                "{form}"
            );
        }
        let elder = Personnummer::parse_at("121212+1212", TODAY).unwrap();
        assert_eq!(elder.as_str(), "191212121212");
        assert_eq!(
            elder.spellings_at(TODAY),
            [
                "191212121212",
                "19121212-1212",
                "19121212 1212",
                "121212+1212"
            ]
        );
        assert_eq!(
            child.spellings_at(TODAY),
            [
                "201212121212",
                "20121212-1212",
                "20121212 1212",
                "1212121212",
                "121212-1212",
                "121212 1212"
            ]
        );
        // Each spelling reads back as its own person and no other.
        for p in [&child, &elder] {
            for spelling in p.spellings_at(TODAY) {
                assert_eq!(Personnummer::parse_at(&spelling, TODAY).as_ref(), Ok(p));
            }
        }
    }

    #[test]
    fn accepts_a_space_before_the_last_four() {
        let p = Personnummer::parse_at("811218 9876", TODAY).unwrap();
        assert_eq!(p.as_str(), "198112189876");
        let p = Personnummer::parse_at("19811218 9876", TODAY).unwrap();
        assert_eq!(p.as_str(), "198112189876");
    }

    #[test]
    fn two_digit_year_is_never_in_the_future() {
        // On 2026-11-23, a 25 is 2025; a 27 cannot be 2027, so it is 1927.
        let p = Personnummer::parse_at("250101-0009", TODAY).unwrap();
        assert_eq!(p.birth_date().year(), 2025);
        let p = Personnummer::parse_at("270101-0007", TODAY).unwrap();
        assert_eq!(p.birth_date().year(), 1927);
    }

    #[test]
    fn samordningsnummer_adds_sixty_to_the_day() {
        let p = Personnummer::parse_at("701063-2391", TODAY).unwrap();
        assert!(p.is_samordningsnummer());
        assert_eq!(p.birth_date(), date(1970, 10, 3));
    }

    #[test]
    fn rejects_bad_check_digit_bad_date_and_bad_shape() {
        use PersonnummerError::*;
        let cases = [
            ("811218-9875", CheckDigit),
            ("811318-9876", Date),
            ("810230-9876", Date),
            ("81121-89876", Format),
            ("abcdef-ghij", Format),
            ("19811218+9876", Format),
            ("8112 18-9876", Format),
            ("811218  9876", Format),
            ("", Format),
        ];
        for (input, want) in cases {
            assert_eq!(Personnummer::parse_at(input, TODAY), Err(want), "{input}");
        }
    }

    #[test]
    fn debug_never_shows_the_number() {
        let p = Personnummer::parse_at("811218-9876", TODAY).unwrap();
        assert!(!format!("{p:?}").contains("9876"));
    }
}
