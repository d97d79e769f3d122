//! Managing a community's grid map: validate a drawing without saving, renumber codes
//! (dry run first), draft a partition, and name building chiefs.

use std::collections::{BTreeMap, HashSet};

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::app::{BoxFuture, Write};
use crate::auth::{BoundaryKind, Target};
use crate::grids::{self, CodeChange, TopologyReport};
use crate::http::AppState;
use crate::http::access::{audit_entry, permit, writer};
use crate::http::boundary_checks::{problems_json, report_json, rules_json};
use crate::http::cpu::run_blocking;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::parse_id;
use crate::http::extract::{Caller, person_json};
use crate::http::grid_writes::{GridBody, check};
use crate::http::params::Params;
use crate::model::{Grid, GridCode, Person};
use crate::readmodel::Snapshot;
use crate::store::history_time;

type Body = Result<Bytes, axum::extract::rejection::BytesRejection>;

/// `POST /grids/validate`
#[utoipa::path(post, path = "/grids/validate", request_body(content = Object, content_type = "application/geo+json",
        description = "A grid Feature as for POST /collections/grids/items; with `id` (Feature or properties) it is checked as a replacement of that grid"),
    responses((status = 200, description = "{ok, errors, warnings}: the topology checks, nothing saved"), (status = 400), (status = 401, description = "no token: the checks are CPU work for callers who draw grids"), (status = 422)))]
pub async fn validate(
    State(state): State<AppState>,
    caller: Caller,
    body: Body,
) -> ApiResult<Json<Value>> {
    // Refused before the drawing is parsed or checked: anonymous callers start no CPU work.
    writer(&caller)?;
    let body = body?;
    let parsed = match GridBody::parse_with(&body) {
        Ok(p) => p,
        Err(refusal) => match *refusal {
            // The polygon itself is invalid: that is the one problem.
            (_, Some(problem)) => {
                let mut report = TopologyReport::default();
                report.push(problem);
                return Ok(Json(report_json(&report)));
            }
            (e, None) => return Err(e),
        },
    };
    let s = state.snapshot.current();
    let id = parsed.id;
    if let Some(id) = id
        && s.grids.layer.index_of(id).is_none()
    {
        return Err(ApiError::invalid(
            "id",
            "unknown_grid",
            format!("no grid with id {id} to replace"),
        ));
    }
    let margin_m = state.limits.service_margin_m;
    let topology = state.topology.clone();
    // The checks (overlaps, gaps, cut buildings, households) are CPU work: off the async
    // workers, under the shared bound.
    let mut answer = run_blocking(&state, move || -> ApiResult<Value> {
        let replacing = id
            .and_then(|id| s.grids.layer.index_of(id))
            .map(|i| &s.grids.layer.items()[i]);
        let grid = parsed.resolve(&s, margin_m, replacing)?;
        Ok(report_json(&check(&s, &grid, id, &topology)))
    })
    .await??;
    answer["rules"] = rules_json(&state.topology);
    Ok(Json(answer))
}

fn change_json(c: &CodeChange) -> Value {
    json!({ "id": c.id, "old": c.old, "new": c.new, "changes": c.changes() })
}

