//! The command line: `import`, `serve`, `demo`, `demo-layers`, `synth`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::config::HouseholdEstimate;
use crate::http::{AppState, Limits, app};
use crate::import::{
    Layer, LayerOptions, export_geojson_layer, import_geojson_layer_with, read_household_counts,
    read_osm_pbf,
};
use crate::index::SnapshotCell;
use crate::model::KindCatalogue;
use crate::store::Store;

/// The repository root, where `data/`, `web/` and `../shared/` are found by default.
pub const REPO: &str = env!("CARGO_MANIFEST_DIR");

/// gridcircle: grids, shared facilities and ten-minute service circles for neighbourhood
/// governance. Data © OpenStreetMap contributors (ODbL).
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Import a file into the store: an OSM extract (.osm.pbf), real household counts (.csv with
    /// columns osm,households,residents) or a GeoJSON layer (.geojson with --layer).
    #[command(
        after_help = "Examples:\n  gridcircle import ../shared/data/nanjing-xinjiekou.osm.pbf --db nanjing.gpkg\n  gridcircle import ../shared/data/porto.osm.pbf --db porto.gpkg --timezone Europe/Lisbon\n  gridcircle import counts.csv --db nanjing.gpkg\n  gridcircle import data/demo/grids.geojson --layer grids --db nanjing.gpkg\n  gridcircle import grids.geojson --layer grids --parent-field community_code --db nanjing.gpkg"
    )]
    Import {
        /// The file to import.
        file: PathBuf,
        /// The store: a GeoPackage file path, or postgres://user@host:port/db (PostGIS).
        #[arg(long, default_value = "gridcircle.gpkg", env = "GRIDCIRCLE_DB")]
        db: String,
        /// For .geojson files: which layer the features are.
        #[arg(long, value_enum)]
        layer: Option<Layer>,
        /// For communities and grids: the property holding the parent's code (default
        /// street_office_code for communities, community_code for grids).
        #[arg(long)]
        parent_field: Option<String>,
        /// The city's IANA time zone (opening hours are local time).
        #[arg(long, default_value = "Asia/Shanghai")]
        timezone: chrono_tz::Tz,
        #[command(flatten)]
        estimate: EstimateArgs,
        #[command(flatten)]
        topology: TopologyArgs,
    },
    /// Serve the HTTP API and the web map from an existing store.
    #[command(
        after_help = "Examples:\n  gridcircle serve --db nanjing.gpkg\n  gridcircle serve --db porto.gpkg --addr 127.0.0.1:9000"
    )]
    Serve {
        /// The store: a GeoPackage file path, or postgres://user@host:port/db (PostGIS).
        #[arg(long, default_value = "gridcircle.gpkg", env = "GRIDCIRCLE_DB")]
        db: String,
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// The demo: on first run, import Nanjing Xinjiekou and the illustrative demo layers
    /// (street office, communities, grids, shared facilities: not official data), then serve.
    #[command(
        after_help = "Example:\n  cargo run --release -- demo      # then open http://127.0.0.1:8080/"
    )]
    Demo {
        /// The store to create (if missing) and serve.
        #[arg(long, default_value = "gridcircle.gpkg", env = "GRIDCIRCLE_DB")]
        db: String,
        /// The OSM extract to import on first run.
        #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/nanjing-xinjiekou.osm.pbf"))]
        osm: PathBuf,
        /// The folder of demo layers (street_offices, communities, grids, facilities .geojson).
        #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo"))]
        layers: PathBuf,
        #[command(flatten)]
        serve: ServeArgs,
    },
    /// Print a coverage report for one service circle: which buildings, households and
    /// residents are outside it, by walking on the street network (or crow-fly radius).
    #[command(
        after_help = "Examples:\n  gridcircle coverage --circle 健康 --minutes 10\n  gridcircle coverage --circle daily_life --at 2026-11-23T22:00:00+08:00 --format csv > uncovered.csv\n  gridcircle coverage --circle 文体 --mode radius --format geojson --within community:2"
    )]
    Coverage {
        /// The store.
        #[arg(long, default_value = "gridcircle.gpkg", env = "GRIDCIRCLE_DB")]
        db: String,
        /// Circle id or name (政务 生活 健康 文体 平安, or government daily_life health culture_sports safety).
        #[arg(long)]
        circle: String,
        /// Budget in minutes (default: the circle's).
        #[arg(long)]
        minutes: Option<f64>,
        /// walk or radius (default: the circle's).
        #[arg(long)]
        mode: Option<String>,
        /// Only facilities open at this RFC 3339 instant count.
        #[arg(long)]
        at: Option<chrono::DateTime<chrono::FixedOffset>>,
        /// grid:ID, community:ID or street_office:ID.
        #[arg(long)]
        within: Option<String>,
        /// Output: json (the full report), geojson (uncovered buildings) or csv (uncovered buildings).
        #[arg(long, default_value = "json")]
        format: String,
    },
    /// Export a layer as GeoJSON in the format `import` reads (parents by code). The
    /// GeoPackage itself is also readable by GDAL and QGIS.
    #[command(
        after_help = "Examples:\n  gridcircle export --layer grids --out grids.geojson --db nanjing.gpkg\n  ogr2ogr -f GeoJSON grids.geojson nanjing.gpkg grids     # the same layer through GDAL"
    )]
    Export {
        /// The store.
        #[arg(long, default_value = "gridcircle.gpkg", env = "GRIDCIRCLE_DB")]
        db: String,
        /// street-offices, communities or grids.
        #[arg(long, value_enum)]
        layer: Layer,
        /// The GeoJSON file to write.
        #[arg(long)]
        out: PathBuf,
        /// Include the phones of grid chiefs and workers (personal data; off by default).
        #[arg(long)]
        with_personal_data: bool,
    },
    /// Draw the demo layers for an imported store with the project's own rules (street office
    /// around the buildings, communities and grids split by household counts, shared
    /// facilities at real named buildings) and write them as GeoJSON.
    #[command(
        after_help = "Example:\n  gridcircle import ../shared/data/nanjing-xinjiekou.osm.pbf --db /tmp/nj.gpkg\n  gridcircle demo-layers --db /tmp/nj.gpkg --out data/demo"
    )]
    DemoLayers {
        /// An imported store.
        #[arg(long)]
        db: String,
        /// Output folder.
        #[arg(long, default_value = "data/demo")]
        out: PathBuf,
        /// Target households per grid.
        #[arg(long, default_value_t = 400)]
        households_per_grid: u32,
    },
    /// Build a larger city for scale work: N×N shifted copies of an extract (Porto by default)
    /// with renumbered ids and joined street networks, as an OSM file or into a store.
    Synth(crate::synth::SynthArgs),
    /// Apply pending schema migrations to a store (a GeoPackage or a PostgreSQL database) and
    /// print its schema version. Refuses a database migrated by a newer gridcircle.
    #[command(
        after_help = "Examples:\n  gridcircle migrate --db postgres://postgres@127.0.0.1:5432/gridcircle\n  DATABASE_URL=postgres://postgres@127.0.0.1/gridcircle gridcircle migrate\n  gridcircle migrate --db nanjing.gpkg"
    )]
    Migrate {
        /// The store: a GeoPackage file path, or postgres://user@host:port/db.
        #[arg(long, default_value = "gridcircle.gpkg", env = "GRIDCIRCLE_DB")]
        db: String,
    },
    /// Bearer tokens for writes: create (the token is printed once; only its SHA-256 is
    /// stored), revoke, list.
    Token {
        #[command(subcommand)]
        action: TokenCommand,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token and print it once (stdout; the description goes to stderr).
    #[command(
        after_help = "Roles and scopes:\n  admin                               everything, and GET /audit\n  street_office --scope <id|9-digit code>   communities and grids inside the street office\n  community --scope <id|12-digit code>      grids inside the community\n  organisation --scope <owner name>         the facilities with that owner\n  planner                             service circles, analytics and personal data\n\nExamples:\n  gridcircle token create --role admin --label ops\n  gridcircle token create --role street_office --scope 320102001 --label 新街口街道\n  gridcircle token create --role organisation --scope 某单位 --label 某单位后勤"
    )]
    Create {
        /// The store.
        #[arg(long, default_value = "gridcircle.gpkg", env = "GRIDCIRCLE_DB")]
        db: String,
        /// admin, street_office, community, organisation or planner.
        #[arg(long)]
        role: crate::auth::Role,
        /// street_office: the office's id or code; community: the community's id or code;
        /// organisation: the owner name its facilities carry.
        #[arg(long)]
        scope: Option<String>,
        /// Who the token is for (shown in the audit log).
        #[arg(long)]
        label: Option<String>,
    },
    /// Revoke a token by its id (from `token list` or `token create`): refused from now on.
    Revoke {
        /// The store.
        #[arg(long, default_value = "gridcircle.gpkg", env = "GRIDCIRCLE_DB")]
        db: String,
        /// The token's id.
        id: i64,
    },
    /// List tokens (ids, roles, scopes, labels; never the tokens).
    List {
        /// The store.
        #[arg(long, default_value = "gridcircle.gpkg", env = "GRIDCIRCLE_DB")]
        db: String,
    },
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
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
    topology: TopologyArgs,
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

