//! Walking coverage, nearest by walking, isochrones and circles over HTTP, on the real Nanjing
//! demo data through the real binary.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::{Server, all_features, demo, extent, point_of, rng};
use geo::{Area, BooleanOps, Distance, Haversine, Length, Point};
use rand::Rng;
use serde_json::{Value, json};

fn multipolygon(f: &Value) -> geo::MultiPolygon<f64> {
    let g: geojson::Geometry = serde_json::from_value(f["geometry"].clone()).unwrap();
    match geo::Geometry::<f64>::try_from(g).unwrap() {
        geo::Geometry::MultiPolygon(m) => m,
        geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
        other => panic!("not a polygon: {other:?}"),
    }
}

fn ok(server: &Server, path: &str) -> Value {
    let (status, body) = server.get(path);
    assert_eq!(status, 200, "{path}: {body}");
    body
}

#[test]
fn coverage_reports_add_up_and_uncovered_buildings_are_really_far() {
    let (_dir, server) = demo();
    for circle in [
        "government",
        "daily_life",
        "health",
        "culture_sports",
        "safety",
        "健康",
    ] {
        let r = ok(&server, &format!("/coverage?circle={circle}"));
        let s = &r["summary"];
        let budget = r["metres"].as_f64().unwrap();
        assert_eq!(budget, 750.0);
        let uncovered = r["uncovered"]["features"].as_array().unwrap();
        assert_eq!(
            s["buildings_uncovered"].as_u64().unwrap() as usize,
            uncovered.len()
        );
        assert_eq!(
            s["buildings"].as_u64().unwrap(),
            1277,
            "every building is considered"
        );
        let households: u64 = uncovered
            .iter()
            .map(|f| f["properties"]["households"].as_u64().unwrap())
            .sum();
        assert_eq!(households, s["households_uncovered"].as_u64().unwrap());
        for f in uncovered {
            let p = &f["properties"];
            match p["reason"].as_str().unwrap() {
                "too_far" => assert!(p["nearest"]["metres"].as_f64().unwrap() > budget, "{p}"),
                "not_connected" => assert!(p["nearest"].is_null()),
                other => panic!("unexpected reason {other} without `at`"),
            }
        }
        // The per-grid breakdown adds up to the summary.
        let rows = r["breakdown"].as_array().unwrap();
        let sum: u64 = rows
            .iter()
            .map(|g| g["households_uncovered"].as_u64().unwrap())
            .sum();
        assert_eq!(sum, s["households_uncovered"].as_u64().unwrap());
        let pct = s["coverage_pct"].as_f64().unwrap();
        assert!((0.0..=100.0).contains(&pct));
    }
}

