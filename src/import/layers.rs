//! GeoJSON layer import and export: street offices, communities, grids and facilities drawn
//! outside the service (or by its own tools), with parents named by code.
//!
//! Import writes every feature through the one write path ([`crate::app::WritePath`]), as an
//! HTTP write: the model rules, the parent by code, and the topology checks of
//! [`crate::grids`] against the snapshot of what is stored and imported before it from the same
//! file. Every rejected feature is reported with every problem; the others are written, each
//! in its own transaction with its history row (actor `import`), its audit record and, for
//! grids, the membership of its buildings.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use geojson::{FeatureCollection, JsonObject, JsonValue};
use serde_json::json;

use crate::grids::{self, TopologyConfig, TopologyReport};
use crate::model::{
    AreaShape, Community, CommunityCode, Grid, GridCode, KindCatalogue, ModelError, Person,
    StreetOffice, StreetOfficeCode, parse_name,
};
use std::sync::Arc;

use crate::app::{BoxFuture, Write, WritePath};
use crate::formats::geojson::Props;
use crate::readmodel::{AdminLayer, Snapshot, SnapshotCell};
use crate::store::{ChangeBy, Store};

/// The layers a GeoJSON file can fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layer {
    /// Street offices: properties `code` (9 digits), `name`, `demo`.
    StreetOffices,
    /// Communities: `code` (12 digits), `name`, parent `street_office_code`, `demo`.
    Communities,
    /// Grids: `code` (15 digits), `name`, parent `community_code`, `chief_name`, `chief_phone`,
    /// `workers` ([{name, phone}]), `demo`.
    Grids,
    /// Facilities: `kind`, `name`, `owner`, `audience`, `opening_hours`, `capacity`, `free`, `shared`, `demo`.
    Facilities,
}

impl Layer {
    /// The property that names the parent by code, unless `--parent-field` says otherwise.
    pub fn default_parent_field(self) -> Option<&'static str> {
        match self {
            Layer::Communities => Some("street_office_code"),
            Layer::Grids => Some("community_code"),
            Layer::StreetOffices | Layer::Facilities => None,
        }
    }
}

/// What a layer import did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct LayerReport {
    /// Features written.
    pub imported: usize,
    /// Features refused, with the reason: `(feature index, reason)`. A topology refusal names
    /// every problem.
    pub rejected: Vec<(usize, String)>,
    /// Warnings of the written features, by kind (cut buildings, households outside the
    /// guidance, buildings left in no grid): shown, not blocking.
    pub warnings: BTreeMap<String, usize>,
}

/// How to import a layer.
#[derive(Debug, Clone)]
pub struct LayerOptions {
    /// The property naming the parent's code (default: [`Layer::default_parent_field`]).
    pub parent_field: Option<String>,
    /// The topology thresholds.
    pub topology: TopologyConfig,
    /// Who the history records.
    pub actor: String,
}

impl Default for LayerOptions {
    fn default() -> Self {
        LayerOptions {
            parent_field: None,
            topology: TopologyConfig::default(),
            actor: "import".into(),
        }
    }
}

fn text(p: &JsonObject, name: &str) -> Option<String> {
    p.get(name).and_then(JsonValue::as_str).map(str::to_owned)
}

/// The feature's area, through [`grids::check_raw`]: an invalid polygon is refused with the
/// place it crosses itself.
fn area(feature: &geojson::Feature) -> anyhow::Result<AreaShape> {
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
    let multi = match shape {
        geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
        geo::Geometry::MultiPolygon(m) => m,
        other => {
            return Err(ModelError::new(
                "geometry",
                "wrong_geometry_type",
                format!("expected a polygon, got {other:?}"),
            )
            .into());
        }
    };
    grids::check_raw(multi, "geometry").map_err(|p| anyhow::anyhow!("{}: {}", p.kind, p.message))
}

fn workers(p: &JsonObject) -> anyhow::Result<Vec<Person>> {
    match p.get("workers") {
        None | Some(JsonValue::Null) => Ok(Vec::new()),
        Some(JsonValue::Array(list)) => list
            .iter()
            .map(|w| {
                let name = w.get("name").and_then(JsonValue::as_str).unwrap_or("");
                Ok(Person::new(
                    name,
                    w.get("phone").and_then(JsonValue::as_str),
                )?)
            })
            .collect(),
        Some(_) => bail!("workers is a list of {{name, phone}}"),
    }
}

