//! [`WriteTx`]: one store transaction, the only way anything writes to the store while the
//! service runs.
//!
//! The write path (`app::WritePath`) begins one, runs the change and its audit
//! records in it, and commits. The transaction is driven with plain `BEGIN`/`COMMIT`/
//! `ROLLBACK` statements on a pooled connection rather than sqlx's `Transaction`, so that a
//! failure anywhere (a full disk at `COMMIT`, a dropped future) can never leave the pooled
//! connection believing it is still inside a transaction: an error rolls back, and a
//! transaction that was neither committed nor rolled back (its future was dropped, or the
//! rollback itself failed) closes its connection instead of returning it to the pool, which
//! makes the database roll it back.
//!
//! ```no_run
//! # async fn demo(store: &gridcircle::store::Store) -> Result<(), gridcircle::store::StoreError> {
//! let mut tx = store.begin_write().await?;
//! tx.set_building_chief(1, None).await?;
//! tx.commit().await?;
//! # Ok(()) }
//! ```

use sqlx::pool::PoolConnection;
use sqlx::{Postgres, Sqlite};

use super::{
    ChangeBy, Committed, FacilityCircle, GridRemoval, MembersOnDelete, PartitionCommitted, Store,
    StoreError,
};
use crate::auth::AuditEntry;
use crate::grids::CodeChange;
use crate::model::{CircleDef, Community, Facility, Grid, Person, StreetOffice};

/// The connection a transaction runs on.
enum Conn {
    GeoPackage(PoolConnection<Sqlite>),
    Postgres {
        conn: PoolConnection<Postgres>,
        /// This process's name in the change log.
        origin: std::sync::Arc<str>,
    },
}

/// One open write transaction (see the module documentation). Dropping it without
/// [`WriteTx::commit`] rolls it back.
pub struct WriteTx {
    conn: Conn,
    /// False once committed or rolled back.
    open: bool,
    /// The first database error an operation in this transaction met (not a refusal such as
    /// a conflict or a stale version), for the write path's health record.
    failure: Option<StoreError>,
}

impl std::fmt::Debug for WriteTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match self.conn {
            Conn::GeoPackage(_) => "geopackage",
            Conn::Postgres { .. } => "postgres",
        };
        f.debug_struct("WriteTx")
            .field("backend", &backend)
            .field("open", &self.open)
            .finish()
    }
}

/// Runs `$body` with `$c` bound to the backend connection and `$o` to the origin (PostgreSQL).
macro_rules! on_conn {
    ($self:ident, gpkg $c:ident => $gpkg:expr, pg ($pc:ident, $o:ident) => $pg:expr) => {{
        let result = match &mut $self.conn {
            Conn::GeoPackage(conn) => {
                let $c: &mut sqlx::SqliteConnection = &mut *conn;
                $gpkg
            }
            Conn::Postgres { conn, origin } => {
                let $pc: &mut sqlx::PgConnection = &mut *conn;
                let $o: &str = origin;
                #[allow(unused_variables)]
                let _ = $o;
                $pg
            }
        };
        if let Err(StoreError::Database(e)) = &result
            && $self.failure.is_none()
        {
            $self.failure = Some(StoreError::Location(e.to_string()));
        }
        result
    }};
}

/// Calls store code shared by both backends (`src/store/shared/`): the same function of the
/// backend's instance of `$module`, with this transaction's connection and change-log origin.
macro_rules! shared {
    ($self:ident, $module:ident :: $f:ident ( $($arg:expr),* $(,)? )) => {
        on_conn!($self,
            gpkg c => super::geopackage::$module::$f(c, GEOPACKAGE_ORIGIN, $($arg),*).await,
            pg (c, o) => super::postgres::$module::$f(c, o, $($arg),*).await)
    };
}

/// The origin the shared code is given on a GeoPackage (see its `backend::ORIGIN`).
const GEOPACKAGE_ORIGIN: &str = super::geopackage::backend::ORIGIN;

impl Store {
    /// Begins a write transaction: on a GeoPackage `BEGIN IMMEDIATE` on the single writer
    /// connection (so it holds SQLite's write lock from the start and cannot fail half-way on
    /// a lock); on PostgreSQL `BEGIN` and the store-wide advisory lock, so that change-log
    /// sequence numbers commit in order.
    pub async fn begin_write(&self) -> Result<WriteTx, StoreError> {
        let conn = match self {
            Store::GeoPackage(s) => Conn::GeoPackage(s.writer_connection().await?),
            Store::Postgres(s) => {
                let (conn, origin) = s.writer_connection().await?;
                Conn::Postgres { conn, origin }
            }
        };
        // Open from here on: if BEGIN or the lock fails, dropping `tx` closes the connection.
        let mut tx = WriteTx {
            conn,
            open: true,
            failure: None,
        };
        match &mut tx.conn {
            Conn::GeoPackage(c) => {
                sqlx::query("BEGIN IMMEDIATE").execute(&mut **c).await?;
            }
            Conn::Postgres { conn, .. } => {
                sqlx::query("BEGIN").execute(&mut **conn).await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(super::postgres::backend::WRITE_LOCK)
                    .execute(&mut **conn)
                    .await?;
            }
        }
        Ok(tx)
    }
}

