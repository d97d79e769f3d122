//! GeoJSON layer import: street offices, communities, grids and facilities drawn outside the
//! service (or by its own tools), with parents named by code.

use std::collections::HashMap;
use std::path::Path;

use anyhow::{Context, bail};
use geojson::{FeatureCollection, JsonObject, JsonValue};

use crate::model::{
    AreaShape, Community, CommunityCode, FacilityDraft, Grid, GridCode, KindCatalogue, ModelError,
    Person, StreetOffice, StreetOfficeCode, parse_name,
};
use crate::store::Store;

/// The layers a GeoJSON file can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layer {
    /// Street offices: properties `code` (9 digits), `name`, `demo`.
    StreetOffices,
    /// Communities: `code` (12 digits), `name`, parent `street_office_code`, `demo`.
    Communities,
    /// Grids: `code` (15 digits), `name`, parent `community_code`, `chief_name`, `chief_phone`, `demo`.
    Grids,
    /// Facilities: `kind`, `name`, `owner`, `audience`, `opening_hours`, `capacity`, `free`, `shared`, `demo`.
    Facilities,
}

/// What a layer import did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct LayerReport {
    /// Features written.
    pub imported: usize,
    /// Features refused, with the reason: `(feature index, reason)`.
    pub rejected: Vec<(usize, String)>,
}

fn text(p: &JsonObject, name: &str) -> Option<String> {
    p.get(name).and_then(JsonValue::as_str).map(str::to_owned)
}

fn required(p: &JsonObject, name: &str) -> Result<String, ModelError> {
    text(p, name).ok_or_else(|| {
        ModelError::new(
            name,
            "missing_property",
            format!("property {name} is required"),
        )
    })
}

fn flag(p: &JsonObject, name: &str) -> bool {
    p.get(name).and_then(JsonValue::as_bool).unwrap_or(false)
}

fn area(feature: &geojson::Feature) -> Result<AreaShape, ModelError> {
    let geometry = feature
        .geometry
        .as_ref()
        .ok_or_else(|| ModelError::new("geometry", "missing_geometry", "no geometry"))?;
    let shape: geo::Geometry<f64> =
        geometry
            .value
            .clone()
            .try_into()
            .map_err(|e: geojson::Error| {
                ModelError::new("geometry", "invalid_geojson", e.to_string())
            })?;
    match shape {
        geo::Geometry::Polygon(p) => AreaShape::from_polygon(p, "geometry"),
        geo::Geometry::MultiPolygon(m) => AreaShape::from_multi_polygon(m, "geometry"),
        other => Err(ModelError::new(
            "geometry",
            "wrong_geometry_type",
            format!("expected a polygon, got {other:?}"),
        )),
    }
}

/// Imports every feature of a GeoJSON FeatureCollection into `layer`. Each feature is checked
/// like an HTTP write; a feature that fails is reported and skipped, the rest are written.
pub async fn import_geojson_layer(
    store: &Store,
    catalogue: &KindCatalogue,
    layer: Layer,
    path: &Path,
) -> anyhow::Result<LayerReport> {
    let text_in =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let collection: FeatureCollection = text_in
        .parse()
        .with_context(|| format!("{} is not a GeoJSON FeatureCollection", path.display()))?;
    let existing = store.load(catalogue).await?;
    let offices: HashMap<String, i64> = existing
        .street_offices
        .iter()
        .map(|s| (s.code.to_string(), s.id))
        .collect();
    let communities: HashMap<String, i64> = existing
        .communities
        .iter()
        .map(|c| (c.code.to_string(), c.id))
        .collect();
    let mut report = LayerReport::default();
    for (i, feature) in collection.features.iter().enumerate() {
        let empty = JsonObject::new();
        let p = feature.properties.as_ref().unwrap_or(&empty);
        let outcome: anyhow::Result<()> = async {
            match layer {
                Layer::StreetOffices => {
                    let office = StreetOffice {
                        id: 0,
                        code: StreetOfficeCode::parse(&required(p, "code")?, "code")?,
                        name: parse_name(&required(p, "name")?, "name")?,
                        boundary: area(feature)?,
                        demo: flag(p, "demo"),
                    };
                    store.insert_street_office(&office).await?;
                }
                Layer::Communities => {
                    let code = CommunityCode::parse(&required(p, "code")?, "code")?;
                    let parent = required(p, "street_office_code")?;
                    let Some(&street_office_id) = offices.get(&parent) else { bail!("no street office with code {parent}") };
                    if code.street_office().as_str() != parent {
                        bail!("community code {code} does not start with its street office code {parent}");
                    }
                    let community =
                        Community { id: 0, code, name: parse_name(&required(p, "name")?, "name")?, street_office_id, boundary: area(feature)?, demo: flag(p, "demo") };
                    store.insert_community(&community).await?;
                }
                Layer::Grids => {
                    let code = GridCode::parse(&required(p, "code")?, "code")?;
                    let parent = required(p, "community_code")?;
                    let Some(&community_id) = communities.get(&parent) else { bail!("no community with code {parent}") };
                    if code.community().as_str() != parent {
                        bail!("grid code {code} does not start with its community code {parent}");
                    }
                    let chief = match text(p, "chief_name") {
                        Some(n) => Some(Person::new(&n, text(p, "chief_phone").as_deref())?),
                        None => None,
                    };
                    let grid = Grid {
                        id: 0,
                        code,
                        name: parse_name(&required(p, "name")?, "name")?,
                        community_id,
                        chief,
                        workers: Vec::new(),
                        boundary: area(feature)?,
                        demo: flag(p, "demo"),
                        version: 1,
                    };
                    store.insert_grid(&grid).await?;
                }
                Layer::Facilities => {
                    let Some(geojson::GeometryValue::Point { coordinates }) = feature.geometry.as_ref().map(|g| &g.value) else {
                        bail!("a facility needs a Point geometry");
                    };
                    let draft = FacilityDraft {
                        osm: None,
                        lon: coordinates[0],
                        lat: coordinates[1],
                        kind: required(p, "kind")?,
                        name: text(p, "name"),
                        owner: text(p, "owner"),
                        audience: text(p, "audience"),
                        opening_hours: text(p, "opening_hours"),
                        capacity: p.get("capacity").and_then(JsonValue::as_i64),
                        free: p.get("free").and_then(JsonValue::as_i64),
                        shared: flag(p, "shared"),
                        demo: flag(p, "demo"),
                    };
                    store.insert_facility(&draft.validate(0, catalogue)?).await?;
                }
            }
            Ok(())
        }
        .await;
        match outcome {
            Ok(()) => report.imported += 1,
            Err(e) => report.rejected.push((i, format!("{e:#}"))),
        }
    }
    Ok(report)
}
