use jiff::tz::TimeZone;
use jiff::{ToSpan, Zoned};

use super::*;

/// A local time in Stockholm.
fn at(s: &str) -> Zoned {
    let text = if s.len() == 10 {
        format!("{s}T00:00")
    } else {
        s.to_owned()
    };
    format!("{text}[Europe/Stockholm]").parse().unwrap()
}

fn bookkeeping(fye: &str) -> Keep {
    Keep {
        duration: "7 years".parse().unwrap(),
        from: CountFrom::EndOfFinancialYear(FinancialYearEnd::parse(fye).unwrap()),
        round_up_to: RoundUp::Year,
    }
}

#[test]
fn bookkeeping_is_kept_to_the_end_of_the_seventh_year_after_the_financial_year_ended() {
    // (financial year end, record's local time, kept until (the first instant it may go))
    let cases = [
        // Calendar year: the year of the record + 7, to its end.
        ("12-31", "2023-03-15T10:00", "2031-01-01"),
        ("12-31", "2023-01-01T00:00", "2031-01-01"),
        // The last invoice of the year, one minute before midnight local time.
        ("12-31", "2023-12-31T23:59", "2031-01-01"),
        // Half an hour later it is 2024 in Stockholm, though still 2023 in UTC.
        ("12-31", "2024-01-01T00:30", "2032-01-01"),
        // A leap day is an ordinary day of its financial year.
        ("12-31", "2024-02-29T12:00", "2032-01-01"),
        // Broken financial year May–April: 1 May 2023 belongs to the year ending
        // 30 April 2024, so it stays until the end of 2031 …
        ("04-30", "2023-05-01T00:00", "2032-01-01"),
        // … while 30 April 2023 closed the year before: the end of 2030.
        ("04-30", "2023-04-30T23:59", "2031-01-01"),
        ("04-30", "2024-01-15T09:00", "2032-01-01"),
        // A financial year ending with February: the leap day is its last day.
        ("02-28", "2024-02-29T18:00", "2032-01-01"),
        ("02-29", "2024-03-01T00:00", "2033-01-01"),
        ("02-28", "2023-02-28T18:00", "2031-01-01"),
    ];
    for (fye, record, until) in cases {
        assert_eq!(
            bookkeeping(fye).until(&at(record)),
            at(until),
            "financial year ending {fye}, record {record}"
        );
    }
}

#[test]
fn seven_years_is_not_seven_times_365_days_nor_seven_years_from_the_invoice() {
    let record = at("2023-03-15T10:00");
    let law = bookkeeping("12-31").until(&record);
    let naive_days = record.checked_add((7 * 365).days()).unwrap();
    let from_invoice = Keep::plain("7 years".parse().unwrap()).until(&record);
    assert!(naive_days < law && from_invoice < law);
    assert_eq!(from_invoice, at("2030-03-15T10:00"));
}

#[test]
fn a_plain_duration_counts_from_the_event_and_clamps_a_leap_day() {
    let keep = Keep::plain("8 years".parse().unwrap());
    assert_eq!(keep.until(&at("2020-05-01T08:00")), at("2028-05-01T08:00"));
    let keep = Keep::plain("7 years".parse().unwrap());
    assert_eq!(keep.until(&at("2024-02-29T10:00")), at("2031-02-28T10:00"));
}

#[test]
fn rounding_up_to_the_year_keeps_a_year_start_and_moves_anything_else() {
    let keep = Keep {
        round_up_to: RoundUp::Year,
        ..Keep::plain("8 years".parse().unwrap())
    };
    assert_eq!(keep.until(&at("2020-05-01T08:00")), at("2029-01-01"));
    assert_eq!(keep.until(&at("2020-01-01T00:00")), at("2028-01-01"));
}

#[test]
fn the_cutoff_is_the_start_of_the_first_financial_year_still_kept() {
    let keep = bookkeeping("12-31");
    // The last instant of 2030: the records of 2023 still stay.
    assert_eq!(
        keep.cutoff(&at("2030-12-31T23:59:59")),
        at("2023-01-01").timestamp()
    );
    // The first instant of 2031: they may go.
    assert_eq!(keep.cutoff(&at("2031-01-01")), at("2024-01-01").timestamp());
    let broken = bookkeeping("04-30");
    // In 2031, records of the year May 2022–April 2023 (ended 2023) may go; from May 2023
    // on (ended 2024) they stay until the end of 2031.
    assert_eq!(
        broken.cutoff(&at("2031-06-01")),
        at("2023-05-01").timestamp()
    );
    assert_eq!(
        broken.cutoff(&at("2032-01-01")),
        at("2024-05-01").timestamp()
    );
}

