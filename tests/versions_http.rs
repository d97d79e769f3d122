//! Grid versions over HTTP on one server (either backend, GRIDCIRCLE_TEST_BACKEND): every read
//! and write of a grid carries `ETag: "vN"`; a write with a stale `If-Match` is refused with
//! 412 and changes nothing; the current one passes and moves the ETag.

mod common;

use std::time::Duration;

use common::{Server, store_bytes};
use serde_json::{Value, json};

fn put(
    server: &Server,
    id: i64,
    body: &Value,
    if_match: Option<&str>,
) -> (u16, Option<String>, Value) {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let mut r = client
        .put(server.url(&format!("/collections/grids/items/{id}")))
        .bearer_auth(&server.token)
        .header("content-type", "application/geo+json")
        .body(body.to_string());
    if let Some(tag) = if_match {
        r = r.header("if-match", tag);
    }
    let r = r.send().unwrap();
    let status = r.status().as_u16();
    let etag = r
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, etag, r.json().unwrap_or(Value::Null))
}

fn read(server: &Server, id: i64) -> (Option<String>, Value) {
    let r = reqwest::blocking::get(server.url(&format!("/collections/grids/items/{id}"))).unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let etag = r
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    (etag, r.json().unwrap())
}

#[test]
fn grid_writes_check_if_match_and_move_the_etag() {
    let (_dir, server) = common::demo();
    let id = 4;
    let (etag, f) = read(&server, id);
    let version = f["properties"]["version"].as_i64().unwrap();
    assert_eq!(etag.as_deref(), Some(format!("\"v{version}\"").as_str()));
    let p = &f["properties"];
    let body = |name: &str| {
        json!({"type": "Feature", "geometry": f["geometry"],
               "properties": {"code": p["code"], "name": name, "community_id": p["community_id"]}})
    };

    // A stale version: 412, JSON error, nothing stored.
    let before = store_bytes(&server.db);
    let stale = format!("\"v{}\"", version - 1);
    let (status, _, refused) = put(&server, id, &body("旧版本的改名"), Some(&stale));
    assert_eq!(status, 412, "{refused}");
    assert_eq!(refused["error"], "version_mismatch");
    assert!(
        store_bytes(&server.db) == before,
        "a refused write changed the store"
    );
    assert_eq!(read(&server, id).1["properties"]["name"], p["name"]);

    // The current version passes; the answer and the next read carry the next ETag.
    let (status, written, saved) = put(&server, id, &body("按版本改名"), etag.as_deref());
    assert_eq!(status, 200, "{saved}");
    let next = format!("\"v{}\"", version + 1);
    assert_eq!(written.as_deref(), Some(next.as_str()));
    assert_eq!(read(&server, id).0.as_deref(), Some(next.as_str()));
    // The old ETag is now stale; `*` and no If-Match at all are accepted.
    assert_eq!(put(&server, id, &body("再改"), etag.as_deref()).0, 412);
    assert_eq!(put(&server, id, &body("再改"), Some("*")).0, 200);
    assert_eq!(put(&server, id, &body("又改"), None).0, 200);
    assert_eq!(read(&server, id).1["properties"]["version"], version + 3);
}