#[test]
fn radius_mode_agrees_with_brute_force() {
    let (_dir, server) = demo();
    let circle = ok(&server, "/circles/daily_life");
    let kinds: BTreeSet<String> = circle["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    let facilities: Vec<Point<f64>> =
        all_features(&server, "/collections/facilities/items?limit=10000")
            .iter()
            .filter(|f| kinds.contains(f["properties"]["kind"].as_str().unwrap()))
            .map(point_of)
            .collect();
    let buildings = all_features(&server, "/collections/buildings/items?limit=10000");
    for minutes in [3.0, 5.0, 10.0] {
        let r = ok(
            &server,
            &format!("/coverage?circle=daily_life&mode=radius&minutes={minutes}"),
        );
        let radius = minutes * 75.0;
        let uncovered: BTreeSet<i64> = r["uncovered"]["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_i64().unwrap())
            .collect();
        let mut brute = BTreeSet::new();
        for b in &buildings {
            let p = b["properties"]["point"].as_array().unwrap();
            let p = Point::new(p[0].as_f64().unwrap(), p[1].as_f64().unwrap());
            let d = facilities
                .iter()
                .map(|f| Haversine.distance(p, *f))
                .fold(f64::MAX, f64::min);
            if d > radius {
                brute.insert(b["id"].as_i64().unwrap());
            }
        }
        assert_eq!(uncovered, brute, "radius {radius} m");
    }
    // compare=radius lists exactly the buildings radius covers and walking does not.
    let walk = ok(&server, "/coverage?circle=daily_life&compare=radius");
    let radius = ok(&server, "/coverage?circle=daily_life&mode=radius");
    let ids = |v: &Value| -> BTreeSet<i64> {
        v["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_i64().unwrap())
            .collect()
    };
    let expected: BTreeSet<i64> = ids(&walk["uncovered"])
        .difference(&ids(&radius["uncovered"]))
        .copied()
        .collect();
    assert_eq!(
        ids(&walk["compare"]["covered_by_radius_not_by_walking"]),
        expected
    );
    assert!(
        !expected.is_empty(),
        "in a real city, some buildings are near as the crow flies but far on foot"
    );
}

#[test]
fn opening_hours_at_an_instant_change_coverage() {
    let (_dir, server) = demo();
    // A circle of one kind, and one facility of it with real hours.
    let (status, body) = server.send(
        "PUT",
        "/circles/canteens",
        json!({"name": "食堂圈", "kinds": ["canteen"], "minutes": 10}).to_string(),
    );
    assert_eq!(status, 200, "{body}");
    let f = json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [118.7784, 32.0416]},
        "properties": {"kind": "canteen", "name": "社区食堂", "opening_hours": "Mo-Fr 10:30-13:30,16:30-19:00; PH off"}});
    let (status, body) = server.send("POST", "/collections/facilities/items", f.to_string());
    assert_eq!(status, 201, "{body}");
    let lunch = ok(
        &server,
        "/coverage?circle=canteens&at=2026-11-23T11:00:00%2B08:00",
    );
    let night = ok(
        &server,
        "/coverage?circle=canteens&at=2026-11-23T22:00:00%2B08:00",
    );
    let holiday = ok(
        &server,
        "/coverage?circle=canteens&at=2026-10-01T11:00:00%2B08:00",
    );
    assert_eq!(lunch["facilities_counted"], 1);
    assert!(lunch["summary"]["buildings_covered"].as_u64().unwrap() > 0);
    for closed in [&night, &holiday] {
        assert_eq!(closed["facilities_counted"], 0);
        assert_eq!(closed["summary"]["buildings_covered"], 0);
        assert!(
            closed["uncovered"]["features"]
                .as_array()
                .unwrap()
                .iter()
                .all(|f| f["properties"]["reason"] == "no_facility_open")
        );
    }
    // Real hours: the number of facilities counted at an instant is the number of the
    // circle's facilities open then, by the opening_hours crate evaluated here on the raw strings.
    let def = ok(&server, "/circles/culture_sports");
    let kinds: BTreeSet<&str> = def["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    let facilities = all_features(&server, "/collections/facilities/items?limit=10000");
    let mut counts = Vec::new();
    for (at, naive) in [
        ("2026-11-23T10:00:00%2B08:00", (23, 10)),
        ("2026-11-22T10:00:00%2B08:00", (22, 10)),
        ("2026-11-23T19:00:00%2B08:00", (23, 19)),
    ] {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 11, naive.0)
            .unwrap()
            .and_hms_opt(naive.1, 0, 0)
            .unwrap();
        let open = facilities
            .iter()
            .filter(|f| kinds.contains(f["properties"]["kind"].as_str().unwrap()))
            .filter(|f| {
                f["properties"]["opening_hours"]
                    .as_str()
                    .is_some_and(|h| h.parse::<opening_hours::OpeningHours>().unwrap().is_open(t))
            })
            .count();
        let r = ok(&server, &format!("/coverage?circle=culture_sports&at={at}"));
        assert_eq!(
            r["facilities_counted"].as_u64().unwrap() as usize,
            open,
            "at {at}"
        );
        counts.push((open, r["summary"]["households_covered"].as_u64().unwrap()));
    }
    assert!(
        counts.windows(2).any(|w| w[0] != w[1]),
        "opening hours change the answer: {counts:?}"
    );
}

#[test]
fn nearest_by_walking_gives_sorted_reachable_facilities_with_routes() {
    let (_dir, server) = demo();
    let [w, s, e, n] = extent(&server);
    let mut rng = rng(11);
    let mut answered = 0;
    for _ in 0..100 {
        let (lon, lat) = (rng.random_range(w..e), rng.random_range(s..n));
        let (status, body) = server.get(&format!(
            "/nearest?lon={lon}&lat={lat}&kind=toilet&k=3&mode=walk"
        ));
        if status == 422 {
            assert_eq!(body["error"], "not_reachable");
            continue;
        }
        assert_eq!(status, 200, "{body}");
        answered += 1;
        let results = body["results"].as_array().unwrap();
        assert_eq!(results.len(), 3);
        let mut last = 0.0;
        for r in results {
            let d = r["distance_m"].as_f64().unwrap();
            assert!(d >= last, "sorted by walking distance");
            last = d;
            let facility = point_of(&r["facility"]);
            let crow = Haversine.distance(Point::new(lon, lat), facility);
            assert!(
                d + 0.1 >= crow,
                "walking {d} m is never shorter than crow-fly {crow} m"
            );
            let line: geo::LineString<f64> = {
                let g: geojson::Geometry =
                    serde_json::from_value(r["route"]["geometry"].clone()).unwrap();
                g.try_into().unwrap()
            };
            assert!(
                (Haversine.length(&line) - d).abs() < 1.0,
                "route length {} vs distance {d}",
                Haversine.length(&line)
            );
            let first = line.0.first().unwrap();
            let last_c = line.0.last().unwrap();
            assert!(
                (first.x - lon).abs() < 1e-9 && (first.y - lat).abs() < 1e-9,
                "the route starts at the query point"
            );
            assert!(
                (last_c.x - facility.x()).abs() < 1e-9 && (last_c.y - facility.y()).abs() < 1e-9,
                "and ends at the facility"
            );
            assert!((r["minutes"].as_f64().unwrap() - d / 75.0).abs() < 0.06);
        }
    }
    assert!(
        answered > 80,
        "most points in the city are reachable: {answered}"
    );
}

