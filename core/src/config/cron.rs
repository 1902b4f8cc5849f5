//! A syntax check for cron schedules with seconds (`sec min hour day month weekday`).
//!
//! Only a check: the scheduler parses the expression for real. It catches what a sysadmin
//! gets wrong most often (five fields, a value out of range, a stray character) so that
//! `gallra check` reports it instead of the scheduler at 03:00.

/// The six fields, in order: name, smallest and largest value, names allowed.
const FIELDS: [(&str, u32, u32, &[&str]); 6] = [
    ("second", 0, 59, &[]),
    ("minute", 0, 59, &[]),
    ("hour", 0, 23, &[]),
    ("day of month", 1, 31, &[]),
    (
        "month",
        1,
        12,
        &[
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ],
    ),
    (
        "day of week",
        0,
        7,
        &["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
    ),
];

/// Checks `expr`; the error says what is wrong, for a sysadmin.
pub(crate) fn check(expr: &str) -> Result<(), String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    if fields.len() != FIELDS.len() {
        return Err(format!(
            "not a cron schedule: expected 6 fields (second minute hour day-of-month month \
             day-of-week, e.g. \"0 0 3 * * *\" for 03:00 daily), found {}",
            fields.len()
        ));
    }
    for (field, (name, min, max, names)) in fields.iter().zip(FIELDS) {
        check_field(field, min, max, names)
            .map_err(|what| format!("not a cron schedule: the {name} field \"{field}\" {what}"))?;
    }
    Ok(())
}

fn check_field(field: &str, min: u32, max: u32, names: &[&str]) -> Result<(), String> {
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (range, Some(step)),
            None => (item, None),
        };
        if let Some(step) = step {
            match step.parse::<u32>() {
                Ok(n) if n >= 1 => {}
                _ => return Err(format!("has a bad step \"/{step}\"")),
            }
        }
        if range == "*" || range == "?" {
            continue;
        }
        let (first, last) = match range.split_once('-') {
            Some((first, last)) => (first, Some(last)),
            None => (range, None),
        };
        let first = value(first, min, max, names)?;
        if let Some(last) = last {
            if value(last, min, max, names)? < first {
                return Err(format!("has a backwards range \"{range}\""));
            }
        }
    }
    Ok(())
}

fn value(text: &str, min: u32, max: u32, names: &[&str]) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some(i) = names.iter().position(|n| *n == lower) {
        // Month names count from 1, weekday names from 0 (Sunday).
        return Ok(u32::try_from(i).unwrap_or(0) + min);
    }
    match text.parse::<u32>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        Ok(n) => Err(format!("has {n}, outside {min}..={max}")),
        Err(_) => Err(format!("has \"{text}\", which is not a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn common_schedules_pass() {
        for ok in [
            "0 0 3 * * *",
            "*/30 * * * * *",
            "0 15 2 1,15 * MON-FRI",
            "0 0 0 ? jan-mar sun",
            "0 0 12 * * 7",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn five_fields_out_of_range_and_garbage_fail() {
        for bad in [
            "0 3 * * *",
            "0 0 24 * * *",
            "0 0 3 * * funday",
            "0 0 3 0 * *",
            "0 0 5-3 * * *",
            "0 */0 * * * *",
            "",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
    }
}
