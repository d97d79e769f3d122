//! `GET /coverage`: which buildings, households and residents are outside a service circle.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::params::Params;
use super::{AppState, feature};
use crate::coverage::{BuildingReach, CoverageReport, Within, report};
use crate::index::Snapshot;
use crate::model::{CircleDef, ReachMode, minutes as to_minutes, parse_minutes};

/// Routes of this group.
pub fn router() -> Router<AppState> {
    Router::new().route("/coverage", get(coverage))
}

/// The circle named by `circle=` (id or Chinese name), 422 when unknown.
pub fn circle_param<'a>(s: &'a Snapshot, params: &Params) -> ApiResult<&'a CircleDef> {
    let name = params.required("circle")?;
    s.circle(name).ok_or_else(|| {
        ApiError::invalid(
            "circle",
            "unknown_circle",
            format!("unknown circle {name:?}; circles: {}", s.circles.iter().map(|c| format!("{} ({})", c.id, c.name)).collect::<Vec<_>>().join(", ")),
        )
    })
}

/// `minutes=` (default the circle's), checked to (0, 60].
pub fn minutes_param(params: &Params, default: f64) -> ApiResult<f64> {
    Ok(parse_minutes(params.f64("minutes")?.unwrap_or(default), "minutes")?)
}

/// `mode=walk|radius` (default the circle's).
pub fn mode_param(params: &Params, default: ReachMode) -> ApiResult<ReachMode> {
    Ok(params.text("mode").map(str::parse).transpose()?.unwrap_or(default))
}

/// `at=` as an instant, or `None` (all facilities count, whatever their hours).
pub fn optional_instant(params: &Params) -> ApiResult<Option<DateTime<Utc>>> {
    params.text("at").map(|_| params.instant("at")).transpose()
}

fn rounded(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// The nearest facility of a building's answer, as JSON.
fn nearest_json(s: &Snapshot, r: &BuildingReach, speed_kmh: f64) -> Value {
    match (r.facility, r.distance_m) {
        (Some(f), Some(d)) => {
            let f = &s.facilities.layer.items()[f];
            json!({ "facility_id": f.id, "name": f.name, "kind": f.kind, "metres": rounded(d), "minutes": rounded(to_minutes(d, speed_kmh)) })
        }
        _ => Value::Null,
    }
}

fn building_features(s: &Snapshot, indices: &[usize], reach: &[BuildingReach], speed_kmh: f64) -> Value {
    let features: Vec<Value> = indices
        .iter()
        .map(|&i| {
            let mut f = serde_json::to_value(feature::building(&s.buildings.layer.items()[i])).expect("feature serialises");
            let r = &reach[i];
            f["properties"]["reason"] = json!(r.reason);
            f["properties"]["nearest"] = nearest_json(s, r, speed_kmh);
            f["properties"]["grid_id"] = json!(s.grid_of_building(i).map(|g| g.id));
            f
        })
        .collect();
    json!({ "type": "FeatureCollection", "features": features })
}

/// The report as JSON (also used by the CLI).
pub fn report_json(s: &Snapshot, circle: &CircleDef, minutes: f64, mode: ReachMode, at: Option<DateTime<Utc>>, r: &CoverageReport) -> Value {
    let speed = circle.speed_kmh;
    let mut body = json!({
        "circle": { "id": circle.id, "name": circle.name, "name_en": circle.name_en, "kinds": circle.kinds },
        "mode": mode,
        "minutes": minutes,
        "metres": rounded(crate::model::metres(minutes, speed)),
        "speed_kmh": speed,
        "at": at.map(|t| t.with_timezone(&s.timezone).to_rfc3339()),
        "facilities_counted": r.reach.facilities_counted,
        "summary": r.summary,
        "breakdown": r.breakdown,
        "uncovered": building_features(s, &r.uncovered, &r.reach.buildings, speed),
    });
    if let (Some(only), Some(radius)) = (&r.radius_only, &r.radius) {
        body["compare"] = json!({
            "mode": "radius",
            "radius_m": rounded(crate::model::metres(minutes, speed)),
            "covered_by_radius_not_by_walking": building_features(s, only, &radius.buildings, speed),
            "count": only.len(),
            "households": only.iter().map(|&i| u64::from(s.buildings.layer.items()[i].households)).sum::<u64>(),
        });
    }
    body
}

/// CSV of the uncovered buildings: one row each.
pub fn report_csv(s: &Snapshot, circle: &CircleDef, r: &CoverageReport) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["building_id", "osm", "name", "households", "residents", "grid_code", "reason", "nearest_facility_id", "nearest_name", "metres", "minutes", "lon", "lat"])
        .expect("in-memory csv");
    for &i in &r.uncovered {
        let b = &s.buildings.layer.items()[i];
        let reach = &r.reach.buildings[i];
        let nearest = reach.facility.map(|f| &s.facilities.layer.items()[f]);
        let reason = serde_json::to_value(reach.reason).expect("reason serialises");
        w.write_record([
            b.id.to_string(),
            b.osm.to_string(),
            b.name.clone().unwrap_or_default(),
            b.households.to_string(),
            b.residents.to_string(),
            s.grid_of_building(i).map(|g| g.code.to_string()).unwrap_or_default(),
            reason.as_str().unwrap_or_default().to_owned(),
            nearest.map(|f| f.id.to_string()).unwrap_or_default(),
            nearest.and_then(|f| f.name.clone()).unwrap_or_default(),
            reach.distance_m.map(|d| format!("{:.1}", d)).unwrap_or_default(),
            reach.distance_m.map(|d| format!("{:.1}", to_minutes(d, circle.speed_kmh))).unwrap_or_default(),
            format!("{:.7}", b.point.lon()),
            format!("{:.7}", b.point.lat()),
        ])
        .expect("in-memory csv");
    }
    String::from_utf8(w.into_inner().expect("in-memory csv")).expect("utf-8 csv")
}

