//! Publishing snapshots: readers load an `Arc` without waiting; writers take a lock, commit
//! to the store, build the next snapshot and swap it in.

use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::sync::{Mutex, MutexGuard};

use super::Snapshot;

/// Holds the current snapshot. Cloning the cell shares it.
///
/// ```
/// use gridcircle::index::{Snapshot, SnapshotCell};
/// use gridcircle::model::KindCatalogue;
/// let cell = SnapshotCell::new(Snapshot::build(Default::default(), KindCatalogue::bundled().into()));
/// let before = cell.current();
/// cell.publish(Snapshot::build(Default::default(), KindCatalogue::bundled().into()));
/// assert_eq!(before.version + 1, cell.current().version);
/// ```
#[derive(Clone)]
pub struct SnapshotCell {
    current: Arc<ArcSwap<Snapshot>>,
    writer: Arc<Mutex<()>>,
}

impl SnapshotCell {
    /// Starts with `first`.
    pub fn new(first: Snapshot) -> Self {
        SnapshotCell {
            current: Arc::new(ArcSwap::from_pointee(first)),
            writer: Arc::new(Mutex::new(())),
        }
    }

    /// The current snapshot. Never blocks.
    pub fn current(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Serialises writers: hold the guard from reading the current snapshot, through the store
    /// commit, to `publish`, so that snapshots follow the commit order.
    pub async fn write_lock(&self) -> MutexGuard<'_, ()> {
        self.writer.lock().await
    }

    /// Publishes `next` with the following version number.
    pub fn publish(&self, mut next: Snapshot) {
        next.version = self.current.load().version + 1;
        self.current.store(Arc::new(next));
    }
}
