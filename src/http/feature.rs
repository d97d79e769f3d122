//! Model records as GeoJSON features (RFC 7946: lon, lat; WGS 84), and GeoJSON request bodies
//! back into model drafts.

use chrono::{DateTime, Utc};
use geojson::{Feature, GeometryValue, JsonObject, JsonValue};
use serde_json::json;

use super::error::{ApiError, ApiResult};
pub use crate::formats::geojson::{Props, require_geometry};
use crate::model::{
    AreaShape, Audience, Building, Community, Facility, FacilityDraft, Grid, HouseholdSource,
    KindId, OpenAt, OpenState, OsmRef, StreetOffice, StreetWay,
};
use crate::readmodel::Snapshot;

fn feature(id: i64, geometry: GeometryValue, properties: JsonValue) -> Feature {
    let JsonValue::Object(mut properties) = properties else {
        unreachable!("properties are built as objects")
    };
    properties.insert("id".into(), id.into());
    Feature {
        bbox: None,
        geometry: Some(geojson::Geometry::new(geometry)),
        id: Some(geojson::feature::Id::Number(id.into())),
        properties: Some(properties),
        foreign_members: None,
    }
}

/// Metres and minutes as answered: to a tenth.
pub fn tenth(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

fn area(shape: &AreaShape) -> GeometryValue {
    if shape.shape().0.len() == 1 {
        GeometryValue::from(&shape.shape().0[0])
    } else {
        GeometryValue::from(shape.shape())
    }
}

/// A street office.
pub fn street_office(s: &StreetOffice) -> Feature {
    feature(
        s.id,
        area(&s.boundary),
        json!({ "code": s.code, "name": s.name, "demo": s.demo, "area_m2": s.boundary.area_m2().round() }),
    )
}

/// A community.
pub fn community(c: &Community) -> Feature {
    feature(
        c.id,
        area(&c.boundary),
        json!({ "code": c.code, "name": c.name, "street_office_id": c.street_office_id, "demo": c.demo, "area_m2": c.boundary.area_m2().round() }),
    )
}

/// A grid with its member statistics. The chief's phone is personal data and never
/// appears here.
pub fn grid(g: &Grid, snapshot: &Snapshot) -> Feature {
    let stats = snapshot
        .grids
        .layer
        .index_of(g.id)
        .map(|i| snapshot.grids.stats[i])
        .unwrap_or_default();
    feature(
        g.id,
        area(&g.boundary),
        json!({
            "code": g.code, "name": g.name, "community_id": g.community_id,
            "chief_name": g.chief.as_ref().map(|p| p.name()),
            "workers": g.workers.iter().map(|p| p.name()).collect::<Vec<_>>(),
            "households": stats.households, "residents": stats.residents, "building_count": stats.buildings,
            "area_m2": g.boundary.area_m2().round(), "version": g.version, "demo": g.demo,
        }),
    )
}

/// A building.
pub fn building(b: &Building) -> Feature {
    feature(
        b.id,
        area(&b.footprint),
        serde_json::to_value(BuildingProperties::new(b)).expect("building properties serialise"),
    )
}

/// The properties of a building feature (one list for [`building`] and the typed features of
/// `/coverage`). Alphabetical, as the `Value` maps write them.
#[derive(Debug, serde::Serialize)]
pub struct BuildingProperties<'a> {
    area_m2: f64,
    building: &'a str,
    household_source: HouseholdSource,
    households: u32,
    id: i64,
    levels: Option<u16>,
    name: Option<&'a str>,
    osm: &'a OsmRef,
    point: [f64; 2],
    residential: bool,
    residents: u32,
}

impl<'a> BuildingProperties<'a> {
    /// The properties of `b`.
    pub fn new(b: &'a Building) -> BuildingProperties<'a> {
        BuildingProperties {
            area_m2: tenth(b.area_m2()),
            building: &b.building,
            household_source: b.household_source,
            households: b.households,
            id: b.id,
            levels: b.levels,
            name: b.name.as_deref(),
            osm: &b.osm,
            point: [b.point.lon(), b.point.lat()],
            residential: b.is_residential(),
            residents: b.residents,
        }
    }
}

/// A GeoJSON Feature with an area geometry and the properties `P`, serialised straight from
/// the records: the same JSON as a [`Feature`] built with [`area`], without a
/// `serde_json::Value` tree in between (for lists of thousands of buildings, building and
/// dropping that tree was most of the time of a `/coverage` answer).
#[derive(Debug, serde::Serialize)]
pub struct AreaFeature<'a, P> {
    geometry: AreaGeometry<'a>,
    id: i64,
    properties: P,
    #[serde(rename = "type")]
    type_: &'static str,
}

impl<'a, P: serde::Serialize> AreaFeature<'a, P> {
    /// The feature `id` over `shape` with `properties`.
    pub fn new(id: i64, shape: &'a AreaShape, properties: P) -> Self {
        AreaFeature {
            geometry: AreaGeometry(shape),
            id,
            properties,
            type_: "Feature",
        }
    }
}

/// An area as a GeoJSON geometry: a Polygon when it has one part, else a MultiPolygon (as
/// [`area`]).
#[derive(Debug)]
struct AreaGeometry<'a>(&'a AreaShape);

impl serde::Serialize for AreaGeometry<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let parts = &self.0.shape().0;
        let mut map = serializer.serialize_map(Some(2))?;
        if let [one] = parts.as_slice() {
            map.serialize_entry("coordinates", &PolygonCoordinates(one))?;
            map.serialize_entry("type", "Polygon")?;
        } else {
            let polygons: Vec<PolygonCoordinates<'_>> =
                parts.iter().map(PolygonCoordinates).collect();
            map.serialize_entry("coordinates", &polygons)?;
            map.serialize_entry("type", "MultiPolygon")?;
        }
        map.end()
    }
}

