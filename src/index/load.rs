//! Building the first snapshot from the store at start-up.

use std::sync::Arc;

use super::Snapshot;
use crate::coverage::refresh;
use crate::model::{CircleDef, KindCatalogue};
use crate::store::{Store, StoreError};

/// Loads every layer, the circle definitions (seeding the store with `data/circles.toml` the
/// first time), builds the snapshot, and brings the stored facility circles up to date
/// (computing only missing or stale ones, then committing them) before anything is served.
pub async fn load_snapshot(
    store: &Store,
    catalogue: Arc<KindCatalogue>,
) -> Result<Snapshot, StoreError> {
    let mut data = store.load(&catalogue).await?;
    data.circles = store.load_circles(&catalogue).await?;
    if data.circles.is_empty() {
        data.circles = CircleDef::bundled(&catalogue);
        let mut tx = store.begin_write().await?;
        for def in &data.circles {
            tx.put_circle(def).await?;
        }
        tx.commit().await?;
    }
    let snapshot = Snapshot::build(data, catalogue);
    let stored = store.load_facility_circles().await?;
    let refreshed = recompute_facility_circles(snapshot, stored).await?;
    if !refreshed.dirty_ids.is_empty() {
        let mut tx = store.begin_write().await?;
        tx.replace_facility_circles(&refreshed.dirty_ids, &refreshed.rewritten)
            .await?;
        tx.commit().await?;
    }
    Ok(refreshed.snapshot)
}

/// A snapshot with its facility circles brought up to date, and what must be stored for that.
pub struct CircleRefresh {
    /// The snapshot carrying every facility's current circles.
    pub snapshot: Snapshot,
    /// Facilities whose stored circles are replaced.
    pub dirty_ids: Vec<i64>,
    /// Their new circles.
    pub rewritten: Vec<crate::store::FacilityCircle>,
}

/// Recomputes the facility circles that are missing or stale in `snapshot` against `stored`
/// (what the store holds; off the async workers). The caller stores `dirty_ids`/`rewritten`
/// in its transaction.
pub async fn recompute_facility_circles(
    snapshot: Snapshot,
    stored: Vec<crate::store::FacilityCircle>,
) -> Result<CircleRefresh, StoreError> {
    let s = Arc::new(snapshot);
    let s2 = s.clone();
    let refreshed = tokio::task::spawn_blocking(move || refresh(&s2, &stored))
        .await
        .map_err(|e| StoreError::Location(format!("circle computation failed: {e}")))?;
    Ok(CircleRefresh {
        snapshot: s.with_facility_circles(refreshed.current),
        dirty_ids: refreshed.dirty_ids,
        rewritten: refreshed.rewritten,
    })
}

/// Recomputes the facility circles that are missing or stale in `snapshot` (against the ones
/// it carries, or the store's when it carries none), stores them in a transaction of their own
/// and returns the snapshot carrying them. For a replica applying other replicas' changes;
/// a local write stores its circles in its own transaction instead.
pub async fn refresh_facility_circles(
    store: &Store,
    snapshot: Snapshot,
) -> Result<Snapshot, StoreError> {
    let stored = if snapshot.facility_circles.items().is_empty() {
        store.load_facility_circles().await?
    } else {
        snapshot.facility_circles.items().to_vec()
    };
    let refreshed = recompute_facility_circles(snapshot, stored).await?;
    if !refreshed.dirty_ids.is_empty() {
        let mut tx = store.begin_write().await?;
        tx.replace_facility_circles(&refreshed.dirty_ids, &refreshed.rewritten)
            .await?;
        tx.commit().await?;
    }
    Ok(refreshed.snapshot)
}