/// Refuses on errors (each problem with the other party); the kinds of the warnings.
fn topology(report: TopologyReport) -> anyhow::Result<Vec<String>> {
    if !report.is_ok() {
        let problems: Vec<String> = report
            .errors
            .iter()
            .map(|p| match p.other_id {
                Some(id) => format!("{} (with {id}): {}", p.kind, p.message),
                None => format!("{}: {}", p.kind, p.message),
            })
            .collect();
        bail!("topology: {}", problems.join("; "));
    }
    Ok(report.warnings.iter().map(|p| p.kind.to_string()).collect())
}

/// Imports every feature of a GeoJSON FeatureCollection into `layer`, with the default options.
pub async fn import_geojson_layer(
    store: &Store,
    catalogue: &KindCatalogue,
    layer: Layer,
    path: &Path,
) -> anyhow::Result<LayerReport> {
    import_geojson_layer_with(store, catalogue, layer, path, &LayerOptions::default()).await
}

/// Imports every feature of a GeoJSON FeatureCollection into `layer`. Each feature is checked
/// like an HTTP write (see the module documentation); a feature that fails is reported and
/// skipped, the rest are written.
pub async fn import_geojson_layer_with(
    store: &Store,
    catalogue: &KindCatalogue,
    layer: Layer,
    path: &Path,
    options: &LayerOptions,
) -> anyhow::Result<LayerReport> {
    let text_in =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let collection: FeatureCollection = text_in
        .parse()
        .with_context(|| format!("{} is not a GeoJSON FeatureCollection", path.display()))?;
    let parent_field = options
        .parent_field
        .clone()
        .or_else(|| layer.default_parent_field().map(str::to_owned));
    if parent_field.is_some() && layer.default_parent_field().is_none() {
        bail!("--parent-field applies to communities and grids only");
    }
    // Every feature is one write on the write path, checked against the snapshot of what is
    // stored and imported so far, exactly as an HTTP write is.
    let existing = store.load(catalogue).await?;
    let snapshot = Snapshot::build(existing, Arc::new(catalogue.clone()));
    let writes = WritePath::new(store.clone(), SnapshotCell::new(snapshot));
    let mut report = LayerReport::default();
    for (i, feature) in collection.features.into_iter().enumerate() {
        let label = feature
            .properties
            .as_ref()
            .and_then(|p| text(p, "code"))
            .map(|c| format!("code {c}: "))
            .unwrap_or_default();
        let (parent_field, by) = (parent_field.clone(), ChangeBy::new(options.actor.clone()));
        let config = options.topology.clone();
        let outcome = writes
            .run(
                move |w: &mut Write| -> BoxFuture<'_, anyhow::Result<Vec<String>>> {
                    Box::pin(import_feature(w, layer, feature, parent_field, by, config))
                },
            )
            .await;
        match outcome {
            Ok(warnings) => {
                report.imported += 1;
                for kind in warnings {
                    *report.warnings.entry(kind).or_default() += 1;
                }
            }
            Err(e) => report.rejected.push((i, format!("{label}{e:#}"))),
        }
    }
    Ok(report)
}

