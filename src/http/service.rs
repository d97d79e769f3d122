//! Service routes: `/health`.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::AppState;

/// Routes of this group.
pub fn router() -> Router<AppState> {
    Router::new().route("/health", get(health))
}

/// `GET /health`
#[utoipa::path(get, path = "/health", responses((status = 200, description = "Service status (`ok`, or `degraded` while writes fail), whether writes work (`writes.ok`, the latest failure), replication and snapshot counts")))]
pub async fn health(State(state): State<AppState>) -> Json<Value> {
    let s = state.snapshot.current();
    let replication = replication(&state).await;
    // Whether writes work: the latest write's outcome (a failed commit, e.g. a full disk,
    // marks writes failing until a write succeeds again). Reads keep working either way.
    let write_failure = state.writes.health().failure();
    Json(json!({
        "status": if write_failure.is_none() { "ok" } else { "degraded" },
        "writes": { "ok": write_failure.is_none(), "failure": write_failure },
        "replication": replication,
        "version": env!("CARGO_PKG_VERSION"),
        "snapshot": s.version,
        "timezone": s.timezone.name(),
        "counts": {
            "street_offices": s.street_offices.items().len(),
            "communities": s.communities.items().len(),
            "grids": s.grids.layer.items().len(),
            "buildings": s.buildings.layer.items().len(),
            "facilities": s.facilities.layer.items().len(),
            "roads": s.ways.items().len(),
        },
        "walk": {
            "graph": s.walk.network.graph().stats(),
            "config": s.walk.network.config(),
            // How the buildings joined the network: moved_off_fragment counts buildings whose
            // nearest street was a small fragment, so they were joined to the main network.
            "building_snaps": s.walk.building_snap_counts,
            "facilities_unreachable": s.facility_snaps.iter().filter(|x| x.is_none()).count(),
            "facility_circles": s.facility_circles.items().len(),
            "coverage_cache_entries": s.coverage_cache.len(),
        },
    }))
}

/// The `replication` member of `/health`: the applied sequence number, the latest in the
/// store, the lag in changes and in milliseconds (since the oldest change not yet applied
/// was heard of, approximated by the time since the last apply when behind; 0 when current).
async fn replication(state: &AppState) -> Value {
    let applied = state.snapshot.applied_seq();
    let latest = match state.store.latest_change().await {
        Ok(n) => n.max(state.snapshot.seen_seq()),
        Err(e) => {
            tracing::warn!(error = %e, "reading the change log for /health failed");
            state.snapshot.seen_seq()
        }
    };
    let lag = (latest - applied).max(0);
    let lag_ms = if lag == 0 {
        0
    } else {
        let since = state.snapshot.applied_at_ms();
        if since == 0 {
            -1
        } else {
            (chrono::Utc::now().timestamp_millis() - since).max(0)
        }
    };
    json!({
        "backend": state.store.backend(),
        "applied_seq": applied,
        "latest_seq": latest,
        "lag": lag,
        "lag_ms": lag_ms,
    })
}
