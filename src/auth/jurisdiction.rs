//! The jurisdiction check: does a boundary (or a point) lie within a scope polygon?
//!
//! Geometric, in metres: both shapes go into a local frame centred on the scope, the scope is
//! grown by the tolerance (so a boundary drawn along the scope's own edge, or snapped by the
//! boolean operations, passes), and whatever of the shape remains outside it is refused.

use geo::{Area, BooleanOps, Buffer, Contains, Distance, Euclidean, MultiPolygon};

use crate::grids::LocalFrame;
use crate::grids::measure::{oriented, without_debris};
use crate::model::{AreaShape, LonLat};

/// How far a boundary may stray outside its scope, metres (the topology checks' tolerance).
pub const TOLERANCE_M: f64 = 1.0;

/// How a shape lies outside a scope.
#[derive(Debug, Clone, PartialEq)]
pub struct Outside {
    /// Area outside the scope grown by the tolerance, m².
    pub area_m2: f64,
    /// The farthest vertex of that part from the scope, m.
    pub reach_m: f64,
}

fn local_scope(
    scope: &AreaShape,
    tol_m: f64,
) -> (LocalFrame, MultiPolygon<f64>, MultiPolygon<f64>) {
    let frame = LocalFrame::for_area(scope);
    let local = oriented(frame.area_to_local(scope));
    let grown = local.buffer(tol_m);
    (frame, local, grown)
}

/// Ok when `shape` lies within `scope` grown by `tol_m` metres.
pub fn within_scope(scope: &AreaShape, shape: &AreaShape, tol_m: f64) -> Result<(), Outside> {
    let (frame, local, grown) = local_scope(scope, tol_m);
    let candidate = oriented(frame.area_to_local(shape));
    let outside = without_debris(candidate.difference(&grown), 0.01);
    let area_m2 = outside.unsigned_area();
    if outside.0.is_empty() || area_m2 <= 1e-4 {
        return Ok(());
    }
    let reach_m = outside
        .0
        .iter()
        .flat_map(|p| p.exterior().coords())
        .map(|c| Euclidean.distance(&geo::Point::from(*c), &local))
        .fold(0.0, f64::max);
    Err(Outside { area_m2, reach_m })
}

/// Ok when `point` lies within `scope` or at most `tol_m` metres from it.
pub fn point_within(scope: &AreaShape, point: LonLat, tol_m: f64) -> Result<(), Outside> {
    if scope.contains(point) {
        return Ok(());
    }
    let frame = LocalFrame::for_area(scope);
    let local = oriented(frame.area_to_local(scope));
    let p = geo::Point::from(frame.to_local(geo::Coord {
        x: point.lon(),
        y: point.lat(),
    }));
    if local.contains(&p) {
        return Ok(());
    }
    let reach_m = Euclidean.distance(&p, &local);
    if reach_m <= tol_m {
        Ok(())
    } else {
        Err(Outside {
            area_m2: 0.0,
            reach_m,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> AreaShape {
        let p = geo::Polygon::new(
            geo::LineString::from(vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]),
            vec![],
        );
        AreaShape::from_multi_polygon(geo::MultiPolygon(vec![p]), "geometry").unwrap()
    }

    #[test]
    fn tolerance_in_metres() {
        // ~1 km square near Nanjing; 1e-5° of latitude ≈ 1.1 m.
        let scope = rect(118.77, 32.03, 118.78, 32.04);
        assert!(within_scope(&scope, &rect(118.771, 32.031, 118.779, 32.039), 1.0).is_ok());
        // 0.5 m beyond the north edge: inside the tolerance.
        assert!(within_scope(&scope, &rect(118.771, 32.031, 118.779, 32.040_004_5), 1.0).is_ok());
        // 5 m beyond: refused, and the reach is about 5 m.
        let e = within_scope(&scope, &rect(118.771, 32.031, 118.779, 32.040_045), 1.0).unwrap_err();
        assert!((e.reach_m - 5.0).abs() < 0.3, "{e:?}");
        assert!(e.area_m2 > 100.0);
        assert!(point_within(&scope, LonLat::new(118.775, 32.035).unwrap(), 1.0).is_ok());
        assert!(point_within(&scope, LonLat::new(118.775, 32.040_004).unwrap(), 1.0).is_ok());
        assert!(point_within(&scope, LonLat::new(118.775, 32.041).unwrap(), 1.0).is_err());
    }

    #[test]
    fn a_concave_scope_does_not_let_a_shape_bridge_its_gap() {
        // A U: two arms joined at the bottom; a shape spanning the gap between the arms has
        // every vertex inside the U, and is still refused.
        let u = {
            let p = geo::Polygon::new(
                geo::LineString::from(vec![
                    (118.770, 32.030),
                    (118.780, 32.030),
                    (118.780, 32.040),
                    (118.778, 32.040),
                    (118.778, 32.032),
                    (118.772, 32.032),
                    (118.772, 32.040),
                    (118.770, 32.040),
                    (118.770, 32.030),
                ]),
                vec![],
            );
            AreaShape::from_multi_polygon(geo::MultiPolygon(vec![p]), "geometry").unwrap()
        };
        let bridge = rect(118.771, 32.038, 118.779, 32.039);
        assert!(within_scope(&u, &bridge, 1.0).is_err());
        assert!(within_scope(&u, &rect(118.771, 32.031, 118.779, 32.0315), 1.0).is_ok());
    }
}
