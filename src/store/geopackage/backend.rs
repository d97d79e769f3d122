//! What the store code shared by both backends (`src/store/shared/`) needs from the
//! GeoPackage: its connection types, its write transaction, its geometry encoding
//! (GeoPackageBinary: a header with the envelope, then WKB), what it does when a table changed
//! (`gpkg_contents`' extent and time, which desktop GIS reads) and the OSM import's writes that
//! SQLite does its own way.

use std::collections::HashSet;

use geo::{BoundingRect, LineString, MultiPolygon, Point};
use sqlx::{Row as _, Transaction};

use super::gpkg_binary;
use crate::model::{Building, StreetWay};
use crate::store::{Layer, StoreError};

/// The database.
pub(crate) type Db = sqlx::Sqlite;
/// A connection (a write transaction runs on the single writer connection).
pub(crate) type Conn = sqlx::SqliteConnection;
/// The read-only pool (and the single writer's pool of one).
pub(crate) type Pool = sqlx::SqlitePool;
/// A result row.
pub(crate) type Row = sqlx::sqlite::SqliteRow;

/// The change-log origin the shared code is given: one process owns the file and keeps no
/// change log, so no other writer needs to tell its changes apart.
pub(crate) const ORIGIN: &str = "geopackage";

/// Starts a write transaction that holds SQLite's write lock from its first statement, so it
/// can never fail half-way for a lock held by another process (it waits up to the busy
/// timeout at `BEGIN` instead).
pub(crate) async fn begin(writer: &Pool) -> Result<Transaction<'static, Db>, StoreError> {
    Ok(writer.begin_with("BEGIN IMMEDIATE").await?)
}

/// A multipolygon as stored.
pub(crate) fn encode_area(shape: &MultiPolygon<f64>) -> Vec<u8> {
    gpkg_binary::encode_multi_polygon(shape)
}

/// A stored multipolygon.
pub(crate) fn decode_area(blob: &[u8]) -> Result<MultiPolygon<f64>, String> {
    gpkg_binary::decode_multi_polygon(blob).map_err(|e| e.to_string())
}

/// A point as stored.
pub(crate) fn encode_point(point: Point<f64>) -> Vec<u8> {
    gpkg_binary::encode_point(point)
}

/// A stored point.
pub(crate) fn decode_point(blob: &[u8]) -> Result<Point<f64>, String> {
    gpkg_binary::decode_point(blob).map_err(|e| e.to_string())
}

/// A line as stored.
pub(crate) fn encode_line(line: &LineString<f64>) -> Vec<u8> {
    gpkg_binary::encode_line_string(line)
}

/// A stored line.
pub(crate) fn decode_line(blob: &[u8]) -> Result<LineString<f64>, String> {
    gpkg_binary::decode_line_string(blob).map_err(|e| e.to_string())
}

/// A read transaction on a read-only connection: every query in it sees the same snapshot.
pub(crate) async fn read_tx(
    pool: &Pool,
) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
    Ok(pool.begin().await?)
}

/// `ways.node_ids` as stored: one little-endian i64 per vertex.
pub(crate) fn encode_node_ids(ids: &[i64]) -> Vec<u8> {
    ids.iter().flat_map(|id| id.to_le_bytes()).collect()
}

/// Stored `ways.node_ids`.
pub(crate) fn decode_node_ids(blob: &[u8]) -> Result<Vec<i64>, String> {
    if !blob.len().is_multiple_of(8) {
        return Err(format!(
            "node_ids has {} bytes, not a multiple of 8",
            blob.len()
        ));
    }
    Ok(blob
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect())
}

// ---------------------------------------------------------------- changes

/// Notes in the writing transaction that `layer` changed: its `gpkg_contents` extent is
/// recomputed from the rows' bounding-box columns and its time set (the GeoPackage has one
/// writer process, so it keeps no change log; `_origin` names writers on PostgreSQL).
pub(crate) async fn layer_changed(
    conn: &mut Conn,
    _origin: &str,
    layer: Layer,
) -> Result<(), StoreError> {
    recompute_extent(conn, layer).await
}

