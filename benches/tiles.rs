//! Vector tiles cut from the snapshot (`GET /tiles/{layer}/{z}/{x}/{y}.mvt` without its cache):
//! the buildings and roads tile over the densest part of the city at each zoom the web map
//! requests them, on Porto tiled 3×3 by `gridcircle_tools::synth` (about 102,600 buildings:
//! tiled copies of real Porto, not a real city) — the "city of 100,000+ buildings" the page must
//! stay smooth on. Run: `cargo bench --bench tiles`.

use std::path::PathBuf;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use gridcircle::config::HouseholdEstimate;
use gridcircle::http::tiles::{TileId, build_tile};
use gridcircle::import::read_osm_pbf;
use gridcircle::model::KindCatalogue;
use gridcircle::readmodel::Snapshot;
use gridcircle::store::Dataset;

/// The tile of zoom `z` holding (lon, lat) (Web Mercator, as slippy maps number them).
fn tile_at(lon: f64, lat: f64, z: u8) -> TileId {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
    let r = lat.to_radians();
    let y =
        ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor() as u32;
    TileId { z, x, y }
}

fn bench(c: &mut Criterion) {
    let catalogue = Arc::new(KindCatalogue::bundled());
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/porto.osm.pbf");
    let porto =
        read_osm_pbf(&path, &catalogue, &HouseholdEstimate::default(), false).expect("import");
    let tiled = gridcircle_tools::synth::tile_import(
        &porto,
        &gridcircle_tools::synth::Tiling::plan(&porto, 3),
        &HouseholdEstimate::default(),
    );
    let mut data = Dataset {
        buildings: tiled.buildings,
        facilities: tiled.facilities,
        ways: tiled.ways,
        ..Dataset::default()
    };
    for (i, b) in data.buildings.iter_mut().enumerate() {
        b.id = i as i64 + 1;
    }
    for (i, f) in data.facilities.iter_mut().enumerate() {
        f.id = i as i64 + 1;
    }
    let buildings = data.buildings.len();
    let s = Snapshot::build(data, catalogue);
    // The densest spot: the building point with the most buildings within ~200 m (sampled).
    let points: Vec<(f64, f64)> = s
        .buildings
        .layer
        .items()
        .iter()
        .map(|b| (b.point.lon(), b.point.lat()))
        .collect();
    let (lon, lat) = points
        .iter()
        .step_by(997)
        .max_by_key(|(x, y)| {
            points
                .iter()
                .filter(|(a, b)| (a - x).abs() < 0.0025 && (b - y).abs() < 0.0018)
                .count()
        })
        .copied()
        .expect("buildings");
    eprintln!("porto_3x3: {buildings} buildings; densest spot {lon:.5},{lat:.5}");
    for (layer, zooms) in [
        ("buildings", &[13u8, 14, 15, 16][..]),
        ("roads", &[11, 13, 16][..]),
    ] {
        for &z in zooms {
            let tile = tile_at(lon, lat, z);
            let bytes = build_tile(&s, layer, tile).len();
            eprintln!("{layer} z{z}: {bytes} bytes");
            c.bench_function(&format!("porto_3x3/tile_{layer}_z{z}"), |b| {
                b.iter(|| build_tile(&s, layer, tile).len())
            });
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench
}
criterion_main!(benches);
