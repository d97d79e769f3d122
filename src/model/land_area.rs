//! Water and green areas from OSM: the base map's background, drawn under buildings and streets.

use crate::model::{AreaShape, ModelError, OsmRef};

/// What a land area is, for the base map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LandClass {
    /// Lakes, ponds, rivers drawn as areas, reservoirs, basins.
    Water,
    /// Parks, gardens, grass, woods: open green space.
    Park,
}

impl LandClass {
    /// The class an OSM object's tags give, if any. Water wins over green (a pond in a park is
    /// its own object; an object tagged both is water).
    ///
    /// ```
    /// use gridcircle::model::LandClass;
    /// assert_eq!(LandClass::from_tags(|k| (k == "natural").then_some("water")), Some(LandClass::Water));
    /// assert_eq!(LandClass::from_tags(|k| (k == "leisure").then_some("park")), Some(LandClass::Park));
    /// assert_eq!(LandClass::from_tags(|k| (k == "landuse").then_some("residential")), None);
    /// ```
    pub fn from_tags<'a>(tag: impl Fn(&str) -> Option<&'a str>) -> Option<LandClass> {
        let water = matches!(tag("natural"), Some("water"))
            || matches!(tag("waterway"), Some("riverbank" | "dock"))
            || matches!(tag("landuse"), Some("reservoir" | "basin"));
        if water {
            return Some(LandClass::Water);
        }
        let park = matches!(tag("leisure"), Some("park" | "garden" | "nature_reserve"))
            || matches!(
                tag("landuse"),
                Some("grass" | "forest" | "meadow" | "recreation_ground" | "village_green")
            )
            || matches!(tag("natural"), Some("wood" | "grassland" | "scrub"));
        park.then_some(LandClass::Park)
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            LandClass::Water => "water",
            LandClass::Park => "park",
        }
    }

    /// Parses a stored name.
    ///
    /// ```
    /// use gridcircle::model::LandClass;
    /// assert_eq!(LandClass::parse("water", "class").unwrap(), LandClass::Water);
    /// assert_eq!(LandClass::parse("lava", "class").unwrap_err().field, "class");
    /// ```
    pub fn parse(text: &str, field: &str) -> Result<LandClass, ModelError> {
        match text {
            "water" => Ok(LandClass::Water),
            "park" => Ok(LandClass::Park),
            other => Err(ModelError::new(
                field,
                "unknown_class",
                format!("a land area is water or park, not {other:?}"),
            )),
        }
    }
}

/// A water or green area: a valid polygon from a closed way or a multipolygon relation.
#[derive(Debug, Clone, PartialEq)]
pub struct LandArea {
    /// Store id (0 before it is stored).
    pub id: i64,
    /// The OSM object.
    pub osm: OsmRef,
    /// Water or park.
    pub class: LandClass,
    /// `name`, if tagged.
    pub name: Option<String>,
    /// The area, WGS 84.
    pub shape: AreaShape,
}
