//! Writes to the communities and street offices collections, topology-checked like grids: a
//! community against its street office and the office's other communities
//! ([`grids::check_community`]), a street office against the other street offices
//! ([`grids::check_street_office`]). Errors are a 422 listing every problem; warnings come back
//! with the saved Feature. Each write and its history row are one store transaction.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::AppState;
use super::access::{audit_entry, permit, record, writer};
use super::boundary_checks::{area_from_geometry, in_service_area, topology_error};
use super::error::{ApiError, ApiResult};
use super::extract::{Caller, area_etag, check_if_match};
use super::feature::{self, Props, parse_feature};
use super::response::{with_etag, written};
use crate::app::{BoxFuture, Write};
use crate::auth::{BoundaryKind, Target};
use crate::grids::{self, TopologyConfig, TopologyReport};
use crate::model::{Community, CommunityCode, StreetOffice, StreetOfficeCode, parse_name};
use crate::readmodel::{AdminLayer, Snapshot};
use crate::store::history_time;

fn with_warnings(
    mut f: geojson::Feature,
    report: &TopologyReport,
    at: chrono::DateTime<chrono::Utc>,
) -> geojson::Feature {
    f.foreign_members = json!({
        "warnings": serde_json::to_value(&report.warnings).expect("problems serialise"),
        "changed_at": history_time(at),
    })
    .as_object()
    .cloned();
    f
}

// ---------------------------------------------------------------- communities

fn community_from_body(snapshot: &Snapshot, body: &[u8], margin_m: f64) -> ApiResult<Community> {
    let (geometry, properties) = parse_feature(body)?;
    let props = Props(&properties);
    props.only(
        &["code", "name", "street_office_id", "demo"],
        &["id", "area_m2"],
    )?;
    let code = CommunityCode::parse(&props.required_text("code")?, "properties.code")?;
    let name = parse_name(&props.required_text("name")?, "properties.name")?;
    let office_id = props.int("street_office_id")?.ok_or_else(|| {
        ApiError::invalid(
            "properties.street_office_id",
            "missing_property",
            "street_office_id is required",
        )
    })?;
    let boundary = area_from_geometry(geometry)?;
    let office = snapshot.street_offices.get(office_id).ok_or_else(|| {
        ApiError::invalid(
            "properties.street_office_id",
            "unknown_street_office",
            format!("no street office with id {office_id}"),
        )
    })?;
    if code.street_office() != office.code {
        return Err(ApiError::invalid(
            "properties.code",
            "code_outside_street_office",
            format!(
                "community code {code} must start with its street office's code {}",
                office.code
            ),
        ));
    }
    in_service_area(snapshot, &boundary, margin_m)?;
    Ok(Community {
        id: 0,
        code,
        name,
        street_office_id: office_id,
        boundary,
        demo: props.flag("demo")?,
    })
}

fn check_community(
    snapshot: &Snapshot,
    c: &Community,
    id: Option<i64>,
    config: &TopologyConfig,
) -> TopologyReport {
    let office = snapshot
        .street_offices
        .get(c.street_office_id)
        .expect("resolved in this snapshot");
    let siblings: Vec<Community> = snapshot
        .communities
        .items()
        .iter()
        .filter(|s| s.street_office_id == c.street_office_id)
        .cloned()
        .collect();
    grids::check_community(
        &c.boundary,
        &c.code,
        id,
        office,
        &siblings,
        snapshot.buildings.layer.items(),
        config,
    )
}

fn with_communities(snapshot: &Snapshot, items: Vec<Community>) -> Snapshot {
    Snapshot {
        communities: Arc::new(AdminLayer::new(items)),
        ..snapshot.clone()
    }
}

