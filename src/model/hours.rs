//! Opening hours in OSM `opening_hours` syntax, kept verbatim and parsed once.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use opening_hours::OpeningHours;
use opening_hours::RuleKind;

use super::ModelError;

/// Opening hours: the raw OSM string and its parsed form.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use gridcircle::model::{Hours, OpenState};
/// let hours = Hours::parse("Mo-Fr 08:00-18:00", "opening_hours").unwrap();
/// let tz: chrono_tz::Tz = "Asia/Shanghai".parse().unwrap();
/// // Monday 2026-11-23 09:30 in Nanjing is 01:30 UTC.
/// let at = Utc.with_ymd_and_hms(2026, 11, 23, 1, 30, 0).unwrap();
/// let open = hours.state_at(at, tz);
/// assert_eq!(open.state, OpenState::Open);
/// assert_eq!(open.next_change.unwrap().to_rfc3339(), "2026-11-23T18:00:00+08:00");
/// assert!(Hours::parse("Mo-Fr 25:00-26:99", "opening_hours").is_err());
/// ```
#[derive(Debug, Clone)]
pub struct Hours {
    raw: String,
    parsed: OpeningHours,
}

/// Whether a facility is open at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OpenState {
    /// Open now.
    Open,
    /// Closed now.
    Closed,
    /// The hours say "unknown", or no hours are recorded.
    Unknown,
}

/// The opening state at an instant and when it next changes, in the city's time zone.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OpenAt {
    /// Open, closed or unknown.
    pub state: OpenState,
    /// The next instant the state changes, if within the evaluation horizon.
    pub next_change: Option<DateTime<Tz>>,
}

impl OpenAt {
    /// The state of a facility without opening hours.
    pub fn unknown() -> Self {
        OpenAt {
            state: OpenState::Unknown,
            next_change: None,
        }
    }
}

impl PartialEq for Hours {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl Hours {
    /// Parses an OSM opening_hours string (at most 512 characters).
    pub fn parse(raw: &str, field: &str) -> Result<Self, ModelError> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > 512 {
            return Err(ModelError::new(
                field,
                "invalid_opening_hours",
                "opening_hours is 1 to 512 characters",
            ));
        }
        let parsed: OpeningHours = raw.parse::<OpeningHours>().map_err(|e| {
            ModelError::new(
                field,
                "invalid_opening_hours",
                format!("cannot parse opening_hours {raw:?}: {e}"),
            )
        })?;
        // Attach the public-holiday calendar, else `PH` rules are silently ignored.
        let calendar = super::HolidayCalendar::current();
        let holidays = opening_hours::ContextHolidays::new(calendar.holidays(), Default::default());
        let parsed = parsed.with_context(opening_hours::Context::default().with_holidays(holidays));
        Ok(Hours {
            raw: raw.to_owned(),
            parsed,
        })
    }

    /// The string as written.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The state at `at`, evaluated in local time of `tz` (the city's zone).
    pub fn state_at(&self, at: DateTime<Utc>, tz: Tz) -> OpenAt {
        let local = at.with_timezone(&tz).naive_local();
        // A make-up working day (调休) keeps the hours of the weekday it stands in for: evaluate
        // at the same time on a plain day of that weekday, and stop the next change at midnight.
        let calendar = super::HolidayCalendar::current();
        let (eval_at, shift) = match calendar.works_as(local.date()) {
            Some(w) => {
                let reference = calendar.reference_day(local.date(), w);
                let shift = reference.signed_duration_since(local.date());
                (local + shift, Some(shift))
            }
            None => (local, None),
        };
        let state = match self.parsed.state(eval_at).0 {
            RuleKind::Open => OpenState::Open,
            RuleKind::Closed => OpenState::Closed,
            RuleKind::Unknown => OpenState::Unknown,
        };
        let next_local = self.parsed.next_change(eval_at).map(|n| match shift {
            None => n,
            Some(shift) => {
                let midnight = (local.date() + chrono::Days::new(1))
                    .and_hms_opt(0, 0, 0)
                    .expect("midnight exists");
                (n - shift).min(midnight)
            }
        });
        let next_change = next_local.and_then(|naive| tz.from_local_datetime(&naive).earliest());
        OpenAt { state, next_change }
    }
}
