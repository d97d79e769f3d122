//! Resilience of the HTTP spine, on loopback only, every wait bounded:
//! - a handler that panics answers a JSON 500 through the real middleware stack
//!   (`http::with_middleware`, as `app()` uses it), and the connection and the route go on
//!   working;
//! - SIGTERM drains and closes the store, so the `.gpkg` file alone (no `-wal`) holds every
//!   acknowledged write (GeoPackage only);
//! - idle and slow-header connections are closed, a slowly trickled head is cut by the
//!   header-read timeout, and connections beyond the cap wait until one closes.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Path as UrlPath};
use axum::routing::get;
use common::{Server, all_features, point_of};
use gridcircle::http::server::{ConnectionLimits, serve_until};
use gridcircle::http::{AppState, Limits, with_middleware};
use gridcircle::model::KindCatalogue;
use gridcircle::readmodel::{Snapshot, SnapshotCell};
use gridcircle::store::{Dataset, Store};
use serde_json::{Value, json};

/// An app state over an empty GeoPackage in `dir`: the middleware needs a store (tokens) and a
/// snapshot; the test routes use neither.
async fn empty_state(dir: &Path) -> AppState {
    let store = Store::open(dir.join("empty.gpkg").to_str().unwrap())
        .await
        .unwrap();
    let snapshot = Snapshot::build(Dataset::default(), Arc::new(KindCatalogue::bundled()));
    AppState::new(
        store,
        SnapshotCell::new(snapshot),
        Limits::default(),
        Default::default(),
    )
}

/// Serves `app` on `listener` with the default connection limits, on a thread that runs
/// `runtime`, until the returned sender is used (or dropped).
fn serve_on_thread(
    runtime: tokio::runtime::Runtime,
    listener: tokio::net::TcpListener,
    app: Router,
) -> (
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<std::io::Result<()>>,
) {
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = std::thread::spawn(move || {
        runtime.block_on(serve_until(
            listener,
            app,
            ConnectionLimits::default(),
            async move {
                let _ = stopped.await;
            },
        ))
    });
    (stop, server)
}

#[test]
fn a_panicking_handler_answers_a_json_500_and_the_connection_and_route_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (listener, state) = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        (listener, empty_state(dir.path()).await)
    });
    let addr = listener.local_addr().unwrap();
    let routes = Router::new()
        // Panics (division by zero) for 0.
        .route(
            "/hundred-by/{n}",
            get(|UrlPath(n): UrlPath<u32>| async move { (100 / n).to_string() }),
        )
        .route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
        );
    let app = with_middleware(routes, state);
    let (stop, server) = serve_on_thread(runtime, listener, app);

    // One pooled keep-alive connection: the peer port the server sees names it.
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(1)
        .build()
        .unwrap();
    let url = |path: &str| format!("http://{addr}{path}");
    let peer = || {
        let r = client.get(url("/peer")).send().unwrap();
        assert_eq!(r.status(), 200);
        r.text().unwrap()
    };
    let first = peer();
    assert!(first.starts_with("127.0.0.1:"), "{first}");
    for round in 0..2 {
        let r = client.get(url("/hundred-by/0")).send().unwrap();
        assert_eq!(r.status(), 500, "round {round}");
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .contains("json")
        );
        // The answer went through the outer layers too.
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        let body: Value = r.json().unwrap();
        assert_eq!(body["error"], "internal", "{body}");
        let message = body["message"].as_str().unwrap();
        assert!(!message.is_empty());
        assert!(
            !message.contains("divide"),
            "the panic's text is logged, not sent: {body}"
        );
        let r = client.get(url("/hundred-by/4")).send().unwrap();
        assert_eq!(r.status(), 200, "round {round}");
        assert_eq!(r.text().unwrap(), "25");
        assert_eq!(
            peer(),
            first,
            "round {round}: the connection was dropped after the panic"
        );
    }
    let _ = stop.send(());
    server.join().unwrap().unwrap();
}

/// `SELECT name FROM facilities WHERE fid = id` on the GeoPackage at `path`.
fn facility_name(path: &Path, id: i64) -> Option<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(path))
            .await
            .unwrap();
        let name: Option<String> = sqlx::query_scalar("SELECT name FROM facilities WHERE fid = ?1")
            .bind(id)
            .fetch_optional(&pool)
            .await
            .unwrap();
        pool.close().await;
        name
    })
}

/// A copy of the GeoPackage file `db` alone (without its `-wal` and `-shm`) in a new folder.
fn copy_file_alone(db: &Path) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.gpkg");
    std::fs::copy(db, &copy).unwrap();
    (dir, copy)
}

fn wal_len(db: &Path) -> u64 {
    std::fs::metadata(format!("{}-wal", db.display())).map_or(0, |m| m.len())
}

