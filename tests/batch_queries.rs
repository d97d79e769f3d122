//! The batch nearest-neighbour queries of `gridcircle::readmodel` (SphereGrid, BatchPoints) against
//! brute force on the real extracts in `../shared/data`: the same neighbours in the same order
//! with the same distances, bit for bit, for every facility kind, for points inside and well
//! outside the data, single and batched, filtered, and the radius-gap batch (W1).

use std::collections::BTreeMap;
use std::path::Path;

use gridcircle::config::HouseholdEstimate;
use gridcircle::import::{OsmImport, read_osm_pbf};
use gridcircle::model::{KindCatalogue, LonLat};
use gridcircle::readmodel::{BatchPoints, Neighbour, SphereGrid, chord_of};
use rand::{Rng, SeedableRng};

fn import(name: &str) -> OsmImport {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(name);
    read_osm_pbf(
        &path,
        &KindCatalogue::bundled(),
        &HouseholdEstimate::default(),
        false,
    )
    .expect("import succeeds")
}

fn chord2(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    let d = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
}

/// (index, squared chord) of the `k` nearest of `points` to `u` passing `keep`, by brute force.
fn brute(
    points: &[([f64; 3], usize)],
    u: &[f64; 3],
    k: usize,
    keep: impl Fn(usize) -> bool,
) -> Vec<(usize, f64)> {
    let mut all: Vec<(f64, usize)> = points
        .iter()
        .filter(|p| keep(p.1))
        .map(|p| (chord2(&p.0, u), p.1))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    all.into_iter().take(k).map(|(d, i)| (i, d)).collect()
}

fn pairs(found: &[Neighbour]) -> Vec<(usize, f64)> {
    found.iter().map(|n| (n.index, n.chord2)).collect()
}

/// Facilities of each kind as (unit vector, index in the import's facility list).
fn by_kind(data: &OsmImport) -> BTreeMap<String, Vec<([f64; 3], usize)>> {
    let mut kinds: BTreeMap<String, Vec<([f64; 3], usize)>> = BTreeMap::new();
    for (i, f) in data.facilities.iter().enumerate() {
        kinds
            .entry(f.kind.as_str().to_owned())
            .or_default()
            .push((f.point.unit_vector(), i));
    }
    kinds
}

/// Random points over the buildings' extent widened by half its size on each side, so some
/// lie far outside the data (in the sea at Porto and Monaco).
fn random_points(data: &OsmImport, n: usize, seed: u64) -> Vec<LonLat> {
    let (mut min, mut max) = ([f64::MAX; 2], [f64::MIN; 2]);
    for b in &data.buildings {
        min = [min[0].min(b.point.lon()), min[1].min(b.point.lat())];
        max = [max[0].max(b.point.lon()), max[1].max(b.point.lat())];
    }
    let pad = [(max[0] - min[0]) / 2.0, (max[1] - min[1]) / 2.0];
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            LonLat::new(
                rng.random_range(min[0] - pad[0]..=max[0] + pad[0]),
                rng.random_range(min[1] - pad[1]..=max[1] + pad[1]),
            )
            .unwrap()
        })
        .collect()
}

fn check_k_nearest(name: &str, n_points: usize) {
    let data = import(name);
    let kinds = by_kind(&data);
    assert!(kinds.len() >= 5, "{name}: {} kinds", kinds.len());
    let points = random_points(&data, n_points, 11);
    let batch = BatchPoints::new(&points);
    let mut checked = 0;
    for (kind, facilities) in &kinds {
        let grid = SphereGrid::new(facilities.iter().copied());
        assert_eq!(grid.len(), facilities.len());
        for k in [1, 3, 8, facilities.len() + 2] {
            let one = grid.k_nearest_batch(&batch, k, 1);
            let two = grid.k_nearest_batch(&batch, k, 2);
            assert_eq!(one.len(), points.len());
            for (i, p) in points.iter().enumerate() {
                let want = brute(facilities, &p.unit_vector(), k, |_| true);
                assert_eq!(
                    pairs(one.get(i)),
                    want,
                    "{name} {kind} k={k} point {i} {p:?}"
                );
                assert_eq!(
                    one.get(i),
                    two.get(i),
                    "{name} {kind} k={k}: threads differ"
                );
                checked += 1;
            }
        }
        // One at a time with a filter (as /nearest with open_now or an audience): only odd
        // record indices count.
        let mut found = Vec::new();
        for p in points.iter().take(300) {
            grid.nearest_k(p.unit_vector(), 3, |i| i % 2 == 1, &mut found);
            assert_eq!(
                pairs(&found),
                brute(facilities, &p.unit_vector(), 3, |i| i % 2 == 1),
                "{name} {kind} filtered"
            );
        }
    }
    assert!(checked > 10_000, "{checked}");
}

