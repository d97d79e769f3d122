//! Point queries: `/locate` (which grid, community, street office, building is here) and
//! `/nearest` (the nearest facilities of a kind, optionally open now), and `/kinds`.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::params::Params;
use super::{AppState, feature};
use crate::model::Audience;

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
           ("at" = Option<String>, Query, description = "RFC 3339 instant, default now"), ("audience" = Option<String>, Query, description = "e.g. sanitation_workers")),
    responses((status = 200, description = "Nearest facilities by crow-fly distance, with metres and opening state"), (status = 400), (status = 422)))]
pub async fn nearest(State(state): State<AppState>, params: Params) -> ApiResult<Json<Value>> {
    params.only(&["lon", "lat", "kind", "k", "open_now", "at", "audience"])?;
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
    let results: Vec<Value> = s
        .nearest(p, &kind, k, at, open_now, audience)
        .into_iter()
        .map(|n| {
            json!({
                "facility": feature::facility(n.facility, &s, at),
                "distance_m": (n.distance_m * 10.0).round() / 10.0,
                "open": feature::open_json(&n.open),
            })
        })
        .collect();
    Ok(Json(json!({
        "query": { "lon": p.lon(), "lat": p.lat(), "kind": kind, "k": k, "open_now": open_now, "at": at.with_timezone(&s.timezone).to_rfc3339(), "mode": "radius" },
        "results": results,
    })))
}

/// `GET /kinds`
#[utoipa::path(get, path = "/kinds", responses((status = 200, description = "The facility kind catalogue")))]
pub async fn kinds(State(state): State<AppState>) -> Json<Value> {
    let s = state.snapshot.current();
    Json(json!(s.catalogue.kinds().iter().map(|k| json!({ "id": k.id, "name_zh": k.name_zh, "name_en": k.name_en, "circles": k.circles, "osm": k.osm })).collect::<Vec<_>>()))
}
