//! Writes to the facilities collection, each one command on the write path
//! ([`crate::app::WritePath`]): validate and permit against the current snapshot → store the
//! facility, its circles and its audit record in one transaction → publish → answer.

use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;

use super::access::{audit_entry, permit, record, writer};
use super::error::{ApiError, ApiResult};
use super::extract::{self, Caller, content_etag};
use super::response::{with_etag, written};
use super::{AppState, feature};
use crate::app::{BoxFuture, Write};
use crate::auth::Target;
use crate::model::Facility;
use crate::readmodel::{Snapshot, recompute_facility_circles};

/// A facility's ETag: a hash of every stored attribute and its position (facilities have no
/// version column; the store's compare-and-swap checks the same attributes).
pub fn facility_etag(f: &Facility) -> String {
    let text = format!(
        "{} {:?} {} {:?} {:?} {} {:?} {:?} {:?} {} {} {:x} {:x}",
        f.id,
        f.osm.map(|o| o.to_string()),
        f.kind.as_str(),
        f.name,
        f.owner,
        f.audience.as_str(),
        f.hours.as_ref().map(|h| h.raw()),
        f.capacity,
        f.free,
        f.shared,
        f.demo,
        f.point.lon().to_bits(),
        f.point.lat().to_bits()
    );
    content_etag('f', &text)
}

/// 412 unless the caller's If-Match (if any) names `old`'s ETag (or `*`).
fn check_if_match(caller: &Caller, old: &Facility) -> ApiResult<()> {
    extract::check_if_match(caller, &facility_etag(old), &format!("facility {}", old.id))
}

fn in_service_area(state: &AppState, f: &Facility) -> ApiResult<()> {
    if state
        .snapshot
        .current()
        .serves(f.point, state.limits.service_margin_m)
    {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "geometry",
            "outside_service_area",
            format!(
                "point ({}, {}) is more than {} m outside the area this service covers; GeoJSON positions are [lon, lat] — were they given as [lat, lon]?",
                f.point.lon(),
                f.point.lat(),
                state.limits.service_margin_m
            ),
        ))
    }
}

/// `next` with its facilities' service circles brought up to date, the changed ones stored in
/// the write's transaction (circles are derived data, but they commit with the facility).
async fn with_circles(w: &mut Write, next: Snapshot) -> ApiResult<Snapshot> {
    let stored = next.facility_circles.items().to_vec();
    let refreshed = recompute_facility_circles(next, stored).await;
    if !refreshed.dirty_ids.is_empty() {
        w.tx()
            .await?
            .replace_facility_circles(&refreshed.dirty_ids, &refreshed.rewritten)
            .await?;
    }
    Ok(refreshed.snapshot)
}

/// Creates a facility from a Feature body.
pub async fn create(state: &AppState, body: &[u8], caller: &Caller) -> ApiResult<Response> {
    writer(caller)?;
    let draft = feature::facility_draft(body)?;
    let (state, caller) = (state.clone(), caller.clone());
    let writes = state.writes.clone();
    writes
        .run(move |w: &mut Write| -> BoxFuture<'_, ApiResult<Response>> {
            Box::pin(async move {
                let snapshot = w.snapshot().clone();
                let mut facility = draft.validate_write(0, &snapshot.catalogue)?;
                in_service_area(&state, &facility)?;
                permit(
                    &caller,
                    &snapshot,
                    Target::Facility {
                        before: None,
                        after: Some(facility.owner.as_deref()),
                    },
                )?;
                facility.id = w.tx().await?.insert_facility(&facility).await?;
                let mut items = snapshot.facilities.layer.items().to_vec();
                items.push(facility.clone());
                let next = with_circles(w, snapshot.with_facilities(items)).await?;
                let body = feature::facility(&facility, &next, Utc::now());
                w.audit(audit_entry(
                    &caller,
                    "create",
                    "facilities",
                    facility.id,
                    None,
                    record(&body),
                ));
                w.next_snapshot(next);
                Ok(with_etag(
                    written(StatusCode::CREATED, "facilities", facility.id, body),
                    &facility_etag(&facility),
                ))
            })
        })
        .await
}

