//! The one strict reading of GeoJSON Feature properties and geometries, shared by HTTP writes
//! and the GeoJSON layer import: unknown property names are refused (a typo is an error, not a
//! silently dropped value), types are checked, and every error names its field
//! (`properties.name`, `geometry`).
//!
//! ```
//! use gridcircle::formats::geojson::Props;
//! let props = serde_json::json!({"name": "第1网格", "demo": true, "nmae": "typo"});
//! let props = props.as_object().unwrap();
//! let p = Props(props);
//! assert_eq!(p.text("name").unwrap().as_deref(), Some("第1网格"));
//! assert!(p.flag("demo").unwrap());
//! let err = p.only(&["name", "demo"], &["id"]).unwrap_err();
//! assert_eq!((err.field.as_str(), err.code), ("properties.nmae", "unknown_property"));
//! ```

use geojson::{GeometryValue, JsonObject, JsonValue};

use crate::model::{FacilityDraft, ModelError};

/// Typed access to Feature properties, with field paths in errors, refusing unknown names.
pub struct Props<'a>(pub &'a JsonObject);

impl Props<'_> {
    /// Refuses properties outside `writable` and `read_only` (read-only ones, such as `id`,
    /// are accepted so a client may send back what it read, and are ignored).
    pub fn only(&self, writable: &[&str], read_only: &[&str]) -> Result<(), ModelError> {
        match self
            .0
            .keys()
            .find(|k| !writable.contains(&k.as_str()) && !read_only.contains(&k.as_str()))
        {
            Some(k) => Err(ModelError::new(
                format!("properties.{k}"),
                "unknown_property",
                format!("unknown property {k:?}; writable: {}", writable.join(", ")),
            )),
            None => Ok(()),
        }
    }

    /// An optional string.
    pub fn text(&self, name: &str) -> Result<Option<String>, ModelError> {
        match self.0.get(name) {
            None | Some(JsonValue::Null) => Ok(None),
            Some(JsonValue::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ModelError::new(
                format!("properties.{name}"),
                "wrong_type",
                format!("{name} must be a string"),
            )),
        }
    }

    /// A required string.
    pub fn required_text(&self, name: &str) -> Result<String, ModelError> {
        self.text(name)?.ok_or_else(|| {
            ModelError::new(
                format!("properties.{name}"),
                "missing_property",
                format!("{name} is required"),
            )
        })
    }

    /// An optional integer.
    pub fn int(&self, name: &str) -> Result<Option<i64>, ModelError> {
        match self.0.get(name) {
            None | Some(JsonValue::Null) => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| {
                ModelError::new(
                    format!("properties.{name}"),
                    "wrong_type",
                    format!("{name} must be a whole number"),
                )
            }),
        }
    }

    /// An optional boolean, `false` when absent.
    pub fn flag(&self, name: &str) -> Result<bool, ModelError> {
        match self.0.get(name) {
            None | Some(JsonValue::Null) => Ok(false),
            Some(JsonValue::Bool(b)) => Ok(*b),
            Some(_) => Err(ModelError::new(
                format!("properties.{name}"),
                "wrong_type",
                format!("{name} must be true or false"),
            )),
        }
    }
}

/// The geometry, required to be of one of the named GeoJSON types.
pub fn require_geometry(
    geometry: Option<geojson::Geometry>,
    allowed: &[&str],
) -> Result<GeometryValue, ModelError> {
    let g = geometry.ok_or_else(|| {
        ModelError::new(
            "geometry",
            "missing_geometry",
            "the feature has no geometry",
        )
    })?;
    let name = g.value.type_name();
    if !allowed.contains(&name) {
        return Err(ModelError::new(
            "geometry",
            "wrong_geometry_type",
            format!("geometry must be {}, got {name}", allowed.join(" or ")),
        ));
    }
    Ok(g.value)
}

/// The properties a facility Feature may set (HTTP writes and the layer import).
pub const FACILITY_WRITABLE: &[&str] = &[
    "kind",
    "name",
    "owner",
    "audience",
    "opening_hours",
    "capacity",
    "free",
    "shared",
    "demo",
];

/// The properties of a facility Feature as the service writes them but a client cannot set
/// (accepted, so a feature read or exported can be sent back, and ignored).
pub const FACILITY_READ_ONLY: &[&str] = &["id", "osm", "open", "building_osm"];

/// A facility draft from a Feature's geometry (a Point `[lon, lat]`) and properties: the one
/// decoder of facility features, for HTTP bodies and the layer import. Unknown properties,
/// wrong types, a missing `kind` and a geometry that is not a two-number Point are refused,
/// each naming its field; the values themselves are checked by [`FacilityDraft::validate`].
///
/// ```
/// use gridcircle::formats::geojson::facility_draft;
/// let f: geojson::Feature = serde_json::from_str(r#"{"type": "Feature",
///     "geometry": {"type": "Point", "coordinates": [118.78, 32.04]},
///     "properties": {"kind": "toilet", "name": "公厕", "id": 7}}"#).unwrap();
/// let draft = facility_draft(f.geometry.as_ref(), f.properties.as_ref().unwrap()).unwrap();
/// assert_eq!((draft.kind.as_str(), draft.lon, draft.lat), ("toilet", 118.78, 32.04));
/// let f: geojson::Feature = serde_json::from_str(r#"{"type": "Feature",
///     "geometry": {"type": "Point", "coordinates": [118.78, 32.04, 12.0]},
///     "properties": {"kind": "toilet"}}"#).unwrap();
/// let err = facility_draft(f.geometry.as_ref(), f.properties.as_ref().unwrap()).unwrap_err();
/// assert_eq!((err.field.as_str(), err.code), ("geometry", "bad_position"));
/// ```
pub fn facility_draft(
    geometry: Option<&geojson::Geometry>,
    properties: &JsonObject,
) -> Result<FacilityDraft, ModelError> {
    let props = Props(properties);
    props.only(FACILITY_WRITABLE, FACILITY_READ_ONLY)?;
    let GeometryValue::Point { coordinates } = require_geometry(geometry.cloned(), &["Point"])?
    else {
        unreachable!("require_geometry allowed only a Point")
    };
    let [lon, lat] = coordinates[..] else {
        return Err(ModelError::new(
            "geometry",
            "bad_position",
            "a position is [lon, lat]",
        ));
    };
    Ok(FacilityDraft {
        osm: None,
        lon,
        lat,
        kind: props.required_text("kind")?,
        name: props.text("name")?,
        owner: props.text("owner")?,
        audience: props.text("audience")?,
        opening_hours: props.text("opening_hours")?,
        capacity: props.int("capacity")?,
        free: props.int("free")?,
        shared: props.flag("shared")?,
        demo: props.flag("demo")?,
    })
}
