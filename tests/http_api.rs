//! The HTTP API on the real Nanjing demo data, through the real binary on loopback.

mod common;

use std::collections::BTreeSet;

use common::{Server, all_features, demo, extent, point_of, rng, store_bytes};
use geo::{Contains, Distance, Haversine, Intersects, Point};
use rand::Rng;
use serde_json::{Value, json};

fn shape_of(f: &Value) -> geo::Geometry<f64> {
    let g: geojson::Geometry = serde_json::from_value(f["geometry"].clone()).unwrap();
    g.try_into().unwrap()
}

#[test]
fn nearest_agrees_with_brute_force_for_1000_random_points() {
    let (_dir, server) = demo();
    let facilities = all_features(&server, "/collections/facilities/items?limit=10000");
    let kinds: Vec<String> = facilities
        .iter()
        .map(|f| f["properties"]["kind"].as_str().unwrap().to_owned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert!(
        kinds.len() >= 5,
        "the demo has facilities of several kinds: {kinds:?}"
    );
    let [w, s, e, n] = extent(&server);
    let mut rng = rng(2026);
    for i in 0..1000 {
        let (lon, lat) = (rng.random_range(w..e), rng.random_range(s..n));
        let kind = &kinds[i % kinds.len()];
        let (status, body) = server.get(&format!("/nearest?lon={lon}&lat={lat}&kind={kind}&k=3"));
        assert_eq!(status, 200, "{body}");
        let mut brute: Vec<(f64, i64)> = facilities
            .iter()
            .filter(|f| f["properties"]["kind"] == kind.as_str())
            .map(|f| {
                (
                    Haversine.distance(Point::new(lon, lat), point_of(f)),
                    f["id"].as_i64().unwrap(),
                )
            })
            .collect();
        brute.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let got: Vec<(f64, i64)> = body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["distance_m"].as_f64().unwrap(),
                    r["facility"]["id"].as_i64().unwrap(),
                )
            })
            .collect();
        assert_eq!(got.len(), brute.len().min(3), "point {i} kind {kind}");
        for (j, ((gd, gid), (bd, bid))) in got.iter().zip(&brute).enumerate() {
            assert!(
                (gd - bd).abs() < 0.06,
                "point {i} kind {kind} rank {j}: {gd} m vs brute force {bd} m"
            );
            // Ids must agree unless two facilities are equally far (a tie).
            if gid != bid {
                assert!(
                    (brute[j].0 - brute.get(j + 1).map_or(f64::MAX, |x| x.0)).abs() < 0.1
                        || (j > 0 && (brute[j].0 - brute[j - 1].0).abs() < 0.1),
                    "point {i}: id {gid} vs {bid}"
                );
            }
        }
    }
}

#[test]
fn nearest_open_now_keeps_only_facilities_open_at_that_instant() {
    let (_dir, server) = demo();
    let facilities = all_features(&server, "/collections/facilities/items?limit=10000");
    let [w, s, e, n] = extent(&server);
    let mut rng = rng(7);
    // Monday 2026-11-23: 03:00 and 12:00 in Nanjing (UTC+8).
    for at in ["2026-11-23T03:00:00%2B08:00", "2026-11-23T12:00:00%2B08:00"] {
        let at_naive = chrono::NaiveDate::from_ymd_opt(2026, 11, 23)
            .unwrap()
            .and_hms_opt(if at.contains("T03") { 3 } else { 12 }, 0, 0)
            .unwrap();
        for _ in 0..100 {
            let (lon, lat) = (rng.random_range(w..e), rng.random_range(s..n));
            for kind in ["toilet", "reading_room", "parking"] {
                let (status, body) = server.get(&format!(
                    "/nearest?lon={lon}&lat={lat}&kind={kind}&k=2&open_now=true&at={at}"
                ));
                assert_eq!(status, 200, "{body}");
                // Brute force with the opening-hours crate on the raw strings.
                let mut brute: Vec<(f64, i64)> = facilities
                    .iter()
                    .filter(|f| f["properties"]["kind"] == kind)
                    .filter(|f| {
                        f["properties"]["opening_hours"]
                            .as_str()
                            .is_some_and(|raw| {
                                raw.parse::<opening_hours::OpeningHours>()
                                    .unwrap()
                                    .is_open(at_naive)
                            })
                    })
                    .map(|f| {
                        (
                            Haversine.distance(Point::new(lon, lat), point_of(f)),
                            f["id"].as_i64().unwrap(),
                        )
                    })
                    .collect();
                brute.sort_by(|a, b| a.partial_cmp(b).unwrap());
                let got: Vec<i64> = body["results"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r["facility"]["id"].as_i64().unwrap())
                    .collect();
                let want: Vec<i64> = brute.iter().take(2).map(|x| x.1).collect();
                assert_eq!(got, want, "{kind} at {at}");
                for r in body["results"].as_array().unwrap() {
                    assert_eq!(r["open"]["state"], "open");
                }
            }
        }
    }
}

