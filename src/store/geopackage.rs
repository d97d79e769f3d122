//! GeoPackage store: one SQLite file laid out as an OGC GeoPackage 1.3, so that QGIS and GDAL
//! open it directly (layers `street_offices`, `communities`, `grids`, `buildings`,
//! `facilities`, `ways`, plus the attributes table `settings`). The schema is
//! `migrations/sqlite/`.
//!
//! Connections: one writer connection (a pool of size 1, so that transactions never race for
//! SQLite's single write lock inside the service, and every write transaction starts with
//! `BEGIN IMMEDIATE`) and a small pool of read-only connections for `load`. WAL journal,
//! `synchronous = FULL` (an acknowledged write survives power loss), foreign keys on.
//!
//! Geometries are GeoPackageBinary blobs ([`gpkg_binary`]) in WGS 84 (srs_id 4326).

/// Tokens and the audit log: the shared code of `src/store/shared/auth.rs`, compiled for this
/// backend's connection types.
pub(super) mod auth {
    use super::backend as b;
    include!("shared/auth.rs");
}
pub(super) mod backend;
/// Circle definitions and facility circles: `src/store/shared/circles.rs` for this backend.
pub(super) mod circles {
    use super::backend as b;
    use super::sql;
    include!("shared/circles.rs");
}
/// Facility writes, the OSM import and counted households: `src/store/shared/facilities.rs`
/// for this backend.
pub(super) mod facilities {
    use super::backend as b;
    use super::sql;
    include!("shared/facilities.rs");
}
mod gpkg_binary;
/// Grids, communities, street offices, history, membership and chiefs:
/// `src/store/shared/grids.rs` for this backend.
pub(super) mod grids {
    use super::backend as b;
    use super::sql;
    include!("shared/grids.rs");
}
/// Loading the layers into model types: `src/store/shared/load.rs` for this backend.
pub(super) mod load {
    use super::backend as b;
    use super::sql;
    include!("shared/load.rs");
}
pub(super) mod sql;

use std::path::PathBuf;
use std::time::Duration;

use chrono_tz::Tz;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::{Dataset, HouseholdCount, LayerSelection, StoreError};
use crate::model::KindCatalogue;

/// How long a statement waits for another process's lock (QGIS editing the file) before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// Read-only connections for `load`.
const READERS: u32 = 4;

/// The schema migrations, embedded in the binary in version order.
///
/// These are the files of `migrations/sqlite/`. (`sqlx::migrate!` would embed them too, but it
/// needs sqlx's `macros` feature, which this crate does not enable; a unit test checks that
/// this list and the directory agree.)
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "geopackage",
        include_str!("../../migrations/sqlite/0001_geopackage.sql"),
    ),
    (
        2,
        "grid_history",
        include_str!("../../migrations/sqlite/0002_grid_history.sql"),
    ),
    (
        3,
        "circles",
        include_str!("../../migrations/sqlite/0003_circles.sql"),
    ),
    (
        4,
        "auth",
        include_str!("../../migrations/sqlite/0004_auth.sql"),
    ),
    (
        5,
        "land",
        include_str!("../../migrations/sqlite/0005_land.sql"),
    ),
];

/// SQLite file laid out as an OGC GeoPackage 1.3.
#[derive(Debug, Clone)]
pub struct GeoPackageStore {
    /// The single writer connection.
    writer: SqlitePool,
    /// Read-only connections.
    reader: SqlitePool,
}

/// The file path of a location: `path`, `sqlite://path` or `sqlite:path`.
fn parse_location(location: &str) -> Result<PathBuf, StoreError> {
    let path = location
        .strip_prefix("sqlite://")
        .or_else(|| location.strip_prefix("sqlite:"))
        .unwrap_or(location);
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    if path.is_empty() {
        return Err(StoreError::Location(format!("{location:?} names no file")));
    }
    if path == ":memory:" || path.starts_with("file::memory:") {
        return Err(StoreError::Location(
            "an in-memory database cannot be shared by the writer and the readers; use a file"
                .into(),
        ));
    }
    if let Some((scheme, _)) = path.split_once("://") {
        return Err(StoreError::Location(format!(
            "{location:?} is a {scheme}:// location; the GeoPackage store takes a file path or sqlite://path"
        )));
    }
    Ok(PathBuf::from(path))
}