#[test]
fn facility_writes_check_if_match_against_the_etag() {
    let (_dir, server) = common::demo();
    let body = |name: &str| {
        json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [118.7790, 32.0420]},
               "properties": {"kind": "toilet", "name": name, "owner": "某单位", "shared": true}})
    };
    let client = reqwest::blocking::Client::new();
    let send = |method: reqwest::Method, path: &str, b: Option<&Value>, tag: Option<&str>| {
        let mut r = client
            .request(method, server.url(path))
            .bearer_auth(&server.token)
            .header("content-type", "application/geo+json");
        if let Some(b) = b {
            r = r.body(b.to_string());
        }
        if let Some(t) = tag {
            r = r.header("if-match", t);
        }
        let r = r.send().unwrap();
        let etag = r
            .headers()
            .get("etag")
            .map(|v| v.to_str().unwrap().to_owned());
        (r.status().as_u16(), etag)
    };
    let (status, created) = send(
        reqwest::Method::POST,
        "/collections/facilities/items",
        Some(&body("甲")),
        None,
    );
    assert_eq!(status, 201);
    let created = created.expect("a created facility has an ETag");
    let all = common::all_features(&server, "/collections/facilities/items?limit=1000");
    let id = all
        .iter()
        .find(|f| f["properties"]["name"] == "甲")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let path = format!("/collections/facilities/items/{id}");
    let r = reqwest::blocking::get(server.url(&path)).unwrap();
    assert_eq!(r.headers()["etag"].to_str().unwrap(), created);

    let (status, changed) = send(
        reqwest::Method::PUT,
        &path,
        Some(&body("乙")),
        Some(&created),
    );
    assert_eq!(status, 200);
    let changed = changed.unwrap();
    assert_ne!(changed, created, "the ETag follows the content");
    // The first ETag is stale now: refused, and nothing changes.
    let before = store_bytes(&server.db);
    assert_eq!(
        send(
            reqwest::Method::PUT,
            &path,
            Some(&body("丙")),
            Some(&created)
        )
        .0,
        412
    );
    assert_eq!(
        send(reqwest::Method::DELETE, &path, None, Some(&created)).0,
        412
    );
    assert!(
        store_bytes(&server.db) == before,
        "a refused write changed the store"
    );
    assert_eq!(server.get(&path).1["properties"]["name"], "乙");
    assert_eq!(
        send(reqwest::Method::DELETE, &path, None, Some(&changed)).0,
        204
    );
    assert_eq!(server.get(&path).0, 404);
}

/// A request with a body and an optional If-Match; status, ETag and JSON body.
fn request(
    server: &Server,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
    if_match: Option<&str>,
) -> (u16, Option<String>, Value) {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut r = client
        .request(method, server.url(path))
        .bearer_auth(&server.token)
        .header("content-type", "application/geo+json");
    if let Some(b) = body {
        r = r.body(b.to_string());
    }
    if let Some(t) = if_match {
        r = r.header("if-match", t);
    }
    let r = r.send().unwrap();
    let status = r.status().as_u16();
    let etag = r
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, etag, r.json().unwrap_or(Value::Null))
}

/// Grid deletes are conditional too: a stale If-Match on a plain delete and on a delete that
/// hands the area to a neighbour (`?reassign_to=`) is refused with 412 and changes nothing;
/// the current one deletes.
#[test]
fn grid_deletes_check_if_match_and_so_does_reassignment() {
    let (_dir, server) = common::demo();
    let grids = common::all_features(&server, "/collections/grids/items?limit=1000");
    // Two grids of one community, one right above the other (the same west and east edges):
    // the upper hands its area to the lower.
    let bbox = |g: &Value| -> [f64; 4] {
        let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
        let mut visit = |c: &Value| {
            let (x, y) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
            b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
        };
        // MultiPolygon → polygons → rings → positions (a Polygon has one level less).
        for p in g["geometry"]["coordinates"].as_array().unwrap() {
            for r in p.as_array().unwrap() {
                if r[0].is_array() {
                    r.as_array().unwrap().iter().for_each(&mut visit);
                } else {
                    visit(r);
                }
            }
        }
        b
    };
    let (gone, neighbour) = grids
        .iter()
        .flat_map(|a| grids.iter().map(move |b| (a, b)))
        .find(|(a, b)| {
            let (ra, rb) = (bbox(a), bbox(b));
            a["id"] != b["id"]
                && a["properties"]["community_id"] == b["properties"]["community_id"]
                && ra[0] == rb[0]
                && ra[2] == rb[2]
                && ra[1] == rb[3]
        })
        .expect("two grids one above the other");
    let (gone_id, neighbour_id) = (
        gone["id"].as_i64().unwrap(),
        neighbour["id"].as_i64().unwrap(),
    );
    let (tag, _) = read(&server, gone_id);
    let tag = tag.unwrap();
    let version = gone["properties"]["version"].as_i64().unwrap();
    let stale = format!("\"v{}\"", version - 1);
    let path = format!("/collections/grids/items/{gone_id}?reassign_to={neighbour_id}");
    let before = store_bytes(&server.db);
    let (status, _, refused) = request(&server, reqwest::Method::DELETE, &path, None, Some(&stale));
    assert_eq!(status, 412, "{refused}");
    assert_eq!(refused["error"], "version_mismatch");
    let plain = format!("/collections/grids/items/{gone_id}");
    let (status, _, refused) =
        request(&server, reqwest::Method::DELETE, &plain, None, Some(&stale));
    assert_eq!(status, 412, "{refused}");
    assert!(
        store_bytes(&server.db) == before,
        "a refused delete changed the store"
    );
    assert_eq!(read(&server, gone_id).1["id"], gone_id);

    // The current ETag: the grid goes, the neighbour grows (version + 1).
    let (status, _, body) = request(&server, reqwest::Method::DELETE, &path, None, Some(&tag));
    assert_eq!(status, 204, "{body}");
    assert_eq!(server.get(&plain).0, 404);
    let (_, grown) = read(&server, neighbour_id);
    assert_eq!(
        grown["properties"]["version"].as_i64().unwrap(),
        neighbour["properties"]["version"].as_i64().unwrap() + 1
    );
}

