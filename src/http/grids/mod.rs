//! Grids as governance objects over HTTP (issue #4), on the [`crate::grids`] library.
//!
//! | file | routes |
//! |---|---|
//! | `write` | create / replace / delete of `/collections/grids/items` (dispatched from `collections`): topology-checked, history and membership in the same store transaction; delete needs `?reassign_to=` when buildings belong to the grid |
//! | `read` | `GET /grids/{id}` (buildings, households, residents, facilities), `GET /grids?as_of=`, `GET /grids/{id}/history` (and of communities and street offices), `GET /communities/{id}/coverage-of-grids` |
//! | `manage` | `POST /grids/validate`, `POST /communities/{id}/grids/renumber?dry_run=`, `POST /communities/{id}/grids/draft?target_households=`, `PUT/GET/DELETE /buildings/{id}/chief` |
//! | `checks` | raw geometry → area or a drawable problem; topology reports → 422 bodies |
//! | `people` | [`Caller`] (`X-Actor`, recorded in the history) and the one decision on personal data |

mod checks;
mod manage;
mod people;
mod read;
mod write;

use axum::Router;
use axum::routing::{get, post, put};
use utoipa::OpenApi;

pub use checks::{area_from_geometry, in_service_area, topology_error};
pub use people::{Caller, etag};
pub use write::{GridBody, create, delete, replace};

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
