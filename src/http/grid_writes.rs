//! Writes to the grids collection (commands on the write path, dispatched from `collections`). Each write: parse → [`crate::grids::check_raw`] → under
//! the write path, [`crate::readmodel::Snapshot::check_grid`] against the current snapshot → refuse on
//! errors (422 listing every problem) → one store transaction (the grid, its history row and
//! the membership of the buildings it touches) → publish the next snapshot → answer with the
//! saved Feature and the warnings.

use axum::http::StatusCode;
use axum::response::Response;
use geo::BooleanOps;
use geojson::JsonValue;
use serde_json::json;

use crate::app::{BoxFuture, Write};
use crate::auth::{BoundaryKind, Target};
use crate::grids::{self, TopologyConfig, TopologyReport, measure::oriented};
use crate::http::AppState;
use crate::http::access::{audit_entry, permit, record, writer};
use crate::http::boundary_checks::{self as checks, Refusal, plain, problems_json, topology_error};
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::Caller;
use crate::http::feature::{self, Props, parse_feature};
use crate::http::params::Params;
use crate::http::response::written;
use crate::model::{AreaShape, Grid, GridCode, Person, parse_name};
use crate::readmodel::Snapshot;
use crate::store::{GridRemoval, MembersOnDelete};

fn person(value: &JsonValue, field: &str) -> ApiResult<Person> {
    let name = value.get("name").and_then(JsonValue::as_str).unwrap_or("");
    let phone = value.get("phone").and_then(JsonValue::as_str);
    Person::new(name, phone).map_err(|e| e.under(&format!("{field}.")).into())
}

/// A grid Feature body, parsed and validated on its own (before looking at the snapshot).
pub struct GridBody {
    /// None: generated (a new grid) or kept (a replacement).
    code: Option<GridCode>,
    /// None: generated from the sequence (第N网格) or kept.
    name: Option<String>,
    /// None: the replaced grid's, or the community of a whole-map write.
    pub community_id: Option<i64>,
    chief: Option<Person>,
    workers: Vec<Person>,
    /// False when the body names neither `chief_name` nor `workers`: a replacement keeps them.
    people_given: bool,
    boundary: AreaShape,
    demo: bool,
    /// `properties.id` or the Feature's `id`, if sent (validate: the grid being replaced).
    pub id: Option<i64>,
}

impl GridBody {
    /// Parses a Feature: properties first (so a typo is named), then the geometry.
    pub fn parse(body: &[u8]) -> ApiResult<GridBody> {
        Self::parse_with(body).map_err(|r| r.0)
    }

    /// [`GridBody::parse`], also giving the raw-geometry problem, if that was what failed.
    pub fn parse_with(body: &[u8]) -> Result<GridBody, Refusal> {
        let value: JsonValue = serde_json::from_slice(body).map_err(|e| {
            plain(ApiError::bad_request(
                "malformed_json",
                None,
                format!("the body is not valid JSON: {e}"),
            ))
        })?;
        let feature_id = value.get("id").and_then(JsonValue::as_i64);
        let (geometry, properties) = parse_feature(body).map_err(plain)?;
        let props = Props(&properties);
        props
            .only(
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
            )
            .map_err(plain)?;
        let code = match props.text("code").map_err(plain)? {
            None => None,
            Some(text) => Some(GridCode::parse(&text, "properties.code").map_err(plain)?),
        };
        let name = match props.text("name").map_err(plain)? {
            None => None,
            Some(text) => Some(parse_name(&text, "properties.name").map_err(plain)?),
        };
        let community_id = props.int("community_id").map_err(plain)?;
        let chief = match props.text("chief_name").map_err(plain)? {
            None => None,
            Some(n) => Some(
                Person::new(&n, props.text("chief_phone").map_err(plain)?.as_deref())
                    .map_err(|e| plain(e.under("properties.chief_")))?,
            ),
        };
        let workers = match properties.get("workers") {
            None | Some(JsonValue::Null) => Vec::new(),
            Some(JsonValue::Array(list)) => list
                .iter()
                .enumerate()
                .map(|(i, w)| person(w, &format!("properties.workers[{i}]")))
                .collect::<ApiResult<_>>()
                .map_err(plain)?,
            Some(_) => {
                return Err(plain(ApiError::invalid(
                    "properties.workers",
                    "wrong_type",
                    "workers is a list of {name, phone}",
                )));
            }
        };
        let people_given =
            properties.contains_key("chief_name") || properties.contains_key("workers");
        let demo = props.flag("demo").map_err(plain)?;
        let id = props.int("id").map_err(plain)?.or(feature_id);
        let boundary = checks::raw_area(geometry)?;
        Ok(GridBody {
            code,
            name,
            community_id,
            chief,
            workers,
            people_given,
            boundary,
            demo,
            id,
        })
    }

