//! Service circle definitions (`GET/PUT /circles`, `/circles/{id}`) and
//! `GET /circles/covering` ("from here, whose ten-minute circles am I in?").

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;
use super::access::{audit_entry, permit, writer};
use super::error::{ApiError, ApiResult};
use super::extract::{Caller, check_if_match, content_etag};
use super::params::Params;
use super::response::with_etag;
use crate::app::{BoxFuture, Write};
use crate::model::{CircleDef, CircleDraft, minutes};
use crate::readmodel::{recompute_facility_circles, with_reach};

/// Routes of this group.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/circles", get(list))
        .route("/circles/covering", get(covering))
        .route("/circles/{id}", get(one).put(put))
}

fn def_json(c: &CircleDef) -> Value {
    json!({ "id": c.id, "name": c.name, "name_en": c.name_en, "kinds": c.kinds, "minutes": c.minutes,
            "speed_kmh": c.speed_kmh, "mode": c.mode, "metres": (c.metres() * 10.0).round() / 10.0 })
}

/// `GET /circles`
#[utoipa::path(get, path = "/circles", responses((status = 200, description = "The service circle definitions, with metres and minutes")))]
pub async fn list(State(state): State<AppState>) -> Json<Value> {
    Json(json!(
        state
            .snapshot
            .current()
            .circles
            .iter()
            .map(def_json)
            .collect::<Vec<_>>()
    ))
}

/// `GET /circles/{id}` (id or Chinese name).
#[utoipa::path(get, path = "/circles/{id}", params(("id" = String, Path)), responses((status = 200), (status = 404)))]
pub async fn one(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<Response> {
    let s = state.snapshot.current();
    s.circle(&id)
        .map(|c| with_etag(Json(def_json(c)).into_response(), &circle_etag(c)))
        .ok_or_else(|| ApiError::not_found(format!("no circle {id:?}")))
}

/// A circle definition's ETag: a hash of the definition as stored.
fn circle_etag(c: &CircleDef) -> String {
    content_etag('c', &def_json(c).to_string())
}

/// `PUT /circles/{id}` with `{name, name_en, kinds, minutes, speed_kmh, mode}`: creates or
/// replaces a definition, commits it, recomputes the facility circles it changes.
#[utoipa::path(put, path = "/circles/{id}", params(("id" = String, Path)), request_body(content = Object, content_type = "application/json"),
    responses((status = 200, description = "The stored definition"), (status = 400), (status = 422)))]
pub async fn put(
    State(state): State<AppState>,
    Path(id): Path<String>,
    caller: Caller,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Response> {
    writer(&caller)?;
    let body = body?;
    let mut value: Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "malformed_json",
            None,
            format!("the body is not valid JSON: {e}"),
        )
    })?;
    let Some(obj) = value.as_object_mut() else {
        return Err(ApiError::invalid(
            "body",
            "not_an_object",
            "the body is a JSON object",
        ));
    };
    match obj.get("id") {
        None => {
            obj.insert("id".into(), json!(id));
        }
        Some(v) if v == &json!(id) => {}
        Some(_) => {
            return Err(ApiError::invalid(
                "id",
                "id_mismatch",
                "the id in the body differs from the id in the path",
            ));
        }
    }
    let draft: CircleDraft = serde_json::from_value(value).map_err(|e| {
        let text = e.to_string();
        let field = ["name", "kinds", "minutes", "speed_kmh", "mode", "name_en"]
            .into_iter()
            .find(|f| text.contains(&format!("`{f}`")))
            .unwrap_or("body");
        ApiError::invalid(
            field,
            "invalid_circle",
            format!("invalid circle definition: {text}"),
        )
    })?;
    let writes = state.writes.clone();
    writes
        .run(move |w: &mut Write| -> BoxFuture<'_, ApiResult<Response>> {
            Box::pin(async move {
                let s = w.snapshot().clone();
                let def = draft.validate(&s.catalogue)?;
                permit(&caller, &s, crate::auth::Target::Circle)?;
                let old = s.circles.iter().find(|c| c.id == def.id);
                if let Some(old) = old {
                    check_if_match(&caller, &circle_etag(old), &format!("circle {}", old.id))?;
                }
                let before = old.map(def_json);
                w.tx().await?.put_circle(&def, old).await?;
                let mut circles: Vec<CircleDef> = s
                    .circles
                    .iter()
                    .filter(|c| c.id != def.id)
                    .cloned()
                    .collect();
                circles.push(def.clone());
                let next = s.with_circles(circles);
                // The definition's stored circles were dropped in this transaction: recompute.
                let kept: Vec<_> = next
                    .facility_circles
                    .items()
                    .iter()
                    .filter(|c| c.circle_id != def.id)
                    .cloned()
                    .collect();
                let refreshed =
                    recompute_facility_circles(next.with_facility_circles(kept.clone()), kept)
                        .await;
                if !refreshed.dirty_ids.is_empty() {
                    w.tx()
                        .await?
                        .replace_facility_circles(&refreshed.dirty_ids, &refreshed.rewritten)
                        .await?;
                }
                w.audit(audit_entry(
                    &caller,
                    if before.is_some() {
                        "replace"
                    } else {
                        "create"
                    },
                    "circles",
                    &def.id,
                    before,
                    Some(def_json(&def)),
                ));
                w.next_snapshot(refreshed.snapshot);
                Ok(with_etag(
                    Json(def_json(&def)).into_response(),
                    &circle_etag(&def),
                ))
            })
        })
        .await
}

