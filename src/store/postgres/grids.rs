//! Grids, communities and street offices with their boundary history, building membership,
//! renumbering and building chiefs (the PostgreSQL twin of `geopackage/grids.rs`, with the
//! same rules). Every boundary write is one transaction holding the write lock that also
//! appends to `boundary_history`, recomputes `buildings.grid_id` where the boundary was or is
//! (a GiST box filter on the buildings' representative points), and logs the change.
//!
//! Membership rule (the same as [`crate::index::GridLayer`]): a building belongs to the grid
//! whose boundary contains its representative point, the lowest grid fid when several do.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use geo::{BoundingRect, Rect};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, PgPool, Row};

use super::backend::begin;
use super::changes;
use super::wkb::{decode_multi_polygon, encode};
use crate::grids::CodeChange;
use crate::model::{AreaShape, Community, Grid, LonLat, Person, StreetOffice};
use crate::store::{
    BoundaryAction, BoundaryChange, BoundaryLayer, BoundaryState, ChangeBy, Committed, GridRemoval,
    MembersOnDelete, StoreError, check_version, check_versions, history_time,
};
use crate::store::{constraint_conflict, workers_json};

// ---------------------------------------------------------------- history

/// A feature's row as the history records it (geometry as WKB).
struct Stored {
    geom: Vec<u8>,
    code: String,
    name: String,
    parent: Option<i64>,
    rect: Option<Rect<f64>>,
}

impl Stored {
    fn of_shape(shape: &AreaShape, code: &str, name: &str, parent: Option<i64>) -> Self {
        Stored {
            geom: encode(shape.shape()),
            code: code.to_owned(),
            name: name.to_owned(),
            parent,
            rect: Some(shape.bbox()),
        }
    }
}

async fn read_stored(
    conn: &mut PgConnection,
    layer: BoundaryLayer,
    id: i64,
) -> Result<Option<Stored>, StoreError> {
    let sql = match layer {
        BoundaryLayer::Grids => {
            "SELECT ST_AsBinary(geom) AS geom, code, name, community_id AS parent FROM grids WHERE fid = $1 FOR UPDATE"
        }
        BoundaryLayer::Communities => {
            "SELECT ST_AsBinary(geom) AS geom, code, name, street_office_id AS parent FROM communities WHERE fid = $1 FOR UPDATE"
        }
        BoundaryLayer::StreetOffices => {
            "SELECT ST_AsBinary(geom) AS geom, code, name, NULL::bigint AS parent FROM street_offices WHERE fid = $1 FOR UPDATE"
        }
    };
    let Some(row) = sqlx::query(sql).bind(id).fetch_optional(&mut *conn).await? else {
        return Ok(None);
    };
    let geom: Vec<u8> = row.try_get("geom")?;
    let rect = decode_multi_polygon(&geom)
        .map_err(|message| StoreError::Corrupt {
            table: layer.as_str(),
            id,
            message,
        })?
        .bounding_rect();
    Ok(Some(Stored {
        geom,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        parent: row.try_get("parent")?,
        rect,
    }))
}

/// Now (milliseconds), or the latest recorded time if the clock went back.
async fn next_at(conn: &mut PgConnection) -> Result<(String, DateTime<Utc>), StoreError> {
    let now = history_time(Utc::now());
    let last: Option<String> = sqlx::query_scalar("SELECT MAX(at) FROM boundary_history")
        .fetch_one(&mut *conn)
        .await?;
    let at = match last {
        Some(last) if last > now => last,
        _ => now,
    };
    let parsed = DateTime::parse_from_rfc3339(&at)
        .map_err(|e| StoreError::Corrupt {
            table: "boundary_history",
            id: 0,
            message: format!("time {at:?}: {e}"),
        })?
        .with_timezone(&Utc);
    Ok((at, parsed))
}