#[test]
fn locate_agrees_with_brute_force_point_in_polygon() {
    let (_dir, server) = demo();
    // (layer, [(feature id, geometry)])
    type Layers<'a> = Vec<(&'a str, Vec<(i64, geo::Geometry<f64>)>)>;
    let layers: Layers = ["street_offices", "communities", "grids", "buildings"]
        .into_iter()
        .map(|name| {
            let features = all_features(&server, &format!("/collections/{name}/items?limit=10000"));
            assert!(!features.is_empty(), "{name} is empty");
            (
                name,
                features
                    .iter()
                    .map(|f| (f["id"].as_i64().unwrap(), shape_of(f)))
                    .collect(),
            )
        })
        .collect();
    let [w, s, e, n] = extent(&server);
    let mut rng = rng(42);
    let buildings = &layers[3].1;
    let mut in_building = 0;
    for i in 0..1000 {
        // Half the points inside real buildings (their first vertex nudged in), half random.
        let (lon, lat) = if i % 2 == 0 {
            (rng.random_range(w..e), rng.random_range(s..n))
        } else {
            let (_, shape) = &buildings[rng.random_range(0..buildings.len())];
            let c = geo::InteriorPoint::interior_point(shape).unwrap();
            (c.x(), c.y())
        };
        let p = Point::new(lon, lat);
        let (status, body) = server.get(&format!("/locate?lon={lon}&lat={lat}"));
        assert_eq!(status, 200);
        for (name, features) in &layers {
            let key = match *name {
                "street_offices" => "street_office",
                "communities" => "community",
                "grids" => "grid",
                _ => "building",
            };
            let brute: Option<i64> = features
                .iter()
                .filter(|(_, g)| g.intersects(&p))
                .map(|(id, _)| *id)
                .min();
            let got = body[key]["id"].as_i64();
            assert_eq!(got, brute, "point {i} ({lon}, {lat}) {key}");
            if key == "building" && got.is_some() {
                in_building += 1;
                assert!(
                    features
                        .iter()
                        .any(|(id, g)| Some(*id) == got && (g.contains(&p) || g.intersects(&p)))
                );
            }
        }
    }
    assert!(
        in_building >= 400,
        "most nudged points are in buildings: {in_building}"
    );
}

#[test]
fn paging_returns_every_feature_exactly_once() {
    let (_dir, server) = demo();
    for (path, limit) in [
        ("buildings", 97),
        ("roads", 250),
        ("facilities", 10),
        ("grids", 7),
    ] {
        let (_, first) = server.get(&format!("/collections/{path}/items?limit={limit}"));
        let matched = first["numberMatched"].as_u64().unwrap() as usize;
        let features = all_features(&server, &format!("/collections/{path}/items?limit={limit}"));
        let ids: BTreeSet<i64> = features.iter().map(|f| f["id"].as_i64().unwrap()).collect();
        assert_eq!(features.len(), matched, "{path}: every feature once");
        assert_eq!(ids.len(), matched, "{path}: no duplicates");
        let (_, coll) = server.get(&format!("/collections/{path}"));
        assert_eq!(coll["itemCount"].as_u64().unwrap() as usize, matched);
    }
    // With a bbox: the pages hold exactly the features that intersect it.
    let [w, s, e, n] = extent(&server);
    let bbox = format!(
        "{},{},{},{}",
        w + (e - w) * 0.3,
        s + (n - s) * 0.3,
        w + (e - w) * 0.6,
        s + (n - s) * 0.6
    );
    let features = all_features(
        &server,
        &format!("/collections/buildings/items?limit=50&bbox={bbox}"),
    );
    let all = all_features(&server, "/collections/buildings/items?limit=10000");
    let rect = {
        let v: Vec<f64> = bbox.split(',').map(|x| x.parse().unwrap()).collect();
        geo::Rect::new((v[0], v[1]), (v[2], v[3]))
    };
    let want: BTreeSet<i64> = all
        .iter()
        .filter(|f| shape_of(f).intersects(&rect))
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    let got: Vec<i64> = features.iter().map(|f| f["id"].as_i64().unwrap()).collect();
    assert_eq!(got.len(), want.len());
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), want);
    assert!(!want.is_empty());
}

