//! The committed demo layers are what the project's own tool draws from the real Nanjing data,
//! are all marked demo, and make a sensible grid map.

mod common;

use std::process::Command;

use geo::{Area, BooleanOps, MultiPolygon};
use serde_json::Value;

fn read(dir: &std::path::Path, name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.geojson"))).unwrap())
        .unwrap()
}

fn polygon(f: &Value) -> geo::Polygon<f64> {
    let g: geojson::Geometry = serde_json::from_value(f["geometry"].clone()).unwrap();
    g.try_into().unwrap()
}

#[test]
fn committed_demo_layers_are_reproducible_from_the_real_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nj.gpkg");
    let bin = env!("CARGO_BIN_EXE_gridcircle");
    let osm = common::shared_data("nanjing-xinjiekou.osm.pbf");
    assert!(
        Command::new(bin)
            .args([
                "import",
                osm.to_str().unwrap(),
                "--db",
                db.to_str().unwrap()
            ])
            .status()
            .unwrap()
            .success()
    );
    let out = dir.path().join("demo");
    assert!(
        Command::new(bin)
            .args([
                "demo-layers",
                "--db",
                db.to_str().unwrap(),
                "--out",
                out.to_str().unwrap()
            ])
            .status()
            .unwrap()
            .success()
    );
    for name in ["street_offices", "communities", "grids", "facilities"] {
        let drawn = read(&out, name);
        let committed = read(&common::repo().join("data/demo"), name);
        assert_eq!(
            drawn, committed,
            "data/demo/{name}.geojson differs from what `gridcircle demo-layers` draws now"
        );
    }
}

#[test]
fn demo_layers_are_marked_and_grids_tile_their_communities() {
    let demo = common::repo().join("data/demo");
    let offices = read(&demo, "street_offices");
    let communities = read(&demo, "communities");
    let grids = read(&demo, "grids");
    let facilities = read(&demo, "facilities");
    for layer in [&offices, &communities, &grids, &facilities] {
        for f in layer["features"].as_array().unwrap() {
            assert_eq!(f["properties"]["demo"], true, "every demo record says so");
        }
    }
    assert_eq!(offices["features"].as_array().unwrap().len(), 1);
    let communities = communities["features"].as_array().unwrap();
    assert!((2..=3).contains(&communities.len()));
    let grids = grids["features"].as_array().unwrap();
    let mut households = Vec::new();
    for c in communities {
        let code = c["properties"]["code"].as_str().unwrap();
        let cpoly = polygon(c);
        let mine: Vec<&Value> = grids
            .iter()
            .filter(|g| g["properties"]["community_code"] == code)
            .collect();
        assert!(!mine.is_empty());
        let union = mine
            .iter()
            .fold(MultiPolygon::<f64>(vec![]), |acc, g| acc.union(&polygon(g)));
        let sum: f64 = mine.iter().map(|g| polygon(g).unsigned_area()).sum();
        assert!(
            (union.unsigned_area() - cpoly.unsigned_area()).abs() / cpoly.unsigned_area() < 1e-6,
            "grids tile community {code}"
        );
        assert!(
            (sum - union.unsigned_area()).abs() / sum < 1e-6,
            "grids of {code} do not overlap"
        );
        for g in &mine {
            assert!(g["properties"]["code"].as_str().unwrap().starts_with(code));
            households.push(g["properties"]["households_at_drawing"].as_u64().unwrap());
        }
    }
    let near_target = households
        .iter()
        .filter(|&&h| (200..=600).contains(&h))
        .count();
    eprintln!("households per demo grid: {households:?}");
    assert!(
        near_target * 10 >= households.len() * 8,
        "most grids hold 200-600 households: {households:?}"
    );
    // Shared facilities of the kinds residents and workers look for.
    let kinds: std::collections::BTreeSet<&str> = facilities["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["kind"].as_str().unwrap())
        .collect();
    for k in ["reading_room", "toilet", "drinking_water", "parking"] {
        assert!(kinds.contains(k), "demo shares a {k}");
    }
}
