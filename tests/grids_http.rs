//! Grids as governance objects (issue #4) through the real binary on loopback, on the Nanjing
//! demo data: topology-checked drawing, membership in the store and the snapshot against brute
//! force, history and `as_of`, deleting with `reassign_to`, renumbering, drafts that save
//! nothing, building chiefs, and phones that never reach an anonymous caller.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;
use std::sync::Mutex;

use common::{Server, all_features, store_bytes};
use geo::{
    Area, BooleanOps, BoundingRect, ChamberlainDuquetteArea, Geometry, Intersects, MultiPolygon,
    Point, Rect,
};
use serde_json::{Value, json};

/// Metres of latitude per degree (mean Earth radius, as the service uses).
const M_PER_DEG: f64 = 111_194.93;

fn xy(c: geo::Coord<f64>) -> (f64, f64) {
    (c.x, c.y)
}

fn dlat(m: f64) -> f64 {
    m / M_PER_DEG
}

fn dlon(m: f64, lat: f64) -> f64 {
    m / (M_PER_DEG * lat.to_radians().cos())
}

/// The demo server, with every JSON answer kept (to look for phones in all of them).
struct Api {
    server: Server,
    _dir: tempfile::TempDir,
    http: reqwest::blocking::Client,
    answers: Mutex<Vec<String>>,
}

impl Api {
    fn demo() -> Api {
        let dir = tempfile::tempdir().unwrap();
        let server = Server::demo(&dir.path().join("demo.gpkg"));
        Api {
            server,
            _dir: dir,
            http: reqwest::blocking::Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .unwrap(),
            answers: Mutex::new(Vec::new()),
        }
    }

    /// An `Api` on a server already running.
    fn on(server: Server) -> Api {
        Api {
            server,
            _dir: tempfile::tempdir().unwrap(),
            http: reqwest::blocking::Client::new(),
            answers: Mutex::new(Vec::new()),
        }
    }

    fn db(&self) -> &Path {
        &self.server.db
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
        actor: Option<&str>,
    ) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let anonymous = method == "GET";
        let mut r = self.http.request(m, self.server.url(path));
        if !anonymous {
            // Writes carry the harness's admin token; reads stay anonymous.
            r = r.bearer_auth(&self.server.token);
        }
        if let Some(a) = actor {
            r = r.header("X-Actor", a);
        }
        if let Some(b) = body {
            r = r.header("content-type", "application/geo+json").body(b);
        }
        let resp = r.send().expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().unwrap();
        if anonymous {
            // The answers an anonymous caller saw (an admin's write answers may show phones).
            self.answers.lock().unwrap().push(text.clone());
        }
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    fn get(&self, path: &str) -> Value {
        let (status, body) = self.call("GET", path, None, None);
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    fn send(&self, method: &str, path: &str, body: &Value) -> (u16, Value) {
        self.call(method, path, Some(body.to_string()), None)
    }

    fn features(&self, path: &str) -> Vec<Value> {
        let all = all_features(&self.server, path);
        self.answers
            .lock()
            .unwrap()
            .push(Value::Array(all.clone()).to_string());
        all
    }
}

fn shape(geometry: &Value) -> Geometry<f64> {
    let g: geojson::Geometry = serde_json::from_value(geometry.clone()).unwrap();
    g.try_into().unwrap()
}

fn multi(geometry: &Value) -> MultiPolygon<f64> {
    match shape(geometry) {
        Geometry::Polygon(p) => MultiPolygon(vec![p]),
        Geometry::MultiPolygon(m) => m,
        other => panic!("not an area: {other:?}"),
    }
}

fn bbox(geometry: &Value) -> Rect<f64> {
    shape(geometry).bounding_rect().unwrap()
}

fn rect_geometry(r: Rect<f64>) -> Value {
    let (w, s, e, n) = (r.min().x, r.min().y, r.max().x, r.max().y);
    json!({ "type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]] })
}

fn area_m2(g: &Geometry<f64>) -> f64 {
    g.chamberlain_duquette_unsigned_area()
}

/// A grid Feature body from a grid as the API returns it, with another geometry.
fn grid_body(grid: &Value, geometry: Value) -> Value {
    let p = &grid["properties"];
    json!({ "type": "Feature", "geometry": geometry, "properties": {
        "code": p["code"], "name": p["name"], "community_id": p["community_id"] } })
}

struct Pair {
    above: Value,
    below: Value,
}

/// Grids of `community` (rectangles in the demo) and two of them sharing a whole east–west edge,
/// `above` directly north of `below`.
fn pair(api: &Api, community: i64) -> (Vec<Value>, Pair) {
    let grids: Vec<Value> = api.get(&format!("/grids?community_id={community}"))["features"]
        .as_array()
        .unwrap()
        .clone();
    for a in &grids {
        let ra = bbox(&a["geometry"]);
        for b in &grids {
            let rb = bbox(&b["geometry"]);
            if a["id"] != b["id"]
                && ra.min().x == rb.min().x
                && ra.max().x == rb.max().x
                && ra.min().y == rb.max().y
                && ra.height() > dlat(150.0)
                && rb.height() > dlat(150.0)
            {
                return (
                    grids.clone(),
                    Pair {
                        above: a.clone(),
                        below: b.clone(),
                    },
                );
            }
        }
    }
    panic!("no grids one above the other in community {community}");
}

fn id(v: &Value) -> i64 {
    v["id"].as_i64().unwrap()
}

fn kinds(problems: &Value) -> Vec<String> {
    problems
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// Membership three ways: `(store, snapshot via GET /grids/{id}, brute force)`.
type Membership = BTreeMap<i64, Option<i64>>;

fn store_membership(db: &Path) -> Membership {
    if common::postgres_backend() {
        let out = common::psql(
            &common::pg_database(db),
            "SELECT fid, COALESCE(grid_id::text, '') FROM buildings ORDER BY fid",
        );
        return out
            .lines()
            .map(|l| {
                let (fid, grid) = l.split_once('\t').unwrap();
                (fid.parse().unwrap(), grid.parse().ok())
            })
            .collect();
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Row;
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(db)
                    .read_only(true),
            )
            .await
            .unwrap();
        let rows = sqlx::query("SELECT fid, grid_id FROM buildings ORDER BY fid")
            .fetch_all(&pool)
            .await
            .unwrap();
        pool.close().await;
        rows.iter()
            .map(|r| (r.get::<i64, _>(0), r.get::<Option<i64>, _>(1)))
            .collect()
    })
}

fn stored_text(db: &Path, sql: &'static str, id: i64) -> Option<String> {
    if common::postgres_backend() {
        // Single-row reads by fid: psql with the id in place of `?` (NULL reads as empty).
        let out = common::psql(&common::pg_database(db), &sql.replace('?', &id.to_string()));
        let v = out.trim_end_matches('\n');
        return (!v.is_empty()).then(|| v.to_owned());
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(
                sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(db)
                    .read_only(true),
            )
            .await
            .unwrap();
        let v: Option<String> = sqlx::query_scalar(sql)
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        v
    })
}

/// Checks that the store's membership, the snapshot's (as `GET /grids/{id}` lists it) and a
/// brute-force point-in-polygon over every building and grid agree; returns it.
fn membership_agrees(api: &Api) -> Membership {
    let buildings = api.features("/collections/buildings/items?limit=10000");
    let mut grids: Vec<(i64, Geometry<f64>)> = api
        .features("/collections/grids/items?limit=10000")
        .iter()
        .map(|g| (id(g), shape(&g["geometry"])))
        .collect();
    grids.sort_by_key(|g| g.0);
    let mut brute = Membership::new();
    let mut households: BTreeMap<i64, u64> = BTreeMap::new();
    for b in &buildings {
        let pt = &b["properties"]["point"];
        let p = Point::new(pt[0].as_f64().unwrap(), pt[1].as_f64().unwrap());
        let grid = grids
            .iter()
            .find(|(_, g)| g.intersects(&p))
            .map(|(gid, _)| *gid);
        brute.insert(id(b), grid);
        if let Some(g) = grid {
            *households.entry(g).or_default() += b["properties"]["households"].as_u64().unwrap();
        }
    }
    let mut snapshot: Membership = brute.keys().map(|&b| (b, None)).collect();
    for (gid, _) in &grids {
        let detail = api.get(&format!("/grids/{gid}"));
        for b in detail["buildings"].as_array().unwrap() {
            assert_eq!(
                snapshot.insert(id(b), Some(*gid)),
                Some(None),
                "building {} in two grids",
                id(b)
            );
        }
        assert_eq!(
            detail["households"].as_u64().unwrap(),
            households.get(gid).copied().unwrap_or(0),
            "households of grid {gid}"
        );
    }
    let store = store_membership(api.db());
    assert_eq!(store.len(), brute.len());
    for (b, want) in &brute {
        assert_eq!(store.get(b), Some(want), "store membership of building {b}");
        assert_eq!(
            snapshot.get(b),
            Some(want),
            "snapshot membership of building {b}"
        );
    }
    brute
}

#[test]
fn each_bad_drawing_gets_exactly_its_problem_and_a_valid_replace_passes() {
    let api = Api::demo();
    let (_, Pair { above, below }) = pair(&api, 1);
    let ra = bbox(&above["geometry"]);
    let lat = ra.min().y;
    let width_m = ra.width() * M_PER_DEG * lat.to_radians().cos();
    let path = format!("/collections/grids/items/{}", id(&above));
    let before = store_bytes(api.db());

    // Overlap: drawn 10 m too far south, into the grid below.
    let grown = Rect::new((ra.min().x, ra.min().y - dlat(10.0)), xy(ra.max()));
    let (status, body) = api.send("PUT", &path, &grid_body(&above, rect_geometry(grown)));
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "topology");
    assert_eq!(body["field"], "geometry");
    assert_eq!(kinds(&body["problems"]), ["overlap"], "{body}");
    let p = &body["problems"][0];
    assert_eq!(p["other_id"], below["id"]);
    let strip = area_m2(&shape(&p["geometry"]));
    assert!(
        (strip - width_m * 10.0).abs() < 0.02 * width_m * 10.0,
        "overlap {strip} m² vs {}",
        width_m * 10.0
    );
    let r = bbox(&p["geometry"]);
    assert!(
        (r.min().y - (ra.min().y - dlat(10.0))).abs() < 1e-7
            && (r.max().y - ra.min().y).abs() < 1e-7
    );

