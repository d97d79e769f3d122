//! `gridcircle migrate`: apply pending schema migrations and print the schema version.

use crate::store::Store;

/// The arguments of `gridcircle migrate`.
#[derive(Debug, clap::Args)]
pub(super) struct MigrateArgs {
    /// The store: a GeoPackage file path, or postgres://user@host:port/db.
    #[arg(long, default_value = "gridcircle.gpkg", env = "GRIDCIRCLE_DB")]
    pub(super) db: String,
}

impl MigrateArgs {
    /// Opens the store (which applies pending migrations) and prints its schema version.
    pub(super) async fn run(self) -> anyhow::Result<()> {
        let store = Store::open(&self.db).await?;
        let version = store.schema_version().await?;
        store.close().await;
        println!("{} store at schema version {version}", store.backend());
        Ok(())
    }
}
