//! Writes. Each public operation is one `BEGIN IMMEDIATE` transaction on the writer
//! connection, committed before it returns. gpkg_contents' extents and last_change are
//! updated in the same transaction: an insert grows the extent by the new row's bounding box;
//! a replace or delete (and a whole import) recomputes it with one MIN/MAX aggregate over the
//! table's per-row bounding-box columns.

use std::collections::{HashMap, HashSet};

use chrono_tz::Tz;
use geo::BoundingRect;
use geo_types::Rect;
use sqlx::error::ErrorKind;
use sqlx::{Row, Sqlite, SqliteConnection, SqlitePool, Transaction};

use super::backend::encode_node_ids;
use super::gpkg_binary::{encode_line_string, encode_multi_polygon, encode_point};
use super::load::household_source_name;
use crate::import::OsmImport;
use crate::model::{Building, Facility, Grid, LandArea, StreetWay};
use crate::store::WorkerJson;
use crate::store::{HouseholdCount, StoreError};

/// Starts a write transaction that holds SQLite's write lock from its first statement, so it
/// can never fail half-way for a lock held by another process (it waits up to the busy
/// timeout at `BEGIN` instead).
pub(super) async fn begin(writer: &SqlitePool) -> Result<Transaction<'static, Sqlite>, StoreError> {
    Ok(writer.begin_with("BEGIN IMMEDIATE").await?)
}

pub(crate) use crate::store::Layer;

/// The `gpkg_contents` extent of each feature table.
trait Extent {
    fn recompute_sql(self) -> &'static str;
}

impl Extent for Layer {
    /// One aggregate per table (identifiers cannot be bound, and SQL is never built from text).
    fn recompute_sql(self) -> &'static str {
        match self {
            Layer::StreetOffices => {
                "UPDATE gpkg_contents SET (min_x, min_y, max_x, max_y) = \
                 (SELECT MIN(min_x), MIN(min_y), MAX(max_x), MAX(max_y) FROM street_offices), \
                 last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE table_name = 'street_offices'"
            }
            Layer::Communities => {
                "UPDATE gpkg_contents SET (min_x, min_y, max_x, max_y) = \
                 (SELECT MIN(min_x), MIN(min_y), MAX(max_x), MAX(max_y) FROM communities), \
                 last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE table_name = 'communities'"
            }
            Layer::Grids => {
                "UPDATE gpkg_contents SET (min_x, min_y, max_x, max_y) = \
                 (SELECT MIN(min_x), MIN(min_y), MAX(max_x), MAX(max_y) FROM grids), \
                 last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE table_name = 'grids'"
            }
            Layer::Buildings => {
                "UPDATE gpkg_contents SET (min_x, min_y, max_x, max_y) = \
                 (SELECT MIN(min_x), MIN(min_y), MAX(max_x), MAX(max_y) FROM buildings), \
                 last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE table_name = 'buildings'"
            }
            Layer::Facilities => {
                "UPDATE gpkg_contents SET (min_x, min_y, max_x, max_y) = \
                 (SELECT MIN(lon), MIN(lat), MAX(lon), MAX(lat) FROM facilities), \
                 last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE table_name = 'facilities'"
            }
            Layer::Ways => {
                "UPDATE gpkg_contents SET (min_x, min_y, max_x, max_y) = \
                 (SELECT MIN(min_x), MIN(min_y), MAX(max_x), MAX(max_y) FROM ways), \
                 last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE table_name = 'ways'"
            }
            Layer::Land => {
                "UPDATE gpkg_contents SET (min_x, min_y, max_x, max_y) = \
                 (SELECT MIN(min_x), MIN(min_y), MAX(max_x), MAX(max_y) FROM land_areas), \
                 last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE table_name = 'land_areas'"
            }
            Layer::FacilityCircles => {
                "UPDATE gpkg_contents SET (min_x, min_y, max_x, max_y) = \
                 (SELECT MIN(min_x), MIN(min_y), MAX(max_x), MAX(max_y) FROM facility_circles), \
                 last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE table_name = 'facility_circles'"
            }
            // An attributes table: no extent, only the time of the change.
            Layer::Circles => {
                "UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') \
                 WHERE table_name IN ('circles', 'facility_circles')"
            }
        }
    }
}

