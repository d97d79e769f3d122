//! `gridcircle import`: an OSM extract, real household counts or a GeoJSON layer into the
//! store; [`import_file`] is also how `demo` fills a fresh store.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::args::{EstimateArgs, TopologyArgs};
use crate::config::HouseholdEstimate;
use crate::import::{
    Layer, LayerOptions, import_geojson_layer_with, read_household_counts, read_osm_pbf,
};
use crate::model::KindCatalogue;
use crate::store::Store;

/// The arguments of `gridcircle import`.
#[derive(Debug, clap::Args)]
pub(super) struct ImportArgs {
    /// The file to import.
    file: PathBuf,
    /// The store: a GeoPackage file path, or postgres://user@host:port/db (PostGIS).
    #[arg(long, default_value = "gridcircle.gpkg", env = "GRIDCIRCLE_DB")]
    pub(super) db: String,
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
}

impl ImportArgs {
    /// Imports the file into the store and prints what was imported.
    pub(super) async fn run(self, catalogue: &KindCatalogue) -> anyhow::Result<()> {
        let store = Store::open(&self.db).await?;
        let options = LayerOptions {
            parent_field: self.parent_field,
            topology: self.topology.config()?,
            ..LayerOptions::default()
        };
        import_file(
            &store,
            catalogue,
            &self.file,
            self.layer,
            options,
            self.timezone,
            &self.estimate.estimate(),
            true,
        )
        .await?;
        store.close().await;
        Ok(())
    }
}

/// Imports `file` into `store`, by its extension: `.osm.pbf` (an OSM extract), `.csv` (real
/// household counts) or `.geojson`/`.json` (the layer `layer`, checked with `options`).
/// `verbose` prints the OSM import report and every GeoJSON layer's counts, and lists rejected
/// features without failing (as `gridcircle import` does); otherwise a rejected feature fails
/// the import (the demo's layers must import whole).
#[allow(clippy::too_many_arguments)]
pub(super) async fn import_file(
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