/// A polygon's rings (exterior first) as arrays of `[lon, lat]`.
struct PolygonCoordinates<'a>(&'a geo::Polygon<f64>);

impl serde::Serialize for PolygonCoordinates<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(
            std::iter::once(self.0.exterior())
                .chain(self.0.interiors())
                .map(Ring),
        )
    }
}

/// One ring as an array of `[lon, lat]`.
struct Ring<'a>(&'a geo::LineString<f64>);

impl serde::Serialize for Ring<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.0.iter().map(|c| [c.x, c.y]))
    }
}

/// A facility, with its opening state at `at`.
pub fn facility(f: &Facility, snapshot: &Snapshot, at: DateTime<Utc>) -> Feature {
    let open = snapshot.open_at(f, at);
    feature(
        f.id,
        GeometryValue::from(&f.point.point()),
        serde_json::to_value(FacilityProperties::new(f, &open))
            .expect("facility properties serialise"),
    )
}

/// A facility as a GeoJSON Feature with its opening state already known, serialised
/// straight from the record: the same JSON as [`facility`] without building a
/// `serde_json::Value` tree first (a map per object, sorted inserts, then a walk to write it:
/// a sixth of the server's CPU on `/nearest` under load). Fields are in alphabetical order, as
/// the `Value` maps write them.
#[derive(Debug, serde::Serialize)]
pub struct FacilityFeature<'a> {
    geometry: PointGeometry,
    id: i64,
    properties: FacilityProperties<'a>,
    #[serde(rename = "type")]
    type_: &'static str,
}

impl<'a> FacilityFeature<'a> {
    /// The feature of `f`, open or closed as `open` says.
    pub fn new(f: &'a Facility, open: &OpenAt) -> FacilityFeature<'a> {
        FacilityFeature {
            geometry: PointGeometry {
                coordinates: [f.point.lon(), f.point.lat()],
                type_: "Point",
            },
            id: f.id,
            properties: FacilityProperties::new(f, open),
            type_: "Feature",
        }
    }
}

#[derive(Debug, serde::Serialize)]
struct PointGeometry {
    coordinates: [f64; 2],
    #[serde(rename = "type")]
    type_: &'static str,
}

/// The properties of a facility feature (one list for [`facility`] and [`FacilityFeature`]).
#[derive(Debug, serde::Serialize)]
struct FacilityProperties<'a> {
    audience: Audience,
    capacity: Option<u32>,
    demo: bool,
    free: Option<u32>,
    id: i64,
    kind: &'a KindId,
    name: Option<&'a str>,
    open: OpenJson,
    opening_hours: Option<&'a str>,
    osm: Option<&'a OsmRef>,
    owner: Option<&'a str>,
    shared: bool,
}

impl<'a> FacilityProperties<'a> {
    fn new(f: &'a Facility, open: &OpenAt) -> FacilityProperties<'a> {
        FacilityProperties {
            audience: f.audience,
            capacity: f.capacity,
            demo: f.demo,
            free: f.free,
            id: f.id,
            kind: &f.kind,
            name: f.name.as_deref(),
            open: OpenJson::new(open),
            opening_hours: f.hours.as_ref().map(|h| h.raw()),
            osm: f.osm.as_ref(),
            owner: f.owner.as_deref(),
            shared: f.shared,
        }
    }
}

/// An opening state as JSON: its state, the next change (RFC 3339) if there is one within the
/// evaluation horizon ([`crate::model::HORIZON_DAYS`] days), and otherwise, for known hours,
/// `no_change_until`: the end of the horizon searched (the state holds at least until then;
/// nothing later was evaluated). A 24/7 facility is `{"next_change": null, "no_change_until":
/// "<at + 8 days>", "state": "open"}`; a facility without hours has both null.
#[derive(Debug, serde::Serialize)]
pub struct OpenJson {
    next_change: Option<String>,
    no_change_until: Option<String>,
    state: OpenState,
}

impl OpenJson {
    /// The JSON of `open`.
    pub fn new(open: &OpenAt) -> OpenJson {
        OpenJson {
            next_change: open.next_change.map(|t| t.to_rfc3339()),
            no_change_until: open.no_change_until.map(|t| t.to_rfc3339()),
            state: open.state,
        }
    }
}

/// A street or path.
pub fn way(w: &StreetWay) -> Feature {
    feature(
        w.id,
        GeometryValue::from(&w.line),
        json!({ "highway": w.highway, "name": w.name }),
    )
}

/// Reads a request body as one GeoJSON Feature: 400 when it is not JSON, 422 when it is not
/// a Feature.
pub fn parse_feature(body: &[u8]) -> ApiResult<(Option<geojson::Geometry>, JsonObject)> {
    let value: JsonValue = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            None,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    if value.get("type").and_then(JsonValue::as_str) != Some("Feature") {
        return Err(ApiError::invalid(
            "type",
            "not_a_feature",
            "the body must be a GeoJSON Feature (\"type\": \"Feature\")",
        ));
    }
    let f: Feature = serde_json::from_value(value).map_err(|e| {
        ApiError::invalid(
            "geometry",
            "invalid_geojson",
            format!("invalid GeoJSON: {e}"),
        )
    })?;
    Ok((f.geometry, f.properties.unwrap_or_default()))
}

/// A facility draft from a Feature body: a Point and the writable properties
/// ([`crate::formats::geojson::facility_draft`]).
pub fn facility_draft(body: &[u8]) -> ApiResult<FacilityDraft> {
    let (geometry, properties) = parse_feature(body)?;
    Ok(crate::formats::geojson::facility_draft(
        geometry.as_ref(),
        &properties,
    )?)
}