    // A sliver gap: the south edge drawn 0.5 m short of the grid below.
    let short = Rect::new((ra.min().x, ra.min().y + dlat(0.5)), xy(ra.max()));
    let (status, body) = api.send("PUT", &path, &grid_body(&above, rect_geometry(short)));
    assert_eq!(status, 422, "{body}");
    assert_eq!(kinds(&body["problems"]), ["sliver_gap"], "{body}");
    let p = &body["problems"][0];
    assert_eq!(p["other_id"], below["id"]);
    let gap = area_m2(&shape(&p["geometry"]));
    assert!(
        (gap - width_m * 0.5).abs() < 0.05 * width_m * 0.5,
        "gap {gap} m² vs {}",
        width_m * 0.5
    );

    // Outside the parent: a grid on the community's north edge drawn 10 m beyond it.
    let community = api.get("/collections/communities/items/1");
    let rc = bbox(&community["geometry"]);
    let top = api.get("/grids?community_id=1")["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| bbox(&g["geometry"]).max().y == rc.max().y)
        .unwrap()
        .clone();
    let rt = bbox(&top["geometry"]);
    let beyond = Rect::new(xy(rt.min()), (rt.max().x, rt.max().y + dlat(10.0)));
    let (status, body) = api.send(
        "PUT",
        &format!("/collections/grids/items/{}", id(&top)),
        &grid_body(&top, rect_geometry(beyond)),
    );
    assert_eq!(status, 422, "{body}");
    assert_eq!(kinds(&body["problems"]), ["outside_parent"], "{body}");
    let p = &body["problems"][0];
    assert_eq!(p["other_id"], 1);
    let outside = area_m2(&shape(&p["geometry"]));
    let top_width = rt.width() * M_PER_DEG * rt.max().y.to_radians().cos();
    assert!(
        (outside - top_width * 10.0).abs() < 0.02 * top_width * 10.0,
        "{outside}"
    );
    assert!(bbox(&p["geometry"]).min().y >= rc.max().y - 1e-9);

    // Self-intersection: the corners joined in the wrong order cross at the centre.
    let (w, s, e, n) = (ra.min().x, ra.min().y, ra.max().x, ra.max().y);
    let bowtie =
        json!({ "type": "Polygon", "coordinates": [[[w, s], [e, n], [e, s], [w, n], [w, s]]] });
    let (status, body) = api.send("PUT", &path, &grid_body(&above, bowtie));
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "self_intersection");
    assert_eq!(kinds(&body["problems"]), ["self_intersection"]);
    let Geometry::MultiPoint(at) = shape(&body["problems"][0]["geometry"]) else {
        panic!("the crossing is a point: {body}")
    };
    assert_eq!(at.0.len(), 1);
    assert!(
        (at.0[0].x() - (w + e) / 2.0).abs() < 1e-9 && (at.0[0].y() - (s + n) / 2.0).abs() < 1e-9
    );

    // Duplicate code: the grid below's code.
    let mut dup = grid_body(&above, above["geometry"].clone());
    dup["properties"]["code"] = below["properties"]["code"].clone();
    let (status, body) = api.send("PUT", &path, &dup);
    assert_eq!(status, 422, "{body}");
    assert_eq!(kinds(&body["problems"]), ["duplicate_code"], "{body}");
    assert_eq!(body["field"], "properties.code");
    assert_eq!(body["problems"][0]["other_id"], below["id"]);
    assert_eq!(
        multi(&body["problems"][0]["geometry"]),
        multi(&below["geometry"])
    );

    // A new grid drawn over existing ones: overlaps, and no new code is free of them.
    let mut new = grid_body(&above, rect_geometry(ra));
    new["properties"]["code"] = json!(format!(
        "{}998",
        &above["properties"]["code"].as_str().unwrap()[..12]
    ));
    let (status, body) = api.send("POST", "/collections/grids/items", &new);
    assert_eq!(status, 422, "{body}");
    assert_eq!(kinds(&body["problems"]), ["overlap"]);
    assert_eq!(body["problems"][0]["other_id"], above["id"]);

    assert!(
        store_bytes(api.db()) == before,
        "refused drawings changed the store"
    );

    // Validate answers the same without saving, as {ok, errors, warnings}.
    let mut redraw = grid_body(&above, rect_geometry(grown));
    redraw["properties"]["id"] = above["id"].clone();
    let (status, body) = api.send("POST", "/grids/validate", &redraw);
    assert_eq!(status, 200);
    assert_eq!(body["ok"], false);
    assert_eq!(kinds(&body["errors"]), ["overlap"]);
    // Without an id it is a new grid: its code is taken and it overlaps both grids.
    let (_, body) = api.send(
        "POST",
        "/grids/validate",
        &grid_body(&above, rect_geometry(grown)),
    );
    assert_eq!(
        kinds(&body["errors"]),
        ["duplicate_code", "overlap", "overlap"]
    );
    let mut replacing = grid_body(&above, above["geometry"].clone());
    replacing["properties"]["id"] = above["id"].clone();
    let (_, body) = api.send("POST", "/grids/validate", &replacing);
    assert_eq!(body["ok"], true, "{body}");
    assert!(
        store_bytes(api.db()) == before,
        "validate changed the store"
    );