impl WriteTx {
    /// Commits. On failure the transaction is rolled back (or, if even that fails, its
    /// connection closed) and nothing it wrote is kept.
    pub async fn commit(mut self) -> Result<(), StoreError> {
        let result = match &mut self.conn {
            Conn::GeoPackage(c) => sqlx::query("COMMIT").execute(&mut **c).await.map(drop),
            Conn::Postgres { conn, .. } => {
                sqlx::query("COMMIT").execute(&mut **conn).await.map(drop)
            }
        };
        match result {
            Ok(_) => {
                self.open = false;
                Ok(())
            }
            Err(e) => {
                self.rollback_in_place().await;
                Err(e.into())
            }
        }
    }

    /// The first database error an operation in this transaction met, if any.
    pub fn failure(&self) -> Option<&StoreError> {
        self.failure.as_ref()
    }

    /// Rolls back everything written in this transaction.
    pub async fn rollback(mut self) {
        self.rollback_in_place().await;
    }

    async fn rollback_in_place(&mut self) {
        let result = match &mut self.conn {
            Conn::GeoPackage(c) => sqlx::query("ROLLBACK").execute(&mut **c).await.map(drop),
            Conn::Postgres { conn, .. } => {
                sqlx::query("ROLLBACK").execute(&mut **conn).await.map(drop)
            }
        };
        match result {
            Ok(_) => self.open = false,
            // SQLite may already have rolled back (SQLITE_FULL at COMMIT does): then there
            // is no transaction to end and the connection is fine.
            Err(e) if e.to_string().contains("no transaction is active") => self.open = false,
            Err(e) => tracing::warn!(error = %e, "rollback failed; the connection is closed"),
        }
    }

    /// Appends a record to the audit log, in this transaction; returns its id.
    pub async fn append_audit(&mut self, entry: &AuditEntry) -> Result<i64, StoreError> {
        on_conn!(self,
            gpkg c => super::geopackage::auth::append_audit(c, entry).await,
            pg (c, _o) => super::postgres::auth::append_audit(c, entry).await)
    }

    /// Inserts a facility (its `id` is ignored); returns the new id.
    pub async fn insert_facility(&mut self, facility: &Facility) -> Result<i64, StoreError> {
        shared!(self, facilities::insert_facility(facility))
    }

    /// Replaces facility `facility.id` only if the stored row is still `expected` (a
    /// compare-and-swap: otherwise [`StoreError::Stale`]); false when no such id.
    pub async fn replace_facility_if(
        &mut self,
        facility: &Facility,
        expected: &Facility,
    ) -> Result<bool, StoreError> {
        shared!(self, facilities::replace_facility_if(facility, expected))
    }

    /// Deletes facility `expected.id` only if the stored row is still `expected` (else
    /// [`StoreError::Stale`]); false when no such id.
    pub async fn delete_facility_if(&mut self, expected: &Facility) -> Result<bool, StoreError> {
        shared!(self, facilities::delete_facility_if(expected))
    }

    /// Inserts a grid (its `id` is ignored) with its history row and its buildings'
    /// membership. A duplicate code is a `Conflict`.
    pub async fn create_grid(
        &mut self,
        grid: &Grid,
        by: &ChangeBy,
    ) -> Result<Committed, StoreError> {
        shared!(self, grids::create_grid(grid, by))
    }

    /// Replaces grid `grid.id` with its history row and membership, only if the stored
    /// version is `grid.version - 1` (else [`StoreError::VersionMismatch`]). None when no
    /// such grid.
    pub async fn update_grid(
        &mut self,
        grid: &Grid,
        by: &ChangeBy,
    ) -> Result<Option<Committed>, StoreError> {
        let expected = Some(grid.version - 1);
        shared!(self, grids::update_grid(grid, by, expected))
    }

    /// Deletes grid `id` if it is still at `version`: refused when buildings belong to it and
    /// `members` is `Refuse`; with `Reassign(target)` the target (at `target.version - 1`) is
    /// replaced in the same transaction and both changes are recorded.
    pub async fn remove_grid(
        &mut self,
        id: i64,
        version: i64,
        members: &MembersOnDelete,
        by: &ChangeBy,
    ) -> Result<GridRemoval, StoreError> {
        shared!(self, grids::remove_grid(id, version, members, by))
    }

