//! No acknowledged write is lost under a crash, and no partial write is ever visible (issue 8).
//!
//! Twenty rounds on one store (SQLite; with `GRIDCIRCLE_TEST_BACKEND=postgres`, PostgreSQL): start the server, drive concurrent writes (facility
//! creates and renames from three threads; a fourth moves the shared edge of two grids back and
//! forth, one grid at a time), record every acknowledged write, `kill -9` the process at a random
//! moment, then read the file as the crash left it (before anything re-derives membership):
//! - every acknowledged facility is there, with its last acknowledged name or the one write that
//!   was in flight, and has its audit record; every stored facility and every stored grid
//!   version has its audit record, acknowledged or not (the record commits with the change);
//! - each grid is in a state that was acknowledged or in flight, its last history row records
//!   exactly its current boundary, code and name, and its version counts its history;
//! - building membership as stored equals membership re-derived from the stored boundaries.
//!
//! Bounded: the kill comes 0.2–1.2 s after the writers start; the whole test takes about a
//! minute and a half on two cores.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Server, rng};
use rand::Rng;
use serde_json::{Value, json};

const ROUNDS: usize = 20;
const FACILITY_THREADS: usize = 3;
/// How far the shared edge moves north, degrees of latitude (≈ 33 m).
const STEP: f64 = 0.0003;

fn bbox(g: &Value) -> [f64; 4] {
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for p in g["coordinates"][0].as_array().unwrap() {
        let (x, y) = (p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
        b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
    }
    b
}

fn rect(b: [f64; 4]) -> Value {
    json!({ "type": "Polygon", "coordinates": [[[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]], [b[0], b[1]]]] })
}

/// Two rectangular grids of community 1 sharing a whole east–west edge: (above, below).
fn pair(server: &Server) -> (Value, Value) {
    let (_, body) = server.get("/grids?community_id=1");
    let grids = body["features"].as_array().unwrap();
    for a in grids {
        let ra = bbox(&a["geometry"]);
        for b in grids {
            let rb = bbox(&b["geometry"]);
            if a["id"] != b["id"]
                && ra[0] == rb[0]
                && ra[2] == rb[2]
                && ra[1] == rb[3]
                && ra[3] - ra[1] > 3.0 * STEP
                && rb[3] - rb[1] > 3.0 * STEP
            {
                return (a.clone(), b.clone());
            }
        }
    }
    panic!("no grids one above the other");
}

fn grid_body(g: &Value, geometry: Value, name: &str) -> String {
    let p = &g["properties"];
    json!({ "type": "Feature", "geometry": geometry, "properties": {
        "code": p["code"], "name": name, "community_id": p["community_id"] } })
    .to_string()
}

/// A grid write as sent: its boundary box and name.
#[derive(Debug, Clone, PartialEq)]
struct GridState {
    bbox: [f64; 4],
    name: String,
}

