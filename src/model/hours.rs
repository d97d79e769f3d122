//! Opening hours in OSM `opening_hours` syntax, kept verbatim and parsed once.
//!
//! Evaluation is bounded. The `opening-hours` crate's own `next_change` walks day by day to
//! the year 9999 when the state never changes (`24/7`, `Mo-Su 00:00-24:00`, a common OSM
//! value): about a second per call. Here every answer looks at most [`HORIZON_DAYS`] ahead and
//! says so ([`OpenAt::no_change_until`]); a write is refused when the expression would cost
//! more than [`MAX_EVAL_STEPS`] over that horizon ([`Hours::check_budget`]).

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use opening_hours::OpeningHours;
use opening_hours::RuleKind;

use super::ModelError;

/// How far ahead the next change of state is searched, in days: 8.
///
/// Every weekly rule (`Mo-Fr 08:00-18:00; Sa 09:00-12:00`) repeats within 7 days, and a time
/// range may run past midnight into the next day, so a week plus a day shows the next change
/// of any weekly schedule. Beyond it the answer is "no change within the horizon"
/// ([`OpenAt::no_change_until`]) rather than a search to the crate's end of time, which is
/// what made one `Mo-Su 00:00-24:00` facility cost a second on every read. Rules that change
/// only yearly (`Jan 01 off`) show their next change once it is within 8 days.
///
/// ```
/// assert_eq!(gridcircle::model::HORIZON_DAYS, 8);
/// ```
pub const HORIZON_DAYS: u32 = 8;

/// The evaluation work a written expression may cost over the horizon, in the steps counted
/// by [`Hours::evaluation_steps`].
///
/// Real OSM values cost a few hundred steps at most: of the 350 distinct values that parse in
/// the Nanjing, Porto and Monaco extracts the costliest is 355 (a restaurant with two services
/// a day, other hours at weekends and on holidays), `24/7` is 37 and `Mo-Su 00:00-24:00` 55.
/// The 512-character limit alone would let through `Mo;Mo;…;Mo`, 170 rules in 509 characters:
/// 6,120 steps on every read. Time follows the count roughly (`benches/hours.rs`, release: 55
/// steps of `Mo-Su 00:00-24:00` in 2.6 µs, 5,400 steps of 150 rules in 150 µs), so an accepted
/// expression costs well under 0.1 ms per read.
///
/// ```
/// use gridcircle::model::{Hours, MAX_EVAL_STEPS};
/// let from = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap().and_hms_opt(0, 0, 0).unwrap();
/// let hours = Hours::parse("Mo-Fr 08:00-18:00; PH off", "opening_hours").unwrap();
/// assert!(hours.evaluation_steps(from) < MAX_EVAL_STEPS / 10);
/// ```
pub const MAX_EVAL_STEPS: u64 = 2_000;

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
    /// The last answer of [`Hours::state_at`] (shared by clones of this value).
    cache: Arc<MinuteCache>,
}

/// The last answer of [`Hours::state_at`], keyed by the minute and the time zone.
///
/// Why a cache: one request often asks one facility's state several times for one instant
/// (`/nearest` with `open_now` evaluates each candidate to filter, then again to answer; a
/// coverage report compared with the radius circle counts the open facilities twice), and
/// requests without `at` all ask for "now", so the same minute repeats across requests.
/// Opening hours have minute resolution and the holiday calendar is fixed for the process, so
/// the answer for a minute is the answer for every instant in it. One entry per expression
/// (bounded memory); `try_lock` only, so a reader never waits for another: on contention it
/// evaluates by itself, which is bounded anyway.
#[derive(Default)]
struct MinuteCache(Mutex<Option<(i64, Tz, OpenAt)>>);

impl MinuteCache {
    fn get(&self, minute: i64, tz: Tz) -> Option<OpenAt> {
        let guard = self.0.try_lock().ok()?;
        match guard.as_ref() {
            Some((m, z, open)) if *m == minute && *z == tz => Some(open.clone()),
            _ => None,
        }
    }

    fn put(&self, minute: i64, tz: Tz, open: &OpenAt) {
        if let Ok(mut guard) = self.0.try_lock() {
            *guard = Some((minute, tz, open.clone()));
        }
    }
}

