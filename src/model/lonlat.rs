//! A WGS 84 position that is known to be in range.

use geo::{Distance, Haversine, Point};

use super::ModelError;

/// A point in WGS 84 longitude/latitude degrees (RFC 7946 order), finite and in range.
///
/// ```
/// use gridcircle::model::LonLat;
/// let xinjiekou = LonLat::new(118.7784, 32.0416).unwrap();
/// let gulou = LonLat::new(118.7786, 32.0588).unwrap();
/// let metres = xinjiekou.distance_m(gulou);
/// assert!((metres - 1913.0).abs() < 5.0);
/// assert!(LonLat::new(32.04, 118.78).is_err()); // lat/lon order: latitude 118 is impossible
/// ```
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct LonLat {
    lon: f64,
    lat: f64,
}

impl LonLat {
    /// Validates longitude ∈ [-180, 180] and latitude ∈ [-90, 90].
    pub fn new(lon: f64, lat: f64) -> Result<Self, ModelError> {
        if !lon.is_finite() {
            return Err(ModelError::new(
                "lon",
                "not_a_number",
                "longitude must be a finite number",
            ));
        }
        if !lat.is_finite() {
            return Err(ModelError::new(
                "lat",
                "not_a_number",
                "latitude must be a finite number",
            ));
        }
        if !(-180.0..=180.0).contains(&lon) {
            return Err(ModelError::new(
                "lon",
                "out_of_range",
                format!("longitude {lon} is outside [-180, 180]"),
            ));
        }
        if !(-90.0..=90.0).contains(&lat) {
            let hint = if (-90.0..=90.0).contains(&lon) && (-180.0..=180.0).contains(&lat) {
                " (the values look like lat,lon order; GeoJSON and this API use lon,lat)"
            } else {
                ""
            };
            return Err(ModelError::new(
                "lat",
                "out_of_range",
                format!("latitude {lat} is outside [-90, 90]{hint}"),
            ));
        }
        Ok(LonLat { lon, lat })
    }

    /// Longitude in degrees.
    pub fn lon(self) -> f64 {
        self.lon
    }

    /// Latitude in degrees.
    pub fn lat(self) -> f64 {
        self.lat
    }

    /// As a `geo` point (x = lon, y = lat).
    pub fn point(self) -> Point<f64> {
        Point::new(self.lon, self.lat)
    }

    /// Great-circle (haversine, mean Earth radius) distance in metres. This is the
    /// crow-fly metric used everywhere in the service, so that indexes and brute-force
    /// checks agree.
    pub fn distance_m(self, other: LonLat) -> f64 {
        Haversine.distance(self.point(), other.point())
    }

    /// The point as a unit vector on the sphere. Euclidean (chord) distance between unit
    /// vectors is monotonic in great-circle distance, so an R-tree over these 3-D points
    /// answers exact crow-fly nearest-neighbour queries.
    pub fn unit_vector(self) -> [f64; 3] {
        let (lon, lat) = (self.lon.to_radians(), self.lat.to_radians());
        [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()]
    }
}

impl TryFrom<Point<f64>> for LonLat {
    type Error = ModelError;
    fn try_from(p: Point<f64>) -> Result<Self, ModelError> {
        LonLat::new(p.x(), p.y())
    }
}

/// Converts a chord length between unit vectors into metres on the mean-radius sphere.
pub fn chord_to_metres(chord: f64) -> f64 {
    2.0 * geo::Haversine.radius() * (chord / 2.0).min(1.0).asin()
}
