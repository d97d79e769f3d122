//! [`WritePath`]: the one sequence every write goes through, from reading the current
//! snapshot to answering.
//!
//! 1. take the writer lock (writes are serialised; readers never wait);
//! 2. read the current snapshot;
//! 3. run the command: its checks (permission, validation, versions) against that snapshot,
//!    then its store writes in **one** [`WriteTx`], begun on first use;
//! 4. append the command's audit records **in the same transaction** and commit;
//! 5. publish the next snapshot the command built, and only then answer.
//!
//! Steps 1–5 run in a task of their own: once the write path has accepted a command it runs
//! to completion even if the request times out or the client goes away, so a commit is always
//! published (a snapshot never lags behind its own store). A command that fails rolls its
//! transaction back and publishes nothing; if the transaction cannot even be rolled back its
//! connection is closed (see [`WriteTx`]), so the next write starts clean.
//!
//! [`WriteHealth`] remembers whether the last commit worked, for `/health`.

use std::sync::{Arc, Mutex, PoisonError};

use crate::auth::AuditEntry;
use crate::readmodel::{Snapshot, SnapshotCell};
use crate::store::{Store, StoreError, WriteTx};

/// A boxed future borrowing a [`Write`]: what a command passed to [`WritePath::run`] returns.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// The one write path (see the module documentation). Cloning shares it.
#[derive(Clone)]
pub struct WritePath {
    store: Store,
    cell: SnapshotCell,
    health: Arc<WriteHealth>,
}

/// A command's view of its write: the snapshot it is checked against, its store transaction,
/// its audit records and the snapshot it will publish.
pub struct Write {
    snapshot: Arc<Snapshot>,
    store: Store,
    tx: Option<WriteTx>,
    audit: Vec<AuditEntry>,
    next: Option<Snapshot>,
    health: Arc<WriteHealth>,
}

impl Write {
    /// The snapshot the command is checked against: the current one, which no other write
    /// can replace until this one is done.
    pub fn snapshot(&self) -> &Arc<Snapshot> {
        &self.snapshot
    }

    /// The store transaction, begun on first use.
    pub async fn tx(&mut self) -> Result<&mut WriteTx, StoreError> {
        if self.tx.is_none() {
            match self.store.begin_write().await {
                Ok(tx) => self.tx = Some(tx),
                Err(e) => {
                    self.health.record(Err(&e));
                    return Err(e);
                }
            }
        }
        Ok(self.tx.as_mut().expect("begun above"))
    }

    /// Records an audit entry; it is appended in the command's transaction, before the commit.
    pub fn audit(&mut self, entry: AuditEntry) {
        self.audit.push(entry);
    }

    /// The next snapshot: published once the transaction has committed (never before, never
    /// if it rolls back).
    pub fn next_snapshot(&mut self, next: Snapshot) {
        self.next = Some(next);
    }

    /// The snapshot this write will publish (if it has built one yet), else the one it read.
    pub fn latest(&self) -> &Snapshot {
        self.next.as_ref().unwrap_or(&self.snapshot)
    }
}

/// Whether writes work: the outcome of the latest commit (or begin) that failed or succeeded.
#[derive(Debug, Default)]
pub struct WriteHealth {
    failure: Mutex<Option<WriteFailure>>,
}

/// The latest failed write, until a write succeeds again.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WriteFailure {
    /// When (RFC 3339, UTC).
    pub at: String,
    /// What the store said.
    pub error: String,
}

