//! Isochrones: `GET /isochrone` around a point and `GET /facilities/{id}/circle` around a
//! facility, one (multi)polygon per contour, walking on the network (holes kept) or as the
//! crow-fly circle for comparison.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use geo::MultiPolygon;
use serde_json::{Value, json};

use super::cpu::run_blocking;
use super::error::{ApiError, ApiResult};
use super::params::Params;
use super::params::{circle_param, minutes_param, mode_param};
use super::{AppState, extract::parse_id};
use crate::model::{LonLat, ReachMode, metres, parse_minutes, parse_speed};
use crate::readmodel::Snapshot;
use crate::readmodel::coverage::{radius_area, walking_areas};

/// Routes of this group.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/isochrone", get(isochrone))
        .route("/facilities/{id}/circle", get(facility_circle))
}

/// `minutes=5,10,15`: 1 to 6 contours, each in (0, 60].
fn contours(params: &Params, default: &[f64]) -> ApiResult<Vec<f64>> {
    let Some(text) = params.text("minutes") else {
        return Ok(default.to_vec());
    };
    let mut out = Vec::new();
    for part in text.split(',') {
        let m: f64 = part.trim().parse().map_err(|_| {
            ApiError::bad_request(
                "not_a_number",
                Some("minutes"),
                format!("minutes must be numbers separated by commas, got {text:?}"),
            )
        })?;
        out.push(parse_minutes(m, "minutes")?);
    }
    if out.is_empty() || out.len() > 6 {
        return Err(ApiError::invalid(
            "minutes",
            "out_of_range",
            "give 1 to 6 contours",
        ));
    }
    out.sort_by(f64::total_cmp);
    out.dedup();
    Ok(out)
}

fn collection(
    polygons: Vec<(f64, f64, MultiPolygon<f64>)>,
    mode: ReachMode,
    extra: Value,
) -> Value {
    let features: Vec<Value> = polygons
        .into_iter()
        .map(|(minutes, metres, polygon)| {
            let mut props = json!({ "contour": minutes, "minutes": minutes, "metres": (metres * 10.0).round() / 10.0, "mode": mode });
            if let (Value::Object(p), Value::Object(e)) = (&mut props, &extra) {
                p.extend(e.clone());
            }
            json!({ "type": "Feature", "geometry": geojson::Geometry::new(geojson::GeometryValue::from(&polygon)), "properties": props })
        })
        .collect();
    json!({ "type": "FeatureCollection", "features": features })
}

fn not_reachable(p: LonLat, s: &Snapshot) -> ApiError {
    ApiError::invalid(
        "lon",
        "not_reachable",
        format!(
            "({}, {}) is not reachable on foot: no street of the walking network within {} m",
            p.lon(),
            p.lat(),
            s.walk.network.config().max_connector_m
        ),
    )
}

/// `GET /isochrone?lon=&lat=&minutes=5,10,15&speed=&mode=walk|radius`
#[utoipa::path(get, path = "/isochrone",
    params(("lon" = f64, Query), ("lat" = f64, Query), ("minutes" = Option<String>, Query, description = "contours in minutes, e.g. 5,10,15 (default 10)"),
           ("speed" = Option<f64>, Query, description = "walking speed km/h (default 4.5)"), ("mode" = Option<String>, Query, description = "walk (default) or radius")),
    responses((status = 200, description = "GeoJSON FeatureCollection: one (Multi)Polygon per contour, smallest first; walking contours keep holes"), (status = 422, description = "bad value, or the point is not reachable")))]
pub async fn isochrone(State(state): State<AppState>, params: Params) -> ApiResult<Json<Value>> {
    params.only(&["lon", "lat", "minutes", "speed", "mode"])?;
    let p = params.lon_lat()?;
    let minutes = contours(&params, &[10.0])?;
    let speed = parse_speed(params.f64("speed")?.unwrap_or(4.5), "speed")?;
    let mode = mode_param(&params, ReachMode::Walk)?;
    let s = state.snapshot.current();
    let budgets: Vec<f64> = minutes.iter().map(|&m| metres(m, speed)).collect();
    let polygons = match mode {
        ReachMode::Radius => budgets.iter().map(|&b| radius_area(p, b)).collect(),
        ReachMode::Walk => {
            let start = s.walk.network.snap(p).ok_or_else(|| not_reachable(p, &s))?;
            let s2 = s.clone();
            let b2 = budgets.clone();
            run_blocking(&state, move || walking_areas(&s2, &[start], &b2)).await?
        }
    };
    let rows = minutes
        .iter()
        .zip(&budgets)
        .zip(polygons)
        .map(|((&m, &b), poly)| (m, b, poly))
        .collect();
    Ok(Json(collection(
        rows,
        mode,
        json!({ "lon": p.lon(), "lat": p.lat(), "speed_kmh": speed }),
    )))
}

/// `GET /facilities/{id}/circle?circle=&minutes=&mode=`: the facility's service circle(s).
#[utoipa::path(get, path = "/facilities/{id}/circle", params(("id" = i64, Path), ("circle" = Option<String>, Query, description = "one circle (default: every circle the facility's kind serves)"),
    ("minutes" = Option<f64>, Query), ("mode" = Option<String>, Query)),
    responses((status = 200, description = "GeoJSON FeatureCollection, one feature per circle"), (status = 404), (status = 422)))]
pub async fn facility_circle(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Json<Value>> {
    params.only(&["circle", "minutes", "mode"])?;
    let id = parse_id(&id)?;
    let s = state.snapshot.current();
    let index = s
        .facilities
        .layer
        .index_of(id)
        .ok_or_else(|| ApiError::not_found(format!("no facility with id {id}")))?;
    let facility = &s.facilities.layer.items()[index];
    let circles: Vec<_> = match params.text("circle") {
        Some(_) => vec![circle_param(&s, &params)?.clone()],
        None => s
            .circles
            .iter()
            .filter(|c| c.kinds.contains(&facility.kind))
            .cloned()
            .collect(),
    };
    let mut features = Vec::new();
    for c in circles {
        let minutes = minutes_param(&params, c.minutes)?;
        let mode = mode_param(&params, c.mode)?;
        let budget = metres(minutes, c.speed_kmh);
        let polygon = match mode {
            ReachMode::Radius => radius_area(facility.point, budget),
            ReachMode::Walk => {
                let snap =
                    s.facility_snaps[index].ok_or_else(|| not_reachable(facility.point, &s))?;
                walking_areas(&s, &[snap], &[budget]).remove(0)
            }
        };
        let extra = json!({ "facility_id": id, "circle": c.id, "circle_name": c.name, "speed_kmh": c.speed_kmh });
        features.extend(
            collection(vec![(minutes, budget, polygon)], mode, extra)["features"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
        );
    }
    Ok(Json(
        json!({ "type": "FeatureCollection", "features": features }),
    ))
}