/// The thresholds of the grid topology checks: a local rule, so the operator's to set.
#[derive(Debug, clap::Args)]
struct TopologyArgs {
    /// Drawing tolerance of the grid checks, metres: overlaps and parts outside the parent
    /// larger than tolerance², and gaps narrower than it, are errors.
    #[arg(long, default_value_t = 1.0, env = "GRIDCIRCLE_TOLERANCE_M")]
    tolerance_m: f64,
    /// Household guidance per grid, MIN-MAX (a warning outside it), or `off`.
    #[arg(long, default_value = "300-500", env = "GRIDCIRCLE_HOUSEHOLDS",
        value_parser = |s: &str| crate::grids::parse_household_guidance(s).map(Guidance).map_err(|e| e.message))]
    households: Guidance,
    /// A building counts as cut when more than this share of its footprint lies on each side
    /// of a boundary.
    #[arg(long, default_value_t = 0.10, env = "GRIDCIRCLE_CUT_BUILDING_SHARE")]
    cut_building_share: f64,
}

/// A parsed `--households` value (None: off).
#[derive(Debug, Clone)]
struct Guidance(Option<std::ops::RangeInclusive<u32>>);

impl TopologyArgs {
    fn config(&self) -> anyhow::Result<crate::grids::TopologyConfig> {
        crate::grids::TopologyConfig::new(
            self.tolerance_m,
            self.households.0.clone(),
            self.cut_building_share,
        )
        .map_err(|e| anyhow::anyhow!("--{}: {}", e.field.replace('_', "-"), e.message))
    }
}