/// Notes an OSM import (every OSM layer, the membership and the time zone were written): the
/// extents of the four OSM layers are recomputed and the settings' time set.
pub(crate) async fn osm_import_changed(conn: &mut Conn, _origin: &str) -> Result<(), StoreError> {
    for layer in [
        Layer::Buildings,
        Layer::Facilities,
        Layer::Ways,
        Layer::Land,
    ] {
        recompute_extent(&mut *conn, layer).await?;
    }
    sqlx::query(
        "UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE table_name = 'settings'",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Notes that buildings' counted households changed: only the time of the change (the
/// geometries, and so the extent, are as they were).
pub(crate) async fn households_changed(conn: &mut Conn, _origin: &str) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') \
         WHERE table_name = 'buildings'",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

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

/// Sets the table's extent to the bounding box of its rows (NULL when empty) and its time of
/// change to now.
pub(crate) async fn recompute_extent(conn: &mut Conn, layer: Layer) -> Result<(), StoreError> {
    sqlx::query(layer.recompute_sql())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------- OSM import

/// A list of fids as bound for the `sql::DELETE_…` statements: a JSON array, which
/// `json_each` reads (SQLite has no arrays).
pub(crate) fn fid_list(fids: Vec<i64>) -> String {
    serde_json::to_string(&fids).expect("a list of integers serialises")
}

/// Inserts new buildings one statement each, in order; returns their `(osm, fid)`.
pub(crate) async fn insert_buildings(
    conn: &mut Conn,
    buildings: &[&Building],
) -> Result<Vec<(String, i64)>, StoreError> {
    let mut inserted = Vec::with_capacity(buildings.len());
    for b in buildings {
        let osm = b.osm.to_string();
        let bbox = b.footprint.bbox();
        let query = sqlx::query(
            "INSERT INTO buildings (geom, name, building, levels, households, residents, household_source, \
             point_lon, point_lat, entrance_lon, entrance_lat, min_x, min_y, max_x, max_y, osm) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING fid",
        );
        let fid: i64 = super::facilities::bind_building(query, b)
            .bind(bbox.min().x)
            .bind(bbox.min().y)
            .bind(bbox.max().x)
            .bind(bbox.max().y)
            .bind(&osm)
            .fetch_one(&mut *conn)
            .await?
            .try_get(0)?;
        inserted.push((osm, fid));
    }
    Ok(inserted)
}

/// Writes the imported ways under their OSM way ids, one statement each: an update where the id
/// is stored, else an insert. Deliberately no `INSERT … ON CONFLICT` (see
/// `shared/facilities.rs`' `osm_import`).
pub(crate) async fn write_ways(
    conn: &mut Conn,
    ways: &[StreetWay],
    existing: &HashSet<i64>,
) -> Result<(), StoreError> {
    let mut inserted = HashSet::new();
    for w in ways {
        let bbox = w.line.bounding_rect();
        let sql = if existing.contains(&w.id) || !inserted.insert(w.id) {
            "UPDATE ways SET geom = $1, highway = $2, name = $3, foot = $4, access = $5, area = $6, node_ids = $7, \
             min_x = $8, min_y = $9, max_x = $10, max_y = $11 WHERE fid = $12"
        } else {
            "INSERT INTO ways (geom, highway, name, foot, access, area, node_ids, min_x, min_y, max_x, max_y, fid) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        };
        sqlx::query(sql)
            .bind(encode_line(&w.line))
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
    }
    Ok(())
}

/// Sets `buildings.grid_id` for each `(building, grid)` of `changes`.
pub(crate) async fn set_grid_members(
    conn: &mut Conn,
    changes: &[(i64, Option<i64>)],
) -> Result<(), StoreError> {
    for (building, grid) in changes {
        sqlx::query("UPDATE buildings SET grid_id = $1 WHERE fid = $2")
            .bind(grid)
            .bind(building)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_round_trip() {
        let ids = vec![1, -2, i64::MAX, 12_345_678_901];
        let blob = encode_node_ids(&ids);
        assert_eq!(blob.len(), 32);
        assert_eq!(&blob[0..8], &[1, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(decode_node_ids(&blob).unwrap(), ids);
        assert!(decode_node_ids(&blob[..7]).is_err());
    }
}
