//! The walking network on the real extracts in `../shared/data`: components, snapping, the
//! bounded multi-source Dijkstra against petgraph (node by node, and per building against a
//! single-source search from each building), routes and isochrones.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use geo::{
    Area, BooleanOps, Contains, Distance, Euclidean, Haversine, Intersects, Length, Point,
    Validation,
};
use gridcircle::config::HouseholdEstimate;
use gridcircle::import::{OsmImport, read_osm_pbf};
use gridcircle::model::{KindCatalogue, LonLat};
use gridcircle::walk::{
    IsochroneStyle, Reach, Snap, SnapCounts, Snapper, Targets, WalkConfig, WalkGraph, WalkNetwork,
    isochrones, isochrones_by_stroke, nearest_k, route,
};
use petgraph::graph::{NodeIndex, UnGraph};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

const NANJING: &str = "nanjing-xinjiekou.osm.pbf";
const PORTO: &str = "porto.osm.pbf";

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(name)
}

/// Each file is imported and its network built once, shared by the tests.
fn city(name: &str) -> &'static (OsmImport, WalkNetwork) {
    static CELLS: [OnceLock<(OsmImport, WalkNetwork)>; 2] = [OnceLock::new(), OnceLock::new()];
    let i = [NANJING, PORTO]
        .iter()
        .position(|n| *n == name)
        .expect("known file");
    CELLS[i].get_or_init(|| {
        let import = read_osm_pbf(
            &data(name),
            &KindCatalogue::bundled(),
            &HouseholdEstimate::default(),
            false,
        )
        .expect("import succeeds");
        let net = WalkNetwork::build(&import.ways, WalkConfig::default());
        (import, net)
    })
}

fn seeds_of_kind(import: &OsmImport, net: &WalkNetwork, kind: &str) -> Vec<Snap> {
    import
        .facilities
        .iter()
        .filter(|f| f.kind.as_str() == kind)
        .filter_map(|f| net.snap(f.point))
        .collect()
}

fn assert_close(a: f64, b: f64, tol: f64, what: &str) {
    assert!((a - b).abs() <= tol, "{what}: {a} vs {b}");
}

// ---------------------------------------------------------------------------------------------
// Graph

#[test]
fn nanjing_components() {
    let (_, net) = city(NANJING);
    let s = net.graph().stats();
    println!("nanjing {s:?}");
    assert_eq!(s.nodes, 615);
    assert_eq!(s.components, 44);
    assert_eq!(s.largest_component_nodes, 495);
}

#[test]
fn porto_components() {
    let (_, net) = city(PORTO);
    let s = net.graph().stats();
    println!("porto {s:?}");
    // The shared README's figures (4,454 walkable ways, 7,093 nodes, 565 components, 5,655 in
    // the main one) come from a looser reading of the rule: it counts the outlines of
    // `area=yes` ways (1,187 pedestrian squares and sidewalks, 7 others) as lines, and it drops
    // `access=private|no` ways even when `foot=yes|designated|permissive` opens them (6 ways).
    // The rule here excludes areas (you cross a square, you do not walk its rim) and keeps the
    // foot exception. Rebuilding with the README's reading reproduces its figures exactly:
    assert_eq!(s.nodes, 4621);
    assert_eq!(s.components, 198);
    assert_eq!(s.largest_component_nodes, 3970);
    let (import, _) = city(PORTO);
    let readme_reading: Vec<_> = import
        .ways
        .iter()
        .filter(|w| !matches!(w.access.as_deref(), Some("private" | "no")))
        .map(|w| gridcircle::model::StreetWay {
            area: false,
            ..w.clone()
        })
        .collect();
    let g = WalkGraph::build(&readme_reading);
    let s = g.stats();
    println!("porto, README reading: {s:?}");
    assert_eq!(
        (
            s.walkable_ways,
            s.nodes,
            s.components,
            s.largest_component_nodes
        ),
        (4454, 7093, 565, 5655)
    );
    // And with that graph, ~17 % of the buildings lie nearest to a fragment.
    let snapper = Snapper::new(&g, &WalkConfig::default());
    let mut counts = SnapCounts::default();
    for b in &import.buildings {
        counts.add(snapper.snap_building(&g, b).as_ref());
    }
    println!("porto snaps, README reading: {counts:?}");
    let moved = counts.moved_off_fragment as f64 / counts.points as f64;
    assert!((0.15..0.19).contains(&moved), "moved {moved}");
}

