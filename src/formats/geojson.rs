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

use crate::model::ModelError;

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
