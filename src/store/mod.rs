//! Persistence. One interface, one module per backend: `geopackage` (SQLite laid out as an
//! OGC GeoPackage, the default) and `postgres` (PostgreSQL + PostGIS, for several replicas
//! sharing one database).
//!
//! The store is written by import and by HTTP writes, and read once at start-up (and after
//! each write's commit) to build the in-memory snapshot (the read model). Nothing reads the
//! store on the query path.

mod boundaries;
mod columns;
mod geopackage;
mod layer;
mod postgres;
pub mod shared;
mod write_tx;

pub use boundaries::{
    BoundaryAction, BoundaryChange, BoundaryLayer, BoundaryState, ChangeBy, Committed, GridRemoval,
    MembersOnDelete, PartitionCommitted, history_time,
};
pub(crate) use boundaries::{check_version, check_versions};
pub use geopackage::GeoPackageStore;
pub use postgres::{PostgresStore, is_postgres_location};
pub use write_tx::WriteTx;

pub(crate) use columns::{WorkerJson, constraint_conflict, workers_json};
pub(crate) use layer::Layer;

// The layers as model types; here too, since they are what the store loads and stores.
pub use crate::model::{Dataset, FacilityCircle};

use chrono_tz::Tz;

use crate::model::{KindCatalogue, OsmRef};

/// The OSM layers an import writes ([`Store::write_osm_import`]), borrowed from whatever read
/// them (the importer's `OsmImport` converts into this).
#[derive(Debug, Clone, Copy)]
pub struct OsmRows<'a> {
    /// Buildings.
    pub buildings: &'a [crate::model::Building],
    /// Facilities, each with its OSM reference.
    pub facilities: &'a [crate::model::Facility],
    /// Streets and paths.
    pub ways: &'a [crate::model::StreetWay],
    /// Water and green areas.
    pub land: &'a [crate::model::LandArea],
}

/// Real household and resident counts for one building, from a CSV import.
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdCount {
    /// The building, by OSM reference.
    pub osm: OsmRef,
    /// Households.
    pub households: u32,
    /// Residents.
    pub residents: u32,
}

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database said no.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored row no longer passes model validation (edited outside the service?).
    #[error("stored {table} row {id} is invalid: {message}")]
    Corrupt {
        /// Table.
        table: &'static str,
        /// Row id.
        id: i64,
        /// What is wrong.
        message: String,
    },
    /// A unique code already exists.
    #[error("{0}")]
    Conflict(String),
    /// The location is not a database this service understands.
    #[error("{0}")]
    Location(String),
    /// A versioned write was based on a version that is no longer stored (another write, maybe
    /// on another replica, came first): nothing was written.
    #[error("{id} has version {found}, not {expected}: it changed meanwhile")]
    VersionMismatch {
        /// The feature.
        id: i64,
        /// The version the write was based on.
        expected: i64,
        /// The version stored now (0: the feature is gone).
        found: i64,
    },
    /// A write was based on a record that is no longer stored as it was (another write, maybe
    /// on another replica, changed it first): nothing was written.
    #[error("{0} changed meanwhile")]
    Stale(String),
    /// The task running a write was cancelled (the runtime is shutting down) before it
    /// finished: its transaction was rolled back.
    #[error("the write was interrupted: {0}")]
    Interrupted(String),
    /// The database was migrated by a newer gridcircle than this binary.
    #[error(
        "the database schema is at version {applied}, newer than this binary knows (up to {known}): run a gridcircle at least as new as the one that migrated it"
    )]
    SchemaTooNew {
        /// The highest migration applied to the database.
        applied: i64,
        /// The highest migration this binary embeds.
        known: i64,
    },
}

