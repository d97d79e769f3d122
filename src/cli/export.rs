//! `gridcircle export`: a layer as GeoJSON in the format `import` reads.

use std::path::PathBuf;

use crate::import::{Layer, export_geojson_layer};
use crate::model::KindCatalogue;
use crate::store::Store;

/// The arguments of `gridcircle export`.
#[derive(Debug, clap::Args)]
pub(super) struct ExportArgs {
    /// The store.
    #[arg(long, default_value = "gridcircle.gpkg", env = "GRIDCIRCLE_DB")]
    pub(super) db: String,
    /// street-offices, communities or grids.
    #[arg(long, value_enum)]
    layer: Layer,
    /// The GeoJSON file to write.
    #[arg(long)]
    out: PathBuf,
    /// Include the phones of grid chiefs and workers (personal data; off by default).
    #[arg(long)]
    with_personal_data: bool,
}

impl ExportArgs {
    /// Writes the layer to `out` and says how many features it holds.
    pub(super) async fn run(self, catalogue: &KindCatalogue) -> anyhow::Result<()> {
        let Self {
            db,
            layer,
            out,
            with_personal_data,
        } = self;
        anyhow::ensure!(super::store_exists(&db), "no store at {db}");
        let store = Store::open(&db).await?;
        let n = export_geojson_layer(&store, catalogue, layer, &out, with_personal_data).await?;
        store.close().await;
        eprintln!("wrote {n} features to {}", out.display());
        Ok(())
    }
}
