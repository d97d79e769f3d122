// Grids, communities and street offices with their boundary history, building membership,
// renumbering and building chiefs: written once for both backends. Compiled once per backend
// (see `src/store/shared/mod.rs`), with `b` naming that backend and `sql` its statements that
// differ.
//
// Every boundary write runs in the caller's write transaction and also
// - appends a row to `boundary_history` (who, when, old and new boundary, code, name, parent);
// - for grids, recomputes `buildings.grid_id` for the buildings whose representative point lies
//   in the bounding box of the old or the new boundary (only they can change grid);
// - notes the changed layer (`b::layer_changed`: the GeoPackage's extents, PostgreSQL's
//   change log).
//
// Membership rule (the same as the read model's `GridLayer`): a building belongs to the grid
// whose boundary contains its representative point (`AreaShape::contains`, boundary
// included), the lowest grid fid when several do.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use geo::{BoundingRect, Rect};
use sqlx::Row;

use crate::grids::CodeChange;
use crate::model::{AreaShape, Community, Grid, LonLat, Person, StreetOffice};
use crate::store::{
    BoundaryAction, BoundaryChange, BoundaryLayer, BoundaryState, ChangeBy, Committed, GridRemoval,
    Layer, MembersOnDelete, PartitionCommitted, StoreError, check_version, check_versions,
    constraint_conflict, history_time, workers_json,
};

// ---------------------------------------------------------------- history

/// A feature's row as the history records it.
struct Stored {
    geom: Vec<u8>,
    code: String,
    name: String,
    parent: Option<i64>,
    bbox: [f64; 4],
}

impl Stored {
    fn of_shape(shape: &AreaShape, code: &str, name: &str, parent: Option<i64>) -> Self {
        let b = shape.bbox();
        Stored {
            geom: b::encode_area(shape.shape()),
            code: code.to_owned(),
            name: name.to_owned(),
            parent,
            bbox: [b.min().x, b.min().y, b.max().x, b.max().y],
        }
    }

    /// `Stale` unless this stored row is still the one a write was based on (boundary, code,
    /// name and parent): a compare-and-swap for features without a version column.
    fn still(
        &self,
        layer: BoundaryLayer,
        id: i64,
        boundary: &AreaShape,
        code: &str,
        name: &str,
        parent: Option<i64>,
    ) -> Result<(), StoreError> {
        let same_shape = b::decode_area(&self.geom).is_ok_and(|g| &g == boundary.shape());
        if same_shape && self.code == code && self.name == name && self.parent == parent {
            Ok(())
        } else {
            Err(StoreError::Stale(format!("{} {id}", layer.as_str())))
        }
    }

    fn rect(&self) -> Rect<f64> {
        Rect::new((self.bbox[0], self.bbox[1]), (self.bbox[2], self.bbox[3]))
    }
}

/// The current row of a feature (locked for this transaction where the backend can), or None.
async fn read_stored(
    conn: &mut b::Conn,
    layer: BoundaryLayer,
    id: i64,
) -> Result<Option<Stored>, StoreError> {
    let statement = match layer {
        BoundaryLayer::Grids => sql::READ_GRID,
        BoundaryLayer::Communities => sql::READ_COMMUNITY,
        BoundaryLayer::StreetOffices => sql::READ_STREET_OFFICE,
    };
    let Some(row) = sqlx::query(statement)
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let geom: Vec<u8> = row.try_get("geom")?;
    let corrupt = |message: String| StoreError::Corrupt {
        table: layer.as_str(),
        id,
        message,
    };
    let rect = b::decode_area(&geom)
        .map_err(corrupt)?
        .bounding_rect()
        .ok_or_else(|| corrupt("an empty boundary".into()))?;
    Ok(Some(Stored {
        geom,
        code: row.try_get("code")?,
        name: row.try_get("name")?,
        parent: row.try_get("parent")?,
        bbox: [rect.min().x, rect.min().y, rect.max().x, rect.max().y],
    }))
}