    /// Replaces community `community_id`'s whole grid map (see
    /// [`crate::store::PartitionCommitted`]): `expected` lists every grid of the community
    /// the caller saw, with its version; any other stored grid of the community, or a
    /// different version, is [`StoreError::VersionMismatch`] and nothing is written.
    pub async fn replace_community_grids(
        &mut self,
        community_id: i64,
        expected: &[(i64, i64)],
        grids: &[Grid],
        by: &ChangeBy,
    ) -> Result<PartitionCommitted, StoreError> {
        shared!(
            self,
            grids::replace_partition(community_id, expected, grids, by)
        )
    }

    /// Gives grids new codes (see [`crate::store::Store`]'s renumbering notes); returns the
    /// change's timestamp.
    pub async fn renumber_grids(
        &mut self,
        changes: &[CodeChange],
        by: &ChangeBy,
    ) -> Result<chrono::DateTime<chrono::Utc>, StoreError> {
        shared!(self, grids::renumber(changes, by))
    }

    /// Inserts a street office with its history row.
    pub async fn create_street_office(
        &mut self,
        office: &StreetOffice,
        by: &ChangeBy,
    ) -> Result<Committed, StoreError> {
        shared!(self, grids::create_street_office(office, by))
    }

    /// Replaces a street office with its history row, only if the stored one is still
    /// `expected` (else [`StoreError::Stale`]); None when no such office.
    pub async fn update_street_office(
        &mut self,
        office: &StreetOffice,
        expected: &StreetOffice,
        by: &ChangeBy,
    ) -> Result<Option<Committed>, StoreError> {
        shared!(self, grids::update_street_office(office, expected, by))
    }

    /// Inserts a community with its history row.
    pub async fn create_community(
        &mut self,
        community: &Community,
        by: &ChangeBy,
    ) -> Result<Committed, StoreError> {
        shared!(self, grids::create_community(community, by))
    }

    /// Replaces a community with its history row, only if the stored one is still `expected`
    /// (else [`StoreError::Stale`]); None when no such community.
    pub async fn update_community(
        &mut self,
        community: &Community,
        expected: &Community,
        by: &ChangeBy,
    ) -> Result<Option<Committed>, StoreError> {
        shared!(self, grids::update_community(community, expected, by))
    }

    /// Sets (Some) or removes (None) a building's chief (楼栋长); false when no such building.
    pub async fn set_building_chief(
        &mut self,
        building_id: i64,
        chief: Option<&Person>,
    ) -> Result<bool, StoreError> {
        shared!(self, grids::set_building_chief(building_id, chief))
    }

    /// Re-derives `buildings.grid_id` where it disagrees with the grids; how many changed.
    pub(crate) async fn heal_membership(&mut self) -> Result<usize, StoreError> {
        shared!(self, grids::heal_membership())
    }

    /// Inserts or replaces a circle definition (by id), only if the stored one is still
    /// `expected` (None: none yet; else [`StoreError::Stale`]), and drops its stored facility
    /// circles.
    pub async fn put_circle(
        &mut self,
        def: &CircleDef,
        expected: Option<&CircleDef>,
    ) -> Result<(), StoreError> {
        shared!(self, circles::put_circle(def, expected))
    }

    /// Replaces the stored circles of `facility_ids` with `circles`.
    pub async fn replace_facility_circles(
        &mut self,
        facility_ids: &[i64],
        circles: &[FacilityCircle],
    ) -> Result<(), StoreError> {
        shared!(
            self,
            circles::replace_facility_circles(facility_ids, circles)
        )
    }

    /// Stores a new token's SHA-256 `hash` with its role, scope and label (never the token
    /// itself), and its audit record; returns its id.
    pub async fn create_token(
        &mut self,
        hash: &str,
        role: crate::auth::Role,
        scope: &crate::auth::Scope,
        label: &str,
    ) -> Result<i64, StoreError> {
        on_conn!(self,
            gpkg c => super::geopackage::auth::create_token(c, hash, role, scope, label).await,
            pg (c, _o) => super::postgres::auth::create_token(c, hash, role, scope, label).await)
    }

    /// Revokes token `id`; false when there is no such unrevoked token.
    pub async fn revoke_token(&mut self, id: i64) -> Result<bool, StoreError> {
        on_conn!(self,
            gpkg c => super::geopackage::auth::revoke_token(c, id).await,
            pg (c, _o) => super::postgres::auth::revoke_token(c, id).await)
    }
}

impl Drop for WriteTx {
    fn drop(&mut self) {
        if self.open {
            // Neither committed nor rolled back (the future was dropped, or the rollback
            // failed): close the connection so the database rolls the transaction back and
            // the pool opens a fresh one.
            match &mut self.conn {
                Conn::GeoPackage(c) => c.close_on_drop(),
                Conn::Postgres { conn, .. } => conn.close_on_drop(),
            }
        }
    }
}
