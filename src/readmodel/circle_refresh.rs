//! Bringing a snapshot's facility circles up to date (computation only: the caller stores
//! what changed).

use std::sync::Arc;

use super::Snapshot;
use crate::readmodel::coverage::refresh;
/// A snapshot with its facility circles brought up to date, and what must be stored for that.
pub struct CircleRefresh {
    /// The snapshot carrying every facility's current circles.
    pub snapshot: Snapshot,
    /// Facilities whose stored circles are replaced.
    pub dirty_ids: Vec<i64>,
    /// Their new circles.
    pub rewritten: Vec<crate::model::FacilityCircle>,
}

/// Recomputes the facility circles that are missing or stale in `snapshot` against `stored`
/// (what the store holds; off the async workers). The caller stores `dirty_ids`/`rewritten`
/// in its transaction.
pub async fn recompute_facility_circles(
    snapshot: Snapshot,
    stored: Vec<crate::model::FacilityCircle>,
) -> CircleRefresh {
    let s = Arc::new(snapshot);
    let s2 = s.clone();
    let refreshed = match tokio::task::spawn_blocking(move || refresh(&s2, &stored)).await {
        Ok(refreshed) => refreshed,
        // A panic in the computation is the caller's (a write rolls back on it).
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("the circle computation was cancelled: {e}"),
    };
    CircleRefresh {
        snapshot: s.with_facility_circles(refreshed.current),
        dirty_ids: refreshed.dirty_ids,
        rewritten: refreshed.rewritten,
    }
}