/// What the writers sent and what was acknowledged.
#[derive(Debug, Default)]
struct Ledger {
    /// Facility id → (last acknowledged name, name in flight after it).
    facilities: HashMap<i64, (String, Option<String>)>,
    /// Grid id → (last acknowledged state, state in flight after it).
    grids: HashMap<i64, (GridState, Option<GridState>)>,
    /// Acknowledged writes: (layer, id).
    acked: Vec<(&'static str, i64)>,
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

fn send(
    http: &reqwest::blocking::Client,
    base: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: String,
) -> Option<(u16, Value)> {
    let r = http
        .request(method, format!("{base}{path}"))
        .bearer_auth(token)
        .header("content-type", "application/geo+json")
        .body(body)
        .send()
        .ok()?;
    let status = r.status().as_u16();
    let v = r.json().ok()?;
    Some((status, v))
}

fn facility_writer(
    base: String,
    token: String,
    tag: String,
    stop: Arc<AtomicBool>,
    ledger: Arc<Mutex<Ledger>>,
    seed: u64,
) {
    let http = client();
    let mut rng = rng(seed);
    let mut mine: Vec<i64> = Vec::new();
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let name = format!("{tag}-{n}");
        let lon = 118.776 + rng.random_range(0.0..0.004);
        let lat = 32.038 + rng.random_range(0.0..0.004);
        let body =
            json!({ "type": "Feature", "geometry": { "type": "Point", "coordinates": [lon, lat] },
            "properties": { "kind": "toilet", "name": name, "owner": "压测单位", "shared": true } })
            .to_string();
        if mine.is_empty() || rng.random_bool(0.5) {
            match send(
                &http,
                &base,
                &token,
                reqwest::Method::POST,
                "/collections/facilities/items",
                body,
            ) {
                Some((201, v)) => {
                    let id = v["id"].as_i64().unwrap();
                    mine.push(id);
                    let mut l = ledger.lock().unwrap();
                    l.facilities.insert(id, (name, None));
                    l.acked.push(("facilities", id));
                }
                Some((status, v)) => panic!("create answered {status}: {v}"),
                None => return,
            }
        } else {
            let id = mine[rng.random_range(0..mine.len())];
            ledger.lock().unwrap().facilities.get_mut(&id).unwrap().1 = Some(name.clone());
            match send(
                &http,
                &base,
                &token,
                reqwest::Method::PUT,
                &format!("/collections/facilities/items/{id}"),
                body,
            ) {
                Some((200, _)) => {
                    let mut l = ledger.lock().unwrap();
                    l.facilities.insert(id, (name, None));
                    l.acked.push(("facilities", id));
                }
                Some((status, v)) => panic!("update answered {status}: {v}"),
                None => return,
            }
        }
    }
}

/// Moves the shared edge of `above` and `below`: shrink one, then grow the other into the gap.
#[allow(clippy::too_many_arguments)]
fn grid_writer(
    base: String,
    token: String,
    above: Value,
    below: Value,
    edge: f64,
    stop: Arc<AtomicBool>,
    ledger: Arc<Mutex<Ledger>>,
    seed: u64,
) {
    let http = client();
    let mut rng = rng(seed);
    let (mut a, mut b) = (bbox(&above["geometry"]), bbox(&below["geometry"]));
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        // States: edge shared at `edge` or at `edge + STEP`, or a gap between them.
        let (grid, new_box) = match (a[1] > edge + STEP / 2.0, b[3] > edge + STEP / 2.0) {
            (false, false) => (&above, [a[0], edge + STEP, a[2], a[3]]), // shrink above
            (true, true) => (&below, [b[0], b[1], b[2], edge]),          // shrink below
            (true, false) if rng.random_bool(0.5) => (&below, [b[0], b[1], b[2], edge + STEP]), // grow below
            (true, false) => (&above, [a[0], edge, a[2], a[3]]), // grow above
            (false, true) => unreachable!("overlap"),
        };
        let id = grid["id"].as_i64().unwrap();
        let state = GridState {
            bbox: new_box,
            name: format!("压测网格{id}-{n}"),
        };
        ledger.lock().unwrap().grids.get_mut(&id).unwrap().1 = Some(state.clone());
        let body = grid_body(grid, rect(new_box), &state.name);
        match send(
            &http,
            &base,
            &token,
            reqwest::Method::PUT,
            &format!("/collections/grids/items/{id}"),
            body,
        ) {
            Some((200, _)) => {
                let mut l = ledger.lock().unwrap();
                l.grids.insert(id, (state, None));
                l.acked.push(("grids", id));
                if id == above["id"].as_i64().unwrap() {
                    a = new_box;
                } else {
                    b = new_box;
                }
            }
            Some((status, v)) => panic!("grid write answered {status}: {v}"),
            None => return,
        }
    }
}

/// A stored grid: geometry blob, code, name, version, bounding box.
type StoredGrid = (Vec<u8>, String, String, i64, [f64; 4]);
/// A grid's last history row: new geometry blob, code and name.
type HistoryRow = (Option<Vec<u8>>, Option<String>, Option<String>);

