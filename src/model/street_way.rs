//! A street or path from OSM: drawn on the base map, and the raw material of the walking graph.

use geo::LineString;

/// An OSM `highway=*` way with the tags that decide walkability. `node_ids` are kept so the
/// walking graph can be rebuilt from the store by splitting ways at shared nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct StreetWay {
    /// The OSM way id (also the store id).
    pub id: i64,
    /// `highway=*`.
    pub highway: String,
    /// `name`, if tagged.
    pub name: Option<String>,
    /// `foot=*`, if tagged.
    pub foot: Option<String>,
    /// `access=*`, if tagged.
    pub access: Option<String>,
    /// True when tagged `area=yes` (a square you may not cross as a line).
    pub area: bool,
    /// OSM node ids, one per coordinate.
    pub node_ids: Vec<i64>,
    /// The geometry, WGS 84.
    pub line: LineString<f64>,
}
