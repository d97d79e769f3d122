//! Opening-hours evaluation is bounded (issue "One write path and one store", section 4): on the
//! real Nanjing demo data through the real binary, six facilities open around the clock
//! (`Mo-Su 00:00-24:00`, a common OSM value) written by an organisation no longer make
//! `/nearest` take seconds or `/health` stop answering, and a write whose hours would cost too
//! much to evaluate is refused.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{Server, store_bytes, token};
use serde_json::{Value, json};

/// A liveness bound, not a benchmark: the unbounded search took about a second per 24/7
/// facility in a release build (ten in a debug one), so six made `/nearest` take 26 s.
const LIVENESS: Duration = Duration::from_secs(2);

/// The cluster's centre, in Xinjiekou, and the offsets of the six facilities (about 10 m).
const CENTRE: (f64, f64) = (118.7836, 32.0412);
const OFFSETS: [(f64, f64); 6] = [
    (0.0001, 0.0),
    (-0.0001, 0.0),
    (0.0, 0.0001),
    (0.0, -0.0001),
    (0.0001, 0.0001),
    (-0.0001, -0.0001),
];

fn toilet(owner: &str, i: usize, hours: &str) -> String {
    let (dx, dy) = OFFSETS[i % OFFSETS.len()];
    json!({ "type": "Feature",
            "geometry": { "type": "Point", "coordinates": [CENTRE.0 + dx, CENTRE.1 + dy] },
            "properties": { "kind": "toilet", "name": format!("全天厕所 {i}"), "owner": owner,
                            "opening_hours": hours, "shared": true } })
    .to_string()
}

/// GET `path`, asserting 200 and the liveness bound; returns the body.
fn timed_get(server: &Server, path: &str) -> Value {
    let started = Instant::now();
    let (status, body) = server.get(path);
    let took = started.elapsed();
    assert_eq!(status, 200, "{path}: {body}");
    assert!(took < LIVENESS, "{path} took {took:?}");
    body
}

/// The open state of a 24/7 facility: open, no next change, and the horizon's end.
fn assert_open_without_change(open: &Value, until: Option<&str>, what: &str) {
    assert_eq!(open["state"], "open", "{what}: {open}");
    assert!(open["next_change"].is_null(), "{what}: {open}");
    match until {
        Some(t) => assert_eq!(open["no_change_until"], t, "{what}: {open}"),
        None => assert!(open["no_change_until"].is_string(), "{what}: {open}"),
    }
}

#[test]
fn six_facilities_open_around_the_clock_answer_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.gpkg");
    let server = Server::demo(&db);
    let org = token(&db, "organisation", Some("某单位"));
    let mut ours = BTreeSet::new();
    for i in 0..6 {
        let (status, body) = server.send_as(
            Some(&org),
            "POST",
            "/collections/facilities/items",
            toilet("某单位", i, "Mo-Su 00:00-24:00"),
        );
        assert_eq!(status, 201, "{body}");
        // The write's own answer evaluates the hours (now) too.
        assert_open_without_change(&body["properties"]["open"], None, "created");
        ours.insert(body["id"].as_i64().unwrap());
    }

    // Monday 2026-11-23 09:30 in Nanjing: the horizon ends 8 days later.
    let at = "2026-11-23T09:30:00%2B08:00";
    let until = "2026-12-01T09:30:00+08:00";
    let (lon, lat) = CENTRE;
    for query in [
        format!("/nearest?lon={lon}&lat={lat}&kind=toilet&k=6&at={at}"),
        format!("/nearest?lon={lon}&lat={lat}&kind=toilet&k=6&open_now=true&at={at}"),
        format!("/nearest?lon={lon}&lat={lat}&kind=toilet&k=6&open_now=true&at={at}&mode=walk"),
    ] {
        let body = timed_get(&server, &query);
        let results = body["results"].as_array().unwrap();
        let ids: BTreeSet<i64> = results
            .iter()
            .map(|r| r["facility"]["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, ours, "{query}: the six are the six nearest toilets");
        for r in results {
            assert_open_without_change(&r["open"], Some(until), &query);
            assert_open_without_change(&r["facility"]["properties"]["open"], Some(until), &query);
            assert_eq!(
                r["facility"]["properties"]["opening_hours"],
                "Mo-Su 00:00-24:00"
            );
        }
    }
    // Without `at` (now): open, and the state holds at least until a time that is given.
    let body = timed_get(
        &server,
        &format!("/nearest?lon={lon}&lat={lat}&kind=toilet&k=6&open_now=true"),
    );
    assert_eq!(body["results"].as_array().unwrap().len(), 6);
    for r in body["results"].as_array().unwrap() {
        assert_open_without_change(&r["open"], None, "now");
    }
    let health = timed_get(&server, "/health");
    assert_eq!(health["status"], "ok");

    // Readers at the same time: /health still answers at once while /nearest is asked from
    // three threads (bounded: 4 requests each).
    std::thread::scope(|scope| {
        let readers: Vec<_> = (0..3)
            .map(|t| {
                let server = &server;
                scope.spawn(move || {
                    for j in 0..4 {
                        let minute = 10 + t * 4 + j;
                        let body = timed_get(
                            server,
                            &format!(
                                "/nearest?lon={lon}&lat={lat}&kind=toilet&k=6&open_now=true\
                                 &at=2026-11-24T08:{minute:02}:00%2B08:00"
                            ),
                        );
                        assert_eq!(body["results"].as_array().unwrap().len(), 6);
                    }
                })
            })
            .collect();
        for _ in 0..3 {
            assert_eq!(timed_get(&server, "/health")["status"], "ok");
        }
        for r in readers {
            r.join().unwrap();
        }
    });

    // One of them read back as a record: the same state.
    let id = ours.first().unwrap();
    let f = timed_get(&server, &format!("/collections/facilities/items/{id}"));
    assert_open_without_change(&f["properties"]["open"], None, "item");
}

#[test]
fn hours_too_complex_to_evaluate_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.gpkg");
    let server = Server::demo(&db);
    let org = token(&db, "organisation", Some("某单位"));
    let before = store_bytes(&db);
    // 150 rules (449 characters): valid syntax, 5,400 evaluation steps over the horizon.
    let vandal = ["Mo"; 150].join(";");
    let (status, body) = server.send_as(
        Some(&org),
        "POST",
        "/collections/facilities/items",
        toilet("某单位", 0, &vandal),
    );
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "opening_hours_too_complex", "{body}");
    assert_eq!(body["field"], "opening_hours", "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("too complex"),
        "{body}"
    );
    assert_eq!(store_bytes(&db), before, "a refused write changes nothing");
    // Replacing a facility's hours with it is refused the same way; real hours are accepted.
    let (status, created) = server.send_as(
        Some(&org),
        "POST",
        "/collections/facilities/items",
        toilet("某单位", 1, "Mo-Fr 08:00-18:00; PH off"),
    );
    assert_eq!(status, 201, "{created}");
    let path = format!("/collections/facilities/items/{}", created["id"]);
    let (status, body) = server.send_as(Some(&org), "PUT", &path, toilet("某单位", 1, &vandal));
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "opening_hours_too_complex", "{body}");
    let (status, kept) = server.get(&path);
    assert_eq!(status, 200);
    assert_eq!(
        kept["properties"]["opening_hours"],
        "Mo-Fr 08:00-18:00; PH off"
    );
}