/// The migrator of an embedded migration list (`(version, description, sql)` in version
/// order). `sqlx::migrate!` would embed the files too, but it needs sqlx's `macros` feature,
/// which this crate does not enable; [`check_embedded_migrations`] holds each list to its
/// directory.
pub(crate) fn migrator(
    migrations: &[(i64, &'static str, &'static str)],
) -> sqlx::migrate::Migrator {
    use sqlx::SqlSafeStr;
    use sqlx::migrate::{Migration, MigrationType, Migrator};
    Migrator::with_migrations(
        migrations
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    std::borrow::Cow::Borrowed(description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

/// Asserts that `migrations` is exactly the `.sql` files of `dir`, named
/// `NNNN_description.sql`, in order and byte for byte (a unit test of each backend calls it).
#[cfg(test)]
pub(crate) fn check_embedded_migrations(dir: &str, migrations: &[(i64, &str, &str)]) {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        migrations.len(),
        "register every file of {dir} in MIGRATIONS"
    );
    for (file, &(version, description, sql)) in files.iter().zip(migrations) {
        assert_eq!(file, &format!("{version:04}_{description}.sql"));
        assert_eq!(
            std::fs::read_to_string(format!("{dir}/{file}")).unwrap(),
            sql
        );
    }
}

/// Refuses a database migrated further than `migrations` (the binary's embedded list) go.
pub(crate) fn check_schema(
    applied: i64,
    migrations: &[(i64, &str, &str)],
) -> Result<(), StoreError> {
    let known = migrations.iter().map(|m| m.0).max().unwrap_or(0);
    if applied > known {
        return Err(StoreError::SchemaTooNew { applied, known });
    }
    Ok(())
}

/// One row of the change log that keeps replicas in sync (PostgreSQL only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Sequence number; rows commit in this order.
    pub seq: i64,
    /// When (RFC 3339, UTC, milliseconds).
    pub at: String,
    /// The process that wrote it.
    pub origin: String,
    /// What it touched: facilities, grids, communities, street_offices, circles or all.
    pub layers: Vec<String>,
}

/// Which layers to load (the others stay empty in the [`Dataset`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LayerSelection {
    /// Street offices and communities.
    pub admin: bool,
    /// Grids.
    pub grids: bool,
    /// Buildings, ways, land areas and the time zone.
    pub osm: bool,
    /// Facilities.
    pub facilities: bool,
}

/// The store: one enum over the backends, so callers never name a backend.
#[derive(Debug, Clone)]
pub enum Store {
    /// SQLite file laid out as a GeoPackage.
    GeoPackage(GeoPackageStore),
    /// PostgreSQL + PostGIS, shareable by several replicas.
    Postgres(PostgresStore),
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $body:expr) => {
        match $self {
            Store::GeoPackage($s) => $body,
            Store::Postgres($s) => $body,
        }
    };
}

/// Calls a read of the store code shared by both backends (`src/store/shared/`) with the
/// backend's read pool.
macro_rules! read_shared {
    ($self:ident, $module:ident :: $f:ident ( $($arg:expr),* $(,)? )) => {
        match $self {
            Store::GeoPackage(s) => geopackage::$module::$f(s.reader(), $($arg),*).await,
            Store::Postgres(s) => postgres::$module::$f(s.reader(), $($arg),*).await,
        }
    };
}

impl Store {
    /// Opens the store at `location`, applying pending migrations: `postgres://…` (or
    /// `postgresql://…`) selects PostgreSQL + PostGIS; anything else is a GeoPackage file path
    /// or `sqlite://path` (created if missing). A database migrated by a newer binary is
    /// refused ([`StoreError::SchemaTooNew`]).
    pub async fn open(location: &str) -> Result<Store, StoreError> {
        let store = if is_postgres_location(location) {
            Store::Postgres(PostgresStore::open(location).await?)
        } else {
            Store::GeoPackage(GeoPackageStore::open(location).await?)
        };
        // Membership is derived: re-derive it where it disagrees with the grids (an older
        // file, grids edited in desktop GIS). Writes nothing when it agrees.
        let mut tx = store.begin_write().await?;
        let healed = tx.heal_membership().await?;
        if healed > 0 {
            tx.commit().await?;
            tracing::info!(buildings = healed, "grid membership re-derived");
        } else {
            tx.rollback().await;
        }
        Ok(store)
    }

    /// The PostgreSQL store, when this is one (replication needs it).
    pub fn postgres(&self) -> Option<&PostgresStore> {
        match self {
            Store::Postgres(p) => Some(p),
            Store::GeoPackage(_) => None,
        }
    }