#[allow(clippy::too_many_arguments)]
async fn record(
    conn: &mut PgConnection,
    layer: BoundaryLayer,
    feature_id: i64,
    action: BoundaryAction,
    by: &ChangeBy,
    at: &str,
    old: Option<&Stored>,
    new: Option<&Stored>,
    note: Option<String>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO boundary_history (geom, layer, feature_id, action, actor, at, old_geom, old_code, new_code, \
         old_name, new_name, old_parent_id, new_parent_id, note) \
         VALUES (ST_GeomFromWKB($1, 4326), $2, $3, $4, $5, $6, ST_GeomFromWKB($7, 4326), $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(new.map(|s| s.geom.as_slice()))
    .bind(layer.as_str())
    .bind(feature_id)
    .bind(action.as_str())
    .bind(&by.actor)
    .bind(at)
    .bind(old.map(|s| s.geom.as_slice()))
    .bind(old.map(|s| s.code.as_str()))
    .bind(new.map(|s| s.code.as_str()))
    .bind(old.map(|s| s.name.as_str()))
    .bind(new.map(|s| s.name.as_str()))
    .bind(old.and_then(|s| s.parent))
    .bind(new.and_then(|s| s.parent))
    .bind(note.or_else(|| by.note.clone()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn parse_layer(text: &str) -> Option<BoundaryLayer> {
    Some(match text {
        "grids" => BoundaryLayer::Grids,
        "communities" => BoundaryLayer::Communities,
        "street_offices" => BoundaryLayer::StreetOffices,
        _ => return None,
    })
}

fn history_row(row: &PgRow) -> Result<BoundaryChange, StoreError> {
    let id: i64 = row.try_get("fid")?;
    let corrupt = |message: String| StoreError::Corrupt {
        table: "boundary_history",
        id,
        message,
    };
    let state = |geom: &str,
                 code: &str,
                 name: &str,
                 parent: &str|
     -> Result<Option<BoundaryState>, StoreError> {
        let code: Option<String> = row.try_get(code)?;
        let Some(code) = code else { return Ok(None) };
        let blob: Option<Vec<u8>> = row.try_get(geom)?;
        let Some(blob) = blob else { return Ok(None) };
        Ok(Some(BoundaryState {
            code,
            name: row.try_get::<Option<String>, _>(name)?.unwrap_or_default(),
            parent_id: row.try_get(parent)?,
            boundary: decode_multi_polygon(&blob).map_err(corrupt)?,
        }))
    };
    let layer: String = row.try_get("layer")?;
    let action: String = row.try_get("action")?;
    let at: String = row.try_get("at")?;
    Ok(BoundaryChange {
        id,
        layer: parse_layer(&layer).ok_or_else(|| corrupt(format!("layer {layer:?}")))?,
        feature_id: row.try_get("feature_id")?,
        action: BoundaryAction::parse(&action)
            .ok_or_else(|| corrupt(format!("action {action:?}")))?,
        actor: row.try_get("actor")?,
        at: DateTime::parse_from_rfc3339(&at)
            .map_err(|e| corrupt(format!("time {at:?}: {e}")))?
            .with_timezone(&Utc),
        old: state("old_geom", "old_code", "old_name", "old_parent_id")?,
        new: state("geom", "new_code", "new_name", "new_parent_id")?,
        note: row.try_get("note")?,
    })
}

/// Every change to one feature, oldest first.
pub(super) async fn history(
    pool: &PgPool,
    layer: BoundaryLayer,
    feature_id: i64,
) -> Result<Vec<BoundaryChange>, StoreError> {
    let rows = sqlx::query(
        "SELECT h.fid, ST_AsBinary(h.geom) AS geom, h.layer, h.feature_id, h.action, h.actor, h.at, \
         ST_AsBinary(h.old_geom) AS old_geom, h.old_code, h.new_code, h.old_name, h.new_name, h.old_parent_id, \
         h.new_parent_id, h.note \
         FROM boundary_history h WHERE h.layer = $1 AND h.feature_id = $2 ORDER BY h.fid",
    )
        .bind(layer.as_str())
        .bind(feature_id)
        .fetch_all(pool)
        .await?;
    rows.iter().map(history_row).collect()
}

/// The features of `layer` as they were at `at`: for each feature its latest change at or
/// before `at`, unless that change deleted it. In feature id order.
pub(super) async fn as_of(
    pool: &PgPool,
    layer: BoundaryLayer,
    at: DateTime<Utc>,
) -> Result<Vec<(i64, BoundaryState)>, StoreError> {
    let rows = sqlx::query(
        "SELECT h.fid, ST_AsBinary(h.geom) AS geom, h.layer, h.feature_id, h.action, h.actor, h.at, \
         ST_AsBinary(h.old_geom) AS old_geom, h.old_code, h.new_code, h.old_name, h.new_name, h.old_parent_id, \
         h.new_parent_id, h.note \
         FROM boundary_history h \
         JOIN (SELECT feature_id, MAX(fid) AS last FROM boundary_history \
               WHERE layer = $1 AND at <= $2 GROUP BY feature_id) l ON h.fid = l.last \
         ORDER BY h.feature_id",
    )
        .bind(layer.as_str())
        .bind(history_time(at))
        .fetch_all(pool)
        .await?;
    let mut out = Vec::new();
    for row in &rows {
        let change = history_row(row)?;
        if let Some(state) = change.new {
            out.push((change.feature_id, state));
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------- membership

struct GridShape {
    fid: i64,
    area: AreaShape,
}

async fn grid_shapes(conn: &mut PgConnection) -> Result<Vec<GridShape>, StoreError> {
    let rows = sqlx::query("SELECT fid, ST_AsBinary(geom) AS geom FROM grids ORDER BY fid")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|row| {
            let fid: i64 = row.try_get("fid")?;
            let corrupt = |message: String| StoreError::Corrupt {
                table: "grids",
                id: fid,
                message,
            };
            let blob: Vec<u8> = row.try_get("geom")?;
            let shape = decode_multi_polygon(&blob).map_err(corrupt)?;
            let area =
                AreaShape::from_multi_polygon(shape, "geom").map_err(|e| corrupt(e.to_string()))?;
            Ok(GridShape { fid, area })
        })
        .collect()
}

/// Buildings (in `boxes`, or all) whose stored `grid_id` differs from the membership rule.
async fn membership_changes(
    conn: &mut PgConnection,
    boxes: Option<&[Rect<f64>]>,
) -> Result<Vec<(i64, Option<i64>)>, StoreError> {
    let grids = grid_shapes(conn).await?;
    let rows = match boxes {
        None => {
            sqlx::query("SELECT fid, point_lon, point_lat, grid_id FROM buildings ORDER BY fid")
                .fetch_all(&mut *conn)
                .await?
        }
        Some(boxes) => {
            let mut rows = Vec::new();
            for r in boxes {
                // The GiST index answers `&&` on float boxes rounded outwards; the exact
                // comparison keeps the same set as the GeoPackage store's BETWEEN.
                rows.extend(
                    sqlx::query(
                        "SELECT fid, point_lon, point_lat, grid_id FROM buildings \
                         WHERE point && ST_MakeEnvelope($1, $2, $3, $4, 4326) \
                         AND point_lon BETWEEN $1 AND $3 AND point_lat BETWEEN $2 AND $4",
                    )
                    .bind(r.min().x)
                    .bind(r.min().y)
                    .bind(r.max().x)
                    .bind(r.max().y)
                    .fetch_all(&mut *conn)
                    .await?,
                );
            }
            rows
        }
    };
    let mut out = Vec::new();
    for row in &rows {
        let fid: i64 = row.try_get("fid")?;
        let (lon, lat): (f64, f64) = (row.try_get("point_lon")?, row.try_get("point_lat")?);
        let stored: Option<i64> = row.try_get("grid_id")?;
        let point = LonLat::new(lon, lat).map_err(|e| StoreError::Corrupt {
            table: "buildings",
            id: fid,
            message: e.to_string(),
        })?;
        let member = grids.iter().find(|g| g.area.contains(point)).map(|g| g.fid);
        if member != stored {
            out.push((fid, member));
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Brings `buildings.grid_id` in line with the rule for the buildings in `boxes` (all with
/// `None`). Returns how many changed.
pub(super) async fn recompute_members(
    conn: &mut PgConnection,
    boxes: Option<&[Rect<f64>]>,
) -> Result<usize, StoreError> {
    let changes = membership_changes(conn, boxes).await?;
    if changes.is_empty() {
        return Ok(0);
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
    Ok(changes.len())
}

/// Re-derives membership for the whole database when it disagrees with the rule (grids edited
/// in QGIS, say). Writes nothing when it agrees.
pub(super) async fn heal_membership(pool: &PgPool) -> Result<usize, StoreError> {
    {
        let mut conn = pool.acquire().await?;
        if membership_changes(&mut conn, None).await?.is_empty() {
            return Ok(0);
        }
    }
    let mut tx = begin(pool).await?;
    let n = recompute_members(&mut *tx, None).await?;
    tx.commit().await?;
    if n > 0 {
        tracing::info!(buildings = n, "grid membership re-derived");
    }
    Ok(n)
}

/// `(building id, grid id)` for every building, in building id order.
pub(super) async fn membership(pool: &PgPool) -> Result<Vec<(i64, Option<i64>)>, StoreError> {
    let rows = sqlx::query("SELECT fid, grid_id FROM buildings ORDER BY fid")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("fid")?, r.try_get("grid_id")?)))
        .collect()
}

// ---------------------------------------------------------------- grids

fn grid_conflict(e: sqlx::Error, grid: &Grid) -> StoreError {
    constraint_conflict(
        e,
        || format!("grid code {} already exists", grid.code),
        || format!("community {} does not exist", grid.community_id),
    )
}

fn grid_stored(grid: &Grid) -> Stored {
    Stored::of_shape(
        &grid.boundary,
        grid.code.as_str(),
        &grid.name,
        Some(grid.community_id),
    )
}

fn boxes(list: &[&Stored]) -> Vec<Rect<f64>> {
    list.iter().filter_map(|s| s.rect).collect()
}

/// Inserts grid `grid` at version 1 inside `conn`; its new fid. A duplicate code is a `Conflict`.
async fn insert_grid_row(
    conn: &mut PgConnection,
    grid: &Grid,
    new: &Stored,
) -> Result<i64, StoreError> {
    sqlx::query_scalar(
        "INSERT INTO grids (geom, code, name, community_id, chief_name, chief_phone, workers, demo, version) \
         VALUES (ST_GeomFromWKB($1, 4326), $2, $3, $4, $5, $6, $7, $8, 1) RETURNING fid",
    )
    .bind(&new.geom)
    .bind(grid.code.as_str())
    .bind(&grid.name)
    .bind(grid.community_id)
    .bind(grid.chief.as_ref().map(|p| p.name()))
    .bind(grid.chief.as_ref().and_then(|p| p.phone()))
    .bind(workers_json(grid))
    .bind(grid.demo)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| grid_conflict(e, grid))
}

/// Inserts a grid at version 1, records it, computes membership and logs the change.
pub(crate) async fn create_grid(
    tx: &mut PgConnection,
    origin: &str,
    grid: &Grid,
    by: &ChangeBy,
) -> Result<Committed, StoreError> {
    let new = grid_stored(grid);
    let fid = insert_grid_row(&mut *tx, grid, &new).await?;
    let (at_text, at) = next_at(&mut *tx).await?;
    record(
        &mut *tx,
        BoundaryLayer::Grids,
        fid,
        BoundaryAction::Create,
        by,
        &at_text,
        None,
        Some(&new),
        None,
    )
    .await?;
    recompute_members(&mut *tx, Some(&boxes(&[&new]))).await?;
    changes::log(&mut *tx, origin, &["grids"]).await?;
    Ok(Committed { id: fid, at })
}

/// Writes every column of grid `grid.id` with version + 1. With `expected`, only when the
/// stored version is `expected` (checked in this transaction: a write based on an older read
/// is refused, never silently overwritten).
async fn write_grid(
    conn: &mut PgConnection,
    grid: &Grid,
    new: &Stored,
    expected: Option<i64>,
) -> Result<(), StoreError> {
    let found: Option<i64> = sqlx::query_scalar(
        "UPDATE grids SET geom = ST_GeomFromWKB($1, 4326), code = $2, name = $3, community_id = $4, \
         chief_name = $5, chief_phone = $6, workers = $7, demo = $8, version = version + 1 \
         WHERE fid = $9 AND ($10::bigint IS NULL OR version = $10) RETURNING version",
    )
    .bind(&new.geom)
    .bind(grid.code.as_str())
    .bind(&grid.name)
    .bind(grid.community_id)
    .bind(grid.chief.as_ref().map(|p| p.name()))
    .bind(grid.chief.as_ref().and_then(|p| p.phone()))
    .bind(workers_json(grid))
    .bind(grid.demo)
    .bind(grid.id)
    .bind(expected)
    .fetch_optional(&mut *conn)
    .await
    .map_err(|e| grid_conflict(e, grid))?;
    if found.is_none() {
        let stored: Option<i64> = sqlx::query_scalar("SELECT version FROM grids WHERE fid = $1")
            .bind(grid.id)
            .fetch_optional(&mut *conn)
            .await?;
        return Err(StoreError::VersionMismatch {
            id: grid.id,
            expected: expected.unwrap_or_default(),
            found: stored.unwrap_or_default(),
        });
    }
    Ok(())
}

/// Replaces grid `grid.id`, records the change and recomputes membership; None when no such
/// grid. With `expected`, a stored version other than it is a `VersionMismatch`.
pub(crate) async fn update_grid(
    tx: &mut PgConnection,
    origin: &str,
    grid: &Grid,
    by: &ChangeBy,
    expected: Option<i64>,
) -> Result<Option<Committed>, StoreError> {
    let Some(old) = read_stored(&mut *tx, BoundaryLayer::Grids, grid.id).await? else {
        return Ok(None);
    };
    let new = grid_stored(grid);
    write_grid(&mut *tx, grid, &new, expected).await?;
    let (at_text, at) = next_at(&mut *tx).await?;
    record(
        &mut *tx,
        BoundaryLayer::Grids,
        grid.id,
        BoundaryAction::Replace,
        by,
        &at_text,
        Some(&old),
        Some(&new),
        None,
    )
    .await?;
    recompute_members(&mut *tx, Some(&boxes(&[&old, &new]))).await?;
    changes::log(&mut *tx, origin, &["grids"]).await?;
    Ok(Some(Committed { id: grid.id, at }))
}

/// Deletes grid `id`, handling its buildings as `members` says, in one transaction.
pub(crate) async fn remove_grid(
    tx: &mut PgConnection,
    origin: &str,
    id: i64,
    version: i64,
    members: &MembersOnDelete,
    by: &ChangeBy,
) -> Result<GridRemoval, StoreError> {
    let Some(old) = read_stored(&mut *tx, BoundaryLayer::Grids, id).await? else {
        return Ok(GridRemoval::NotFound);
    };
    let found: Option<i64> = sqlx::query_scalar("SELECT version FROM grids WHERE fid = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    check_version(id, version, found)?;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM buildings WHERE grid_id = $1")
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
    if count > 0 && matches!(members, MembersOnDelete::Refuse) {
        return Ok(GridRemoval::HasMembers(count as u64));
    }
    let (at_text, at) = next_at(&mut *tx).await?;
    let mut rects = boxes(&[&old]);
    let target = match members {
        MembersOnDelete::Reassign(target) => Some(target),
        _ => None,
    };
    if let Some(t) = target
        && t.id == id
    {
        return Err(StoreError::Conflict(format!(
            "grid {id} cannot be reassigned to itself"
        )));
    }
    sqlx::query("DELETE FROM grids WHERE fid = $1")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let note = target.map(|t| {
        format!(
            "deleted; its {count} buildings and boundary go to grid {} ({})",
            t.id, t.code
        )
    });
    record(
        &mut *tx,
        BoundaryLayer::Grids,
        id,
        BoundaryAction::Delete,
        by,
        &at_text,
        Some(&old),
        None,
        note,
    )
    .await?;
    if let Some(t) = target {
        let Some(t_old) = read_stored(&mut *tx, BoundaryLayer::Grids, t.id).await? else {
            return Err(StoreError::Conflict(format!(
                "grid {} (reassign_to) does not exist",
                t.id
            )));
        };
        let t_new = grid_stored(t);
        write_grid(&mut *tx, t, &t_new, Some(t.version - 1)).await?;
        let note = format!(
            "absorbed deleted grid {id} ({}) and its {count} buildings",
            old.code
        );
        record(
            &mut *tx,
            BoundaryLayer::Grids,
            t.id,
            BoundaryAction::Reassign,
            by,
            &at_text,
            Some(&t_old),
            Some(&t_new),
            Some(note),
        )
        .await?;
        rects.extend(boxes(&[&t_old, &t_new]));
    }
    recompute_members(&mut *tx, Some(&rects)).await?;
    changes::log(&mut *tx, origin, &["grids"]).await?;
    Ok(GridRemoval::Deleted(Committed { id, at }))
}

/// Gives grids new codes in one transaction, through a free code when codes swap or cycle
/// under the UNIQUE index (the same algorithm as the GeoPackage store).
pub(crate) async fn renumber(
    tx: &mut PgConnection,
    origin: &str,
    changes: &[CodeChange],
    by: &ChangeBy,
) -> Result<DateTime<Utc>, StoreError> {
    let changes: Vec<&CodeChange> = changes.iter().filter(|c| c.changes()).collect();
    let (at_text, at) = next_at(&mut *tx).await?;
    if changes.is_empty() {
        return Ok(at);
    }
    let mut olds = HashMap::new();
    for c in &changes {
        let old = read_stored(&mut *tx, BoundaryLayer::Grids, c.id)
            .await?
            .ok_or_else(|| StoreError::Conflict(format!("grid {} does not exist", c.id)))?;
        if old.code != c.old.as_str() {
            return Err(StoreError::Conflict(format!(
                "grid {} has code {}, not {}: it changed meanwhile",
                c.id, old.code, c.old
            )));
        }
        olds.insert(c.id, old);
    }
    let prefixes: HashSet<String> = changes
        .iter()
        .map(|c| c.new.as_str()[..12].to_owned())
        .collect();
    let mut held: HashMap<String, i64> = HashMap::new();
    for prefix in &prefixes {
        let rows = sqlx::query("SELECT code, fid FROM grids WHERE substr(code, 1, 12) = $1")
            .bind(prefix)
            .fetch_all(&mut *tx)
            .await?;
        for r in rows {
            held.insert(r.try_get("code")?, r.try_get("fid")?);
        }
    }
    let mut targets = HashSet::new();
    for c in &changes {
        if !targets.insert(c.new.as_str()) {
            return Err(StoreError::Conflict(format!(
                "two grids would get the code {}",
                c.new
            )));
        }
        if let Some(holder) = held.get(c.new.as_str())
            && !olds.contains_key(holder)
        {
            return Err(StoreError::Conflict(format!(
                "grid code {} is held by grid {holder}, which is not renumbered",
                c.new
            )));
        }
    }
    let mut current: HashMap<i64, String> =
        olds.iter().map(|(id, s)| (*id, s.code.clone())).collect();
    let mut pending: Vec<(i64, String)> = changes
        .iter()
        .map(|c| (c.id, c.new.as_str().to_owned()))
        .collect();
    while !pending.is_empty() {
        let free = pending
            .iter()
            .position(|(id, code)| held.get(code).is_none_or(|holder| holder == id));
        let (id, code) = match free {
            Some(i) => pending.remove(i),
            None => {
                let (id, target) = pending[0].clone();
                let prefix = &target[..12];
                let parking = (0..=999)
                    .map(|seq| format!("{prefix}{seq:03}"))
                    .find(|c| !held.contains_key(c))
                    .ok_or_else(|| {
                        StoreError::Conflict(format!(
                            "community {prefix} has no free grid code to renumber through"
                        ))
                    })?;
                (id, parking)
            }
        };
        sqlx::query("UPDATE grids SET code = $1 WHERE fid = $2")
            .bind(&code)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| {
                constraint_conflict(
                    e,
                    || format!("grid code {code} is in use"),
                    || "missing row".into(),
                )
            })?;
        if let Some(was) = current.insert(id, code.clone()) {
            held.remove(&was);
        }
        held.insert(code, id);
    }
    for c in &changes {
        sqlx::query("UPDATE grids SET version = version + 1 WHERE fid = $1")
            .bind(c.id)
            .execute(&mut *tx)
            .await?;
        let old = &olds[&c.id];
        let new = Stored {
            geom: old.geom.clone(),
            code: c.new.as_str().to_owned(),
            name: old.name.clone(),
            parent: old.parent,
            rect: old.rect,
        };
        record(
            &mut *tx,
            BoundaryLayer::Grids,
            c.id,
            BoundaryAction::Renumber,
            by,
            &at_text,
            Some(old),
            Some(&new),
            None,
        )
        .await?;
    }
    changes::log(&mut *tx, origin, &["grids"]).await?;
    Ok(at)
}

// ---------------------------------------------------------------- communities, street offices

fn office_conflict(e: sqlx::Error, office: &StreetOffice) -> StoreError {
    constraint_conflict(
        e,
        || format!("street office code {} already exists", office.code),
        || "street office refers to a missing row".into(),
    )
}

/// Inserts a street office and records it.
pub(crate) async fn create_street_office(
    tx: &mut PgConnection,
    origin: &str,
    office: &StreetOffice,
    by: &ChangeBy,
) -> Result<Committed, StoreError> {
    let new = Stored::of_shape(&office.boundary, office.code.as_str(), &office.name, None);
    let fid: i64 = sqlx::query_scalar(
        "INSERT INTO street_offices (geom, code, name, demo) VALUES (ST_GeomFromWKB($1, 4326), $2, $3, $4) RETURNING fid",
    )
    .bind(&new.geom)
    .bind(office.code.as_str())
    .bind(&office.name)
    .bind(office.demo)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| office_conflict(e, office))?;
    let (at_text, at) = next_at(&mut *tx).await?;
    record(
        &mut *tx,
        BoundaryLayer::StreetOffices,
        fid,
        BoundaryAction::Create,
        by,
        &at_text,
        None,
        Some(&new),
        None,
    )
    .await?;
    changes::log(&mut *tx, origin, &["street_offices"]).await?;
    Ok(Committed { id: fid, at })
}

/// Replaces street office `office.id` and records the change; None when no such office.
pub(crate) async fn update_street_office(
    tx: &mut PgConnection,
    origin: &str,
    office: &StreetOffice,
    by: &ChangeBy,
) -> Result<Option<Committed>, StoreError> {
    let Some(old) = read_stored(&mut *tx, BoundaryLayer::StreetOffices, office.id).await? else {
        return Ok(None);
    };
    let new = Stored::of_shape(&office.boundary, office.code.as_str(), &office.name, None);
    sqlx::query(
        "UPDATE street_offices SET geom = ST_GeomFromWKB($1, 4326), code = $2, name = $3, demo = $4 WHERE fid = $5",
    )
    .bind(&new.geom)
    .bind(office.code.as_str())
    .bind(&office.name)
    .bind(office.demo)
    .bind(office.id)
    .execute(&mut *tx)
    .await
    .map_err(|e| office_conflict(e, office))?;
    let (at_text, at) = next_at(&mut *tx).await?;
    record(
        &mut *tx,
        BoundaryLayer::StreetOffices,
        office.id,
        BoundaryAction::Replace,
        by,
        &at_text,
        Some(&old),
        Some(&new),
        None,
    )
    .await?;
    changes::log(&mut *tx, origin, &["street_offices"]).await?;
    Ok(Some(Committed { id: office.id, at }))
}

fn community_conflict(e: sqlx::Error, community: &Community) -> StoreError {
    constraint_conflict(
        e,
        || format!("community code {} already exists", community.code),
        || {
            format!(
                "street office {} does not exist",
                community.street_office_id
            )
        },
    )
}

fn community_stored(community: &Community) -> Stored {
    Stored::of_shape(
        &community.boundary,
        community.code.as_str(),
        &community.name,
        Some(community.street_office_id),
    )
}

/// Inserts a community and records it.
pub(crate) async fn create_community(
    tx: &mut PgConnection,
    origin: &str,
    community: &Community,
    by: &ChangeBy,
) -> Result<Committed, StoreError> {
    let new = community_stored(community);
    let fid: i64 = sqlx::query_scalar(
        "INSERT INTO communities (geom, code, name, street_office_id, demo) \
         VALUES (ST_GeomFromWKB($1, 4326), $2, $3, $4, $5) RETURNING fid",
    )
    .bind(&new.geom)
    .bind(community.code.as_str())
    .bind(&community.name)
    .bind(community.street_office_id)
    .bind(community.demo)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| community_conflict(e, community))?;
    let (at_text, at) = next_at(&mut *tx).await?;
    record(
        &mut *tx,
        BoundaryLayer::Communities,
        fid,
        BoundaryAction::Create,
        by,
        &at_text,
        None,
        Some(&new),
        None,
    )
    .await?;
    changes::log(&mut *tx, origin, &["communities"]).await?;
    Ok(Committed { id: fid, at })
}

/// Replaces community `community.id` and records the change; None when no such community.
pub(crate) async fn update_community(
    tx: &mut PgConnection,
    origin: &str,
    community: &Community,
    by: &ChangeBy,
) -> Result<Option<Committed>, StoreError> {
    let Some(old) = read_stored(&mut *tx, BoundaryLayer::Communities, community.id).await? else {
        return Ok(None);
    };
    let new = community_stored(community);
    sqlx::query(
        "UPDATE communities SET geom = ST_GeomFromWKB($1, 4326), code = $2, name = $3, street_office_id = $4, \
         demo = $5 WHERE fid = $6",
    )
    .bind(&new.geom)
    .bind(community.code.as_str())
    .bind(&community.name)
    .bind(community.street_office_id)
    .bind(community.demo)
    .bind(community.id)
    .execute(&mut *tx)
    .await
    .map_err(|e| community_conflict(e, community))?;
    let (at_text, at) = next_at(&mut *tx).await?;
    record(
        &mut *tx,
        BoundaryLayer::Communities,
        community.id,
        BoundaryAction::Replace,
        by,
        &at_text,
        Some(&old),
        Some(&new),
        None,
    )
    .await?;
    changes::log(&mut *tx, origin, &["communities"]).await?;
    Ok(Some(Committed {
        id: community.id,
        at,
    }))
}

// ---------------------------------------------------------------- building chiefs

/// Sets (Some) or removes (None) the chief of a building; false when no such building.
pub(crate) async fn set_building_chief(
    tx: &mut PgConnection,
    building_id: i64,
    chief: Option<&Person>,
) -> Result<bool, StoreError> {
    let exists: Option<i64> = sqlx::query_scalar("SELECT fid FROM buildings WHERE fid = $1")
        .bind(building_id)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Ok(false);
    }
    match chief {
        Some(p) => {
            sqlx::query(
                "INSERT INTO building_chiefs (building_id, name, phone) VALUES ($1, $2, $3) \
                 ON CONFLICT (building_id) DO UPDATE SET name = excluded.name, phone = excluded.phone",
            )
            .bind(building_id)
            .bind(p.name())
            .bind(p.phone())
            .execute(&mut *tx)
            .await?;
        }
        None => {
            sqlx::query("DELETE FROM building_chiefs WHERE building_id = $1")
                .bind(building_id)
                .execute(&mut *tx)
                .await?;
        }
    }
    Ok(true)
}

/// The chiefs of the given buildings (those that have one).
pub(super) async fn building_chiefs(
    pool: &PgPool,
    building_ids: &[i64],
) -> Result<HashMap<i64, Person>, StoreError> {
    let rows = sqlx::query(
        "SELECT building_id, name, phone FROM building_chiefs WHERE building_id = ANY($1) ORDER BY building_id",
    )
    .bind(building_ids)
    .fetch_all(pool)
    .await?;
    rows.iter()
        .map(|r| {
            let id: i64 = r.try_get("building_id")?;
            let name: String = r.try_get("name")?;
            let phone: Option<String> = r.try_get("phone")?;
            let person = Person::new(&name, phone.as_deref()).map_err(|e| StoreError::Corrupt {
                table: "building_chiefs",
                id,
                message: e.to_string(),
            })?;
            Ok((id, person))
        })
        .collect()
}

/// Replaces the whole grid map of community `community_id` in one transaction (see
/// [`crate::store::Store::replace_community_grids`]): grids with a positive `id` replace those
/// stored grids (version + 1), the others are inserted, the community's grids not named are
/// deleted (first, so their codes are free); each change is recorded, membership is recomputed
/// over every old and new box, and the change is logged for the other replicas.
pub(crate) async fn replace_partition(
    tx: &mut PgConnection,
    origin: &str,
    community_id: i64,
    expected: &[(i64, i64)],
    grids: &[Grid],
    by: &ChangeBy,
) -> Result<crate::store::PartitionCommitted, StoreError> {
    let stored_versions: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT fid, version FROM grids WHERE community_id = $1 ORDER BY fid FOR UPDATE",
    )
    .bind(community_id)
    .fetch_all(&mut *tx)
    .await?;
    check_versions(&stored_versions, expected)?;
    let stored: Vec<i64> = stored_versions.iter().map(|s| s.0).collect();
    let kept: HashSet<i64> = grids.iter().filter(|g| g.id > 0).map(|g| g.id).collect();
    if let Some(g) = grids.iter().find(|g| g.id > 0 && !stored.contains(&g.id)) {
        return Err(StoreError::Conflict(format!(
            "grid {} is not a grid of community {community_id}",
            g.id
        )));
    }
    let (at_text, at) = next_at(&mut *tx).await?;
    let mut rects = Vec::new();
    let mut deleted = Vec::new();
    for &id in stored.iter().filter(|id| !kept.contains(id)) {
        let old = read_stored(&mut *tx, BoundaryLayer::Grids, id)
            .await?
            .expect("listed in this transaction");
        sqlx::query("DELETE FROM grids WHERE fid = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        record(
            &mut *tx,
            BoundaryLayer::Grids,
            id,
            BoundaryAction::Delete,
            by,
            &at_text,
            Some(&old),
            None,
            Some(format!(
                "replaced by a new grid map of community {community_id}"
            )),
        )
        .await?;
        rects.extend(old.rect);
        deleted.push(id);
    }
    for grid in grids.iter().filter(|g| g.id > 0) {
        let old = read_stored(&mut *tx, BoundaryLayer::Grids, grid.id)
            .await?
            .expect("checked above");
        let new = grid_stored(grid);
        write_grid(&mut *tx, grid, &new, None).await?;
        record(
            &mut *tx,
            BoundaryLayer::Grids,
            grid.id,
            BoundaryAction::Replace,
            by,
            &at_text,
            Some(&old),
            Some(&new),
            None,
        )
        .await?;
        rects.extend(old.rect);
        rects.extend(new.rect);
    }
    let mut ids = Vec::with_capacity(grids.len());
    for grid in grids {
        if grid.id > 0 {
            ids.push(grid.id);
            continue;
        }
        let new = grid_stored(grid);
        let fid = insert_grid_row(&mut *tx, grid, &new).await?;
        record(
            &mut *tx,
            BoundaryLayer::Grids,
            fid,
            BoundaryAction::Create,
            by,
            &at_text,
            None,
            Some(&new),
            None,
        )
        .await?;
        rects.extend(new.rect);
        ids.push(fid);
    }
    recompute_members(&mut *tx, Some(&rects)).await?;
    changes::log(&mut *tx, origin, &["grids"]).await?;
    Ok(crate::store::PartitionCommitted { ids, deleted, at })
}