/// One feature of a layer import as a write-path command: checked against the write's
/// snapshot, stored with its history and audit record in one transaction, and added to the
/// next snapshot (so the following features are checked against it). Returns the kinds of its
/// topology warnings.
async fn import_feature(
    w: &mut Write,
    layer: Layer,
    feature: geojson::Feature,
    parent_field: Option<String>,
    by: ChangeBy,
    config: TopologyConfig,
) -> anyhow::Result<Vec<String>> {
    let s = w.snapshot().clone();
    let empty = JsonObject::new();
    let p = feature.properties.as_ref().unwrap_or(&empty);
    let props = Props(p);
    let parent = parent_field.as_deref().unwrap_or("");
    // What each layer takes (and, for a parent, the `--parent-field`); what the export and our
    // own drawing tool write besides is accepted and ignored; anything else is refused.
    let (writable, ignored): (&[&str], &[&str]) = match layer {
        Layer::StreetOffices => (&["code", "name", "demo"], &["id", "version", "area_m2"]),
        Layer::Communities => (
            &["code", "name", "demo", parent],
            &["id", "version", "area_m2", "street_office_id"],
        ),
        Layer::Grids => (
            &[
                "code",
                "name",
                "chief_name",
                "chief_phone",
                "workers",
                "demo",
                parent,
            ],
            &[
                "id",
                "version",
                "area_m2",
                "community_id",
                "households",
                "residents",
                "building_count",
                "households_at_drawing",
            ],
        ),
        Layer::Facilities => (
            crate::formats::geojson::FACILITY_WRITABLE,
            crate::formats::geojson::FACILITY_READ_ONLY,
        ),
    };
    props.only(writable, ignored)?;
    let parent_code = || props.required_text(parent);
    let buildings = s.buildings.layer.items();
    match layer {
        Layer::StreetOffices => {
            let mut office = StreetOffice {
                id: 0,
                code: StreetOfficeCode::parse(&props.required_text("code")?, "code")?,
                name: parse_name(&props.required_text("name")?, "name")?,
                boundary: area(&feature)?,
                demo: props.flag("demo")?,
            };
            let offices = s.street_offices.items();
            let check = grids::check_street_office(
                &office.boundary,
                &office.code,
                None,
                offices,
                buildings,
                &config,
            );
            let warnings = topology(check)?;
            office.id = w.tx().await?.create_street_office(&office, &by).await?.id;
            w.audit(imported("street_offices", office.id, &by));
            let mut items = offices.to_vec();
            items.push(office);
            w.next_snapshot(Snapshot {
                street_offices: Arc::new(AdminLayer::new(items)),
                ..(*s).clone()
            });
            Ok(warnings)
        }
        Layer::Communities => {
            let code = CommunityCode::parse(&props.required_text("code")?, "code")?;
            let parent = parent_code()?;
            let Some(office) = s
                .street_offices
                .items()
                .iter()
                .find(|o| o.code.as_str() == parent)
            else {
                bail!("no street office with code {parent}")
            };
            if code.street_office().as_str() != parent {
                bail!("community code {code} does not start with its street office code {parent}");
            }
            let mut community = Community {
                id: 0,
                code,
                name: parse_name(&props.required_text("name")?, "name")?,
                street_office_id: office.id,
                boundary: area(&feature)?,
                demo: props.flag("demo")?,
            };
            let communities = s.communities.items();
            let siblings: Vec<Community> = communities
                .iter()
                .filter(|c| c.street_office_id == office.id)
                .cloned()
                .collect();
            let check = grids::check_community(
                &community.boundary,
                &community.code,
                None,
                office,
                &siblings,
                buildings,
                &config,
            );
            let warnings = topology(check)?;
            community.id = w.tx().await?.create_community(&community, &by).await?.id;
            w.audit(imported("communities", community.id, &by));
            let mut items = communities.to_vec();
            items.push(community);
            w.next_snapshot(Snapshot {
                communities: Arc::new(AdminLayer::new(items)),
                ..(*s).clone()
            });
            Ok(warnings)
        }
        Layer::Grids => {
            let code = GridCode::parse(&props.required_text("code")?, "code")?;
            let parent = parent_code()?;
            let Some(community) = s
                .communities
                .items()
                .iter()
                .find(|c| c.code.as_str() == parent)
            else {
                bail!("no community with code {parent}")
            };
            if code.community().as_str() != parent {
                bail!("grid code {code} does not start with its community code {parent}");
            }
            let chief = match props.text("chief_name")? {
                Some(n) => Some(Person::new(&n, props.text("chief_phone")?.as_deref())?),
                None => None,
            };
            let mut grid = Grid {
                id: 0,
                code,
                name: parse_name(&props.required_text("name")?, "name")?,
                community_id: community.id,
                chief,
                workers: workers(p)?,
                boundary: area(&feature)?,
                demo: props.flag("demo")?,
                version: 1,
            };
            let check = s
                .check_grid(&grid.boundary, &grid.code, None, community.id, &config)
                .expect("the community is in this snapshot");
            let warnings = topology(check)?;
            grid.id = w.tx().await?.create_grid(&grid, &by).await?.id;
            w.audit(imported("grids", grid.id, &by));
            let mut items = s.grids.layer.items().to_vec();
            items.push(grid);
            w.next_snapshot(s.with_grids(items));
            Ok(warnings)
        }
        Layer::Facilities => {
            let draft = crate::formats::geojson::facility_draft(feature.geometry.as_ref(), p)?;
            let mut facility = draft.validate_write(0, &s.catalogue)?;
            facility.id = w.tx().await?.insert_facility(&facility).await?;
            w.audit(imported("facilities", facility.id, &by));
            // Its service circles are derived data: computed at the next start.
            let mut items = s.facilities.layer.items().to_vec();
            items.push(facility);
            w.next_snapshot(s.with_facilities(items));
            Ok(Vec::new())
        }
    }
}