    /// The backend's name: `geopackage` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::GeoPackage(_) => "geopackage",
            Store::Postgres(_) => "postgres",
        }
    }

    /// The highest schema migration applied to the store.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        dispatch!(self, s => s.schema_version().await)
    }

    /// True when nothing was imported yet (no buildings, no street offices).
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        read_shared!(self, load::is_empty())
    }

    /// Loads only the selected layers (the others are left empty).
    pub async fn load_selected(
        &self,
        catalogue: &KindCatalogue,
        which: LayerSelection,
    ) -> Result<Dataset, StoreError> {
        dispatch!(self, s => s.load_selected(catalogue, which).await)
    }

    /// Change-log rows after `after`, oldest first, at most `limit` (always empty on a
    /// GeoPackage: one process owns the file).
    pub async fn changes_since(&self, after: i64, limit: i64) -> Result<Vec<Change>, StoreError> {
        match self {
            Store::Postgres(p) => p.changes_since(after, limit).await,
            Store::GeoPackage(_) => Ok(Vec::new()),
        }
    }

    /// The latest change-log sequence number (0 on a GeoPackage).
    pub async fn latest_change(&self) -> Result<i64, StoreError> {
        match self {
            Store::Postgres(p) => p.latest_change().await,
            Store::GeoPackage(_) => Ok(0),
        }
    }

    /// Loads every layer, validating each row into model types.
    pub async fn load(&self, catalogue: &KindCatalogue) -> Result<Dataset, StoreError> {
        dispatch!(self, s => s.load(catalogue).await)
    }

    /// Circle definitions (empty when none are stored yet).
    pub async fn load_circles(
        &self,
        catalogue: &KindCatalogue,
    ) -> Result<Vec<crate::model::CircleDef>, StoreError> {
        read_shared!(self, circles::load_circles(catalogue))
    }

    /// Every stored facility circle.
    pub async fn load_facility_circles(&self) -> Result<Vec<FacilityCircle>, StoreError> {
        read_shared!(self, circles::load_facility_circles())
    }

    /// Writes an OSM import in one transaction: upserts buildings, OSM facilities and ways by
    /// their OSM reference (keeping existing ids), and deletes OSM-sourced rows that are no
    /// longer in the file. Facilities created by users (no OSM reference) are untouched, and
    /// buildings keep counted households. Importing the same file twice gives the same database.
    pub async fn write_osm_import<'a>(
        &self,
        import: impl Into<OsmRows<'a>>,
        timezone: Tz,
    ) -> Result<(), StoreError> {
        let rows = import.into();
        dispatch!(self, s => s.write_osm_import(rows, timezone).await)
    }

    /// Overrides household and resident counts with real ones; returns how many buildings matched.
    pub async fn write_household_counts(
        &self,
        counts: &[HouseholdCount],
    ) -> Result<usize, StoreError> {
        dispatch!(self, s => s.write_household_counts(counts).await)
    }

    /// Closes the pool after checkpointing, so the single file is complete for desktop GIS.
    pub async fn close(&self) {
        dispatch!(self, s => s.close().await)
    }

    // ------------------------------------------------------------ grids as governance objects
    // (issue #4: boundary history, membership, renumbering, building chiefs)

    /// Every recorded change to one feature's boundary, oldest first.
    pub async fn boundary_history(
        &self,
        layer: BoundaryLayer,
        feature_id: i64,
    ) -> Result<Vec<BoundaryChange>, StoreError> {
        read_shared!(self, grids::history(layer, feature_id))
    }

    /// The features of `layer` as they were at `at` (from the history), in id order.
    pub async fn boundaries_as_of(
        &self,
        layer: BoundaryLayer,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Vec<(i64, BoundaryState)>, StoreError> {
        read_shared!(self, grids::as_of(layer, at))
    }

    /// The stored membership: `(building id, grid id)` for every building.
    pub async fn grid_membership(&self) -> Result<Vec<(i64, Option<i64>)>, StoreError> {
        read_shared!(self, grids::membership())
    }

    /// The chiefs of the given buildings (only those that have one).
    pub async fn building_chiefs(
        &self,
        building_ids: &[i64],
    ) -> Result<std::collections::HashMap<i64, crate::model::Person>, StoreError> {
        read_shared!(self, grids::building_chiefs(building_ids))
    }

    // ------------------------------------------------------------ tokens and audit (issue 8)

    /// The id of the unrevoked token whose hash is `hash`.
    pub async fn token_id_by_hash(&self, hash: &str) -> Result<Option<i64>, StoreError> {
        read_shared!(self, auth::token_id_by_hash(hash))
    }

    /// Stores a new token (by its SHA-256 `hash`, never the token) with its role, scope and
    /// label, and its audit record, in one transaction; returns its id.
    pub async fn create_token(
        &self,
        hash: &str,
        role: crate::auth::Role,
        scope: &crate::auth::Scope,
        label: &str,
    ) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let id = tx.create_token(hash, role, scope, label).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Revokes token `id` (audited in the same transaction); false when there is no such
    /// unrevoked token.
    pub async fn revoke_token(&self, id: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = tx.revoke_token(id).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// The principal (role, scope, label) of the unrevoked token whose hash is `hash`.
    pub async fn principal(
        &self,
        hash: &str,
    ) -> Result<Option<crate::auth::Principal>, StoreError> {
        read_shared!(self, auth::principal(hash))
    }

    /// Every token ever issued (hashes and secrets excluded), oldest first.
    pub async fn tokens(&self) -> Result<Vec<crate::auth::TokenRecord>, StoreError> {
        read_shared!(self, auth::tokens())
    }

    /// Audit records with id above `after_id`, oldest first, at most `limit`, optionally of
    /// one layer and feature.
    pub async fn audit(
        &self,
        after_id: i64,
        limit: i64,
        layer: Option<&str>,
        feature_id: Option<&str>,
    ) -> Result<Vec<crate::auth::AuditRecord>, StoreError> {
        read_shared!(self, auth::audit(after_id, limit, layer, feature_id))
    }
}