    // Cut buildings (a warning): the south edge moved north through a member building.
    let detail = api.get(&format!("/grids/{}", id(&above)));
    let footprints: BTreeMap<i64, MultiPolygon<f64>> = api
        .features("/collections/buildings/items?limit=10000")
        .iter()
        .map(|b| (id(b), multi(&b["geometry"])))
        .collect();
    let victim = detail["buildings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| (id(b), footprints[&id(b)].bounding_rect().unwrap()))
        .filter(|(_, r)| {
            r.min().y > ra.min().y + dlat(20.0)
                && r.max().y < ra.max().y - dlat(20.0)
                && r.height() > dlat(8.0)
        })
        .min_by(|a, b| a.1.min().y.total_cmp(&b.1.min().y))
        .expect("a building well inside the grid");
    let cut_lat = victim.1.center().y;
    let cut = Rect::new((ra.min().x, cut_lat), xy(ra.max()));
    let mut body = grid_body(&above, rect_geometry(cut));
    body["properties"]["id"] = above["id"].clone();
    let (status, report) = api.send("POST", "/grids/validate", &body);
    assert_eq!(status, 200);
    assert_eq!(report["ok"], true, "{report}");
    let warned: BTreeMap<i64, &Value> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "cut_building")
        .map(|p| (p["building_id"].as_i64().unwrap(), p))
        .collect();
    let cut_poly = MultiPolygon(vec![cut.to_polygon()]);
    let mut expected = BTreeSet::new();
    for (bid, fp) in &footprints {
        let share = fp.intersection(&cut_poly).unsigned_area() / fp.unsigned_area();
        if (share - 0.1).abs() < 0.005 || (share - 0.9).abs() < 0.005 {
            continue; // too close to the threshold to call
        }
        if share > 0.1 && share < 0.9 {
            expected.insert(*bid);
        } else {
            assert!(
                !warned.contains_key(bid),
                "building {bid} ({share:.3} inside) is not cut"
            );
        }
    }
    assert!(expected.contains(&victim.0));
    for b in &expected {
        let p = warned
            .get(b)
            .unwrap_or_else(|| panic!("building {b} is cut: {report}"));
        assert_eq!(
            &multi(&p["geometry"]),
            &footprints[b],
            "the problem draws the footprint"
        );
    }

    // A valid replace passes, with its warnings, and the version goes up.
    let mut renamed = grid_body(&above, above["geometry"].clone());
    renamed["properties"]["name"] = json!("改名网格");
    let (status, body) = api.send("PUT", &path, &renamed);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["properties"]["version"], 2);
    assert_eq!(body["properties"]["name"], "改名网格");
    assert!(body["warnings"].is_array());
    assert!(body["changed_at"].is_string());
}

#[test]
fn membership_in_store_and_snapshot_equals_brute_force_after_edits() {
    let api = Api::demo();
    let start = membership_agrees(&api);
    assert!(
        start.values().all(Option::is_some),
        "the demo grids cover every building"
    );
    let (_, Pair { above, below }) = pair(&api, 2);
    let (ra, rb) = (bbox(&above["geometry"]), bbox(&below["geometry"]));
    // Move the shared edge south past the northernmost building of the grid below (+5 m).
    let members = api.get(&format!("/grids/{}", id(&below)))["buildings"].clone();
    let northmost = members
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["point"][1].as_f64().unwrap())
        .fold(f64::MIN, f64::max);
    let edge = northmost - dlat(5.0);
    assert!(
        edge > rb.min().y + dlat(20.0),
        "the grid below stays a grid"
    );
    let moved: Vec<i64> = members
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["point"][1].as_f64().unwrap() > edge)
        .map(id)
        .collect();
    assert!(!moved.is_empty());

    // First the grid below gives the strip up: its buildings there are in no grid for a while.
    let shrunk = Rect::new(xy(rb.min()), (rb.max().x, edge));
    let (status, body) = api.send(
        "PUT",
        &format!("/collections/grids/items/{}", id(&below)),
        &grid_body(&below, rect_geometry(shrunk)),
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        kinds(&body["warnings"]).contains(&"buildings_without_grid".to_owned()),
        "{body}"
    );
    let mid = membership_agrees(&api);
    for b in &moved {
        assert_eq!(mid[b], None, "building {b} left the grid below");
    }
    let coverage = api.get(&format!("/communities/{}/coverage-of-grids", 2));
    assert_eq!(
        coverage["buildings_without_grid"].as_u64().unwrap() as usize,
        moved.len()
    );
    let strip_m2 =
        ra.width() * M_PER_DEG * edge.to_radians().cos() * (rb.max().y - edge) * M_PER_DEG;
    let uncovered = coverage["uncovered_area_m2"].as_f64().unwrap();
    assert!(
        (uncovered - strip_m2).abs() < 0.02 * strip_m2,
        "{uncovered} vs {strip_m2}"
    );

    // Then the grid above takes it.
    let grown = Rect::new((ra.min().x, edge), xy(ra.max()));
    let (status, body) = api.send(
        "PUT",
        &format!("/collections/grids/items/{}", id(&above)),
        &grid_body(&above, rect_geometry(grown)),
    );
    assert_eq!(status, 200, "{body}");
    let end = membership_agrees(&api);
    for b in &moved {
        assert_eq!(
            end[b],
            Some(id(&above)),
            "building {b} moved to the grid above"
        );
    }
    let changed = start.iter().filter(|(b, g)| end[*b] != **g).count();
    assert_eq!(
        changed,
        moved.len(),
        "only the buildings in the strip changed grid"
    );
    let coverage = api.get("/communities/2/coverage-of-grids");
    assert_eq!(coverage["buildings_without_grid"], 0);
    assert_eq!(coverage["uncovered"], Value::Null);
}