fn area_geometry(a: &AreaShape) -> geojson::Geometry {
    let shape = a.shape();
    geojson::Geometry::new(if shape.0.len() == 1 {
        geojson::GeometryValue::from(&shape.0[0])
    } else {
        geojson::GeometryValue::from(shape)
    })
}

/// Writes `layer` (street offices, communities or grids) as a GeoJSON FeatureCollection in the
/// format [`import_geojson_layer`] reads, parents by code. Phones of grid chiefs and workers are
/// personal data: written only with `personal_data`. Returns the number of features.
pub async fn export_geojson_layer(
    store: &Store,
    catalogue: &KindCatalogue,
    layer: Layer,
    out: &Path,
    personal_data: bool,
) -> anyhow::Result<usize> {
    let data = store.load(catalogue).await?;
    let office_code = |id: i64| {
        data.street_offices
            .iter()
            .find(|o| o.id == id)
            .map(|o| o.code.to_string())
    };
    let community_code = |id: i64| {
        data.communities
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.code.to_string())
    };
    let phone = |p: &Person| {
        if personal_data {
            p.phone().map(str::to_owned)
        } else {
            None
        }
    };
    let features: Vec<serde_json::Value> = match layer {
        Layer::StreetOffices => data
            .street_offices
            .iter()
            .map(|o| json!({ "type": "Feature", "id": o.id, "geometry": area_geometry(&o.boundary),
                "properties": { "code": o.code, "name": o.name, "demo": o.demo } }))
            .collect(),
        Layer::Communities => data
            .communities
            .iter()
            .map(|c| json!({ "type": "Feature", "id": c.id, "geometry": area_geometry(&c.boundary),
                "properties": { "code": c.code, "name": c.name, "street_office_code": office_code(c.street_office_id), "demo": c.demo } }))
            .collect(),
        Layer::Grids => data
            .grids
            .iter()
            .map(|g| json!({ "type": "Feature", "id": g.id, "geometry": area_geometry(&g.boundary),
                "properties": {
                    "code": g.code, "name": g.name, "community_code": community_code(g.community_id),
                    "chief_name": g.chief.as_ref().map(|p| p.name()),
                    "chief_phone": g.chief.as_ref().and_then(phone),
                    "workers": g.workers.iter().map(|w| json!({ "name": w.name(), "phone": phone(w) })).collect::<Vec<_>>(),
                    "demo": g.demo, "version": g.version,
                } }))
            .collect(),
        Layer::Facilities => bail!("export writes street-offices, communities or grids; facilities are in the GeoPackage (ogr2ogr reads it)"),
    };
    let n = features.len();
    let name = match layer {
        Layer::StreetOffices => "street_offices",
        Layer::Communities => "communities",
        _ => "grids",
    };
    let collection = json!({ "type": "FeatureCollection", "name": name, "features": features });
    std::fs::write(out, serde_json::to_string_pretty(&collection)? + "\n")
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(n)
}

/// The audit record of one imported feature, appended in the transaction that stores it.
fn imported(layer: &str, id: i64, by: &crate::store::ChangeBy) -> crate::auth::AuditEntry {
    crate::auth::AuditEntry {
        token_id: None,
        role: None,
        actor: by.actor.clone(),
        action: "import".to_owned(),
        layer: layer.to_owned(),
        feature_id: Some(id.to_string()),
        before: None,
        after: None,
    }
}
