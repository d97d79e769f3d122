//! Writes (the PostgreSQL twin of `geopackage/write.rs`). Each public operation is one
//! transaction that first takes the store-wide write lock ([`begin`]) and, when it changes
//! what a snapshot shows, appends to the change log and notifies the replicas
//! ([`super::changes::log`]) before it commits.

use std::collections::{HashMap, HashSet};

use chrono_tz::Tz;
use sqlx::error::ErrorKind;
use sqlx::{PgConnection, PgPool, Postgres, Row, Transaction};

use super::changes;
use super::load::household_source_name;
use super::wkb::encode;
use crate::import::OsmImport;
use crate::model::{Building, Facility, Grid, StreetWay};
use crate::store::WorkerJson;
use crate::store::{HouseholdCount, StoreError};

/// The key of the transaction-level advisory lock every write transaction takes first
/// ('gridcirc' in ASCII). Writes are rare next to reads, and one lock makes the change log's
/// sequence numbers commit in order, which is what lets a replica catch up with
/// `seq > applied` and never skip a row committed late.
pub(crate) const WRITE_LOCK: i64 = 0x6772_6964_6369_7263;

/// Starts a write transaction holding the store-wide write lock.
pub(super) async fn begin(pool: &PgPool) -> Result<Transaction<'static, Postgres>, StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(WRITE_LOCK)
        .execute(&mut *tx)
        .await?;
    Ok(tx)
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
     capacity, free, shared, demo) VALUES (ST_GeomFromWKB($1, 4326), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING fid";
const UPDATE_FACILITY: &str = "UPDATE facilities SET geom = ST_GeomFromWKB($1, 4326), osm = $2, kind = $3, name = $4, \
     owner = $5, audience = $6, opening_hours = $7, capacity = $8, free = $9, shared = $10, demo = $11 WHERE fid = $12";

type PgQuery<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

/// Binds the 11 facility columns in the order of `INSERT_FACILITY` / `UPDATE_FACILITY`.
fn bind_facility<'q>(query: PgQuery<'q>, f: &Facility) -> PgQuery<'q> {
    query
        .bind(encode(&f.point.point()))
        .bind(f.osm.map(|o| o.to_string()))
        .bind(f.kind.as_str().to_owned())
        .bind(f.name.clone())
        .bind(f.owner.clone())
        .bind(f.audience.as_str().to_owned())
        .bind(f.hours.as_ref().map(|h| h.raw().to_owned()))
        .bind(f.capacity.map(i64::from))
        .bind(f.free.map(i64::from))
        .bind(f.shared)
        .bind(f.demo)
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

pub(crate) async fn insert_facility(
    tx: &mut PgConnection,
    origin: &str,
    facility: &Facility,
) -> Result<i64, StoreError> {
    let fid: i64 = bind_facility(sqlx::query(INSERT_FACILITY), facility)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| facility_conflict(e, facility))?
        .try_get(0)?;
    changes::log(&mut *tx, origin, &["facilities"]).await?;
    Ok(fid)
}

async fn facility_exists(conn: &mut PgConnection, id: i64) -> Result<bool, StoreError> {
    let found: Option<i64> =
        sqlx::query_scalar("SELECT fid FROM facilities WHERE fid = $1 FOR UPDATE")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(found.is_some())
}