/// Creates a community.
pub async fn create_community(
    state: &AppState,
    body: &[u8],
    caller: &Caller,
) -> ApiResult<Response> {
    writer(caller)?;
    let (state, caller) = (state.clone(), caller.clone());
    let body = body.to_vec();
    let writes = state.writes.clone();
    writes
        .run(move |w: &mut Write| -> BoxFuture<'_, ApiResult<Response>> {
            Box::pin(async move {
                let snapshot = w.snapshot().clone();
                let mut c = community_from_body(&snapshot, &body, state.limits.service_margin_m)?;
                permit(
                    &caller,
                    &snapshot,
                    Target::Boundary {
                        kind: BoundaryKind::Community,
                        before: None,
                        after: Some(&c.boundary),
                    },
                )?;
                let report = check_community(&snapshot, &c, None, &state.topology);
                if !report.is_ok() {
                    return Err(topology_error("community", &report));
                }
                let committed = w.tx().await?.create_community(&c, &caller.change()).await?;
                c.id = committed.id;
                let mut items = snapshot.communities.items().to_vec();
                items.push(c.clone());
                w.next_snapshot(with_communities(&snapshot, items));
                w.audit(audit_entry(
                    &caller,
                    "create",
                    "communities",
                    c.id,
                    None,
                    record(&feature::community(&c)),
                ));
                let body = with_warnings(feature::community(&c), &report, committed.at);
                Ok(with_etag(
                    written(StatusCode::CREATED, "communities", c.id, body),
                    &community_etag(&c),
                ))
            })
        })
        .await
}

/// Replaces community `id`.
pub async fn replace_community(
    state: &AppState,
    id: i64,
    body: &[u8],
    caller: &Caller,
) -> ApiResult<Response> {
    writer(caller)?;
    let (state, caller) = (state.clone(), caller.clone());
    let body = body.to_vec();
    let writes = state.writes.clone();
    writes
        .run(move |w: &mut Write| -> BoxFuture<'_, ApiResult<Response>> {
            Box::pin(async move {
                let snapshot = w.snapshot().clone();
                let index = snapshot.communities.index_of(id).ok_or_else(|| {
                    ApiError::not_found(format!("no communities feature with id {id}"))
                })?;
                let mut c = community_from_body(&snapshot, &body, state.limits.service_margin_m)?;
                c.id = id;
                let old = &snapshot.communities.items()[index];
                check_if_match(&caller, &community_etag(old), &format!("community {id}"))?;
                permit(
                    &caller,
                    &snapshot,
                    Target::Boundary {
                        kind: BoundaryKind::Community,
                        before: Some(&old.boundary),
                        after: Some(&c.boundary),
                    },
                )?;
                let before = record(&feature::community(old));
                let report = check_community(&snapshot, &c, Some(id), &state.topology);
                if !report.is_ok() {
                    return Err(topology_error("community", &report));
                }
                let Some(committed) = w
                    .tx()
                    .await?
                    .update_community(&c, old, &caller.change())
                    .await?
                else {
                    return Err(ApiError::not_found(format!(
                        "no communities feature with id {id}"
                    )));
                };
                let mut items = snapshot.communities.items().to_vec();
                items[index] = c.clone();
                w.next_snapshot(with_communities(&snapshot, items));
                w.audit(audit_entry(
                    &caller,
                    "replace",
                    "communities",
                    id,
                    before,
                    record(&feature::community(&c)),
                ));
                let body = with_warnings(feature::community(&c), &report, committed.at);
                Ok(with_etag(
                    written(StatusCode::OK, "communities", id, body),
                    &community_etag(&c),
                ))
            })
        })
        .await
}

// ---------------------------------------------------------------- street offices

fn office_from_body(snapshot: &Snapshot, body: &[u8], margin_m: f64) -> ApiResult<StreetOffice> {
    let (geometry, properties) = parse_feature(body)?;
    let props = Props(&properties);
    props.only(&["code", "name", "demo"], &["id", "area_m2"])?;
    let code = StreetOfficeCode::parse(&props.required_text("code")?, "properties.code")?;
    let name = parse_name(&props.required_text("name")?, "properties.name")?;
    let boundary = area_from_geometry(geometry)?;
    in_service_area(snapshot, &boundary, margin_m)?;
    Ok(StreetOffice {
        id: 0,
        code,
        name,
        boundary,
        demo: props.flag("demo")?,
    })
}

fn check_office(
    snapshot: &Snapshot,
    o: &StreetOffice,
    id: Option<i64>,
    config: &TopologyConfig,
) -> TopologyReport {
    grids::check_street_office(
        &o.boundary,
        &o.code,
        id,
        snapshot.street_offices.items(),
        snapshot.buildings.layer.items(),
        config,
    )
}

fn with_offices(snapshot: &Snapshot, items: Vec<StreetOffice>) -> Snapshot {
    Snapshot {
        street_offices: Arc::new(AdminLayer::new(items)),
        ..snapshot.clone()
    }
}

