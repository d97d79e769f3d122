//! [`Layer`]: the store's tables as the shared store code names them to a backend.

/// A table whose change a backend must note in the writing transaction
/// (`layer_changed`): the GeoPackage updates its `gpkg_contents` extent and time, PostgreSQL
/// appends to the change log that other replicas follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layer {
    StreetOffices,
    Communities,
    Grids,
    Buildings,
    Facilities,
    Ways,
    Land,
    /// Circle definitions.
    Circles,
    /// Each facility's stored circles (derived data).
    FacilityCircles,
}

impl Layer {
    /// The table's name (also the change log's name for it).
    pub(crate) fn table(self) -> &'static str {
        match self {
            Layer::StreetOffices => "street_offices",
            Layer::Communities => "communities",
            Layer::Grids => "grids",
            Layer::Buildings => "buildings",
            Layer::Facilities => "facilities",
            Layer::Ways => "ways",
            Layer::Land => "land_areas",
            Layer::Circles => "circles",
            Layer::FacilityCircles => "facility_circles",
        }
    }
}
