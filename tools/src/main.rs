//! `gridcircle-tools`: the scale generator, the demo-layer drawer and the benchmark worker.
//!
//! It keeps the system allocator (the service binary uses mimalloc): `bench-compare` measures
//! the library in-process as the benchmark worker always has, so its figures stay comparable.

mod bench_compare;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use gridcircle::model::KindCatalogue;
use gridcircle::store::Store;
use gridcircle_tools::{demo, synth};

/// gridcircle-tools: development tools of gridcircle (scale generator, demo-layer drawer,
/// benchmark worker). Data © OpenStreetMap contributors (ODbL).
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Tools {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build a larger city for scale work: N×N shifted copies of an extract (Porto by default)
    /// with renumbered ids and joined street networks, as an OSM file or into a store.
    Synth(synth::SynthArgs),
    /// Draw the demo layers for an imported store with the project's own rules (street office
    /// around the buildings, communities and grids split by household counts, shared
    /// facilities at real named buildings) and write them as GeoJSON.
    #[command(
        after_help = "Example:\n  gridcircle import ../shared/data/nanjing-xinjiekou.osm.pbf --db /tmp/nj.gpkg\n  gridcircle-tools demo-layers --db /tmp/nj.gpkg --out data/demo"
    )]
    DemoLayers(DemoLayersArgs),
    /// The gridcircle side of the side-by-side benchmarks (bench/compare/run.sh runs it):
    /// prepare the inputs, or answer workloads on stdin.
    BenchCompare {
        #[command(subcommand)]
        action: bench_compare::BenchCompare,
    },
}

/// The arguments of `gridcircle-tools demo-layers`.
#[derive(Debug, clap::Args)]
struct DemoLayersArgs {
    /// An imported store.
    #[arg(long)]
    db: String,
    /// Output folder.
    #[arg(long, default_value = "data/demo")]
    out: PathBuf,
    /// Target households per grid.
    #[arg(long, default_value_t = 400)]
    households_per_grid: u32,
}

impl DemoLayersArgs {
    /// Loads the store, draws the layers and writes them into `out`.
    async fn run(self) -> anyhow::Result<()> {
        let store = Store::open(&self.db).await?;
        let data = store.load(&KindCatalogue::bundled()).await?;
        demo::write_demo_layers(&data, self.households_per_grid, &self.out)?;
        eprintln!("wrote demo layers to {}", self.out.display());
        Ok(())
    }
}

/// A runtime for the subcommands that use the store (`bench-compare` builds its own).
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Tools::parse().command {
        Command::Synth(args) => runtime()?.block_on(synth::run(args)),
        Command::DemoLayers(args) => runtime()?.block_on(args.run()),
        Command::BenchCompare { action } => action.run(),
    }
}
