//! `gridcircle serve`: the HTTP API and the web map from an existing store. [`ServeArgs`] and
//! [`serve_store`] are shared with `demo`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use super::args::TopologyArgs;
use crate::http::{AppState, Limits, app};
use crate::model::KindCatalogue;
use crate::readmodel::SnapshotCell;
use crate::store::Store;

/// The arguments of `gridcircle serve`.
#[derive(Debug, clap::Args)]
pub(super) struct ServeCommand {
    /// The store: a GeoPackage file path, or postgres://user@host:port/db (PostGIS).
    #[arg(long, default_value = "gridcircle.gpkg", env = "GRIDCIRCLE_DB")]
    pub(super) db: String,
    #[command(flatten)]
    serve: ServeArgs,
}

impl ServeCommand {
    /// Checks the flags and that the store exists, then serves it.
    pub(super) async fn run(self, catalogue: Arc<KindCatalogue>) -> anyhow::Result<()> {
        let Self { db, serve } = self;
        serve.topology.config()?;
        anyhow::ensure!(
            super::store_exists(&db),
            "no store at {db}; run `gridcircle import` or `gridcircle demo` first"
        );
        let store = Store::open(&db).await?;
        serve_store(store, catalogue, &serve).await
    }
}

/// The flags of a serving process, shared by `serve` and `demo`: where to listen, the web map,
/// request limits and the grid topology thresholds.
#[derive(Debug, clap::Args)]
pub(super) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "GRIDCIRCLE_ADDR")]
    addr: SocketAddr,
    /// The web map folder (index.html, dist/).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/web"))]
    web: PathBuf,
    /// Largest request body in bytes.
    #[arg(long, default_value_t = 1 << 20)]
    body_limit: usize,
    /// Request timeout in seconds.
    #[arg(long, default_value_t = 10)]
    timeout_secs: u64,
    /// Most positions in one GeoJSON geometry of a request.
    #[arg(long, default_value_t = 20_000)]
    max_vertices: usize,
    /// Most features in one request.
    #[arg(long, default_value_t = 1_000)]
    max_features: usize,
    /// Largest `k` of /nearest.
    #[arg(long, default_value_t = 100)]
    max_k: usize,
    /// Largest page (`limit`) of collection items.
    #[arg(long, default_value_t = 10_000)]
    max_items: usize,
    /// Anonymous requests per second per client IP (0: no limit).
    #[arg(long, default_value_t = 30, env = "GRIDCIRCLE_RATE_ANONYMOUS")]
    rate_anonymous: u32,
    /// Anonymous burst per client IP.
    #[arg(long, default_value_t = 300, env = "GRIDCIRCLE_RATE_ANONYMOUS_BURST")]
    rate_anonymous_burst: u32,
    /// Requests per second per token (0: no limit).
    #[arg(long, default_value_t = 100, env = "GRIDCIRCLE_RATE_AUTHENTICATED")]
    rate_authenticated: u32,
    /// Burst per token.
    #[arg(
        long,
        default_value_t = 500,
        env = "GRIDCIRCLE_RATE_AUTHENTICATED_BURST"
    )]
    rate_authenticated_burst: u32,
    /// An origin whose pages may call the API (CORS), e.g. https://map.example.org; repeat for
    /// more. None: same-origin only.
    #[arg(
        long = "cors-origin",
        env = "GRIDCIRCLE_CORS_ORIGINS",
        value_delimiter = ','
    )]
    cors_origins: Vec<String>,
    /// Most connections open at once; more wait in the kernel's listen backlog until one
    /// closes.
    #[arg(long, default_value_t = 1024, env = "GRIDCIRCLE_MAX_CONNECTIONS",
        value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// Seconds a client has to send a request's head (request line and headers) once its
    /// first byte arrived; then the connection is closed.
    #[arg(long, default_value_t = 10, env = "GRIDCIRCLE_HEADER_TIMEOUT_SECS",
        value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout_secs: u64,
    /// Seconds a connection may stay open with no request in flight and no traffic.
    #[arg(long, default_value_t = 60, env = "GRIDCIRCLE_IDLE_TIMEOUT_SECS",
        value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout_secs: u64,
    /// At shutdown (SIGINT or SIGTERM), seconds to wait for requests in flight before the
    /// store is closed anyway.
    #[arg(long, default_value_t = 30, env = "GRIDCIRCLE_DRAIN_TIMEOUT_SECS")]
    drain_timeout_secs: u64,
    #[command(flatten)]
    pub(super) topology: TopologyArgs,
}

impl ServeArgs {
    fn connection_limits(&self) -> crate::http::server::ConnectionLimits {
        use std::time::Duration;
        crate::http::server::ConnectionLimits {
            max_connections: self.max_connections as usize,
            header_read_timeout: Duration::from_secs(self.header_timeout_secs),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
            drain_timeout: Duration::from_secs(self.drain_timeout_secs),
        }
    }
}

/// Loads the snapshot from `store` (and follows the change log when the store is PostgreSQL),
/// then serves the API and the web map on `args.addr` until SIGINT or SIGTERM.
pub(super) async fn serve_store(
    store: Store,
    catalogue: Arc<KindCatalogue>,
    args: &ServeArgs,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    // Read before loading: a change committed meanwhile is then applied again (harmless)
    // rather than missed.
    let first_seq = store.latest_change().await?;
    let snapshot = crate::app::load_snapshot(&store, catalogue.clone()).await?;
    tracing::info!(
        buildings = snapshot.buildings.layer.items().len(),
        facilities = snapshot.facilities.layer.items().len(),
        grids = snapshot.grids.layer.items().len(),
        ms = started.elapsed().as_millis() as u64,
        "snapshot built"
    );
    let topology = args.topology.config()?;
    tracing::info!(
        tolerance_m = topology.tolerance_m,
        households = ?topology.households,
        cut_building_share = topology.cut_building_share,
        "grid topology rules"
    );
    let cell = SnapshotCell::new(snapshot);
    let limits = Limits {
        body_bytes: args.body_limit,
        timeout: std::time::Duration::from_secs(args.timeout_secs),
        max_vertices: args.max_vertices,
        max_features: args.max_features,
        max_k: args.max_k,
        max_items: args.max_items,
        rate: crate::http::RateLimits {
            anonymous: crate::http::Quota {
                per_second: args.rate_anonymous,
                burst: args.rate_anonymous_burst,
            },
            authenticated: crate::http::Quota {
                per_second: args.rate_authenticated,
                burst: args.rate_authenticated_burst,
            },
        },
        cors_origins: args.cors_origins.clone(),
        ..Limits::default()
    };
    let state = AppState::new(store.clone(), cell, limits, topology);
    if store.postgres().is_some() {
        // A replica: follow the change log from where the snapshot was loaded.
        state.snapshot.set_applied(first_seq);
        tokio::spawn(crate::app::replica::follow(
            store.clone(),
            state.writes.clone(),
            catalogue.clone(),
        ));
    }
    let web = args
        .web
        .join("index.html")
        .exists()
        .then(|| args.web.clone());
    if web.is_none() {
        tracing::warn!(dir = %args.web.display(), "no web map found; serving the API only");
    }
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("binding {}", args.addr))?;
    let addr = listener.local_addr()?;
    println!(
        "gridcircle listening on http://{addr}/  (API: http://{addr}/collections, OpenAPI: http://{addr}/api)"
    );
    // Returns after SIGINT or SIGTERM, once the requests in flight are answered; closing the
    // store then checkpoints a GeoPackage's WAL into the file.
    crate::http::server::serve(listener, app(state, web), args.connection_limits()).await?;
    store.close().await;
    Ok(())
}