#[derive(Debug, clap::Args)]
struct EstimateArgs {
    /// Gross floor area per household (m²) for household estimates.
    #[arg(long, default_value_t = 90.0)]
    household_area: f64,
    /// Levels assumed when building:levels is missing.
    #[arg(long, default_value_t = 6)]
    default_levels: u16,
    /// Persons per household.
    #[arg(long, default_value_t = 2.62)]
    persons_per_household: f64,
}

impl EstimateArgs {
    fn estimate(&self) -> HouseholdEstimate {
        HouseholdEstimate {
            area_per_household_m2: self.household_area,
            default_levels: self.default_levels,
            persons_per_household: self.persons_per_household,
            ..HouseholdEstimate::default()
        }
    }
}

/// The default `--db`, replaced by `DATABASE_URL` when that is set and neither `--db` nor
/// `GRIDCIRCLE_DB` named a store.
const DEFAULT_DB: &str = "gridcircle.gpkg";

/// `db`, or `DATABASE_URL` when `db` is the default.
fn resolve_db(db: String) -> String {
    if db == DEFAULT_DB
        && let Ok(url) = std::env::var("DATABASE_URL")
        && !url.trim().is_empty()
    {
        return url;
    }
    db
}

/// True when the store at `db` exists: a GeoPackage file on disk; a PostgreSQL URL is taken
/// as existing (connecting reports what is wrong with it).
fn store_exists(db: &str) -> bool {
    crate::store::is_postgres_location(db) || Path::new(db.trim_start_matches("sqlite://")).exists()
}

