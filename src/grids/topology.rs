//! Topology checks for a drawn area against its parent and its siblings: grids inside a
//! community, communities inside a street office, street offices beside each other.
//!
//! Every check works in a [`LocalFrame`] around the parent's representative point (or the
//! area's own, when there is no parent), so tolerances are metres. geo's boolean operations snap
//! coordinates, so nothing is compared exactly: see [`TopologyConfig`] for each threshold and
//! [`super::measure`] for how "narrow" is decided.

use std::ops::RangeInclusive;

use geo::{
    Area, BooleanOps, BoundingRect, Buffer, Coord, Distance, Euclidean, Geometry, Length,
    MultiLineString, MultiPolygon, Polygon, Rect,
};

use super::measure::{narrow_parts, oriented, perimeter_m, rect_polygon, without_debris};
use super::{LocalFrame, Problem, ProblemKind, TopologyReport};
use crate::model::{
    AreaShape, Building, Community, CommunityCode, Grid, GridCode, ModelError, StreetOffice,
    StreetOfficeCode,
};

/// Thresholds of the checks. The defaults suit grids drawn by hand on a web map.
///
/// ```
/// let c = gridcircle::grids::TopologyConfig::default();
/// assert_eq!(c.tolerance_m, 1.0);
/// assert_eq!(c.households, Some(300..=500));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TopologyConfig {
    /// Drawing tolerance in metres (default 1). An overlap, or a part outside the parent,
    /// counts when its area exceeds `tolerance_m²` (a piece wider than the tolerance always
    /// does: its area is at least π·tolerance², so "area > tol² or width > tol" reduces to the
    /// area test). A gap counts as a sliver when it is narrower than `tolerance_m` (no disc of
    /// that diameter fits) and longer than it.
    pub tolerance_m: f64,
    /// Pieces thinner than this (width estimate, metres; default 0.001) are floating-point
    /// debris of the boolean operations and are ignored.
    pub noise_m: f64,
    /// A building counts as cut when more than this share of its footprint lies on each side of
    /// the boundary (default 0.10).
    pub cut_building_share: f64,
    /// Household guidance for a grid (default 300–500, Haikou's rule; a local rule, so
    /// configurable). `None` turns the warning off. Not applied to communities or street offices.
    pub households: Option<RangeInclusive<u32>>,
}

impl Default for TopologyConfig {
    fn default() -> Self {
        TopologyConfig {
            tolerance_m: 1.0,
            noise_m: 0.001,
            cut_building_share: 0.10,
            households: Some(300..=500),
        }
    }
}

impl TopologyConfig {
    /// The thresholds an operator sets (`gridcircle serve --tolerance-m … --households …
    /// --cut-building-share …`), checked: a tolerance in (0, 100] metres, a cut share in
    /// (0, 0.5), a household range whose start is not above its end. The debris threshold stays
    /// at its default (it is about floating point, not about drawing).
    ///
    /// ```
    /// use gridcircle::grids::TopologyConfig;
    /// let c = TopologyConfig::new(0.5, Some(200..=400), 0.2).unwrap();
    /// assert_eq!(c.tolerance_m, 0.5);
    /// assert_eq!(TopologyConfig::new(0.0, None, 0.1).unwrap_err().field, "tolerance_m");
    /// assert_eq!(TopologyConfig::new(1.0, None, 0.7).unwrap_err().field, "cut_building_share");
    /// ```
    pub fn new(
        tolerance_m: f64,
        households: Option<RangeInclusive<u32>>,
        cut_building_share: f64,
    ) -> Result<TopologyConfig, ModelError> {
        if !(tolerance_m > 0.0 && tolerance_m <= 100.0) {
            return Err(ModelError::new(
                "tolerance_m",
                "out_of_range",
                format!(
                    "the drawing tolerance must be more than 0 and at most 100 metres, not {tolerance_m}"
                ),
            ));
        }
        if !(cut_building_share > 0.0 && cut_building_share < 0.5) {
            return Err(ModelError::new(
                "cut_building_share",
                "out_of_range",
                format!(
                    "the cut-building share must be between 0 and 0.5 (exclusive), not {cut_building_share}"
                ),
            ));
        }
        if let Some(r) = &households
            && r.start() > r.end()
        {
            return Err(ModelError::new(
                "households",
                "empty_range",
                format!("the household guidance {}-{} is empty", r.start(), r.end()),
            ));
        }
        Ok(TopologyConfig {
            tolerance_m,
            households,
            cut_building_share,
            ..TopologyConfig::default()
        })
    }
}

