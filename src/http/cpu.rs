//! CPU-heavy work off the async workers, under one bound.
//!
//! A walking search, a coverage pass over every building, a vector tile, a snapshot hash or a
//! grid topology check can take from milliseconds to seconds of CPU. Run on an async worker it
//! would stall every other connection that worker serves; run on tokio's blocking pool without a
//! bound, a burst of such requests would start hundreds of threads that fight for the same cores.
//! [`run_blocking`] runs the work on the blocking pool while holding a permit of [`CpuBound`],
//! one semaphore shared by every route (in [`AppState`]), sized to the machine's parallelism:
//! at most that many run at once, the others wait (in arrival order) without holding a thread.
//!
//! The permit moves into the blocking task, so it is released when the work ends, not when the
//! request does: a request stopped by the request timeout still counts until its work finishes.
//! A panic in the work becomes a logged 500 (`internal`), never a dropped connection.

use std::sync::Arc;

use axum::http::StatusCode;
use tokio::sync::Semaphore;

use super::AppState;
use super::error::{ApiError, ApiResult};

/// The bound on CPU-heavy work running at once (shared by clones).
#[derive(Debug, Clone)]
pub struct CpuBound {
    permits: Arc<Semaphore>,
    size: usize,
}

impl CpuBound {
    /// A bound of `size` tasks at once (at least one).
    pub fn new(size: usize) -> Self {
        let size = size.max(1);
        CpuBound {
            permits: Arc::new(Semaphore::new(size)),
            size,
        }
    }

    /// How many tasks may run at once.
    pub fn size(&self) -> usize {
        self.size
    }

    /// How many more could start now.
    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }
}

impl Default for CpuBound {
    /// One task per available core (`std::thread::available_parallelism`), one when unknown.
    fn default() -> Self {
        CpuBound::new(std::thread::available_parallelism().map_or(1, usize::from))
    }
}

/// Runs `f` on tokio's blocking pool under a permit of `state.cpu`; waits for a permit first.
/// A panic in `f` is logged and answered as a 500 `internal` error.
pub async fn run_blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce() -> T + Send + 'static,
) -> ApiResult<T> {
    state.cpu.run(f).await
}

/// Runs `f` on tokio's blocking pool **without** a permit: for short work whose size the
/// request cannot choose (a page of a report already cached: at most `max_items` features,
/// under a millisecond). A panic in `f` is a 500 as in [`run_blocking`].
///
/// Why not under the bound: with the bound at the core count, a permit sits idle during each
/// hand-off (the blocking task ends, the semaphore wakes the next request on an async worker,
/// which hands its work to a pool thread) and while its holder is descheduled. For sub-
/// millisecond work that idle share cost a fifth of the throughput of the cached `/coverage`
/// page (docs/PERFORMANCE.md). The connection cap bounds how many run at once.
pub async fn run_short<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
    joined(tokio::task::spawn_blocking(f)).await
}

impl CpuBound {
    /// Runs `f` on tokio's blocking pool under one of this bound's permits (see
    /// [`run_blocking`], which every handler calls with the shared bound).
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> ApiResult<T> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| internal("the CPU bound was closed"))?;
        joined(tokio::task::spawn_blocking(move || {
            let _permit = permit;
            f()
        }))
        .await
    }
}

/// The result of a blocking task; a panic or cancellation is logged and becomes a 500.
async fn joined<T>(task: tokio::task::JoinHandle<T>) -> ApiResult<T> {
    task.await.map_err(|e| {
        if e.is_panic() {
            let message = panic_text(e.into_panic().as_ref());
            tracing::error!(panic = %message, "CPU work panicked");
        } else {
            tracing::error!(error = %e, "CPU work was cancelled");
        }
        internal("the server failed while computing this answer; the failure was logged")
    })
}

fn internal(message: &str) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
}

/// The text of a panic payload (`panic!` with a literal or a formatted message), or a
/// placeholder for other payloads.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(16)
            .build()
            .unwrap()
    }

    #[test]
    fn a_panic_in_the_work_is_a_500_and_the_permit_comes_back() {
        let bound = CpuBound::new(1);
        let rt = runtime();
        let err = rt
            .block_on(bound.run(|| -> u32 { panic!("deliberate panic in CPU work") }))
            .unwrap_err();
        assert_eq!(err.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(err.code, "internal");
        assert!(!err.message.contains("deliberate"), "{}", err.message);
        assert_eq!(bound.available(), 1);
        assert_eq!(rt.block_on(bound.run(|| 6 * 7)).unwrap(), 42);
    }

    #[test]
    fn no_more_than_the_bound_run_at_once() {
        let bound = CpuBound::new(2);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let rt = runtime();
        let done: Vec<usize> = rt.block_on(async {
            let tasks: Vec<_> = (0..8)
                .map(|i| {
                    let (bound, running, most) = (bound.clone(), running.clone(), most.clone());
                    tokio::spawn(async move {
                        bound
                            .run(move || {
                                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                                most.fetch_max(now, Ordering::SeqCst);
                                // Long enough for unbounded tasks to overlap.
                                std::thread::sleep(std::time::Duration::from_millis(30));
                                running.fetch_sub(1, Ordering::SeqCst);
                                i
                            })
                            .await
                            .unwrap()
                    })
                })
                .collect();
            let mut out = Vec::new();
            for t in tasks {
                out.push(t.await.unwrap());
            }
            out
        });
        assert_eq!(done, (0..8).collect::<Vec<_>>());
        let most = most.load(Ordering::SeqCst);
        assert!(
            (1..=2).contains(&most),
            "{most} ran at once under a bound of 2"
        );
        assert_eq!(bound.available(), 2);
    }
}
