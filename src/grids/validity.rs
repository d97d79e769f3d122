//! Raw input → [`AreaShape`], with the failure as a drawable [`Problem`].
//!
//! [`AreaShape`] already refuses invalid polygons, but its error names only the rule. A person
//! drawing a grid needs to see *where* the outline crosses itself, so this finds the crossing
//! points and returns them as the problem's geometry.

use geo::{Coord, Geometry, Line, LineString, MultiPoint, MultiPolygon, Point, Rect};
use rstar::{AABB, RTree};

use super::{Problem, ProblemKind};
use crate::model::AreaShape;
use crate::rtree::EnvelopeEntry;

/// Validates a raw multipolygon (as parsed from GeoJSON, before any model check).
///
/// - a ring that crosses itself or another ring → [`ProblemKind::SelfIntersection`], geometry =
///   the crossing points (a `MultiPoint`), or the shape itself when the rings overlap without
///   crossing (a polygon inside another polygon of the same multipolygon);
/// - anything else [`AreaShape`] refuses (too few points, no area, out-of-range coordinates…) →
///   [`ProblemKind::InvalidPolygon`], geometry = the shape as given.
///
/// `field` names the input in messages (`"geometry"` for a GeoJSON Feature).
///
/// ```
/// use geo::{MultiPolygon, polygon};
/// use gridcircle::grids::{ProblemKind, check_raw};
/// let bowtie = polygon![(x: 118.78, y: 32.04), (x: 118.79, y: 32.05), (x: 118.79, y: 32.04), (x: 118.78, y: 32.05)];
/// let problem = check_raw(MultiPolygon(vec![bowtie]), "geometry").unwrap_err();
/// assert_eq!(problem.kind, ProblemKind::SelfIntersection);
/// let geo::Geometry::MultiPoint(at) = &problem.geometry else { panic!() };
/// assert!((at.0[0].x() - 118.785).abs() < 1e-9 && (at.0[0].y() - 32.045).abs() < 1e-9);
/// ```
pub fn check_raw(shape: MultiPolygon<f64>, field: &str) -> Result<AreaShape, Problem> {
    let error = match AreaShape::from_multi_polygon(shape.clone(), field) {
        Ok(area) => return Ok(area),
        Err(e) => e,
    };
    let finite = shape
        .0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|r| r.coords())
        .all(|c| c.x.is_finite() && c.y.is_finite());
    let drawn = if finite {
        Geometry::MultiPolygon(shape.clone())
    } else {
        Geometry::GeometryCollection(Default::default())
    };
    if error.code != "self_intersection" {
        return Err(Problem {
            kind: ProblemKind::InvalidPolygon,
            other_id: None,
            building_id: None,
            message: error.to_string(),
            geometry: drawn,
        });
    }
    let points = crossings(&shape);
    let message = match points.first() {
        Some(first) => format!(
            "{field}: the outline crosses itself at {} place{} (first near {:.7}, {:.7})",
            points.len(),
            if points.len() == 1 { "" } else { "s" },
            first.x,
            first.y
        ),
        None => format!("{field}: {}", error.message),
    };
    let geometry = if points.is_empty() {
        drawn
    } else {
        Geometry::MultiPoint(MultiPoint(points.into_iter().map(Point::from).collect()))
    };
    Err(Problem {
        kind: ProblemKind::SelfIntersection,
        other_id: None,
        building_id: None,
        message,
        geometry,
    })
}

/// A segment of a ring: which ring, its position in the ring, and how many segments the ring has.
struct Segment {
    line: Line<f64>,
    ring: usize,
    at: usize,
    ring_len: usize,
}

/// Where rings cross: points shared by two segments other than the vertex two neighbouring
/// segments of one ring have in common. Rings of different polygons, or a hole and its shell,
/// may touch at a single vertex without crossing (OGC allows it), so only proper crossings and
/// shared stretches count between different rings. Sorted and deduplicated.
fn crossings(shape: &MultiPolygon<f64>) -> Vec<Coord<f64>> {
    let rings: Vec<&LineString<f64>> = shape
        .0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .collect();
    let mut segments = Vec::new();
    for (ri, ring) in rings.iter().enumerate() {
        let lines: Vec<Line<f64>> = ring.lines().filter(|l| l.start != l.end).collect();
        let n = lines.len();
        for (at, line) in lines.into_iter().enumerate() {
            segments.push(Segment {
                line,
                ring: ri,
                at,
                ring_len: n,
            });
        }
    }
    let tree = RTree::bulk_load(
        segments
            .iter()
            .enumerate()
            .map(|(i, s)| EnvelopeEntry::new(Rect::new(s.line.start, s.line.end), i))
            .collect(),
    );
    let mut out = Vec::new();
    for (i, a) in segments.iter().enumerate() {
        let r = Rect::new(a.line.start, a.line.end);
        let env = AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
        for entry in tree.locate_in_envelope_intersecting(env) {
            let j = entry.index;
            if j <= i {
                continue;
            }
            let b = &segments[j];
            let same_ring = a.ring == b.ring;
            let neighbours = same_ring
                && (a.at + 1 == b.at || (a.at == 0 && b.at + 1 == a.ring_len && a.ring_len > 2));
            let Some(hit) = geo::line_intersection::line_intersection(a.line, b.line) else {
                continue;
            };
            match hit {
                geo::LineIntersection::SinglePoint {
                    intersection,
                    is_proper,
                } => {
                    if neighbours || (!same_ring && !is_proper) {
                        continue;
                    }
                    out.push(intersection);
                }
                geo::LineIntersection::Collinear { intersection } => {
                    out.push(geo::Coord {
                        x: (intersection.start.x + intersection.end.x) / 2.0,
                        y: (intersection.start.y + intersection.end.y) / 2.0,
                    });
                }
            }
        }
    }
    out.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
    out.dedup();
    out
}