    /// True when the body gives a code.
    pub fn has_code(&self) -> bool {
        self.code.is_some()
    }

    /// True when the body gives a name.
    pub fn has_name(&self) -> bool {
        self.name.is_some()
    }

    /// The body, in community `id` when it names none.
    pub fn with_community(mut self, id: i64) -> Self {
        self.community_id.get_or_insert(id);
        self
    }

    /// The grid, checked against the snapshot: the community exists, the code starts with its
    /// code, and the boundary lies in the service area. `id` and `version` are the caller's.
    ///
    /// What the body leaves out comes from `replacing` (the grid being replaced) when there is
    /// one; for a new grid the code is the community's lowest free sequence number and the name
    /// 第N网格 after it (`POST /communities/{id}/grids/renumber` then puts the codes in W→E,
    /// N→S order, if wanted).
    pub fn resolve(
        self,
        snapshot: &Snapshot,
        margin_m: f64,
        replacing: Option<&Grid>,
    ) -> ApiResult<Grid> {
        let community_id = self
            .community_id
            .or(replacing.map(|g| g.community_id))
            .ok_or_else(|| {
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
        let code = match (self.code, replacing) {
            (Some(code), _) => code,
            (None, Some(old)) => old.code.clone(),
            (None, None) => {
                let taken: Vec<&GridCode> = snapshot
                    .grids
                    .layer
                    .items()
                    .iter()
                    .filter(|g| g.community_id == community_id)
                    .map(|g| &g.code)
                    .collect();
                free_codes(&community.code, &taken, 1)?.remove(0)
            }
        };
        let (chief, workers) = match replacing {
            Some(old) if !self.people_given => (old.chief.clone(), old.workers.clone()),
            _ => (self.chief, self.workers),
        };
        let name = match (self.name, replacing) {
            (Some(name), _) => name,
            (None, Some(old)) => old.name.clone(),
            (None, None) => default_name(&code),
        };
        if code.community() != community.code {
            return Err(ApiError::invalid(
                "properties.code",
                "code_outside_community",
                format!(
                    "grid code {} must start with its community's code {}",
                    code, community.code
                ),
            ));
        }
        checks::in_service_area(snapshot, &self.boundary, margin_m)?;
        Ok(Grid {
            id: 0,
            code,
            name,
            community_id,
            chief,
            workers,
            boundary: self.boundary,
            demo: self.demo,
            version: 1,
        })
    }
}

/// The `n` lowest sequence numbers of `community` not in `taken`, as codes. Fails when fewer
/// than `n` are left (a sequence has three digits).
pub fn free_codes(
    community: &crate::model::CommunityCode,
    taken: &[&GridCode],
    n: usize,
) -> ApiResult<Vec<GridCode>> {
    let used: std::collections::HashSet<u16> = taken.iter().map(|c| c.sequence()).collect();
    let free: Vec<GridCode> = (1..=999u16)
        .filter(|seq| !used.contains(seq))
        .take(n)
        .map(|seq| GridCode::in_community(community, seq))
        .collect::<Result<_, _>>()?;
    if free.len() < n {
        return Err(ApiError::invalid(
            "properties.code",
            "no_free_code",
            format!("community {community} has no free grid sequence number left (at most 999)"),
        ));
    }
    Ok(free)
}

/// The name a grid gets when none is given: 第N网格 after its sequence number.
pub fn default_name(code: &GridCode) -> String {
    format!("第{}网格", code.sequence())
}

/// The topology report of `grid` (a replacement of grid `id`, or new) against the snapshot.
pub fn check(
    snapshot: &Snapshot,
    grid: &Grid,
    id: Option<i64>,
    config: &TopologyConfig,
) -> TopologyReport {
    snapshot
        .check_grid(&grid.boundary, &grid.code, id, grid.community_id, config)
        .expect("the community was resolved in this snapshot")
}

/// The saved grid as a Feature with the check's warnings as a foreign member.
fn saved(
    grid: &Grid,
    snapshot: &Snapshot,
    report: &TopologyReport,
    at: chrono::DateTime<chrono::Utc>,
) -> geojson::Feature {
    let mut f = feature::grid(grid, snapshot);
    let members = json!({
        "warnings": problems_json(&report.warnings),
        "changed_at": crate::store::history_time(at),
    });
    f.foreign_members = members.as_object().cloned();
    f
}

/// Creates a grid.
pub async fn create(state: &AppState, body: &[u8], caller: &Caller) -> ApiResult<Response> {
    writer(caller)?;
    let parsed = GridBody::parse(body)?;
    let (state, caller) = (state.clone(), caller.clone());
    let writes = state.writes.clone();
    writes
        .run(move |w: &mut Write| -> BoxFuture<'_, ApiResult<Response>> {
            Box::pin(async move {
                let snapshot = w.snapshot().clone();
                let mut grid = parsed.resolve(&snapshot, state.limits.service_margin_m, None)?;
                permit(
                    &caller,
                    &snapshot,
                    Target::Boundary {
                        kind: BoundaryKind::Grid,
                        before: None,
                        after: Some(&grid.boundary),
                    },
                )?;
                let report = check(&snapshot, &grid, None, &state.topology);
                if !report.is_ok() {
                    return Err(topology_error("grid", &report));
                }
                let committed = w.tx().await?.create_grid(&grid, &caller.change()).await?;
                grid.id = committed.id;
                let mut items = snapshot.grids.layer.items().to_vec();
                items.push(grid.clone());
                let next = snapshot.with_grids(items);
                let body = saved(&grid, &next, &report, committed.at);
                w.next_snapshot(next);
                w.audit(audit_entry(
                    &caller,
                    "create",
                    "grids",
                    grid.id,
                    None,
                    record(&feature::grid(&grid, w.latest())),
                ));
                Ok(written(StatusCode::CREATED, "grids", grid.id, body))
            })
        })
        .await
}

/// Replaces grid `id` (its version goes up by one).
pub async fn replace(
    state: &AppState,
    id: i64,
    body: &[u8],
    caller: &Caller,
) -> ApiResult<Response> {
    writer(caller)?;
    let parsed = GridBody::parse(body)?;
    let (state, caller) = (state.clone(), caller.clone());
    let writes = state.writes.clone();
    writes
        .run(move |w: &mut Write| -> BoxFuture<'_, ApiResult<Response>> {
            Box::pin(async move {
                let snapshot = w.snapshot().clone();
                let index =
                    snapshot.grids.layer.index_of(id).ok_or_else(|| {
                        ApiError::not_found(format!("no grids feature with id {id}"))
                    })?;
                let old = &snapshot.grids.layer.items()[index];
                check_if_match(&caller, old)?;
                let mut grid =
                    parsed.resolve(&snapshot, state.limits.service_margin_m, Some(old))?;
                grid.id = id;
                grid.version = old.version + 1;
                permit(
                    &caller,
                    &snapshot,
                    Target::Boundary {
                        kind: BoundaryKind::Grid,
                        before: Some(&old.boundary),
                        after: Some(&grid.boundary),
                    },
                )?;
                let before = record(&feature::grid(old, &snapshot));
                let report = check(&snapshot, &grid, Some(id), &state.topology);
                if !report.is_ok() {
                    return Err(topology_error("grid", &report));
                }
                let Some(committed) = w.tx().await?.update_grid(&grid, &caller.change()).await?
                else {
                    return Err(ApiError::not_found(format!(
                        "no grids feature with id {id}"
                    )));
                };
                let mut items = snapshot.grids.layer.items().to_vec();
                items[index] = grid.clone();
                let next = snapshot.with_grids(items);
                let body = saved(&grid, &next, &report, committed.at);
                w.next_snapshot(next);
                w.audit(audit_entry(
                    &caller,
                    "replace",
                    "grids",
                    id,
                    before,
                    record(&feature::grid(&grid, w.latest())),
                ));
                Ok(written(StatusCode::OK, "grids", id, body))
            })
        })
        .await
}