/// An explicit mapping `{"codes": {"<grid id>": "<code>"}}`: every grid named is in the
/// community, every code is one of the community's, and the codes stay unique.
fn explicit_changes(
    body: &[u8],
    community: &crate::model::Community,
    grids: &[Grid],
) -> ApiResult<Vec<CodeChange>> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            None,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    let Some(map) = value.get("codes").and_then(Value::as_object) else {
        return Err(ApiError::invalid(
            "codes",
            "missing_property",
            "the body is {\"codes\": {\"<grid id>\": \"<15-digit code>\"}}",
        ));
    };
    if let Some(k) = value
        .as_object()
        .into_iter()
        .flat_map(|o| o.keys())
        .find(|k| *k != "codes")
    {
        return Err(ApiError::invalid(
            k,
            "unknown_property",
            format!("unknown member {k:?}; the body has only codes"),
        ));
    }
    let mut assigned: BTreeMap<i64, GridCode> = BTreeMap::new();
    for (key, code) in map {
        let field = format!("codes.{key}");
        let id: i64 = key
            .parse()
            .map_err(|_| ApiError::invalid(&field, "not_a_number", "keys are grid ids"))?;
        let grid = grids.iter().find(|g| g.id == id).ok_or_else(|| {
            ApiError::invalid(
                &field,
                "unknown_grid",
                format!("grid {id} is not in community {}", community.id),
            )
        })?;
        let code = GridCode::parse(code.as_str().unwrap_or(""), &field)?;
        if code.community() != community.code {
            return Err(ApiError::invalid(
                &field,
                "code_outside_community",
                format!("grid code {code} must start with {}", community.code),
            ));
        }
        assigned.insert(grid.id, code);
    }
    let mut seen = HashSet::new();
    for g in grids {
        let code = assigned.get(&g.id).unwrap_or(&g.code);
        if !seen.insert(code.clone()) {
            return Err(ApiError::invalid(
                "codes",
                "duplicate_code",
                format!("two grids would have the code {code}"),
            ));
        }
    }
    Ok(grids
        .iter()
        .filter_map(|g| {
            assigned.get(&g.id).map(|new| CodeChange {
                id: g.id,
                old: g.code.clone(),
                new: new.clone(),
            })
        })
        .collect())
}

/// `POST /communities/{id}/grids/renumber?dry_run=`
#[utoipa::path(post, path = "/communities/{id}/grids/renumber",
    params(("id" = i64, Path), ("dry_run" = Option<bool>, Query, description = "show the old→new mapping without saving (default false)")),
    request_body(content = Option<Object>, description = "optional {\"codes\": {\"<grid id>\": \"<code>\"}}: these codes instead of the W→E, N→S rule (e.g. to undo a renumbering)"),
    responses((status = 200, description = "The mapping, and with dry_run=false the time it was committed"), (status = 404), (status = 409), (status = 422)))]
pub async fn renumber(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
    caller: Caller,
    body: Body,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id)?;
    params.only(&["dry_run"])?;
    let dry_run = params.flag("dry_run", false)?;
    if !dry_run {
        writer(&caller)?;
    }
    let body = body?;
    if dry_run {
        let s = state.snapshot.current();
        return Ok(Json(renumbering(&s, id, &body, true)?.0));
    }
    let writes = state.writes.clone();
    writes
        .run(
            move |w: &mut Write| -> BoxFuture<'_, ApiResult<Json<Value>>> {
                Box::pin(async move {
                    let s = w.snapshot().clone();
                    let (mut answer, changes) = renumbering(&s, id, &body, false)?;
                    let community = s.communities.get(id).expect("checked by renumbering");
                    // Renumbering writes the community's grids: the caller must be allowed grids
                    // there.
                    let area = Some(&community.boundary);
                    let target = Target::Boundary {
                        kind: BoundaryKind::Grid,
                        before: area,
                        after: area,
                    };
                    permit(&caller, &s, target)?;
                    if changes.iter().any(|c| c.changes()) {
                        let at = w
                            .tx()
                            .await?
                            .renumber_grids(&changes, &caller.change())
                            .await?;
                        let mut items = s.grids.layer.items().to_vec();
                        grids::apply(&mut items, &changes);
                        for g in &mut items {
                            if changes.iter().any(|c| c.id == g.id && c.changes()) {
                                g.version += 1;
                            }
                        }
                        w.next_snapshot(s.with_grids(items));
                        answer["changed_at"] = json!(history_time(at));
                        w.audit(audit_entry(
                            &caller,
                            "renumber",
                            "communities",
                            id,
                            None,
                            Some(answer.clone()),
                        ));
                    }
                    Ok(Json(answer))
                })
            },
        )
        .await
}

