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
        for def in &data.circles {
            store.put_circle(def).await?;
        }
    }
    let snapshot = Snapshot::build(data, catalogue);
    refresh_facility_circles(store, snapshot).await
}

/// Recomputes the facility circles that are missing or stale in `snapshot` and the store,
/// commits them, and returns the snapshot carrying them.
pub async fn refresh_facility_circles(
    store: &Store,
    snapshot: Snapshot,
) -> Result<Snapshot, StoreError> {
    let stored = if snapshot.facility_circles.items().is_empty() {
        store.load_facility_circles().await?
    } else {
        snapshot.facility_circles.items().to_vec()
    };
    let s = Arc::new(snapshot);
    let s2 = s.clone();
    let refreshed = tokio::task::spawn_blocking(move || refresh(&s2, &stored))
        .await
        .map_err(|e| StoreError::Location(format!("circle computation failed: {e}")))?;
    if !refreshed.dirty_ids.is_empty() {
        store
            .replace_facility_circles(&refreshed.dirty_ids, &refreshed.rewritten)
            .await?;
    }
    Ok(s.with_facility_circles(refreshed.current))
}