/// Replaces facility `id`; its OSM reference, if any, is kept.
pub async fn replace(
    state: &AppState,
    id: i64,
    body: &[u8],
    caller: &Caller,
) -> ApiResult<Response> {
    writer(caller)?;
    let draft = feature::facility_draft(body)?;
    let (state, caller) = (state.clone(), caller.clone());
    let writes = state.writes.clone();
    writes
        .run(move |w: &mut Write| -> BoxFuture<'_, ApiResult<Response>> {
            Box::pin(async move {
                let snapshot = w.snapshot().clone();
                let index = snapshot.facilities.layer.index_of(id).ok_or_else(|| {
                    ApiError::not_found(format!("no facilities feature with id {id}"))
                })?;
                let mut facility = draft.validate_write(id, &snapshot.catalogue)?;
                let old = &snapshot.facilities.layer.items()[index];
                facility.osm = old.osm;
                in_service_area(&state, &facility)?;
                permit(
                    &caller,
                    &snapshot,
                    Target::Facility {
                        before: Some(old.owner.as_deref()),
                        after: Some(facility.owner.as_deref()),
                    },
                )?;
                check_if_match(&caller, old)?;
                let before = record(&feature::facility(old, &snapshot, Utc::now()));
                // Compare-and-swap: refused (412) if the stored row is no longer `old`.
                if !w.tx().await?.replace_facility_if(&facility, old).await? {
                    return Err(ApiError::not_found(format!(
                        "no facilities feature with id {id}"
                    )));
                }
                let mut items = snapshot.facilities.layer.items().to_vec();
                items[index] = facility.clone();
                let next = with_circles(w, snapshot.with_facilities(items)).await?;
                let body = feature::facility(&facility, &next, Utc::now());
                w.audit(audit_entry(
                    &caller,
                    "replace",
                    "facilities",
                    id,
                    before,
                    record(&body),
                ));
                w.next_snapshot(next);
                Ok(with_etag(
                    written(StatusCode::OK, "facilities", id, body),
                    &facility_etag(&facility),
                ))
            })
        })
        .await
}

/// Deletes facility `id`.
pub async fn delete(state: &AppState, id: i64, caller: &Caller) -> ApiResult<StatusCode> {
    writer(caller)?;
    let caller = caller.clone();
    state
        .writes
        .run(
            move |w: &mut Write| -> BoxFuture<'_, ApiResult<StatusCode>> {
                Box::pin(async move {
                    let snapshot = w.snapshot().clone();
                    let index = snapshot.facilities.layer.index_of(id).ok_or_else(|| {
                        ApiError::not_found(format!("no facilities feature with id {id}"))
                    })?;
                    let old = &snapshot.facilities.layer.items()[index];
                    permit(
                        &caller,
                        &snapshot,
                        Target::Facility {
                            before: Some(old.owner.as_deref()),
                            after: None,
                        },
                    )?;
                    check_if_match(&caller, old)?;
                    let before = record(&feature::facility(old, &snapshot, Utc::now()));
                    if !w.tx().await?.delete_facility_if(old).await? {
                        return Err(ApiError::not_found(format!(
                            "no facilities feature with id {id}"
                        )));
                    }
                    let mut items = snapshot.facilities.layer.items().to_vec();
                    items.remove(index);
                    let next = with_circles(w, snapshot.with_facilities(items)).await?;
                    w.audit(audit_entry(
                        &caller,
                        "delete",
                        "facilities",
                        id,
                        before,
                        None,
                    ));
                    w.next_snapshot(next);
                    Ok(StatusCode::NO_CONTENT)
                })
            },
        )
        .await
}