/// Parses a household guidance as an operator writes it: `300-500` (inclusive), or `off`.
///
/// ```
/// use gridcircle::grids::parse_household_guidance;
/// assert_eq!(parse_household_guidance("300-500").unwrap(), Some(300..=500));
/// assert_eq!(parse_household_guidance("off").unwrap(), None);
/// assert_eq!(parse_household_guidance("500-300").unwrap_err().code, "empty_range");
/// assert_eq!(parse_household_guidance("many").unwrap_err().field, "households");
/// ```
pub fn parse_household_guidance(text: &str) -> Result<Option<RangeInclusive<u32>>, ModelError> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("off") || text.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    let bad = || {
        ModelError::new(
            "households",
            "bad_range",
            format!("household guidance is MIN-MAX (e.g. 300-500) or off, not {text:?}"),
        )
    };
    let (lo, hi) = text.split_once('-').ok_or_else(bad)?;
    let lo: u32 = lo.trim().parse().map_err(|_| bad())?;
    let hi: u32 = hi.trim().parse().map_err(|_| bad())?;
    if lo > hi {
        return Err(ModelError::new(
            "households",
            "empty_range",
            format!("the household guidance {lo}-{hi} is empty"),
        ));
    }
    Ok(Some(lo..=hi))
}

/// The level of the areas checked: decides the wording and which checks apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Grids inside a community (household guidance applies).
    Grid,
    /// Communities inside a street office.
    Community,
    /// Street offices beside each other (no parent).
    StreetOffice,
}

impl Level {
    fn noun(self) -> &'static str {
        match self {
            Level::Grid => "grid",
            Level::Community => "community",
            Level::StreetOffice => "street office",
        }
    }

    fn parent_noun(self) -> &'static str {
        match self {
            Level::Grid => "community",
            Level::Community => "street office",
            Level::StreetOffice => "district",
        }
    }
}

/// An area as the checks see it: its store id (`None` for one not yet saved), its code and its
/// shape.
#[derive(Debug, Clone, Copy)]
pub struct AreaRef<'a> {
    /// Store id; `None` for a new area.
    pub id: Option<i64>,
    /// Its code (grid, community or street office code).
    pub code: &'a str,
    /// Its boundary.
    pub shape: &'a AreaShape,
}

impl<'a> From<&'a Grid> for AreaRef<'a> {
    fn from(g: &'a Grid) -> Self {
        AreaRef {
            id: Some(g.id),
            code: g.code.as_str(),
            shape: &g.boundary,
        }
    }
}

impl<'a> From<&'a Community> for AreaRef<'a> {
    fn from(c: &'a Community) -> Self {
        AreaRef {
            id: Some(c.id),
            code: c.code.as_str(),
            shape: &c.boundary,
        }
    }
}

impl<'a> From<&'a StreetOffice> for AreaRef<'a> {
    fn from(s: &'a StreetOffice) -> Self {
        AreaRef {
            id: Some(s.id),
            code: s.code.as_str(),
            shape: &s.boundary,
        }
    }
}