/// Sets the table's extent to the bounding box of its rows (NULL when empty).
pub(super) async fn recompute_extent(
    conn: &mut SqliteConnection,
    layer: Layer,
) -> Result<(), StoreError> {
    sqlx::query(layer.recompute_sql())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Grows the table's extent to cover `bbox` (after an insert: O(1)).
async fn grow_extent(
    conn: &mut SqliteConnection,
    layer: Layer,
    bbox: Rect<f64>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE gpkg_contents SET \
         min_x = MIN(COALESCE(min_x, ?1), ?1), min_y = MIN(COALESCE(min_y, ?2), ?2), \
         max_x = MAX(COALESCE(max_x, ?3), ?3), max_y = MAX(COALESCE(max_y, ?4), ?4), \
         last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE table_name = ?5",
    )
    .bind(bbox.min().x)
    .bind(bbox.min().y)
    .bind(bbox.max().x)
    .bind(bbox.max().y)
    .bind(layer.table())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Maps a UNIQUE violation to `Conflict(unique)` and a FOREIGN KEY violation to
/// `Conflict(foreign)`; anything else stays a database error.
pub(super) fn constraint_conflict(
    e: sqlx::Error,
    unique: impl FnOnce() -> String,
    foreign: impl FnOnce() -> String,
) -> StoreError {
    if let sqlx::Error::Database(db) = &e {
        match db.kind() {
            ErrorKind::UniqueViolation => return StoreError::Conflict(unique()),
            ErrorKind::ForeignKeyViolation => return StoreError::Conflict(foreign()),
            _ => {}
        }
    }
    StoreError::Database(e)
}

pub(super) fn workers_json(grid: &Grid) -> String {
    let workers: Vec<WorkerJson> = grid
        .workers
        .iter()
        .map(|p| WorkerJson {
            name: p.name().to_owned(),
            phone: p.phone().map(str::to_owned),
        })
        .collect();
    serde_json::to_string(&workers).expect("a list of strings serialises")
}

// ---------------------------------------------------------------- facilities

const INSERT_FACILITY: &str = "INSERT INTO facilities (geom, osm, kind, name, owner, audience, opening_hours, \
     capacity, free, shared, demo, lon, lat) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
const UPDATE_FACILITY: &str = "UPDATE facilities SET geom = ?, osm = ?, kind = ?, name = ?, owner = ?, \
     audience = ?, opening_hours = ?, capacity = ?, free = ?, shared = ?, demo = ?, lon = ?, lat = ? WHERE fid = ?";

/// Binds the 13 facility columns in the order of `INSERT_FACILITY` / `UPDATE_FACILITY`.
fn bind_facility<'q>(
    query: sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments>,
    f: &Facility,
) -> sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments> {
    query
        .bind(encode_point(f.point.point()))
        .bind(f.osm.map(|o| o.to_string()))
        .bind(f.kind.as_str())
        .bind(f.name.as_deref())
        .bind(f.owner.as_deref())
        .bind(f.audience.as_str())
        .bind(f.hours.as_ref().map(|h| h.raw()))
        .bind(f.capacity.map(i64::from))
        .bind(f.free.map(i64::from))
        .bind(f.shared)
        .bind(f.demo)
        .bind(f.point.lon())
        .bind(f.point.lat())
}

fn facility_conflict(e: sqlx::Error, f: &Facility) -> StoreError {
    constraint_conflict(
        e,
        || match f.osm {
            Some(osm) => format!("a facility from {osm} already exists"),
            None => "the facility already exists".into(),
        },
        || "the facility refers to a missing row".into(),
    )
}

fn point_rect(f: &Facility) -> Rect<f64> {
    Rect::new(f.point.point().0, f.point.point().0)
}

pub(crate) async fn insert_facility(
    tx: &mut SqliteConnection,
    facility: &Facility,
) -> Result<i64, StoreError> {
    let fid = bind_facility(sqlx::query(INSERT_FACILITY), facility)
        .execute(&mut *tx)
        .await
        .map_err(|e| facility_conflict(e, facility))?
        .last_insert_rowid();
    grow_extent(&mut *tx, Layer::Facilities, point_rect(facility)).await?;
    Ok(fid)
}

async fn facility_exists(conn: &mut SqliteConnection, id: i64) -> Result<bool, StoreError> {
    let found: Option<i64> = sqlx::query_scalar("SELECT fid FROM facilities WHERE fid = ?")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(found.is_some())
}

