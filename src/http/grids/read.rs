//! Reading grids as governance objects: one grid with its buildings, households, residents and
//! facilities (`GET /grids/{id}`), the grid map now or as it was (`GET /grids?as_of=`), a
//! grid's history, and how much of a community the grids cover.
//!
//! Grids, buildings and facilities come from the snapshot. The history and the building
//! chiefs (people records, not needed by the hot queries) are read from the store.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use geo::{Area, BooleanOps, MultiPolygon};
use rstar::AABB;
use serde_json::{Value, json};

use crate::grids::LocalFrame;
use crate::grids::measure::{oriented, without_debris};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::parse_id;
use crate::http::extract::{Caller, person_json};
use crate::http::feature;
use crate::http::params::Params;
use crate::model::{AreaShape, Building};
use crate::readmodel::Snapshot;
use crate::store::{BoundaryChange, BoundaryLayer, BoundaryState, history_time};

fn geometry(shape: &MultiPolygon<f64>) -> Value {
    let value = if shape.0.len() == 1 {
        geojson::GeometryValue::from(&shape.0[0])
    } else {
        geojson::GeometryValue::from(shape)
    };
    serde_json::to_value(geojson::Geometry::new(value)).expect("geometry serialises")
}

/// Indices of the buildings the snapshot counts as members of grid index `gi`, in id order.
pub fn member_indices(s: &Snapshot, gi: usize) -> Vec<usize> {
    let r = s.grids.layer.items()[gi].boundary.bbox();
    let aabb = AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
    let mut out: Vec<usize> = s
        .buildings
        .points
        .locate_in_envelope(aabb)
        .map(|e| e.index)
        .filter(|&i| s.grids.building_grid[i] == Some(gi))
        .collect();
    out.sort_unstable();
    out
}

/// `GET /grids/{id}`
#[utoipa::path(get, path = "/grids/{id}", params(("id" = i64, Path)),
    responses((status = 200, description = "The grid (GeoJSON Feature) with its member buildings (ids, households, residents, building chief names), totals, and the facilities inside"), (status = 404)))]
pub async fn grid(
    State(state): State<AppState>,
    Path(id): Path<String>,
    caller: Caller,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    let s = state.snapshot.current();
    let gi = s
        .grids
        .layer
        .index_of(id)
        .ok_or_else(|| ApiError::not_found(format!("no grid with id {id}")))?;
    let g = &s.grids.layer.items()[gi];
    let caller = caller.at_community(&s, g.community_id);
    let members = member_indices(&s, gi);
    let ids: Vec<i64> = members
        .iter()
        .map(|&i| s.buildings.layer.items()[i].id)
        .collect();
    let chiefs = state.store.building_chiefs(&ids).await?;
    let buildings: Vec<Value> = members
        .iter()
        .map(|&i| {
            let b = &s.buildings.layer.items()[i];
            json!({
                "id": b.id, "osm": b.osm, "name": b.name, "building": b.building,
                "households": b.households, "residents": b.residents, "household_source": b.household_source,
                "point": [b.point.lon(), b.point.lat()],
                "chief": chiefs.get(&b.id).map(|p| person_json(p, &caller)),
            })
        })
        .collect();
    let now = Utc::now();
    let facilities: Vec<geojson::Feature> = s
        .facilities
        .layer
        .in_rect(&g.boundary.bbox())
        .into_iter()
        .map(|i| &s.facilities.layer.items()[i])
        .filter(|f| g.boundary.contains(f.point))
        .map(|f| feature::facility(f, &s, now))
        .collect();
    let stats = s.grids.stats[gi];
    let community = s.communities.get(g.community_id);
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Json(json!({
            "grid": feature::grid(g, &s),
            "community": community.map(|c| json!({ "id": c.id, "code": c.code, "name": c.name })),
            "chief": g.chief.as_ref().map(|p| person_json(p, &caller)),
            "workers": g.workers.iter().map(|p| person_json(p, &caller)).collect::<Vec<_>>(),
            "building_count": stats.buildings,
            "households": stats.households,
            "residents": stats.residents,
            "buildings": buildings,
            "facilities": facilities,
        })),
    )
        .into_response())
}

