//! A building: footprint, representative point, and the people who live there.

use super::{AreaShape, LonLat, OsmRef};

/// Where a building's household count comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HouseholdSource {
    /// Estimated from footprint × levels / area per household.
    Estimated,
    /// Given by a CSV import of real counts.
    Counted,
    /// Not a residential building.
    None,
}

/// A building imported from OSM.
#[derive(Debug, Clone, PartialEq)]
pub struct Building {
    /// Store id.
    pub id: i64,
    /// The OSM way or relation.
    pub osm: OsmRef,
    /// Name, if tagged.
    pub name: Option<String>,
    /// The OSM `building=*` value.
    pub building: String,
    /// Footprint (with holes).
    pub footprint: AreaShape,
    /// Centroid, or an interior point when the centroid falls outside.
    pub point: LonLat,
    /// The `entrance=*` node on the outline, if any.
    pub entrance: Option<LonLat>,
    /// `building:levels`, if tagged.
    pub levels: Option<u16>,
    /// Households (estimated or counted).
    pub households: u32,
    /// Residents (estimated or counted).
    pub residents: u32,
    /// Where the counts come from.
    pub household_source: HouseholdSource,
}

impl Building {
    /// Footprint area in m².
    pub fn area_m2(&self) -> f64 {
        self.footprint.area_m2()
    }

    /// True when people live here (households > 0 or a residential building tag).
    pub fn is_residential(&self) -> bool {
        self.household_source != HouseholdSource::None
    }
}
