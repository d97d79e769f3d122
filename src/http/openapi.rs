//! `GET /api`: the OpenAPI document, the catalogue of every route group's paths (like `app()`,
//! it names them all; the route groups never import each other).

use axum::routing::get;
use axum::{Json, Router};
use utoipa::OpenApi;

use super::AppState;

/// Routes of this group.
pub fn router() -> Router<AppState> {
    Router::new().route("/api", get(api))
}

/// The OpenAPI document of every route.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "gridcircle",
        description = "Neighbourhood governance maps: grids, shared facilities and ten-minute service circles. Data © OpenStreetMap contributors (ODbL)."
    ),
    paths(
        super::service::health,
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