fn state_json(layer: BoundaryLayer, state: &BoundaryState) -> Value {
    let parent = match layer {
        BoundaryLayer::Grids => "community_id",
        BoundaryLayer::Communities => "street_office_id",
        BoundaryLayer::StreetOffices => "parent_id",
    };
    let mut v =
        json!({ "code": state.code, "name": state.name, "geometry": geometry(&state.boundary) });
    if layer != BoundaryLayer::StreetOffices {
        v[parent] = json!(state.parent_id);
    }
    v
}

fn change_json(c: &BoundaryChange) -> Value {
    json!({
        "id": c.id,
        "action": c.action,
        "actor": c.actor,
        "at": history_time(c.at),
        "note": c.note,
        "old": c.old.as_ref().map(|s| state_json(c.layer, s)),
        "new": c.new.as_ref().map(|s| state_json(c.layer, s)),
        "boundary_changed": match (&c.old, &c.new) {
            (Some(a), Some(b)) => a.boundary != b.boundary,
            _ => true,
        },
    })
}

async fn history_of(
    state: &AppState,
    layer: BoundaryLayer,
    raw_id: &str,
) -> ApiResult<Json<Value>> {
    let id = parse_id(raw_id)?;
    let changes = state.store.boundary_history(layer, id).await?;
    let s = state.snapshot.current();
    let exists = match layer {
        BoundaryLayer::Grids => s.grids.layer.index_of(id).is_some(),
        BoundaryLayer::Communities => s.communities.index_of(id).is_some(),
        BoundaryLayer::StreetOffices => s.street_offices.index_of(id).is_some(),
    };
    if changes.is_empty() && !exists {
        return Err(ApiError::not_found(format!(
            "no {} feature with id {id}, now or in the history",
            layer.as_str()
        )));
    }
    Ok(Json(json!({
        "layer": layer,
        "id": id,
        "changes": changes.iter().map(change_json).collect::<Vec<_>>(),
    })))
}

/// `GET /grids/{id}/history`
#[utoipa::path(get, path = "/grids/{id}/history", params(("id" = i64, Path)),
    responses((status = 200, description = "Every change to the grid, oldest first: action, actor, at, old and new code, name, community and boundary (GeoJSON)"), (status = 404)))]
pub async fn history(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    history_of(&state, BoundaryLayer::Grids, &id).await
}

/// `GET /communities/{id}/history`
#[utoipa::path(get, path = "/communities/{id}/history", params(("id" = i64, Path)),
    responses((status = 200, description = "Every change to the community's boundary, oldest first"), (status = 404)))]
pub async fn community_history(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    history_of(&state, BoundaryLayer::Communities, &id).await
}

/// `GET /street_offices/{id}/history`
#[utoipa::path(get, path = "/street_offices/{id}/history", params(("id" = i64, Path)),
    responses((status = 200, description = "Every change to the street office's boundary, oldest first"), (status = 404)))]
pub async fn street_office_history(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    history_of(&state, BoundaryLayer::StreetOffices, &id).await
}

/// `GET /grids?as_of=&community_id=`
#[utoipa::path(get, path = "/grids",
    params(("as_of" = Option<String>, Query, description = "RFC 3339 instant: the grid map as it was then (from the history); default: now, from the snapshot"),
           ("community_id" = Option<i64>, Query, description = "only this community's grids")),
    responses((status = 200, description = "GeoJSON FeatureCollection of grids"), (status = 400)))]