#[test]
fn history_keeps_who_when_and_both_boundaries_and_as_of_returns_the_old_map() {
    let api = Api::demo();
    let (_, Pair { above, below }) = pair(&api, 3);
    let ra = bbox(&above["geometry"]);
    let history = api.get(&format!("/grids/{}/history", id(&above)));
    let created = &history["changes"][0];
    assert_eq!(created["action"], "create");
    assert_eq!(created["actor"], "import");
    assert_eq!(created["old"], Value::Null);

    // A redraw by a named actor: the north edge moved 3 m south (a gap north of it is the
    // community's edge or the next grid's: either way it must be wider than the tolerance).
    let smaller = Rect::new(xy(ra.min()), (ra.max().x, ra.max().y - dlat(3.0)));
    let (status, body) = api.call(
        "PUT",
        &format!("/collections/grids/items/{}", id(&above)),
        Some(grid_body(&above, rect_geometry(smaller)).to_string()),
        Some("tester-01"),
    );
    assert_eq!(status, 200, "{body}");
    let history = api.get(&format!("/grids/{}/history", id(&above)));
    let changes = history["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2);
    let last = &changes[1];
    assert_eq!(last["action"], "replace");
    assert_eq!(last["actor"], "tester-01");
    assert_eq!(last["boundary_changed"], true);
    assert_eq!(multi(&last["old"]["geometry"]), multi(&above["geometry"]));
    assert_eq!(
        multi(&last["new"]["geometry"]),
        multi(&rect_geometry(smaller))
    );
    assert_eq!(last["at"], body["changed_at"]);

    let at = chrono::DateTime::parse_from_rfc3339(last["at"].as_str().unwrap()).unwrap();
    let as_of = |t: chrono::DateTime<chrono::FixedOffset>| {
        let q = t
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            .replace('+', "%2B");
        api.get(&format!("/grids?as_of={q}"))
    };
    let geometry_in = |map: &Value, gid: i64| {
        map["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == gid)
            .map(|f| multi(&f["geometry"]))
    };
    let before = as_of(at - chrono::Duration::milliseconds(1));
    assert_eq!(
        geometry_in(&before, id(&above)),
        Some(multi(&above["geometry"])),
        "as_of before the edit"
    );
    assert_eq!(
        geometry_in(&before, id(&below)),
        Some(multi(&below["geometry"]))
    );
    assert_eq!(before["features"].as_array().unwrap().len(), 142);
    let after = as_of(at);
    assert_eq!(
        geometry_in(&after, id(&above)),
        Some(multi(&rect_geometry(smaller))),
        "as_of at the edit"
    );
    let created_at = chrono::DateTime::parse_from_rfc3339(created["at"].as_str().unwrap()).unwrap();
    let empty = as_of(created_at - chrono::Duration::days(1));
    assert!(
        empty["features"].as_array().unwrap().is_empty(),
        "before the import there were no grids"
    );

    // An actor that is not a name is refused; an unknown grid has no history.
    let (status, body) = api.call(
        "PUT",
        &format!("/collections/grids/items/{}", id(&above)),
        Some(grid_body(&above, rect_geometry(ra)).to_string()),
        Some("  "),
    );
    assert_eq!((status, body["error"].as_str()), (400, Some("bad_actor")));
    assert_eq!(api.call("GET", "/grids/99999/history", None, None).0, 404);
    assert_eq!(api.call("GET", "/grids?as_of=yesterday", None, None).0, 400);
}

#[test]
fn deleting_a_grid_with_buildings_needs_reassign_to() {
    let api = Api::demo();
    let (_, Pair { above, below }) = pair(&api, 1);
    let path = format!("/collections/grids/items/{}", id(&above));
    let before = store_bytes(api.db());
    let (status, body) = api.call("DELETE", &path, None, None);
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "grid_has_buildings");
    assert!(body["buildings"].as_u64().unwrap() > 0);
    let other = api.get("/grids?community_id=2")["features"][0].clone();
    let (status, body) = api.call(
        "DELETE",
        &format!("{path}?reassign_to={}", id(&other)),
        None,
        None,
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("other_community")),
        "{body}"
    );
    let (status, _) = api.call("DELETE", &format!("{path}?reassign_to=99999"), None, None);
    assert_eq!(status, 422);
    let (status, _) = api.call(
        "DELETE",
        &format!("{path}?reasign_to={}", id(&below)),
        None,
        None,
    );
    assert_eq!(status, 400, "a typo is an error, not a delete");
    assert!(
        store_bytes(api.db()) == before,
        "refused deletes changed the store"
    );

    let members_above: BTreeSet<i64> = api.get(&format!("/grids/{}", id(&above)))["buildings"]
        .as_array()
        .unwrap()
        .iter()
        .map(id)
        .collect();
    let before_delete = api.get("/grids")["features"].as_array().unwrap().len();
    let (status, _) = api.call(
        "DELETE",
        &format!("{path}?reassign_to={}", id(&below)),
        None,
        Some("tester-02"),
    );
    assert_eq!(status, 204);
    assert_eq!(api.call("GET", &path, None, None).0, 404);
    let grown = api.get(&format!("/collections/grids/items/{}", id(&below)));
    let union = multi(&above["geometry"]).union(&multi(&below["geometry"]));
    let a = area_m2(&Geometry::MultiPolygon(multi(&grown["geometry"])));
    assert!(
        (a - area_m2(&Geometry::MultiPolygon(union))).abs() < 1.0,
        "the grid below took the area"
    );
    assert_eq!(grown["properties"]["version"], 2);
    let end = membership_agrees(&api);
    for b in &members_above {
        assert_eq!(
            end[b],
            Some(id(&below)),
            "building {b} went to the grid below"
        );
    }
    assert_eq!(
        api.get("/grids")["features"].as_array().unwrap().len(),
        before_delete - 1
    );
    let gone = api.get(&format!("/grids/{}/history", id(&above)));
    let last = gone["changes"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "delete");
    assert_eq!(last["actor"], "tester-02");
    assert_eq!(last["new"], Value::Null);
    assert!(
        last["note"]
            .as_str()
            .unwrap()
            .contains(&id(&below).to_string())
    );
    let took = api.get(&format!("/grids/{}/history", id(&below)));
    let last_b = took["changes"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last_b["action"], "reassign");
    assert_eq!(last_b["at"], last["at"], "one transaction, one instant");
    assert_eq!(multi(&last_b["old"]["geometry"]), multi(&below["geometry"]));
}

#[test]
fn renumbering_shows_the_mapping_first_and_is_stable_and_reversible() {
    let api = Api::demo();
    let path = "/communities/1/grids/renumber";
    let (status, plan) = api.call("POST", &format!("{path}?dry_run=true"), None, None);
    assert_eq!(status, 200, "{plan}");
    assert_eq!(
        plan["changed"], 0,
        "the demo is numbered by the rule already"
    );
    let codes = |api: &Api| -> BTreeMap<i64, String> {
        api.get("/grids?community_id=1")["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| (id(g), g["properties"]["code"].as_str().unwrap().to_owned()))
            .collect()
    };
    let original = codes(&api);
    for c in original.values() {
        assert_eq!(c.len(), 15);
        assert!(c.starts_with("320104001001"));
        assert!(c.bytes().all(|b| b.is_ascii_digit()));
    }
    assert_eq!(
        original.values().collect::<BTreeSet<_>>().len(),
        original.len(),
        "unique"
    );

    // Scramble three codes in a cycle (an explicit mapping), dry run first.
    let ids: Vec<i64> = original.keys().copied().take(3).collect();
    let scramble = json!({ "codes": {
        ids[0].to_string(): original[&ids[1]], ids[1].to_string(): original[&ids[2]], ids[2].to_string(): original[&ids[0]] } });
    let before = store_bytes(api.db());
    let (status, dry) = api.call(
        "POST",
        &format!("{path}?dry_run=true"),
        Some(scramble.to_string()),
        None,
    );
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["changed"], 3);
    assert!(store_bytes(api.db()) == before, "a dry run saves nothing");
    assert_eq!(codes(&api), original);
    let (status, done) = api.call("POST", path, Some(scramble.to_string()), Some("tester-03"));
    assert_eq!(status, 200, "{done}");
    assert!(done["changed_at"].is_string());
    let scrambled = codes(&api);
    assert_eq!(scrambled[&ids[0]], original[&ids[1]]);

    // The rule's dry run shows exactly the way back; committing it restores every code.
    let (_, plan) = api.call("POST", &format!("{path}?dry_run=true"), None, None);
    assert_eq!(plan["changed"], 3, "{plan}");
    let mapping: BTreeMap<i64, (String, String)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["changes"] == true)
        .map(|c| {
            (
                id(c),
                (
                    c["old"].as_str().unwrap().to_owned(),
                    c["new"].as_str().unwrap().to_owned(),
                ),
            )
        })
        .collect();
    for gid in &ids {
        assert_eq!(
            mapping[gid],
            (scrambled[gid].clone(), original[gid].clone())
        );
    }
    assert_eq!(codes(&api), scrambled, "still a dry run");
    let (status, _) = api.call("POST", path, None, None);
    assert_eq!(status, 200);
    assert_eq!(codes(&api), original, "reversible");
    let (_, again) = api.call("POST", &format!("{path}?dry_run=true"), None, None);
    assert_eq!(again["changed"], 0, "stable");
    // Order: west→east, then north→south, as the sequence says (numbering agrees with the
    // library's rule; here: the first grid is the north-west one).
    let grids = api.get("/grids?community_id=1");
    let first = grids["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["properties"]["code"] == "320104001001001")
        .unwrap();
    let rf = bbox(&first["geometry"]);
    for g in grids["features"].as_array().unwrap() {
        assert!(
            bbox(&g["geometry"]).max().y <= rf.max().y + 1e-12,
            "no grid north of grid 001"
        );
    }

    let history = api.get(&format!("/grids/{}/history", ids[0]));
    let renumbers: Vec<&Value> = history["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "renumber")
        .collect();
    assert_eq!(renumbers.len(), 2);
    assert_eq!(renumbers[0]["actor"], "tester-03");
    assert_eq!(renumbers[0]["old"]["code"], original[&ids[0]].as_str());
    assert_eq!(renumbers[0]["new"]["code"], original[&ids[1]].as_str());
    assert_eq!(renumbers[0]["boundary_changed"], false);
    assert_eq!(
        api.get(&format!("/collections/grids/items/{}", ids[0]))["properties"]["version"],
        3
    );

    // A mapping that would duplicate a code, or leave the community, is refused.
    let bad = json!({ "codes": { ids[0].to_string(): original[&ids[1]] } });
    let (status, body) = api.call("POST", path, Some(bad.to_string()), None);
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("duplicate_code"))
    );
    let bad = json!({ "codes": { ids[0].to_string(): "320104001002999" } });
    assert_eq!(api.call("POST", path, Some(bad.to_string()), None).0, 422);
}