impl WriteHealth {
    /// None while writes work; the latest failure while they do not.
    pub fn failure(&self) -> Option<WriteFailure> {
        self.failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn record(&self, outcome: Result<(), &StoreError>) {
        let mut failure = self.failure.lock().unwrap_or_else(PoisonError::into_inner);
        *failure = match outcome {
            Ok(()) => None,
            // A refusal (conflict, stale version) says nothing about whether writes work.
            Err(
                StoreError::Conflict(_)
                | StoreError::VersionMismatch { .. }
                | StoreError::Stale(_)
                | StoreError::Corrupt { .. },
            ) => return,
            Err(e) => Some(WriteFailure {
                at: crate::store::history_time(chrono::Utc::now()),
                error: e.to_string(),
            }),
        };
    }
}

impl WritePath {
    /// The write path over `store`, publishing to `cell`.
    pub fn new(store: Store, cell: SnapshotCell) -> Self {
        WritePath {
            store,
            cell,
            health: Arc::new(WriteHealth::default()),
        }
    }

    /// Whether writes work.
    pub fn health(&self) -> &WriteHealth {
        &self.health
    }

    /// Runs `command` as one write (see the module documentation) and returns its answer.
    ///
    /// The command checks what it needs against [`Write::snapshot`], writes through
    /// [`Write::tx`], records [`Write::audit`] entries and the next snapshot with
    /// [`Write::next_snapshot`]. An `Err` from the command rolls everything back.
    ///
    /// A panic in the command is resumed in the caller's task after the transaction was
    /// rolled back (the HTTP layer turns it into a JSON 500).
    pub async fn run<T, E, F>(&self, command: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: for<'w> FnOnce(&'w mut Write) -> BoxFuture<'w, Result<T, E>> + Send + 'static,
    {
        let path = self.clone();
        let task = tokio::spawn(async move { path.run_to_completion(command).await });
        match task.await {
            Ok(result) => result,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Err(StoreError::Interrupted(e.to_string()).into()),
        }
    }

    async fn run_to_completion<T, E, F>(&self, command: F) -> Result<T, E>
    where
        E: From<StoreError>,
        F: for<'w> FnOnce(&'w mut Write) -> BoxFuture<'w, Result<T, E>>,
    {
        let _writer = self.cell.write_lock().await;
        let mut write = Write {
            snapshot: self.cell.current(),
            store: self.store.clone(),
            tx: None,
            audit: Vec::new(),
            next: None,
            health: self.health.clone(),
        };
        let outcome = command(&mut write).await;
        let answer = match outcome {
            Ok(answer) => answer,
            Err(e) => {
                if let Some(tx) = write.tx.take() {
                    if let Some(failure) = tx.failure() {
                        self.health.record(Err(failure));
                    }
                    tx.rollback().await;
                }
                return Err(e);
            }
        };
        if !write.audit.is_empty() && write.tx.is_none() {
            // A command that wrote nothing may still be audited (e.g. a refused renumbering
            // is not; an accepted no-op is): its records need a transaction of their own.
            write.tx().await.map_err(|e| self.failed(e))?;
        }
        if let Some(mut tx) = write.tx.take() {
            for entry in &write.audit {
                if let Err(e) = tx.append_audit(entry).await {
                    tx.rollback().await;
                    return Err(self.failed(e));
                }
            }
            tx.commit().await.map_err(|e| self.failed(e))?;
            self.health.record(Ok(()));
        }
        if let Some(next) = write.next.take() {
            self.cell.publish(next);
        }
        Ok(answer)
    }

    fn failed<E: From<StoreError>>(&self, e: StoreError) -> E {
        self.health.record(Err(&e));
        e.into()
    }

    /// Publishes a snapshot built from changes other replicas committed (the replica
    /// follower's path into the cell): under the writer lock, so it never interleaves with a
    /// local write; `build` gets the current snapshot and returns the next one.
    pub async fn publish_remote<F, E>(&self, build: F) -> Result<(), E>
    where
        F: AsyncFnOnce(Arc<Snapshot>) -> Result<Snapshot, E>,
    {
        let _writer = self.cell.write_lock().await;
        let next = build(self.cell.current()).await?;
        self.cell.publish(next);
        Ok(())
    }

    /// The snapshot cell this path publishes to (readers and the replication status read it).
    pub fn cell(&self) -> &SnapshotCell {
        &self.cell
    }
}