/// The store as the crash left it, read with plain SQL (nothing re-derived).
struct Raw {
    facilities: BTreeMap<i64, String>,
    /// Facilities not from OSM (created by a write or the layer import: each audited).
    user_facilities: Vec<i64>,
    grids: BTreeMap<i64, StoredGrid>,
    last_history: BTreeMap<i64, HistoryRow>,
    history_rows: BTreeMap<i64, i64>,
    membership: Vec<(i64, Option<i64>)>,
    audited: Vec<(String, String)>,
}

/// The queries `read_raw` runs, per backend (PostgreSQL has no bbox columns and stores PostGIS
/// geometries: their WKB stands in for the GeoPackage blob, compared only within a backend).
struct RawSql {
    facilities: &'static str,
    user_facilities: &'static str,
    grids: &'static str,
    last_history: &'static str,
    history_rows: &'static str,
    membership: &'static str,
    audited: &'static str,
}

const SQLITE_SQL: RawSql = RawSql {
    facilities: "SELECT fid, name FROM facilities",
    user_facilities: "SELECT fid FROM facilities WHERE osm IS NULL",
    grids: "SELECT fid, geom, code, name, version, min_x, min_y, max_x, max_y FROM grids",
    last_history: "SELECT h.feature_id, h.geom, h.new_code, h.new_name FROM boundary_history h
         WHERE h.layer = 'grids' AND h.fid = (SELECT MAX(fid) FROM boundary_history WHERE layer = 'grids' AND feature_id = h.feature_id)",
    history_rows: "SELECT feature_id, COUNT(*) FROM boundary_history WHERE layer = 'grids' AND action IN ('create', 'replace', 'reassign', 'renumber') GROUP BY feature_id",
    membership: "SELECT fid, grid_id FROM buildings ORDER BY fid",
    audited: "SELECT layer, feature_id FROM audit_log WHERE feature_id IS NOT NULL",
};

const POSTGRES_SQL: RawSql = RawSql {
    facilities: "SELECT fid, name FROM facilities",
    user_facilities: "SELECT fid FROM facilities WHERE osm IS NULL",
    grids: "SELECT fid, ST_AsBinary(geom), code, name, version, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM grids",
    last_history: "SELECT h.feature_id, ST_AsBinary(h.geom), h.new_code, h.new_name FROM boundary_history h
         WHERE h.layer = 'grids' AND h.fid = (SELECT MAX(fid) FROM boundary_history WHERE layer = 'grids' AND feature_id = h.feature_id)",
    history_rows: "SELECT feature_id, COUNT(*) FROM boundary_history WHERE layer = 'grids' AND action IN ('create', 'replace', 'reassign', 'renumber') GROUP BY feature_id",
    membership: "SELECT fid, grid_id FROM buildings ORDER BY fid",
    audited: "SELECT layer, feature_id FROM audit_log WHERE feature_id IS NOT NULL",
};

/// The same reads on either pool type (the rows decode the same columns).
macro_rules! read_rows {
    ($pool:expr, $sql:expr) => {{
        use sqlx::Row;
        let pool = $pool;
        let sql: &RawSql = $sql;
        let rows = sqlx::query(sql.facilities).fetch_all(&pool).await.unwrap();
        let facilities = rows
            .iter()
            .map(|r| {
                (
                    r.get::<i64, _>(0),
                    r.get::<Option<String>, _>(1).unwrap_or_default(),
                )
            })
            .collect();
        let rows = sqlx::query(sql.user_facilities)
            .fetch_all(&pool)
            .await
            .unwrap();
        let user_facilities = rows.iter().map(|r| r.get::<i64, _>(0)).collect();
        let rows = sqlx::query(sql.grids).fetch_all(&pool).await.unwrap();
        let grids = rows
            .iter()
            .map(|r| {
                (
                    r.get::<i64, _>(0),
                    (
                        r.get(1),
                        r.get(2),
                        r.get(3),
                        r.get(4),
                        [r.get(5), r.get(6), r.get(7), r.get(8)],
                    ),
                )
            })
            .collect();
        let rows = sqlx::query(sql.last_history)
            .fetch_all(&pool)
            .await
            .unwrap();
        let last_history = rows
            .iter()
            .map(|r| (r.get::<i64, _>(0), (r.get(1), r.get(2), r.get(3))))
            .collect();
        let rows = sqlx::query(sql.history_rows)
            .fetch_all(&pool)
            .await
            .unwrap();
        let history_rows = rows
            .iter()
            .map(|r| (r.get::<i64, _>(0), r.get::<i64, _>(1)))
            .collect();
        let rows = sqlx::query(sql.membership).fetch_all(&pool).await.unwrap();
        let membership = rows
            .iter()
            .map(|r| (r.get::<i64, _>(0), r.get::<Option<i64>, _>(1)))
            .collect();
        let rows = sqlx::query(sql.audited).fetch_all(&pool).await.unwrap();
        let audited = rows
            .iter()
            .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
            .collect();
        pool.close().await;
        Raw {
            facilities,
            user_facilities,
            grids,
            last_history,
            history_rows,
            membership,
            audited,
        }
    }};
}

