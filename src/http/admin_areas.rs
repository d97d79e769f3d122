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
use crate::store::{ChangeBy, Committed, history_time};

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

// ---------------------------------------------------------------- the writes, once for both

/// What the two writable administrative layers differ in, so that create and replace are
/// written once.
trait AdminArea: Clone + Send + Sync + 'static {
    /// The collection's name.
    const COLLECTION: &'static str;
    /// The layer as a person says it, for messages.
    const NOUN: &'static str;
    /// What [`permit`] checks against the caller's scope.
    const KIND: BoundaryKind;
    fn from_body(snapshot: &Snapshot, body: &[u8], margin_m: f64) -> ApiResult<Self>;
    fn id(&self) -> i64;
    fn set_id(&mut self, id: i64);
    fn boundary(&self) -> &crate::model::AreaShape;
    fn items(snapshot: &Snapshot) -> &[Self];
    fn index_of(snapshot: &Snapshot, id: i64) -> Option<usize>;
    fn check(
        &self,
        snapshot: &Snapshot,
        id: Option<i64>,
        config: &TopologyConfig,
    ) -> TopologyReport;
    fn with(snapshot: &Snapshot, items: Vec<Self>) -> Snapshot;
    fn feature(&self) -> geojson::Feature;
    fn etag(&self) -> String;
    fn create<'a>(&'a self, w: &'a mut Write, by: ChangeBy) -> BoxFuture<'a, ApiResult<Committed>>;
    fn update<'a>(
        &'a self,
        w: &'a mut Write,
        old: &'a Self,
        by: ChangeBy,
    ) -> BoxFuture<'a, ApiResult<Option<Committed>>>;
}

impl AdminArea for Community {
    const COLLECTION: &'static str = "communities";
    const NOUN: &'static str = "community";
    const KIND: BoundaryKind = BoundaryKind::Community;
    fn from_body(snapshot: &Snapshot, body: &[u8], margin_m: f64) -> ApiResult<Self> {
        community_from_body(snapshot, body, margin_m)
    }
    fn id(&self) -> i64 {
        self.id
    }
    fn set_id(&mut self, id: i64) {
        self.id = id;
    }
    fn boundary(&self) -> &crate::model::AreaShape {
        &self.boundary
    }
    fn items(snapshot: &Snapshot) -> &[Self] {
        snapshot.communities.items()
    }
    fn index_of(snapshot: &Snapshot, id: i64) -> Option<usize> {
        snapshot.communities.index_of(id)
    }
    fn check(
        &self,
        snapshot: &Snapshot,
        id: Option<i64>,
        config: &TopologyConfig,
    ) -> TopologyReport {
        check_community(snapshot, self, id, config)
    }
    fn with(snapshot: &Snapshot, items: Vec<Self>) -> Snapshot {
        with_communities(snapshot, items)
    }
    fn feature(&self) -> geojson::Feature {
        feature::community(self)
    }
    fn etag(&self) -> String {
        community_etag(self)
    }
    fn create<'a>(&'a self, w: &'a mut Write, by: ChangeBy) -> BoxFuture<'a, ApiResult<Committed>> {
        Box::pin(async move { Ok(w.tx().await?.create_community(self, &by).await?) })
    }
    fn update<'a>(
        &'a self,
        w: &'a mut Write,
        old: &'a Self,
        by: ChangeBy,
    ) -> BoxFuture<'a, ApiResult<Option<Committed>>> {
        Box::pin(async move { Ok(w.tx().await?.update_community(self, old, &by).await?) })
    }
}

impl AdminArea for StreetOffice {
    const COLLECTION: &'static str = "street_offices";
    const NOUN: &'static str = "street office";
    const KIND: BoundaryKind = BoundaryKind::StreetOffice;
    fn from_body(snapshot: &Snapshot, body: &[u8], margin_m: f64) -> ApiResult<Self> {
        office_from_body(snapshot, body, margin_m)
    }
    fn id(&self) -> i64 {
        self.id
    }
    fn set_id(&mut self, id: i64) {
        self.id = id;
    }
    fn boundary(&self) -> &crate::model::AreaShape {
        &self.boundary
    }
    fn items(snapshot: &Snapshot) -> &[Self] {
        snapshot.street_offices.items()
    }
    fn index_of(snapshot: &Snapshot, id: i64) -> Option<usize> {
        snapshot.street_offices.index_of(id)
    }
    fn check(
        &self,
        snapshot: &Snapshot,
        id: Option<i64>,
        config: &TopologyConfig,
    ) -> TopologyReport {
        check_office(snapshot, self, id, config)
    }
    fn with(snapshot: &Snapshot, items: Vec<Self>) -> Snapshot {
        with_offices(snapshot, items)
    }
    fn feature(&self) -> geojson::Feature {
        feature::street_office(self)
    }
    fn etag(&self) -> String {
        office_etag(self)
    }
    fn create<'a>(&'a self, w: &'a mut Write, by: ChangeBy) -> BoxFuture<'a, ApiResult<Committed>> {
        Box::pin(async move { Ok(w.tx().await?.create_street_office(self, &by).await?) })
    }
    fn update<'a>(
        &'a self,
        w: &'a mut Write,
        old: &'a Self,
        by: ChangeBy,
    ) -> BoxFuture<'a, ApiResult<Option<Committed>>> {
        Box::pin(async move { Ok(w.tx().await?.update_street_office(self, old, &by).await?) })
    }
}