impl std::fmt::Debug for MinuteCache {
    /// Says nothing of its content, so that equal hours print alike whatever was asked of them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MinuteCache")
    }
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
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use gridcircle::model::{Hours, OpenState};
/// let tz = chrono_tz::Asia::Shanghai;
/// let at = Utc.with_ymd_and_hms(2026, 11, 23, 1, 30, 0).unwrap();
/// let open = Hours::parse("24/7", "opening_hours").unwrap().state_at(at, tz);
/// assert_eq!(open.state, OpenState::Open);
/// assert_eq!(open.next_change, None);
/// // No change within the 8 days searched, and nothing said beyond them.
/// assert_eq!(open.no_change_until.unwrap().to_rfc3339(), "2026-12-01T09:30:00+08:00");
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OpenAt {
    /// Open, closed or unknown.
    pub state: OpenState,
    /// The next instant the state changes, if within the evaluation horizon.
    pub next_change: Option<DateTime<Tz>>,
    /// Set when hours are recorded but `next_change` is `None`: the state holds at least until
    /// this instant, the end of what was searched ([`HORIZON_DAYS`] after the instant asked,
    /// or the end of a make-up working day); nothing later was evaluated. `None` otherwise.
    pub no_change_until: Option<DateTime<Tz>>,
}

impl OpenAt {
    /// The state of a facility without opening hours.
    ///
    /// ```
    /// use gridcircle::model::{OpenAt, OpenState};
    /// assert_eq!(OpenAt::unknown().state, OpenState::Unknown);
    /// assert!(OpenAt::unknown().next_change.is_none() && OpenAt::unknown().no_change_until.is_none());
    /// ```
    pub fn unknown() -> Self {
        OpenAt {
            state: OpenState::Unknown,
            next_change: None,
            no_change_until: None,
        }
    }
}

