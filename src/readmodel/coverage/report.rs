//! Coverage reports: summary, per-grid breakdown, uncovered buildings, radius-vs-walk.

use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::cache::ReportKey;
use super::{BuildingReach, CircleReach, CountedFacilities, cached_reach, evaluate_counted};
use crate::model::{CircleDef, ModelError, ReachMode};
use crate::readmodel::Snapshot;

/// Restricts a report to the buildings of one area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Within {
    /// Members of a grid.
    Grid(i64),
    /// Buildings whose point lies in a community.
    Community(i64),
    /// Buildings whose point lies in a street office's area.
    StreetOffice(i64),
}

impl FromStr for Within {
    type Err = ModelError;
    /// `grid:12`, `community:3`, `street_office:1`.
    fn from_str(s: &str) -> Result<Self, ModelError> {
        let bad = || {
            ModelError::new(
                "within",
                "bad_within",
                format!("within must be grid:ID, community:ID or street_office:ID, got {s:?}"),
            )
        };
        let (kind, id) = s.split_once(':').ok_or_else(bad)?;
        let id: i64 = id.parse().map_err(|_| bad())?;
        match kind {
            "grid" => Ok(Within::Grid(id)),
            "community" => Ok(Within::Community(id)),
            "street_office" => Ok(Within::StreetOffice(id)),
            _ => Err(bad()),
        }
    }
}

/// Counts of buildings, households and residents, covered and not.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Buildings considered.
    pub buildings: u64,
    /// Of which covered.
    pub buildings_covered: u64,
    /// Households in them.
    pub households: u64,
    /// Of which covered.
    pub households_covered: u64,
    /// Residents in them.
    pub residents: u64,
    /// Of which covered.
    pub residents_covered: u64,
    /// Buildings not covered.
    pub buildings_uncovered: u64,
    /// Households not covered.
    pub households_uncovered: u64,
    /// Residents not covered.
    pub residents_uncovered: u64,
    /// Covered households / households × 100 (buildings when there are no households).
    pub coverage_pct: f64,
}

impl Summary {
    fn add(&mut self, households: u32, residents: u32, covered: bool) {
        self.buildings += 1;
        self.households += u64::from(households);
        self.residents += u64::from(residents);
        if covered {
            self.buildings_covered += 1;
            self.households_covered += u64::from(households);
            self.residents_covered += u64::from(residents);
        }
    }

    fn finish(&mut self) {
        self.buildings_uncovered = self.buildings - self.buildings_covered;
        self.households_uncovered = self.households - self.households_covered;
        self.residents_uncovered = self.residents - self.residents_covered;
        let (part, whole) = if self.households > 0 {
            (self.households_covered, self.households)
        } else {
            (self.buildings_covered, self.buildings)
        };
        self.coverage_pct = if whole == 0 {
            100.0
        } else {
            (part as f64 * 1000.0 / whole as f64).round() / 10.0
        };
    }
}

/// One grid's line of the breakdown.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GridRow {
    /// Grid id (`None` for buildings in no grid).
    pub grid_id: Option<i64>,
    /// Grid code.
    pub code: Option<String>,
    /// Grid name.
    pub name: Option<String>,
    /// Its counts.
    #[serde(flatten)]
    pub summary: Summary,
}

/// A coverage report for one circle.
#[derive(Debug, Clone)]
pub struct CoverageReport {
    /// Walk (or radius) answer for every building.
    pub reach: std::sync::Arc<CircleReach>,
    /// Buildings considered (indices into the building layer).
    pub considered: Vec<usize>,
    /// Totals.
    pub summary: Summary,
    /// Per grid, worst coverage first.
    pub breakdown: Vec<GridRow>,
    /// Uncovered buildings (indices), most households first.
    pub uncovered: Vec<usize>,
    /// With a radius comparison: buildings the radius circle covers but walking does not.
    pub radius_only: Option<Vec<usize>>,
    /// The radius answer, when compared.
    pub radius: Option<std::sync::Arc<CircleReach>>,
}

fn considered(s: &Snapshot, within: Option<Within>) -> Result<Vec<usize>, ModelError> {
    let buildings = s.buildings.layer.items();
    let all = 0..buildings.len();
    Ok(match within {
        None => all.collect(),
        Some(Within::Grid(id)) => {
            let g = s.grids.layer.index_of(id).ok_or_else(|| {
                ModelError::new("within", "unknown_area", format!("no grid with id {id}"))
            })?;
            all.filter(|&i| s.grids.building_grid[i] == Some(g))
                .collect()
        }
        Some(Within::Community(id)) => {
            let c = s.communities.get(id).ok_or_else(|| {
                ModelError::new(
                    "within",
                    "unknown_area",
                    format!("no community with id {id}"),
                )
            })?;
            all.filter(|&i| c.boundary.contains(buildings[i].point))
                .collect()
        }
        Some(Within::StreetOffice(id)) => {
            let o = s.street_offices.get(id).ok_or_else(|| {
                ModelError::new(
                    "within",
                    "unknown_area",
                    format!("no street office with id {id}"),
                )
            })?;
            all.filter(|&i| o.boundary.contains(buildings[i].point))
                .collect()
        }
    })
}

