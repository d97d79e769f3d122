//! Core snapshot operations on real data: building the snapshot, crow-fly nearest (k = 3),
//! locate, and batch k = 3 nearest of 10,000 points for the 8 most numerous kinds (W2) on the
//! kinds' `SphereGrid`s against the same queries on their rstar trees.
//! Run: `cargo bench --bench snapshot`.
//! Inputs are the real OSM extracts in ../shared/data (Nanjing, Porto).

use std::path::PathBuf;
use std::sync::Arc;

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use gridcircle::config::HouseholdEstimate;
use gridcircle::import::read_osm_pbf;
use gridcircle::model::{KindCatalogue, LonLat};
use gridcircle::readmodel::{BatchPoints, Snapshot};
use gridcircle::store::Dataset;
use rand::{Rng, SeedableRng};

fn dataset(file: &str, catalogue: &KindCatalogue) -> Dataset {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(file);
    let import =
        read_osm_pbf(&path, catalogue, &HouseholdEstimate::default(), false).expect("import");
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
    data
}

fn bench(c: &mut Criterion) {
    let catalogue = Arc::new(KindCatalogue::bundled());
    for (city, file) in [
        ("nanjing", "nanjing-xinjiekou.osm.pbf"),
        ("porto", "porto.osm.pbf"),
    ] {
        let data = dataset(file, &catalogue);
        c.bench_function(&format!("{city}/snapshot_build"), |b| {
            b.iter(|| Snapshot::build(data.clone(), catalogue.clone()))
        });
        let snapshot = Snapshot::build(data, catalogue.clone());
        let e = snapshot.extent().unwrap();
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let points: Vec<LonLat> = (0..1024)
            .map(|_| {
                LonLat::new(
                    rng.random_range(e.min().x..e.max().x),
                    rng.random_range(e.min().y..e.max().y),
                )
                .unwrap()
            })
            .collect();
        let kind = catalogue.parse_kind("parking", "kind").unwrap();
        let now = Utc::now();
        let mut i = 0;
        c.bench_function(&format!("{city}/nearest_k3_parking"), |b| {
            b.iter(|| {
                i = (i + 1) % points.len();
                snapshot
                    .nearest(points[i], &kind, 3, now, false, None)
                    .len()
            })
        });
        // W2 in miniature: 10,000 random points x the 8 most numerous kinds, k = 3.
        let mut kinds: Vec<_> = snapshot
            .facilities
            .grids
            .iter()
            .map(|(k, g)| (g.len(), k.clone()))
            .collect();
        kinds.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.as_str().cmp(b.1.as_str())));
        kinds.truncate(8);
        let many: Vec<LonLat> = (0..10_000)
            .map(|_| {
                LonLat::new(
                    rng.random_range(e.min().x..e.max().x),
                    rng.random_range(e.min().y..e.max().y),
                )
                .unwrap()
            })
            .collect();
        c.bench_function(
            &format!("{city}/w2_batch_k3_8kinds_10000_points_grid_1thread"),
            |b| {
                b.iter(|| {
                    let batch = BatchPoints::new(&many);
                    kinds
                        .iter()
                        .map(|(_, k)| {
                            snapshot.facilities.grids[k]
                                .k_nearest_batch(&batch, 3, 1)
                                .len()
                        })
                        .sum::<usize>()
                })
            },
        );
        c.bench_function(
            &format!("{city}/w2_batch_k3_8kinds_10000_points_rstar_1thread"),
            |b| {
                b.iter(|| {
                    let mut n = 0;
                    for (_, k) in &kinds {
                        let tree = &snapshot.facilities.by_kind[k];
                        for p in &many {
                            n += tree
                                .nearest_neighbor_iter_with_distance_2(p.unit_vector())
                                .take(3)
                                .count();
                        }
                    }
                    n
                })
            },
        );
        c.bench_function(&format!("{city}/locate"), |b| {
            b.iter(|| {
                i = (i + 1) % points.len();
                snapshot.locate(points[i]).building.is_some()
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