/// The renumbering of community `id` in `s` (by the W→E, N→S rule, or the explicit codes of
/// `body`): its JSON answer and the code changes.
fn renumbering(
    s: &Snapshot,
    id: i64,
    body: &[u8],
    dry_run: bool,
) -> ApiResult<(Value, Vec<grids::CodeChange>)> {
    let community = s
        .communities
        .get(id)
        .ok_or_else(|| ApiError::not_found(format!("no community with id {id}")))?;
    let mine: Vec<Grid> = s
        .grids
        .layer
        .items()
        .iter()
        .filter(|g| g.community_id == id)
        .cloned()
        .collect();
    let (changes, rule) = if body.iter().all(u8::is_ascii_whitespace) {
        (
            grids::renumber(community, &mine)?,
            "west_to_east_north_to_south",
        )
    } else {
        (explicit_changes(body, community, &mine)?, "explicit")
    };
    let changed = changes.iter().filter(|c| c.changes()).count();
    let answer = json!({
        "community_id": id,
        "rule": rule,
        "dry_run": dry_run,
        "changed": changed,
        "changes": changes.iter().map(change_json).collect::<Vec<_>>(),
    });
    Ok((answer, changes))
}

/// `POST /communities/{id}/grids/draft?target_households=`
#[utoipa::path(post, path = "/communities/{id}/grids/draft",
    params(("id" = i64, Path), ("target_households" = Option<u32>, Query, description = "households per grid to aim for, default 400")),
    responses((status = 200, description = "A proposed partition (GeoJSON FeatureCollection with codes and household counts) and its topology check; nothing is saved"), (status = 404), (status = 422)))]
pub async fn draft(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    params.only(&["target_households"])?;
    let target = params.count("target_households", 400, 1..=100_000)? as u32;
    let s = state.snapshot.current();
    if s.communities.get(id).is_none() {
        return Err(ApiError::not_found(format!("no community with id {id}")));
    }
    let config = state.topology.clone();
    let answer = run_blocking(&state, move || -> ApiResult<Value> {
        let community = s.communities.get(id).expect("checked above");
        let draft = grids::draft_grids(community, s.ways.items(), s.buildings.layer.items(), target)?;
        // The draft as the checks see it if it were saved in place of the community's grids.
        let as_grids: Vec<Grid> = draft
            .grids
            .iter()
            .enumerate()
            .map(|(i, g)| Grid {
                id: -(i as i64) - 1,
                code: g.code.clone(),
                name: g.name.clone(),
                community_id: id,
                chief: None,
                workers: vec![],
                boundary: g.boundary.clone(),
                demo: false,
                version: 0,
            })
            .collect();
        let mut errors = Vec::new();
        let mut warnings = 0usize;
        for report in check_map(community, &as_grids, s.buildings.layer.items(), &config) {
            errors.extend(report.errors);
            warnings += report.warnings.len();
        }
        let mut body = serde_json::to_value(&draft).expect("a draft serialises");
        body["topology"] = json!({ "ok": errors.is_empty(), "errors": problems_json(&errors), "warnings": warnings });
        body["saved"] = json!(false);
        Ok(body)
    })
    .await??;
    Ok((
        [(header::CONTENT_TYPE, "application/geo+json")],
        Json(answer),
    )
        .into_response())
}

/// `PUT /buildings/{id}/chief` with `{"name": …, "phone": …}`
#[utoipa::path(put, path = "/buildings/{id}/chief", params(("id" = i64, Path)),
    request_body(content = Object, description = "{\"name\": \"…\", \"phone\": \"…\" (optional)}"),
    responses((status = 200, description = "The building chief (楼栋长) as the caller may see it"), (status = 404), (status = 422)))]
