//! The public-holiday calendar for `PH` in opening hours, with make-up working days (调休).
//! Data, not code: `data/holidays/cn.toml` (or the file named by `GRIDCIRCLE_HOLIDAYS`).

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use chrono::{Datelike, NaiveDate, Weekday};
use compact_calendar::CompactCalendar;

use super::ModelError;

/// Holidays and make-up working days.
///
/// ```
/// use chrono::NaiveDate;
/// let cal = gridcircle::model::HolidayCalendar::bundled();
/// assert!(cal.is_holiday(NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()));
/// assert_eq!(cal.works_as(NaiveDate::from_ymd_opt(2026, 10, 10).unwrap()), Some(chrono::Weekday::Mon));
/// assert!(cal.source().contains("unverified"));
/// ```
#[derive(Debug, Clone)]
pub struct HolidayCalendar {
    holidays: Arc<CompactCalendar>,
    workdays: BTreeMap<NaiveDate, Weekday>,
    source: String,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    source: String,
    #[serde(default)]
    holiday: Vec<Entry>,
    #[serde(default)]
    workday: Vec<Workdays>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    #[allow(dead_code)]
    name: String,
    days: Vec<NaiveDate>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Workdays {
    days: Vec<NaiveDate>,
    #[serde(rename = "as", default = "monday")]
    as_weekday: String,
}

fn monday() -> String {
    "Mo".into()
}

fn weekday(text: &str) -> Result<Weekday, ModelError> {
    Ok(match text {
        "Mo" => Weekday::Mon,
        "Tu" => Weekday::Tue,
        "We" => Weekday::Wed,
        "Th" => Weekday::Thu,
        "Fr" => Weekday::Fri,
        "Sa" => Weekday::Sat,
        "Su" => Weekday::Sun,
        _ => {
            return Err(ModelError::new(
                "as",
                "invalid_calendar",
                format!("weekday {text:?} is not Mo..Su"),
            ));
        }
    })
}

impl HolidayCalendar {
    /// Parses a calendar file.
    pub fn from_toml(text: &str) -> Result<Self, ModelError> {
        let file: File = toml::from_str(text)
            .map_err(|e| ModelError::new("holidays", "invalid_calendar", e.to_string()))?;
        let mut holidays = CompactCalendar::default();
        for day in file.holiday.iter().flat_map(|h| &h.days) {
            holidays.insert(*day);
        }
        let mut workdays = BTreeMap::new();
        for w in &file.workday {
            let as_weekday = weekday(&w.as_weekday)?;
            for d in &w.days {
                if holidays.contains(*d) {
                    return Err(ModelError::new(
                        "holidays",
                        "invalid_calendar",
                        format!("{d} is both a holiday and a working day"),
                    ));
                }
                workdays.insert(*d, as_weekday);
            }
        }
        Ok(HolidayCalendar {
            holidays: Arc::new(holidays),
            workdays,
            source: file.source,
        })
    }

    /// The calendar shipped in `data/holidays/cn.toml`.
    pub fn bundled() -> Self {
        Self::from_toml(include_str!("../../data/holidays/cn.toml"))
            .expect("bundled data/holidays/cn.toml is valid")
    }

    /// The process-wide calendar: `GRIDCIRCLE_HOLIDAYS` if set (a bad file stops the process
    /// with a clear message at first use), else the bundled one.
    pub fn current() -> &'static HolidayCalendar {
        static CURRENT: OnceLock<HolidayCalendar> = OnceLock::new();
        CURRENT.get_or_init(|| match std::env::var("GRIDCIRCLE_HOLIDAYS") {
            Ok(path) => {
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("GRIDCIRCLE_HOLIDAYS={path}: {e}"));
                Self::from_toml(&text).unwrap_or_else(|e| panic!("GRIDCIRCLE_HOLIDAYS={path}: {e}"))
            }
            Err(_) => Self::bundled(),
        })
    }

    /// The holidays, for opening_hours' `PH`.
    pub fn holidays(&self) -> Arc<CompactCalendar> {
        self.holidays.clone()
    }

    /// True on a public holiday.
    pub fn is_holiday(&self, day: NaiveDate) -> bool {
        self.holidays.contains(day)
    }

    /// On a make-up working day, the weekday whose hours apply.
    pub fn works_as(&self, day: NaiveDate) -> Option<Weekday> {
        self.workdays.get(&day).copied()
    }

    /// Where the dates come from, and whether they were verified.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// A date near `day` with weekday `w` that is neither a holiday nor a make-up day: where a
    /// make-up working day borrows its opening hours from.
    pub fn reference_day(&self, day: NaiveDate, w: Weekday) -> NaiveDate {
        (1..=8 * 7)
            .flat_map(|k| [day - chrono::Days::new(k), day + chrono::Days::new(k)])
            .find(|d| d.weekday() == w && !self.is_holiday(*d) && self.works_as(*d).is_none())
            .unwrap_or(day)
    }
}
