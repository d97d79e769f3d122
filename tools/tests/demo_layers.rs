//! The committed demo layers are what the project's own tool (`gridcircle-tools demo-layers`)
//! draws from the real Nanjing data, are all marked demo, and make a sensible grid map.

use std::path::{Path, PathBuf};
use std::process::Command;

use geo::{Area, BooleanOps, MultiPolygon};
use gridcircle::config::{HouseholdEstimate, default_timezone};
use gridcircle::import::read_osm_pbf;
use gridcircle::model::KindCatalogue;
use gridcircle::store::Store;
use serde_json::Value;

/// The repository root (this package is its `tools/` folder).
fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(dir: &Path, name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join(format!("{name}.geojson"))).unwrap())
        .unwrap()
}

fn polygon(f: &Value) -> geo::Polygon<f64> {
    let g: geojson::Geometry = serde_json::from_value(f["geometry"].clone()).unwrap();
    g.try_into().unwrap()
}

/// Imports an OSM extract into a new GeoPackage at `db` as `gridcircle import FILE --db DB`
/// does with its defaults (household estimate, time zone).
fn import_osm(osm: &Path, db: &Path) {
    let import = read_osm_pbf(
        osm,
        &KindCatalogue::bundled(),
        &HouseholdEstimate::default(),
        false,
    )
    .unwrap();
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = Store::open(db.to_str().unwrap()).await.unwrap();
        store
            .write_osm_import(&import, default_timezone())
            .await
            .unwrap();
        store.close().await;
    });
}

#[test]
fn committed_demo_layers_are_reproducible_from_the_real_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nj.gpkg");
    import_osm(
        &repo().join("../shared/data/nanjing-xinjiekou.osm.pbf"),
        &db,
    );
    let bin = env!("CARGO_BIN_EXE_gridcircle-tools");
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
        let committed = read(&repo().join("data/demo"), name);
        assert_eq!(
            drawn, committed,
            "data/demo/{name}.geojson differs from what `gridcircle-tools demo-layers` draws now"
        );
        let file = format!("{name}.geojson");
        assert!(
            std::fs::read(out.join(&file)).unwrap()
                == std::fs::read(repo().join("data/demo").join(&file)).unwrap(),
            "data/demo/{file} holds the same features but not the bytes the drawer writes"
        );
    }
}

#[test]
fn demo_layers_are_marked_and_grids_tile_their_communities() {
    let demo = repo().join("data/demo");
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