/// For every record day across years and many "nows", a record is past the cutoff exactly
/// when its own `until` has come: the two functions agree (the runner uses one, requests
/// the other). A plain duration may keep a record on the boundary one instant longer, never
/// let one go early.
#[test]
fn the_cutoff_selects_exactly_the_records_whose_until_has_come() {
    let rules = [
        bookkeeping("12-31"),
        bookkeeping("04-30"),
        bookkeeping("02-28"),
        Keep {
            round_up_to: RoundUp::No,
            ..bookkeeping("06-30")
        },
        Keep {
            round_up_to: RoundUp::Year,
            ..Keep::plain("8 years".parse().unwrap())
        },
    ];
    let nows = [
        "2030-12-31T23:59:59",
        "2031-01-01T00:00",
        "2031-04-30T23:59",
        "2031-05-01T00:00",
        "2031-07-01T00:00",
        "2032-02-29T12:00",
    ];
    for keep in &rules {
        for now in nows {
            let now = at(now);
            let cutoff = keep.cutoff(&now);
            let mut day = at("2021-01-01T00:00");
            while day < at("2026-01-01") {
                for time in [0.hours(), 23.hours().minutes(59)] {
                    let record = day.checked_add(time).unwrap();
                    let gone = record.timestamp() < cutoff;
                    let due = keep.until(&record) <= now;
                    let on_boundary = keep.from == CountFrom::Event && record.timestamp() == cutoff;
                    assert!(
                        gone == due || (due && on_boundary),
                        "{keep}: record {record}, now {now}, cutoff {cutoff}: gone {gone}, due {due}"
                    );
                }
                day = day.checked_add(1.day()).unwrap();
            }
        }
    }
}

#[test]
fn the_calendar_is_the_configured_zones_not_utc() {
    let keep = bookkeeping("12-31");
    // 2023-12-31T23:30Z is already 2024 in Stockholm.
    let record = "2023-12-31T23:30:00Z"
        .parse::<jiff::Timestamp>()
        .unwrap()
        .to_zoned(TimeZone::get("Europe/Stockholm").unwrap());
    assert_eq!(keep.until(&record), at("2032-01-01"));
    let utc = record.with_time_zone(TimeZone::UTC);
    assert_eq!(keep.until(&utc).year(), 2031);
}

#[test]
fn a_financial_year_end_is_the_last_day_of_a_month() {
    for ok in ["12-31", "04-30", "02-28", "02-29", "06-30"] {
        assert!(FinancialYearEnd::parse(ok).is_ok(), "{ok}");
    }
    for bad in ["12-30", "04-31", "13-31", "1231", "", "02-30", "dec"] {
        assert!(FinancialYearEnd::parse(bad).is_err(), "{bad}");
    }
    assert_eq!(
        FinancialYearEnd::parse("02-29").unwrap().to_string(),
        "02-28"
    );
    assert_eq!(FinancialYearEnd::CALENDAR_YEAR.to_string(), "12-31");
}

#[test]
fn the_config_says_how_a_hold_and_a_record_rule_count() {
    let text = r#"state_dir = "s"
account_source = "billing"
[systems.billing]
plugin = "sql"
legal_hold = { keep = "7 years", law = "BFL 7:2", from = "end_of_financial_year", financial_year_end = "04-30", round_up_to = "year" }
[policies.invoices]
kind = "record_retention"
after = "8 years"
system = "billing"
records = "invoices"
"#;
    let config = crate::config::parse(text, std::path::Path::new("/g.toml")).unwrap();
    let hold = config.systems["billing"].legal_hold.as_ref().unwrap();
    assert_eq!(hold.keep, bookkeeping("04-30"));
    let crate::config::Rule::RecordRetention { after, .. } = &config.policies["invoices"].rule
    else {
        panic!("not record retention");
    };
    assert_eq!(after, &Keep::plain("8 years".parse().unwrap()));
}
