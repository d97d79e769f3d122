//! Argument groups shared by several subcommands: the grid topology thresholds (`import`,
//! `serve`, `demo`) and the household estimate (`import`).

use crate::config::HouseholdEstimate;

/// The thresholds of the grid topology checks: a local rule, so the operator's to set.
#[derive(Debug, clap::Args)]
pub(super) struct TopologyArgs {
    /// Drawing tolerance of the grid checks, metres: overlaps and parts outside the parent
    /// larger than tolerance², and gaps narrower than it, are errors.
    #[arg(long, default_value_t = 1.0, env = "GRIDCIRCLE_TOLERANCE_M")]
    tolerance_m: f64,
    /// Household guidance per grid, MIN-MAX (a warning outside it), or `off`.
    #[arg(long, default_value = "300-500", env = "GRIDCIRCLE_HOUSEHOLDS",
        value_parser = |s: &str| crate::grids::parse_household_guidance(s).map(Guidance).map_err(|e| e.message))]
    households: Guidance,
    /// A building counts as cut when more than this share of its footprint lies on each side
    /// of a boundary.
    #[arg(long, default_value_t = 0.10, env = "GRIDCIRCLE_CUT_BUILDING_SHARE")]
    cut_building_share: f64,
}

/// A parsed `--households` value (None: off).
#[derive(Debug, Clone)]
struct Guidance(Option<std::ops::RangeInclusive<u32>>);

impl TopologyArgs {
    /// The checked thresholds, or which flag is wrong and why.
    pub(super) fn config(&self) -> anyhow::Result<crate::grids::TopologyConfig> {
        crate::grids::TopologyConfig::new(
            self.tolerance_m,
            self.households.0.clone(),
            self.cut_building_share,
        )
        .map_err(|e| anyhow::anyhow!("--{}: {}", e.field.replace('_', "-"), e.message))
    }
}

/// How an OSM import estimates households and residents of residential buildings.
#[derive(Debug, clap::Args)]
pub(super) struct EstimateArgs {
    /// Gross floor area per household (m²) for household estimates.
    #[arg(long, default_value_t = 90.0)]
    household_area: f64,
    /// Levels assumed when building:levels is missing.
    #[arg(long, default_value_t = 6)]
    default_levels: u16,
    /// Persons per household.
    #[arg(long, default_value_t = 2.62)]
    persons_per_household: f64,
}

impl EstimateArgs {
    /// The estimate these flags describe (the other settings at their defaults).
    pub(super) fn estimate(&self) -> HouseholdEstimate {
        HouseholdEstimate {
            area_per_household_m2: self.household_area,
            default_levels: self.default_levels,
            persons_per_household: self.persons_per_household,
            ..HouseholdEstimate::default()
        }
    }
}