#[test]
fn k_nearest_matches_brute_force_in_porto() {
    check_k_nearest("porto.osm.pbf", 1_500);
}

#[test]
fn k_nearest_matches_brute_force_in_nanjing_and_monaco() {
    check_k_nearest("nanjing-xinjiekou.osm.pbf", 1_000);
    check_k_nearest("monaco.osm.pbf", 1_000);
}

#[test]
fn uncovered_matches_brute_force() {
    for name in ["nanjing-xinjiekou.osm.pbf", "porto.osm.pbf"] {
        let data = import(name);
        let homes: Vec<LonLat> = data.buildings.iter().map(|b| b.point).collect();
        let batch = BatchPoints::new(&homes);
        let units: Vec<[f64; 3]> = homes.iter().map(|p| p.unit_vector()).collect();
        for (kind, facilities) in by_kind(&data) {
            let grid = SphereGrid::new(facilities.iter().copied());
            for radius in [150.0, 500.0] {
                let c = chord_of(radius);
                let want: Vec<usize> = units
                    .iter()
                    .enumerate()
                    .filter(|(_, u)| !facilities.iter().any(|f| chord2(&f.0, u) <= c * c))
                    .map(|(i, _)| i)
                    .collect();
                for threads in [1, 2] {
                    let got = grid.uncovered(&batch, radius, threads);
                    assert_eq!(got, want, "{name} {kind} {radius} m, {threads} threads");
                }
            }
        }
    }
}

#[test]
fn degenerate_sets() {
    let at = |lon: f64, lat: f64| LonLat::new(lon, lat).unwrap().unit_vector();
    let points = BatchPoints::new(&[
        LonLat::new(10.0, 50.0).unwrap(),
        LonLat::new(-170.0, -80.0).unwrap(),
    ]);
    // No points: no answers, everything uncovered.
    let empty = SphereGrid::default();
    let none = empty.k_nearest_batch(&points, 3, 2);
    assert!(none.get(0).is_empty() && none.get(1).is_empty());
    assert_eq!(empty.uncovered(&points, 500.0, 2), vec![0, 1]);
    // Three records at one place: ties go to the lowest index, whatever the input order.
    let same = SphereGrid::new([
        (at(10.0, 50.0), 7),
        (at(10.0, 50.0), 2),
        (at(10.0, 50.0), 5),
    ]);
    let found = same.k_nearest_batch(&points, 2, 1);
    assert_eq!(
        found.get(0).iter().map(|n| n.index).collect::<Vec<_>>(),
        vec![2, 5]
    );
    assert_eq!(found.get(0)[0].chord2, 0.0);
    // The far point (other hemisphere) still finds them, at the right distance.
    assert_eq!(found.get(1).len(), 2);
    let far = found.get(1)[0].metres();
    assert!((far - 16_679_262.0).abs() < 1_000.0, "{far}"); // 150° of arc
    // Points spread over the whole globe, including both poles: still exact.
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let mut globe: Vec<([f64; 3], usize)> = (0..500)
        .map(|i| {
            (
                at(
                    rng.random_range(-180.0..180.0),
                    rng.random_range(-90.0..=90.0),
                ),
                i,
            )
        })
        .collect();
    globe.push((at(0.0, 90.0), 500));
    globe.push((at(0.0, -90.0), 501));
    let grid = SphereGrid::new(globe.iter().copied());
    let queries: Vec<LonLat> = (0..300)
        .map(|_| {
            LonLat::new(
                rng.random_range(-180.0..180.0),
                rng.random_range(-90.0..=90.0),
            )
            .unwrap()
        })
        .collect();
    let answers = grid.k_nearest_batch(&BatchPoints::new(&queries), 4, 2);
    for (i, q) in queries.iter().enumerate() {
        assert_eq!(
            pairs(answers.get(i)),
            brute(&globe, &q.unit_vector(), 4, |_| true),
            "globe point {i}"
        );
    }
}
