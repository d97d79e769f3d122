//! A reference to the OpenStreetMap object a record came from.

use std::fmt;
use std::str::FromStr;

use super::ModelError;

/// `node/123`, `way/456` or `relation/789`.
///
/// ```
/// use gridcircle::model::OsmRef;
/// let r: OsmRef = "way/27811140".parse().unwrap();
/// assert_eq!(r, OsmRef::Way(27811140));
/// assert_eq!(r.to_string(), "way/27811140");
/// assert!("street/1".parse::<OsmRef>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OsmRef {
    /// An OSM node.
    Node(i64),
    /// An OSM way.
    Way(i64),
    /// An OSM relation.
    Relation(i64),
}

impl fmt::Display for OsmRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OsmRef::Node(id) => write!(f, "node/{id}"),
            OsmRef::Way(id) => write!(f, "way/{id}"),
            OsmRef::Relation(id) => write!(f, "relation/{id}"),
        }
    }
}

impl FromStr for OsmRef {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, ModelError> {
        let bad = || {
            ModelError::new(
                "osm",
                "invalid_osm_ref",
                format!("{s:?} is not node/N, way/N or relation/N"),
            )
        };
        let (kind, id) = s.split_once('/').ok_or_else(bad)?;
        let id: i64 = id.parse().map_err(|_| bad())?;
        match kind {
            "node" => Ok(OsmRef::Node(id)),
            "way" => Ok(OsmRef::Way(id)),
            "relation" => Ok(OsmRef::Relation(id)),
            _ => Err(bad()),
        }
    }
}

impl serde::Serialize for OsmRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