/// Creates a street office.
pub async fn create_street_office(
    state: &AppState,
    body: &[u8],
    caller: &Caller,
) -> ApiResult<Response> {
    writer(caller)?;
    let (state, caller) = (state.clone(), caller.clone());
    let body = body.to_vec();
    let writes = state.writes.clone();
    writes
        .run(move |w: &mut Write| -> BoxFuture<'_, ApiResult<Response>> {
            Box::pin(async move {
                let snapshot = w.snapshot().clone();
                let mut o = office_from_body(&snapshot, &body, state.limits.service_margin_m)?;
                permit(
                    &caller,
                    &snapshot,
                    Target::Boundary {
                        kind: BoundaryKind::StreetOffice,
                        before: None,
                        after: Some(&o.boundary),
                    },
                )?;
                let report = check_office(&snapshot, &o, None, &state.topology);
                if !report.is_ok() {
                    return Err(topology_error("street office", &report));
                }
                let committed = w
                    .tx()
                    .await?
                    .create_street_office(&o, &caller.change())
                    .await?;
                o.id = committed.id;
                let mut items = snapshot.street_offices.items().to_vec();
                items.push(o.clone());
                w.next_snapshot(with_offices(&snapshot, items));
                w.audit(audit_entry(
                    &caller,
                    "create",
                    "street_offices",
                    o.id,
                    None,
                    record(&feature::street_office(&o)),
                ));
                let body = with_warnings(feature::street_office(&o), &report, committed.at);
                Ok(with_etag(
                    written(StatusCode::CREATED, "street_offices", o.id, body),
                    &office_etag(&o),
                ))
            })
        })
        .await
}

/// Replaces street office `id`.
pub async fn replace_street_office(
    state: &AppState,
    id: i64,
    body: &[u8],
    caller: &Caller,
) -> ApiResult<Response> {
    writer(caller)?;
    let (state, caller) = (state.clone(), caller.clone());
    let body = body.to_vec();
    let writes = state.writes.clone();
    writes
        .run(move |w: &mut Write| -> BoxFuture<'_, ApiResult<Response>> {
            Box::pin(async move {
                let snapshot = w.snapshot().clone();
                let index = snapshot.street_offices.index_of(id).ok_or_else(|| {
                    ApiError::not_found(format!("no street_offices feature with id {id}"))
                })?;
                let mut o = office_from_body(&snapshot, &body, state.limits.service_margin_m)?;
                o.id = id;
                let old = &snapshot.street_offices.items()[index];
                check_if_match(&caller, &office_etag(old), &format!("street office {id}"))?;
                permit(
                    &caller,
                    &snapshot,
                    Target::Boundary {
                        kind: BoundaryKind::StreetOffice,
                        before: Some(&old.boundary),
                        after: Some(&o.boundary),
                    },
                )?;
                let before = record(&feature::street_office(old));
                let report = check_office(&snapshot, &o, Some(id), &state.topology);
                if !report.is_ok() {
                    return Err(topology_error("street office", &report));
                }
                let Some(committed) = w
                    .tx()
                    .await?
                    .update_street_office(&o, old, &caller.change())
                    .await?
                else {
                    return Err(ApiError::not_found(format!(
                        "no street_offices feature with id {id}"
                    )));
                };
                let mut items = snapshot.street_offices.items().to_vec();
                items[index] = o.clone();
                w.next_snapshot(with_offices(&snapshot, items));
                w.audit(audit_entry(
                    &caller,
                    "replace",
                    "street_offices",
                    id,
                    before,
                    record(&feature::street_office(&o)),
                ));
                let body = with_warnings(feature::street_office(&o), &report, committed.at);
                Ok(with_etag(
                    written(StatusCode::OK, "street_offices", id, body),
                    &office_etag(&o),
                ))
            })
        })
        .await
}

/// A community's ETag (no version column: a hash of its stored attributes).
pub fn community_etag(c: &Community) -> String {
    area_etag(
        c.id,
        c.code.as_str(),
        &c.name,
        Some(c.street_office_id),
        c.demo,
        &c.boundary,
    )
}

/// A street office's ETag (no version column: a hash of its stored attributes).
pub fn office_etag(o: &StreetOffice) -> String {
    area_etag(o.id, o.code.as_str(), &o.name, None, o.demo, &o.boundary)
}
