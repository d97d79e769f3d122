//! Grids as governance objects over HTTP (issue #4), on the [`crate::grids`] library.
//!
//! | file | routes |
//! |---|---|
//! | `read` | `GET /grids/{id}` (buildings, households, residents, facilities), `GET /grids?as_of=`, `GET /grids/{id}/history` (and of communities and street offices), `GET /communities/{id}/coverage-of-grids` |
//! | `manage` | `POST /grids/validate`, `POST /communities/{id}/grids/renumber?dry_run=`, `POST /communities/{id}/grids/draft?target_households=`, `PUT/GET/DELETE /buildings/{id}/chief` |
//!
//! Grid writes of `/collections/grids/items` are commands in `http::grid_writes` (dispatched
//! from `collections`). Shared with the other route groups: the caller and personal data in `http::extract`, the
//! boundary checks' bodies in `http::boundary_checks`.

mod manage;
mod read;

use axum::Router;
use axum::routing::{get, post, put};
use utoipa::OpenApi;

use super::AppState;

/// Routes of this group.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/grids", get(read::grids))
        .route("/grids/validate", post(manage::validate))
        .route("/grids/{id}", get(read::grid))
        .route("/grids/{id}/history", get(read::history))
        .route("/communities/{id}/history", get(read::community_history))
        .route(
            "/street_offices/{id}/history",
            get(read::street_office_history),
        )
        .route("/communities/{id}/coverage-of-grids", get(read::coverage))
        .route("/communities/{id}/grids/renumber", post(manage::renumber))
        .route("/communities/{id}/grids/draft", post(manage::draft))
        .route("/communities/{id}/grids", put(manage::replace_all))
        .route(
            "/buildings/{id}/chief",
            put(manage::put_chief)
                .get(manage::get_chief)
                .delete(manage::delete_chief),
        )
}

/// The OpenAPI description of these routes (merged into `/api`).
#[derive(OpenApi)]
#[openapi(paths(
    read::grids,
    read::grid,
    read::history,
    read::community_history,
    read::street_office_history,
    read::coverage,
    manage::validate,
    manage::renumber,
    manage::draft,
    manage::replace_all,
    manage::put_chief,
    manage::get_chief,
    manage::delete_chief,
))]
pub struct GridsApi;
