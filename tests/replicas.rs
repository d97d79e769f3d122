//! Several replicas on one PostgreSQL (issue 6): real `gridcircle` processes on loopback ports,
//! one database made for the test (always PostgreSQL, whatever GRIDCIRCLE_TEST_BACKEND says).
//! Every wait is bounded.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Server, pg_database, pg_server, psql};
use serde_json::{Value, json};

/// A fresh database's URL, used as the `--db` of every replica.
fn database(dir: &Path) -> (String, String) {
    let name = pg_database(&dir.join("replicas"));
    (format!("{}/{name}", pg_server()), name)
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// A request with the server's admin token and optional If-Match; status, ETag and body.
fn call(
    server: &Server,
    method: &str,
    path: &str,
    body: Option<&Value>,
    if_match: Option<&str>,
) -> (u16, Option<String>, Value) {
    let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut r = client()
        .request(m, server.url(path))
        .bearer_auth(&server.token)
        .header("content-type", "application/geo+json");
    if let Some(b) = body {
        r = r.body(b.to_string());
    }
    if let Some(tag) = if_match {
        r = r.header("if-match", tag);
    }
    let r = r.send().expect("request");
    let status = r.status().as_u16();
    let etag = r
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, etag, r.json().unwrap_or(Value::Null))
}

fn hash(server: &Server) -> (String, i64) {
    let (status, _, body) = call(server, "GET", "/admin/snapshot", None, None);
    assert_eq!(status, 200, "{body}");
    (
        body["hash"].as_str().unwrap().to_owned(),
        body["applied_seq"].as_i64().unwrap(),
    )
}

/// Waits (at most `limit`) until `done` holds; returns how long it took.
fn until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    loop {
        if done() {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits until both replicas serve the same content, and returns its hash.
fn converge(a: &Server, b: &Server, limit: Duration) -> String {
    let mut last = (String::new(), String::new());
    until(limit, "replicas converge", || {
        let (ha, sa) = hash(a);
        let (hb, sb) = hash(b);
        last = (ha.clone(), hb.clone());
        ha == hb && sa == sb && sa > 0
    });
    last.0
}

fn toilet(name: &str, lon: f64) -> Value {
    json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, 32.0420]},
           "properties": {"kind": "toilet", "name": name, "owner": "某单位",
                          "opening_hours": "Mo-Fr 08:00-18:00", "shared": true}})
}

/// A rename of grid `id` as read from `server`: its feature with a new name.
fn renamed(server: &Server, id: i64, name: &str) -> (Value, String) {
    let (status, etag, f) = call(
        server,
        "GET",
        &format!("/collections/grids/items/{id}"),
        None,
        None,
    );
    assert_eq!(status, 200, "{f}");
    let p = &f["properties"];
    let body = json!({"type": "Feature", "geometry": f["geometry"],
        "properties": {"code": p["code"], "name": name, "community_id": p["community_id"]}});
    (body, etag.expect("a grid has an ETag"))
}