pub(crate) async fn replace_facility_if(
    tx: &mut SqliteConnection,
    facility: &Facility,
    expected: &Facility,
) -> Result<bool, StoreError> {
    if !facility_exists(&mut *tx, facility.id).await? {
        return Ok(false);
    }
    let matched = bind_facility(
        bind_facility(
            sqlx::query(
                "UPDATE facilities SET geom = ?1, osm = ?2, kind = ?3, name = ?4, owner = ?5, audience = ?6, \
                 opening_hours = ?7, capacity = ?8, free = ?9, shared = ?10, demo = ?11, lon = ?12, lat = ?13 \
                 WHERE fid = ?14 AND geom = ?15 AND osm IS ?16 AND kind = ?17 AND name IS ?18 AND owner IS ?19 \
                 AND audience = ?20 AND opening_hours IS ?21 AND capacity IS ?22 AND free IS ?23 AND shared = ?24 \
                 AND demo = ?25 AND lon IS ?26 AND lat IS ?27",
            ),
            facility,
        )
        .bind(facility.id),
        expected,
    )
    .execute(&mut *tx)
    .await
    .map_err(|e| facility_conflict(e, facility))?
    .rows_affected();
    if matched == 0 {
        return Err(StoreError::Stale(format!("facility {}", facility.id)));
    }
    recompute_extent(&mut *tx, Layer::Facilities).await?;
    Ok(true)
}

