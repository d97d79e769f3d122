//! Planar measures on shapes already in a [`super::LocalFrame`] (metres): area, perimeter,
//! width, and the narrow parts of a region.
//!
//! **How "narrower than the tolerance" is decided.** Two measures are used, each where it fits:
//! - *Width estimate* `2·area / perimeter` (area over half the perimeter): exact for a long thin
//!   strip, cheap, and used to drop floating-point debris. geo's boolean operations snap
//!   coordinates (about 3e-9 of the extent), so an exact shared edge can come back as slivers a
//!   few micrometres wide; a piece thinner than `noise_m` (1 mm) is that debris, never a drawing.
//! - *Morphological opening* (erode by half the tolerance, dilate back): the parts of a region
//!   that a disc as wide as the tolerance cannot reach are its narrow parts. This is what finds
//!   sliver gaps, because a sliver is often the narrow neck of a larger uncovered region, whose
//!   width estimate as a whole would call it wide.

use geo::orient::{Direction, Orient};
use geo::{Area, BooleanOps, Buffer, Coord, Euclidean, Length, MultiPolygon, Polygon, Rect};

/// Orients every ring by convention (shells counter-clockwise, holes clockwise). geo's
/// `unary_union` picks its fill rule from the first ring's winding, so shapes drawn clockwise
/// must be normalised before they are combined.
pub fn oriented(shape: MultiPolygon<f64>) -> MultiPolygon<f64> {
    shape.orient(Direction::Default)
}

/// Perimeter (shells and holes) in metres.
pub fn perimeter_m(polygon: &Polygon<f64>) -> f64 {
    std::iter::once(polygon.exterior())
        .chain(polygon.interiors())
        .map(|r| Euclidean.length(r))
        .sum()
}

/// The width estimate `2·area / perimeter`: the width of a long strip, the radius of a disc.
pub fn width_m(polygon: &Polygon<f64>) -> f64 {
    let p = perimeter_m(polygon);
    if p > 0.0 {
        2.0 * polygon.unsigned_area() / p
    } else {
        0.0
    }
}

/// The pieces of `shape` at least `noise_m` wide: boolean-operation debris removed.
pub fn without_debris(shape: MultiPolygon<f64>, noise_m: f64) -> MultiPolygon<f64> {
    MultiPolygon(
        shape
            .0
            .into_iter()
            .filter(|p| width_m(p) >= noise_m)
            .collect(),
    )
}

/// The parts of `region` narrower than `width_m`: `region − open(region)`, where the opening
/// erodes by `width_m / 2` and dilates back. Debris thinner than `noise_m` is dropped.
pub fn narrow_parts(region: &MultiPolygon<f64>, width_m: f64, noise_m: f64) -> MultiPolygon<f64> {
    if region.0.is_empty() {
        return MultiPolygon(vec![]);
    }
    let r = width_m / 2.0;
    let opened = region.buffer(-r).buffer(r);
    without_debris(region.difference(&opened), noise_m)
}

/// A rectangle as a polygon.
pub fn rect_polygon(min: Coord<f64>, max: Coord<f64>) -> MultiPolygon<f64> {
    MultiPolygon(vec![Rect::new(min, max).to_polygon()])
}
