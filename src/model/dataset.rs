//! [`Dataset`]: every layer as validated model types, what a store loads and a snapshot is built
//! from.

use chrono_tz::Tz;

use super::{Building, Community, Facility, Grid, StreetOffice, StreetWay};

/// Everything the store holds, as validated model types.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// Street offices.
    pub street_offices: Vec<StreetOffice>,
    /// Communities.
    pub communities: Vec<Community>,
    /// Grids.
    pub grids: Vec<Grid>,
    /// Buildings.
    pub buildings: Vec<Building>,
    /// Facilities.
    pub facilities: Vec<Facility>,
    /// Streets and paths.
    pub ways: Vec<StreetWay>,
    /// Water and green areas (the base map).
    pub land: Vec<super::LandArea>,
    /// The city's time zone (opening hours are local time).
    pub timezone: Option<Tz>,
    /// Service circle definitions (empty: the bundled `data/circles.toml`).
    pub circles: Vec<super::CircleDef>,
}