#[test]
fn a_draft_saves_nothing_and_tiles_the_community() {
    let api = Api::demo();
    let community = api.get("/collections/communities/items/2");
    let before = store_bytes(api.db());
    let (status, draft) = api.call(
        "POST",
        "/communities/2/grids/draft?target_households=400",
        None,
        None,
    );
    assert_eq!(status, 200, "{draft}");
    assert!(
        store_bytes(api.db()) == before,
        "the draft call saved something"
    );
    assert_eq!(draft["type"], "FeatureCollection");
    assert_eq!(draft["saved"], false);
    assert_eq!(draft["topology"]["ok"], true, "{}", draft["topology"]);
    let features = draft["features"].as_array().unwrap();
    assert!(features.len() > 3);
    let mut union = MultiPolygon::<f64>(vec![]);
    let mut households = Vec::new();
    for (i, f) in features.iter().enumerate() {
        let code = f["properties"]["code"].as_str().unwrap();
        assert_eq!(code, format!("320104001002{:03}", i + 1));
        assert_eq!(f["properties"]["draft"], true);
        assert!(
            matches!(shape(&f["geometry"]), Geometry::Polygon(_)),
            "contiguous: one polygon"
        );
        union = union.union(&multi(&f["geometry"]));
        households.push(f["properties"]["households"].as_u64().unwrap());
    }
    let c = multi(&community["geometry"]);
    let diff = c.xor(&union).unsigned_area() / c.unsigned_area();
    assert!(diff < 1e-6, "the draft tiles the community ({diff})");
    let near = households
        .iter()
        .filter(|&&h| (200..=600).contains(&h))
        .count();
    eprintln!("draft households per grid: {households:?}");
    assert!(near * 10 >= households.len() * 8, "{households:?}");
    assert_eq!(
        api.call("POST", "/communities/99/grids/draft", None, None)
            .0,
        404
    );
    assert_eq!(
        api.call(
            "POST",
            "/communities/2/grids/draft?target_households=0",
            None,
            None
        )
        .0,
        422
    );
}

