//! What each demo customer was made to be, and so what the inactivity policy must do.

/// What a customer was made to be, and so what the 6-month inactivity policy must do with
/// them. Tests compare outcomes with this, never with gallra's own policy code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    /// Logged in within the last 6 months. Stays.
    Active,
    /// Last login, every service end and every invoice payment older than 6 months (by at
    /// least two weeks); no active service, nothing unpaid. Must be purged.
    InactiveClean,
    /// Inactive as above, but a service is still active. Stays.
    InactiveWithActiveService,
    /// Inactive as above, but an invoice is unpaid. Stays.
    InactiveWithDebt,
    /// Old login, but an invoice paid within the last 6 months: activity in another system
    /// counts. Stays.
    RecentlyActiveElsewhere,
    /// Never logged in (`last_login` NULL) but signed up within the last 6 months. Stays.
    NeverLoggedInRecentSignup,
    /// Last activity 6 months minus one day ago (by turns: a login, a service's end, an
    /// invoice's payment). Stays.
    Borderline,
}

impl Category {
    /// Every category, in a stable order.
    pub const ALL: [Category; 7] = [
        Self::Active,
        Self::InactiveClean,
        Self::InactiveWithActiveService,
        Self::InactiveWithDebt,
        Self::RecentlyActiveElsewhere,
        Self::NeverLoggedInRecentSignup,
        Self::Borderline,
    ];

    /// The share of customers made this category, in percent.
    pub fn share_percent(self) -> usize {
        match self {
            Self::Active => 70,
            Self::InactiveClean => 12,
            Self::InactiveWithActiveService | Self::InactiveWithDebt => 5,
            Self::RecentlyActiveElsewhere => 4,
            Self::NeverLoggedInRecentSignup | Self::Borderline => 2,
        }
    }

    /// Whether the 6-month inactivity policy must purge a customer of this category.
    pub fn must_be_purged(self) -> bool {
        self == Self::InactiveClean
    }

    /// A short snake_case name, for test messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::InactiveClean => "inactive_clean",
            Self::InactiveWithActiveService => "inactive_with_active_service",
            Self::InactiveWithDebt => "inactive_with_debt",
            Self::RecentlyActiveElsewhere => "recently_active_elsewhere",
            Self::NeverLoggedInRecentSignup => "never_logged_in_recent_signup",
            Self::Borderline => "borderline",
        }
    }
}