/// Checks a grid drawn (or redrawn) inside `parent` against the community's other grids and the
/// buildings.
///
/// - `id`: the grid's store id when it replaces a saved grid; a sibling with the same id is its
///   old version and is skipped, so `siblings` may be every grid of the community.
/// - `siblings`: the community's grids (grids of other communities are not compared).
/// - `buildings`: at least the buildings of the community (the snapshot's
///   `buildings.layer.items()` will do; they are filtered by bounding box).
///
/// Errors: `duplicate_code`, `outside_parent`, `overlap`, `sliver_gap`. Warnings:
/// `cut_building`, `households_outside_guidance`, `buildings_without_grid`. See
/// [`check_area`] for the exact rules.
///
/// ```
/// use geo::polygon;
/// use gridcircle::grids::{ProblemKind, TopologyConfig, check_grid};
/// use gridcircle::model::{AreaShape, Community, CommunityCode, Grid, GridCode};
/// let square = |w: f64, e: f64| AreaShape::from_polygon(polygon![(x: w, y: 32.040), (x: e, y: 32.040), (x: e, y: 32.044), (x: w, y: 32.044)], "geometry").unwrap();
/// let community = Community { id: 1, code: CommunityCode::parse("320104001001", "code").unwrap(), name: "甲".into(),
///     street_office_id: 1, boundary: square(118.780, 118.790), demo: false };
/// let west = Grid { id: 10, code: GridCode::parse("320104001001001", "code").unwrap(), name: "第1网格".into(),
///     community_id: 1, chief: None, workers: vec![], boundary: square(118.780, 118.785), demo: false, version: 1 };
/// // The east half, drawn 10 m too far west: it overlaps grid 10 by a strip 10 m wide.
/// let east = square(118.785 - 10.0 / 94_400.0, 118.790);
/// let code = GridCode::parse("320104001001002", "code").unwrap();
/// let report = check_grid(&east, &code, None, &community, &[west], &[], &TopologyConfig::default());
/// let overlap = report.errors.iter().find(|p| p.kind == ProblemKind::Overlap).unwrap();
/// assert_eq!(overlap.other_id, Some(10));
/// ```
pub fn check_grid(
    candidate: &AreaShape,
    code: &GridCode,
    id: Option<i64>,
    parent: &Community,
    siblings: &[Grid],
    buildings: &[Building],
    config: &TopologyConfig,
) -> TopologyReport {
    let siblings: Vec<AreaRef> = siblings.iter().map(AreaRef::from).collect();
    check_area(
        Level::Grid,
        AreaRef {
            id,
            code: code.as_str(),
            shape: candidate,
        },
        Some(parent.into()),
        &siblings,
        buildings,
        config,
    )
}

/// Checks a community inside its street office against the office's other communities. Like
/// [`check_grid`], without the household guidance.
pub fn check_community(
    candidate: &AreaShape,
    code: &CommunityCode,
    id: Option<i64>,
    parent: &StreetOffice,
    siblings: &[Community],
    buildings: &[Building],
    config: &TopologyConfig,
) -> TopologyReport {
    let siblings: Vec<AreaRef> = siblings.iter().map(AreaRef::from).collect();
    check_area(
        Level::Community,
        AreaRef {
            id,
            code: code.as_str(),
            shape: candidate,
        },
        Some(parent.into()),
        &siblings,
        buildings,
        config,
    )
}

/// Checks a street office against the other street offices (there is no parent polygon, so
/// no `outside_parent` or `buildings_without_grid`; gaps are looked for between offices only).
pub fn check_street_office(
    candidate: &AreaShape,
    code: &StreetOfficeCode,
    id: Option<i64>,
    siblings: &[StreetOffice],
    buildings: &[Building],
    config: &TopologyConfig,
) -> TopologyReport {
    let siblings: Vec<AreaRef> = siblings.iter().map(AreaRef::from).collect();
    check_area(
        Level::StreetOffice,
        AreaRef {
            id,
            code: code.as_str(),
            shape: candidate,
        },
        None,
        &siblings,
        buildings,
        config,
    )
}

/// A sibling in the local frame.
struct Near<'a> {
    area: AreaRef<'a>,
    local: MultiPolygon<f64>,
}

