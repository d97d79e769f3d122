//! Persistence. One interface, one module per backend: `geopackage` (SQLite laid out as an
//! OGC GeoPackage, the default) and later `postgres` (PostGIS).
//!
//! The store is written by import and by HTTP writes, and read once at start-up (and after
//! each write's commit) to build the in-memory [`crate::index::Snapshot`]. Nothing reads the
//! store on the query path.

mod geopackage;

pub use geopackage::GeoPackageStore;

use chrono_tz::Tz;

use crate::import::OsmImport;
use crate::model::{
    Building, Community, Facility, Grid, KindCatalogue, OsmRef, StreetOffice, StreetWay,
};

/// Everything the store holds, as validated model types.
#[derive(Debug, Clone, Default)]
pub struct Dataset {
    /// Street offices.
    pub street_offices: Vec<StreetOffice>,
    /// Communities.
    pub communities: Vec<Community>,
    /// Grids.
    pub grids: Vec<Grid>,
    /// Buildings.
    pub buildings: Vec<Building>,
    /// Facilities.
    pub facilities: Vec<Facility>,
    /// Streets and paths.
    pub ways: Vec<StreetWay>,
    /// The city's time zone (opening hours are local time).
    pub timezone: Option<Tz>,
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
}

/// The store: one enum over the backends, so callers never name a backend.
#[derive(Debug, Clone)]
pub enum Store {
    /// SQLite file laid out as a GeoPackage.
    GeoPackage(GeoPackageStore),
}

macro_rules! dispatch {
    ($self:ident, $s:ident => $body:expr) => {
        match $self {
            Store::GeoPackage($s) => $body,
        }
    };
}

impl Store {
    /// Opens (creating and migrating if needed) the store at `location`: a file path or
    /// `sqlite://path`.
    pub async fn open(location: &str) -> Result<Store, StoreError> {
        Ok(Store::GeoPackage(GeoPackageStore::open(location).await?))
    }

    /// Loads every layer, validating each row into model types.
    pub async fn load(&self, catalogue: &KindCatalogue) -> Result<Dataset, StoreError> {
        dispatch!(self, s => s.load(catalogue).await)
    }

    /// Writes an OSM import in one transaction: upserts buildings, OSM facilities and ways by
    /// their OSM reference (keeping existing ids), and deletes OSM-sourced rows that are no
    /// longer in the file. Facilities created by users (no OSM reference) are untouched, and
    /// buildings keep counted households. Importing the same file twice gives the same database.
    pub async fn write_osm_import(
        &self,
        import: &OsmImport,
        timezone: Tz,
    ) -> Result<(), StoreError> {
        dispatch!(self, s => s.write_osm_import(import, timezone).await)
    }

    /// Overrides household and resident counts with real ones; returns how many buildings matched.
    pub async fn write_household_counts(
        &self,
        counts: &[HouseholdCount],
    ) -> Result<usize, StoreError> {
        dispatch!(self, s => s.write_household_counts(counts).await)
    }

    /// Inserts a facility (its `id` is ignored) and returns the new id.
    pub async fn insert_facility(&self, facility: &Facility) -> Result<i64, StoreError> {
        dispatch!(self, s => s.insert_facility(facility).await)
    }

    /// Replaces facility `facility.id`; false when no such id.
    pub async fn replace_facility(&self, facility: &Facility) -> Result<bool, StoreError> {
        dispatch!(self, s => s.replace_facility(facility).await)
    }

    /// Deletes a facility; false when no such id.
    pub async fn delete_facility(&self, id: i64) -> Result<bool, StoreError> {
        dispatch!(self, s => s.delete_facility(id).await)
    }

    /// Inserts a grid (its `id` is ignored) and returns the new id. A duplicate code is a
    /// `Conflict`.
    pub async fn insert_grid(&self, grid: &Grid) -> Result<i64, StoreError> {
        dispatch!(self, s => s.insert_grid(grid).await)
    }

    /// Replaces grid `grid.id`; false when no such id.
    pub async fn replace_grid(&self, grid: &Grid) -> Result<bool, StoreError> {
        dispatch!(self, s => s.replace_grid(grid).await)
    }

    /// Deletes a grid; false when no such id.
    pub async fn delete_grid(&self, id: i64) -> Result<bool, StoreError> {
        dispatch!(self, s => s.delete_grid(id).await)
    }

    /// Inserts a street office and returns its id.
    pub async fn insert_street_office(&self, office: &StreetOffice) -> Result<i64, StoreError> {
        dispatch!(self, s => s.insert_street_office(office).await)
    }

    /// Inserts a community and returns its id.
    pub async fn insert_community(&self, community: &Community) -> Result<i64, StoreError> {
        dispatch!(self, s => s.insert_community(community).await)
    }

    /// Closes the pool after checkpointing, so the single file is complete for desktop GIS.
    pub async fn close(&self) {
        dispatch!(self, s => s.close().await)
    }
}