pub(crate) async fn delete_facility_if(
    tx: &mut SqliteConnection,
    expected: &Facility,
) -> Result<bool, StoreError> {
    if !facility_exists(&mut *tx, expected.id).await? {
        return Ok(false);
    }
    // ?1..?13 are the expected row, ?14 the fid (the same numbering idea as the update).
    let matched = bind_facility(
        sqlx::query(
            "DELETE FROM facilities WHERE geom = ?1 AND osm IS ?2 AND kind = ?3 AND name IS ?4 AND owner IS ?5 \
             AND audience = ?6 AND opening_hours IS ?7 AND capacity IS ?8 AND free IS ?9 AND shared = ?10 \
             AND demo = ?11 AND lon IS ?12 AND lat IS ?13 AND fid = ?14",
        ),
        expected,
    )
    .bind(expected.id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if matched == 0 {
        return Err(StoreError::Stale(format!("facility {}", expected.id)));
    }
    recompute_extent(&mut *tx, Layer::Facilities).await?;
    Ok(true)
}

// ---------------------------------------------------------------- household counts

pub(super) async fn household_counts(
    writer: &SqlitePool,
    counts: &[HouseholdCount],
) -> Result<usize, StoreError> {
    let mut tx = begin(writer).await?;
    let mut matched = 0u64;
    for c in counts {
        matched += sqlx::query(
            "UPDATE buildings SET households = ?, residents = ?, household_source = 'counted' WHERE osm = ?",
        )
        .bind(i64::from(c.households))
        .bind(i64::from(c.residents))
        .bind(c.osm.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    if matched > 0 {
        sqlx::query(
            "UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') \
             WHERE table_name = 'buildings'",
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(matched as usize)
}

// ---------------------------------------------------------------- OSM import

/// Writes an OSM import in one transaction.
///
/// Rows are matched by OSM reference (buildings, facilities) or way id (ways): a matched row is
/// updated in place and keeps its fid; a new one is inserted, in import order; OSM rows not in
/// the import are deleted. Facilities without an OSM reference are never touched. Buildings
/// whose households were counted keep their counts. Deliberately no `INSERT … ON CONFLICT`:
/// in SQLite an upsert that ends as an update still advances the AUTOINCREMENT sequence, so
/// re-importing would change the next fids.
pub(super) async fn osm_import(
    writer: &SqlitePool,
    import: &OsmImport,
    timezone: Tz,
) -> Result<(), StoreError> {
    for f in &import.facilities {
        if f.osm.is_none() {
            return Err(StoreError::Conflict(format!(
                "an imported facility ({}, {:?}) has no OSM reference",
                f.kind.as_str(),
                f.name
            )));
        }
    }
    for w in &import.ways {
        if w.node_ids.len() != w.line.0.len() {
            return Err(StoreError::Conflict(format!(
                "way {} has {} node ids for {} points",
                w.id,
                w.node_ids.len(),
                w.line.0.len()
            )));
        }
    }
    let mut tx = begin(writer).await?;
    import_buildings(&mut *tx, &import.buildings).await?;
    import_facilities(&mut *tx, &import.facilities).await?;
    import_ways(&mut *tx, &import.ways).await?;
    import_land(&mut *tx, &import.land).await?;
    // New or moved buildings: membership follows their representative points.
    super::grids::recompute_members(&mut *tx, None).await?;
    let updated = sqlx::query("UPDATE settings SET value = ? WHERE key = 'timezone'")
        .bind(timezone.name())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if updated == 0 {
        sqlx::query("INSERT INTO settings (key, value) VALUES ('timezone', ?)")
            .bind(timezone.name())
            .execute(&mut *tx)
            .await?;
    }
    for layer in [
        Layer::Buildings,
        Layer::Facilities,
        Layer::Ways,
        Layer::Land,
    ] {
        recompute_extent(&mut *tx, layer).await?;
    }
    sqlx::query(
        "UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE table_name = 'settings'",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Existing `(key, fid)` pairs, from a two-column query.
async fn existing_keys(
    conn: &mut SqliteConnection,
    sql: &'static str,
) -> Result<HashMap<String, i64>, StoreError> {
    let rows = sqlx::query(sql).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?)))
        .collect()
}

async fn import_buildings(
    conn: &mut SqliteConnection,
    buildings: &[Building],
) -> Result<(), StoreError> {
    let mut existing = existing_keys(conn, "SELECT osm, fid FROM buildings").await?;
    let mut kept = HashSet::with_capacity(buildings.len());
    for b in buildings {
        let osm = b.osm.to_string();
        let bbox = b.footprint.bbox();
        let source = household_source_name(b.household_source);
        if let Some(&fid) = existing.get(&osm) {
            // SET expressions see the old row, so a counted row keeps its counts and source.
            sqlx::query(
                "UPDATE buildings SET geom = ?1, name = ?2, building = ?3, levels = ?4, \
                 households = CASE WHEN household_source = 'counted' THEN households ELSE ?5 END, \
                 residents = CASE WHEN household_source = 'counted' THEN residents ELSE ?6 END, \
                 household_source = CASE WHEN household_source = 'counted' THEN 'counted' ELSE ?7 END, \
                 point_lon = ?8, point_lat = ?9, entrance_lon = ?10, entrance_lat = ?11, \
                 min_x = ?12, min_y = ?13, max_x = ?14, max_y = ?15 WHERE fid = ?16",
            )
            .bind(encode_multi_polygon(b.footprint.shape()))
            .bind(b.name.as_deref())
            .bind(&b.building)
            .bind(b.levels.map(i64::from))
            .bind(i64::from(b.households))
            .bind(i64::from(b.residents))
            .bind(source)
            .bind(b.point.lon())
            .bind(b.point.lat())
            .bind(b.entrance.map(|e| e.lon()))
            .bind(b.entrance.map(|e| e.lat()))
            .bind(bbox.min().x)
            .bind(bbox.min().y)
            .bind(bbox.max().x)
            .bind(bbox.max().y)
            .bind(fid)
            .execute(&mut *conn)
            .await?;
            kept.insert(fid);
        } else {
            let fid = sqlx::query(
                "INSERT INTO buildings (geom, name, building, levels, households, residents, household_source, \
                 point_lon, point_lat, entrance_lon, entrance_lat, min_x, min_y, max_x, max_y, osm) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            )
            .bind(encode_multi_polygon(b.footprint.shape()))
            .bind(b.name.as_deref())
            .bind(&b.building)
            .bind(b.levels.map(i64::from))
            .bind(i64::from(b.households))
            .bind(i64::from(b.residents))
            .bind(source)
            .bind(b.point.lon())
            .bind(b.point.lat())
            .bind(b.entrance.map(|e| e.lon()))
            .bind(b.entrance.map(|e| e.lat()))
            .bind(bbox.min().x)
            .bind(bbox.min().y)
            .bind(bbox.max().x)
            .bind(bbox.max().y)
            .bind(&osm)
            .execute(&mut *conn)
            .await?
            .last_insert_rowid();
            existing.insert(osm, fid);
            kept.insert(fid);
        }
    }
    let mut gone: Vec<i64> = existing
        .into_values()
        .filter(|fid| !kept.contains(fid))
        .collect();
    gone.sort_unstable();
    for fid in gone {
        sqlx::query("DELETE FROM buildings WHERE fid = ?")
            .bind(fid)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn import_facilities(
    conn: &mut SqliteConnection,
    facilities: &[Facility],
) -> Result<(), StoreError> {
    let mut existing = existing_keys(
        conn,
        "SELECT osm, fid FROM facilities WHERE osm IS NOT NULL",
    )
    .await?;
    let mut kept = HashSet::with_capacity(facilities.len());
    for f in facilities {
        let osm = f.osm.expect("checked before the transaction").to_string();
        if let Some(&fid) = existing.get(&osm) {
            bind_facility(sqlx::query(UPDATE_FACILITY), f)
                .bind(fid)
                .execute(&mut *conn)
                .await?;
            kept.insert(fid);
        } else {
            let fid = bind_facility(sqlx::query(INSERT_FACILITY), f)
                .execute(&mut *conn)
                .await?
                .last_insert_rowid();
            existing.insert(osm, fid);
            kept.insert(fid);
        }
    }
    let mut gone: Vec<i64> = existing
        .into_values()
        .filter(|fid| !kept.contains(fid))
        .collect();
    gone.sort_unstable();
    for fid in gone {
        sqlx::query("DELETE FROM facilities WHERE fid = ?")
            .bind(fid)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Brings the land areas in line with the import, matched by OSM reference like buildings (a
/// matched row keeps its fid; re-importing the same file changes nothing).
async fn import_land(conn: &mut SqliteConnection, land: &[LandArea]) -> Result<(), StoreError> {
    let mut existing = existing_keys(conn, "SELECT osm, fid FROM land_areas").await?;
    for l in land {
        let b = l.shape.bbox();
        let osm = l.osm.to_string();
        let query = match existing.remove(&osm) {
            Some(fid) => sqlx::query(
                "UPDATE land_areas SET geom = ?1, osm = ?2, class = ?3, name = ?4, \
                     min_x = ?5, min_y = ?6, max_x = ?7, max_y = ?8 WHERE fid = ?9",
            )
            .bind(encode_multi_polygon(l.shape.shape()))
            .bind(osm)
            .bind(l.class.as_str())
            .bind(&l.name)
            .bind(b.min().x)
            .bind(b.min().y)
            .bind(b.max().x)
            .bind(b.max().y)
            .bind(fid),
            None => sqlx::query(
                "INSERT INTO land_areas (geom, osm, class, name, min_x, min_y, max_x, max_y) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .bind(encode_multi_polygon(l.shape.shape()))
            .bind(osm)
            .bind(l.class.as_str())
            .bind(&l.name)
            .bind(b.min().x)
            .bind(b.min().y)
            .bind(b.max().x)
            .bind(b.max().y),
        };
        query.execute(&mut *conn).await?;
    }
    for fid in existing.into_values() {
        sqlx::query("DELETE FROM land_areas WHERE fid = ?")
            .bind(fid)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

async fn import_ways(conn: &mut SqliteConnection, ways: &[StreetWay]) -> Result<(), StoreError> {
    let rows = sqlx::query("SELECT fid FROM ways")
        .fetch_all(&mut *conn)
        .await?;
    let mut existing: HashSet<i64> = rows
        .iter()
        .map(|r| r.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()?;
    let mut kept = HashSet::with_capacity(ways.len());
    for w in ways {
        let bbox = w.line.bounding_rect();
        let sql = if existing.contains(&w.id) {
            "UPDATE ways SET geom = ?1, highway = ?2, name = ?3, foot = ?4, access = ?5, area = ?6, node_ids = ?7, \
             min_x = ?8, min_y = ?9, max_x = ?10, max_y = ?11 WHERE fid = ?12"
        } else {
            "INSERT INTO ways (geom, highway, name, foot, access, area, node_ids, min_x, min_y, max_x, max_y, fid) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
        };
        sqlx::query(sql)
            .bind(encode_line_string(&w.line))
            .bind(&w.highway)
            .bind(w.name.as_deref())
            .bind(w.foot.as_deref())
            .bind(w.access.as_deref())
            .bind(w.area)
            .bind(encode_node_ids(&w.node_ids))
            .bind(bbox.map(|r| r.min().x))
            .bind(bbox.map(|r| r.min().y))
            .bind(bbox.map(|r| r.max().x))
            .bind(bbox.map(|r| r.max().y))
            .bind(w.id)
            .execute(&mut *conn)
            .await?;
        existing.insert(w.id);
        kept.insert(w.id);
    }
    let mut gone: Vec<i64> = existing
        .into_iter()
        .filter(|fid| !kept.contains(fid))
        .collect();
    gone.sort_unstable();
    for fid in gone {
        sqlx::query("DELETE FROM ways WHERE fid = ?")
            .bind(fid)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}
