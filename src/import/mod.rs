//! Importers: OSM PBF (buildings, facilities, streets), GeoJSON layers and CSV counts.

mod counts;
mod layers;
mod osm;

pub use counts::read_household_counts;
pub use layers::{
    Layer, LayerOptions, LayerReport, export_geojson_layer, import_geojson_layer,
    import_geojson_layer_with,
};
pub use osm::{ImportReport, OsmImport, read_osm_pbf};
