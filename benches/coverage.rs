//! Service-level walking operations on a snapshot: coverage of one circle over all buildings
//! (uncached: a fresh cache every iteration), one 10-minute isochrone, nearest k = 3 by
//! walking with routes. Run: `cargo bench --bench coverage`.
//!
//! Inputs: the real extracts in ../shared/data (Nanjing, Porto) and Porto tiled 3×3 by the
//! scale generator, `gridcircle_tools::synth` (about 102,600 buildings: tiled copies of real
//! Porto, not a real city).

use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use gridcircle::config::HouseholdEstimate;
use gridcircle::import::{OsmImport, read_osm_pbf};
use gridcircle::model::{KindCatalogue, LonLat, ReachMode};
use gridcircle::readmodel::Snapshot;
use gridcircle::readmodel::coverage::{CoverageCache, evaluate, walking_areas};
use gridcircle::store::Dataset;
use rand::{Rng, SeedableRng};

fn import(file: &str, catalogue: &KindCatalogue) -> OsmImport {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(file);
    read_osm_pbf(&path, catalogue, &HouseholdEstimate::default(), false).expect("import")
}

fn snapshot(import: OsmImport, catalogue: &Arc<KindCatalogue>) -> Snapshot {
    let mut data = Dataset {
        buildings: import.buildings,
        facilities: import.facilities,
        ways: import.ways,
        ..Dataset::default()
    };
    for (i, b) in data.buildings.iter_mut().enumerate() {
        b.id = i as i64 + 1;
    }
    for (i, f) in data.facilities.iter_mut().enumerate() {
        f.id = i as i64 + 1;
    }
    Snapshot::build(data, catalogue.clone())
}

fn bench(c: &mut Criterion) {
    let catalogue = Arc::new(KindCatalogue::bundled());
    let porto = import("porto.osm.pbf", &catalogue);
    let tiled = gridcircle_tools::synth::tile_import(
        &porto,
        &gridcircle_tools::synth::Tiling::plan(&porto, 3),
        &HouseholdEstimate::default(),
    );
    let cities = [
        ("nanjing", import("nanjing-xinjiekou.osm.pbf", &catalogue)),
        ("porto", porto),
        ("porto_3x3", tiled),
    ];
    for (city, data) in cities {
        let buildings = data.buildings.len();
        let s = snapshot(data, &catalogue);
        eprintln!(
            "{city}: {buildings} buildings, {} graph nodes, {} edges",
            s.walk.network.graph().node_count(),
            s.walk.network.graph().edge_count()
        );
        let circle = s.circle("daily_life").unwrap().clone();
        c.bench_function(
            &format!("{city}/coverage_walk_daily_life_all_buildings"),
            |b| {
                b.iter(|| {
                    let fresh = Snapshot {
                        coverage_cache: Arc::new(CoverageCache::default()),
                        ..s.clone()
                    };
                    evaluate(&fresh, &circle, 10.0, ReachMode::Walk, None)
                        .buildings
                        .len()
                })
            },
        );
        c.bench_function(
            &format!("{city}/coverage_radius_daily_life_all_buildings"),
            |b| {
                b.iter(|| {
                    let fresh = Snapshot {
                        coverage_cache: Arc::new(CoverageCache::default()),
                        ..s.clone()
                    };
                    evaluate(&fresh, &circle, 10.0, ReachMode::Radius, None)
                        .buildings
                        .len()
                })
            },
        );
        let e = s.extent().unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(3);
        let starts: Vec<_> = (0..256)
            .filter_map(|_| {
                s.walk.network.snap(
                    LonLat::new(
                        rng.random_range(e.min().x..e.max().x),
                        rng.random_range(e.min().y..e.max().y),
                    )
                    .unwrap(),
                )
            })
            .collect();
        let mut i = 0;
        c.bench_function(&format!("{city}/isochrone_10min"), |b| {
            b.iter(|| {
                i = (i + 1) % starts.len();
                walking_areas(&s, &starts[i..=i], &[750.0]).len()
            })
        });
        let kind = catalogue.parse_kind("parking", "kind").unwrap();
        let now = Utc::now();
        c.bench_function(
            &format!("{city}/nearest_walk_k3_parking_with_routes"),
            |b| {
                b.iter(|| {
                    i = (i + 1) % starts.len();
                    s.nearest_walking(starts[i].point, &kind, 3, now, false, None)
                        .map(|r| r.len())
                })
            },
        );
    }
}

criterion_group! { name = benches; config = Criterion::default().sample_size(20); targets = bench }
criterion_main!(benches);