#[test]
fn communities_and_street_offices_are_checked_against_parent_and_siblings() {
    let api = Api::demo();
    let c1 = api.get("/collections/communities/items/1");
    let c2 = api.get("/collections/communities/items/2");
    let r1 = bbox(&c1["geometry"]);
    let lat = r1.min().y;
    let body = |geometry: Value, name: &str| {
        json!({ "type": "Feature", "geometry": geometry, "properties": {
            "code": c1["properties"]["code"], "name": name, "street_office_id": c1["properties"]["street_office_id"], "demo": true } })
    };
    let before = store_bytes(api.db());
    let wider = Rect::new(xy(r1.min()), (r1.max().x + dlon(20.0, lat), r1.max().y));
    let (status, answer) = api.send(
        "PUT",
        "/collections/communities/items/1",
        &body(rect_geometry(wider), "甲"),
    );
    assert_eq!(status, 422, "{answer}");
    assert_eq!(kinds(&answer["problems"]), ["overlap"], "{answer}");
    assert_eq!(answer["problems"][0]["other_id"], c2["id"]);
    let (status, answer) = api.send(
        "POST",
        "/collections/street_offices/items",
        &json!({ "type": "Feature", "geometry": rect_geometry(r1), "properties": { "code": "320104002", "name": "另一街道" } }),
    );
    assert_eq!(status, 422, "{answer}");
    assert_eq!(kinds(&answer["problems"]), ["overlap"]);
    assert!(store_bytes(api.db()) == before);
    let (status, answer) = api.send(
        "PUT",
        "/collections/communities/items/1",
        &body(c1["geometry"].clone(), "新名字社区"),
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["properties"]["name"], "新名字社区");
    assert_eq!(
        api.get("/collections/communities/items/1")["properties"]["name"],
        "新名字社区"
    );
    let history = api.get("/communities/1/history");
    let actions: Vec<(&str, &str)> = history["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["action"].as_str().unwrap(), c["actor"].as_str().unwrap()))
        .collect();
    // Without X-Actor, the history names the token that made the change.
    assert_eq!(actions.len(), 2);
    assert_eq!(actions[0], ("create", "import"));
    assert_eq!(actions[1].0, "replace");
    assert!(actions[1].1.starts_with("token:"), "{actions:?}");
    assert_eq!(history["changes"][1]["boundary_changed"], false);
    assert_eq!(history["changes"][1]["new"]["name"], "新名字社区");
    assert_eq!(
        api.get("/street_offices/1/history")["changes"][0]["action"],
        "create"
    );
}

#[test]
fn phones_never_reach_an_anonymous_caller() {
    let api = Api::demo();
    let (_, Pair { above, .. }) = pair(&api, 1);
    let gid = id(&above);
    let mut body = grid_body(&above, above["geometry"].clone());
    body["properties"]["chief_name"] = json!("测试网格长");
    body["properties"]["chief_phone"] = json!("13912345678");
    body["properties"]["workers"] =
        json!([{ "name": "网格员甲", "phone": "13800001111" }, { "name": "网格员乙" }]);
    let (status, saved) = api.send("PUT", &format!("/collections/grids/items/{gid}"), &body);
    assert_eq!(status, 200, "{saved}");
    assert_eq!(saved["properties"]["chief_name"], "测试网格长");
    let building = api.get(&format!("/grids/{gid}"))["buildings"][0].clone();
    let bid = id(&building);
    let (status, chief) = api.send(
        "PUT",
        &format!("/buildings/{bid}/chief"),
        &json!({ "name": "楼栋长甲", "phone": "13700002222" }),
    );
    assert_eq!(status, 200, "{chief}");
    // The writer is an admin, who may see the phone; anonymous readers may not (below).
    assert_eq!(
        chief["chief"],
        json!({ "name": "楼栋长甲", "phone": "13700002222" })
    );
    assert_eq!(
        api.send("PUT", "/buildings/99999999/chief", &json!({ "name": "x" }))
            .0,
        404
    );
    assert_eq!(
        api.send(
            "PUT",
            &format!("/buildings/{bid}/chief"),
            &json!({ "name": "x", "phone": "call me" })
        )
        .0,
        422
    );

    // Everything a map or a planner would read.
    let detail = api.get(&format!("/grids/{gid}"));
    assert_eq!(detail["chief"], json!({ "name": "测试网格长" }));
    assert_eq!(
        detail["workers"],
        json!([{ "name": "网格员甲" }, { "name": "网格员乙" }])
    );
    let b = detail["buildings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| id(b) == bid)
        .unwrap();
    assert_eq!(b["chief"], json!({ "name": "楼栋长甲" }));
    api.get(&format!("/buildings/{bid}/chief"));
    api.features("/collections/grids/items?limit=10000");
    api.get(&format!("/collections/grids/items/{gid}"));
    api.get("/grids");
    api.get(&format!("/grids/{gid}/history"));
    api.get("/grids?as_of=2100-01-01T00:00:00Z");
    api.get("/communities/1/coverage-of-grids");
    let p = &building["point"];
    api.get(&format!("/locate?lon={}&lat={}", p[0], p[1]));
    api.call(
        "POST",
        "/communities/1/grids/renumber?dry_run=true",
        None,
        None,
    );
    api.send("POST", "/grids/validate", &body);
    api.get("/api");

    // The phones are stored (filtering happens at the edge, not by losing data)…
    assert_eq!(
        stored_text(api.db(), "SELECT chief_phone FROM grids WHERE fid = ?", gid).as_deref(),
        Some("13912345678")
    );
    assert_eq!(
        stored_text(
            api.db(),
            "SELECT phone FROM building_chiefs WHERE building_id = ?",
            bid
        )
        .as_deref(),
        Some("13700002222")
    );
    // …and appear in no answer, nor do the demo chiefs' phones.
    let demo: Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo().join("data/demo/grids.geojson")).unwrap(),
    )
    .unwrap();
    let mut phones: Vec<String> = demo["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["properties"]["chief_phone"].as_str().map(str::to_owned))
        .collect();
    phones.extend(["13912345678", "13800001111", "13700002222"].map(String::from));
    let answers = api.answers.lock().unwrap();
    assert!(answers.len() > 10, "{} anonymous answers", answers.len());
    for text in answers.iter() {
        for phone in &phones {
            assert!(
                !text.contains(phone.as_str()),
                "phone {phone} in an anonymous answer: {}",
                &text[..text.len().min(300)]
            );
        }
    }
}

#[test]
fn import_reports_every_rejected_grid_and_export_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("layers.gpkg");
    let bin = env!("CARGO_BIN_EXE_gridcircle");
    let run = |args: &[&str]| {
        let out = Command::new(bin)
            .args(common::backend_args(args))
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let dbs = db.to_str().unwrap();
    let osm = common::shared_data("nanjing-xinjiekou.osm.pbf");
    assert!(run(&["import", osm.to_str().unwrap(), "--db", dbs]).0);
    let demo = common::repo().join("data/demo");
    for (layer, file) in [
        ("street-offices", "street_offices"),
        ("communities", "communities"),
    ] {
        let (ok, out) = run(&[
            "import",
            demo.join(format!("{file}.geojson")).to_str().unwrap(),
            "--layer",
            layer,
            "--db",
            dbs,
        ]);
        assert!(ok, "{out}");
    }
    // The demo grids under another parent property, plus five bad ones.
    let grids: Value =
        serde_json::from_str(&std::fs::read_to_string(demo.join("grids.geojson")).unwrap())
            .unwrap();
    let mut features: Vec<Value> = grids["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let mut f = f.clone();
            let p = f["properties"].as_object_mut().unwrap();
            let parent = p.remove("community_code").unwrap();
            p.insert("parent".into(), parent);
            f
        })
        .collect();
    let first = features[0].clone();
    let r = bbox(&first["geometry"]);
    let (w, s, e, n) = (r.min().x, r.min().y, r.max().x, r.max().y);
    let mut overlap = first.clone();
    overlap["properties"]["code"] = json!("320104001001990");
    let mut bowtie = first.clone();
    bowtie["properties"]["code"] = json!("320104001001991");
    bowtie["geometry"] =
        json!({ "type": "Polygon", "coordinates": [[[w, s], [e, n], [e, s], [w, n], [w, s]]] });
    let mut orphan = first.clone();
    orphan["properties"]["parent"] = json!("320104001009");
    orphan["properties"]["code"] = json!("320104001009001");
    let duplicate = first.clone();
    let mut outside = first.clone();
    outside["properties"]["code"] = json!("320104001001992");
    outside["geometry"] = rect_geometry(Rect::new((w - 0.02, s), (w - 0.01, n)));
    // A misspelt property is refused, not dropped (the import reads properties as strictly as
    // an HTTP write does).
    let mut typo = first.clone();
    typo["properties"]["code"] = json!("320104001001993");
    typo["properties"]["chief_nmae"] = json!("张三");
    let bad_from = features.len();
    features.extend([overlap, bowtie, orphan, duplicate, outside, typo]);
    let file = dir.path().join("grids.geojson");
    std::fs::write(
        &file,
        json!({ "type": "FeatureCollection", "features": features }).to_string(),
    )
    .unwrap();
    let (ok, out) = run(&[
        "import",
        file.to_str().unwrap(),
        "--layer",
        "grids",
        "--parent-field",
        "parent",
        "--db",
        dbs,
    ]);
    assert!(ok, "{out}");
    eprintln!("{out}");
    assert!(
        out.contains(&format!("{} imported, 6 rejected", bad_from)),
        "{out}"
    );
    let line = |i: usize| {
        out.lines()
            .find(|l| l.trim_start().starts_with(&format!("feature {i}:")))
            .unwrap_or_else(|| panic!("feature {i} reported: {out}"))
            .to_owned()
    };
    assert!(line(bad_from).contains("overlap"), "{}", line(bad_from));
    assert!(line(bad_from + 1).contains("self_intersection"));
    assert!(line(bad_from + 2).contains("no community with code 320104001009"));
    assert!(
        line(bad_from + 3).contains("duplicate_code") && line(bad_from + 3).contains("overlap")
    );
    assert!(line(bad_from + 4).contains("outside_parent"));
    assert!(
        line(bad_from + 5).contains("properties.chief_nmae")
            && line(bad_from + 5).contains("unknown property"),
        "{}",
        line(bad_from + 5)
    );
    // Without --parent-field the parent property is missing: every feature says so.
    let (_, out) = run(&[
        "import",
        file.to_str().unwrap(),
        "--layer",
        "grids",
        "--db",
        dbs,
    ]);
    assert!(out.contains("community_code"), "{out}");

    // Export: the format import reads, without phones unless asked.
    let exported = dir.path().join("out.geojson");
    let (ok, out) = run(&[
        "export",
        "--layer",
        "grids",
        "--out",
        exported.to_str().unwrap(),
        "--db",
        dbs,
    ]);
    assert!(ok, "{out}");
    let back: Value = serde_json::from_str(&std::fs::read_to_string(&exported).unwrap()).unwrap();
    let back = back["features"].as_array().unwrap();
    assert_eq!(back.len(), bad_from);
    for (f, orig) in back.iter().zip(&features) {
        assert_eq!(f["properties"]["code"], orig["properties"]["code"]);
        assert_eq!(
            f["properties"]["community_code"],
            orig["properties"]["parent"]
        );
        assert_eq!(f["properties"]["chief_phone"], Value::Null);
        assert_eq!(multi(&f["geometry"]), multi(&orig["geometry"]));
    }
    let (ok, _) = run(&[
        "export",
        "--layer",
        "grids",
        "--with-personal-data",
        "--out",
        exported.to_str().unwrap(),
        "--db",
        dbs,
    ]);
    assert!(ok);
    let back: Value = serde_json::from_str(&std::fs::read_to_string(&exported).unwrap()).unwrap();
    assert_eq!(
        back["features"][0]["properties"]["chief_phone"],
        features[0]["properties"]["chief_phone"]
    );
    // Facilities go through the decoder HTTP bodies use: a position with an altitude is
    // rejected naming `geometry`, as an HTTP write is (the import used to drop the altitude
    // silently), and so is a misspelt property; the good feature is imported.
    let (x, y) = ((w + e) / 2.0, (s + n) / 2.0);
    let facilities = json!({ "type": "FeatureCollection", "features": [
        { "type": "Feature", "geometry": { "type": "Point", "coordinates": [x, y] },
          "properties": { "kind": "toilet", "name": "导入测试公厕", "id": 99 } },
        { "type": "Feature", "geometry": { "type": "Point", "coordinates": [x, y, 12.0] },
          "properties": { "kind": "toilet" } },
        { "type": "Feature", "geometry": { "type": "Point", "coordinates": [x, y] },
          "properties": { "kind": "toilet", "opening_huors": "24/7" } },
    ]});
    let file = dir.path().join("facilities.geojson");
    std::fs::write(&file, facilities.to_string()).unwrap();
    let (ok, out) = run(&[
        "import",
        file.to_str().unwrap(),
        "--layer",
        "facilities",
        "--db",
        dbs,
    ]);
    assert!(ok, "{out}");
    assert!(out.contains("1 imported, 2 rejected"), "{out}");
    let rejected = |i: usize| {
        out.lines()
            .find(|l| l.trim_start().starts_with(&format!("feature {i}:")))
            .unwrap_or_else(|| panic!("feature {i} reported: {out}"))
            .to_owned()
    };
    assert!(
        rejected(1).contains("geometry") && rejected(1).contains("[lon, lat]"),
        "{}",
        rejected(1)
    );
    assert!(
        rejected(2).contains("properties.opening_huors"),
        "{}",
        rejected(2)
    );
    // The membership the import stored agrees with point-in-polygon (checked over HTTP too).
    let api = Api::on(Server::serve(&db, &[]));
    let m = membership_agrees(&api);
    assert!(m.values().all(Option::is_some));
}

