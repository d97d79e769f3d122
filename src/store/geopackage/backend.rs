//! What the store code shared by both backends (`src/store/shared/`) needs from the
//! GeoPackage: its connection types, its geometry encoding (GeoPackageBinary: a header with the
//! envelope, then WKB) and what it does when a table changed (`gpkg_contents`' extent and
//! time, which desktop GIS reads).

use geo::{LineString, MultiPolygon, Point};

use super::gpkg_binary;
use crate::store::{Layer, StoreError};

/// A connection (a write transaction runs on the single writer connection).
pub(crate) type Conn = sqlx::SqliteConnection;
/// The read-only pool.
pub(crate) type Pool = sqlx::SqlitePool;
/// A result row.
pub(crate) type Row = sqlx::sqlite::SqliteRow;

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

/// Notes in the writing transaction that `layer` changed: its `gpkg_contents` extent is
/// recomputed from the rows' bounding-box columns and its time set (the GeoPackage has one
/// writer process, so it keeps no change log; `_origin` names writers on PostgreSQL).
pub(crate) async fn layer_changed(
    conn: &mut Conn,
    _origin: &str,
    layer: Layer,
) -> Result<(), StoreError> {
    super::write::recompute_extent(conn, layer).await
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