/// Communities and street offices carry an ETag (a hash of what is stored) on reads and
/// writes; a replace with a stale If-Match is refused with 412 and changes nothing.
#[test]
fn community_and_street_office_replaces_check_if_match() {
    let (_dir, server) = common::demo();
    for collection in ["communities", "street_offices"] {
        let all = common::all_features(&server, &format!("/collections/{collection}/items"));
        let f = &all[0];
        let id = f["id"].as_i64().unwrap();
        let path = format!("/collections/{collection}/items/{id}");
        let r = reqwest::blocking::get(server.url(&path)).unwrap();
        let tag = r.headers()["etag"].to_str().unwrap().to_owned();
        let mut props = f["properties"].as_object().unwrap().clone();
        props.retain(|k, _| {
            ["code", "name", "street_office_id", "street_office_code"].contains(&k.as_str())
        });
        let body = |name: &str| {
            let mut p = props.clone();
            p.insert("name".into(), json!(name));
            json!({"type": "Feature", "geometry": f["geometry"], "properties": p})
        };
        let (status, renamed_tag, saved) = request(
            &server,
            reqwest::Method::PUT,
            &path,
            Some(&body("改名一")),
            Some(&tag),
        );
        assert_eq!(status, 200, "{collection}: {saved}");
        let renamed_tag = renamed_tag.expect("a replace answers with the ETag");
        assert_ne!(
            renamed_tag, tag,
            "{collection}: the ETag follows the content"
        );
        // The first ETag is stale now.
        let before = store_bytes(&server.db);
        let (status, _, refused) = request(
            &server,
            reqwest::Method::PUT,
            &path,
            Some(&body("改名二")),
            Some(&tag),
        );
        assert_eq!(status, 412, "{collection}: {refused}");
        assert_eq!(refused["error"], "version_mismatch");
        assert!(
            store_bytes(&server.db) == before,
            "{collection}: a refused write changed the store"
        );
        assert_eq!(server.get(&path).1["properties"]["name"], "改名一");
        let (status, _, _) = request(
            &server,
            reqwest::Method::PUT,
            &path,
            Some(&body("改名三")),
            Some(&renamed_tag),
        );
        assert_eq!(status, 200, "{collection}");
    }
}

/// Circle definitions carry an ETag too; a PUT based on a stale one is refused with 412.
#[test]
fn circle_definitions_check_if_match() {
    let (_dir, server) = common::demo();
    let r = reqwest::blocking::get(server.url("/circles/health")).unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let tag = r.headers()["etag"].to_str().unwrap().to_owned();
    let def = |minutes: u32| json!({"name": "健康", "kinds": ["clinic", "hospital", "pharmacy"], "minutes": minutes});
    let (status, changed, body) = request(
        &server,
        reqwest::Method::PUT,
        "/circles/health",
        Some(&def(12)),
        Some(&tag),
    );
    assert_eq!(status, 200, "{body}");
    let changed = changed.expect("a PUT answers with the ETag");
    assert_ne!(changed, tag);
    let before = store_bytes(&server.db);
    let (status, _, refused) = request(
        &server,
        reqwest::Method::PUT,
        "/circles/health",
        Some(&def(14)),
        Some(&tag),
    );
    assert_eq!(status, 412, "{refused}");
    assert!(
        store_bytes(&server.db) == before,
        "a refused PUT changed the store"
    );
    assert_eq!(server.get("/circles/health").1["minutes"], 12.0);
    let (status, _, _) = request(
        &server,
        reqwest::Method::PUT,
        "/circles/health",
        Some(&def(14)),
        Some(&changed),
    );
    assert_eq!(status, 200);
}
