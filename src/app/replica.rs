//! Replicas: several processes serving from one PostgreSQL, each with its own snapshot; this
//! follower is how the changes other replicas commit reach this one's snapshot.
//!
//! Every store write that changes what a snapshot shows commits together with a row of the
//! change log and a `NOTIFY` (see `store/postgres/changes.rs`); writers take one advisory lock,
//! so rows commit in sequence order. [`follow`] LISTENs, and on each notification (and every
//! [`POLL`], and after a reconnect, when notifications may have been missed) reads the log
//! after the last applied sequence number, reloads the layers other replicas changed, and
//! publishes the next snapshot through the write path ([`WritePath::publish_remote`], under
//! the writer lock), so local and remote writes never publish over each other. Its own rows
//! are skipped: the write that made them already published.
//!
//! Why reload rather than replay: a layer read from the store after row N was committed holds
//! every change up to N (and maybe later ones, which are then applied twice, harmlessly). So
//! however local and remote writes interleave, the snapshot converges to the store.

use std::sync::Arc;
use std::time::Duration;

use super::WritePath;
use super::{load_snapshot, refresh_facility_circles};
use crate::model::KindCatalogue;
use crate::readmodel::{AdminLayer, Snapshot};
use crate::store::{LayerSelection, Store, StoreError};

/// How often the log is read even without a notification (a missed NOTIFY costs at most this).
pub const POLL: Duration = Duration::from_secs(2);
/// Log rows read per query while catching up.
const BATCH: i64 = 1_000;

/// What a batch of remote changes needs reloaded.
#[derive(Debug, Default, Clone, Copy)]
struct Reload {
    layers: LayerSelection,
    circles: bool,
    all: bool,
}

impl Reload {
    fn add(&mut self, layer: &str) {
        match layer {
            "facilities" => self.layers.facilities = true,
            "grids" => self.layers.grids = true,
            "communities" | "street_offices" => self.layers.admin = true,
            "circles" => self.circles = true,
            // "all", and anything a newer binary may write: reload everything.
            _ => self.all = true,
        }
    }

    fn any(&self) -> bool {
        self.all
            || self.circles
            || self.layers.facilities
            || self.layers.grids
            || self.layers.admin
            || self.layers.osm
    }
}

/// Applies every change after the cell's applied sequence number. Returns how many log rows
/// were read.
pub async fn catch_up(
    store: &Store,
    writes: &WritePath,
    catalogue: &Arc<KindCatalogue>,
) -> Result<usize, StoreError> {
    let cell = writes.cell();
    let Some(pg) = store.postgres() else {
        return Ok(0);
    };
    let mut total = 0;
    loop {
        let rows = store.changes_since(cell.applied_seq(), BATCH).await?;
        let Some(last) = rows.last().map(|r| r.seq) else {
            return Ok(total);
        };
        total += rows.len();
        let mut reload = Reload::default();
        for row in rows.iter().filter(|r| r.origin != pg.origin()) {
            for layer in &row.layers {
                reload.add(layer);
            }
        }
        if reload.any() {
            writes
                .publish_remote(async |current| apply(store, &current, catalogue, reload).await)
                .await?;
        }
        cell.set_applied(last);
    }
}

async fn apply(
    store: &Store,
    current: &Snapshot,
    catalogue: &Arc<KindCatalogue>,
    reload: Reload,
) -> Result<Snapshot, StoreError> {
    if reload.all {
        return load_snapshot(store, catalogue.clone()).await;
    }
    let data = store.load_selected(catalogue, reload.layers).await?;
    let mut next = current.clone();
    if reload.layers.admin {
        next = Snapshot {
            street_offices: Arc::new(AdminLayer::new(data.street_offices)),
            communities: Arc::new(AdminLayer::new(data.communities)),
            ..next
        };
    }
    if reload.layers.grids {
        next = next.with_grids(data.grids);
    }
    if reload.layers.facilities {
        next = next.with_facilities(data.facilities);
    }
    if reload.circles {
        let circles = store.load_circles(catalogue).await?;
        next = next.with_circles(circles);
        // The definition's stored circles were dropped by its writer: start from the store's.
        next = next.with_facility_circles(store.load_facility_circles().await?);
    }
    if reload.layers.facilities || reload.circles {
        next = refresh_facility_circles(store, next).await?;
    }
    Ok(next)
}

/// Follows the change log for ever: LISTEN, catch up on every notification, every [`POLL`]
/// and after every reconnect. Failures are logged and retried; the applied sequence number
/// only moves once a batch is published.
pub async fn follow(store: Store, writes: WritePath, catalogue: Arc<KindCatalogue>) {
    let Some(pg) = store.postgres().cloned() else {
        return;
    };
    loop {
        let mut listener = match pg.listener().await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "replica: cannot LISTEN; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        loop {
            // Anything committed while not listening (start-up, a reconnect) is in the log.
            if let Err(e) = catch_up(&store, &writes, &catalogue).await {
                tracing::warn!(error = %e, "replica: catching up failed; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            match tokio::time::timeout(POLL, listener.try_recv()).await {
                Ok(Ok(Some(n))) => {
                    if let Ok(seq) = n.payload().parse::<i64>() {
                        writes.cell().note_seen(seq);
                    }
                }
                // The connection dropped: sqlx reconnects on the next call; catch up first.
                Ok(Ok(None)) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "replica: LISTEN connection failed; reconnecting");
                    break;
                }
                Err(_) => {}
            }
        }
    }
}
