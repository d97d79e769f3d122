//! Start-up and derived data: the first snapshot built from the store, and facility circles
//! recomputed and stored outside a command (at start-up, or for changes other replicas made).

use std::sync::Arc;

use crate::model::{CircleDef, KindCatalogue};
use crate::readmodel::{Snapshot, recompute_facility_circles};
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
            tx.put_circle(def, None).await?;
        }
        tx.commit().await?;
    }
    let snapshot = Snapshot::build(data, catalogue);
    let stored = store.load_facility_circles().await?;
    let refreshed = recompute_facility_circles(snapshot, stored).await;
    if !refreshed.dirty_ids.is_empty() {
        let mut tx = store.begin_write().await?;
        tx.replace_facility_circles(&refreshed.dirty_ids, &refreshed.rewritten)
            .await?;
        tx.commit().await?;
    }
    Ok(refreshed.snapshot)
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
    let refreshed = recompute_facility_circles(snapshot, stored).await;
    if !refreshed.dirty_ids.is_empty() {
        let mut tx = store.begin_write().await?;
        tx.replace_facility_circles(&refreshed.dirty_ids, &refreshed.rewritten)
            .await?;
        tx.commit().await?;
    }
    Ok(refreshed.snapshot)
}
