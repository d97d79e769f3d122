//! What the store code shared by both backends (`src/store/shared/`) needs from PostgreSQL:
//! its connection types, its write transaction (holding the store-wide write lock), its
//! geometry encoding (plain WKB, read back with `ST_AsBinary`), what it does when a table
//! changed (a change-log row and a NOTIFY, so that the other replicas reload it) and the OSM
//! import's writes that PostgreSQL batches.

use std::collections::HashSet;

use geo::{LineString, MultiPolygon, Point};
use sqlx::{Row as _, Transaction};

use super::load::household_source_name;
use super::{changes, wkb};
use crate::model::{Building, StreetWay};
use crate::store::{Layer, StoreError};

/// The database.
pub(crate) type Db = sqlx::Postgres;
/// A connection.
pub(crate) type Conn = sqlx::PgConnection;
/// The pool.
pub(crate) type Pool = sqlx::PgPool;
/// A result row.
pub(crate) type Row = sqlx::postgres::PgRow;

/// The key of the transaction-level advisory lock every write transaction takes first
/// ('gridcirc' in ASCII). Writes are rare next to reads, and one lock makes the change log's
/// sequence numbers commit in order, which is what lets a replica catch up with
/// `seq > applied` and never skip a row committed late.
pub(crate) const WRITE_LOCK: i64 = 0x6772_6964_6369_7263;

/// Starts a write transaction holding the store-wide write lock.
pub(crate) async fn begin(pool: &Pool) -> Result<Transaction<'static, Db>, StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(WRITE_LOCK)
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

/// A multipolygon as bound for `ST_GeomFromWKB`.
pub(crate) fn encode_area(shape: &MultiPolygon<f64>) -> Vec<u8> {
    wkb::encode(shape)
}

/// A multipolygon read with `ST_AsBinary`.
pub(crate) fn decode_area(blob: &[u8]) -> Result<MultiPolygon<f64>, String> {
    wkb::decode_multi_polygon(blob)
}

/// A point as bound for `ST_GeomFromWKB`.
pub(crate) fn encode_point(point: Point<f64>) -> Vec<u8> {
    wkb::encode(&point)
}

/// A point read with `ST_AsBinary`.
pub(crate) fn decode_point(blob: &[u8]) -> Result<Point<f64>, String> {
    wkb::decode_point(blob)
}

/// A line as bound for `ST_GeomFromWKB`.
pub(crate) fn encode_line(line: &LineString<f64>) -> Vec<u8> {
    wkb::encode(line)
}

/// A line read with `ST_AsBinary`.
pub(crate) fn decode_line(blob: &[u8]) -> Result<LineString<f64>, String> {
    wkb::decode_line_string(blob)
}

/// A read-only, repeatable-read transaction: every query in it sees the same committed
/// state.
pub(crate) async fn read_tx(
    pool: &Pool,
) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
    Ok(pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?)
}

/// Stored `ways.node_ids` (a `bigint[]`, read as it is).
pub(crate) fn decode_node_ids(ids: Vec<i64>) -> Result<Vec<i64>, String> {
    Ok(ids)
}

// ---------------------------------------------------------------- changes

/// Notes in the writing transaction that `layer` changed: a change-log row from `origin`
/// (this process) and a NOTIFY, delivered to the other replicas if the transaction commits.
/// Facility circles are derived data every replica computes alike from what it loaded, so
/// their rows are not a logged change.
pub(crate) async fn layer_changed(
    conn: &mut Conn,
    origin: &str,
    layer: Layer,
) -> Result<(), StoreError> {
    match layer {
        Layer::FacilityCircles => Ok(()),
        _ => changes::log(conn, origin, &[layer.table()]).await.map(drop),
    }
}

/// Sets `buildings.grid_id` for each `(building, grid)` of `changes`, in one statement.
pub(crate) async fn set_grid_members(
    conn: &mut Conn,
    changes: &[(i64, Option<i64>)],
) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    let buildings: Vec<i64> = changes.iter().map(|c| c.0).collect();
    let grids: Vec<Option<i64>> = changes.iter().map(|c| c.1).collect();
    sqlx::query(
        "UPDATE buildings b SET grid_id = m.grid_id \
         FROM UNNEST($1::bigint[], $2::bigint[]) AS m(fid, grid_id) WHERE b.fid = m.fid",
    )
    .bind(&buildings)
    .bind(&grids)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Notes an OSM import (every OSM layer, the membership and the time zone were written): one
/// change-log row for everything, so the replicas reload it all.
pub(crate) async fn osm_import_changed(conn: &mut Conn, origin: &str) -> Result<(), StoreError> {
    changes::log(conn, origin, &["all"]).await.map(drop)
}

/// Notes that buildings' counted households changed (the replicas reload everything).
pub(crate) async fn households_changed(conn: &mut Conn, origin: &str) -> Result<(), StoreError> {
    changes::log(conn, origin, &["all"]).await.map(drop)
}

// ---------------------------------------------------------------- OSM import

/// Rows per batched insert.
const BATCH: usize = 1_000;

/// A list of fids as bound for the `sql::DELETE_…` statements: a bigint[] (`= ANY($1)`).
pub(crate) fn fid_list(fids: Vec<i64>) -> Vec<i64> {
    fids
}

/// Inserts new buildings in batches (one statement per [`BATCH`] rows instead of one per row:
/// the first import of a city is almost all inserts), in order, so fids follow it; returns
/// their `(osm, fid)`.
pub(crate) async fn insert_buildings(
    conn: &mut Conn,
    buildings: &[&Building],
) -> Result<Vec<(String, i64)>, StoreError> {
    let mut inserted = Vec::with_capacity(buildings.len());
    for chunk in buildings.chunks(BATCH) {
        inserted.extend(insert_building_batch(conn, chunk).await?);
    }
    Ok(inserted)
}

/// Inserts `buildings` with one statement (arrays unnested in order); returns `(osm, fid)`.
async fn insert_building_batch(
    conn: &mut Conn,
    buildings: &[&Building],
) -> Result<Vec<(String, i64)>, StoreError> {
    let geom: Vec<Vec<u8>> = buildings
        .iter()
        .map(|b| encode_area(b.footprint.shape()))
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

/// Writes the imported ways under their OSM way ids, in batches of one upsert statement each
/// (`existing`, the stored ids, is what the GeoPackage needs to choose; `ON CONFLICT` decides
/// here). PostgreSQL arrays must be rectangular, so each way's node ids travel as one
/// comma-separated text and are split back into bigint[] by the server.
pub(crate) async fn write_ways(
    conn: &mut Conn,
    ways: &[StreetWay],
    _existing: &HashSet<i64>,
) -> Result<(), StoreError> {
    for chunk in ways.chunks(BATCH) {
        let geom: Vec<Vec<u8>> = chunk.iter().map(|w| encode_line(&w.line)).collect();
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
    }
    Ok(())
}