fn grid_name(server: &Server, id: i64) -> String {
    let (_, _, f) = call(
        server,
        "GET",
        &format!("/collections/grids/items/{id}"),
        None,
        None,
    );
    f["properties"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn replicas_follow_each_other_and_refuse_conflicting_writes() {
    let dir = tempfile::tempdir().unwrap();
    let (url, name) = database(dir.path());
    let a = Server::demo(Path::new(&url));
    let b = Server::serve(Path::new(&url), &[]);
    let start = converge(&a, &b, Duration::from_secs(30));

    // A write on A is visible on B within a second.
    let (status, _, created) = call(
        &a,
        "POST",
        "/collections/facilities/items",
        Some(&toilet("复制测试厕所", 118.7790)),
        None,
    );
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    let took = until(Duration::from_secs(1), "a write on A visible on B", || {
        b.get(&format!("/collections/facilities/items/{id}")).0 == 200
    });
    eprintln!("write on A visible on B after {took:?}");
    let health = b.get("/health").1;
    assert_eq!(health["replication"]["backend"], "postgres", "{health}");
    let converged = converge(&a, &b, Duration::from_secs(10));
    assert_ne!(converged, start, "the write changed the content hash");
    let health = b.get("/health").1;
    assert_eq!(health["replication"]["lag"], 0, "{health}");
    assert_eq!(
        health["replication"]["applied_seq"], health["replication"]["latest_seq"],
        "{health}"
    );

    // B stops; 100 changes on A; B starts again and converges to the same content.
    b.kill();
    for i in 0..100 {
        let body = toilet(&format!("复制测试厕所{i}"), 118.7790);
        let (status, _, f) = call(
            &a,
            "PUT",
            &format!("/collections/facilities/items/{id}"),
            Some(&body),
            None,
        );
        assert_eq!(status, 200, "{f}");
    }
    let (status, _, second) = call(
        &a,
        "POST",
        "/collections/facilities/items",
        Some(&toilet("第二个", 118.7795)),
        None,
    );
    assert_eq!(status, 201, "{second}");
    let b = Server::serve(Path::new(&url), &[]);
    let after_restart = converge(&a, &b, Duration::from_secs(30));
    assert_ne!(after_restart, converged);
    assert_eq!(
        b.get(&format!("/collections/facilities/items/{id}")).1["properties"]["name"],
        "复制测试厕所99"
    );

    // B's LISTEN connection drops (notifications missed): it catches up from the log.
    let killed = psql(
        "postgres",
        &format!(
            "SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '{name}' AND query ILIKE 'LISTEN%'"
        ),
    );
    assert!(
        killed.trim().parse::<i64>().unwrap() >= 2,
        "both replicas listen: {killed}"
    );
    let (status, _, _) = call(
        &a,
        "DELETE",
        &format!("/collections/facilities/items/{id}"),
        None,
        None,
    );
    assert_eq!(status, 204);
    until(
        Duration::from_secs(10),
        "B catches up after a lost LISTEN",
        || b.get(&format!("/collections/facilities/items/{id}")).0 == 404,
    );
    converge(&a, &b, Duration::from_secs(10));

    // Concurrent writes on A and B to different grids both survive.
    let (g1, g2) = (1, 2);
    let (body1, tag1) = renamed(&a, g1, "网格甲（A 改）");
    let (body2, tag2) = renamed(&b, g2, "网格乙（B 改）");
    let (r1, r2) = std::thread::scope(|s| {
        let t1 = s.spawn(|| {
            call(
                &a,
                "PUT",
                &format!("/collections/grids/items/{g1}"),
                Some(&body1),
                Some(&tag1),
            )
        });
        let t2 = s.spawn(|| {
            call(
                &b,
                "PUT",
                &format!("/collections/grids/items/{g2}"),
                Some(&body2),
                Some(&tag2),
            )
        });
        (t1.join().unwrap(), t2.join().unwrap())
    });
    assert_eq!(r1.0, 200, "{}", r1.2);
    assert_eq!(r2.0, 200, "{}", r2.2);
    assert_ne!(r1.1, Some(tag1), "the ETag moves with the version");
    converge(&a, &b, Duration::from_secs(10));
    for server in [&a, &b] {
        assert_eq!(grid_name(server, g1), "网格甲（A 改）");
        assert_eq!(grid_name(server, g2), "网格乙（B 改）");
    }

    // Conflicting writes to the same grid, both based on the same version: one wins, the
    // other is refused with 412 — never a silent last-writer-wins.
    let g = 3;
    let (body_a, tag) = renamed(&a, g, "网格丙（A 改）");
    let (body_b, tag_b) = renamed(&b, g, "网格丙（B 改）");
    assert_eq!(tag, tag_b, "both replicas serve the same version");
    let (ra, rb) = std::thread::scope(|s| {
        let ta = s.spawn(|| {
            call(
                &a,
                "PUT",
                &format!("/collections/grids/items/{g}"),
                Some(&body_a),
                Some(&tag),
            )
        });
        let tb = s.spawn(|| {
            call(
                &b,
                "PUT",
                &format!("/collections/grids/items/{g}"),
                Some(&body_b),
                Some(&tag),
            )
        });
        (ta.join().unwrap(), tb.join().unwrap())
    });
    let mut statuses = [ra.0, rb.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412], "A: {} B: {}", ra.2, rb.2);
    let loser = if ra.0 == 412 { &ra.2 } else { &rb.2 };
    assert_eq!(loser["error"], "version_mismatch", "{loser}");
    let winner = if ra.0 == 200 {
        "网格丙（A 改）"
    } else {
        "网格丙（B 改）"
    };
    converge(&a, &b, Duration::from_secs(10));
    assert_eq!(grid_name(&a, g), winner);
    assert_eq!(grid_name(&b, g), winner);
    // A stale If-Match is refused too, and nothing changes.
    let (status, _, refused) = call(
        &b,
        "PUT",
        &format!("/collections/grids/items/{g}"),
        Some(&body_b),
        Some(&tag),
    );
    assert_eq!(status, 412, "{refused}");
    assert_eq!(grid_name(&a, g), winner);
    // The same for a facility: both replicas change it from the same state (same ETag); the
    // store's compare-and-swap lets one through and refuses the other.
    let (status, _, made) = call(
        &a,
        "POST",
        "/collections/facilities/items",
        Some(&toilet("争用厕所", 118.7792)),
        None,
    );
    assert_eq!(status, 201, "{made}");
    let fid = made["id"].as_i64().unwrap();
    let fpath = format!("/collections/facilities/items/{fid}");
    until(Duration::from_secs(1), "the facility reaches B", || {
        b.get(&fpath).0 == 200
    });
    let tag_a = call(&a, "GET", &fpath, None, None).1.unwrap();
    let tag_b = call(&b, "GET", &fpath, None, None).1.unwrap();
    assert_eq!(tag_a, tag_b, "facility ETags agree across replicas");
    let (fa, fb) = std::thread::scope(|s| {
        let ta = s.spawn(|| {
            call(
                &a,
                "PUT",
                &fpath,
                Some(&toilet("争用（A）", 118.7792)),
                Some(&tag_a),
            )
        });
        let tb = s.spawn(|| {
            call(
                &b,
                "PUT",
                &fpath,
                Some(&toilet("争用（B）", 118.7792)),
                Some(&tag_b),
            )
        });
        (ta.join().unwrap(), tb.join().unwrap())
    });
    let mut statuses = [fa.0, fb.0];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412], "A: {} B: {}", fa.2, fb.2);
    converge(&a, &b, Duration::from_secs(10));

    // The history holds exactly one rename of grid 3.
    let renames = psql(
        &name,
        "SELECT COUNT(*) FROM boundary_history WHERE layer = 'grids' AND feature_id = 3 AND action = 'replace'",
    );
    assert_eq!(renames.trim(), "1");
}