#[test]
fn membership_is_rederived_when_a_store_that_lacks_it_is_opened() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old.gpkg");
    Server::demo(&db).kill();
    // A file from before membership was stored (or whose grids were redrawn in desktop GIS).
    if common::postgres_backend() {
        common::psql(
            &common::pg_database(&db),
            "UPDATE buildings SET grid_id = NULL",
        );
    } else {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(&db))
                .await
                .unwrap();
            sqlx::query("UPDATE buildings SET grid_id = NULL")
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        });
    }
    assert!(store_membership(&db).values().all(Option::is_none));
    let api = Api::on(Server::serve(&db, &[]));
    let m = membership_agrees(&api);
    assert!(m.values().all(Option::is_some));
}

#[test]
fn the_operator_sets_the_drawing_tolerance_and_the_household_guidance() {
    // The same 0.7 m sliver is refused at the default 1 m tolerance and allowed at 0.5 m.
    let sliver = |api: &Api| {
        let (_, Pair { above, .. }) = pair(api, 1);
        let ra = bbox(&above["geometry"]);
        let short = Rect::new((ra.min().x, ra.min().y + dlat(0.7)), xy(ra.max()));
        api.send(
            "PUT",
            &format!("/collections/grids/items/{}", id(&above)),
            &grid_body(&above, rect_geometry(short)),
        )
    };
    let strict = Api::demo();
    let (status, body) = sliver(&strict);
    assert_eq!(status, 422, "{body}");
    assert_eq!(kinds(&body["problems"]), ["sliver_gap"], "{body}");
    let rules = strict
        .send(
            "POST",
            "/grids/validate",
            &grid_body(
                &pair(&strict, 1).1.above,
                pair(&strict, 1).1.above["geometry"].clone(),
            ),
        )
        .1["rules"]
        .clone();
    assert_eq!(
        rules,
        json!({"tolerance_m": 1.0, "cut_building_share": 0.1, "households": [300, 500]})
    );
    drop(strict);

    let dir = tempfile::tempdir().unwrap();
    let loose = Api::on(Server::demo_with(
        &dir.path().join("demo.gpkg"),
        &["--tolerance-m", "0.5", "--households", "10-20"],
    ));
    let (status, body) = sliver(&loose);
    assert_eq!(
        status, 200,
        "a 0.7 m gap is wider than a 0.5 m tolerance: {body}"
    );
    // Every demo grid holds far more than 20 households: each validation warns, naming 10–20.
    for g in loose.get("/grids?community_id=2")["features"]
        .as_array()
        .unwrap()
    {
        let (status, report) = loose.send("POST", "/grids/validate", &{
            let mut b = grid_body(g, g["geometry"].clone());
            b["properties"]["id"] = g["id"].clone();
            b
        });
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["rules"]["tolerance_m"], 0.5);
        assert_eq!(report["rules"]["households"], json!([10, 20]));
        let households = loose.get(&format!("/grids/{}", id(g)))["households"]
            .as_u64()
            .unwrap();
        let warned = report["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w["kind"] == "households_outside_guidance");
        assert_eq!(
            warned,
            !(10..=20).contains(&households),
            "{households} households: {report}"
        );
    }
    drop(loose);

    let dir = tempfile::tempdir().unwrap();
    let off = Api::on(Server::demo_with(
        &dir.path().join("demo.gpkg"),
        &["--households", "off"],
    ));
    for g in off.get("/grids?community_id=1")["features"]
        .as_array()
        .unwrap()
    {
        let mut b = grid_body(g, g["geometry"].clone());
        b["properties"]["id"] = g["id"].clone();
        let report = off.send("POST", "/grids/validate", &b).1;
        assert_eq!(report["rules"]["households"], Value::Null);
        assert!(
            report["warnings"]
                .as_array()
                .unwrap()
                .iter()
                .all(|w| w["kind"] != "households_outside_guidance"),
            "{report}"
        );
    }
    drop(off);

    // Nonsense settings stop the server before it listens, naming the flag.
    for (flag, value) in [
        ("--tolerance-m", "0"),
        ("--tolerance-m", "-1"),
        ("--tolerance-m", "NaN"),
        ("--households", "500-300"),
        ("--households", "lots"),
        ("--cut-building-share", "0.9"),
    ] {
        let db = dir.path().join("demo.gpkg");
        let out = Command::new(env!("CARGO_BIN_EXE_gridcircle"))
            .args([
                "serve",
                "--db",
                db.to_str().unwrap(),
                "--addr",
                "127.0.0.1:0",
                &format!("{flag}={value}"),
            ])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{flag} {value} was accepted");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(flag), "{flag} {value}: {err}");
    }
}