#[test]
fn sigterm_drains_and_leaves_every_acknowledged_write_in_the_gpkg_file() {
    if common::postgres_backend() {
        eprintln!("SKIPPED: the -wal checkpoint is GeoPackage-specific");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.gpkg");
    // The demo imports Nanjing, then serves; SIGTERM must stop it cleanly.
    let demo = Server::demo(&db);
    let status = demo.terminate(Duration::from_secs(60));
    assert!(status.success(), "demo exited with {status} after SIGTERM");
    assert_eq!(wal_len(&db), 0, "the WAL was not checkpointed at shutdown");

    let server = Server::serve(&db, &[]);
    let facilities = all_features(&server, "/collections/facilities/items?limit=10000");
    let p = point_of(&facilities[0]);
    let body = json!({
        "type": "Feature",
        "geometry": { "type": "Point", "coordinates": [p.x() + 0.0002, p.y()] },
        "properties": { "kind": "toilet", "name": "终止前的厕所", "owner": "测试单位",
                        "opening_hours": "Mo-Su 08:00-20:00", "shared": true },
    });
    let (status, created) = server.send("POST", "/collections/facilities/items", body.to_string());
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    // Acknowledged, but so far only in the WAL: the file alone does not have it yet.
    assert!(wal_len(&db) > 0);
    let (_before_dir, before) = copy_file_alone(&db);
    assert_eq!(
        facility_name(&before, id),
        None,
        "the write was already in the file before shutdown: this test would prove nothing"
    );

    let status = server.terminate(Duration::from_secs(60));
    assert!(status.success(), "serve exited with {status} after SIGTERM");
    assert_eq!(wal_len(&db), 0, "the WAL was not truncated at shutdown");
    let (_after_dir, after) = copy_file_alone(&db);
    assert_eq!(facility_name(&after, id).as_deref(), Some("终止前的厕所"));
}

/// Reads from `stream` until the server closes it (EOF or reset); panics if it is still open
/// when `deadline` passes.
fn expect_closed_by(stream: &mut TcpStream, deadline: Instant, what: &str) {
    let mut buf = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "{what}: still open at the deadline");
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("{what}: still open at the deadline")
            }
            Err(_) => return, // reset by the server
        }
    }
}

/// Sends `GET path` on a keep-alive connection and reads one answer: its status.
fn get_on(stream: &mut TcpStream, path: &str, wait: Duration) -> std::io::Result<u16> {
    write!(stream, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")?;
    read_answer(stream, wait)
}

/// Reads one HTTP/1.1 answer (head, then `content-length` bytes of body); its status.
fn read_answer(stream: &mut TcpStream, wait: Duration) -> std::io::Result<u16> {
    stream.set_read_timeout(Some(wait))?;
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_lowercase();
    let status: u16 = head[9..12].parse().unwrap();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().unwrap())
        .expect("a content-length");
    while data.len() < head_end + length {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        data.extend_from_slice(&buf[..n]);
    }
    Ok(status)
}

fn connect(server: &Server) -> TcpStream {
    let addr = server.base.trim_start_matches("http://");
    TcpStream::connect(addr).unwrap()
}

