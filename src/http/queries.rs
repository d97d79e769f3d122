//! Point queries: `/locate` (which grid, community, street office, building is here) and
//! `/nearest` (the nearest facilities of a kind, optionally open now), and `/kinds`.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::cpu::run_blocking;
use super::error::{ApiError, ApiResult};
use super::params::Params;
use super::{AppState, feature};
use crate::model::{Audience, Facility, KindId, OpenAt, ReachMode, minutes};

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
pub async fn nearest(State(state): State<AppState>, params: Params) -> ApiResult<Response> {
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
    let query = NearestQuery {
        at: at.with_timezone(&s.timezone).to_rfc3339(),
        k,
        kind: kind.clone(),
        lat: p.lat(),
        lon: p.lon(),
        mode,
        open_now,
        speed_kmh: speed,
    };
    match mode {
        ReachMode::Radius => {
            let results = s
                .nearest(p, &kind, k, at, open_now, audience)
                .iter()
                .map(|n| NearestResult::new(n.facility, n.distance_m, &n.open, speed, None))
                .collect();
            Ok(Json(NearestAnswer { query, results }).into_response())
        }
        ReachMode::Walk => {
            let s2 = s.clone();
            let kind2 = kind.clone();
            // The search runs off the async workers; the answer is written there too, as it
            // borrows the snapshot.
            let answer = run_blocking(&state, move || {
                s2.nearest_walking(p, &kind2, k, at, open_now, audience)
                    .map(|found| {
                        let results = found
                            .iter()
                            .map(|n| {
                                let route = json!({ "type": "Feature", "properties": { "metres": feature::tenth(n.distance_m) },
                                                    "geometry": geojson::Geometry::new(geojson::GeometryValue::from(&n.route)) });
                                NearestResult::new(n.facility, n.distance_m, &n.open, speed, Some(route))
                            })
                            .collect();
                        Json(NearestAnswer { query, results }).into_response()
                    })
            })
            .await?;
            answer.ok_or_else(|| {
                ApiError::invalid(
                    "lon",
                    "not_reachable",
                    format!("({}, {}) is not reachable on foot: no street of the walking network within {} m", p.lon(), p.lat(), s.walk.network.config().max_connector_m),
                )
            })
        }
    }
}

/// The answer of `/nearest`, serialised from typed records (see [`feature::FacilityFeature`]).
#[derive(serde::Serialize)]
struct NearestAnswer<'a> {
    query: NearestQuery,
    results: Vec<NearestResult<'a>>,
}

/// The query as understood, echoed back.
#[derive(serde::Serialize)]
struct NearestQuery {
    at: String,
    k: usize,
    kind: KindId,
    lat: f64,
    lon: f64,
    mode: ReachMode,
    open_now: bool,
    speed_kmh: f64,
}

/// One facility of a `/nearest` answer.
#[derive(serde::Serialize)]
struct NearestResult<'a> {
    distance_m: f64,
    facility: feature::FacilityFeature<'a>,
    minutes: f64,
    open: feature::OpenJson,
    /// The walk (walking mode only).
    #[serde(skip_serializing_if = "Option::is_none")]
    route: Option<Value>,
}

impl<'a> NearestResult<'a> {
    fn new(
        facility: &'a Facility,
        distance_m: f64,
        open: &OpenAt,
        speed_kmh: f64,
        route: Option<Value>,
    ) -> NearestResult<'a> {
        NearestResult {
            distance_m: feature::tenth(distance_m),
            facility: feature::FacilityFeature::new(facility, open),
            minutes: feature::tenth(minutes(distance_m, speed_kmh)),
            open: feature::OpenJson::new(open),
            route,
        }
    }
}

/// `GET /kinds`
#[utoipa::path(get, path = "/kinds", responses((status = 200, description = "The facility kind catalogue")))]
pub async fn kinds(State(state): State<AppState>) -> Json<Value> {
    let s = state.snapshot.current();
    Json(json!(s.catalogue.kinds().iter().map(|k| json!({ "id": k.id, "name_zh": k.name_zh, "name_en": k.name_en, "circles": k.circles, "osm": k.osm })).collect::<Vec<_>>()))
}
