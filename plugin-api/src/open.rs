//! Opening a connector: the settings and the [`OpenContext`] the host hands over, and how
//! they become an instance. The plugin export and [`crate::testing`] both open through
//! [`open_connector`], so a test opens a connector exactly as gallra does.

use jiff::tz::TimeZone;

use crate::connector::{parse_settings, Connector};
use crate::error::ConnectorError;
use crate::messages::OpenContext;

impl OpenContext {
    /// The configured time zone (`time_zone` in `gallra.toml`) as a [`TimeZone`]: the one to
    /// read a date the system stores without a zone in (a `2024-05-01 13:45` login time).
    /// Call it in [`Connector::open`] and keep the result.
    ///
    /// gallra checks the name when it reads its configuration, so this fails only where the
    /// plugin cannot find that zone in the machine's tz database; the error says so.
    ///
    /// ```
    /// use gallra_plugin_api::jiff::civil::date;
    /// use gallra_plugin_api::OpenContext;
    ///
    /// let context = OpenContext { system: "shop".into(), time_zone: "Europe/Stockholm".into() };
    /// let zone = context.tz().unwrap();
    /// let login = date(2024, 5, 1).at(13, 45, 0, 0).to_zoned(zone).unwrap();
    /// assert_eq!(login.timestamp().to_string(), "2024-05-01T11:45:00Z");
    /// ```
    pub fn tz(&self) -> Result<TimeZone, ConnectorError> {
        TimeZone::get(&self.time_zone).map_err(|_| {
            ConnectorError::permanent(format!(
                "unknown time zone {:?} (gallra's time_zone setting): the plugin cannot find \
                 it in this machine's tz database (is the tzdata package installed?)",
                self.time_zone
            ))
        })
    }
}

/// Parses the settings (JSON, as the host sends them), checks them with
/// [`Connector::validate`], and opens connector `C` with `context`.
pub(crate) fn open_connector<C: Connector>(
    settings: &[u8],
    context: OpenContext,
) -> Result<C, ConnectorError> {
    let settings = parse_settings::<C::Settings>(settings)?;
    C::validate(&settings)?;
    C::open(settings, context)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context(time_zone: &str) -> OpenContext {
        OpenContext {
            system: "shop".into(),
            time_zone: time_zone.into(),
        }
    }

    #[test]
    fn a_configured_zone_is_found() {
        let zone = context("Europe/Stockholm").tz().unwrap();
        assert_eq!(zone.iana_name(), Some("Europe/Stockholm"));
    }

    #[test]
    fn an_unknown_zone_is_a_permanent_error_naming_the_setting() {
        let error = context("Europe/Atlantis").tz().unwrap_err();
        assert!(
            matches!(error, ConnectorError::Permanent { .. }),
            "{error:?}"
        );
        let text = error.to_string();
        assert!(
            text.contains("\"Europe/Atlantis\"") && text.contains("time_zone"),
            "{text}"
        );
    }
}