#[test]
fn start_up_refuses_a_schema_newer_than_the_binary_and_migrate_applies_pending() {
    let dir = tempfile::tempdir().unwrap();
    let (url, name) = database(dir.path());
    let out = common::cli(&["migrate", "--db", &url]);
    assert!(out.contains("postgres store at schema version 3"), "{out}");
    // The PostGIS tables are typed, indexed geometry columns GDAL reads.
    let columns = psql(
        &name,
        "SELECT f_table_name, type, srid FROM geometry_columns ORDER BY f_table_name, f_geometry_column",
    );
    assert!(columns.contains("grids\tMULTIPOLYGON\t4326"), "{columns}");
    assert!(columns.contains("facilities\tPOINT\t4326"), "{columns}");
    assert!(columns.contains("ways\tLINESTRING\t4326"), "{columns}");
    assert!(
        columns.contains("land_areas\tMULTIPOLYGON\t4326"),
        "{columns}"
    );
    let gist = psql(
        &name,
        "SELECT COUNT(*) FROM pg_indexes WHERE indexdef ILIKE '%USING gist%'",
    );
    assert!(gist.trim().parse::<i64>().unwrap() >= 9, "{gist}");
    // A newer binary migrated this database: start-up is refused with a clear message.
    psql(
        &name,
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (99, 'future', true, '\\x00', 0)",
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gridcircle"))
        .args(["serve", "--db", &url, "--addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("schema is at version 99, newer than this binary knows (up to 3)"),
        "{err}"
    );
}