/// The report [`report_counted`] would answer, if it is cached (no pass over the buildings).
///
/// The HTTP layer uses it to tell a page of a cached report, which costs a serialisation of at
/// most one page, from a report still to be built, which costs a pass over every building.
pub fn cached_report(
    s: &Snapshot,
    circle: &CircleDef,
    minutes: f64,
    mode: ReachMode,
    counted: &CountedFacilities,
    within: Option<Within>,
    compare_radius: bool,
) -> Option<Arc<CoverageReport>> {
    let reach = cached_reach(s, circle, minutes, mode, counted)?;
    s.coverage_cache
        .report(&ReportKey::of(&reach, within, compare_radius))
}

/// Builds the report for `circle` with `minutes` and `mode` at `at`, restricted to `within`,
/// optionally comparing with the radius circle of the same minutes. Cached on the snapshot with
/// the reach it reads (same circle setting and the same set of open facilities).
pub fn report(
    s: &Snapshot,
    circle: &CircleDef,
    minutes: f64,
    mode: ReachMode,
    at: Option<DateTime<Utc>>,
    within: Option<Within>,
    compare_radius: bool,
) -> Result<Arc<CoverageReport>, ModelError> {
    let counted = CountedFacilities::of(s, circle, at);
    report_counted(s, circle, minutes, mode, &counted, within, compare_radius)
}

/// [`report`] over the facilities `counted` already found to count.
pub fn report_counted(
    s: &Snapshot,
    circle: &CircleDef,
    minutes: f64,
    mode: ReachMode,
    counted: &CountedFacilities,
    within: Option<Within>,
    compare_radius: bool,
) -> Result<Arc<CoverageReport>, ModelError> {
    let reach = evaluate_counted(s, circle, minutes, mode, counted);
    let key = ReportKey::of(&reach, within, compare_radius);
    if let Some(hit) = s.coverage_cache.report(&key) {
        return Ok(hit);
    }
    let report = Arc::new(build(
        s,
        circle,
        minutes,
        mode,
        counted,
        within,
        compare_radius,
        reach,
    )?);
    s.coverage_cache.put_report(key, report.clone());
    Ok(report)
}

/// The report over `reach` (see [`report`]).
#[allow(clippy::too_many_arguments)]
fn build(
    s: &Snapshot,
    circle: &CircleDef,
    minutes: f64,
    mode: ReachMode,
    counted: &CountedFacilities,
    within: Option<Within>,
    compare_radius: bool,
    reach: Arc<CircleReach>,
) -> Result<CoverageReport, ModelError> {
    let considered = considered(s, within)?;
    let buildings = s.buildings.layer.items();
    let covered = |r: &BuildingReach| r.reason.is_none();
    let mut summary = Summary::default();
    let mut rows: std::collections::BTreeMap<Option<usize>, Summary> = Default::default();
    let mut uncovered = Vec::new();
    for &i in &considered {
        let b = &buildings[i];
        let r = &reach.buildings[i];
        summary.add(b.households, b.residents, covered(r));
        rows.entry(s.grids.building_grid[i]).or_default().add(
            b.households,
            b.residents,
            covered(r),
        );
        if !covered(r) {
            uncovered.push(i);
        }
    }
    summary.finish();
    uncovered.sort_by_key(|&i| (std::cmp::Reverse(buildings[i].households), buildings[i].id));
    let grids = s.grids.layer.items();
    let mut breakdown: Vec<GridRow> = rows
        .into_iter()
        .map(|(g, mut sum)| {
            sum.finish();
            GridRow {
                grid_id: g.map(|g| grids[g].id),
                code: g.map(|g| grids[g].code.to_string()),
                name: g.map(|g| grids[g].name.clone()),
                summary: sum,
            }
        })
        .collect();
    breakdown.sort_by(|a, b| {
        a.summary
            .coverage_pct
            .total_cmp(&b.summary.coverage_pct)
            .then(
                b.summary
                    .households_uncovered
                    .cmp(&a.summary.households_uncovered),
            )
    });
    let (radius_only, radius) = if compare_radius && mode == ReachMode::Walk {
        let radius = evaluate_counted(s, circle, minutes, ReachMode::Radius, counted);
        let only = considered
            .iter()
            .copied()
            .filter(|&i| covered(&radius.buildings[i]) && !covered(&reach.buildings[i]))
            .collect();
        (Some(only), Some(radius))
    } else {
        (None, None)
    };
    Ok(CoverageReport {
        reach,
        considered,
        summary,
        breakdown,
        uncovered,
        radius_only,
        radius,
    })
}
