//! What the store code shared by both backends (`src/store/shared/`) needs from PostgreSQL:
//! its connection types, its geometry encoding (plain WKB, read back with `ST_AsBinary`) and
//! what it does when a table changed (a change-log row and a NOTIFY, so that the other
//! replicas reload it).

use geo::{LineString, MultiPolygon, Point};

use super::{changes, wkb};
use crate::store::{Layer, StoreError};

/// A connection.
pub(crate) type Conn = sqlx::PgConnection;
/// The pool.
pub(crate) type Pool = sqlx::PgPool;
/// A result row.
pub(crate) type Row = sqlx::postgres::PgRow;

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
