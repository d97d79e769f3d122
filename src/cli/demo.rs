//! `gridcircle demo`: on first run, import Nanjing Xinjiekou and the illustrative demo layers
//! of `data/demo/` into the store (and print an admin token), then serve it.

use std::path::PathBuf;
use std::sync::Arc;

use super::import::import_file;
use super::serve::{ServeArgs, serve_store};
use crate::config::HouseholdEstimate;
use crate::import::{Layer, LayerOptions};
use crate::model::KindCatalogue;
use crate::store::Store;

/// The arguments of `gridcircle demo`.
#[derive(Debug, clap::Args)]
pub(super) struct DemoArgs {
    /// The store to create (if missing) and serve.
    #[arg(long, default_value = "gridcircle.gpkg", env = "GRIDCIRCLE_DB")]
    pub(super) db: String,
    /// The OSM extract to import on first run.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/nanjing-xinjiekou.osm.pbf"))]
    osm: PathBuf,
    /// The folder of demo layers (street_offices, communities, grids, facilities .geojson).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/data/demo"))]
    layers: PathBuf,
    #[command(flatten)]
    serve: ServeArgs,
}

impl DemoArgs {
    /// Fills the store on first run (nothing imported yet), then serves it.
    pub(super) async fn run(self, catalogue: Arc<KindCatalogue>) -> anyhow::Result<()> {
        let Self {
            db,
            osm,
            layers,
            serve,
        } = self;
        serve.topology.config()?;
        let fresh = !super::store_exists(&db);
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
                "Demo layers are illustrative, drawn by `gridcircle-tools demo-layers`: not official boundaries."
            );
        }
        serve_store(store, catalogue, &serve).await
    }
}
