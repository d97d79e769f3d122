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
