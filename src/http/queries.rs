//! Point queries: `/locate` (which grid, community, street office, building is here) and
//! `/nearest` (the nearest facilities of a kind, optionally open now), and `/kinds`.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::params::Params;
use super::{AppState, feature};
use crate::model::{Audience, ReachMode, minutes};

/// Routes of this group.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/locate", get(locate))
        .route("/nearest", get(nearest))
        .route("/kinds", get(kinds))
}

fn props(f: geojson::Feature) -> Value {
    Value::Object(f.properties.unwrap_or_default())
}

/// `GET /locate?lon=&lat=`
#[utoipa::path(get, path = "/locate", params(("lon" = f64, Query), ("lat" = f64, Query)),
    responses((status = 200, description = "The street office, community, grid and building containing the point (null where none)"), (status = 400), (status = 422)))]
pub async fn locate(State(state): State<AppState>, params: Params) -> ApiResult<Json<Value>> {
    params.only(&["lon", "lat"])?;
    let p = params.lon_lat()?;
    let s = state.snapshot.current();
    let found = s.locate(p);
    Ok(Json(json!({
        "query": { "lon": p.lon(), "lat": p.lat() },
        "street_office": found.street_office.map(|x| props(feature::street_office(x))),
        "community": found.community.map(|x| props(feature::community(x))),
        "grid": found.grid.map(|x| props(feature::grid(x, &s))),
        "building": found.building.map(|x| props(feature::building(x))),
    })))
}

/// `GET /nearest?lon=&lat=&kind=&k=&open_now=&at=&audience=`
#[utoipa::path(get, path = "/nearest",
    params(("lon" = f64, Query), ("lat" = f64, Query), ("kind" = String, Query, description = "a kind id from /kinds"),
           ("k" = Option<usize>, Query, description = "1..=100, default 5"), ("open_now" = Option<bool>, Query, description = "only facilities open at `at`"),
           ("at" = Option<String>, Query, description = "RFC 3339 instant, default now"), ("audience" = Option<String>, Query, description = "e.g. sanitation_workers"),
           ("mode" = Option<String>, Query, description = "radius (crow-fly, default) or walk (street network, with the route)")),
    responses((status = 200, description = "Nearest facilities with metres, minutes, opening state and (walk) the route as GeoJSON"), (status = 400), (status = 422, description = "bad value, or (walk) the point is not reachable")))]
pub async fn nearest(State(state): State<AppState>, params: Params) -> ApiResult<Json<Value>> {
    params.only(&[
        "lon", "lat", "kind", "k", "open_now", "at", "audience", "mode",
    ])?;
    let p = params.lon_lat()?;
    let s = state.snapshot.current();
    let kind = s.catalogue.parse_kind(params.required("kind")?, "kind")?;
    let k = params.count("k", 5, 1..=state.limits.max_k)?;
    let open_now = params.flag("open_now", false)?;
    let at = params.instant("at")?;
    let audience: Option<Audience> = params
        .text("audience")
        .map(str::parse)
        .transpose()
        .map_err(ApiError::from)?;
    let mode: ReachMode = params
        .text("mode")
        .map(str::parse)
        .transpose()?
        .unwrap_or(ReachMode::Radius);
    let speed = crate::walk::WalkConfig::default().speed_kmh;
    let round = |x: f64| (x * 10.0).round() / 10.0;
    let results: Vec<Value> = match mode {
        ReachMode::Radius => s
            .nearest(p, &kind, k, at, open_now, audience)
            .into_iter()
            .map(|n| {
                json!({
                    "facility": feature::facility(n.facility, &s, at),
                    "distance_m": round(n.distance_m),
                    "minutes": round(minutes(n.distance_m, speed)),
                    "open": feature::open_json(&n.open),
                })
            })
            .collect(),
        ReachMode::Walk => {
            let s2 = s.clone();
            let kind2 = kind.clone();
            tokio::task::spawn_blocking(move || {
                s2.nearest_walking(p, &kind2, k, at, open_now, audience).map(|found| {
                    found
                        .into_iter()
                        .map(|n| {
                            json!({
                                "facility": feature::facility(n.facility, &s2, at),
                                "distance_m": round(n.distance_m),
                                "minutes": round(minutes(n.distance_m, speed)),
                                "open": feature::open_json(&n.open),
                                "route": { "type": "Feature", "properties": { "metres": round(n.distance_m) },
                                           "geometry": geojson::Geometry::new(geojson::GeometryValue::from(&n.route)) },
                            })
                        })
                        .collect::<Vec<_>>()
                })
            })
            .await
            .map_err(|e| ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
            .ok_or_else(|| {
                ApiError::invalid(
                    "lon",
                    "not_reachable",
                    format!("({}, {}) is not reachable on foot: no street of the walking network within {} m", p.lon(), p.lat(), s.walk.network.config().max_connector_m),
                )
            })?
        }
    };
    Ok(Json(json!({
        "query": { "lon": p.lon(), "lat": p.lat(), "kind": kind, "k": k, "open_now": open_now, "at": at.with_timezone(&s.timezone).to_rfc3339(), "mode": mode, "speed_kmh": speed },
        "results": results,
    })))
}

/// `GET /kinds`
#[utoipa::path(get, path = "/kinds", responses((status = 200, description = "The facility kind catalogue")))]
pub async fn kinds(State(state): State<AppState>) -> Json<Value> {
    let s = state.snapshot.current();
    Json(json!(s.catalogue.kinds().iter().map(|k| json!({ "id": k.id, "name_zh": k.name_zh, "name_en": k.name_en, "circles": k.circles, "osm": k.osm })).collect::<Vec<_>>()))
}