/// `GET /circles/covering?lon=&lat=`
#[utoipa::path(get, path = "/circles/covering", params(("lon" = f64, Query), ("lat" = f64, Query)),
    responses((status = 200, description = "For each circle definition, the facilities whose stored circle contains the point, with walking metres and minutes from the point"), (status = 422)))]
pub async fn covering(State(state): State<AppState>, params: Params) -> ApiResult<Json<Value>> {
    params.only(&["lon", "lat"])?;
    let p = params.lon_lat()?;
    let s = state.snapshot.current();
    let hits = s.facility_circles.containing(p);
    let origin = s.walk.network.snap(p);
    let graph = s.walk.network.graph();
    let budget = hits
        .iter()
        .filter_map(|c| s.circle(&c.circle_id).map(|d| d.metres()))
        .fold(0.0, f64::max)
        * 2.0;
    let walked: Vec<Option<f64>> = match origin {
        None => vec![None; hits.len()],
        Some(origin) => with_reach(graph, |reach| {
            reach.run(graph, std::slice::from_ref(&origin), budget, false);
            hits.iter()
                .map(|c| {
                    let i = s.facilities.layer.index_of(c.facility_id)?;
                    let snap = s.facility_snaps[i].as_ref()?;
                    reach.distance_to_point(snap).map(|(d, _)| d)
                })
                .collect()
        }),
    };
    let circles: Vec<Value> = s
        .circles
        .iter()
        .map(|def| {
            let mut facilities: Vec<Value> = hits
                .iter()
                .zip(&walked)
                .filter(|(c, _)| c.circle_id == def.id)
                .filter_map(|(c, d)| {
                    let f = s.facilities.layer.get(c.facility_id)?;
                    Some(json!({ "facility_id": f.id, "kind": f.kind, "name": f.name,
                        "metres": d.map(|d| (d * 10.0).round() / 10.0), "minutes": d.map(|d| (minutes(d, def.speed_kmh) * 10.0).round() / 10.0) }))
                })
                .collect();
            facilities.sort_by(|a, b| a["metres"].as_f64().unwrap_or(f64::MAX).total_cmp(&b["metres"].as_f64().unwrap_or(f64::MAX)));
            json!({ "circle": def.id, "name": def.name, "minutes": def.minutes, "covered": !facilities.is_empty(), "facilities": facilities })
        })
        .collect();
    Ok(Json(
        json!({ "query": { "lon": p.lon(), "lat": p.lat() }, "reachable": origin.is_some(), "circles": circles }),
    ))
}
