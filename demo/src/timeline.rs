//! Each customer's history (sign-up, logins, services, invoices, notes), made to fit the
//! customer's [`Category`] by construction.
//!
//! "Old" means older than the 6-month cutoff by at least [`OLD_MARGIN_DAYS`]; "recent" means
//! newer than it by at least [`RECENT_MARGIN_DAYS`]. Only [`Category::Borderline`] sits close
//! to the cutoff, one calendar day inside it. So a policy that counts a little differently
//! (a few hours of time-zone skew, a run that starts a minute late) still gets every other
//! customer right, and a test that fails points at a real mistake.

use jiff::{Timestamp, ToSpan, Zoned};

use super::category::Category;
use super::rng::Rng;

/// How far before the cutoff every activity of an inactive customer lies, at least.
pub(super) const OLD_MARGIN_DAYS: i64 = 14;
/// How far after the cutoff a "recent" activity lies, at least.
pub(super) const RECENT_MARGIN_DAYS: i64 = 2;

const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const YEAR: i64 = 365 * DAY;

const SERVICE_KINDS: &[&str] = &["web_hosting", "domain", "email", "vps", "wordpress"];

const NOTE_BODIES: &[&str] = &[
    "Ringde om fakturan, allt klart.",
    "Vill flytta domänen till oss.",
    "Kunden sa: 'ring tillbaka på måndag'.",
    "Frågade om backup av databasen.",
    "Sökvägen som fungerar: C:\\inetpub\\wwwroot",
    "Uppgraderade till VPS; nöjd.",
    "Klagade på svarstiden (\"för långsam\").",
    "Bad om kopia av sina uppgifter.\nSkickat via säker länk.",
    "100% nöjd med e-posten_tjänsten.",
];

/// The instants a dataset is built around.
pub(super) struct Clock {
    now: Timestamp,
    /// `now` minus 6 calendar months: activity before it is inactive.
    cutoff: Timestamp,
    /// 6 months minus 1 day before `now`.
    borderline: Timestamp,
}

impl Clock {
    pub(super) fn new(now: &Zoned) -> Self {
        let cutoff = now.saturating_sub(6.months());
        let borderline = cutoff.saturating_add(1.day());
        Self {
            now: now.timestamp(),
            cutoff: cutoff.timestamp(),
            borderline: borderline.timestamp(),
        }
    }

    /// The latest instant an inactive customer's activity may have.
    fn old_end(&self) -> Timestamp {
        plus(self.cutoff, -OLD_MARGIN_DAYS * DAY)
    }

    /// Some instant comfortably inside the last 6 months.
    fn recent(&self, rng: &mut Rng) -> Timestamp {
        let from = plus(self.cutoff, RECENT_MARGIN_DAYS * DAY);
        between(rng, from, plus(self.now, -HOUR))
    }

    /// A last login comfortably older than the cutoff, up to three years more.
    fn old_login(&self, rng: &mut Rng) -> Timestamp {
        plus(self.old_end(), -rng.range(0, 3 * YEAR))
    }
}

pub(super) struct Service {
    pub(super) kind: &'static str,
    pub(super) started_at: Timestamp,
    /// `None` while the service is active.
    pub(super) ended_at: Option<Timestamp>,
}

pub(super) struct Invoice {
    pub(super) amount_ore: i64,
    pub(super) issued_at: Timestamp,
    /// `None` while unpaid.
    pub(super) paid_at: Option<Timestamp>,
}

pub(super) struct Note {
    pub(super) body: &'static str,
    pub(super) created_at: Timestamp,
}

pub(super) struct History {
    pub(super) created_at: Timestamp,
    pub(super) last_login: Option<Timestamp>,
    pub(super) closed_at: Option<Timestamp>,
    pub(super) services: Vec<Service>,
    pub(super) invoices: Vec<Invoice>,
    pub(super) notes: Vec<Note>,
}

