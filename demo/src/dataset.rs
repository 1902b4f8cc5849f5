//! The demo dataset: customers of a hosting company as three systems hold them, each
//! customer made to be one [`Category`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use gallra_plugin_api::{Identifier, IdentifierKind};
use jiff::tz::TimeZone;
use jiff::Zoned;

use super::category::Category;
use super::people::IdentityFactory;
use super::rng::Rng;
use super::rows::{self, Draft, SystemData};
use super::timeline::{self, Clock};

/// The first billing client number. Billing numbers its clients itself, so a subject is
/// matched there by email or personnummer, never by the panel's id.
const FIRST_BILLING_ID: i64 = 10_001;

/// One customer: who they are in each system and what they were made to be.
///
/// `Debug` shows only the panel id and the category: the rest is (made-up) personal data,
/// and gallra treats it as real.
#[derive(Clone)]
pub struct Customer {
    pub(super) panel_id: i64,
    pub(super) billing_id: i64,
    pub(super) crm_id: Option<i64>,
    pub(super) category: Category,
    pub(super) name: String,
    pub(super) email: String,
    pub(super) personnummer: String,
    pub(super) phone: String,
    pub(super) services: usize,
    pub(super) notes: usize,
}

impl Customer {
    /// The id in the control panel (`customers.id`), the account source's subject key.
    pub fn panel_id(&self) -> i64 {
        self.panel_id
    }

    /// The id in billing (`clients.id`); unrelated to the panel id.
    pub fn billing_id(&self) -> i64 {
        self.billing_id
    }

    /// The id in the CRM (`people.id`); about one customer in ten has no CRM row.
    pub fn crm_id(&self) -> Option<i64> {
        self.crm_id
    }

    /// What the customer was made to be.
    pub fn category(&self) -> Category {
        self.category
    }

    /// The name, e.g. `Åsa Lindström`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The email as the panel stores it (sometimes mixed-case, e.g. `Anna.Karlsson42@Example.se`).
    pub fn email(&self) -> &str {
        &self.email
    }

    /// The personnummer in twelve-digit form, `YYYYMMDDNNNN`, as the panel stores it.
    pub fn personnummer(&self) -> &str {
        &self.personnummer
    }

    /// The phone number as the panel stores it, `070-xxx xx xx`.
    pub fn phone(&self) -> &str {
        &self.phone
    }

    /// Email, personnummer and phone as gallra identifiers (what an erasure request names).
    pub fn identifiers(&self) -> Vec<Identifier> {
        [
            (IdentifierKind::Email, &self.email),
            (IdentifierKind::Personnummer, &self.personnummer),
            (IdentifierKind::Phone, &self.phone),
        ]
        .into_iter()
        .filter_map(|(kind, value)| Identifier::parse(kind, value).ok())
        .collect()
    }
}

impl fmt::Debug for Customer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Customer")
            .field("panel_id", &self.panel_id)
            .field("category", &self.category)
            .finish_non_exhaustive()
    }
}

/// Customers of a hosting company in three systems (`panel`, `billing`, `crm`), generated
/// deterministically from a seed.
pub struct Dataset {
    now: Zoned,
    customers: Vec<Customer>,
    systems: Vec<SystemData>,
}