#[test]
fn graph_is_consistent() {
    for name in [NANJING, PORTO] {
        let (import, net) = city(name);
        let g = net.graph();
        // Lengths are haversine along the polyline, as LonLat::distance_m measures.
        for e in 0..g.edge_count() as u32 {
            let coords = g.edge_coords(e);
            let len: f64 = coords
                .windows(2)
                .map(|w| {
                    LonLat::new(w[0][0], w[0][1])
                        .unwrap()
                        .distance_m(LonLat::new(w[1][0], w[1][1]).unwrap())
                })
                .sum();
            assert_close(g.edge_length_m(e), len, 1e-9, "edge length");
            let [a, b] = g.edge_nodes(e);
            assert_eq!(coords[0], g.node_coord(a));
            assert_eq!(*coords.last().unwrap(), g.node_coord(b));
            assert_eq!(g.component(a), g.component(b));
        }
        // Every walkable way's length is kept: the edges partition the ways.
        let walkable: f64 = import
            .ways
            .iter()
            .filter(|w| gridcircle::walk::is_walkable(w))
            .map(|w| Haversine.length(&w.line))
            .sum();
        let edges: f64 = (0..g.edge_count() as u32).map(|e| g.edge_length_m(e)).sum();
        assert_close(edges, walkable, 1e-6 * walkable, "total length");
        // Component sizes add up and are sorted.
        let sizes = g.component_sizes();
        assert_eq!(
            sizes.iter().map(|&s| s as usize).sum::<usize>(),
            g.node_count()
        );
        assert!(sizes.windows(2).all(|w| w[0] >= w[1]));
    }
}

// ---------------------------------------------------------------------------------------------
// Snapping

/// Point-to-segment distance in local metres (brute force).
fn seg_dist(p: [f64; 2], a: [f64; 2], b: [f64; 2]) -> f64 {
    let d = [b[0] - a[0], b[1] - a[1]];
    let l2 = d[0] * d[0] + d[1] * d[1];
    let t = if l2 == 0.0 {
        0.0
    } else {
        (((p[0] - a[0]) * d[0] + (p[1] - a[1]) * d[1]) / l2).clamp(0.0, 1.0)
    };
    ((a[0] + t * d[0] - p[0]).powi(2) + (a[1] + t * d[1] - p[1]).powi(2)).sqrt()
}

/// Nearest edge distance (local metres) over all edges, and over eligible edges only.
fn brute_nearest(g: &WalkGraph, min_nodes: u32, p: LonLat) -> (f64, f64) {
    let q = g.projection().to_xy([p.lon(), p.lat()]);
    let (mut any, mut eligible) = (f64::INFINITY, f64::INFINITY);
    for e in 0..g.edge_count() as u32 {
        let ok = g.component_sizes()[g.edge_component(e) as usize] >= min_nodes;
        for w in g.edge_xy(e).windows(2) {
            let d = seg_dist(q, w[0], w[1]);
            any = any.min(d);
            if ok {
                eligible = eligible.min(d);
            }
        }
    }
    (any, eligible)
}

#[test]
fn porto_snapping() {
    let (import, net) = city(PORTO);
    let g = net.graph();
    let mut counts = SnapCounts::default();
    let mut nearest_fragment = 0;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for b in &import.buildings {
        let s = net.snap_building(b);
        counts.add(s.as_ref());
        if let Some(s) = s {
            assert!(s.connector_m <= 300.0);
            assert!(g.component_sizes()[g.edge_component(s.edge) as usize] >= 50);
            assert_close(
                s.offset_m[0] + s.offset_m[1],
                g.edge_length_m(s.edge),
                1e-6,
                "offsets",
            );
            assert_close(
                s.point.distance_m(s.point_on_edge),
                s.connector_m,
                1e-9,
                "connector",
            );
        }
        // Check a sample against a brute-force scan of every segment.
        if rng.random_bool(0.05) {
            let p = b.entrance.unwrap_or(b.point);
            let (any, eligible) = brute_nearest(g, 50, p);
            nearest_fragment += usize::from(any < eligible);
            match s {
                Some(s) => {
                    assert_close(s.connector_m, eligible, 0.05 + 1e-3 * eligible, "nearest");
                    assert_eq!(s.moved_off_fragment, any < eligible - 1e-9);
                }
                None => assert!(eligible > 299.0, "unsnapped but an edge at {eligible} m"),
            }
        }
    }
    println!("porto building snaps: {counts:?}");
    let moved = counts.moved_off_fragment as f64 / counts.points as f64;
    println!(
        "moved off a fragment: {:.1} %; sampled nearest-is-fragment {nearest_fragment}",
        100.0 * moved
    );
    assert_eq!(counts.points, import.buildings.len());
    // The shared README's ~17 % is for a graph that keeps `area=yes` outlines, which cut the
    // network into 565 components (reproduced in `porto_components`: 1,924 buildings). With
    // areas excluded there are 198 components and about 3 % (379) are moved off a fragment.
    assert!((0.02..0.05).contains(&moved), "moved {moved}");
    assert!(counts.unreachable < counts.points / 100);
}