pub async fn put_chief(
    State(state): State<AppState>,
    Path(id): Path<String>,
    caller: Caller,
    body: Body,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id)?;
    writer(&caller)?;
    let body = body?;
    let value: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            None,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    let Some(obj) = value.as_object() else {
        return Err(ApiError::invalid(
            "name",
            "wrong_type",
            "the body is {\"name\": \"…\", \"phone\": \"…\"}",
        ));
    };
    if let Some(k) = obj
        .keys()
        .find(|k| !["name", "phone"].contains(&k.as_str()))
    {
        return Err(ApiError::invalid(
            k,
            "unknown_property",
            format!("unknown property {k:?}; a chief has name and phone"),
        ));
    }
    let text = |k: &str| -> ApiResult<Option<&str>> {
        match obj.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(ApiError::invalid(
                k,
                "wrong_type",
                format!("{k} must be a string"),
            )),
        }
    };
    let person = Person::new(text("name")?.unwrap_or(""), text("phone")?)?;
    let (writes, store) = (state.writes.clone(), state.store.clone());
    writes
        .run(move |w: &mut Write| -> BoxFuture<'_, ApiResult<Json<Value>>> {
            Box::pin(async move {
                let s = w.snapshot().clone();
                chief_permit(&caller, &s, id)?;
                let before = store.building_chiefs(&[id]).await?.remove(&id);
                if !w.tx().await?.set_building_chief(id, Some(&person)).await? {
                    return Err(ApiError::not_found(format!("no building with id {id}")));
                }
                let chief = |p: &Person| json!({ "name": p.name(), "phone": p.phone() });
                w.audit(audit_entry(
                    &caller,
                    "put",
                    "building_chiefs",
                    id,
                    before.as_ref().map(chief),
                    Some(chief(&person)),
                ));
                Ok(Json(
                    json!({ "building_id": id, "chief": person_json(&person, &caller.at_building(&s, id)) }),
                ))
            })
        })
        .await
}

/// `GET /buildings/{id}/chief`
#[utoipa::path(get, path = "/buildings/{id}/chief", params(("id" = i64, Path)),
    responses((status = 200, description = "The building chief (null when none), as the caller may see it"), (status = 404)))]
pub async fn get_chief(
    State(state): State<AppState>,
    Path(id): Path<String>,
    caller: Caller,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id)?;
    if state
        .snapshot
        .current()
        .buildings
        .layer
        .index_of(id)
        .is_none()
    {
        return Err(ApiError::not_found(format!("no building with id {id}")));
    }
    let chiefs = state.store.building_chiefs(&[id]).await?;
    let caller = caller.at_building(&state.snapshot.current(), id);
    Ok(Json(
        json!({ "building_id": id, "chief": chiefs.get(&id).map(|p| person_json(p, &caller)) }),
    ))
}

/// `DELETE /buildings/{id}/chief`
#[utoipa::path(delete, path = "/buildings/{id}/chief", params(("id" = i64, Path)), responses((status = 204), (status = 404)))]
pub async fn delete_chief(
    State(state): State<AppState>,
    Path(id): Path<String>,
    caller: Caller,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id)?;
    writer(&caller)?;
    let (writes, store) = (state.writes.clone(), state.store.clone());
    writes
        .run(
            move |w: &mut Write| -> BoxFuture<'_, ApiResult<StatusCode>> {
                Box::pin(async move {
                    chief_permit(&caller, w.snapshot(), id)?;
                    let before = store.building_chiefs(&[id]).await?.remove(&id);
                    if !w.tx().await?.set_building_chief(id, None).await? {
                        return Err(ApiError::not_found(format!("no building with id {id}")));
                    }
                    let before = before.map(|p| json!({ "name": p.name(), "phone": p.phone() }));
                    w.audit(audit_entry(
                        &caller,
                        "delete",
                        "building_chiefs",
                        id,
                        before,
                        None,
                    ));
                    Ok(StatusCode::NO_CONTENT)
                })
            },
        )
        .await
}

/// 401/403 for a write of building `id`'s chief; 404 when there is no such building.
fn chief_permit(caller: &Caller, s: &crate::readmodel::Snapshot, id: i64) -> ApiResult<()> {
    writer(caller)?;
    let b = s
        .buildings
        .layer
        .get(id)
        .ok_or_else(|| ApiError::not_found(format!("no building with id {id}")))?;
    permit(caller, s, Target::BuildingChief(b.point))
}

