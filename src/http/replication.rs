//! Replicas (issue 6): `GET /admin/snapshot`, the content hash of this replica's snapshot, so
//! that an operator (or a test) can check that replicas agree. `/health` carries the applied
//! change-log sequence number and the lag.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;
use super::access::writer;
use super::cpu::run_blocking;
use super::error::{ApiError, ApiResult};
use super::extract::Caller;
use crate::auth::Role;
use crate::readmodel::content_hash;

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/admin/snapshot", get(snapshot))
}

/// `GET /admin/snapshot` (admin): the content hash of the published snapshot.
#[utoipa::path(get, path = "/admin/snapshot",
    responses((status = 200, description = "{hash, snapshot, applied_seq, backend}: replicas with equal hashes serve the same content"), (status = 401), (status = 403)))]
pub async fn snapshot(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Value>> {
    let principal = writer(&caller)?;
    if principal.role != Role::Admin {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden_role",
            "the snapshot hash is for admin tokens",
        ));
    }
    let s = state.snapshot.current();
    let applied = state.snapshot.applied_seq();
    let hash = run_blocking(&state, move || content_hash(&s)).await?;
    Ok(Json(json!({
        "hash": hash,
        "snapshot": state.snapshot.current().version,
        "applied_seq": applied,
        "backend": state.store.backend(),
    })))
}
