//! [`FacilityCircle`]: a facility's service circle for one circle definition, as stored.

/// A facility's service circle for one circle definition, as stored (derived data).
#[derive(Debug, Clone, PartialEq)]
pub struct FacilityCircle {
    /// The facility.
    pub facility_id: i64,
    /// The circle definition.
    pub circle_id: String,
    /// Budget, minutes.
    pub minutes: f64,
    /// Walk or radius.
    pub mode: super::ReachMode,
    /// What it was computed from (facility, definition, network); a mismatch means stale.
    pub source_hash: String,
    /// The area, lon/lat.
    pub polygon: geo::MultiPolygon<f64>,
}