#[test]
fn idle_and_slow_connections_are_closed_and_connections_beyond_the_cap_wait() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.gpkg");

    // 1. Idle timeout 1 s: silent sockets, sockets that sent half a head and a socket idle
    //    after one answer are all closed (the header timeout is long, so idleness closes them).
    let server = Server::demo_with(
        &db,
        &["--idle-timeout-secs", "1", "--header-timeout-secs", "30"],
    );
    let mut silent: Vec<TcpStream> = (0..20).map(|_| connect(&server)).collect();
    let mut partial: Vec<TcpStream> = (0..20)
        .map(|_| {
            let mut s = connect(&server);
            s.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                .unwrap();
            s
        })
        .collect();
    let mut used = connect(&server);
    assert_eq!(
        get_on(&mut used, "/health", Duration::from_secs(30)).unwrap(),
        200
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    for (i, s) in silent.iter_mut().enumerate() {
        expect_closed_by(s, deadline, &format!("silent socket {i}"));
    }
    for (i, s) in partial.iter_mut().enumerate() {
        expect_closed_by(s, deadline, &format!("half-head socket {i}"));
    }
    expect_closed_by(&mut used, deadline, "keep-alive socket after its answer");
    assert_eq!(server.get("/health").0, 200);
    assert!(server.terminate(Duration::from_secs(60)).success());

    // 2. Header timeout 1 s, idle 60 s, at most 4 connections.
    let server = Server::serve(
        &db,
        &[
            "--idle-timeout-secs",
            "60",
            "--header-timeout-secs",
            "1",
            "--max-connections",
            "4",
        ],
    );
    // A head trickled one byte every 200 ms is cut by the header timeout, though bytes keep
    // coming and the idle timeout is far away.
    let mut trickle = connect(&server);
    let head = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut cut = false;
    for byte in head.iter().take(50) {
        if trickle.write_all(&[*byte]).is_err() {
            cut = true;
            break;
        }
        trickle
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut buf = [0u8; 256];
        match trickle.read(&mut buf) {
            Ok(0) => {
                cut = true;
                break;
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Ok(_) => panic!("an answer to a head that was never completed"),
            Err(_) => {
                cut = true;
                break;
            }
        }
    }
    assert!(
        cut,
        "a head trickled over 10 s was not cut by a 1 s header timeout"
    );
    drop(trickle);

    // Four keep-alive connections, each answered once, hold the four places.
    let mut held: Vec<TcpStream> = (0..4)
        .map(|i| {
            let mut s = connect(&server);
            let status = get_on(&mut s, "/health", Duration::from_secs(30))
                .unwrap_or_else(|e| panic!("held connection {i}: {e}"));
            assert_eq!(status, 200);
            s
        })
        .collect();
    // A fifth connection reaches the kernel's backlog, but its request is not answered...
    let mut fifth = connect(&server);
    let waiting = get_on(&mut fifth, "/health", Duration::from_millis(1500));
    assert!(
        matches!(&waiting, Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "a fifth connection was served with four open under a cap of four: {waiting:?}"
    );
    // ...until one of the four closes.
    drop(held.remove(0));
    assert_eq!(
        read_answer(&mut fifth, Duration::from_secs(30)).unwrap(),
        200
    );
    drop(held);
    drop(fifth);
    // Afterwards a normal request works (it may wait for the server to see the closes).
    assert_eq!(server.get("/health").0, 200);
    assert!(server.terminate(Duration::from_secs(60)).success());
}

/// The CPU bound gates the passes over every building, not the pages of a report already
/// cached: with the bound's only permit held by other work, a cached first page of `/coverage`
/// is answered at once, while a report still to be built waits for the permit and is answered
/// when the permit comes back. Real Nanjing demo data, in-process, on loopback.
#[test]
fn a_cached_coverage_page_does_not_wait_for_the_cpu_bound_but_a_new_report_does() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.gpkg");
    // `gridcircle demo` imports the demo city into the store; then the store is served here.
    Server::demo(&db).terminate(Duration::from_secs(30));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let bound = gridcircle::http::CpuBound::new(1);
    let (listener, state) = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let store = Store::open(db.to_str().unwrap()).await.unwrap();
        let snapshot = gridcircle::app::load_snapshot(&store, Arc::new(KindCatalogue::bundled()))
            .await
            .unwrap();
        let state = AppState::with_cpu_bound(
            store,
            SnapshotCell::new(snapshot),
            Limits::default(),
            Default::default(),
            bound.clone(),
        );
        (listener, state)
    });
    let addr = listener.local_addr().unwrap();
    let app = gridcircle::http::app(state, None);
    let handle = runtime.handle().clone();
    let (stop, server) = serve_on_thread(runtime, listener, app);
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let url = |path: &str| format!("http://{addr}{path}");
    let page = "/coverage?circle=health&minutes=10&limit=20";
    let first: Value = client.get(url(page)).send().unwrap().json().unwrap();
    let listed = first["uncovered"]["features"].as_array().unwrap().len();
    assert!(listed > 0 && listed <= 20, "{listed} buildings on the page");

    // Take the only permit and keep it until told.
    let (release, released) = std::sync::mpsc::channel::<()>();
    let (holding, held) = std::sync::mpsc::channel::<()>();
    let holder = handle.spawn({
        let bound = bound.clone();
        async move {
            bound
                .run(move || {
                    holding.send(()).unwrap();
                    released.recv_timeout(Duration::from_secs(60)).unwrap();
                })
                .await
                .unwrap()
        }
    });
    held.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(bound.available(), 0);

    // The cached page: answered while the permit is held, and the same answer.
    let again: Value = client.get(url(page)).send().unwrap().json().unwrap();
    assert_eq!(again["summary"], first["summary"]);
    assert_eq!(again["uncovered"], first["uncovered"]);

    // A report never built (another reach): waits for the permit.
    let fresh = url("/coverage?circle=health&minutes=7&limit=20");
    let waiting = std::thread::spawn({
        let client = client.clone();
        move || {
            let r = client.get(fresh).send().unwrap();
            (r.status().as_u16(), Instant::now())
        }
    });
    std::thread::sleep(Duration::from_millis(500));
    assert!(!waiting.is_finished(), "a new report ran without a permit");
    let released_at = Instant::now();
    release.send(()).unwrap();
    let (status, answered_at) = waiting.join().unwrap();
    assert_eq!(status, 200);
    assert!(answered_at >= released_at);
    handle.block_on(holder).unwrap();
    assert_eq!(bound.available(), 1);
    let _ = stop.send(());
    server.join().unwrap().unwrap();
}
