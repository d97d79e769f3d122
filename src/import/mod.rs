//! Importers: OSM PBF (buildings, facilities, streets), GeoJSON layers and CSV counts.

mod counts;
mod layers;
mod osm;

pub use counts::read_household_counts;
pub use layers::{Layer, LayerReport, import_geojson_layer};
pub use osm::{ImportReport, OsmImport, read_osm_pbf};
