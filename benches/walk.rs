//! The walking network on real data: graph build, snapping, multi-source coverage of every
//! building for one kind (bounded, and unbounded as W3: also against a textbook
//! `BinaryHeap` Dijkstra over the same graph), one 10-minute isochrone, and nearest-k = 3 by
//! walking.
//! Run: `cargo bench --bench walk`. Inputs are the real OSM extracts in ../shared/data.

use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use gridcircle::config::HouseholdEstimate;
use gridcircle::import::read_osm_pbf;
use gridcircle::model::{KindCatalogue, LonLat};
use gridcircle::walk::{
    IsochroneStyle, Reach, Snap, Snapper, Targets, WalkConfig, WalkGraph, WalkNetwork, isochrones,
    nearest_k,
};
use rand::{Rng, SeedableRng};

fn bench(c: &mut Criterion) {
    let catalogue = KindCatalogue::bundled();
    let config = WalkConfig::default();
    for (city, file, kind) in [
        ("nanjing", "nanjing-xinjiekou.osm.pbf", "convenience"),
        ("porto", "porto.osm.pbf", "pharmacy"),
    ] {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/data")
            .join(file);
        let data =
            read_osm_pbf(&path, &catalogue, &HouseholdEstimate::default(), false).expect("import");
        c.bench_function(&format!("{city}/graph_build"), |b| {
            b.iter(|| WalkGraph::build(&data.ways))
        });
        let graph = WalkGraph::build(&data.ways);
        c.bench_function(&format!("{city}/snapper_build"), |b| {
            b.iter(|| Snapper::new(&graph, &config))
        });
        let net = WalkNetwork::build(&data.ways, config);
        let g = net.graph();

        let points: Vec<LonLat> = data
            .buildings
            .iter()
            .map(|b| b.entrance.unwrap_or(b.point))
            .collect();
        let mut i = 0;
        c.bench_function(&format!("{city}/snap_one_building"), |b| {
            b.iter(|| {
                i = (i + 1) % points.len();
                net.snap(points[i])
            })
        });
        let homes: Vec<Option<Snap>> = points.iter().map(|&p| net.snap(p)).collect();
        let seeds: Vec<Snap> = data
            .facilities
            .iter()
            .filter(|f| f.kind.as_str() == kind)
            .filter_map(|f| net.snap(f.point))
            .collect();
        let mut reach = Reach::new(g);
        let budget = config.metres(10.0);
        c.bench_function(
            &format!(
                "{city}/coverage_{kind}_{}_seeds_{}_buildings",
                seeds.len(),
                homes.len()
            ),
            |b| {
                b.iter(|| {
                    reach.run(g, &seeds, budget, false);
                    homes
                        .iter()
                        .flatten()
                        .filter(|h| reach.distance_to_point(h).is_some())
                        .count()
                })
            },
        );

        // W3 in miniature: unbounded, then every building's distance.
        c.bench_function(&format!("{city}/w3_unbounded_{kind}_all_buildings"), |b| {
            b.iter(|| {
                reach.run(g, &seeds, f64::INFINITY, false);
                homes
                    .iter()
                    .flatten()
                    .filter_map(|h| reach.distance_to_point(h))
                    .map(|d| d.0)
                    .sum::<f64>()
            })
        });
        c.bench_function(
            &format!("{city}/w3_unbounded_{kind}_nodes_binaryheap_reference"),
            |b| b.iter(|| binary_heap_dijkstra(g, &seeds).len()),
        );
        c.bench_function(&format!("{city}/w3_unbounded_{kind}_nodes_reach"), |b| {
            b.iter(|| {
                reach.run(g, &seeds, f64::INFINITY, false);
                reach.reached_nodes().count()
            })
        });

        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let starts: Vec<Snap> = (0..64)
            .map(|_| {
                loop {
                    if let Some(s) = homes[rng.random_range(0..homes.len())] {
                        break s;
                    }
                }
            })
            .collect();
        let style = IsochroneStyle::default();
        let mut k = 0;
        c.bench_function(&format!("{city}/isochrone_10min"), |b| {
            b.iter(|| {
                k = (k + 1) % starts.len();
                reach.run(g, &starts[k..=k], budget, false);
                isochrones(g, &reach, &[budget], &style)
            })
        });
        // The search alone (the rest of isochrone_10min is the polygon).
        c.bench_function(&format!("{city}/isochrone_10min_search_only"), |b| {
            b.iter(|| {
                k = (k + 1) % starts.len();
                reach.run(g, &starts[k..=k], budget, false);
            })
        });
        c.bench_function(&format!("{city}/isochrone_5_10_15min"), |b| {
            b.iter(|| {
                k = (k + 1) % starts.len();
                let budgets = [config.metres(5.0), budget, config.metres(15.0)];
                reach.run(g, &starts[k..=k], budgets[2], false);
                isochrones(g, &reach, &budgets, &style)
            })
        });

        let targets = Targets::new(
            g,
            data.facilities
                .iter()
                .filter(|f| f.kind.as_str() == kind)
                .map(|f| net.snap(f.point))
                .collect(),
        );
        c.bench_function(&format!("{city}/nearest_k3_{kind}_walking"), |b| {
            b.iter(|| {
                k = (k + 1) % starts.len();
                nearest_k(g, &mut reach, &starts[k], &targets, 3, 5000.0)
            })
        });
    }
}

/// The textbook search the radix-heap `Reach` is compared with: `std`'s `BinaryHeap` of
/// (distance, node), lazy deletion, the graph's public adjacency; node distances only.
fn binary_heap_dijkstra(g: &WalkGraph, seeds: &[Snap]) -> Vec<f64> {
    use std::cmp::Reverse;
    struct D(f64);
    impl PartialEq for D {
        fn eq(&self, o: &Self) -> bool {
            self.0.total_cmp(&o.0).is_eq()
        }
    }
    impl Eq for D {}
    impl PartialOrd for D {
        fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
            Some(self.cmp(o))
        }
    }
    impl Ord for D {
        fn cmp(&self, o: &Self) -> std::cmp::Ordering {
            self.0.total_cmp(&o.0)
        }
    }
    let mut dist = vec![f64::INFINITY; g.node_count()];
    let mut heap = std::collections::BinaryHeap::new();
    for s in seeds {
        for k in 0..2 {
            let d = s.connector_m + s.offset_m[k];
            if d < dist[s.ends[k] as usize] {
                dist[s.ends[k] as usize] = d;
                heap.push(Reverse((D(d), s.ends[k])));
            }
        }
    }
    while let Some(Reverse((D(d), u))) = heap.pop() {
        if d > dist[u as usize] {
            continue;
        }
        for (t, _, len) in g.neighbours(u) {
            let nd = d + len;
            if nd < dist[t as usize] {
                dist[t as usize] = nd;
                heap.push(Reverse((D(nd), t)));
            }
        }
    }
    dist
}

criterion_group!(benches, bench);
criterion_main!(benches);