/// The timestamp of a new history row: now (milliseconds), or the latest recorded one if the
/// clock went back, so history order and time order agree.
async fn next_at(conn: &mut b::Conn) -> Result<(String, DateTime<Utc>), StoreError> {
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
    conn: &mut b::Conn,
    layer: BoundaryLayer,
    feature_id: i64,
    action: BoundaryAction,
    by: &ChangeBy,
    at: &str,
    old: Option<&Stored>,
    new: Option<&Stored>,
    note: Option<String>,
) -> Result<(), StoreError> {
    sqlx::query(sql::INSERT_HISTORY)
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
    .bind(new.map(|s| s.bbox[0]))
    .bind(new.map(|s| s.bbox[1]))
    .bind(new.map(|s| s.bbox[2]))
    .bind(new.map(|s| s.bbox[3]))
    .execute(&mut *conn)
    .await?;
    if let (Some(s), Some(grow)) = (new, sql::GROW_HISTORY_EXTENT) {
        sqlx::query(grow)
            .bind(s.bbox[0])
            .bind(s.bbox[1])
            .bind(s.bbox[2])
            .bind(s.bbox[3])
            .execute(&mut *conn)
            .await?;
    }
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

fn history_row(row: &b::Row) -> Result<BoundaryChange, StoreError> {
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
            boundary: b::decode_area(&blob).map_err(corrupt)?,
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
pub(crate) async fn history(
    reader: &b::Pool,
    layer: BoundaryLayer,
    feature_id: i64,
) -> Result<Vec<BoundaryChange>, StoreError> {
    let rows = sqlx::query(sql::HISTORY)
    .bind(layer.as_str())
    .bind(feature_id)
    .fetch_all(reader)
    .await?;
    rows.iter().map(history_row).collect()
}

/// The features of `layer` as they were at `at`: for each feature, its latest change at or
/// before `at`, unless that change deleted it. In feature id order.
pub(crate) async fn as_of(
    reader: &b::Pool,
    layer: BoundaryLayer,
    at: DateTime<Utc>,
) -> Result<Vec<(i64, BoundaryState)>, StoreError> {
    let rows = sqlx::query(sql::AS_OF)
    .bind(layer.as_str())
    .bind(history_time(at))
    .fetch_all(reader)
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

/// A stored grid for the membership rule.
struct GridShape {
    fid: i64,
    area: AreaShape,
}

async fn grid_shapes(conn: &mut b::Conn) -> Result<Vec<GridShape>, StoreError> {
    let rows = sqlx::query(sql::GRID_SHAPES)
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
            let shape = b::decode_area(&blob).map_err(corrupt)?;
            let area =
                AreaShape::from_multi_polygon(shape, "geom").map_err(|e| corrupt(e.to_string()))?;
            Ok(GridShape { fid, area })
        })
        .collect()
}

/// Buildings (in `boxes`, or all) whose stored `grid_id` differs from the membership rule:
/// `(building fid, the grid it belongs to)`, in building fid order.
async fn membership_changes(
    conn: &mut b::Conn,
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
                rows.extend(
                    sqlx::query(sql::BUILDINGS_IN_BOX)
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

/// Brings `buildings.grid_id` in line with the membership rule for the buildings in `boxes`
/// (all buildings with `None`). Returns how many changed.
pub(crate) async fn recompute_members(
    conn: &mut b::Conn,
    boxes: Option<&[Rect<f64>]>,
) -> Result<usize, StoreError> {
    let changes = membership_changes(conn, boxes).await?;
    b::set_grid_members(conn, &changes).await?;
    Ok(changes.len())
}

/// Re-derives membership for the whole store in the caller's transaction when it disagrees
/// with the rule (after the migration that added it, or after grids were edited in desktop
/// GIS); returns how many buildings changed (0: nothing was written).
pub(crate) async fn heal_membership(
    tx: &mut b::Conn,
    origin: &str,
) -> Result<usize, StoreError> {
    let n = recompute_members(tx, None).await?;
    if n > 0 {
        b::layer_changed(tx, origin, Layer::Grids).await?;
    }
    Ok(n)
}

/// `(building id, grid id)` for every building, in building id order.
pub(crate) async fn membership(reader: &b::Pool) -> Result<Vec<(i64, Option<i64>)>, StoreError> {
    let rows = sqlx::query("SELECT fid, grid_id FROM buildings ORDER BY fid")
        .fetch_all(reader)
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

/// Inserts grid `grid` at version 1 inside `conn`; its new fid. A duplicate code is a `Conflict`.
async fn insert_grid_row(
    conn: &mut b::Conn,
    grid: &Grid,
    new: &Stored,
) -> Result<i64, StoreError> {
    sqlx::query_scalar(sql::INSERT_GRID)
        .bind(&new.geom)
        .bind(grid.code.as_str())
        .bind(&grid.name)
        .bind(grid.community_id)
        .bind(grid.chief.as_ref().map(|p| p.name()))
        .bind(grid.chief.as_ref().and_then(|p| p.phone()))
        .bind(workers_json(grid))
        .bind(grid.demo)
        .bind(new.bbox[0])
        .bind(new.bbox[1])
        .bind(new.bbox[2])
        .bind(new.bbox[3])
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| grid_conflict(e, grid))
}

/// Inserts a grid at version 1, records it and computes its buildings' membership.
pub(crate) async fn create_grid(
    tx: &mut b::Conn,
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
    recompute_members(&mut *tx, Some(&[new.rect()])).await?;
    b::layer_changed(tx, origin, Layer::Grids).await?;
    Ok(Committed { id: fid, at })
}

/// Writes every column of grid `grid.id` (version + 1) inside `conn`; with `expected`, only
/// when the stored version is `expected` (otherwise `VersionMismatch`, nothing written).
async fn write_grid(
    conn: &mut b::Conn,
    grid: &Grid,
    new: &Stored,
    expected: Option<i64>,
) -> Result<bool, StoreError> {
    let matched = sqlx::query(sql::UPDATE_GRID)
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
        .bind(new.bbox[0])
        .bind(new.bbox[1])
        .bind(new.bbox[2])
        .bind(new.bbox[3])
    .execute(&mut *conn)
    .await
    .map_err(|e| grid_conflict(e, grid))?
    .rows_affected();
    if matched == 0
        && let Some(expected) = expected
    {
        let found: Option<i64> = sqlx::query_scalar("SELECT version FROM grids WHERE fid = $1")
            .bind(grid.id)
            .fetch_optional(&mut *conn)
            .await?;
        return Err(StoreError::VersionMismatch {
            id: grid.id,
            expected,
            found: found.unwrap_or_default(),
        });
    }
    Ok(matched > 0)
}

/// Replaces grid `grid.id` (version + 1), records the change and recomputes membership where
/// the boundary was or is. None when no such grid.
pub(crate) async fn update_grid(
    tx: &mut b::Conn,
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
    recompute_members(&mut *tx, Some(&[old.rect(), new.rect()])).await?;
    b::layer_changed(tx, origin, Layer::Grids).await?;
    Ok(Some(Committed { id: grid.id, at }))
}

/// Deletes grid `id`, handling its buildings as `members` says, in one transaction.
pub(crate) async fn remove_grid(
    tx: &mut b::Conn,
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
    let mut boxes = vec![old.rect()];
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
        boxes.push(t_old.rect());
        boxes.push(t_new.rect());
    }
    recompute_members(&mut *tx, Some(&boxes)).await?;
    b::layer_changed(tx, origin, Layer::Grids).await?;
    Ok(GridRemoval::Deleted(Committed { id, at }))
}

/// Replaces the whole grid map of community `community_id` with `grids` in one transaction:
/// a grid with a positive `id` replaces that stored grid of the community (version + 1, a
/// `replace` history row), one without is inserted (`create`), and every stored grid of the
/// community not named is deleted (`delete`, noted as replaced by the partition). Deletes run
/// first, so a new grid may take a deleted grid's code. Membership is recomputed over the
/// boxes of every old and new boundary. A named grid that is not in the community is a
/// `Conflict`.
pub(crate) async fn replace_partition(
    tx: &mut b::Conn,
    origin: &str,
    community_id: i64,
    expected: &[(i64, i64)],
    grids: &[Grid],
    by: &ChangeBy,
) -> Result<PartitionCommitted, StoreError> {
    let stored_versions: Vec<(i64, i64)> =
        sqlx::query_as(sql::COMMUNITY_GRIDS)
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
    let mut boxes = Vec::new();
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
        boxes.push(old.rect());
        deleted.push(id);
    }
    let mut ids = Vec::with_capacity(grids.len());
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
        boxes.push(old.rect());
        boxes.push(new.rect());
    }
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
        boxes.push(new.rect());
        ids.push(fid);
    }
    recompute_members(&mut *tx, Some(&boxes)).await?;
    b::layer_changed(tx, origin, Layer::Grids).await?;
    Ok(PartitionCommitted { ids, deleted, at })
}

