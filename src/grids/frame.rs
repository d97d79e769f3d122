//! A local metric frame: plane coordinates in metres around a point, so that tolerances and
//! widths are real metres.
//!
//! The projection is equirectangular about the origin: `x = R·Δλ·cos φ₀`, `y = R·Δφ`, with the
//! mean Earth radius `R` (the radius [`LonLat::distance_m`] uses). Within 10 km of the origin the
//! east–west scale is off by less than 0.1 % at Nanjing's latitude, far below any tolerance a
//! grid check uses; that is why a neighbourhood (a community or street office) is checked in the
//! frame of its own centroid, and why this is not used across a whole province.

use geo::{Coord, Geometry, MapCoords, MultiPolygon};

use crate::model::{AreaShape, LonLat};

/// Mean Earth radius in metres (the same as `geo::Haversine`'s).
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// An equirectangular projection about an origin, in metres.
///
/// ```
/// use gridcircle::grids::LocalFrame;
/// use gridcircle::model::LonLat;
/// let origin = LonLat::new(118.78, 32.04).unwrap();
/// let frame = LocalFrame::around(origin);
/// let east = frame.to_local((118.79, 32.04).into());
/// assert!((east.x - 943.0).abs() < 1.0 && east.y.abs() < 1e-9);
/// let back = frame.to_lonlat(east);
/// assert!((back.x - 118.79).abs() < 1e-12 && (back.y - 32.04).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalFrame {
    lon0: f64,
    lat0: f64,
    /// Metres per degree of longitude at the origin.
    mx: f64,
    /// Metres per degree of latitude.
    my: f64,
}

impl LocalFrame {
    /// The frame centred on `origin`.
    pub fn around(origin: LonLat) -> Self {
        let my = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
        LocalFrame {
            lon0: origin.lon(),
            lat0: origin.lat(),
            mx: my * origin.lat().to_radians().cos(),
            my,
        }
    }

    /// The frame centred on an area's representative point.
    pub fn for_area(area: &AreaShape) -> Self {
        Self::around(area.representative_point())
    }

    /// Longitude/latitude degrees → local metres.
    pub fn to_local(&self, c: Coord<f64>) -> Coord<f64> {
        Coord {
            x: (c.x - self.lon0) * self.mx,
            y: (c.y - self.lat0) * self.my,
        }
    }

    /// Local metres → longitude/latitude degrees.
    pub fn to_lonlat(&self, c: Coord<f64>) -> Coord<f64> {
        Coord {
            x: self.lon0 + c.x / self.mx,
            y: self.lat0 + c.y / self.my,
        }
    }

    /// An area's shape in local metres.
    pub fn area_to_local(&self, area: &AreaShape) -> MultiPolygon<f64> {
        self.multi_polygon_to_local(area.shape())
    }

    /// A multipolygon in degrees → local metres.
    pub fn multi_polygon_to_local(&self, shape: &MultiPolygon<f64>) -> MultiPolygon<f64> {
        shape.map_coords(|c| self.to_local(c))
    }

    /// A geometry in local metres → degrees (for output).
    pub fn geometry_to_lonlat(&self, g: &Geometry<f64>) -> Geometry<f64> {
        g.map_coords(|c| self.to_lonlat(c))
    }
}
