//! The command line of the service: `import`, `serve`, `demo`, `coverage`, `export`, `migrate`,
//! `token`, one file per subcommand. This file holds the clap types and the dispatch; the
//! argument groups several subcommands share are in `args`. Development tools (the scale
//! generator, the demo-layer drawer, the benchmark worker) are `gridcircle-tools`, in `tools/`.

mod args;
mod coverage;
mod demo;
mod export;
mod import;
mod migrate;
mod serve;
mod token;

use std::path::Path;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use crate::model::KindCatalogue;

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
    Import(import::ImportArgs),
    /// Serve the HTTP API and the web map from an existing store.
    #[command(
        after_help = "Examples:\n  gridcircle serve --db nanjing.gpkg\n  gridcircle serve --db porto.gpkg --addr 127.0.0.1:9000"
    )]
    Serve(serve::ServeCommand),
    /// The demo: on first run, import Nanjing Xinjiekou and the illustrative demo layers
    /// (street office, communities, grids, shared facilities: not official data), then serve.
    #[command(
        after_help = "Example:\n  cargo run --release -- demo      # then open http://127.0.0.1:8080/"
    )]
    Demo(demo::DemoArgs),
    /// Print a coverage report for one service circle: which buildings, households and
    /// residents are outside it, by walking on the street network (or crow-fly radius).
    #[command(
        after_help = "Examples:\n  gridcircle coverage --circle 健康 --minutes 10\n  gridcircle coverage --circle daily_life --at 2026-11-23T22:00:00+08:00 --format csv > uncovered.csv\n  gridcircle coverage --circle 文体 --mode radius --format geojson --within community:2"
    )]
    Coverage(coverage::CoverageArgs),
    /// Export a layer as GeoJSON in the format `import` reads (parents by code). The
    /// GeoPackage itself is also readable by GDAL and QGIS.
    #[command(
        after_help = "Examples:\n  gridcircle export --layer grids --out grids.geojson --db nanjing.gpkg\n  ogr2ogr -f GeoJSON grids.geojson nanjing.gpkg grids     # the same layer through GDAL"
    )]
    Export(export::ExportArgs),
    /// Apply pending schema migrations to a store (a GeoPackage or a PostgreSQL database) and
    /// print its schema version. Refuses a database migrated by a newer gridcircle.
    #[command(
        after_help = "Examples:\n  gridcircle migrate --db postgres://postgres@127.0.0.1:5432/gridcircle\n  DATABASE_URL=postgres://postgres@127.0.0.1/gridcircle gridcircle migrate\n  gridcircle migrate --db nanjing.gpkg"
    )]
    Migrate(migrate::MigrateArgs),
    /// Bearer tokens for writes: create (the token is printed once; only its SHA-256 is
    /// stored), revoke, list.
    Token {
        #[command(subcommand)]
        action: token::TokenCommand,
    },
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
    let db = match &mut command {
        Command::Import(args) => &mut args.db,
        Command::Serve(args) => &mut args.db,
        Command::Demo(args) => &mut args.db,
        Command::Coverage(args) => &mut args.db,
        Command::Export(args) => &mut args.db,
        Command::Migrate(args) => &mut args.db,
        Command::Token { action } => action.db_mut(),
    };
    *db = resolve_db(std::mem::take(db));
    match command {
        Command::Import(args) => args.run(&catalogue).await,
        Command::Serve(args) => args.run(catalogue).await,
        Command::Demo(args) => args.run(catalogue).await,
        Command::Coverage(args) => args.run(catalogue).await,
        Command::Export(args) => args.run(&catalogue).await,
        Command::Migrate(args) => args.run().await,
        Command::Token { action } => action.run(&catalogue).await,
    }
}
