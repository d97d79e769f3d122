//! Writes to the grids collection: validate the boundary, code and parent community, commit,
//! then publish a snapshot with recomputed membership.

use axum::http::StatusCode;
use axum::response::Response;
use geojson::JsonValue;

use super::collections::written;
use super::error::{ApiError, ApiResult};
use super::feature::{Props, area_from_geometry, parse_feature};
use super::{AppState, feature};
use crate::index::Snapshot;
use crate::model::{Grid, GridCode, Person, parse_name};

fn person(value: &JsonValue, field: &str) -> ApiResult<Person> {
    let name = value.get("name").and_then(JsonValue::as_str).unwrap_or("");
    let phone = value.get("phone").and_then(JsonValue::as_str);
    Person::new(name, phone).map_err(|e| e.under(&format!("{field}.")).into())
}

/// A grid from a Feature body, checked against the snapshot (parent community, code prefix,
/// service area). `id` and `version` are filled in by the caller.
fn grid_from_body(snapshot: &Snapshot, body: &[u8], margin_m: f64) -> ApiResult<Grid> {
    let (geometry, properties) = parse_feature(body)?;
    let props = Props(&properties);
    props.only(
        &[
            "code",
            "name",
            "community_id",
            "chief_name",
            "chief_phone",
            "workers",
            "demo",
        ],
        &[
            "id",
            "households",
            "residents",
            "building_count",
            "area_m2",
            "version",
        ],
    )?;
    let boundary = area_from_geometry(geometry)?;
    let code = GridCode::parse(&props.required_text("code")?, "properties.code")?;
    let name = parse_name(&props.required_text("name")?, "properties.name")?;
    let community_id = props.int("community_id")?.ok_or_else(|| {
        ApiError::invalid(
            "properties.community_id",
            "missing_property",
            "community_id is required",
        )
    })?;
    let community = snapshot.communities.get(community_id).ok_or_else(|| {
        ApiError::invalid(
            "properties.community_id",
            "unknown_community",
            format!("no community with id {community_id}"),
        )
    })?;
    if code.community() != community.code {
        return Err(ApiError::invalid(
            "properties.code",
            "code_outside_community",
            format!(
                "grid code {code} must start with its community's code {}",
                community.code
            ),
        ));
    }
    let chief = match props.text("chief_name")? {
        None => None,
        Some(n) => Some(
            Person::new(&n, props.text("chief_phone")?.as_deref())
                .map_err(|e| e.under("properties.chief_"))?,
        ),
    };
    let workers = match properties.get("workers") {
        None | Some(JsonValue::Null) => Vec::new(),
        Some(JsonValue::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, w)| person(w, &format!("properties.workers[{i}]")))
            .collect::<ApiResult<_>>()?,
        Some(_) => {
            return Err(ApiError::invalid(
                "properties.workers",
                "wrong_type",
                "workers is a list of {name, phone}",
            ));
        }
    };
    for c in boundary
        .shape()
        .0
        .iter()
        .flat_map(|p| p.exterior().coords())
    {
        let p = crate::model::LonLat::new(c.x, c.y)?;
        if !snapshot.serves(p, margin_m) {
            return Err(ApiError::invalid(
                "geometry",
                "outside_service_area",
                format!(
                    "vertex ({}, {}) is outside the area this service covers; GeoJSON positions are [lon, lat]",
                    c.x, c.y
                ),
            ));
        }
    }
    Ok(Grid {
        id: 0,
        code,
        name,
        community_id,
        chief,
        workers,
        boundary,
        demo: props.flag("demo")?,
        version: 1,
    })
}

/// Creates a grid.
pub async fn create(state: &AppState, body: &[u8]) -> ApiResult<Response> {
    let _writer = state.snapshot.write_lock().await;
    let snapshot = state.snapshot.current();
    let mut grid = grid_from_body(&snapshot, body, state.limits.service_margin_m)?;
    grid.id = state.store.insert_grid(&grid).await?;
    let mut items = snapshot.grids.layer.items().to_vec();
    items.push(grid.clone());
    let next = snapshot.with_grids(items);
    let body = feature::grid(&grid, &next);
    state.snapshot.publish(next);
    Ok(written(StatusCode::CREATED, "grids", grid.id, body))
}

/// Replaces grid `id` (its version goes up by one).
pub async fn replace(state: &AppState, id: i64, body: &[u8]) -> ApiResult<Response> {
    let _writer = state.snapshot.write_lock().await;
    let snapshot = state.snapshot.current();
    let index = snapshot
        .grids
        .layer
        .index_of(id)
        .ok_or_else(|| ApiError::not_found(format!("no grids feature with id {id}")))?;
    let mut grid = grid_from_body(&snapshot, body, state.limits.service_margin_m)?;
    grid.id = id;
    grid.version = snapshot.grids.layer.items()[index].version + 1;
    if !state.store.replace_grid(&grid).await? {
        return Err(ApiError::not_found(format!(
            "no grids feature with id {id}"
        )));
    }
    let mut items = snapshot.grids.layer.items().to_vec();
    items[index] = grid.clone();
    let next = snapshot.with_grids(items);
    let body = feature::grid(&grid, &next);
    state.snapshot.publish(next);
    Ok(written(StatusCode::OK, "grids", id, body))
}

/// Deletes grid `id`.
pub async fn delete(state: &AppState, id: i64) -> ApiResult<StatusCode> {
    let _writer = state.snapshot.write_lock().await;
    let snapshot = state.snapshot.current();
    let index = snapshot
        .grids
        .layer
        .index_of(id)
        .ok_or_else(|| ApiError::not_found(format!("no grids feature with id {id}")))?;
    if !state.store.delete_grid(id).await? {
        return Err(ApiError::not_found(format!(
            "no grids feature with id {id}"
        )));
    }
    let mut items = snapshot.grids.layer.items().to_vec();
    items.remove(index);
    state.snapshot.publish(snapshot.with_grids(items));
    Ok(StatusCode::NO_CONTENT)
}
