//! Service routes: `/health` and `/api` (the OpenAPI document).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use utoipa::OpenApi;

use super::AppState;

/// Routes of this group.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health))
        .route("/api", get(api))
}

/// `GET /health`
#[utoipa::path(get, path = "/health", responses((status = 200, description = "Service status (`ok`, or `degraded` while writes fail), whether writes work (`writes.ok`, the latest failure), replication and snapshot counts")))]
pub async fn health(State(state): State<AppState>) -> Json<Value> {
    let s = state.snapshot.current();
    let replication = super::replication::health_member(&state).await;
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

/// The OpenAPI document of every route.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "gridcircle",
        description = "Neighbourhood governance maps: grids, shared facilities and ten-minute service circles. Data © OpenStreetMap contributors (ODbL)."
    ),
    paths(
        health,
        api,
        super::replication::snapshot,
        super::collections::list,
        super::collections::describe,
        super::collections::items,
        super::collections::item,
        super::collections::create,
        super::collections::replace,
        super::collections::remove,
        super::queries::locate,
        super::queries::nearest,
        super::queries::kinds,
        super::coverage::coverage,
        super::tiles::index,
        super::tiles::tile,
    )
)]
pub struct ApiDoc;

/// `GET /api`
#[utoipa::path(get, path = "/api", responses((status = 200, description = "This OpenAPI document")))]
pub async fn api() -> Json<utoipa::openapi::OpenApi> {
    Json(
        ApiDoc::openapi()
            .merge_from(super::grids::GridsApi::openapi())
            .merge_from(super::auth::AuthApi::openapi()),
    )
}
