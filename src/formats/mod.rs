//! Formats written once and shared: the strict GeoJSON Feature reading of HTTP writes and the
//! layer import, and the protobuf encoding under Mapbox Vector Tiles (`http::tiles`) and OSM
//! PBF (the scale generator in `tools/`).

pub mod geojson;
pub mod protobuf;
