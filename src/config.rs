//! Settings with documented defaults. Every number a planner might argue with lives here.

use chrono_tz::Tz;

/// How households and residents are estimated for buildings without real counts.
///
/// households = footprint m² × levels / `area_per_household_m2` (rounded, at least 1),
/// residents = households × `persons_per_household`.
///
/// ```
/// let e = gridcircle::config::HouseholdEstimate::default();
/// assert_eq!(e.area_per_household_m2, 90.0);
/// assert_eq!(e.households(900.0, Some(5)), 50);
/// assert_eq!(e.residents(50), 131);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdEstimate {
    /// Gross floor area per household, m². Default 90 (issue #2; a typical urban flat
    /// with its share of stairs and walls).
    pub area_per_household_m2: f64,
    /// Levels assumed when `building:levels` is missing. Default 6: the walk-up blocks
    /// that make up most untagged housing in Chinese inner cities. An assumption; override it.
    pub default_levels: u16,
    /// Persons per household. Default 2.62 (China's 7th national census, 2020, average
    /// household size).
    pub persons_per_household: f64,
    /// `building=*` values counted as residential. `yes` is included because most housing in
    /// Chinese OSM data is tagged only `building=yes`; buildings that also carry an
    /// amenity, shop, office or tourism tag are not counted as homes.
    pub residential_tags: Vec<String>,
}

impl Default for HouseholdEstimate {
    fn default() -> Self {
        HouseholdEstimate {
            area_per_household_m2: 90.0,
            default_levels: 6,
            persons_per_household: 2.62,
            residential_tags: [
                "residential",
                "apartments",
                "house",
                "detached",
                "semidetached_house",
                "terrace",
                "dormitory",
                "yes",
            ]
            .map(String::from)
            .to_vec(),
        }
    }
}

impl HouseholdEstimate {
    /// Estimated households for a footprint and level count.
    pub fn households(&self, footprint_m2: f64, levels: Option<u16>) -> u32 {
        let levels = f64::from(levels.unwrap_or(self.default_levels).max(1));
        ((footprint_m2 * levels / self.area_per_household_m2).round() as u32).max(1)
    }

    /// Estimated residents for a household count.
    pub fn residents(&self, households: u32) -> u32 {
        (f64::from(households) * self.persons_per_household).round() as u32
    }
}

/// The city's time zone, used to evaluate opening hours. Default Asia/Shanghai.
pub fn default_timezone() -> Tz {
    chrono_tz::Asia::Shanghai
}