impl PartialEq for Hours {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

/// A local time as an instant in `tz`; a local time that does not exist (in the hour skipped
/// when clocks go forward) is moved forward by that hour, as the clocks were.
fn in_zone(tz: Tz, naive: NaiveDateTime) -> Option<DateTime<Tz>> {
    tz.from_local_datetime(&naive).earliest().or_else(|| {
        tz.from_local_datetime(&(naive + Duration::hours(1)))
            .earliest()
    })
}

fn horizon() -> Duration {
    Duration::days(HORIZON_DAYS.into())
}

impl Hours {
    /// Parses an OSM opening_hours string (at most 512 characters). Every stored value goes
    /// through here when loaded, so this does not refuse costly expressions (their evaluation
    /// is bounded anyway); writes use [`Hours::parse_for_write`].
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
            cache: Arc::default(),
        })
    }

    /// [`Hours::parse`], then [`Hours::check_budget`]: what a new or changed facility must pass.
    ///
    /// ```
    /// use gridcircle::model::Hours;
    /// assert!(Hours::parse_for_write("Mo-Su 00:00-24:00", "opening_hours").is_ok());
    /// let vandal = ["Mo"; 150].join(";");
    /// assert!(Hours::parse(&vandal, "opening_hours").is_ok());
    /// let err = Hours::parse_for_write(&vandal, "opening_hours").unwrap_err();
    /// assert_eq!((err.field.as_str(), err.code), ("opening_hours", "opening_hours_too_complex"));
    /// ```
    pub fn parse_for_write(raw: &str, field: &str) -> Result<Self, ModelError> {
        let hours = Self::parse(raw, field)?;
        hours.check_budget(field)?;
        Ok(hours)
    }

    /// The string as written.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The state at `at`, evaluated in local time of `tz` (the city's zone), and when it next
    /// changes within [`HORIZON_DAYS`]. Opening hours have minute resolution: `at` counts from
    /// the start of its minute, and the answer for the last minute asked is kept
    /// ([`MinuteCache`]).
    pub fn state_at(&self, at: DateTime<Utc>, tz: Tz) -> OpenAt {
        let minute = at.timestamp().div_euclid(60);
        if let Some(hit) = self.cache.get(minute, tz) {
            return hit;
        }
        let open = self.evaluate(minute, tz);
        self.cache.put(minute, tz, &open);
        open
    }

    /// [`Hours::state_at`] without the cache, for the instant `minute` minutes after the epoch.
    fn evaluate(&self, minute: i64, tz: Tz) -> OpenAt {
        let at = DateTime::from_timestamp(minute * 60, 0).expect("the minute of a valid instant");
        let local = at.with_timezone(&tz).naive_local();
        // A make-up working day (调休) keeps the hours of the weekday it stands in for: evaluate
        // at the same time on a plain day of that weekday, and stop the search at midnight.
        let calendar = super::HolidayCalendar::current();
        let (state, next_local, until_local) = match calendar.works_as(local.date()) {
            None => {
                let end = local + horizon();
                let (kind, change) = self.first_change(local, end);
                (kind, change, change.is_none().then_some(end))
            }
            Some(w) => {
                let reference = calendar.reference_day(local.date(), w);
                let shift = reference.signed_duration_since(local.date());
                let midnight = (local.date() + chrono::Days::new(1))
                    .and_hms_opt(0, 0, 0)
                    .expect("midnight exists");
                let (kind, change) = self.first_change(local + shift, local + shift + horizon());
                match change {
                    Some(n) => (kind, Some((n - shift).min(midnight)), None),
                    None => (kind, None, Some(midnight)),
                }
            }
        };
        OpenAt {
            state: match state {
                RuleKind::Open => OpenState::Open,
                RuleKind::Closed => OpenState::Closed,
                RuleKind::Unknown => OpenState::Unknown,
            },
            next_change: next_local.and_then(|n| in_zone(tz, n)),
            no_change_until: until_local.and_then(|n| in_zone(tz, n)),
        }
    }

    /// The state at `from` and the first instant before `to` when it is different (a change of
    /// comment alone is no change), searching no further than `to`.
    fn first_change(
        &self,
        from: NaiveDateTime,
        to: NaiveDateTime,
    ) -> (RuleKind, Option<NaiveDateTime>) {
        let mut ranges = self.parsed.iter_range(from, to);
        // No range at all: the crate's `state` calls that closed.
        let Some(first) = ranges.next() else {
            return (RuleKind::Closed, None);
        };
        let change = ranges.find(|r| r.kind != first.kind).map(|r| r.range.start);
        (first.kind, change.filter(|c| *c < to))
    }

    /// The evaluation work of this expression over [`HORIZON_DAYS`] from `from`, in steps:
    /// counted, not timed, so the same expression costs the same on every machine and in
    /// every load.
    ///
    /// The crate evaluates a day by building, for every rule, the day's schedule and the
    /// previous day's (for times past midnight), each costing about one step per selector
    /// (weekday, date, week, year ranges and time spans); a read visits at most
    /// `HORIZON_DAYS + 1` days. Every interval of a different state it then yields is one more
    /// step. Counting stops soon after [`MAX_EVAL_STEPS`] is passed: the count is exact below
    /// the budget, and above it only says "too much".
    ///
    /// ```
    /// use gridcircle::model::Hours;
    /// let from = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap().and_hms_opt(0, 0, 0).unwrap();
    /// let steps = |raw| Hours::parse(raw, "opening_hours").unwrap().evaluation_steps(from);
    /// // One rule of one weekday range and one time span, on 9 days, and one interval.
    /// assert_eq!(steps("Mo-Su 00:00-24:00"), 2 * 3 * 9 + 1);
    /// assert!(steps("Mo-Fr 08:00-12:00,14:00-18:00; Sa 09:00-12:00") > steps("Mo-Fr 08:00-18:00"));
    /// ```
    pub fn evaluation_steps(&self, from: NaiveDateTime) -> u64 {
        let expr = self.parsed.get_expression();
        let per_day: u64 = expr
            .rules
            .iter()
            .map(|r| {
                let d = &r.day_selector;
                let selectors = d.year.len()
                    + d.monthday.len()
                    + d.week.len()
                    + d.weekday.len()
                    + r.time_selector.spans.len();
                2 * (1 + selectors as u64)
            })
            .sum();
        let mut steps = per_day * (u64::from(HORIZON_DAYS) + 1);
        if steps > MAX_EVAL_STEPS {
            return steps;
        }
        for _ in self.parsed.iter_range(from, from + horizon()) {
            steps += 1;
            if steps > MAX_EVAL_STEPS {
                break;
            }
        }
        steps
    }

    /// Refuses (`opening_hours_too_complex` on `field`) an expression whose evaluation over the
    /// horizon from the start of today (UTC) costs more than [`MAX_EVAL_STEPS`]. Called when a
    /// facility is written, never when stored ones are loaded, so a stored expression that
    /// fails it still loads (and its evaluation is bounded by the horizon).
    ///
    /// ```
    /// use gridcircle::model::Hours;
    /// let ok = Hours::parse("Mo-Fr 08:00-18:00; PH off", "opening_hours").unwrap();
    /// assert!(ok.check_budget("opening_hours").is_ok());
    /// ```
    pub fn check_budget(&self, field: &str) -> Result<(), ModelError> {
        let today = Utc::now().date_naive().and_time(NaiveTime::MIN);
        self.check_budget_from(today, field)
    }

    /// [`Hours::check_budget`] over the horizon from `from` (local time).
    pub fn check_budget_from(&self, from: NaiveDateTime, field: &str) -> Result<(), ModelError> {
        let steps = self.evaluation_steps(from);
        if steps <= MAX_EVAL_STEPS {
            return Ok(());
        }
        Err(ModelError::new(
            field,
            "opening_hours_too_complex",
            format!(
                "opening_hours {:?} is too complex to evaluate: more than {MAX_EVAL_STEPS} \
                 evaluation steps over {HORIZON_DAYS} days (counted {steps}); use fewer rules, \
                 days or time ranges",
                self.raw
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone};

    use super::*;

    const NANJING: Tz = chrono_tz::Asia::Shanghai;

    fn hours(raw: &str) -> Hours {
        Hours::parse(raw, "opening_hours").unwrap()
    }

    /// An instant given in Nanjing local time.
    fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
        NANJING
            .with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn rfc(t: Option<DateTime<Tz>>) -> Option<String> {
        t.map(|t| t.to_rfc3339())
    }

    fn midnight(y: i32, m: u32, d: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
    }

    #[test]
    fn always_open_is_open_with_no_change_within_the_horizon() {
        // Monday 2026-11-23 09:30 in Nanjing.
        let at = local(2026, 11, 23, 9, 30);
        for raw in [
            "Mo-Su 00:00-24:00",
            "24/7",
            "Mo-Fr 00:00-24:00; Sa,Su 00:00-24:00",
        ] {
            let open = hours(raw).state_at(at, NANJING);
            assert_eq!(open.state, OpenState::Open, "{raw}");
            assert_eq!(open.next_change, None, "{raw}");
            // The search stopped 8 days on and says so.
            assert_eq!(
                rfc(open.no_change_until).as_deref(),
                Some("2026-12-01T09:30:00+08:00"),
                "{raw}"
            );
            assert_eq!(
                open.no_change_until.unwrap().with_timezone(&Utc) - at,
                Duration::days(HORIZON_DAYS.into())
            );
        }
    }

    #[test]
    fn weekday_hours_with_public_holidays_off() {
        let h = hours("Mo-Fr 08:00-18:00; PH off");
        // A plain Monday morning: open until 18:00.
        let open = h.state_at(local(2026, 11, 23, 9, 30), NANJING);
        assert_eq!(open.state, OpenState::Open);
        assert_eq!(
            rfc(open.next_change).as_deref(),
            Some("2026-11-23T18:00:00+08:00")
        );
        assert_eq!(open.no_change_until, None);
        // Friday evening: closed over the weekend, until Monday 08:00.
        let open = h.state_at(local(2026, 11, 27, 19, 0), NANJING);
        assert_eq!(open.state, OpenState::Closed);
        assert_eq!(
            rfc(open.next_change).as_deref(),
            Some("2026-11-30T08:00:00+08:00")
        );
        // National Day (Thursday 1 October 2026): closed through the week of holidays, and the
        // reopening 7 days later is still found within the horizon.
        let open = h.state_at(local(2026, 10, 1, 10, 0), NANJING);
        assert_eq!(open.state, OpenState::Closed);
        assert_eq!(
            rfc(open.next_change).as_deref(),
            Some("2026-10-08T08:00:00+08:00")
        );
        // Saturday 10 October 2026 is a make-up working day standing in for a Monday: open,
        // and the search stops at the end of that day.
        let open = h.state_at(local(2026, 10, 10, 10, 0), NANJING);
        assert_eq!(open.state, OpenState::Open);
        assert_eq!(
            rfc(open.next_change).as_deref(),
            Some("2026-10-10T18:00:00+08:00")
        );
        let open = hours("Mo-Su 00:00-24:00").state_at(local(2026, 10, 10, 10, 0), NANJING);
        assert_eq!(open.state, OpenState::Open);
        assert_eq!(open.next_change, None);
        assert_eq!(
            rfc(open.no_change_until).as_deref(),
            Some("2026-10-11T00:00:00+08:00")
        );
    }

    #[test]
    fn a_yearly_change_shows_only_once_within_the_horizon() {
        let h = hours("Mo-Su 00:00-24:00; Jan 01 off");
        // Late November: open, and New Year is beyond the 8 days searched.
        let open = h.state_at(local(2026, 11, 23, 12, 0), NANJING);
        assert_eq!(open.state, OpenState::Open);
        assert_eq!(open.next_change, None);
        assert_eq!(
            rfc(open.no_change_until).as_deref(),
            Some("2026-12-01T12:00:00+08:00")
        );
        // Three days before: the closing at New Year is found.
        let open = h.state_at(local(2026, 12, 29, 12, 0), NANJING);
        assert_eq!(open.state, OpenState::Open);
        assert_eq!(
            rfc(open.next_change).as_deref(),
            Some("2027-01-01T00:00:00+08:00")
        );
        // On the day: closed until the next midnight.
        let open = h.state_at(local(2027, 1, 1, 12, 0), NANJING);
        assert_eq!(open.state, OpenState::Closed);
        assert_eq!(
            rfc(open.next_change).as_deref(),
            Some("2027-01-02T00:00:00+08:00")
        );
    }

    #[test]
    fn sun_events_use_the_crate_default_times() {
        // Without coordinates the crate puts sunrise at 07:00 and sunset at 19:00.
        let h = hours("Mo-Su sunrise-sunset");
        let open = h.state_at(local(2026, 11, 23, 12, 0), NANJING);
        assert_eq!(open.state, OpenState::Open);
        assert_eq!(
            rfc(open.next_change).as_deref(),
            Some("2026-11-23T19:00:00+08:00")
        );
        let open = h.state_at(local(2026, 11, 23, 23, 0), NANJING);
        assert_eq!(open.state, OpenState::Closed);
        assert_eq!(
            rfc(open.next_change).as_deref(),
            Some("2026-11-24T07:00:00+08:00")
        );
    }

    #[test]
    fn a_change_of_comment_alone_is_no_change_of_state() {
        let h = hours(r#"Mo-Fr 08:00-12:00 open "morning", Mo-Fr 12:00-18:00 open "afternoon""#);
        // The crate's own next change is the change of comment at noon.
        let ten = midnight(2026, 11, 23) + Duration::hours(10);
        assert_eq!(
            h.parsed.next_change(ten),
            Some(midnight(2026, 11, 23) + Duration::hours(12))
        );
        let open = h.state_at(local(2026, 11, 23, 10, 0), NANJING);
        assert_eq!(open.state, OpenState::Open);
        assert_eq!(
            rfc(open.next_change).as_deref(),
            Some("2026-11-23T18:00:00+08:00")
        );
    }

    #[test]
    fn a_local_time_skipped_by_daylight_saving_moves_forward() {
        // Lisbon, Sunday 29 March 2026: clocks go from 01:00 to 02:00.
        let lisbon = chrono_tz::Europe::Lisbon;
        let h = hours("Mo-Su 01:30-18:00");
        let at = Utc.with_ymd_and_hms(2026, 3, 29, 0, 15, 0).unwrap();
        let open = h.state_at(at, lisbon);
        assert_eq!(open.state, OpenState::Closed);
        assert_eq!(
            rfc(open.next_change).as_deref(),
            Some("2026-03-29T02:30:00+01:00")
        );
    }

    #[test]
    fn one_minute_one_answer_whatever_the_second_or_the_copy() {
        let h = hours("Mo-Fr 08:00-18:00; PH off");
        let start = local(2026, 11, 23, 17, 59);
        let first = h.state_at(start + Duration::seconds(59), NANJING);
        assert_eq!(first.state, OpenState::Open);
        assert_eq!(
            rfc(first.next_change).as_deref(),
            Some("2026-11-23T18:00:00+08:00")
        );
        // The cached answer, the uncached one and a copy's agree for every second of the minute.
        let copy = h.clone();
        for s in [0, 1, 30, 59] {
            let at = start + Duration::seconds(s);
            assert_eq!(h.state_at(at, NANJING), first);
            assert_eq!(copy.state_at(at, NANJING), first);
            assert_eq!(h.evaluate(at.timestamp().div_euclid(60), NANJING), first);
        }
        // The next minute is another answer, and so is another time zone for the same minute.
        assert_eq!(
            h.state_at(start + Duration::minutes(1), NANJING).state,
            OpenState::Closed
        );
        let lisbon = h.state_at(start, chrono_tz::Europe::Lisbon);
        assert_eq!(lisbon.state, OpenState::Open);
        assert_eq!(
            rfc(lisbon.next_change).as_deref(),
            Some("2026-11-23T18:00:00+00:00")
        );
    }

    #[test]
    fn common_expressions_fit_the_budget() {
        let from = midnight(2026, 11, 23);
        for raw in [
            "24/7",
            "Mo-Su 00:00-24:00",
            "Mo-Fr 08:00-18:00; PH off",
            "Mo-Su sunrise-sunset",
            "Mo-Su 00:00-24:00; Jan 01 off",
            "Mo-Fr 16:30-20:30; Sa,Su 09:00-17:00; PH off",
            "Mo-Th 12:00-15:00, 19:30-22:00; Fr, Sa 12:00-15:00, 19:30-23:30; Su 19:00-22:30; PH 12:30-15:30,19:30-22:30",
        ] {
            let h = hours(raw);
            let steps = h.evaluation_steps(from);
            assert!(steps <= MAX_EVAL_STEPS / 4, "{raw}: {steps}");
            assert!(h.check_budget_from(from, "opening_hours").is_ok(), "{raw}");
            assert!(
                Hours::parse_for_write(raw, "opening_hours").is_ok(),
                "{raw}"
            );
        }
        // Counted exactly: one rule, one weekday range, one time span, on 9 days; one interval.
        assert_eq!(
            hours("Mo-Su 00:00-24:00").evaluation_steps(from),
            2 * 3 * 9 + 1
        );
        // Two states a day over 8 days add their intervals.
        assert_eq!(
            hours("Mo-Su 08:00-18:00").evaluation_steps(from),
            2 * 3 * 9 + 8 * 2 + 1
        );
    }

    #[test]
    fn the_budget_refuses_a_pathological_expression_which_still_reads_bounded() {
        let from = midnight(2026, 11, 23);
        // 150 rules of one weekday each: valid syntax in 449 characters, 5,400 steps.
        let raw = ["Mo"; 150].join(";");
        let h = hours(&raw);
        assert!(h.evaluation_steps(from) > MAX_EVAL_STEPS);
        let err = h.check_budget_from(from, "opening_hours").unwrap_err();
        assert_eq!(err.field, "opening_hours");
        assert_eq!(err.code, "opening_hours_too_complex");
        assert!(err.message.contains("too complex"), "{}", err.message);
        assert!(err.message.contains("2000"), "{}", err.message);
        let err = Hours::parse_for_write(&raw, "opening_hours").unwrap_err();
        assert_eq!(err.code, "opening_hours_too_complex");
        // Selectors count too: one rule listing the weekdays 20 times over (431 characters).
        let listed = format!(
            "{} 08:00-18:00",
            ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]
                .repeat(20)
                .join(",")
        );
        assert!(Hours::parse(&listed, "opening_hours").is_ok());
        let err = Hours::parse_for_write(&listed, "opening_hours").unwrap_err();
        assert_eq!(err.code, "opening_hours_too_complex");
        // Stored before the check existed, the pathological one still loads and reads, bounded
        // by the horizon: open on Mondays, closed from Tuesday.
        let open = h.state_at(local(2026, 11, 23, 10, 0), NANJING);
        assert_eq!(open.state, OpenState::Open);
        assert_eq!(
            rfc(open.next_change).as_deref(),
            Some("2026-11-24T00:00:00+08:00")
        );
        let open = h.state_at(local(2026, 11, 24, 10, 0), NANJING);
        assert_eq!(open.state, OpenState::Closed);
        assert_eq!(
            rfc(open.next_change).as_deref(),
            Some("2026-11-30T00:00:00+08:00")
        );
    }
}
