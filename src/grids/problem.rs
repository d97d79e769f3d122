//! What a topology check finds: a [`Problem`] with a kind, the other record involved, a sentence
//! for a person and a geometry a map can draw in red; and the [`TopologyReport`] that holds them.

use geo::Geometry;
use serde::{Serialize, Serializer};

/// The kinds of problem, as machine-readable snake_case codes.
///
/// Errors ([`ProblemKind::is_error`]) must block a write; warnings are shown to the person
/// drawing and do not block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The raw polygon is not a valid polygon (too few points, a hole outside its shell,
    /// non-finite or out-of-range coordinates, no area). Error.
    InvalidPolygon,
    /// A ring crosses itself or another ring; the geometry marks where. Error.
    SelfIntersection,
    /// Part of the area lies outside its parent (a grid outside its community). Error.
    OutsideParent,
    /// The area overlaps a sibling (another grid of the same community). Error.
    Overlap,
    /// A gap narrower than the tolerance between the area and a sibling, or between the area
    /// and its parent's boundary: almost certainly a drawing slip, not a real gap. Error.
    SliverGap,
    /// A sibling already uses the code. Error.
    DuplicateCode,
    /// The boundary cuts through a building, leaving more than the configured share of its
    /// footprint on each side. Warning.
    CutBuilding,
    /// Buildings of the parent that lie in no area after this change (their representative
    /// point is in no grid). Warning.
    BuildingsWithoutGrid,
    /// The household count is outside the guidance range (300–500 by default). Warning.
    HouseholdsOutsideGuidance,
}

impl ProblemKind {
    /// True for the kinds that must block a write.
    pub fn is_error(self) -> bool {
        !matches!(
            self,
            ProblemKind::CutBuilding
                | ProblemKind::BuildingsWithoutGrid
                | ProblemKind::HouseholdsOutsideGuidance
        )
    }

    /// The snake_case code, as serialised.
    pub fn code(self) -> &'static str {
        match self {
            ProblemKind::InvalidPolygon => "invalid_polygon",
            ProblemKind::SelfIntersection => "self_intersection",
            ProblemKind::OutsideParent => "outside_parent",
            ProblemKind::Overlap => "overlap",
            ProblemKind::SliverGap => "sliver_gap",
            ProblemKind::DuplicateCode => "duplicate_code",
            ProblemKind::CutBuilding => "cut_building",
            ProblemKind::BuildingsWithoutGrid => "buildings_without_grid",
            ProblemKind::HouseholdsOutsideGuidance => "households_outside_guidance",
        }
    }
}

impl std::fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// One problem found by a check.
///
/// Serialises to JSON with the geometry as a GeoJSON geometry object (WGS 84 lon/lat), so a
/// map can draw it:
///
/// ```
/// use gridcircle::grids::{Problem, ProblemKind};
/// let p = Problem {
///     kind: ProblemKind::Overlap,
///     other_id: Some(7),
///     building_id: None,
///     message: "overlaps grid 7 by 12.0 m²".into(),
///     geometry: geo::Point::new(118.78, 32.04).into(),
/// };
/// let json = serde_json::to_value(&p).unwrap();
/// assert_eq!(json["kind"], "overlap");
/// assert_eq!(json["other_id"], 7);
/// assert_eq!(json["geometry"]["type"], "Point");
/// assert_eq!(json["geometry"]["coordinates"][0], 118.78);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// What is wrong.
    pub kind: ProblemKind,
    /// The other area involved, if any: the overlapping sibling, the sibling across a gap, the
    /// sibling holding the same code, or the parent (`outside_parent`, a gap along the parent's
    /// boundary, `buildings_without_grid`).
    pub other_id: Option<i64>,
    /// The building involved (`cut_building`), if any.
    pub building_id: Option<i64>,
    /// A sentence for a person, with the size of the problem in metres or m².
    pub message: String,
    /// Where, in WGS 84 degrees: the overlap, the gap, the part outside the parent, the crossing
    /// points, the cut footprint…
    #[serde(serialize_with = "as_geojson")]
    pub geometry: Geometry<f64>,
}

fn as_geojson<S: Serializer>(g: &Geometry<f64>, s: S) -> Result<S::Ok, S::Error> {
    geojson::Geometry::new(geojson::GeometryValue::from(g)).serialize(s)
}

/// The outcome of a check: errors block a write, warnings do not.
///
/// ```
/// use gridcircle::grids::TopologyReport;
/// let report = TopologyReport::default();
/// assert!(report.is_ok());
/// assert_eq!(serde_json::to_string(&report).unwrap(), r#"{"errors":[],"warnings":[]}"#);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TopologyReport {
    /// Problems that must block the write.
    pub errors: Vec<Problem>,
    /// Problems to show, which do not block.
    pub warnings: Vec<Problem>,
}

impl TopologyReport {
    /// True when there are no errors (warnings allowed).
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }

    /// Files `problem` under errors or warnings by its kind.
    pub fn push(&mut self, problem: Problem) {
        if problem.kind.is_error() {
            self.errors.push(problem);
        } else {
            self.warnings.push(problem);
        }
    }

    /// Every problem of `kind`, errors first.
    pub fn of_kind(&self, kind: ProblemKind) -> impl Iterator<Item = &Problem> {
        self.errors
            .iter()
            .chain(&self.warnings)
            .filter(move |p| p.kind == kind)
    }

    /// The kinds present, errors then warnings, in order of discovery.
    pub fn kinds(&self) -> Vec<ProblemKind> {
        self.errors
            .iter()
            .chain(&self.warnings)
            .map(|p| p.kind)
            .collect()
    }
}