#[test]
fn isochrones_nest_and_circles_covering_agree_with_network_distances() {
    let (_dir, server) = demo();
    let iso = ok(
        &server,
        "/isochrone?lon=118.7784&lat=32.0416&minutes=5,10,15",
    );
    let polys: Vec<geo::MultiPolygon<f64>> = iso["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(multipolygon)
        .collect();
    assert_eq!(polys.len(), 3);
    for pair in polys.windows(2) {
        let outside = pair[0].difference(&pair[1]).unsigned_area();
        assert!(outside < pair[0].unsigned_area() * 1e-6, "contours nest");
        assert!(pair[1].unsigned_area() > pair[0].unsigned_area());
    }
    let radius = ok(
        &server,
        "/isochrone?lon=118.7784&lat=32.0416&minutes=10&mode=radius",
    );
    let circle = multipolygon(&radius["features"][0]);
    let area_m2 = geo::ChamberlainDuquetteArea::chamberlain_duquette_unsigned_area(&circle);
    assert!(
        (area_m2 / (std::f64::consts::PI * 750.0 * 750.0) - 1.0).abs() < 0.01,
        "a 750 m circle"
    );

    // covering: every listed facility is within the budget plus the walkable band on both
    // sides; every facility whose walk (from where the point joins the network) is within the
    // budget, from a point within the band of its street, is listed.
    let band = 40.0;
    let mut rng = rng(5);
    let mut checked = 0;
    let mut band_effects = 0;
    for _ in 0..40 {
        let (lon, lat) = (
            rng.random_range(118.770..118.790),
            rng.random_range(32.035..32.050),
        );
        let cov = ok(&server, &format!("/circles/covering?lon={lon}&lat={lat}"));
        if cov["reachable"] == false {
            continue;
        }
        for c in cov["circles"].as_array().unwrap() {
            let budget = c["minutes"].as_f64().unwrap() * 75.0;
            let listed: BTreeMap<i64, f64> = c["facilities"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|f| Some((f["facility_id"].as_i64()?, f["metres"].as_f64()?)))
                .collect();
            for (id, metres) in &listed {
                // A circle is the reached streets widened by the band: nothing in it is farther
                // than budget + band as the crow flies from its facility.
                let f = ok(&server, &format!("/collections/facilities/items/{id}"));
                let crow = Haversine.distance(Point::new(lon, lat), point_of(&f));
                assert!(
                    crow <= budget + band + 1.0,
                    "facility {id} listed {crow} m away for a {budget} m circle"
                );
                if *metres > budget + 2.0 * band {
                    // Inside the band of a reached street, but joined to another street: the
                    // band's known blur (a point between two parallel streets).
                    band_effects += 1;
                }
            }
            let def = ok(
                &server,
                &format!("/circles/{}", c["circle"].as_str().unwrap()),
            );
            for kind in def["kinds"].as_array().unwrap() {
                let near = ok(
                    &server,
                    &format!(
                        "/nearest?lon={lon}&lat={lat}&kind={}&k=20&mode=walk",
                        kind.as_str().unwrap()
                    ),
                );
                for r in near["results"].as_array().unwrap() {
                    let route = r["route"]["geometry"]["coordinates"].as_array().unwrap();
                    let at = |i: usize| {
                        Point::new(route[i][0].as_f64().unwrap(), route[i][1].as_f64().unwrap())
                    };
                    // The route's first leg is the query point's connector to its street.
                    let connector = if route.len() > 1 {
                        Haversine.distance(at(0), at(1))
                    } else {
                        0.0
                    };
                    let on_network = r["distance_m"].as_f64().unwrap() - connector;
                    if connector < band - 1.0 && on_network < budget - 1.0 {
                        let id = r["facility"]["id"].as_i64().unwrap();
                        checked += 1;
                        assert!(
                            listed.contains_key(&id),
                            "facility {id}: {on_network} m on the network, point {connector} m from it, inside the {budget} m circle"
                        );
                    }
                }
            }
        }
    }
    assert!(checked > 20, "enough facilities were checked: {checked}");
    eprintln!(
        "circles/covering: {checked} facilities checked; {band_effects} listed through the band of a street the point does not join"
    );
}

#[test]
fn circle_definitions_and_facility_circles_persist() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.gpkg");
    let server = Server::demo(&db);
    let (status, _) = server.send(
        "PUT",
        "/circles/health",
        json!({"name": "健康", "kinds": ["clinic", "hospital"], "minutes": 12, "speed_kmh": 4.0})
            .to_string(),
    );
    assert_eq!(status, 200);
    let facility = all_features(&server, "/collections/facilities/items?limit=10000")
        .into_iter()
        .find(|f| f["properties"]["kind"] == "hospital")
        .unwrap();
    let id = facility["id"].as_i64().unwrap();
    let before = ok(&server, &format!("/facilities/{id}/circle?circle=health"));
    server.kill();
    let server = Server::serve(&db, &[]);
    let def = ok(&server, "/circles/health");
    assert_eq!(def["minutes"], 12.0);
    assert_eq!(def["metres"], 800.0);
    assert_eq!(
        ok(&server, &format!("/facilities/{id}/circle?circle=health")),
        before
    );
    // The stored layer is a GeoPackage layer GDAL reads: one circle per facility and circle it serves.
    // On PostgreSQL the same layer is a PostGIS table, read by GDAL's PG driver.
    let source = if common::postgres_backend() {
        format!(
            "PG:dbname={} host=127.0.0.1 user=postgres",
            common::pg_database(&db)
        )
    } else {
        db.to_str().unwrap().to_owned()
    };
    let out = std::process::Command::new("ogrinfo")
        .args(["-ro", "-so", source.as_str(), "facility_circles"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let count: usize = text
        .lines()
        .find_map(|l| l.strip_prefix("Feature Count: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(count > 50, "{text}");
}

#[test]
fn bad_walking_queries_get_json_errors() {
    let (_dir, server) = demo();
    let cases = [
        (
            "/coverage?circle=health&minutes=0",
            422,
            "out_of_range",
            "minutes",
        ),
        (
            "/coverage?circle=health&minutes=-5",
            422,
            "out_of_range",
            "minutes",
        ),
        (
            "/coverage?circle=health&minutes=100000",
            422,
            "out_of_range",
            "minutes",
        ),
        ("/coverage?circle=nothing", 422, "unknown_circle", "circle"),
        (
            "/coverage?circle=health&mode=fly",
            422,
            "unknown_mode",
            "mode",
        ),
        (
            "/coverage?circle=health&within=grid:999999",
            422,
            "unknown_area",
            "within",
        ),
        (
            "/coverage?circle=health&at=yesterday",
            400,
            "bad_instant",
            "at",
        ),
        ("/isochrone?lon=190&lat=32", 422, "out_of_range", "lon"),
        (
            "/isochrone?lon=118.78&lat=32.04&minutes=0",
            422,
            "out_of_range",
            "minutes",
        ),
        (
            "/isochrone?lon=118.78&lat=32.04&minutes=10&speed=80",
            422,
            "out_of_range",
            "speed",
        ),
        // 5 km east of the data: no street within reach.
        (
            "/isochrone?lon=118.86&lat=32.04",
            422,
            "not_reachable",
            "lon",
        ),
        (
            "/nearest?lon=118.86&lat=32.04&kind=toilet&mode=walk",
            422,
            "not_reachable",
            "lon",
        ),
        ("/facilities/99999999/circle", 404, "not_found", ""),
        (
            "/circles/covering?lon=118.78",
            400,
            "missing_parameter",
            "lat",
        ),
    ];
    for (path, status, code, field) in cases {
        let (got, body) = server.get(path);
        assert_eq!(got, status, "{path}: {body}");
        assert_eq!(body["error"], code, "{path}: {body}");
        if !field.is_empty() {
            assert_eq!(body["field"], field, "{path}: {body}");
        }
    }
    let (status, body) = server.send(
        "PUT",
        "/circles/health",
        json!({"name": "健康", "kinds": ["clinic"], "minutes": 0}).to_string(),
    );
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("minutes")),
        "{body}"
    );
}