/// The store as the crash left it, read directly (SQLite file or PostgreSQL database).
fn read_raw(db: &Path) -> Raw {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        if common::postgres_backend() {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(1)
                .connect(&common::db_arg(db))
                .await
                .unwrap();
            read_rows!(pool, &POSTGRES_SQL)
        } else {
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(db))
                .await
                .unwrap();
            read_rows!(pool, &SQLITE_SQL)
        }
    })
}

/// Membership as the store re-derives it from the stored boundaries (opening it heals).
fn derived_membership(db: &Path) -> Vec<(i64, Option<i64>)> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = gridcircle::store::Store::open(&common::db_arg(db))
            .await
            .unwrap();
        let m = store.grid_membership().await.unwrap();
        store.close().await;
        m
    })
}

fn check(db: &Path, ledger: &Ledger, round: usize, edge: f64) {
    let raw = read_raw(db);
    for (id, (acked, in_flight)) in &ledger.facilities {
        let stored = raw
            .facilities
            .get(id)
            .unwrap_or_else(|| panic!("round {round}: acknowledged facility {id} lost"));
        assert!(
            stored == acked || in_flight.as_ref() == Some(stored),
            "round {round}: facility {id} is {stored:?}; acknowledged {acked:?}, in flight {in_flight:?}"
        );
    }
    for (id, (acked, in_flight)) in &ledger.grids {
        let (geom, code, name, version, b) = &raw.grids[id];
        let matches = |s: &GridState| {
            s.name == *name && s.bbox.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
        };
        assert!(
            matches(acked) || in_flight.as_ref().is_some_and(matches),
            "round {round}: grid {id} is {name:?} {b:?}; acknowledged {acked:?}, in flight {in_flight:?}"
        );
        // No partial write: the history's last row is exactly the current state…
        let (h_geom, h_code, h_name) = &raw.last_history[id];
        assert_eq!(
            h_geom.as_ref(),
            Some(geom),
            "round {round}: grid {id}'s last history boundary"
        );
        assert_eq!(
            (h_code.as_ref(), h_name.as_ref()),
            (Some(code), Some(name)),
            "round {round}: grid {id}'s last history row"
        );
        // …and every version has its history row.
        assert_eq!(
            raw.history_rows[id], *version,
            "round {round}: grid {id} version vs history"
        );
        assert!(
            b[1] >= edge - 1e-9 && b[3] >= edge - 1e-9 || b[3] <= edge + STEP + 1e-9,
            "round {round}: grid {id} at {b:?}"
        );
    }
    // Nothing committed lacks its audit record, acknowledged or not: the record commits in
    // the change's own transaction. Every facility not from OSM (from the layer import or a
    // write) has one, and every version of a grid (its import, then each replace) has one.
    let audit_count = |layer: &str, id: i64| {
        raw.audited
            .iter()
            .filter(|(l, f)| l == layer && f == &id.to_string())
            .count() as i64
    };
    assert!(!raw.user_facilities.is_empty());
    for id in &raw.user_facilities {
        assert!(
            audit_count("facilities", *id) >= 1,
            "round {round}: stored facility {id} has no audit record"
        );
    }
    for (id, (_, _, _, version, _)) in &raw.grids {
        assert_eq!(
            audit_count("grids", *id),
            *version,
            "round {round}: grid {id} at version {version} vs its audit records"
        );
    }
    for (layer, id) in &ledger.acked {
        assert!(
            raw.audited
                .iter()
                .any(|(l, f)| l == layer && f == &id.to_string()),
            "round {round}: acknowledged write of {layer} {id} has no audit record"
        );
    }
    let derived = derived_membership(db);
    assert_eq!(raw.membership.len(), derived.len());
    let wrong: Vec<_> = raw
        .membership
        .iter()
        .zip(&derived)
        .filter(|(a, b)| a != b)
        .collect();
    assert!(
        wrong.is_empty(),
        "round {round}: stored membership differs from the boundaries: {wrong:?}"
    );
}

