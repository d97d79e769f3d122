//! Publishing snapshots: readers load an `Arc` without waiting; writers take a lock, commit
//! to the store, build the next snapshot and swap it in.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use arc_swap::ArcSwap;
use tokio::sync::{Mutex, MutexGuard};

use super::Snapshot;

/// Holds the current snapshot. Cloning the cell shares it.
///
/// ```
/// use gridcircle::readmodel::{Snapshot, SnapshotCell};
/// use gridcircle::model::KindCatalogue;
/// let cell = SnapshotCell::new(Snapshot::build(Default::default(), KindCatalogue::bundled().into()));
/// let reader = cell.clone();
/// assert_eq!(reader.current().version, cell.current().version);
/// ```
#[derive(Clone)]
pub struct SnapshotCell {
    current: Arc<ArcSwap<Snapshot>>,
    writer: Arc<Mutex<()>>,
    sync: Arc<SyncState>,
}

/// Where this replica stands in the store's change log (PostgreSQL; all zero on a GeoPackage).
#[derive(Debug, Default)]
pub struct SyncState {
    /// Every change up to this sequence number is in the current snapshot.
    applied: AtomicI64,
    /// The highest sequence number this replica has heard of.
    seen: AtomicI64,
    /// When `applied` last moved (milliseconds since the Unix epoch; 0: never).
    applied_at_ms: AtomicI64,
}

impl SnapshotCell {
    /// Starts with `first`.
    pub fn new(first: Snapshot) -> Self {
        SnapshotCell {
            current: Arc::new(ArcSwap::from_pointee(first)),
            writer: Arc::new(Mutex::new(())),
            sync: Arc::new(SyncState::default()),
        }
    }

    /// The change-log sequence number the current snapshot reflects completely.
    pub fn applied_seq(&self) -> i64 {
        self.sync.applied.load(Ordering::Acquire)
    }

    /// The highest change-log sequence number heard of (by NOTIFY or by reading the log).
    pub fn seen_seq(&self) -> i64 {
        self.sync.seen.load(Ordering::Acquire)
    }

    /// When the applied sequence number last moved (ms since the Unix epoch; 0: never).
    pub fn applied_at_ms(&self) -> i64 {
        self.sync.applied_at_ms.load(Ordering::Acquire)
    }

    /// Records that the snapshot now reflects every change up to `seq`.
    pub fn set_applied(&self, seq: i64) {
        self.note_seen(seq);
        if self.sync.applied.fetch_max(seq, Ordering::AcqRel) < seq {
            self.sync
                .applied_at_ms
                .store(chrono::Utc::now().timestamp_millis(), Ordering::Release);
        }
    }

    /// Records that change `seq` exists.
    pub fn note_seen(&self, seq: i64) {
        self.sync.seen.fetch_max(seq, Ordering::AcqRel);
    }

    /// The current snapshot. Never blocks.
    pub fn current(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// Serialises writers: hold the guard from reading the current snapshot, through the store
    /// commit, to `publish`, so that snapshots follow the commit order. Only the write path
    /// (`app::WritePath`) takes it.
    pub(crate) async fn write_lock(&self) -> MutexGuard<'_, ()> {
        self.writer.lock().await
    }

    /// Publishes `next` with the following version number. Only the write path
    /// (`app::WritePath`) publishes, under [`SnapshotCell::write_lock`].
    pub(crate) fn publish(&self, mut next: Snapshot) {
        next.version = self.current.load().version + 1;
        self.current.store(Arc::new(next));
    }
}