/// Replaces a facility only if its stored row still equals `expected` (a compare-and-swap
/// inside the write transaction); otherwise `Stale`.
pub(crate) async fn replace_facility_if(
    tx: &mut PgConnection,
    origin: &str,
    facility: &Facility,
    expected: &Facility,
) -> Result<bool, StoreError> {
    if !facility_exists(&mut *tx, facility.id).await? {
        return Ok(false);
    }
    let matched = bind_facility(
        bind_facility(
            sqlx::query(
                "UPDATE facilities SET geom = ST_GeomFromWKB($1, 4326), osm = $2, kind = $3, name = $4, \
                 owner = $5, audience = $6, opening_hours = $7, capacity = $8, free = $9, shared = $10, demo = $11 \
                 WHERE fid = $12 AND ST_X(geom) = ST_X(ST_GeomFromWKB($13)) AND ST_Y(geom) = ST_Y(ST_GeomFromWKB($13)) \
                 AND osm IS NOT DISTINCT FROM $14 AND kind = $15 AND name IS NOT DISTINCT FROM $16 \
                 AND owner IS NOT DISTINCT FROM $17 AND audience = $18 AND opening_hours IS NOT DISTINCT FROM $19 \
                 AND capacity IS NOT DISTINCT FROM $20 AND free IS NOT DISTINCT FROM $21 AND shared = $22 AND demo = $23",
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
    changes::log(&mut *tx, origin, &["facilities"]).await?;
    Ok(true)
}

/// Deletes a facility only if its stored row still equals `expected`; otherwise `Stale`.
pub(crate) async fn delete_facility_if(
    tx: &mut PgConnection,
    origin: &str,
    expected: &Facility,
) -> Result<bool, StoreError> {
    if !facility_exists(&mut *tx, expected.id).await? {
        return Ok(false);
    }
    let matched = bind_facility(
        sqlx::query(
            "DELETE FROM facilities WHERE ST_X(geom) = ST_X(ST_GeomFromWKB($1)) AND ST_Y(geom) = ST_Y(ST_GeomFromWKB($1)) \
             AND osm IS NOT DISTINCT FROM $2 AND kind = $3 AND name IS NOT DISTINCT FROM $4 \
             AND owner IS NOT DISTINCT FROM $5 AND audience = $6 AND opening_hours IS NOT DISTINCT FROM $7 \
             AND capacity IS NOT DISTINCT FROM $8 AND free IS NOT DISTINCT FROM $9 AND shared = $10 AND demo = $11 \
             AND fid = $12",
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
    changes::log(&mut *tx, origin, &["facilities"]).await?;
    Ok(true)
}

// ---------------------------------------------------------------- household counts

pub(super) async fn household_counts(
    pool: &PgPool,
    origin: &str,
    counts: &[HouseholdCount],
) -> Result<usize, StoreError> {
    let mut tx = begin(pool).await?;
    let mut matched = 0u64;
    for c in counts {
        matched += sqlx::query(
            "UPDATE buildings SET households = $1, residents = $2, household_source = 'counted' WHERE osm = $3",
        )
        .bind(i64::from(c.households))
        .bind(i64::from(c.residents))
        .bind(c.osm.to_string())
        .execute(&mut *tx)
        .await?
        .rows_affected();
    }
    if matched > 0 {
        changes::log(&mut *tx, origin, &["all"]).await?;
    }
    tx.commit().await?;
    Ok(matched as usize)
}

// ---------------------------------------------------------------- OSM import

/// Writes an OSM import in one transaction, with the same rules as the GeoPackage store:
/// rows matched by OSM reference (buildings, facilities) or way id (ways) are updated in place
/// and keep their fid, new ones are inserted in import order, OSM rows no longer in the file
/// are deleted; user facilities and counted households are kept.
pub(super) async fn osm_import(
    pool: &PgPool,
    origin: &str,
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
    let mut tx = begin(pool).await?;
    import_buildings(&mut *tx, &import.buildings).await?;
    import_facilities(&mut *tx, &import.facilities).await?;
    import_ways(&mut *tx, &import.ways).await?;
    import_land(&mut *tx, &import.land).await?;
    super::grids::recompute_members(&mut *tx, None).await?;
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES ('timezone', $1) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(timezone.name())
    .execute(&mut *tx)
    .await?;
    changes::log(&mut *tx, origin, &["all"]).await?;
    tx.commit().await?;
    Ok(())
}

async fn existing_keys(
    conn: &mut PgConnection,
    sql: &'static str,
) -> Result<HashMap<String, i64>, StoreError> {
    let rows = sqlx::query(sql).fetch_all(&mut *conn).await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?)))
        .collect()
}

async fn delete_gone(
    conn: &mut PgConnection,
    sql: &'static str,
    existing: impl IntoIterator<Item = i64>,
    kept: &HashSet<i64>,
) -> Result<(), StoreError> {
    let mut gone: Vec<i64> = existing
        .into_iter()
        .filter(|fid| !kept.contains(fid))
        .collect();
    gone.sort_unstable();
    if !gone.is_empty() {
        sqlx::query(sql).bind(&gone).execute(&mut *conn).await?;
    }
    Ok(())
}

async fn import_buildings(
    conn: &mut PgConnection,
    buildings: &[Building],
) -> Result<(), StoreError> {
    let mut existing = existing_keys(conn, "SELECT osm, fid FROM buildings").await?;
    let mut kept = HashSet::with_capacity(buildings.len());
    let mut fresh: Vec<&Building> = Vec::new();
    for b in buildings {
        let osm = b.osm.to_string();
        let source = household_source_name(b.household_source);
        let geom = encode(b.footprint.shape());
        if let Some(&fid) = existing.get(&osm) {
            // SET expressions see the old row, so a counted row keeps its counts and source.
            sqlx::query(
                "UPDATE buildings SET geom = ST_GeomFromWKB($1, 4326), name = $2, building = $3, levels = $4, \
                 households = CASE WHEN household_source = 'counted' THEN households ELSE $5 END, \
                 residents = CASE WHEN household_source = 'counted' THEN residents ELSE $6 END, \
                 household_source = CASE WHEN household_source = 'counted' THEN 'counted' ELSE $7 END, \
                 point_lon = $8, point_lat = $9, entrance_lon = $10, entrance_lat = $11 WHERE fid = $12",
            )
            .bind(geom)
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
            .bind(fid)
            .execute(&mut *conn)
            .await?;
            kept.insert(fid);
        } else {
            fresh.push(b);
        }
    }
    // New buildings go in batches (one statement per BATCH rows instead of one per row: the
    // first import of a city is almost all inserts), in import order, so fids follow it.
    for chunk in fresh.chunks(BATCH) {
        for (osm, fid) in insert_buildings(conn, chunk).await? {
            existing.insert(osm, fid);
            kept.insert(fid);
        }
    }
    delete_gone(
        conn,
        "DELETE FROM buildings WHERE fid = ANY($1)",
        existing.into_values(),
        &kept,
    )
    .await
}

/// Rows per batched insert.
const BATCH: usize = 1_000;

/// Inserts `buildings` with one statement (arrays unnested in order); returns `(osm, fid)`.
async fn insert_buildings(
    conn: &mut PgConnection,
    buildings: &[&Building],
) -> Result<Vec<(String, i64)>, StoreError> {
    let geom: Vec<Vec<u8>> = buildings
        .iter()
        .map(|b| encode(b.footprint.shape()))
        .collect();
    let name: Vec<Option<String>> = buildings.iter().map(|b| b.name.clone()).collect();
    let building: Vec<String> = buildings.iter().map(|b| b.building.clone()).collect();
    let levels: Vec<Option<i64>> = buildings.iter().map(|b| b.levels.map(i64::from)).collect();
    let households: Vec<i64> = buildings.iter().map(|b| i64::from(b.households)).collect();
    let residents: Vec<i64> = buildings.iter().map(|b| i64::from(b.residents)).collect();
    let source: Vec<&str> = buildings
        .iter()
        .map(|b| household_source_name(b.household_source))
        .collect();
    let lon: Vec<f64> = buildings.iter().map(|b| b.point.lon()).collect();
    let lat: Vec<f64> = buildings.iter().map(|b| b.point.lat()).collect();
    let e_lon: Vec<Option<f64>> = buildings
        .iter()
        .map(|b| b.entrance.map(|e| e.lon()))
        .collect();
    let e_lat: Vec<Option<f64>> = buildings
        .iter()
        .map(|b| b.entrance.map(|e| e.lat()))
        .collect();
    let osm: Vec<String> = buildings.iter().map(|b| b.osm.to_string()).collect();
    let rows = sqlx::query(
        "INSERT INTO buildings (geom, name, building, levels, households, residents, household_source, \
         point_lon, point_lat, entrance_lon, entrance_lat, osm) \
         SELECT ST_GeomFromWKB(g, 4326), n, bu, l, h, r, s, x, y, ex, ey, o \
         FROM UNNEST($1::bytea[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[], $7::text[], \
                     $8::float8[], $9::float8[], $10::float8[], $11::float8[], $12::text[]) \
              WITH ORDINALITY AS t(g, n, bu, l, h, r, s, x, y, ex, ey, o, ord) \
         ORDER BY ord RETURNING osm, fid",
    )
    .bind(&geom)
    .bind(&name)
    .bind(&building)
    .bind(&levels)
    .bind(&households)
    .bind(&residents)
    .bind(&source)
    .bind(&lon)
    .bind(&lat)
    .bind(&e_lon)
    .bind(&e_lat)
    .bind(&osm)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("osm")?, r.try_get("fid")?)))
        .collect()
}