/// A history that makes the customer exactly `category`. `nth` counts customers of that
/// category so far; borderline customers use it to take turns at which column holds the
/// borderline activity (last login, a service's end, an invoice's payment).
pub(super) fn history(category: Category, nth: usize, clock: &Clock, rng: &mut Rng) -> History {
    match category {
        Category::Active => active(clock, rng),
        Category::NeverLoggedInRecentSignup => recent_signup(clock, rng),
        Category::InactiveClean => {
            let mut h = dormant(clock, rng);
            if rng.percent(40) {
                h.closed_at = Some(between(rng, h.created_at, clock.old_end()));
            }
            h
        }
        Category::InactiveWithActiveService => {
            let mut h = dormant(clock, rng);
            h.services.push(Service {
                kind: rng.pick(SERVICE_KINDS),
                started_at: between(rng, h.created_at, clock.old_end()),
                ended_at: None,
            });
            h
        }
        Category::InactiveWithDebt => {
            let mut h = dormant(clock, rng);
            h.invoices.push(Invoice {
                amount_ore: amount(rng),
                issued_at: between(rng, h.created_at, clock.old_end()),
                paid_at: None,
            });
            h
        }
        Category::RecentlyActiveElsewhere => {
            let mut h = dormant(clock, rng);
            let paid_at = clock.recent(rng);
            h.invoices.push(Invoice {
                amount_ore: amount(rng),
                issued_at: plus(paid_at, -rng.range(HOUR, 30 * DAY)),
                paid_at: Some(paid_at),
            });
            h
        }
        Category::Borderline => {
            let mut h = dormant(clock, rng);
            let at = clock.borderline;
            match nth % 3 {
                0 => h.last_login = Some(at),
                1 => h.services.push(Service {
                    kind: rng.pick(SERVICE_KINDS),
                    started_at: between(rng, h.created_at, clock.old_end()),
                    ended_at: Some(at),
                }),
                _ => h.invoices.push(Invoice {
                    amount_ore: amount(rng),
                    issued_at: plus(at, -rng.range(DAY, 20 * DAY)),
                    paid_at: Some(at),
                }),
            }
            h
        }
    }
}

/// Logged in within the last 6 months; services and invoices anywhere in the past.
fn active(clock: &Clock, rng: &mut Rng) -> History {
    let last_login = clock.recent(rng);
    let created_at = plus(last_login, -rng.range(DAY, 8 * YEAR));
    let latest = plus(clock.now, -HOUR);
    let services = (0..rng.range(1, 3))
        .map(|i| {
            let started_at = between(rng, created_at, latest);
            let active = i == 0 && rng.percent(85);
            Service {
                kind: rng.pick(SERVICE_KINDS),
                started_at,
                ended_at: (!active).then(|| between(rng, started_at, latest)),
            }
        })
        .collect();
    let invoices = (0..rng.range(1, 6))
        .map(|_| {
            let issued_at = between(rng, created_at, latest);
            let paid_at = plus(issued_at, rng.range(HOUR, 30 * DAY));
            Invoice {
                amount_ore: amount(rng),
                issued_at,
                paid_at: (paid_at < latest).then_some(paid_at),
            }
        })
        .collect();
    History {
        created_at,
        last_login: Some(last_login),
        closed_at: None,
        services,
        invoices,
        notes: notes(rng, created_at, latest, 3),
    }
}

/// Signed up recently and never logged in; no services or invoices yet, so the sign-up
/// itself is the only activity.
fn recent_signup(clock: &Clock, rng: &mut Rng) -> History {
    let created_at = clock.recent(rng);
    History {
        created_at,
        last_login: None,
        closed_at: None,
        services: Vec::new(),
        invoices: Vec::new(),
        notes: notes(rng, created_at, plus(clock.now, -HOUR), 1),
    }
}