/// `e`, reported under feature `i` of a whole-map body (`features[i].…`).
fn in_feature(i: usize, mut e: ApiError) -> ApiError {
    e.field = Some(format!(
        "features[{i}].{}",
        e.field.as_deref().unwrap_or("")
    ));
    e
}

/// Each grid of `map` checked against `community` and the others of the map (as a set, in
/// place of the community's saved grids).
fn check_map(
    community: &crate::model::Community,
    map: &[Grid],
    buildings: &[crate::model::Building],
    config: &grids::TopologyConfig,
) -> Vec<TopologyReport> {
    map.iter()
        .map(|g| {
            grids::check_grid(
                &g.boundary,
                &g.code,
                Some(g.id),
                community,
                map,
                buildings,
                config,
            )
        })
        .collect()
}

/// A whole-map body's features, parsed one by one (fields named `features[i].…`).
fn partition_bodies(body: &[u8], community_id: i64) -> ApiResult<Vec<GridBody>> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            None,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    if value.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(ApiError::invalid(
            "type",
            "not_a_feature_collection",
            "the body is a GeoJSON FeatureCollection of the community's grids",
        ));
    }
    let Some(features) = value.get("features").and_then(Value::as_array) else {
        return Err(ApiError::invalid(
            "features",
            "missing_property",
            "a FeatureCollection has a features array",
        ));
    };
    if features.is_empty() {
        return Err(ApiError::invalid(
            "features",
            "empty",
            "a grid map needs at least one grid (to delete grids, DELETE them one by one)",
        ));
    }
    let mut bodies = Vec::with_capacity(features.len());
    for (i, f) in features.iter().enumerate() {
        let under = |e| in_feature(i, e);
        let bytes = serde_json::to_vec(f).expect("a JSON value serialises");
        let parsed = GridBody::parse(&bytes).map_err(under)?;
        if let Some(other) = parsed.community_id
            && other != community_id
        {
            return Err(under(ApiError::invalid(
                "properties.community_id",
                "other_community",
                format!(
                    "this grid names community {other}; the map being saved is community {community_id}'s"
                ),
            )));
        }
        bodies.push(parsed);
    }
    Ok(bodies)
}

/// A problem of a whole-map check as JSON: `feature` is its grid's position in the body, and a
/// party that is another grid of the body is named by `other_feature` (they have no ids yet).
fn partition_problem(feature: usize, p: &grids::Problem) -> Value {
    let mut v = serde_json::to_value(p).expect("problems serialise");
    v["feature"] = json!(feature);
    if let Some(other) = p.other_id.filter(|o| *o < 0) {
        v["other_feature"] = json!(-other - 1);
        v["other_id"] = Value::Null;
    }
    v
}

/// `PUT /communities/{id}/grids?dry_run=`
#[utoipa::path(put, path = "/communities/{id}/grids",
    params(("id" = i64, Path), ("dry_run" = Option<bool>, Query, description = "check the map as a whole without saving (default false)")),
    request_body(content = Object, content_type = "application/geo+json",
        description = "A FeatureCollection: the community's whole new grid map (e.g. an accepted draft). Per feature as for POST /collections/grids/items; `code` and `name` may be left out (a grid whose code is one of the community's keeps its id, history and people unless given; the rest get free sequence numbers W→E, N→S and the name 第N网格). The community's grids not in the map are deleted."),
    responses((status = 200, description = "The saved map: grids with ids, what was created, replaced and deleted, and the warnings (or, with dry_run, the check)"),
        (status = 401), (status = 403), (status = 404), (status = 422, description = "The map fails its topology checks: `problems` name each grid by its position (`feature`, `other_feature`); nothing was saved")))]
pub async fn replace_all(
    State(state): State<AppState>,
    Path(id): Path<String>,
    params: Params,
    caller: Caller,
    body: Body,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    params.only(&["dry_run"])?;
    let dry_run = params.flag("dry_run", false)?;
    if !dry_run {
        writer(&caller)?;
    }
    let body = body?;
    let bodies = partition_bodies(&body, id)?;
    if dry_run {
        return save_map(&state, &caller, id, bodies, None).await;
    }
    let writes = state.writes.clone();
    writes
        .run(move |w: &mut Write| -> BoxFuture<'_, ApiResult<Response>> {
            Box::pin(async move { save_map(&state, &caller, id, bodies, Some(w)).await })
        })
        .await
}

