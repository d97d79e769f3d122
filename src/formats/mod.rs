//! Wire formats written once and shared: the protobuf encoding under Mapbox Vector Tiles
//! (`http::tiles`) and OSM PBF (the scale generator in `tools/`).

pub mod protobuf;