/// Runs the command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let catalogue = Arc::new(KindCatalogue::bundled());
    let mut command = cli.command;
    match &mut command {
        Command::Import { db, .. }
        | Command::Serve { db, .. }
        | Command::Demo { db, .. }
        | Command::Coverage { db, .. }
        | Command::Export { db, .. }
        | Command::Migrate { db } => *db = resolve_db(std::mem::take(db)),
        Command::Token { action } => match action {
            TokenCommand::Create { db, .. }
            | TokenCommand::Revoke { db, .. }
            | TokenCommand::List { db } => *db = resolve_db(std::mem::take(db)),
        },
        Command::DemoLayers { .. } | Command::Synth(_) => {}
    }
    match command {
        Command::Import {
            file,
            db,
            layer,
            parent_field,
            timezone,
            estimate,
            topology,
        } => {
            let store = Store::open(&db).await?;
            let options = LayerOptions {
                parent_field,
                topology: topology.config()?,
                ..LayerOptions::default()
            };
            import_file(
                &store,
                &catalogue,
                &file,
                layer,
                options,
                timezone,
                &estimate.estimate(),
                true,
            )
            .await?;
            store.close().await;
            Ok(())
        }
        Command::Serve { db, serve } => {
            serve.topology.config()?;
            anyhow::ensure!(
                store_exists(&db),
                "no store at {db}; run `gridcircle import` or `gridcircle demo` first"
            );
            let store = Store::open(&db).await?;
            serve_store(store, catalogue, &serve).await
        }
        Command::Demo {
            db,
            osm,
            layers,
            serve,
        } => {
            serve.topology.config()?;
            let fresh = !store_exists(&db);
            let store = Store::open(&db).await?;
            // A PostgreSQL database exists before the demo: fresh means nothing imported yet.
            let fresh = fresh || (store.postgres().is_some() && store.is_empty().await?);
            if fresh {
                let token = crate::auth::generate_token();
                let id = store
                    .create_token(
                        &token.hash,
                        crate::auth::Role::Admin,
                        &crate::auth::Scope::Everything,
                        "demo operator",
                    )
                    .await?;
                eprintln!(
                    "Admin token for this demo (token {id}; shown only now, only its hash is stored):\n  {}\nSend it as `Authorization: Bearer <token>` to write. More: `gridcircle token create --role … --db {db}`.",
                    token.secret
                );
                eprintln!("First run: importing {} into {db}", osm.display());
                import_file(
                    &store,
                    &catalogue,
                    &osm,
                    None,
                    LayerOptions::default(),
                    crate::config::default_timezone(),
                    &HouseholdEstimate::default(),
                    true,
                )
                .await?;
                for (layer, name) in [
                    (Layer::StreetOffices, "street_offices"),
                    (Layer::Communities, "communities"),
                    (Layer::Grids, "grids"),
                    (Layer::Facilities, "facilities"),
                ] {
                    let path = layers.join(format!("{name}.geojson"));
                    import_file(
                        &store,
                        &catalogue,
                        &path,
                        Some(layer),
                        LayerOptions {
                            topology: serve.topology.config()?,
                            ..LayerOptions::default()
                        },
                        crate::config::default_timezone(),
                        &HouseholdEstimate::default(),
                        false,
                    )
                    .await?;
                }
                eprintln!(
                    "Demo layers are illustrative, drawn by `gridcircle demo-layers`: not official boundaries."
                );
            }
            serve_store(store, catalogue, &serve).await
        }
        Command::Coverage {
            db,
            circle,
            minutes,
            mode,
            at,
            within,
            format,
        } => {
            anyhow::ensure!(store_exists(&db), "no store at {db}");
            let store = Store::open(&db).await?;
            let snapshot = crate::index::load_snapshot(&store, catalogue).await?;
            let def = snapshot.circle(&circle).cloned().with_context(|| {
                format!(
                    "unknown circle {circle:?}; circles: {}",
                    snapshot
                        .circles
                        .iter()
                        .map(|c| format!("{} ({})", c.id, c.name))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?;
            let minutes = crate::model::parse_minutes(minutes.unwrap_or(def.minutes), "minutes")?;
            let mode: crate::model::ReachMode = mode
                .as_deref()
                .map(str::parse)
                .transpose()?
                .unwrap_or(def.mode);
            let within: Option<crate::coverage::Within> =
                within.as_deref().map(str::parse).transpose()?;
            let at = at.map(|t| t.with_timezone(&chrono::Utc));
            let report =
                crate::coverage::report(&snapshot, &def, minutes, mode, at, within, false)?;
            match format.as_str() {
                "csv" => print!("{}", crate::http::coverage_csv(&snapshot, &def, &report)),
                "geojson" => println!(
                    "{}",
                    crate::http::coverage_json(&snapshot, &def, minutes, mode, at, &report)["uncovered"]
                ),
                "json" => println!(
                    "{}",
                    serde_json::to_string_pretty(&crate::http::coverage_json(
                        &snapshot, &def, minutes, mode, at, &report
                    ))?
                ),
                other => anyhow::bail!("--format is json, geojson or csv, not {other:?}"),
            }
            let s = report.summary;
            eprintln!(
                "{} ({}) {mode:?} {minutes} min: {} of {} households covered ({}%), {} buildings uncovered",
                def.name,
                def.id,
                s.households_covered,
                s.households,
                s.coverage_pct,
                s.buildings_uncovered
            );
            Ok(())
        }
        Command::Export {
            db,
            layer,
            out,
            with_personal_data,
        } => {
            anyhow::ensure!(store_exists(&db), "no store at {db}");
            let store = Store::open(&db).await?;
            let n =
                export_geojson_layer(&store, &catalogue, layer, &out, with_personal_data).await?;
            store.close().await;
            eprintln!("wrote {n} features to {}", out.display());
            Ok(())
        }
        Command::DemoLayers {
            db,
            out,
            households_per_grid,
        } => {
            let store = Store::open(&db).await?;
            let data = store.load(&catalogue).await?;
            crate::demo::write_demo_layers(&data, households_per_grid, &out)?;
            eprintln!("wrote demo layers to {}", out.display());
            Ok(())
        }
        Command::Synth(args) => crate::synth::run(args).await,
        Command::Migrate { db } => {
            let store = Store::open(&db).await?;
            let version = store.schema_version().await?;
            store.close().await;
            println!("{} store at schema version {version}", store.backend());
            Ok(())
        }
        Command::Token { action } => token_command(action, &catalogue).await,
    }
}

async fn token_command(action: TokenCommand, catalogue: &KindCatalogue) -> anyhow::Result<()> {
    use crate::auth::{Role, Scope, generate_token};
    let open = |db: &str| {
        anyhow::ensure!(store_exists(db), "no store at {db}");
        Ok(())
    };
    match action {
        TokenCommand::Create {
            db,
            role,
            scope,
            label,
        } => {
            open(&db)?;
            let store = Store::open(&db).await?;
            let scope = match (role, scope.as_deref().map(str::trim)) {
                (Role::Admin | Role::Planner, None) => Scope::Everything,
                (Role::Admin | Role::Planner, Some(_)) => {
                    anyhow::bail!("a {role} token has no --scope")
                }
                (_, None | Some("")) => anyhow::bail!("a {role} token needs --scope"),
                (Role::Organisation, Some(owner)) => Scope::Owner(owner.to_owned()),
                (Role::StreetOffice | Role::Community, Some(text)) => {
                    let data = store.load(catalogue).await?;
                    let found = if role == Role::StreetOffice {
                        data.street_offices
                            .iter()
                            .find(|s| s.id.to_string() == text || s.code.to_string() == text)
                            .map(|s| (s.id, s.name.clone()))
                    } else {
                        data.communities
                            .iter()
                            .find(|c| c.id.to_string() == text || c.code.to_string() == text)
                            .map(|c| (c.id, c.name.clone()))
                    };
                    let (id, name) = found.with_context(|| {
                        format!(
                            "no {} with id or code {text:?} in {db}",
                            role.as_str().replace('_', " ")
                        )
                    })?;
                    eprintln!("scope: {} {id} ({name})", role.as_str().replace('_', " "));
                    if role == Role::StreetOffice {
                        Scope::StreetOffice(id)
                    } else {
                        Scope::Community(id)
                    }
                }
            };
            let label = label.unwrap_or_else(|| role.as_str().to_owned());
            let token = generate_token();
            let id = store
                .create_token(&token.hash, role, &scope, &label)
                .await?;
            store.close().await;
            eprintln!(
                "token {id}: role {role}, label {label:?}. It is shown only now (the store keeps its SHA-256); revoke with `gridcircle token revoke {id}`."
            );
            println!("{}", token.secret);
            Ok(())
        }
        TokenCommand::Revoke { db, id } => {
            open(&db)?;
            let store = Store::open(&db).await?;
            let done = store.revoke_token(id).await?;
            store.close().await;
            anyhow::ensure!(done, "no unrevoked token with id {id}");
            eprintln!("token {id} revoked");
            Ok(())
        }
        TokenCommand::List { db } => {
            open(&db)?;
            let store = Store::open(&db).await?;
            for t in store.tokens().await? {
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    t.id,
                    t.role,
                    t.scope.as_deref().unwrap_or("-"),
                    t.label,
                    t.created_at,
                    t.revoked_at
                        .as_deref()
                        .map_or("active".to_owned(), |r| format!("revoked {r}"))
                );
            }
            store.close().await;
            Ok(())
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn import_file(
    store: &Store,
    catalogue: &KindCatalogue,
    file: &Path,
    layer: Option<Layer>,
    options: LayerOptions,
    timezone: chrono_tz::Tz,
    estimate: &HouseholdEstimate,
    verbose: bool,
) -> anyhow::Result<()> {
    let name = file.to_string_lossy().to_lowercase();
    if name.ends_with(".pbf") {
        let started = std::time::Instant::now();
        let path = file.to_owned();
        let (cat, est) = (catalogue.clone(), estimate.clone());
        let import =
            tokio::task::spawn_blocking(move || read_osm_pbf(&path, &cat, &est, true)).await??;
        store
            .write_osm_import(&import, timezone)
            .await
            .context("writing the import")?;
        if verbose {
            println!("{}", import.report);
            println!("imported in {:.2} s", started.elapsed().as_secs_f64());
        }
    } else if name.ends_with(".csv") {
        let counts = read_household_counts(file)?;
        let matched = store.write_household_counts(&counts).await?;
        println!(
            "{matched} of {} buildings updated with real counts",
            counts.len()
        );
    } else if name.ends_with(".geojson") || name.ends_with(".json") {
        let layer = layer.context(
            "a GeoJSON import needs --layer (street-offices, communities, grids or facilities)",
        )?;
        let report = import_geojson_layer_with(store, catalogue, layer, file, &options).await?;
        if verbose || !report.rejected.is_empty() {
            println!(
                "{}: {} imported, {} rejected",
                file.display(),
                report.imported,
                report.rejected.len()
            );
            if !report.warnings.is_empty() {
                println!("  warnings (not blocking): {:?}", report.warnings);
            }
        }
        for (i, why) in &report.rejected {
            println!("  feature {i}: {why}");
        }
        anyhow::ensure!(
            report.rejected.is_empty() || verbose,
            "{} features of {} were rejected",
            report.rejected.len(),
            file.display()
        );
    } else {
        anyhow::bail!(
            "don't know how to import {}: expected .osm.pbf, .csv or .geojson",
            file.display()
        );
    }
    Ok(())
}

async fn serve_store(
    store: Store,
    catalogue: Arc<KindCatalogue>,
    args: &ServeArgs,
) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    // Read before loading: a change committed meanwhile is then applied again (harmless)
    // rather than missed.
    let first_seq = store.latest_change().await?;
    let snapshot = crate::index::load_snapshot(&store, catalogue.clone()).await?;
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