#[test]
fn acknowledged_writes_survive_kill_9_and_no_partial_write_is_visible() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.gpkg");
    let (above, below, edge) = {
        let server = Server::demo(&db);
        let (above, below) = pair(&server);
        let edge = bbox(&above["geometry"])[1];
        server.kill();
        (above, below, edge)
    };
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    {
        let mut l = ledger.lock().unwrap();
        for g in [&above, &below] {
            let state = GridState {
                bbox: bbox(&g["geometry"]),
                name: g["properties"]["name"].as_str().unwrap().to_owned(),
            };
            l.grids.insert(g["id"].as_i64().unwrap(), (state, None));
        }
    }
    let mut dice = rng(8);
    let mut acked_total = 0;
    for round in 0..ROUNDS {
        let server = Server::serve(&db, &[]);
        // Where the previous round's writes left the grids.
        let (above_now, below_now) = {
            let get = |g: &Value| {
                server
                    .get(&format!("/collections/grids/items/{}", g["id"]))
                    .1
            };
            (get(&above), get(&below))
        };
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();
        for t in 0..FACILITY_THREADS {
            let (base, token, stop, ledger) = (
                server.base.clone(),
                server.token.clone(),
                stop.clone(),
                ledger.clone(),
            );
            let tag = format!("crash-r{round}-t{t}");
            let seed = (round * 10 + t) as u64;
            threads.push(std::thread::spawn(move || {
                facility_writer(base, token, tag, stop, ledger, seed)
            }));
        }
        {
            let (base, token, stop, ledger) = (
                server.base.clone(),
                server.token.clone(),
                stop.clone(),
                ledger.clone(),
            );
            let seed = (round * 10 + 9) as u64;
            threads.push(std::thread::spawn(move || {
                grid_writer(base, token, above_now, below_now, edge, stop, ledger, seed)
            }));
        }
        std::thread::sleep(Duration::from_millis(dice.random_range(200..1200)));
        server.kill();
        stop.store(true, Ordering::Relaxed);
        for t in threads {
            t.join().expect("a writer failed");
        }
        let l = ledger.lock().unwrap();
        check(&db, &l, round, edge);
        acked_total = l.acked.len();
        drop(l);
        // The next round starts from the store as it is: in-flight writes are settled now.
        let raw = read_raw(&db);
        let mut l = ledger.lock().unwrap();
        for (id, entry) in l.facilities.iter_mut() {
            *entry = (raw.facilities[id].clone(), None);
        }
        for (id, entry) in l.grids.iter_mut() {
            let (_, _, name, _, b) = &raw.grids[id];
            *entry = (
                GridState {
                    bbox: *b,
                    name: name.clone(),
                },
                None,
            );
        }
    }
    assert!(
        acked_total >= ROUNDS,
        "only {acked_total} writes were acknowledged in {ROUNDS} rounds"
    );
    eprintln!(
        "{ROUNDS} rounds, {acked_total} acknowledged writes, {:.0} s",
        started.elapsed().as_secs_f64()
    );
}