#[test]
fn far_points_are_unreachable() {
    let (_, net) = city(PORTO);
    let g = net.graph();
    let c = g.projection().centre();
    // 5 km north of the data's centre's bounding box: nowhere near a street.
    let far = LonLat::new(c[0], c[1] + 0.2).unwrap();
    assert!(net.snap(far).is_none());
    // A connector just over 300 m is refused, just under is accepted: walk north from a
    // node at the network's northern edge.
    let north = (0..g.node_count() as u32)
        .filter(|&n| g.component_size_of(n) >= 50)
        .max_by(|&a, &b| g.node_coord(a)[1].total_cmp(&g.node_coord(b)[1]))
        .unwrap();
    let [lon, lat] = g.node_coord(north);
    let step = 1.0 / 111_195.0; // one metre of latitude
    let near = LonLat::new(lon, lat + 290.0 * step).unwrap();
    let too_far = LonLat::new(lon, lat + 310.0 * step).unwrap();
    let s = net.snap(near).expect("290 m is reachable");
    assert!(s.connector_m <= 290.5);
    assert!(net.snap(too_far).is_none());
    let strict = Snapper::new(
        g,
        &WalkConfig {
            max_connector_m: 100.0,
            ..WalkConfig::default()
        },
    );
    assert!(strict.snap(g, near).is_none());
}

// ---------------------------------------------------------------------------------------------
// Dijkstra against petgraph

/// The graph as a petgraph `UnGraph` with the same node indices.
fn to_petgraph(g: &WalkGraph) -> UnGraph<(), f64> {
    let mut pg = UnGraph::with_capacity(g.node_count(), g.edge_count());
    for _ in 0..g.node_count() {
        pg.add_node(());
    }
    for e in 0..g.edge_count() as u32 {
        let [a, b] = g.edge_nodes(e);
        pg.add_edge(
            NodeIndex::new(a as usize),
            NodeIndex::new(b as usize),
            g.edge_length_m(e),
        );
    }
    pg
}

/// Node distances from the seeds, via one extra petgraph node joined to each seed's edge ends.
fn petgraph_multi_source(g: &WalkGraph, seeds: &[Snap]) -> HashMap<NodeIndex, f64> {
    let mut pg = to_petgraph(g);
    let root = pg.add_node(());
    for s in seeds {
        for k in 0..2 {
            pg.add_edge(
                root,
                NodeIndex::new(s.ends[k] as usize),
                s.connector_m + s.offset_m[k],
            );
        }
    }
    petgraph::algo::dijkstra(&pg, root, None, |e| *e.weight())
        .into_iter()
        .collect()
}

#[test]
fn dijkstra_nodes_match_petgraph() {
    for (name, kind, budget) in [
        (NANJING, "toilet", 750.0),
        (NANJING, "supermarket", 400.0),
        (PORTO, "pharmacy", 750.0),
        (PORTO, "toilet", 1500.0),
        (PORTO, "reading_room", f64::INFINITY),
    ] {
        let (import, net) = city(name);
        let g = net.graph();
        let seeds = seeds_of_kind(import, net, kind);
        assert!(!seeds.is_empty(), "{name} {kind}");
        let expected = petgraph_multi_source(g, &seeds);
        let mut reach = Reach::new(g);
        // Run twice on the same buffers (another budget first) to exercise the reset.
        reach.run(g, &seeds[..1], 100.0, true);
        reach.run(g, &seeds, budget, false);
        let mut reached = 0;
        for n in 0..g.node_count() as u32 {
            let want = expected.get(&NodeIndex::new(n as usize)).copied();
            match (reach.node(n), want) {
                (Some(r), Some(w)) => {
                    assert_close(r.distance_m, w, 1e-6, "node distance");
                    // The reported seed really is at that distance.
                    let s = &seeds[r.source];
                    let alone = petgraph_multi_source(g, std::slice::from_ref(s));
                    if reached < 20 {
                        assert_close(alone[&NodeIndex::new(n as usize)], w, 1e-6, "source");
                    }
                    reached += 1;
                }
                (None, Some(w)) => assert!(w > budget, "{name} node {n} at {w} not reached"),
                (None, None) => {}
                (Some(r), None) => panic!("{name} node {n} reached at {r:?} but unreachable"),
            }
        }
        println!(
            "{name} {kind}: {} seeds, {reached} nodes within {budget} m",
            seeds.len()
        );
        assert_eq!(reached, reach.reached_nodes().count());
    }
}