/// Gives grids new codes in one transaction. `changes` name grids by id with their current
/// (`old`) and new codes; entries whose code does not change are skipped. Codes may swap or
/// run in cycles under the UNIQUE index: a grid whose new code is still held waits, and a
/// cycle is broken by moving one grid to a free code of its community first. Each changed grid
/// gets version + 1 and a `renumber` history row. A grid whose current code is not `old` is a
/// `Conflict`. Returns the change's timestamp.
pub(crate) async fn renumber(
    tx: &mut b::Conn,
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
    // Codes held now, in the communities concerned: code → fid.
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
                // Every remaining target is held by another pending grid: a cycle. Park one.
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
            bbox: old.bbox,
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
    b::layer_changed(tx, origin, Layer::Grids).await?;
    Ok(at)
}

// ---------------------------------------------------------------- communities, street offices

/// A street office or community as the shared writes below see it: the parent is the street
/// office of a community, none for a street office.
struct AreaRow<'a> {
    layer: BoundaryLayer,
    id: i64,
    boundary: &'a AreaShape,
    code: &'a str,
    name: &'a str,
    parent: Option<i64>,
    demo: bool,
}

impl<'a> From<&'a StreetOffice> for AreaRow<'a> {
    fn from(o: &'a StreetOffice) -> Self {
        AreaRow {
            layer: BoundaryLayer::StreetOffices,
            id: o.id,
            boundary: &o.boundary,
            code: o.code.as_str(),
            name: &o.name,
            parent: None,
            demo: o.demo,
        }
    }
}

