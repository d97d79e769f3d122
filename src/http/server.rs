//! The HTTP/1.1 server loop: accepting under a connection cap, idle and header-read timeouts,
//! and a graceful shutdown on SIGINT or SIGTERM that drains in-flight requests.
//!
//! - **Connection cap** ([`ConnectionLimits::max_connections`]): a connection holds a permit of
//!   one semaphore from accept to close. At the cap the loop stops accepting, so new
//!   connections wait in the kernel's listen backlog (completed by the kernel, not yet read)
//!   until one closes, and are then served in order; past the backlog the kernel refuses or
//!   drops them. A burst is delayed rather than reset, and nothing is read from a connection
//!   the server has no room for.
//! - **Idle timeout** ([`ConnectionLimits::idle_timeout`]): a connection with no request in
//!   flight, nothing received of a next request and nothing sent for that long is closed.
//!   A fresh connection counts as idle from its accept.
//! - **Header-read timeout** ([`ConnectionLimits::header_read_timeout`]): once the first byte
//!   of a request arrives on a connection with no request in flight, its head (request line
//!   and headers) must be complete within that time, however slowly the bytes trickle in.
//!   This is measured here rather than by hyper's own `header_read_timeout`, whose clock starts
//!   as soon as the connection waits for a request and so would also cut idle keep-alive
//!   connections at the (shorter) header limit.
//!
//!   A request in flight is bounded by the request timeout of the routes (`Limits::timeout`),
//!   not by these two. Both are enforced by one watchdog per connection that wakes at most
//!   once per header-read timeout; requests only update a few counters (no allocation, no
//!   timer per request).
//! - **Graceful shutdown** ([`serve`]): on SIGINT or SIGTERM the loop stops accepting and
//!   closes the listener, idle keep-alive connections are closed, requests in flight are
//!   answered (with `Connection: close`), and [`serve`] returns when all are done or after
//!   [`ConnectionLimits::drain_timeout`], whichever comes first. The caller then closes the
//!   store.
//!
//! Handlers see the peer address as `ConnectInfo<SocketAddr>` (per-IP rate limits), as with
//! axum's `into_make_service_with_connect_info`.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::response::Response;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Limits on connections, with defaults that suit a city service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Most connections open at once; more wait in the kernel's listen backlog. Default 1024.
    pub max_connections: usize,
    /// Time allowed for a request's head once its first byte arrived. Default 10 s.
    pub header_read_timeout: Duration,
    /// Time a connection may stay open with no request in flight and no traffic. Default 60 s.
    pub idle_timeout: Duration,
    /// Longest wait for requests in flight at shutdown. Default 30 s.
    pub drain_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            drain_timeout: Duration::from_secs(30),
        }
    }
}

/// Serves `app` on `listener` under `limits` until SIGINT (Ctrl-C) or SIGTERM, then stops
/// accepting and returns once the requests in flight are answered (at most
/// `limits.drain_timeout` later). An error only when the signal handlers cannot be installed.
pub async fn serve(listener: TcpListener, app: Router, limits: ConnectionLimits) -> io::Result<()> {
    let signal = shutdown_signal()?;
    serve_until(listener, app, limits, async move {
        let name = signal.await;
        tracing::info!(
            signal = name,
            "shutting down: no new connections, draining requests"
        );
    })
    .await
}

/// As [`serve`], but shuts down when `shutdown` completes instead of on a signal.
pub async fn serve_until(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    // The watchdog times heads (see the module documentation); hyper's own clock would start
    // at idle and needs a timer.
    builder.header_read_timeout(None);
    let timeouts = Timeouts::new(&limits);
    let mut shutdown = pin!(shutdown);
    loop {
        let (stream, peer, permit) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = accept(&listener, &permits) => accepted,
        };
        let activity = Arc::new(Activity::new());
        let service = ConnectionService {
            router: app.clone(),
            peer,
            activity: activity.clone(),
        };
        let io = TokioIo::new(MeteredStream {
            stream,
            activity: activity.clone(),
        });
        let connection = graceful.watch(builder.serve_connection(io, service));
        tokio::spawn(async move {
            let _permit = permit;
            tokio::select! {
                biased;
                result = connection => {
                    if let Err(e) = result {
                        tracing::debug!(%peer, error = %e, "connection ended with an error");
                    }
                }
                reason = activity.expired(timeouts) => {
                    // Dropping the connection closes the socket; nothing is in flight.
                    tracing::debug!(%peer, reason, "connection closed");
                }
            }
        });
    }
    drop(listener);
    let open = graceful.count();
    if tokio::time::timeout(limits.drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            connections = open,
            drain_secs = limits.drain_timeout.as_secs_f64(),
            "requests still in flight after the drain time; stopping anyway"
        );
    }
    Ok(())
}

/// SIGINT or SIGTERM, whichever comes first (both handlers installed now, so a signal sent
/// before the future is polled is not lost). The future answers the signal's name.
fn shutdown_signal() -> io::Result<impl Future<Output = &'static str>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt())?;
        let mut terminate = signal(SignalKind::terminate())?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => "SIGINT",
                _ = terminate.recv() => "SIGTERM",
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        })
    }
}