/// A petgraph graph in which every given point is a node of its own, joined by its connector
/// to a node at its joining point, which splits its edge: distances along an edge between two
/// points then come from the split, not from `Reach`'s same-edge rule.
struct SplitGraph {
    pg: UnGraph<(), f64>,
    point_node: Vec<NodeIndex>,
}

fn split_graph(g: &WalkGraph, points: &[Snap]) -> SplitGraph {
    let mut pg: UnGraph<(), f64> = UnGraph::default();
    for _ in 0..g.node_count() {
        pg.add_node(());
    }
    let mut on_edge: HashMap<u32, Vec<(f64, NodeIndex)>> = HashMap::new();
    let mut point_node = Vec::new();
    for s in points {
        let foot = pg.add_node(());
        let p = pg.add_node(());
        pg.add_edge(p, foot, s.connector_m);
        on_edge
            .entry(s.edge)
            .or_default()
            .push((s.offset_m[0], foot));
        point_node.push(p);
    }
    for e in 0..g.edge_count() as u32 {
        let [a, b] = g.edge_nodes(e);
        let len = g.edge_length_m(e);
        let mut chain = vec![(0.0, NodeIndex::new(a as usize))];
        if let Some(feet) = on_edge.get_mut(&e) {
            feet.sort_by(|x, y| x.0.total_cmp(&y.0));
            chain.extend(feet.iter().copied());
        }
        chain.push((len, NodeIndex::new(b as usize)));
        for w in chain.windows(2) {
            pg.add_edge(w[0].1, w[1].1, (w[1].0 - w[0].0).max(0.0));
        }
    }
    SplitGraph { pg, point_node }
}

fn per_building_brute_force(name: &str, kind: &str, budget: f64, sample: usize) {
    let (import, net) = city(name);
    let g = net.graph();
    let seeds = seeds_of_kind(import, net, kind);
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let homes: Vec<Snap> = import
        .buildings
        .iter()
        .filter_map(|b| net.snap_building(b))
        .collect();
    let homes: Vec<Snap> = if homes.len() > sample {
        homes.choose_multiple(&mut rng, sample).copied().collect()
    } else {
        homes
    };
    let mut reach = Reach::new(g);
    reach.run(g, &seeds, budget, false);
    let mut points = seeds.clone();
    points.extend_from_slice(&homes);
    let split = split_graph(g, &points);
    let seed_nodes = &split.point_node[..seeds.len()];
    let home_nodes = &split.point_node[seeds.len()..];
    let chunks = 4;
    let (mut covered, mut same_edge) = (0usize, 0usize);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..chunks)
            .map(|c| {
                let (split, reach, homes, seeds) = (&split, &reach, &homes, &seeds);
                scope.spawn(move || {
                    let (mut covered, mut same_edge) = (0, 0);
                    for i in (c..homes.len()).step_by(chunks) {
                        let from = petgraph::algo::dijkstra(&split.pg, home_nodes[i], None, |e| {
                            *e.weight()
                        });
                        let best = seed_nodes
                            .iter()
                            .filter_map(|n| from.get(n).copied())
                            .fold(f64::INFINITY, f64::min);
                        let got = reach.distance_to_point(&homes[i]);
                        match got {
                            Some((d, src)) => {
                                assert_close(d, best, 1e-6, "building distance");
                                assert_close(from[&seed_nodes[src]], d, 1e-6, "building source");
                                covered += 1;
                                same_edge +=
                                    usize::from(seeds.iter().any(|s| s.edge == homes[i].edge));
                            }
                            None => assert!(best > budget, "building at {best} m not covered"),
                        }
                    }
                    (covered, same_edge)
                })
            })
            .collect();
        for h in handles {
            let (c, s) = h.join().unwrap();
            covered += c;
            same_edge += s;
        }
    });
    println!(
        "{name} {kind} {budget} m: {} seeds, {} buildings checked, {covered} covered, {same_edge} share an edge with a seed",
        seeds.len(),
        homes.len()
    );
    assert!(covered > 0);
}