impl<'a> From<&'a Community> for AreaRow<'a> {
    fn from(c: &'a Community) -> Self {
        AreaRow {
            layer: BoundaryLayer::Communities,
            id: c.id,
            boundary: &c.boundary,
            code: c.code.as_str(),
            name: &c.name,
            parent: Some(c.street_office_id),
            demo: c.demo,
        }
    }
}

impl AreaRow<'_> {
    fn stored(&self) -> Stored {
        Stored::of_shape(self.boundary, self.code, self.name, self.parent)
    }

    fn layer(&self) -> Layer {
        match self.layer {
            BoundaryLayer::StreetOffices => Layer::StreetOffices,
            _ => Layer::Communities,
        }
    }

    /// A UNIQUE violation is this code taken; a FOREIGN KEY one, the parent missing.
    fn conflict(&self, e: sqlx::Error) -> StoreError {
        let noun = match self.layer {
            BoundaryLayer::StreetOffices => "street office",
            _ => "community",
        };
        constraint_conflict(
            e,
            || format!("{noun} code {} already exists", self.code),
            || match self.parent {
                Some(p) => format!("street office {p} does not exist"),
                None => format!("{noun} refers to a missing row"),
            },
        )
    }

    /// Binds `$1` boundary, `$2` code, `$3` name, `$4` parent, `$5` demo, `$6` fid and
    /// `$7..$10` the bounding box: the parameters of `sql::{INSERT,UPDATE}_{STREET_OFFICE,
    /// COMMUNITY}` (a statement leaves out those it does not use).
    fn bind<'q>(
        &self,
        statement: &'static str,
        new: &'q Stored,
    ) -> sqlx::query::Query<'q, <b::Conn as sqlx::Connection>::Database, <<b::Conn as sqlx::Connection>::Database as sqlx::Database>::Arguments>
    {
        sqlx::query(statement)
            .bind(&new.geom)
            .bind(self.code.to_owned())
            .bind(self.name.to_owned())
            .bind(self.parent)
            .bind(self.demo)
            .bind(self.id)
            .bind(new.bbox[0])
            .bind(new.bbox[1])
            .bind(new.bbox[2])
            .bind(new.bbox[3])
    }
}