/// The general check behind [`check_grid`], [`check_community`] and [`check_street_office`].
///
/// With `tol` = `config.tolerance_m`, all in metres in the parent's local frame:
/// - **duplicate_code**: a sibling (other id) has the same code; geometry = that sibling.
/// - **outside_parent**: `candidate − parent` has more than `tol²` of area; geometry = that
///   difference, `other_id` = the parent.
/// - **overlap**: per sibling, `candidate ∩ sibling` has more than `tol²` of area; geometry = the
///   intersection, `other_id` = the sibling.
/// - **sliver_gap**: the uncovered region `U = parent − candidate − siblings` (without a parent:
///   the bounding box of all of them, grown by `2·tol`) has narrow parts (see
///   [`super::measure`]); a narrow part that touches the candidate and is longer than `tol` is a
///   gap with each sibling that lines it for at least `tol` (one problem per sibling,
///   `other_id`), or else with the parent's boundary if that lines it for at least `tol`
///   (`other_id` = the parent), or else with whichever lines it most. A sliver between two grids
///   also touches the grids beside them at its ends; those are not across it. Geometry = the
///   gap.
/// - **cut_building** (warning): a building whose footprint has more than
///   `cut_building_share` of its area on each side of the candidate's boundary; one problem
///   per building, geometry = the footprint, `building_id`.
/// - **households_outside_guidance** (grids only, warning): the households of the buildings
///   whose representative point lies in the candidate (the membership rule of
///   `GridLayer` of the read model) fall outside `config.households`; geometry = the candidate.
/// - **buildings_without_grid** (warning, with a parent): buildings whose representative point
///   lies in the parent but in neither the candidate nor any sibling; one problem, geometry =
///   their footprints, `other_id` = the parent. All such buildings are reported (a community
///   still being gridded has many); the message says how many of them the candidate's previous
///   version (the sibling with the candidate's id, if given) held, i.e. were released by this
///   change.
///
/// Pieces thinner than `config.noise_m` are ignored throughout.
pub fn check_area(
    level: Level,
    candidate: AreaRef<'_>,
    parent: Option<AreaRef<'_>>,
    siblings: &[AreaRef<'_>],
    buildings: &[Building],
    config: &TopologyConfig,
) -> TopologyReport {
    let tol = config.tolerance_m;
    let frame = LocalFrame::for_area(parent.map_or(candidate.shape, |p| p.shape));
    let local = |a: &AreaShape| oriented(frame.area_to_local(a));
    let out = |m: &MultiPolygon<f64>| frame.geometry_to_lonlat(&Geometry::MultiPolygon(m.clone()));
    let cand = local(candidate.shape);
    let parent_local = parent.map(|p| local(p.shape));
    let previous = siblings
        .iter()
        .find(|s| candidate.id.is_some() && s.id == candidate.id)
        .map(|s| s.shape);
    let siblings: Vec<Near> = siblings
        .iter()
        .filter(|s| candidate.id.is_none() || s.id != candidate.id)
        .map(|s| Near {
            area: *s,
            local: local(s.shape),
        })
        .collect();
    let mut report = TopologyReport::default();
    let noun = level.noun();

    for s in &siblings {
        if s.area.code == candidate.code {
            report.push(Problem {
                kind: ProblemKind::DuplicateCode,
                other_id: s.area.id,
                building_id: None,
                message: format!(
                    "{noun} {} already has the code {}",
                    id_text(s.area.id),
                    candidate.code
                ),
                geometry: Geometry::MultiPolygon(s.area.shape.shape().clone()),
            });
        }
    }

    if let (Some(p), Some(pl)) = (parent, &parent_local) {
        let outside = without_debris(cand.difference(pl), config.noise_m);
        let area = outside.unsigned_area();
        if area > tol * tol {
            let reach = outside
                .0
                .iter()
                .flat_map(|poly| poly.exterior().coords())
                .map(|c| Euclidean.distance(&geo::Point::from(*c), pl))
                .fold(0.0, f64::max);
            report.push(Problem {
                kind: ProblemKind::OutsideParent,
                other_id: p.id,
                building_id: None,
                message: format!(
                    "{area:.1} m² of the {noun} lies outside its {} {}, up to {reach:.1} m beyond its boundary",
                    level.parent_noun(),
                    id_text(p.id)
                ),
                geometry: out(&outside),
            });
        }
    }

    let cand_box = cand.bounding_rect();
    for s in &siblings {
        if !boxes_meet(cand_box, s.local.bounding_rect(), tol) {
            continue;
        }
        let shared = without_debris(cand.intersection(&s.local), config.noise_m);
        let area = shared.unsigned_area();
        if area > tol * tol {
            report.push(Problem {
                kind: ProblemKind::Overlap,
                other_id: s.area.id,
                building_id: None,
                message: format!(
                    "the {noun} overlaps {noun} {} ({}) by {area:.1} m²",
                    id_text(s.area.id),
                    s.area.code
                ),
                geometry: out(&shared),
            });
        }
    }

    for problem in sliver_gaps(
        level,
        &cand,
        parent,
        parent_local.as_ref(),
        &siblings,
        config,
    ) {
        let geometry = out(&problem.1);
        report.push(Problem {
            geometry,
            ..problem.0
        });
    }

    // Warnings.
    let share = config.cut_building_share;
    let near_buildings = buildings
        .iter()
        .filter(|b| rects_meet(b.footprint.bbox(), candidate.shape.bbox()));
    for b in near_buildings {
        let foot = local(&b.footprint);
        let total = foot.unsigned_area();
        if total <= 0.0 {
            continue;
        }
        let inside = foot.intersection(&cand).unsigned_area() / total;
        if inside > share && inside < 1.0 - share {
            report.push(Problem {
                kind: ProblemKind::CutBuilding,
                other_id: None,
                building_id: Some(b.id),
                message: format!(
                    "the boundary cuts building {}{}: {:.0} % of its footprint inside, {:.0} % outside",
                    b.id,
                    b.name
                        .as_deref()
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default(),
                    inside * 100.0,
                    (1.0 - inside) * 100.0
                ),
                geometry: Geometry::MultiPolygon(b.footprint.shape().clone()),
            });
        }
    }

    if level == Level::Grid
        && let Some(range) = &config.households
    {
        let households: u64 = buildings
            .iter()
            .filter(|b| candidate.shape.contains(b.point))
            .map(|b| u64::from(b.households))
            .sum();
        if !(u64::from(*range.start())..=u64::from(*range.end())).contains(&households) {
            report.push(Problem {
                kind: ProblemKind::HouseholdsOutsideGuidance,
                other_id: None,
                building_id: None,
                message: format!(
                    "the grid holds {households} households; the guidance is {}–{}",
                    range.start(),
                    range.end()
                ),
                geometry: Geometry::MultiPolygon(candidate.shape.shape().clone()),
            });
        }
    }

    if let Some(p) = parent {
        let orphans: Vec<&Building> = buildings
            .iter()
            .filter(|b| {
                p.shape.contains(b.point)
                    && !candidate.shape.contains(b.point)
                    && !siblings.iter().any(|s| s.area.shape.contains(b.point))
            })
            .collect();
        if !orphans.is_empty() {
            let households: u64 = orphans.iter().map(|b| u64::from(b.households)).sum();
            let released = previous.map_or(0, |old| {
                orphans.iter().filter(|b| old.contains(b.point)).count()
            });
            let by_change = if released > 0 {
                format!(", {released} of them released by this change")
            } else {
                String::new()
            };
            report.push(Problem {
                kind: ProblemKind::BuildingsWithoutGrid,
                other_id: p.id,
                building_id: None,
                message: format!(
                    "{} building{} ({households} households) of the {} lie in no {noun}{by_change}",
                    orphans.len(),
                    if orphans.len() == 1 { "" } else { "s" },
                    level.parent_noun()
                ),
                geometry: Geometry::MultiPolygon(MultiPolygon(
                    orphans
                        .iter()
                        .flat_map(|b| b.footprint.shape().0.iter().cloned())
                        .collect(),
                )),
            });
        }
    }
    report
}

/// Sliver gaps, as (problem without geometry, gap in local metres).
fn sliver_gaps(
    level: Level,
    cand: &MultiPolygon<f64>,
    parent: Option<AreaRef<'_>>,
    parent_local: Option<&MultiPolygon<f64>>,
    siblings: &[Near<'_>],
    config: &TopologyConfig,
) -> Vec<(Problem, MultiPolygon<f64>)> {
    let tol = config.tolerance_m;
    let region = match parent_local {
        Some(p) => p.clone(),
        None => {
            let mut b = cand.bounding_rect().expect("non-empty");
            for s in siblings {
                if let Some(r) = s.local.bounding_rect() {
                    b = Rect::new(
                        Coord {
                            x: b.min().x.min(r.min().x),
                            y: b.min().y.min(r.min().y),
                        },
                        Coord {
                            x: b.max().x.max(r.max().x),
                            y: b.max().y.max(r.max().y),
                        },
                    );
                }
            }
            let grow = Coord {
                x: 2.0 * tol,
                y: 2.0 * tol,
            };
            rect_polygon(b.min() - grow, b.max() + grow)
        }
    };
    let occupied = geo::unary_union(std::iter::once(cand).chain(siblings.iter().map(|s| &s.local)));
    let uncovered = region.difference(&occupied);
    let narrow = narrow_parts(&uncovered, tol, config.noise_m);
    // Touching is decided with a small distance, well above the debris and below any drawing.
    let touch = (tol / 100.0).max(config.noise_m * 10.0);
    let parent_edge = parent_local.map(|p| {
        MultiLineString(
            p.0.iter()
                .flat_map(|poly| std::iter::once(poly.exterior()).chain(poly.interiors()))
                .cloned()
                .collect(),
        )
    });
    let mut by_sibling: Vec<Vec<Polygon<f64>>> = vec![Vec::new(); siblings.len()];
    let mut by_parent: Vec<Polygon<f64>> = Vec::new();
    for piece in narrow.0 {
        if perimeter_m(&piece) / 2.0 <= tol || Euclidean.distance(&piece, cand) > touch {
            continue;
        }
        // Who is across the gap: whoever lines it for at least the tolerance (a gap between two
        // grids also touches, at its ends, the grids beside them; those are not across it).
        let edge = MultiLineString(
            std::iter::once(piece.exterior())
                .chain(piece.interiors())
                .cloned()
                .collect(),
        );
        let contact = |other: &MultiPolygon<f64>| -> f64 {
            if Euclidean.distance(&piece, other) > touch {
                return 0.0;
            }
            Euclidean.length(&other.buffer(touch).clip(&edge, false))
        };
        let sibling_contact: Vec<f64> = siblings.iter().map(|s| contact(&s.local)).collect();
        let parent_contact = parent_edge.as_ref().map_or(0.0, |e| {
            if Euclidean.distance(&piece, e) > touch {
                0.0
            } else {
                Euclidean.length(&e.buffer(touch).clip(&edge, false))
            }
        });
        let mut any = false;
        for (i, &c) in sibling_contact.iter().enumerate() {
            if c >= tol {
                by_sibling[i].push(piece.clone());
                any = true;
            }
        }
        if !any && parent_contact >= tol {
            by_parent.push(piece);
        } else if !any {
            let best = sibling_contact
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0.0)
                .max_by(|a, b| a.1.total_cmp(b.1));
            match best {
                Some((i, c)) if *c >= parent_contact => by_sibling[i].push(piece),
                _ if parent_contact > 0.0 => by_parent.push(piece),
                _ => {}
            }
        }
    }
    let noun = level.noun();
    let mut out = Vec::new();
    for (s, pieces) in siblings.iter().zip(by_sibling) {
        if pieces.is_empty() {
            continue;
        }
        let gap = MultiPolygon(pieces);
        out.push((
            Problem {
                kind: ProblemKind::SliverGap,
                other_id: s.area.id,
                building_id: None,
                message: format!(
                    "a gap narrower than {tol} m ({:.2} m²) lies between the {noun} and {noun} {} ({})",
                    gap.unsigned_area(),
                    id_text(s.area.id),
                    s.area.code
                ),
                geometry: Geometry::GeometryCollection(Default::default()),
            },
            gap,
        ));
    }
    if !by_parent.is_empty() {
        let gap = MultiPolygon(by_parent);
        out.push((
            Problem {
                kind: ProblemKind::SliverGap,
                other_id: parent.and_then(|p| p.id),
                building_id: None,
                message: format!(
                    "a gap narrower than {tol} m ({:.2} m²) lies between the {noun} and the boundary of its {} {}",
                    gap.unsigned_area(),
                    level.parent_noun(),
                    id_text(parent.and_then(|p| p.id))
                ),
                geometry: Geometry::GeometryCollection(Default::default()),
            },
            gap,
        ));
    }
    out
}

fn id_text(id: Option<i64>) -> String {
    id.map_or_else(|| "(new)".to_owned(), |i| i.to_string())
}

fn rects_meet(a: Rect<f64>, b: Rect<f64>) -> bool {
    a.min().x <= b.max().x
        && b.min().x <= a.max().x
        && a.min().y <= b.max().y
        && b.min().y <= a.max().y
}

fn boxes_meet(a: Option<Rect<f64>>, b: Option<Rect<f64>>, margin: f64) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => {
            let m = Coord {
                x: margin,
                y: margin,
            };
            rects_meet(Rect::new(a.min() - m, a.max() + m), b)
        }
        _ => false,
    }
}