#[test]
fn nanjing_every_building_matches_brute_force() {
    per_building_brute_force(NANJING, "convenience", 750.0, usize::MAX);
    per_building_brute_force(NANJING, "toilet", 400.0, usize::MAX);
}

#[test]
fn porto_buildings_match_brute_force() {
    per_building_brute_force(PORTO, "pharmacy", 750.0, 2000);
}

// ---------------------------------------------------------------------------------------------
// Routes and nearest

#[test]
fn routes_have_the_dijkstra_length() {
    for (name, kind) in [(NANJING, "supermarket"), (PORTO, "pharmacy")] {
        let (import, net) = city(name);
        let g = net.graph();
        let seeds = seeds_of_kind(import, net, kind);
        let mut reach = Reach::new(g);
        reach.run(g, &seeds, 1500.0, true);
        let mut checked = 0;
        for b in import.buildings.iter().step_by(7) {
            let Some(home) = net.snap_building(b) else {
                continue;
            };
            let Some((d, src)) = reach.distance_to_point(&home) else {
                assert!(route(g, &reach, &home).is_none());
                continue;
            };
            let r = route(g, &reach, &home).expect("a reached point has a route");
            assert_eq!(r.source, src);
            assert_close(r.distance_m, d, 1e-9, "route distance");
            assert_close(Haversine.length(&r.line), d, 0.5, "route length");
            let first = r.line.0[0];
            let last = *r.line.0.last().unwrap();
            assert_eq!((first.x, first.y), (home.point.lon(), home.point.lat()));
            let seed = seeds[src].point;
            assert_eq!((last.x, last.y), (seed.lon(), seed.lat()));
            checked += 1;
        }
        println!("{name}: {checked} routes checked");
        assert!(checked > 50);
    }
}