pub async fn grids(State(state): State<AppState>, params: Params) -> ApiResult<Response> {
    params.only(&["as_of", "community_id"])?;
    let community = match params.text("community_id") {
        None => None,
        Some(v) => Some(v.parse::<i64>().map_err(|_| {
            ApiError::bad_request(
                "not_a_number",
                Some("community_id"),
                format!("community_id is an id, got {v:?}"),
            )
        })?),
    };
    let s = state.snapshot.current();
    let (features, as_of): (Vec<Value>, Option<String>) = match params.text("as_of") {
        None => (
            s.grids
                .layer
                .items()
                .iter()
                .filter(|g| community.is_none_or(|c| g.community_id == c))
                .map(|g| serde_json::to_value(feature::grid(g, &s)).expect("feature serialises"))
                .collect(),
            None,
        ),
        Some(_) => {
            let at = params.instant("as_of")?;
            let rows = state
                .store
                .boundaries_as_of(BoundaryLayer::Grids, at)
                .await?;
            (
                rows.iter()
                    .filter(|(_, st)| community.is_none_or(|c| st.parent_id == Some(c)))
                    .map(|(id, st)| {
                        json!({
                            "type": "Feature", "id": id, "geometry": geometry(&st.boundary),
                            "properties": { "id": id, "code": st.code, "name": st.name, "community_id": st.parent_id },
                        })
                    })
                    .collect(),
                Some(history_time(at)),
            )
        }
    };
    let n = features.len();
    Ok((
        [(header::CONTENT_TYPE, "application/geo+json")],
        Json(json!({
            "type": "FeatureCollection",
            "features": features,
            "numberReturned": n,
            "as_of": as_of,
        })),
    )
        .into_response())
}

fn building_summary(b: &Building) -> Value {
    json!({
        "id": b.id, "name": b.name, "households": b.households, "residents": b.residents,
        "point": [b.point.lon(), b.point.lat()],
    })
}

/// `GET /communities/{id}/coverage-of-grids`
#[utoipa::path(get, path = "/communities/{id}/coverage-of-grids", params(("id" = i64, Path)),
    responses((status = 200, description = "The community's area, the part its grids cover, the part they do not (GeoJSON), and the buildings in no grid"), (status = 404)))]
pub async fn coverage(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id)?;
    let s = state.snapshot.current();
    let c = s
        .communities
        .get(id)
        .ok_or_else(|| ApiError::not_found(format!("no community with id {id}")))?;
    let frame = LocalFrame::for_area(&c.boundary);
    let local = |a: &AreaShape| oriented(frame.area_to_local(a));
    let community = local(&c.boundary);
    let mine: Vec<&crate::model::Grid> = s
        .grids
        .layer
        .items()
        .iter()
        .filter(|g| g.community_id == id)
        .collect();
    let shapes: Vec<MultiPolygon<f64>> = mine.iter().map(|g| local(&g.boundary)).collect();
    let covered = geo::unary_union(shapes.iter());
    let uncovered = without_debris(community.difference(&covered), 0.001);
    let inside = community.intersection(&covered);
    let uncovered_lonlat =
        match frame.geometry_to_lonlat(&geo::Geometry::MultiPolygon(uncovered.clone())) {
            geo::Geometry::MultiPolygon(m) => m,
            _ => unreachable!("a multipolygon maps to a multipolygon"),
        };
    let homes: Vec<&Building> = s
        .buildings
        .layer
        .in_rect(&c.boundary.bbox())
        .into_iter()
        .filter(|&i| s.grids.building_grid[i].is_none())
        .map(|i| &s.buildings.layer.items()[i])
        .filter(|b| c.boundary.contains(b.point))
        .collect();
    let in_community = s
        .buildings
        .layer
        .in_rect(&c.boundary.bbox())
        .into_iter()
        .filter(|&i| c.boundary.contains(s.buildings.layer.items()[i].point))
        .count();
    let round = |x: f64| (x * 10.0).round() / 10.0;
    Ok(Json(json!({
        "community": { "id": c.id, "code": c.code, "name": c.name },
        "grids": mine.len(),
        "area_m2": round(community.unsigned_area()),
        "covered_area_m2": round(inside.unsigned_area()),
        "uncovered_area_m2": round(uncovered.unsigned_area()),
        "uncovered": if uncovered_lonlat.0.is_empty() { Value::Null } else { geometry(&uncovered_lonlat) },
        "buildings": in_community,
        "buildings_without_grid": homes.len(),
        "households_without_grid": homes.iter().map(|b| u64::from(b.households)).sum::<u64>(),
        "residents_without_grid": homes.iter().map(|b| u64::from(b.residents)).sum::<u64>(),
        "without_grid": homes.iter().map(|b| building_summary(b)).collect::<Vec<_>>(),
    })))
}
