//! The HTTP API (axum). One module per route group, each with its `router()`; one error type
//! ([`ApiError`]) that maps to status codes and a JSON body.

mod access;
mod admin_areas;
mod auth;
mod boundary_checks;
mod circles;
mod collections;
mod coverage;
pub mod cpu;
mod error;
mod extract;
mod facilities;
mod feature;
#[doc(hidden)]
pub mod fuzz;
mod grid_writes;
mod grids;
mod isochrones;
mod limits;
mod openapi;
mod params;
mod queries;
mod replication;
mod response;
pub mod server;
mod service;
pub mod tiles;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::{Router, middleware};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::services::ServeDir;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use coverage::{report_csv as coverage_csv, report_json as coverage_json};
pub use cpu::{CpuBound, run_blocking};
pub use error::{ApiError, ApiResult};
pub use limits::{Quota, RateLimits};
pub use openapi::ApiDoc;

use crate::readmodel::SnapshotCell;
use crate::store::Store;

/// Request limits, with defaults that suit a city.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest request body, bytes. Default 1 MiB.
    pub body_bytes: usize,
    /// Request timeout. Default 10 s.
    pub timeout: Duration,
    /// Largest `limit` for items. Default 10,000.
    pub max_items: usize,
    /// Largest `k` for nearest. Default 100.
    pub max_k: usize,
    /// How far outside the data's extent a written geometry may lie, metres. Default 5 km.
    pub service_margin_m: f64,
    /// Most positions in one GeoJSON geometry of a request body. Default 20,000.
    pub max_vertices: usize,
    /// Most features in one request body. Default 1,000.
    pub max_features: usize,
    /// Request rates of anonymous (per IP) and authenticated (per token) callers.
    pub rate: RateLimits,
    /// Origins allowed to call the API from a browser page of another origin (CORS). Default
    /// none: same-origin only.
    pub cors_origins: Vec<String>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_bytes: 1 << 20,
            timeout: Duration::from_secs(10),
            max_items: 10_000,
            max_k: 100,
            service_margin_m: 5_000.0,
            max_vertices: 20_000,
            max_features: 1_000,
            rate: RateLimits::default(),
            cors_origins: Vec::new(),
        }
    }
}

/// What every handler shares: one `Arc`, so the clone axum makes per request and per
/// middleware layer is one reference-count increment. (Cloning the fields one by one cost
/// about a dozen atomic updates on counters both workers touch, and a copy of the CORS origin
/// list: 3 % of the server's CPU on `/nearest` under load, docs/PERFORMANCE.md.) Fields are
/// read through `Deref` ([`AppParts`]).
#[derive(Clone)]
pub struct AppState(Arc<AppParts>);

/// The parts of an [`AppState`].
pub struct AppParts {
    /// The store; writes commit here first.
    pub store: Store,
    /// The published snapshot; reads come from here.
    pub snapshot: SnapshotCell,
    /// The one write path: every write goes through it.
    pub writes: crate::app::WritePath,
    /// Request limits.
    pub limits: Limits,
    /// The thresholds of the grid topology checks (operator settings).
    pub topology: crate::grids::TopologyConfig,
    /// The bound on CPU-heavy work running at once ([`run_blocking`]).
    pub cpu: CpuBound,
}

impl std::ops::Deref for AppState {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

impl AppState {
    /// The state of a service over `store`, serving `snapshot`: its write path publishes to
    /// the same cell, and CPU-heavy work is bounded by the machine's parallelism.
    pub fn new(
        store: Store,
        snapshot: SnapshotCell,
        limits: Limits,
        topology: crate::grids::TopologyConfig,
    ) -> Self {
        Self::with_cpu_bound(store, snapshot, limits, topology, CpuBound::default())
    }

    /// As [`AppState::new`], with CPU-heavy work bounded by `cpu` (shared with its clones).
    pub fn with_cpu_bound(
        store: Store,
        snapshot: SnapshotCell,
        limits: Limits,
        topology: crate::grids::TopologyConfig,
        cpu: CpuBound,
    ) -> Self {
        AppState(Arc::new(AppParts {
            writes: crate::app::WritePath::new(store.clone(), snapshot.clone()),
            store,
            snapshot,
            limits,
            topology,
            cpu,
        }))
    }
}

/// The whole application: API routes, the web map from `web_dir`, and the middleware.
pub fn app(state: AppState, web_dir: Option<PathBuf>) -> Router {
    let mut router = Router::new()
        .merge(auth::router())
        .merge(service::router())
        .merge(openapi::router())
        .merge(replication::router())
        .merge(collections::router())
        .merge(queries::router())
        .merge(grids::router())
        .merge(coverage::router())
        .merge(circles::router())
        .merge(isochrones::router())
        .merge(tiles::router())
        .with_state(state.clone());
    if let Some(dir) = web_dir {
        router = router.fallback_service(ServeDir::new(dir).append_index_html_on_directories(true));
    } else {
        router = router.fallback(|| async { ApiError::not_found("no such route") });
    }
    with_middleware(router, state)
}

/// `router` inside the middleware every route of [`app`] runs in (tokens are checked against
/// `state.store`; the limits are `state.limits`), outermost last: trace → security headers →
/// CORS → JSON errors → panics caught → token → rate limit → timeout → body and GeoJSON
/// limits → routes.
pub fn with_middleware(router: Router, state: AppState) -> Router {
    let limits = state.limits.clone();
    let geojson = limits::GeoJsonLimits {
        body_bytes: limits.body_bytes,
        max_vertices: limits.max_vertices,
        max_features: limits.max_features,
    };
    let router = router
        .layer(middleware::from_fn_with_state(
            geojson,
            limits::geojson_limits,
        ))
        .layer(DefaultBodyLimit::max(limits.body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::SERVICE_UNAVAILABLE,
            limits.timeout,
        ))
        .layer(middleware::from_fn_with_state(
            limits::Limiters::new(limits.rate),
            limits::rate_limit,
        ))
        .layer(middleware::from_fn_with_state(state, auth::authenticate))
        .layer(CatchPanicLayer::custom(panic_answer))
        .layer(middleware::from_fn(limits::json_errors));
    let router = match limits::cors(&limits.cors_origins) {
        Some(cors) => router.layer(cors),
        None => router,
    };
    router
        .layer(middleware::from_fn(limits::security_headers))
        .layer(TraceLayer::new_for_http())
}

/// The answer to a request whose handler (or inner middleware) panicked: the panic is logged
/// and the caller gets a 500 `internal` error in the usual JSON shape; the connection stays
/// open for its next request. No lock of the HTTP layer stays poisoned by the panic (the
/// caches take the data of a poisoned lock as it is), so the route answers again next time.
fn panic_answer(payload: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    use axum::response::IntoResponse;
    tracing::error!(panic = %cpu::panic_text(payload.as_ref()), "a request handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the server failed while answering this request; the failure was logged",
    )
    .into_response()
}