/// Creates a community.
pub async fn create_community(
    state: &AppState,
    body: &[u8],
    caller: &Caller,
) -> ApiResult<Response> {
    create::<Community>(state, body, caller).await
}

/// Replaces community `id`.
pub async fn replace_community(
    state: &AppState,
    id: i64,
    body: &[u8],
    caller: &Caller,
) -> ApiResult<Response> {
    replace::<Community>(state, id, body, caller).await
}

/// Creates a street office.
pub async fn create_street_office(
    state: &AppState,
    body: &[u8],
    caller: &Caller,
) -> ApiResult<Response> {
    create::<StreetOffice>(state, body, caller).await
}

/// Replaces street office `id`.
pub async fn replace_street_office(
    state: &AppState,
    id: i64,
    body: &[u8],
    caller: &Caller,
) -> ApiResult<Response> {
    replace::<StreetOffice>(state, id, body, caller).await
}

/// Creates an `A` from a Feature body, on the write path.
async fn create<A: AdminArea>(
    state: &AppState,
    body: &[u8],
    caller: &Caller,
) -> ApiResult<Response> {
    writer(caller)?;
    let (state, caller, body) = (state.clone(), caller.clone(), body.to_vec());
    let writes = state.writes.clone();
    writes
        .run(move |w: &mut Write| -> BoxFuture<'_, ApiResult<Response>> {
            Box::pin(async move {
                let snapshot = w.snapshot().clone();
                let mut area = A::from_body(&snapshot, &body, state.limits.service_margin_m)?;
                let target = Target::Boundary {
                    kind: A::KIND,
                    before: None,
                    after: Some(area.boundary()),
                };
                permit(&caller, &snapshot, target)?;
                let report = area.check(&snapshot, None, &state.topology);
                if !report.is_ok() {
                    return Err(topology_error(A::NOUN, &report));
                }
                let committed = area.create(w, caller.change()).await?;
                area.set_id(committed.id);
                let mut items = A::items(&snapshot).to_vec();
                items.push(area.clone());
                w.next_snapshot(A::with(&snapshot, items));
                let after = record(&area.feature());
                w.audit(audit_entry(
                    &caller,
                    "create",
                    A::COLLECTION,
                    area.id(),
                    None,
                    after,
                ));
                let body = with_warnings(area.feature(), &report, committed.at);
                let answer = written(StatusCode::CREATED, A::COLLECTION, area.id(), body);
                Ok(with_etag(answer, &area.etag()))
            })
        })
        .await
}

/// Replaces `A` `id` from a Feature body, on the write path: conditional on the record the
/// request read (If-Match where given), checked again in the store transaction.
async fn replace<A: AdminArea>(
    state: &AppState,
    id: i64,
    body: &[u8],
    caller: &Caller,
) -> ApiResult<Response> {
    writer(caller)?;
    let (state, caller, body) = (state.clone(), caller.clone(), body.to_vec());
    let writes = state.writes.clone();
    writes
        .run(move |w: &mut Write| -> BoxFuture<'_, ApiResult<Response>> {
            Box::pin(async move {
                let snapshot = w.snapshot().clone();
                let missing =
                    || ApiError::not_found(format!("no {} feature with id {id}", A::COLLECTION));
                let index = A::index_of(&snapshot, id).ok_or_else(missing)?;
                let mut area = A::from_body(&snapshot, &body, state.limits.service_margin_m)?;
                area.set_id(id);
                let old = &A::items(&snapshot)[index];
                check_if_match(&caller, &old.etag(), &format!("{} {id}", A::NOUN))?;
                let target = Target::Boundary {
                    kind: A::KIND,
                    before: Some(old.boundary()),
                    after: Some(area.boundary()),
                };
                permit(&caller, &snapshot, target)?;
                let before = record(&old.feature());
                let report = area.check(&snapshot, Some(id), &state.topology);
                if !report.is_ok() {
                    return Err(topology_error(A::NOUN, &report));
                }
                let committed = area
                    .update(w, old, caller.change())
                    .await?
                    .ok_or_else(missing)?;
                let mut items = A::items(&snapshot).to_vec();
                items[index] = area.clone();
                w.next_snapshot(A::with(&snapshot, items));
                let after = record(&area.feature());
                w.audit(audit_entry(
                    &caller,
                    "replace",
                    A::COLLECTION,
                    id,
                    before,
                    after,
                ));
                let body = with_warnings(area.feature(), &report, committed.at);
                Ok(with_etag(
                    written(StatusCode::OK, A::COLLECTION, id, body),
                    &area.etag(),
                ))
            })
        })
        .await
}
