//! Records of the grid map's governance that every backend keeps beside the layers: who changed
//! a boundary and when ([`BoundaryChange`]), building membership, and building chiefs.

use chrono::{DateTime, SecondsFormat, Utc};

use super::StoreError;
use geo::MultiPolygon;

use crate::model::Grid;

/// Who makes a change, and why: written with every boundary change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeBy {
    /// The person or process: the `X-Actor` header over HTTP (`anonymous` without one),
    /// `import` for file imports, `system` for other store writes.
    pub actor: String,
    /// An optional remark kept with the change.
    pub note: Option<String>,
}

impl ChangeBy {
    /// A change by `actor` without a note.
    pub fn new(actor: impl Into<String>) -> Self {
        ChangeBy {
            actor: actor.into(),
            note: None,
        }
    }

    /// Store writes made without a caller (the plain `insert_grid`, `replace_grid`… methods).
    pub fn system() -> Self {
        Self::new("system")
    }
}

/// The layers whose boundaries have a history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BoundaryLayer {
    /// Grids (parent: community).
    Grids,
    /// Communities (parent: street office).
    Communities,
    /// Street offices (no parent).
    StreetOffices,
}

impl BoundaryLayer {
    /// The table / collection name.
    pub fn as_str(self) -> &'static str {
        match self {
            BoundaryLayer::Grids => "grids",
            BoundaryLayer::Communities => "communities",
            BoundaryLayer::StreetOffices => "street_offices",
        }
    }
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BoundaryAction {
    /// The feature was created.
    Create,
    /// It was replaced (boundary, code, name, parent or people).
    Replace,
    /// It was deleted.
    Delete,
    /// Its code changed by a renumbering.
    Renumber,
    /// It absorbed a deleted grid's boundary (`DELETE …?reassign_to=`).
    Reassign,
}

impl BoundaryAction {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            BoundaryAction::Create => "create",
            BoundaryAction::Replace => "replace",
            BoundaryAction::Delete => "delete",
            BoundaryAction::Renumber => "renumber",
            BoundaryAction::Reassign => "reassign",
        }
    }

    /// Parses a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "create" => BoundaryAction::Create,
            "replace" => BoundaryAction::Replace,
            "delete" => BoundaryAction::Delete,
            "renumber" => BoundaryAction::Renumber,
            "reassign" => BoundaryAction::Reassign,
            _ => return None,
        })
    }
}

/// A boundary and the attributes that identify it, at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundaryState {
    /// Code (15, 12 or 9 digits).
    pub code: String,
    /// Name.
    pub name: String,
    /// The parent's id (community of a grid, street office of a community).
    pub parent_id: Option<i64>,
    /// The boundary, WGS 84.
    pub boundary: MultiPolygon<f64>,
}

/// One change to one boundary.
#[derive(Debug, Clone, PartialEq)]
pub struct BoundaryChange {
    /// Sequence number of the change (increases with time).
    pub id: i64,
    /// Layer.
    pub layer: BoundaryLayer,
    /// The feature's id in its layer.
    pub feature_id: i64,
    /// What happened.
    pub action: BoundaryAction,
    /// Who did it.
    pub actor: String,
    /// When (millisecond precision).
    pub at: DateTime<Utc>,
    /// Before (None on create).
    pub old: Option<BoundaryState>,
    /// After (None on delete).
    pub new: Option<BoundaryState>,
    /// Remark.
    pub note: Option<String>,
}

/// A committed write: the feature's id and the instant recorded in its history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    /// The feature's id (new for a create).
    pub id: i64,
    /// The change's timestamp in the history.
    pub at: DateTime<Utc>,
}

/// A community's grid map replaced as a whole ([`crate::store::WriteTx::replace_community_grids`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionCommitted {
    /// The saved grids' ids, in the order given (kept ids for replaced grids, new ids for
    /// created ones).
    pub ids: Vec<i64>,
    /// The grids deleted because the new map did not name them.
    pub deleted: Vec<i64>,
    /// The change's timestamp in the history (one for all rows).
    pub at: DateTime<Utc>,
}

/// What to do with the buildings of a grid being deleted.
#[derive(Debug, Clone)]
pub enum MembersOnDelete {
    /// Refuse the delete when buildings belong to the grid.
    Refuse,
    /// Delete anyway; the buildings fall into no grid (or whatever grid still holds them).
    Release,
    /// Replace this grid (the target, with its boundary grown over the deleted one) in the same
    /// transaction; its buildings then belong to the target.
    Reassign(Box<Grid>),
}

/// The outcome of a grid delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GridRemoval {
    /// Deleted (and the target replaced, when reassigning).
    Deleted(Committed),
    /// No such grid.
    NotFound,
    /// Refused: this many buildings belong to the grid.
    HasMembers(u64),
}

/// Formats an instant as stored in the history: RFC 3339, UTC, milliseconds.
///
/// ```
/// use chrono::TimeZone;
/// let t = chrono::Utc.with_ymd_and_hms(2026, 11, 23, 1, 2, 3).unwrap();
/// assert_eq!(gridcircle::store::history_time(t), "2026-11-23T01:02:03.000Z");
/// ```
pub fn history_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `VersionMismatch` unless grid `id` is stored at `expected` (`found`: the stored version,
/// None when the grid is gone).
pub(crate) fn check_version(id: i64, expected: i64, found: Option<i64>) -> Result<(), StoreError> {
    match found {
        Some(v) if v == expected => Ok(()),
        other => Err(StoreError::VersionMismatch {
            id,
            expected,
            found: other.unwrap_or(0),
        }),
    }
}

/// `VersionMismatch` unless the grids stored for a community (`stored`: id and version) are
/// exactly those the caller saw (`expected`), at the same versions: a grid another writer
/// created meanwhile (expected version 0), deleted (found 0) or changed is named.
pub(crate) fn check_versions(
    stored: &[(i64, i64)],
    expected: &[(i64, i64)],
) -> Result<(), StoreError> {
    let seen: std::collections::HashMap<i64, i64> = expected.iter().copied().collect();
    for &(id, version) in stored {
        check_version(id, seen.get(&id).copied().unwrap_or(0), Some(version))?;
    }
    let now: std::collections::HashSet<i64> = stored.iter().map(|s| s.0).collect();
    if let Some(&(id, version)) = expected.iter().find(|e| !now.contains(&e.0)) {
        return check_version(id, version, None);
    }
    Ok(())
}