impl Dataset {
    /// The systems, in the order their databases are written.
    pub const SYSTEMS: [&'static str; 3] = ["panel", "billing", "crm"];

    /// Makes `customers` customers around `now`: the same seed, count and `now` always give
    /// the same data. Categories are dealt in the shares of [`Category::share_percent`]
    /// (rounded; with 20 or more customers every category has at least one).
    ///
    /// Timestamps are written in Europe/Stockholm local time, the zone the demo
    /// configuration names (in `now`'s own zone if this machine has no time-zone database).
    pub fn generate(seed: u64, customers: usize, now: Zoned) -> Dataset {
        let tz = TimeZone::get("Europe/Stockholm").unwrap_or_else(|_| now.time_zone().clone());
        let now = now.with_time_zone(tz);
        let clock = Clock::new(&now);
        let mut rng = Rng::new(seed);

        let categories = deal_categories(customers, &mut rng);
        let billing_ids = shuffled_ids(customers, FIRST_BILLING_ID, &mut rng);
        let has_crm: Vec<bool> = (0..customers).map(|_| rng.percent(90)).collect();
        let crm_ids = shuffled_ids(has_crm.iter().filter(|x| **x).count(), 1, &mut rng);
        let mut crm_ids = crm_ids.into_iter();

        let mut identities = IdentityFactory::default();
        let mut seen = BTreeMap::<Category, usize>::new();
        let mut drafts = Vec::with_capacity(customers);
        for (i, category) in categories.into_iter().enumerate() {
            let nth = seen.entry(category).or_default();
            let history = timeline::history(category, *nth, &clock, &mut rng);
            *nth += 1;
            let identity = identities.next(&mut rng);
            let customer = Customer {
                panel_id: i as i64 + 1,
                billing_id: billing_ids[i],
                crm_id: if has_crm[i] { crm_ids.next() } else { None },
                category,
                name: identity.name.clone(),
                email: identity.email.clone(),
                personnummer: identity.personnummer.clone(),
                phone: identity.phone.clone(),
                services: history.services.len(),
                notes: if has_crm[i] { history.notes.len() } else { 0 },
            };
            drafts.push(Draft {
                customer,
                identity,
                history,
            });
        }

        let systems = rows::build(&drafts, now.time_zone().clone(), &mut rng);
        Dataset {
            now,
            customers: drafts.into_iter().map(|d| d.customer).collect(),
            systems,
        }
    }

    /// The instant the data was made around, in Europe/Stockholm.
    pub fn now(&self) -> &Zoned {
        &self.now
    }

    /// Every customer, in panel id order (panel ids are 1, 2, 3, …).
    pub fn customers(&self) -> &[Customer] {
        &self.customers
    }

    /// The customer with this panel id.
    pub fn customer(&self, panel_id: i64) -> Option<&Customer> {
        let index = usize::try_from(panel_id.checked_sub(1)?).ok()?;
        self.customers.get(index)
    }

    /// The customers made `category`.
    pub fn in_category(&self, category: Category) -> impl Iterator<Item = &Customer> {
        self.customers
            .iter()
            .filter(move |c| c.category == category)
    }

    /// The panel ids the 6-month inactivity policy must purge: exactly the
    /// [`Category::InactiveClean`] customers.
    pub fn expected_purged(&self) -> BTreeSet<i64> {
        self.customers
            .iter()
            .filter(|c| c.category.must_be_purged())
            .map(|c| c.panel_id)
            .collect()
    }

    /// Rows per table as generated, keyed `system.table` (e.g. `panel.customers`).
    pub fn row_counts(&self) -> BTreeMap<String, usize> {
        self.systems
            .iter()
            .flat_map(|s| {
                s.tables
                    .iter()
                    .map(|t| (format!("{}.{}", s.name, t.schema.name), t.rows.len()))
            })
            .collect()
    }

    /// Rows per table once the demo policy has purged [`Dataset::expected_purged`] with the
    /// demo configuration's erase rules: panel and CRM rows deleted; billing clients
    /// anonymized in place and invoices kept for bookkeeping, so billing counts are unchanged.
    pub fn row_counts_after_purge(&self) -> BTreeMap<String, usize> {
        let mut counts = self.row_counts();
        for c in self
            .customers
            .iter()
            .filter(|c| c.category.must_be_purged())
        {
            let mut take = |key: &str, n: usize| {
                if let Some(count) = counts.get_mut(key) {
                    *count -= n;
                }
            };
            take("panel.customers", 1);
            take("panel.services", c.services);
            take("crm.people", usize::from(c.crm_id.is_some()));
            take("crm.notes", c.notes);
        }
        counts
    }

    /// One system's generated tables.
    pub(super) fn system(&self, name: &str) -> Option<&SystemData> {
        self.systems.iter().find(|s| s.name == name)
    }
}

impl fmt::Debug for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dataset")
            .field("now", &self.now)
            .field("customers", &self.customers.len())
            .field("row_counts", &self.row_counts())
            .finish()
    }
}
/// The categories for `n` customers in their shares, in a random order.
fn deal_categories(n: usize, rng: &mut Rng) -> Vec<Category> {
    let mut dealt = Vec::with_capacity(n);
    for category in Category::ALL {
        if category == Category::Active {
            continue;
        }
        let mut count = (n * category.share_percent() + 50) / 100;
        if n >= 20 {
            count = count.max(1);
        }
        dealt.extend(std::iter::repeat_n(category, count));
    }
    dealt.truncate(n);
    dealt.resize(n, Category::Active);
    rng.shuffle(&mut dealt);
    dealt
}

/// `first..first + n` in a random order: ids that owe nothing to the panel's.
fn shuffled_ids(n: usize, first: i64, rng: &mut Rng) -> Vec<i64> {
    let mut ids: Vec<i64> = (0..n as i64).map(|i| first + i).collect();
    rng.shuffle(&mut ids);
    ids
}