#[test]
fn a_new_grid_without_a_code_gets_the_lowest_free_sequence_and_a_name() {
    let api = Api::demo();
    let (grids, Pair { above, .. }) = pair(&api, 1);
    // Make room: delete the grid above (its buildings go to the grid below).
    let below = pair(&api, 1).1.below;
    let (status, body) = api.call(
        "DELETE",
        &format!(
            "/collections/grids/items/{}?reassign_to={}",
            id(&above),
            id(&below)
        ),
        None,
        None,
    );
    assert_eq!(status, 204, "{body}");
    let freed: u32 = above["properties"]["code"].as_str().unwrap()[12..]
        .parse()
        .unwrap();
    let taken: BTreeSet<u32> = grids
        .iter()
        .filter(|g| g["id"] != above["id"])
        .map(|g| {
            g["properties"]["code"].as_str().unwrap()[12..]
                .parse()
                .unwrap()
        })
        .collect();
    let lowest = (1..=999).find(|s| !taken.contains(s)).unwrap();
    assert!(lowest <= freed);
    // Give the grid below its old boundary back, then draw the deleted one again, codeless.
    let (status, body) = api.send(
        "PUT",
        &format!("/collections/grids/items/{}", id(&below)),
        &json!({"type": "Feature", "geometry": below["geometry"], "properties": {}}),
    );
    assert_eq!(
        status, 200,
        "a replace without code or name keeps both: {body}"
    );
    assert_eq!(body["properties"]["code"], below["properties"]["code"]);
    assert_eq!(body["properties"]["name"], below["properties"]["name"]);
    assert!(below["properties"]["chief_name"].is_string(), "{below}");
    assert_eq!(
        body["properties"]["chief_name"], below["properties"]["chief_name"],
        "nor people: the chief stays"
    );
    let (status, body) = api.send(
        "POST",
        "/collections/grids/items",
        &json!({"type": "Feature", "geometry": above["geometry"], "properties": {"community_id": 1}}),
    );
    assert_eq!(status, 201, "{body}");
    let code = body["properties"]["code"].as_str().unwrap();
    assert_eq!(
        code,
        format!(
            "{}{lowest:03}",
            &above["properties"]["code"].as_str().unwrap()[..12]
        )
    );
    assert_eq!(body["properties"]["name"], format!("第{lowest}网格"));
    // Without a community there is nothing to number in.
    let (status, body) = api.send(
        "POST",
        "/collections/grids/items",
        &json!({"type": "Feature", "geometry": above["geometry"], "properties": {}}),
    );
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "properties.community_id");
}

#[test]
fn an_accepted_draft_replaces_the_community_map_in_one_transaction() {
    let api = Api::demo();
    let old: Vec<Value> = api.get("/grids?community_id=2")["features"]
        .as_array()
        .unwrap()
        .clone();
    let others_before = api.get("/grids?community_id=1")["features"].clone();
    let (status, draft) = api.call(
        "POST",
        "/communities/2/grids/draft?target_households=400",
        None,
        None,
    );
    assert_eq!(status, 200, "{draft}");
    let drafted = draft["features"].as_array().unwrap();
    // The street office accepts the draft as is, leaving codes and names to the service.
    let map = json!({"type": "FeatureCollection", "features": drafted.iter().map(|f| json!({
        "type": "Feature", "geometry": f["geometry"], "properties": {}})).collect::<Vec<_>>()});
    let before = store_bytes(api.db());

    // Anonymous: refused. A dry run: checked, nothing saved.
    let anonymous = reqwest::blocking::Client::new()
        .put(api.server.url("/communities/2/grids"))
        .body(map.to_string())
        .send()
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let (status, dry) = api.send("PUT", "/communities/2/grids?dry_run=true", &map);
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["ok"], true);
    assert!(
        store_bytes(api.db()) == before,
        "the dry run saved something"
    );

    // Two drafted blocks drawn over each other: 422 naming both by position; nothing saved.
    let mut overlapping = map.clone();
    overlapping["features"][1]["geometry"] = overlapping["features"][0]["geometry"].clone();
    let (status, body) = api.send("PUT", "/communities/2/grids", &overlapping);
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "topology");
    let overlap = body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["kind"] == "overlap")
        .expect("an overlap");
    let pair: BTreeSet<i64> = [
        overlap["feature"].as_i64().unwrap(),
        overlap["other_feature"].as_i64().unwrap(),
    ]
    .into();
    assert_eq!(pair, BTreeSet::from([0, 1]), "{overlap}");
    // A grid of another community's code, and a feature that is not a polygon.
    let mut foreign = map.clone();
    foreign["features"][2]["properties"]["community_id"] = json!(1);
    let (status, body) = api.send("PUT", "/communities/2/grids", &foreign);
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("features[2].properties.community_id")),
        "{body}"
    );
    let mut point = map.clone();
    point["features"][3]["geometry"] = json!({"type": "Point", "coordinates": [118.78, 32.04]});
    let (status, body) = api.send("PUT", "/communities/2/grids", &point);
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("features[3].geometry")),
        "{body}"
    );
    assert!(
        store_bytes(api.db()) == before,
        "a refused map changed the store"
    );

    let (status, saved) = api.send("PUT", "/communities/2/grids", &map);
    assert_eq!(status, 200, "{saved}");
    let features = saved["features"].as_array().unwrap();
    assert_eq!(features.len(), drafted.len());
    // Codes generated W→E then N→S: the draft's own numbering.
    for (f, d) in features.iter().zip(drafted) {
        assert_eq!(f["properties"]["code"], d["properties"]["code"]);
        assert_eq!(
            f["properties"]["name"],
            format!(
                "第{}网格",
                &d["properties"]["code"].as_str().unwrap()[12..].trim_start_matches('0')
            )
        );
    }
    // A drafted code that was an old grid's keeps that grid's id (and history); the rest of the
    // old grids are deleted, every one recorded.
    let old_by_code: BTreeMap<&str, i64> = old
        .iter()
        .map(|g| (g["properties"]["code"].as_str().unwrap(), id(g)))
        .collect();
    let mut kept = Vec::new();
    for f in features {
        if let Some(&old_id) = old_by_code.get(f["properties"]["code"].as_str().unwrap()) {
            assert_eq!(id(f), old_id);
            kept.push(old_id);
        }
    }
    assert!(!kept.is_empty());
    let deleted: BTreeSet<i64> = saved["deleted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let expected: BTreeSet<i64> = old.iter().map(id).filter(|i| !kept.contains(i)).collect();
    assert_eq!(deleted, expected);
    assert_eq!(saved["replaced"].as_array().unwrap().len(), kept.len());
    let now = api.get("/grids?community_id=2")["features"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(now.len(), drafted.len());
    let history = api.get(&format!("/grids/{}/history", kept[0]));
    assert!(history.to_string().contains("\"replace\""), "{history}");
    // The old map is still there as it was, just before the change.
    let at = chrono::DateTime::parse_from_rfc3339(saved["changed_at"].as_str().unwrap()).unwrap();
    let q = (at - chrono::Duration::milliseconds(1))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        .replace('+', "%2B");
    let then: BTreeMap<i64, MultiPolygon<f64>> = api.get(&format!("/grids?as_of={q}"))["features"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["properties"]["community_id"] == 2)
        .map(|f| (id(f), multi(&f["geometry"])))
        .collect();
    let was: BTreeMap<i64, MultiPolygon<f64>> =
        old.iter().map(|f| (id(f), multi(&f["geometry"]))).collect();
    assert_eq!(then, was, "as_of just before the new map");
    assert_eq!(api.get("/grids?community_id=1")["features"], others_before);
    membership_agrees(&api);
}