fn facility_body(lon: f64, lat: f64, name: &str, hours: &str) -> String {
    json!({
        "type": "Feature",
        "geometry": { "type": "Point", "coordinates": [lon, lat] },
        "properties": { "kind": "toilet", "name": name, "owner": "测试单位", "opening_hours": hours, "shared": true },
    })
    .to_string()
}

#[test]
fn writes_survive_a_killed_process() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.gpkg");
    let server = Server::demo(&db);
    let (_, grids) = server.get("/collections/grids/items?limit=1");
    let grid = grids["features"][0].clone();
    let facilities = all_features(&server, "/collections/facilities/items?limit=10000");
    let victim = facilities[0]["id"].as_i64().unwrap();
    let p = point_of(&facilities[1]);

    let (status, created) = server.send(
        "POST",
        "/collections/facilities/items",
        facility_body(p.x(), p.y(), "新厕所", "Mo-Su 08:00-20:00"),
    );
    assert_eq!(status, 201, "{created}");
    let new_id = created["id"].as_i64().unwrap();
    let (status, updated) = server.send(
        "PUT",
        &format!("/collections/facilities/items/{new_id}"),
        facility_body(p.x() + 0.0001, p.y(), "改名厕所", "Mo-Fr 09:00-17:00"),
    );
    assert_eq!(status, 200, "{updated}");
    let (status, _) = server.send(
        "DELETE",
        &format!("/collections/facilities/items/{victim}"),
        "",
    );
    assert_eq!(status, 204);
    // Split a grid in two: it keeps the north half (with a new name and chief), and a new grid
    // takes the south half (grids are topology-checked: a new grid may not overlap it).
    let ring = grid["geometry"]["coordinates"][0].as_array().unwrap();
    let lats: Vec<f64> = ring.iter().map(|p| p[1].as_f64().unwrap()).collect();
    let lons: Vec<f64> = ring.iter().map(|p| p[0].as_f64().unwrap()).collect();
    let (w, e) = (
        lons.iter().copied().fold(f64::MAX, f64::min),
        lons.iter().copied().fold(f64::MIN, f64::max),
    );
    let (s, n) = (
        lats.iter().copied().fold(f64::MAX, f64::min),
        lats.iter().copied().fold(f64::MIN, f64::max),
    );
    let mid = (s + n) / 2.0;
    let half = |s: f64, n: f64| json!({ "type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]] });
    let mut new_grid = json!({ "type": "Feature", "geometry": half(mid, n), "properties": {
        "code": grid["properties"]["code"], "name": "改名网格", "community_id": grid["properties"]["community_id"], "chief_name": "新网格长", "chief_phone": "13900000000" } });
    let gid = grid["id"].as_i64().unwrap();
    let (status, body) = server.send(
        "PUT",
        &format!("/collections/grids/items/{gid}"),
        new_grid.to_string(),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["properties"]["version"], 2);
    assert!(
        body.to_string().find("13900000000").is_none(),
        "phones never appear in public answers"
    );
    // A new grid in the same community with a new code.
    new_grid["properties"]["code"] = json!(format!(
        "{}999",
        &grid["properties"]["code"].as_str().unwrap()[..12]
    ));
    new_grid["properties"]["name"] = json!("新网格");
    new_grid["geometry"] = half(s, mid);
    let (status, body) = server.send("POST", "/collections/grids/items", new_grid.to_string());
    assert_eq!(status, 201, "{body}");
    let new_grid_id = body["id"].as_i64().unwrap();

    server.kill(); // SIGKILL: no shutdown hook, no checkpoint
    let server = Server::serve(&db, &[]);
    let (status, f) = server.get(&format!("/collections/facilities/items/{new_id}"));
    assert_eq!(status, 200);
    assert_eq!(f["properties"]["name"], "改名厕所");
    assert_eq!(f["properties"]["opening_hours"], "Mo-Fr 09:00-17:00");
    assert!((point_of(&f).x() - (p.x() + 0.0001)).abs() < 1e-9);
    assert_eq!(
        server
            .get(&format!("/collections/facilities/items/{victim}"))
            .0,
        404
    );
    let (_, g) = server.get(&format!("/collections/grids/items/{gid}"));
    assert_eq!(g["properties"]["name"], "改名网格");
    assert_eq!(g["properties"]["chief_name"], "新网格长");
    assert_eq!(g["properties"]["version"], 2);
    assert_eq!(
        server
            .get(&format!("/collections/grids/items/{new_grid_id}"))
            .0,
        200
    );
    // Deleting a grid that has buildings hands them (and its area) to a neighbour.
    let (status, _) = server.send(
        "DELETE",
        &format!("/collections/grids/items/{new_grid_id}?reassign_to={gid}"),
        "",
    );
    assert_eq!(status, 204);
    server.kill();
    let server = Server::serve(&db, &[]);
    assert_eq!(
        server
            .get(&format!("/collections/grids/items/{new_grid_id}"))
            .0,
        404
    );
}

#[test]
fn bad_input_gets_a_json_4xx_and_changes_nothing() {
    let (_dir, server) = demo();
    let (_, grids) = server.get("/collections/grids/items?limit=1");
    let grid = &grids["features"][0];
    let community_id = grid["properties"]["community_id"].clone();
    let code = grid["properties"]["code"].as_str().unwrap().to_owned();
    let fresh_code = format!("{}998", &code[..12]);
    let (lon, lat) = (118.78, 32.045);
    let square = |ring: Value| {
        json!({ "type": "Feature", "geometry": { "type": "Polygon", "coordinates": [ring] },
        "properties": { "code": fresh_code, "name": "坏网格", "community_id": community_id } })
        .to_string()
    };
    let facility = |props: Value, geometry: Value| {
        json!({ "type": "Feature", "geometry": geometry, "properties": props }).to_string()
    };
    let pt = json!({ "type": "Point", "coordinates": [lon, lat] });
    let big = "x".repeat(2 << 20);
    // (method, path, body, status, error code, field)
    type Case<'a> = (&'a str, &'a str, String, u16, &'a str, Option<&'a str>);
    let cases: Vec<Case> = vec![
        (
            "POST",
            "/collections/facilities/items",
            "{not json".into(),
            400,
            "malformed_json",
            None,
        ),
        (
            "POST",
            "/collections/facilities/items",
            "[1,2,3]".into(),
            422,
            "not_a_feature",
            Some("type"),
        ),
        (
            "POST",
            "/collections/facilities/items",
            facility(
                json!({"kind": "toilet"}),
                json!({"type": "LineString", "coordinates": [[lon, lat], [lon + 0.001, lat]]}),
            ),
            422,
            "wrong_geometry_type",
            Some("geometry"),
        ),
        (
            "POST",
            "/collections/grids/items",
            facility(
                json!({"code": fresh_code, "name": "x", "community_id": community_id}),
                pt.clone(),
            ),
            422,
            "wrong_geometry_type",
            Some("geometry"),
        ),
        (
            "POST",
            "/collections/grids/items",
            square(json!([
                [lon, lat],
                [lon + 0.002, lat + 0.002],
                [lon + 0.002, lat],
                [lon, lat + 0.002],
                [lon, lat]
            ])),
            422,
            "self_intersection",
            Some("geometry"),
        ),
        (
            "POST",
            "/collections/grids/items",
            square(json!([
                [lon, lat],
                [lon + 0.002, lat],
                [lon + 0.002, lat + 0.002],
                [lon, lat + 0.002]
            ])),
            422,
            "unclosed_ring",
            Some("geometry"),
        ),
        (
            "POST",
            "/collections/facilities/items",
            facility(
                json!({"kind": "toilet"}),
                json!({"type": "Point", "coordinates": [lon, 95.0]}),
            ),
            422,
            "out_of_range",
            Some("lat"),
        ),
        (
            "POST",
            "/collections/facilities/items",
            facility(
                json!({"kind": "toilet"}),
                json!({"type": "Point", "coordinates": [lat, lon]}),
            ),
            422,
            "out_of_range",
            Some("lat"),
        ),
        (
            "POST",
            "/collections/facilities/items",
            facility(
                json!({"kind": "toilet"}),
                json!({"type": "Point", "coordinates": [32.045, 18.78]}),
            ),
            422,
            "outside_service_area",
            Some("geometry"),
        ),
        (
            "POST",
            "/collections/facilities/items",
            facility(json!({"kind": "spaceport"}), pt.clone()),
            422,
            "unknown_kind",
            Some("kind"),
        ),
        (
            "POST",
            "/collections/facilities/items",
            facility(
                json!({"kind": "toilet", "opening_hours": "Mo-Fr 25:00-99:00"}),
                pt.clone(),
            ),
            422,
            "invalid_opening_hours",
            Some("opening_hours"),
        ),
        (
            "POST",
            "/collections/facilities/items",
            facility(json!({"kind": "toilet", "colour": "red"}), pt.clone()),
            422,
            "unknown_property",
            Some("properties.colour"),
        ),
        (
            "POST",
            "/collections/facilities/items",
            facility(
                json!({"kind": "parking", "capacity": 5, "free": 9}),
                pt.clone(),
            ),
            422,
            "out_of_range",
            Some("free"),
        ),
        (
            "POST",
            "/collections/facilities/items",
            facility(json!({"kind": "toilet", "name": big}), pt.clone()),
            413,
            "body_too_large",
            None,
        ),
        (
            "POST",
            "/collections/buildings/items",
            facility(json!({"kind": "toilet"}), pt.clone()),
            405,
            "read_only_collection",
            None,
        ),
        (
            "PUT",
            "/collections/facilities/items/99999999",
            facility(json!({"kind": "toilet"}), pt.clone()),
            404,
            "not_found",
            None,
        ),
        (
            "DELETE",
            "/collections/facilities/items/99999999",
            String::new(),
            404,
            "not_found",
            None,
        ),
        (
            "DELETE",
            "/collections/grids/items/99999999",
            String::new(),
            404,
            "not_found",
            None,
        ),
        (
            "GET",
            "/collections/facilities/items/abc",
            String::new(),
            404,
            "not_found",
            None,
        ),
        (
            "GET",
            "/collections/nowhere/items",
            String::new(),
            404,
            "not_found",
            None,
        ),
        (
            "POST",
            "/collections/grids/items",
            square(json!([
                [lon, lat],
                [lon + 0.002, lat],
                [lon + 0.002, lat + 0.002],
                [lon, lat + 0.002],
                [lon, lat]
            ]))
            .replace(&fresh_code, &code),
            422,
            "topology",
            None,
        ),
        (
            "POST",
            "/collections/grids/items",
            square(json!([
                [lon, lat],
                [lon + 0.002, lat],
                [lon + 0.002, lat + 0.002],
                [lon, lat + 0.002],
                [lon, lat]
            ]))
            .replace(&fresh_code, "123456789012001"),
            422,
            "code_outside_community",
            Some("properties.code"),
        ),
        (
            "GET",
            "/nearest?lon=118.78&lat=32.04&kind=toilet&k=0",
            String::new(),
            422,
            "out_of_range",
            Some("k"),
        ),
        (
            "GET",
            "/nearest?lon=118.78&lat=32.04&kind=nothing",
            String::new(),
            422,
            "unknown_kind",
            Some("kind"),
        ),
        (
            "GET",
            "/nearest?lng=118.78&lat=32.04&kind=toilet",
            String::new(),
            400,
            "unknown_parameter",
            Some("lng"),
        ),
        (
            "GET",
            "/locate?lon=200&lat=32",
            String::new(),
            422,
            "out_of_range",
            Some("lon"),
        ),
        (
            "GET",
            "/collections/buildings/items?limit=0",
            String::new(),
            422,
            "out_of_range",
            Some("limit"),
        ),
        (
            "GET",
            "/collections/buildings/items?bbox=1,2,3",
            String::new(),
            400,
            "bad_bbox",
            Some("bbox"),
        ),
    ];
    // Let start-up writes settle, then fingerprint the store.
    let before = store_bytes(&server.db);
    for (method, path, body, status, code, field) in &cases {
        let (got, answer) = server.send(method, path, body.clone());
        assert_eq!(got, *status, "{method} {path}: {answer}");
        assert_eq!(answer["error"], *code, "{method} {path}: {answer}");
        assert!(
            answer["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{method} {path}: a message"
        );
        if let Some(field) = field {
            assert_eq!(answer["field"], *field, "{method} {path}: {answer}");
        }
    }
    assert!(
        store_bytes(&server.db) == before,
        "the store changed after bad requests"
    );
}
