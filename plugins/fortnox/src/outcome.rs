//! One erase answer for a subject with several customer cards, and the answer for a card
//! that stays.

use gallra_plugin_api::{EraseOutcome, Retention};

/// An anonymized card that stays for a reason no law names (Fortnox' own rules).
pub fn anonymized_and_kept(records: u64, reason: &str) -> EraseOutcome {
    EraseOutcome::Anonymized {
        records,
        retained: Some(Retention {
            reason: reason.to_owned(),
            legal_basis: None,
            until: None,
        }),
        kept: Vec::new(),
    }
}

/// One answer for several customers: anything kept makes the whole answer kept, for as
/// long as the longest retention (an open-ended one longest of all).
pub fn combine(outcomes: Vec<EraseOutcome>) -> EraseOutcome {
    let mut erased = 0;
    let mut anonymized: Option<u64> = None;
    let mut retained: Option<Retention> = None;
    for outcome in outcomes {
        match outcome {
            EraseOutcome::Erased { records } => erased += records,
            EraseOutcome::Anonymized {
                records,
                retained: why,
                ..
            } => {
                *anonymized.get_or_insert(0) += records;
                if let Some(why) = why {
                    retained = Some(match retained {
                        Some(before) if outlasts(&before, &why) => before,
                        _ => why,
                    });
                }
            }
            EraseOutcome::Retained(why) => retained = Some(why),
            EraseOutcome::InProgress { .. } => {}
        }
    }
    match anonymized {
        Some(records) => EraseOutcome::Anonymized {
            records,
            retained,
            kept: Vec::new(),
        },
        None => match retained {
            Some(why) => EraseOutcome::Retained(why),
            None => EraseOutcome::Erased { records: erased },
        },
    }
}

/// Whether retention `a` lasts at least as long as `b` (no end lasts longest).
fn outlasts(a: &Retention, b: &Retention) -> bool {
    match (a.until, b.until) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(a), Some(b)) => a >= b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(until: Option<&str>) -> EraseOutcome {
        EraseOutcome::Anonymized {
            records: 1,
            retained: Some(Retention {
                reason: "r".into(),
                legal_basis: None,
                until: until.map(|u| u.parse().unwrap()),
            }),
            kept: Vec::new(),
        }
    }

    #[test]
    fn the_longest_retention_wins() {
        let out = combine(vec![
            EraseOutcome::Erased { records: 1 },
            kept(Some("2033-01-01T00:00:00Z")),
            kept(Some("2031-01-01T00:00:00Z")),
        ]);
        let EraseOutcome::Anonymized {
            records: 2,
            retained: Some(r),
            ..
        } = out
        else {
            panic!("{out:?}")
        };
        assert_eq!(r.until, Some("2033-01-01T00:00:00Z".parse().unwrap()));
        let open = combine(vec![kept(Some("2033-01-01T00:00:00Z")), kept(None)]);
        assert!(matches!(
            open,
            EraseOutcome::Anonymized {
                retained: Some(Retention { until: None, .. }),
                ..
            }
        ));
    }

    #[test]
    fn nothing_kept_is_erased() {
        assert_eq!(
            combine(vec![
                EraseOutcome::Erased { records: 1 },
                EraseOutcome::Erased { records: 0 }
            ]),
            EraseOutcome::Erased { records: 1 }
        );
        assert_eq!(combine(vec![]), EraseOutcome::Erased { records: 0 });
    }
}