/// `GET /coverage?circle=&mode=walk|radius&minutes=&at=&within=&compare=radius&format=json|csv`
#[utoipa::path(get, path = "/coverage",
    params(("circle" = String, Query, description = "circle id or name: government/政务, daily_life/生活, health/健康, culture_sports/文体, safety/平安"),
           ("mode" = Option<String>, Query, description = "walk (street network) or radius (crow-fly); default the circle's"),
           ("minutes" = Option<f64>, Query, description = "budget, (0, 60]; default the circle's (10)"),
           ("at" = Option<String>, Query, description = "RFC 3339 instant: only facilities open then count"),
           ("within" = Option<String>, Query, description = "grid:ID, community:ID or street_office:ID"),
           ("compare" = Option<String>, Query, description = "radius: also list buildings the radius circle covers but walking does not"),
           ("format" = Option<String>, Query, description = "json (default) or csv (uncovered buildings)")),
    responses((status = 200, description = "summary, per-grid breakdown, uncovered buildings (GeoJSON) with nearest facility, metres, minutes and reason"), (status = 400), (status = 422)))]
pub async fn coverage(State(state): State<AppState>, params: Params) -> ApiResult<Response> {
    params.only(&["circle", "mode", "minutes", "at", "within", "compare", "format"])?;
    let s = state.snapshot.current();
    let circle = circle_param(&s, &params)?;
    let minutes = minutes_param(&params, circle.minutes)?;
    let mode = mode_param(&params, circle.mode)?;
    let at = optional_instant(&params)?;
    let within: Option<Within> = params.text("within").map(str::parse).transpose()?;
    let compare = match params.text("compare") {
        None => false,
        Some("radius") => true,
        Some(other) => return Err(ApiError::invalid("compare", "bad_compare", format!("compare takes only 'radius', got {other:?}"))),
    };
    let format = params.text("format").unwrap_or("json").to_owned();
    if !matches!(format.as_str(), "json" | "csv") {
        return Err(ApiError::invalid("format", "bad_format", "format is json or csv"));
    }
    // The pass over every building is CPU work: keep it off the async workers.
    let s2 = s.clone();
    let circle = circle.clone();
    let result = tokio::task::spawn_blocking(move || {
        let r = report(&s2, &circle, minutes, mode, at, within, compare)?;
        Ok::<_, crate::model::ModelError>(if format == "csv" {
            ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], report_csv(&s2, &circle, &r)).into_response()
        } else {
            Json(report_json(&s2, &circle, minutes, mode, at, &r)).into_response()
        })
    })
    .await
    .map_err(|e| ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))??;
    Ok(result)
}