/// Checks the whole grid map `bodies` of community `id` and, with a write (not a dry run),
/// saves it: conditional on the community's grids being stored exactly as the snapshot has
/// them (a grid another replica created, changed or deleted meanwhile is a 412).
async fn save_map(
    state: &AppState,
    caller: &Caller,
    id: i64,
    bodies: Vec<GridBody>,
    mut write: Option<&mut Write>,
) -> ApiResult<Response> {
    let dry_run = write.is_none();
    let s = match &write {
        Some(w) => w.snapshot().clone(),
        None => state.snapshot.current(),
    };
    let community = s
        .communities
        .get(id)
        .ok_or_else(|| ApiError::not_found(format!("no community with id {id}")))?
        .clone();
    let stored: Vec<Grid> = s
        .grids
        .layer
        .items()
        .iter()
        .filter(|g| g.community_id == id)
        .cloned()
        .collect();
    // Resolve every feature; codes left out are filled in afterwards, W→E then N→S.
    let mut map = Vec::with_capacity(bodies.len());
    let mut named = Vec::with_capacity(bodies.len());
    let mut uncoded = Vec::new();
    let mut seen: HashSet<GridCode> = HashSet::new();
    for (i, b) in bodies.into_iter().enumerate() {
        let has_code = b.has_code();
        named.push(b.has_name());
        let under = |e| in_feature(i, e);
        let grid = b
            .with_community(id)
            .resolve(&s, state.limits.service_margin_m, None)
            .map_err(under)?;
        if has_code {
            if !seen.insert(grid.code.clone()) {
                return Err(under(ApiError::invalid(
                    "properties.code",
                    "duplicate_code",
                    format!("two grids of the map have the code {}", grid.code),
                )));
            }
        } else {
            uncoded.push(i);
        }
        map.push(grid);
    }
    if !uncoded.is_empty() {
        let taken: Vec<&GridCode> = seen.iter().collect();
        let free = crate::http::grid_writes::free_codes(&community.code, &taken, uncoded.len())?;
        let shapes: Vec<&crate::model::AreaShape> =
            uncoded.iter().map(|&i| &map[i].boundary).collect();
        let ties: Vec<i64> = uncoded.iter().map(|&i| i as i64).collect();
        for (code, k) in free.into_iter().zip(grids::sequence_order(&shapes, &ties)) {
            let i = uncoded[k];
            if !named[i] {
                map[i].name = crate::http::grid_writes::default_name(&code);
            }
            map[i].code = code;
        }
    }
    // A code is a grid's identity: a grid of the map with a stored grid's code is that grid,
    // redrawn, and keeps its id, history, name and people unless the body gives them.
    for (grid, has_name) in map.iter_mut().zip(&named) {
        if let Some(old) = stored.iter().find(|g| g.code == grid.code) {
            grid.id = old.id;
            grid.version = old.version + 1;
            if grid.chief.is_none() && grid.workers.is_empty() {
                grid.chief = old.chief.clone();
                grid.workers = old.workers.clone();
            }
            if !has_name {
                grid.name = old.name.clone();
            }
        }
    }
    // The map checked as a whole: each grid against the community and the others of the map
    // (named by negative positions: they have no ids yet).
    let as_siblings: Vec<Grid> = map
        .iter()
        .enumerate()
        .map(|(i, g)| Grid {
            id: -(i as i64) - 1,
            ..g.clone()
        })
        .collect();
    let config = state.topology.clone();
    let checked = {
        let s = s.clone();
        let community = community.clone();
        run_blocking(state, move || {
            check_map(&community, &as_siblings, s.buildings.layer.items(), &config)
        })
        .await?
    };
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let mut without_grid_reported = false;
    for (i, report) in checked.iter().enumerate() {
        errors.extend(report.errors.iter().map(|p| partition_problem(i, p)));
        for w in &report.warnings {
            // "Buildings left in no grid" is the same for every grid of the map: once.
            if w.kind == grids::ProblemKind::BuildingsWithoutGrid {
                if without_grid_reported {
                    continue;
                }
                without_grid_reported = true;
            }
            warnings.push(partition_problem(i, w));
        }
    }
    if !errors.is_empty() {
        let kinds: Vec<String> = errors
            .iter()
            .map(|e| {
                format!(
                    "{} (grid {})",
                    e["kind"].as_str().unwrap_or(""),
                    e["feature"]
                )
            })
            .collect();
        return Err(ApiError::invalid(
            "features",
            "topology",
            format!(
                "the grid map fails {} topology check{}: {}; nothing was saved",
                errors.len(),
                if errors.len() == 1 { "" } else { "s" },
                kinds.join(", ")
            ),
        )
        .with("problems", Value::Array(errors))
        .with("warnings", Value::Array(warnings)));
    }
    if !dry_run {
        // The caller must be allowed grids over the whole community.
        let area = Some(&community.boundary);
        permit(
            caller,
            &s,
            Target::Boundary {
                kind: BoundaryKind::Grid,
                before: area,
                after: area,
            },
        )?;
    }
    let deleted_ids: Vec<i64> = stored
        .iter()
        .filter(|g| !map.iter().any(|m| m.id == g.id))
        .map(|g| g.id)
        .collect();
    let mut answer = json!({
        "community_id": id,
        "dry_run": dry_run,
        "rules": rules_json(&state.topology),
        "warnings": warnings,
        "deleted": deleted_ids,
    });
    if dry_run {
        answer["ok"] = json!(true);
        answer["grids"] = json!(
            map.iter()
                .map(|g| json!({"code": g.code, "name": g.name, "id": (g.id > 0).then_some(g.id)}))
                .collect::<Vec<_>>()
        );
        return Ok(Json(answer).into_response());
    }
    let before: Vec<Value> = stored
        .iter()
        .map(|g| {
            serde_json::to_value(crate::http::feature::grid(g, &s)).expect("features serialise")
        })
        .collect();
    let replaced: Vec<i64> = map.iter().filter(|g| g.id > 0).map(|g| g.id).collect();
    let w = write.as_mut().expect("a dry run answered above");
    let expected: Vec<(i64, i64)> = stored.iter().map(|g| (g.id, g.version)).collect();
    let committed = w
        .tx()
        .await?
        .replace_community_grids(id, &expected, &map, &caller.change())
        .await?;
    let created: Vec<i64> = committed
        .ids
        .iter()
        .copied()
        .filter(|i| !replaced.contains(i))
        .collect();
    for (g, new_id) in map.iter_mut().zip(&committed.ids) {
        if g.id <= 0 {
            g.id = *new_id;
            g.version = 1;
        }
    }
    let mut items: Vec<Grid> = s
        .grids
        .layer
        .items()
        .iter()
        .filter(|g| g.community_id != id)
        .cloned()
        .collect();
    items.extend(map.iter().cloned());
    let next = s.with_grids(items);
    let features: Vec<Value> = map
        .iter()
        .map(|g| {
            serde_json::to_value(crate::http::feature::grid(g, &next)).expect("features serialise")
        })
        .collect();
    w.next_snapshot(next);
    answer["type"] = json!("FeatureCollection");
    answer["features"] = Value::Array(features.clone());
    answer["created"] = json!(created);
    answer["replaced"] = json!(replaced);
    answer["changed_at"] = json!(history_time(committed.at));
    w.audit(audit_entry(
        caller,
        "replace_map",
        "communities",
        id,
        Some(json!({"grids": before})),
        Some(json!({"grids": features})),
    ));
    Ok((
        [(header::CONTENT_TYPE, "application/geo+json")],
        Json(answer),
    )
        .into_response())
}
