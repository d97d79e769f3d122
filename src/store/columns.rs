//! Column encodings and constraint errors shared by both backends' code.

use sqlx::error::ErrorKind;

use super::StoreError;
use crate::model::Grid;

/// The JSON shape of one entry of `grids.workers`.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct WorkerJson {
    pub name: String,
    #[serde(default)]
    pub phone: Option<String>,
}

/// `grids.workers` of `grid`: a JSON array of `{name, phone}`.
pub(crate) fn workers_json(grid: &Grid) -> String {
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

/// Maps a UNIQUE violation to `Conflict(unique)` and a FOREIGN KEY violation to
/// `Conflict(foreign)`; anything else stays a database error.
pub(crate) fn constraint_conflict(
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