/// Inserts a street office or community (its id is ignored) and records it.
async fn create_area(
    tx: &mut b::Conn,
    origin: &str,
    area: AreaRow<'_>,
    statement: &'static str,
    by: &ChangeBy,
) -> Result<Committed, StoreError> {
    let new = area.stored();
    let row = area
        .bind(statement, &new)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| area.conflict(e))?;
    let fid: i64 = row.try_get(0)?;
    let (at_text, at) = next_at(&mut *tx).await?;
    let action = BoundaryAction::Create;
    record(&mut *tx, area.layer, fid, action, by, &at_text, None, Some(&new), None).await?;
    b::layer_changed(tx, origin, area.layer()).await?;
    Ok(Committed { id: fid, at })
}

/// Replaces street office or community `area.id` only if it is still `expected`, and records
/// the change; None when there is no such row.
async fn update_area(
    tx: &mut b::Conn,
    origin: &str,
    area: AreaRow<'_>,
    expected: AreaRow<'_>,
    statement: &'static str,
    by: &ChangeBy,
) -> Result<Option<Committed>, StoreError> {
    let Some(old) = read_stored(&mut *tx, area.layer, area.id).await? else {
        return Ok(None);
    };
    let e = &expected;
    old.still(e.layer, e.id, e.boundary, e.code, e.name, e.parent)?;
    let new = area.stored();
    area.bind(statement, &new)
        .execute(&mut *tx)
        .await
        .map_err(|e| area.conflict(e))?;
    let (at_text, at) = next_at(&mut *tx).await?;
    let action = BoundaryAction::Replace;
    record(&mut *tx, area.layer, area.id, action, by, &at_text, Some(&old), Some(&new), None).await?;
    b::layer_changed(tx, origin, area.layer()).await?;
    Ok(Some(Committed { id: area.id, at }))
}

/// Inserts a street office and records it.
pub(crate) async fn create_street_office(
    tx: &mut b::Conn,
    origin: &str,
    office: &StreetOffice,
    by: &ChangeBy,
) -> Result<Committed, StoreError> {
    create_area(tx, origin, office.into(), sql::INSERT_STREET_OFFICE, by).await
}

/// Replaces street office `office.id` if the stored one is still `expected`, and records the
/// change; None when no such office.
pub(crate) async fn update_street_office(
    tx: &mut b::Conn,
    origin: &str,
    office: &StreetOffice,
    expected: &StreetOffice,
    by: &ChangeBy,
) -> Result<Option<Committed>, StoreError> {
    let statement = sql::UPDATE_STREET_OFFICE;
    update_area(tx, origin, office.into(), expected.into(), statement, by).await
}

/// Inserts a community and records it.
pub(crate) async fn create_community(
    tx: &mut b::Conn,
    origin: &str,
    community: &Community,
    by: &ChangeBy,
) -> Result<Committed, StoreError> {
    create_area(tx, origin, community.into(), sql::INSERT_COMMUNITY, by).await
}

/// Replaces community `community.id` if the stored one is still `expected`, and records the
/// change; None when no such community.
pub(crate) async fn update_community(
    tx: &mut b::Conn,
    origin: &str,
    community: &Community,
    expected: &Community,
    by: &ChangeBy,
) -> Result<Option<Committed>, StoreError> {
    let statement = sql::UPDATE_COMMUNITY;
    update_area(tx, origin, community.into(), expected.into(), statement, by).await
}

// ---------------------------------------------------------------- building chiefs

/// Sets (Some) or removes (None) the chief of building `building_id`; false when no such
/// building.
pub(crate) async fn set_building_chief(
    tx: &mut b::Conn,
    _origin: &str,
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
pub(crate) async fn building_chiefs(
    reader: &b::Pool,
    building_ids: &[i64],
) -> Result<HashMap<i64, Person>, StoreError> {
    let ids = serde_json::to_string(building_ids).expect("numbers serialise");
    let rows = sqlx::query(sql::CHIEFS_OF)
    .bind(ids)
    .fetch_all(reader)
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