impl GeoPackageStore {
    /// Opens the GeoPackage at `location` (a path or `sqlite://path`), creating the file and
    /// its schema if missing and applying pending migrations.
    pub async fn open(location: &str) -> Result<Self, StoreError> {
        let path = parse_location(location)?;
        let base = SqliteConnectOptions::new()
            .filename(&path)
            .foreign_keys(true)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT);
        let cannot_open =
            |e: sqlx::Error| StoreError::Location(format!("cannot open {}: {e}", path.display()));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                base.clone()
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal),
            )
            .await
            .map_err(cannot_open)?;
        // SQLite plans the whole statement, so the table is checked for before it is read.
        let migrated: Option<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_optional(&writer)
        .await?;
        let applied: i64 = match migrated {
            None => 0,
            Some(_) => {
                sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations")
                    .fetch_one(&writer)
                    .await?
            }
        };
        super::check_schema(applied, MIGRATIONS)?;
        super::migrator(MIGRATIONS).run(&writer).await?;
        // Readers are opened after the writer switched the file to WAL (a persistent setting),
        // so they need not (and, read-only, could not) change the journal mode.
        let reader = SqlitePoolOptions::new()
            .max_connections(READERS)
            .connect_with(base.read_only(true))
            .await
            .map_err(cannot_open)?;
        Ok(GeoPackageStore { writer, reader })
    }

    /// Loads every layer into validated model types, in fid order, from one read snapshot.
    pub async fn load(&self, catalogue: &KindCatalogue) -> Result<Dataset, StoreError> {
        load::load(&self.reader, catalogue, load::ALL).await
    }

    /// Loads only the selected layers (the others are left empty).
    pub async fn load_selected(
        &self,
        catalogue: &KindCatalogue,
        which: LayerSelection,
    ) -> Result<Dataset, StoreError> {
        load::load(&self.reader, catalogue, which).await
    }

    /// The highest applied schema migration.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations")
                .fetch_one(&self.reader)
                .await?,
        )
    }

    /// Writes an OSM import in one transaction (see [`crate::store::Store::write_osm_import`]).
    pub async fn write_osm_import(
        &self,
        import: super::OsmRows<'_>,
        timezone: Tz,
    ) -> Result<(), StoreError> {
        facilities::osm_import(&self.writer, backend::ORIGIN, import, timezone).await
    }

    /// Sets counted households and residents by OSM reference; returns the rows matched.
    pub async fn write_household_counts(
        &self,
        counts: &[HouseholdCount],
    ) -> Result<usize, StoreError> {
        facilities::household_counts(&self.writer, backend::ORIGIN, counts).await
    }

    // ------------------------------------------------------------ tokens and audit (issue 8)

    /// The read-only pool (the shared store code's reads).
    pub(super) fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    /// The single writer connection, for a [`crate::store::WriteTx`].
    pub(super) async fn writer_connection(
        &self,
    ) -> Result<sqlx::pool::PoolConnection<sqlx::Sqlite>, StoreError> {
        Ok(self.writer.acquire().await?)
    }

    /// Checkpoints the WAL into the main file (so the single `.gpkg` is complete for desktop
    /// GIS) and closes every connection.
    pub async fn close(&self) {
        self.reader.close().await;
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.writer)
            .await
        {
            tracing::warn!(error = %e, "WAL checkpoint on close failed");
        }
        self.writer.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        assert_eq!(
            parse_location("data/x.gpkg").unwrap(),
            PathBuf::from("data/x.gpkg")
        );
        assert_eq!(
            parse_location("sqlite://data/x.gpkg").unwrap(),
            PathBuf::from("data/x.gpkg")
        );
        assert_eq!(
            parse_location("sqlite:///tmp/x.gpkg").unwrap(),
            PathBuf::from("/tmp/x.gpkg")
        );
        assert_eq!(
            parse_location("sqlite:x.gpkg?mode=rwc").unwrap(),
            PathBuf::from("x.gpkg")
        );
        assert!(matches!(parse_location(""), Err(StoreError::Location(_))));
        assert!(matches!(
            parse_location("sqlite::memory:"),
            Err(StoreError::Location(_))
        ));
        assert!(matches!(
            parse_location("postgres://db/x"),
            Err(StoreError::Location(_))
        ));
    }

    #[test]
    fn embedded_migrations_match_the_directory() {
        crate::store::check_embedded_migrations(
            concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"),
            MIGRATIONS,
        );
    }
}