#[test]
fn nearest_k_matches_full_search() {
    for (name, kind) in [(NANJING, "toilet"), (PORTO, "pharmacy")] {
        let (import, net) = city(name);
        let g = net.graph();
        let targets: Vec<Option<Snap>> = import
            .facilities
            .iter()
            .filter(|f| f.kind.as_str() == kind)
            .map(|f| net.snap(f.point))
            .collect();
        let index = Targets::new(g, targets.clone());
        let mut reach = Reach::new(g);
        for b in import.buildings.iter().step_by(23) {
            let Some(home) = net.snap_building(b) else {
                continue;
            };
            let got = nearest_k(g, &mut reach, &home, &index, 3, 2000.0);
            reach.run(g, &[home], 2000.0, false);
            let mut want: Vec<(usize, f64)> = targets
                .iter()
                .enumerate()
                .filter_map(|(i, t)| Some((i, reach.distance_to_point(t.as_ref()?)?.0)))
                .collect();
            want.sort_by(|x, y| x.1.total_cmp(&y.1));
            want.truncate(3);
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert_close(g.1, w.1, 1e-6, "nearest distance");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Isochrones

/// Distance in local metres from `p` to the nearest edge that has a reached end.
fn distance_to_reached_edges(g: &WalkGraph, reach: &Reach, p: [f64; 2]) -> f64 {
    let mut best = f64::INFINITY;
    for e in 0..g.edge_count() as u32 {
        let [a, b] = g.edge_nodes(e);
        if reach.node(a).is_none() && reach.node(b).is_none() {
            continue;
        }
        for w in g.edge_xy(e).windows(2) {
            best = best.min(seg_dist(p, w[0], w[1]));
        }
    }
    best
}

#[test]
fn isochrone_properties() {
    let config = WalkConfig::default();
    for (name, picks) in [(NANJING, 3), (PORTO, 4)] {
        let (import, net) = city(name);
        let g = net.graph();
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        let mut reach = Reach::new(g);
        let mut done = 0;
        let mut holes = 0;
        while done < picks {
            let b = &import.buildings[rng.random_range(0..import.buildings.len())];
            let Some(start) = net.snap_building(b) else {
                continue;
            };
            let minutes = [5.0, 10.0, 15.0];
            let budgets: Vec<f64> = minutes.iter().map(|&m| config.metres(m)).collect();
            reach.run(g, &[start], budgets[2], false);
            let style = IsochroneStyle::default();
            let contours = isochrones(g, &reach, &budgets, &style);
            assert_eq!(contours.len(), 3);
            // A true polygon: valid rings, holes inside their exterior, nothing crossing.
            for c in &contours {
                let errors = c.polygon.validation_errors();
                assert!(errors.is_empty(), "{name}: invalid contour: {errors:?}");
            }
            // The construction draws the band on a grid of `cell_m` and simplifies its outline:
            // the boundary is within half a cell diagonal plus the simplification tolerances (of
            // the lines, then of the outline) of the exact band (the stroke construction's was
            // the arc plus the simplification tolerance, 2 m; here 3.8 m).
            let tol = style.cell_m / std::f64::consts::SQRT_2 + 2.0 * style.simplify_m;
            // Same polygon as the plain one-stroke construction (the exact band up to its arc
            // tolerance), up to those tolerances along the boundary.
            if name == NANJING {
                let plain =
                    isochrones_by_stroke(g, &reach, &budgets[1..2], &IsochroneStyle::default());
                let (fast, slow) = (&contours[1].polygon, &plain[0].polygon);
                let ratio = fast.xor(slow).unsigned_area() / slow.unsigned_area();
                println!(
                    "{name}: 10-minute contour differs from the plain stroke by {:.3} %",
                    100.0 * ratio
                );
                assert!(ratio < 0.01, "{ratio}");
            }
            for (c, &b) in contours.iter().zip(&budgets) {
                assert_eq!(c.budget_m, b);
                // The start and every node reached within the budget are inside.
                assert!(c.polygon.intersects(&b_point(start.point)));
                for (n, r) in reach.reached_nodes() {
                    if r.distance_m <= b {
                        let [x, y] = g.node_coord(n);
                        assert!(
                            c.polygon.intersects(&Point::new(x, y)),
                            "{name}: node at {} m outside the {b} m contour",
                            r.distance_m
                        );
                    }
                }
                holes += c
                    .polygon
                    .0
                    .iter()
                    .map(|p| p.interiors().len())
                    .sum::<usize>();
            }
            // Nesting: every vertex of a contour lies in the next one.
            for w in contours.windows(2) {
                assert!(w[1].polygon.unsigned_area() >= w[0].polygon.unsigned_area());
                for poly in &w[0].polygon.0 {
                    for c in poly.exterior().0.iter().step_by(3) {
                        // The overlay snaps coordinates (~1e-9 relative): allow a millimetre.
                        let gap = Euclidean.distance(&Point::from(*c), &w[1].polygon);
                        assert!(gap < 1e-8, "{name}: contours do not nest ({gap} degrees)");
                    }
                }
            }
            // Unreachable stays outside: nodes (of fragments or of the main network) farther
            // than the band (+ the arc tolerance) from every edge reached within 15 minutes.
            let outer = &contours[2].polygon;
            let mut outside = 0;
            for n in (0..g.node_count() as u32).step_by(13) {
                if reach.node(n).is_some() {
                    continue;
                }
                let proj = g.projection();
                let connector = seg_dist(
                    g.node_xy(n),
                    proj.to_xy([start.point.lon(), start.point.lat()]),
                    proj.to_xy([start.point_on_edge.lon(), start.point_on_edge.lat()]),
                );
                let d = distance_to_reached_edges(g, &reach, g.node_xy(n)).min(connector);
                if d > config.band_m + tol {
                    let [x, y] = g.node_coord(n);
                    assert!(
                        !outer.intersects(&Point::new(x, y)),
                        "unreachable node inside"
                    );
                    outside += 1;
                }
            }
            assert!(outside > 0);
            let c = g.projection().centre();
            assert!(!outer.contains(&Point::new(c[0], c[1] + 0.2)));
            done += 1;
        }
        println!("{name}: {holes} holes over {picks} × 3 contours");
        assert!(holes > 0, "{name}: blocks should stay holes");
    }
}

fn b_point(p: LonLat) -> Point<f64> {
    p.point()
}

#[test]
fn isochrones_from_unreachable_point_is_none() {
    let (_, net) = city(NANJING);
    let mut reach = Reach::new(net.graph());
    let c = net.graph().projection().centre();
    let far = LonLat::new(c[0] + 0.1, c[1]).unwrap();
    assert!(net.isochrones_from(&mut reach, far, &[10.0]).is_none());
    let near = net.graph().node_lonlat(0);
    let _ = net.isochrones_from(&mut reach, near, &[5.0, 10.0]);
}
