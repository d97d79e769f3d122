//! R-tree entries, shared by the grid topology checks and the read model's layers.
//!
//! geo 0.33 implements rstar's traits for rstar 0.12, not 0.14. Rather than pin an old rstar,
//! the trees hold these small entries (an envelope or a point, plus the index of the record in
//! its layer's `Vec`), which also keeps the trees compact: 40 bytes an entry instead of a whole
//! geometry.

use geo::Rect;
use rstar::{AABB, PointDistance, RTreeObject};

/// A bounding box in lon/lat degrees and the index of its record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnvelopeEntry {
    /// `[min_lon, min_lat]`.
    pub min: [f64; 2],
    /// `[max_lon, max_lat]`.
    pub max: [f64; 2],
    /// Index into the layer's records.
    pub index: usize,
}

impl EnvelopeEntry {
    /// From a `geo` rectangle.
    pub fn new(rect: Rect<f64>, index: usize) -> Self {
        EnvelopeEntry {
            min: [rect.min().x, rect.min().y],
            max: [rect.max().x, rect.max().y],
            index,
        }
    }
}

impl RTreeObject for EnvelopeEntry {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_corners(self.min, self.max)
    }
}

/// A lon/lat point and the index of its record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointEntry {
    /// `[lon, lat]`.
    pub at: [f64; 2],
    /// Index into the layer's records.
    pub index: usize,
}

impl RTreeObject for PointEntry {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_point(self.at)
    }
}

impl PointDistance for PointEntry {
    fn distance_2(&self, p: &[f64; 2]) -> f64 {
        let (dx, dy) = (self.at[0] - p[0], self.at[1] - p[1]);
        dx * dx + dy * dy
    }
}

/// A point as a unit vector on the sphere, with the index of its record. Chord distance is
/// monotonic in great-circle distance, so nearest-neighbour search in this 3-D tree is exact
/// for crow-fly (haversine) distance, with no projection error at any latitude.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpherePoint {
    /// Unit vector.
    pub at: [f64; 3],
    /// Index into the layer's records.
    pub index: usize,
}

impl RTreeObject for SpherePoint {
    type Envelope = AABB<[f64; 3]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_point(self.at)
    }
}

impl PointDistance for SpherePoint {
    fn distance_2(&self, p: &[f64; 3]) -> f64 {
        let d = [self.at[0] - p[0], self.at[1] - p[1], self.at[2] - p[2]];
        d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
    }
}