/// Everything old: last login, ended services, paid invoices, notes. Nothing active, nothing
/// unpaid. The other inactive categories add the one thing that keeps them.
fn dormant(clock: &Clock, rng: &mut Rng) -> History {
    let last_login = clock.old_login(rng);
    let created_at = plus(last_login, -rng.range(30 * DAY, 5 * YEAR));
    let end = clock.old_end();
    let services = (0..rng.range(0, 2))
        .map(|_| {
            let started_at = between(rng, created_at, last_login);
            Service {
                kind: rng.pick(SERVICE_KINDS),
                started_at,
                ended_at: Some(between(rng, started_at, end)),
            }
        })
        .collect();
    let invoices = (0..rng.range(0, 4))
        .map(|_| {
            let issued_at = between(rng, created_at, plus(end, -30 * DAY));
            let paid_at = plus(issued_at, rng.range(HOUR, 30 * DAY)).min(end);
            Invoice {
                amount_ore: amount(rng),
                issued_at,
                paid_at: Some(paid_at),
            }
        })
        .collect();
    History {
        created_at,
        last_login: Some(last_login),
        closed_at: None,
        services,
        invoices,
        notes: notes(rng, created_at, end, 2),
    }
}

fn notes(rng: &mut Rng, from: Timestamp, to: Timestamp, max: i64) -> Vec<Note> {
    (0..rng.range(0, max))
        .map(|_| Note {
            body: rng.pick(NOTE_BODIES),
            created_at: between(rng, from, to),
        })
        .collect()
}

/// 49 to 2 499 kronor, in öre.
fn amount(rng: &mut Rng) -> i64 {
    rng.range(49, 2_499) * 100
}

/// A whole second in `from..=to`; `from` when the range is empty.
fn between(rng: &mut Rng, from: Timestamp, to: Timestamp) -> Timestamp {
    let second = rng.range(from.as_second(), to.as_second());
    Timestamp::from_second(second).unwrap_or(from)
}

fn plus(t: Timestamp, seconds: i64) -> Timestamp {
    t.saturating_add(jiff::SignedDuration::from_secs(seconds))
        .unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock() -> Clock {
        let now: Zoned = "2026-03-15T10:00:00[Europe/Stockholm]".parse().unwrap();
        Clock::new(&now)
    }

    #[test]
    fn cutoff_is_six_calendar_months_and_borderline_one_day_inside() {
        let c = clock();
        let cutoff: Zoned = "2025-09-15T10:00:00[Europe/Stockholm]".parse().unwrap();
        assert_eq!(c.cutoff, cutoff.timestamp());
        assert_eq!(c.borderline.as_second() - c.cutoff.as_second(), DAY);
    }

    #[test]
    fn dormant_history_is_old_everywhere() {
        let c = clock();
        let mut rng = Rng::new(3);
        for _ in 0..500 {
            let h = dormant(&c, &mut rng);
            let mut times = vec![h.created_at, h.last_login.unwrap()];
            times.extend(
                h.services
                    .iter()
                    .flat_map(|s| [Some(s.started_at), s.ended_at])
                    .flatten(),
            );
            times.extend(
                h.invoices
                    .iter()
                    .flat_map(|i| [Some(i.issued_at), i.paid_at])
                    .flatten(),
            );
            times.extend(h.notes.iter().map(|n| n.created_at));
            assert!(times.iter().all(|t| *t <= c.old_end()));
            assert!(h.services.iter().all(|s| s.ended_at.is_some()));
            assert!(h.invoices.iter().all(|i| i.paid_at.is_some()));
        }
    }

    #[test]
    fn active_history_never_lies_in_the_future() {
        let c = clock();
        let mut rng = Rng::new(4);
        for _ in 0..500 {
            let h = active(&c, &mut rng);
            assert!(h.last_login.unwrap() > c.cutoff && h.last_login.unwrap() < c.now);
            for s in &h.services {
                assert!(s.started_at >= h.created_at && s.ended_at.is_none_or(|e| e < c.now));
            }
            for i in &h.invoices {
                assert!(i.paid_at.is_none_or(|p| p >= i.issued_at && p < c.now));
            }
        }
    }
}
