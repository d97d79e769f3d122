//! A grid (网格): the smallest unit of neighbourhood governance, with its chief.

use super::{AreaShape, GridCode, Person};

/// A grid inside a community, with a grid chief (网格长) and optional grid workers (网格员).
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    /// Store id.
    pub id: i64,
    /// 15-digit code; the first 12 digits are the community's code.
    pub code: GridCode,
    /// Name, e.g. 第3网格.
    pub name: String,
    /// The community it belongs to.
    pub community_id: i64,
    /// The grid chief.
    pub chief: Option<Person>,
    /// Grid workers.
    pub workers: Vec<Person>,
    /// Boundary polygon.
    pub boundary: AreaShape,
    /// Demo flag.
    pub demo: bool,
    /// Version, incremented on each replace (for optimistic concurrency).
    pub version: i64,
}