async fn import_facilities(
    conn: &mut PgConnection,
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
            let fid: i64 = bind_facility(sqlx::query(INSERT_FACILITY), f)
                .fetch_one(&mut *conn)
                .await?
                .try_get(0)?;
            existing.insert(osm, fid);
            kept.insert(fid);
        }
    }
    delete_gone(
        conn,
        "DELETE FROM facilities WHERE fid = ANY($1)",
        existing.into_values(),
        &kept,
    )
    .await
}

async fn import_ways(conn: &mut PgConnection, ways: &[StreetWay]) -> Result<(), StoreError> {
    let existing: HashSet<i64> = sqlx::query_scalar("SELECT fid FROM ways")
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect();
    let mut kept = HashSet::with_capacity(ways.len());
    // In batches: PostgreSQL arrays must be rectangular, so each way's node ids travel as one
    // comma-separated text and are split back into bigint[] by the server.
    for chunk in ways.chunks(BATCH) {
        let geom: Vec<Vec<u8>> = chunk.iter().map(|w| encode(&w.line)).collect();
        let highway: Vec<String> = chunk.iter().map(|w| w.highway.clone()).collect();
        let name: Vec<Option<String>> = chunk.iter().map(|w| w.name.clone()).collect();
        let foot: Vec<Option<String>> = chunk.iter().map(|w| w.foot.clone()).collect();
        let access: Vec<Option<String>> = chunk.iter().map(|w| w.access.clone()).collect();
        let area: Vec<bool> = chunk.iter().map(|w| w.area).collect();
        let nodes: Vec<String> = chunk
            .iter()
            .map(|w| {
                w.node_ids
                    .iter()
                    .map(i64::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        let fid: Vec<i64> = chunk.iter().map(|w| w.id).collect();
        sqlx::query(
            "INSERT INTO ways (geom, highway, name, foot, access, area, node_ids, fid) \
             SELECT ST_GeomFromWKB(g, 4326), h, n, f, a, ar, string_to_array(nd, ',')::bigint[], id \
             FROM UNNEST($1::bytea[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bool[], $7::text[], $8::bigint[]) \
                  WITH ORDINALITY AS t(g, h, n, f, a, ar, nd, id, ord) \
             ORDER BY ord \
             ON CONFLICT (fid) DO UPDATE SET geom = excluded.geom, highway = excluded.highway, \
             name = excluded.name, foot = excluded.foot, access = excluded.access, area = excluded.area, \
             node_ids = excluded.node_ids",
        )
        .bind(&geom)
        .bind(&highway)
        .bind(&name)
        .bind(&foot)
        .bind(&access)
        .bind(&area)
        .bind(&nodes)
        .bind(&fid)
        .execute(&mut *conn)
        .await?;
        kept.extend(fid);
    }
    delete_gone(
        conn,
        "DELETE FROM ways WHERE fid = ANY($1)",
        existing,
        &kept,
    )
    .await
}

/// Brings the land areas (water and green, the base map) in line with the import, matched by
/// OSM reference like buildings.
pub(super) async fn import_land(
    conn: &mut PgConnection,
    land: &[crate::model::LandArea],
) -> Result<(), StoreError> {
    let mut existing = existing_keys(conn, "SELECT osm, fid FROM land_areas").await?;
    let mut kept = HashSet::with_capacity(land.len());
    for l in land {
        let osm = l.osm.to_string();
        let geom = encode(l.shape.shape());
        if let Some(&fid) = existing.get(&osm) {
            sqlx::query(
                "UPDATE land_areas SET geom = ST_GeomFromWKB($1, 4326), class = $2, name = $3 WHERE fid = $4",
            )
            .bind(geom)
            .bind(l.class.as_str())
            .bind(l.name.as_deref())
            .bind(fid)
            .execute(&mut *conn)
            .await?;
            kept.insert(fid);
        } else {
            let fid: i64 = sqlx::query_scalar(
                "INSERT INTO land_areas (geom, class, name, osm) VALUES (ST_GeomFromWKB($1, 4326), $2, $3, $4) \
                 RETURNING fid",
            )
            .bind(geom)
            .bind(l.class.as_str())
            .bind(l.name.as_deref())
            .bind(&osm)
            .fetch_one(&mut *conn)
            .await?;
            existing.insert(osm, fid);
            kept.insert(fid);
        }
    }
    delete_gone(
        conn,
        "DELETE FROM land_areas WHERE fid = ANY($1)",
        existing.into_values(),
        &kept,
    )
    .await
}