/// 412 unless the caller's If-Match (if any) names `grid`'s version (or `*`). Without
/// If-Match a write is still conditional: on the version in the snapshot it read.
pub fn check_if_match(caller: &Caller, grid: &Grid) -> ApiResult<()> {
    match &caller.if_match {
        Some(tag) if !crate::http::extract::etag_matches(tag, grid.version) => Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "version_mismatch",
            format!(
                "grid {} is at version {} (ETag {}), not If-Match {tag}: read it again",
                grid.id,
                grid.version,
                crate::http::extract::etag(grid.version)
            ),
        )),
        _ => Ok(()),
    }
}

/// The boundary of `target` grown over `gone`'s: their union.
fn absorbed(target: &Grid, gone: &Grid) -> ApiResult<AreaShape> {
    let union =
        oriented(target.boundary.shape().clone()).union(&oriented(gone.boundary.shape().clone()));
    AreaShape::from_multi_polygon(union, "geometry").map_err(|e| {
        ApiError::invalid(
            "reassign_to",
            "invalid_union",
            format!(
                "grid {}'s boundary grown over grid {}'s is not a valid polygon: {}",
                target.id, gone.id, e.message
            ),
        )
    })
}

/// Deletes grid `id`. A grid that still has buildings needs `?reassign_to=ID`: a grid of the
/// same community whose boundary grows by the deleted one's (so the buildings become its
/// members), checked like any replace; otherwise 409.
pub async fn delete(
    state: &AppState,
    id: i64,
    params: &Params,
    caller: &Caller,
) -> ApiResult<StatusCode> {
    writer(caller)?;
    params.only(&["reassign_to"])?;
    let reassign_to = match params.text("reassign_to") {
        None => None,
        Some(v) => Some(v.parse::<i64>().map_err(|_| {
            ApiError::bad_request(
                "not_a_number",
                Some("reassign_to"),
                format!("reassign_to is a grid id, got {v:?}"),
            )
        })?),
    };
    let (state, caller) = (state.clone(), caller.clone());
    let writes = state.writes.clone();
    writes
        .run(move |w: &mut Write| -> BoxFuture<'_, ApiResult<StatusCode>> {
            Box::pin(async move {
    let snapshot = w.snapshot().clone();
    let index = snapshot
        .grids
        .layer
        .index_of(id)
        .ok_or_else(|| ApiError::not_found(format!("no grids feature with id {id}")))?;
    let gone = &snapshot.grids.layer.items()[index];
    check_if_match(&caller, gone)?;
    permit(
        &caller,
        &snapshot,
        Target::Boundary {
            kind: BoundaryKind::Grid,
            before: Some(&gone.boundary),
            after: None,
        },
    )?;
    let before = record(&feature::grid(gone, &snapshot));
    let mut items = snapshot.grids.layer.items().to_vec();
    let members = match reassign_to {
        None => MembersOnDelete::Refuse,
        Some(t) => {
            let invalid = |code, message: String| ApiError::invalid("reassign_to", code, message);
            if t == id {
                return Err(invalid(
                    "reassign_to_self",
                    format!("grid {id} cannot take over itself"),
                ));
            }
            let ti = snapshot
                .grids
                .layer
                .index_of(t)
                .ok_or_else(|| invalid("unknown_grid", format!("no grid with id {t}")))?;
            let mut target = snapshot.grids.layer.items()[ti].clone();
            if target.community_id != gone.community_id {
                return Err(invalid(
                    "other_community",
                    format!(
                        "grid {t} is in community {}, grid {id} in community {}: buildings move only inside a community",
                        target.community_id, gone.community_id
                    ),
                ));
            }
            let target_before = target.boundary.clone();
            target.boundary = absorbed(&target, gone)?;
            target.version += 1;
            permit(
                &caller,
                &snapshot,
                Target::Boundary {
                    kind: BoundaryKind::Grid,
                    before: Some(&target_before),
                    after: Some(&target.boundary),
                },
            )?;
            let community = snapshot
                .communities
                .get(gone.community_id)
                .expect("a grid's community is in the snapshot");
            let siblings: Vec<Grid> = items
                .iter()
                .filter(|g| g.community_id == gone.community_id && g.id != id)
                .cloned()
                .collect();
            let report = grids::check_grid(
                &target.boundary,
                &target.code,
                Some(t),
                community,
                &siblings,
                snapshot.buildings.layer.items(),
                &state.topology,
            );
            if !report.is_ok() {
                return Err(topology_error("grown grid", &report));
            }
            items[ti] = target.clone();
            MembersOnDelete::Reassign(Box::new(target))
        }
    };
    match w.tx().await?.remove_grid(id, gone.version, &members, &caller.change())
        .await?
    {
        GridRemoval::Deleted(_) => {}
        GridRemoval::NotFound => {
            return Err(ApiError::not_found(format!(
                "no grids feature with id {id}"
            )));
        }
        GridRemoval::HasMembers(n) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "grid_has_buildings",
                format!(
                    "grid {id} still has {n} building{}: delete it with ?reassign_to=ID, a grid of the same community that takes over its area and buildings",
                    if n == 1 { "" } else { "s" }
                ),
            )
            .with("buildings", n.into()));
        }
    }
    items.remove(index);
    let next = snapshot.with_grids(items);
    if let MembersOnDelete::Reassign(target) = &members {
        let target_before = snapshot
            .grids
            .layer
            .get(target.id)
            .map(|g| feature::grid(g, &snapshot));
        w.audit(audit_entry(&caller,
            "reassign",
            "grids",
            target.id,
            target_before.as_ref().and_then(record),
            record(&feature::grid(target, &next)),
        ));
    }
    w.next_snapshot(next);
    w.audit(audit_entry(&caller, "delete", "grids", id, before, None));
    Ok(StatusCode::NO_CONTENT)
            })
        })
        .await
}
