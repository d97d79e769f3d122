//! PostgreSQL + PostGIS store: the same layers as the GeoPackage, as PostGIS tables
//! (`geometry(…, 4326)` columns with GiST indexes) that QGIS and `ogr2ogr` read directly.
//! The schema is `migrations/postgres/`.
//!
//! Several service processes (replicas) may share one database. Every write transaction takes
//! one advisory lock first and, when it changes what a snapshot shows, appends a row to
//! `change_log` and sends `NOTIFY gridcircle_changes` ([`changes`]), so that the other
//! replicas apply the change (the follower in `app::replica`).

/// Tokens and the audit log: the shared code of `src/store/shared/auth.rs`, compiled for this
/// backend's connection types.
pub(super) mod auth {
    use super::backend as b;
    include!("shared/auth.rs");
}
pub(super) mod backend;
pub(crate) mod changes;
/// Circle definitions and facility circles: `src/store/shared/circles.rs` for this backend.
pub(super) mod circles {
    use super::backend as b;
    use super::sql;
    include!("shared/circles.rs");
}
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
/// Facility writes, the OSM import and counted households: `src/store/shared/facilities.rs`
/// for this backend.
pub(super) mod facilities {
    use super::backend as b;
    use super::sql;
    include!("shared/facilities.rs");
}
pub(super) mod sql;
mod wkb;

use std::sync::Arc;
use std::time::Duration;

use chrono_tz::Tz;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::{Change, Dataset, HouseholdCount, LayerSelection, StoreError};
use crate::model::KindCatalogue;

/// Connections per process: reads at start-up and on history routes, one writer at a time.
const CONNECTIONS: u32 = 8;

/// The schema migrations, embedded in version order (the files of `migrations/postgres/`; a
/// unit test checks that this list and the directory agree).
pub(crate) const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "schema",
        include_str!("../../migrations/postgres/0001_schema.sql"),
    ),
    (
        2,
        "change_log",
        include_str!("../../migrations/postgres/0002_change_log.sql"),
    ),
    (
        3,
        "land",
        include_str!("../../migrations/postgres/0003_land.sql"),
    ),
];

/// True for the locations this backend serves: `postgres://…` and `postgresql://…`.
pub fn is_postgres_location(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

/// PostgreSQL + PostGIS store.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// This process's name in the change log, so a replica skips its own changes.
    origin: Arc<str>,
}

impl PostgresStore {
    /// Connects to `location` (`postgres://user@host:port/db`), refuses a schema newer than
    /// this binary, applies pending migrations (under sqlx's advisory lock, so replicas starting
    /// together migrate once) and re-derives membership if it disagrees with the grids.
    pub async fn open(location: &str) -> Result<Self, StoreError> {
        let options: PgConnectOptions = location.parse().map_err(|e| {
            StoreError::Location(format!("{location:?} is not a PostgreSQL URL: {e}"))
        })?;
        let pool = PgPoolOptions::new()
            .max_connections(CONNECTIONS)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options)
            .await
            .map_err(|e| {
                StoreError::Location(format!("cannot connect to {}: {e}", redact(location)))
            })?;
        let applied = applied_version(&pool).await?;
        super::check_schema(applied, MIGRATIONS)?;
        super::migrator(MIGRATIONS).run(&pool).await?;
        let origin: Arc<str> = format!(
            "{}-{}-{:08x}",
            hostname(),
            std::process::id(),
            rand::random::<u32>()
        )
        .into();
        Ok(PostgresStore { pool, origin })
    }

    /// This process's origin name in the change log.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// A LISTEN connection on the change channel.
    /// The pool (the shared store code's reads).
    pub(super) fn reader(&self) -> &PgPool {
        &self.pool
    }

    /// A pooled connection and this process's change-log origin, for a
    /// [`crate::store::WriteTx`].
    pub(super) async fn writer_connection(
        &self,
    ) -> Result<(sqlx::pool::PoolConnection<sqlx::Postgres>, Arc<str>), StoreError> {
        Ok((self.pool.acquire().await?, self.origin.clone()))
    }

    /// A connection LISTENing on the change-log channel.
    pub async fn listener(&self) -> Result<sqlx::postgres::PgListener, StoreError> {
        let mut listener = sqlx::postgres::PgListener::connect_with(&self.pool).await?;
        listener.listen(changes::CHANNEL).await?;
        Ok(listener)
    }

    /// Loads every layer, from one repeatable-read transaction.
    pub async fn load(&self, catalogue: &KindCatalogue) -> Result<Dataset, StoreError> {
        load::load(&self.pool, catalogue, load::ALL).await
    }

    /// Loads only the selected layers (the others are left empty).
    pub async fn load_selected(
        &self,
        catalogue: &KindCatalogue,
        which: LayerSelection,
    ) -> Result<Dataset, StoreError> {
        load::load(&self.pool, catalogue, which).await
    }

    /// Change-log rows after `after`, oldest first, at most `limit`.
    pub async fn changes_since(&self, after: i64, limit: i64) -> Result<Vec<Change>, StoreError> {
        changes::since(&self.pool, after, limit).await
    }

    /// The latest change-log sequence number.
    pub async fn latest_change(&self) -> Result<i64, StoreError> {
        changes::latest(&self.pool).await
    }

    /// The highest applied schema migration.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        applied_version(&self.pool).await
    }

    /// Writes an OSM import in one transaction.
    pub async fn write_osm_import(
        &self,
        import: super::OsmRows<'_>,
        timezone: Tz,
    ) -> Result<(), StoreError> {
        facilities::osm_import(&self.pool, &self.origin, import, timezone).await
    }

    /// Sets counted households by OSM reference; returns the rows matched.
    pub async fn write_household_counts(
        &self,
        counts: &[HouseholdCount],
    ) -> Result<usize, StoreError> {
        facilities::household_counts(&self.pool, &self.origin, counts).await
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The highest applied migration version (0 on an empty database).
async fn applied_version(pool: &PgPool) -> Result<i64, StoreError> {
    let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations')::text")
        .fetch_one(pool)
        .await?;
    if exists.is_none() {
        return Ok(0);
    }
    Ok(sqlx::query_scalar(
        "SELECT COALESCE(MAX(version), 0)::bigint FROM _sqlx_migrations WHERE success",
    )
    .fetch_one(pool)
    .await?)
}

/// The URL without its password, for messages.
fn redact(location: &str) -> String {
    match (location.find("://"), location.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &location[s + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}@{}", &location[..s + 3], &location[at + 1..])
        }
        _ => location.to_owned(),
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "replica".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_migrations_match_the_directory() {
        crate::store::check_embedded_migrations(
            concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgres"),
            MIGRATIONS,
        );
    }

    #[test]
    fn locations() {
        assert!(is_postgres_location(
            "postgres://postgres@127.0.0.1:5432/gc"
        ));
        assert!(is_postgres_location("postgresql://h/db"));
        assert!(!is_postgres_location("gridcircle.gpkg"));
        assert!(!is_postgres_location("sqlite://x.gpkg"));
        assert_eq!(
            redact("postgres://u:secret@h:5432/db"),
            "postgres://u@h:5432/db"
        );
        assert_eq!(redact("postgres://h/db"), "postgres://h/db");
    }
}