/// The next connection, with its permit: waits for a permit first (at the cap nothing is
/// accepted), then for a connection. Errors of one connection are skipped; others (out of
/// file descriptors…) are logged and retried after a second, as axum's `serve` does.
async fn accept(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
) -> (TcpStream, SocketAddr, OwnedSemaphorePermit) {
    let permit = permits
        .clone()
        .acquire_owned()
        .await
        .expect("the connection semaphore is never closed");
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => return (stream, peer, permit),
            Err(e) if is_connection_error(&e) => {}
            Err(e) => {
                tracing::error!(error = %e, "accepting a connection failed; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// The two timeouts in nanoseconds, as the watchdog compares them.
#[derive(Debug, Clone, Copy)]
struct Timeouts {
    header_ns: u64,
    idle_ns: u64,
}

impl Timeouts {
    fn new(limits: &ConnectionLimits) -> Self {
        let ns = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX).max(1);
        Timeouts {
            header_ns: ns(limits.header_read_timeout),
            idle_ns: ns(limits.idle_timeout),
        }
    }
}

/// No time recorded.
const NEVER: u64 = u64::MAX;

/// What a connection is doing, shared by its stream (bytes in and out), its service (requests
/// started and answered) and its watchdog. Times are nanoseconds since `opened`.
#[derive(Debug)]
struct Activity {
    opened: Instant,
    /// Requests whose handler has not answered yet.
    in_flight: AtomicU32,
    /// When the connection last had nothing to do: accepted, a request answered, a response
    /// byte sent.
    idle_since: AtomicU64,
    /// When the first byte of a next request arrived while none was in flight (`NEVER`: none).
    head_since: AtomicU64,
}

impl Activity {
    fn new() -> Self {
        Activity {
            opened: Instant::now(),
            in_flight: AtomicU32::new(0),
            idle_since: AtomicU64::new(0),
            head_since: AtomicU64::new(NEVER),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_nanos()).unwrap_or(NEVER - 1)
    }

    fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    fn request_answered(&self) {
        if self.in_flight.fetch_sub(1, Ordering::Relaxed) == 1 {
            self.idle_since.store(self.now(), Ordering::Relaxed);
            self.head_since.store(NEVER, Ordering::Relaxed);
        }
    }

    fn received(&self) {
        if self.in_flight.load(Ordering::Relaxed) == 0
            && self.head_since.load(Ordering::Relaxed) == NEVER
        {
            self.head_since.store(self.now(), Ordering::Relaxed);
        }
    }

    fn sent(&self) {
        if self.in_flight.load(Ordering::Relaxed) == 0 {
            self.idle_since.store(self.now(), Ordering::Relaxed);
        }
    }

    /// When the connection must close as things stand (None: a request is in flight), and why.
    fn deadline(&self, t: Timeouts) -> Option<(u64, &'static str)> {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            return None;
        }
        let idle = self
            .idle_since
            .load(Ordering::Relaxed)
            .saturating_add(t.idle_ns);
        let head = self.head_since.load(Ordering::Relaxed);
        let header = head.saturating_add(t.header_ns);
        Some(if head != NEVER && header < idle {
            (
                header,
                "request head not complete within the header-read timeout",
            )
        } else {
            (idle, "idle timeout")
        })
    }

    /// Completes when the connection is past a deadline. Never sleeps longer than the
    /// header-read timeout, so a head that starts during a sleep is timed from its first byte.
    async fn expired(&self, t: Timeouts) -> &'static str {
        loop {
            let now = self.now();
            let wait = match self.deadline(t) {
                Some((at, why)) if at <= now => return why,
                Some((at, _)) => (at - now).min(t.header_ns),
                None => t.header_ns,
            };
            tokio::time::sleep(Duration::from_nanos(wait)).await;
        }
    }
}

/// The TCP stream of one connection, telling its [`Activity`] when bytes come and go.
struct MeteredStream {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for MeteredStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.received();
        }
        result
    }
}

impl AsyncWrite for MeteredStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.sent();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.sent();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The router as one connection's hyper service: adds the peer's `ConnectInfo` to every
/// request and counts the requests in flight.
struct ConnectionService {
    router: Router,
    peer: SocketAddr,
    activity: Arc<Activity>,
}

impl hyper::service::Service<hyper::Request<Incoming>> for ConnectionService {
    type Response = Response;
    type Error = Infallible;
    type Future = InFlight<axum::routing::future::RouteFuture<Infallible>>;

    fn call(&self, mut request: hyper::Request<Incoming>) -> Self::Future {
        request.extensions_mut().insert(ConnectInfo(self.peer));
        self.activity.request_started();
        // The router is always ready (its `poll_ready` is `Ready(Ok(()))`).
        let future = tower::Service::call(&mut self.router.clone(), request);
        InFlight {
            future,
            activity: self.activity.clone(),
        }
    }
}

/// A request's answer being computed; counted in flight until it is ready or dropped.
struct InFlight<F> {
    future: F,
    activity: Arc<Activity>,
}

impl<F: Future + Unpin> Future for InFlight<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        Pin::new(&mut self.future).poll(cx)
    }
}

impl<F> Drop for InFlight<F> {
    fn drop(&mut self) {
        self.activity.request_answered();
    }
}
