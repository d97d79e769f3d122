//! The walked path from a point to its nearest seed, as a line to draw.

use geo::{Coord, LineString};

use super::dijkstra::{Reach, Via};
use super::graph::WalkGraph;
use super::snap::Snap;

/// A shortest walk from a point to a seed.
#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    /// Index of the seed reached (in the seeds given to [`Reach::run`]).
    pub source: usize,
    /// Network metres, both connectors included (the search's distance).
    pub distance_m: f64,
    /// From the point, along its connector, the partial edges and whole edges walked, to the
    /// seed's connector and the seed itself (lon/lat).
    pub line: LineString<f64>,
}

/// Appends the part of `snap.edge` between the snap's joining point and end `k` (from the
/// joining point to the end).
fn towards_end(graph: &WalkGraph, snap: &Snap, k: usize, out: &mut Vec<[f64; 2]>) {
    let coords = graph.edge_coords(snap.edge);
    let seg = snap.segment as usize;
    push(out, [snap.point_on_edge.lon(), snap.point_on_edge.lat()]);
    if k == 0 {
        for c in coords[..=seg].iter().rev() {
            push(out, *c);
        }
    } else {
        for c in &coords[seg + 1..] {
            push(out, *c);
        }
    }
}

/// Appends `p` unless it repeats the last position.
fn push(out: &mut Vec<[f64; 2]>, p: [f64; 2]) {
    if out.last() != Some(&p) {
        out.push(p);
    }
}

/// The shortest walk from `target` (a snapped point: a home, a clicked position) to the
/// nearest seed of `reach`, or `None` when no seed is within the budget.
///
/// Needs a search run with `track_routes = true` (it panics otherwise: that is a bug in the
/// caller). The line's haversine length equals [`Route::distance_m`] to well under a metre.
///
/// ```
/// use geo::{Haversine, Length, LineString};
/// use gridcircle::model::{LonLat, StreetWay};
/// use gridcircle::walk::{Reach, Snapper, WalkConfig, WalkGraph, route};
/// let way = |id, nodes: Vec<i64>, coords: Vec<(f64, f64)>| StreetWay {
///     id,
///     highway: "residential".into(),
///     name: None,
///     foot: None,
///     access: None,
///     area: false,
///     node_ids: nodes,
///     line: LineString::from(coords),
/// };
/// // An "L": east along the equator, then north.
/// let graph = WalkGraph::build(&[
///     way(1, vec![1, 2], vec![(0.0, 0.0), (0.002, 0.0)]),
///     way(2, vec![2, 3], vec![(0.002, 0.0), (0.002, 0.002)]),
/// ]);
/// let snapper = Snapper::new(&graph, &WalkConfig { min_component_nodes: 1, ..Default::default() });
/// let pharmacy = snapper.snap(&graph, LonLat::new(0.0021, 0.0015).unwrap()).unwrap();
/// let home = snapper.snap(&graph, LonLat::new(0.0005, -0.0002).unwrap()).unwrap();
/// let mut reach = Reach::new(&graph);
/// reach.run(&graph, &[pharmacy], 1000.0, true);
/// let r = route(&graph, &reach, &home).unwrap();
/// assert_eq!(r.line.0.first().unwrap().x, 0.0005); // starts at home
/// assert_eq!(r.line.0.last().unwrap().y, 0.0015); // ends at the pharmacy
/// assert!((Haversine.length(&r.line) - r.distance_m).abs() < 0.01);
/// ```
pub fn route(graph: &WalkGraph, reach: &Reach, target: &Snap) -> Option<Route> {
    assert!(
        reach.tracks_routes(),
        "walk::route needs a search run with track_routes = true"
    );
    let (distance_m, source, via) = reach.best_to_point(target)?;
    if distance_m > reach.budget_m() {
        return None;
    }
    let mut out: Vec<[f64; 2]> = Vec::new();
    push(&mut out, [target.point.lon(), target.point.lat()]);
    let seed = match via {
        Via::SameEdge(i) => {
            let seed = &reach.seeds()[i];
            let coords = graph.edge_coords(target.edge);
            push(
                &mut out,
                [target.point_on_edge.lon(), target.point_on_edge.lat()],
            );
            let (ts, ss) = (target.segment as usize, seed.segment as usize);
            if target.offset_m[0] <= seed.offset_m[0] {
                for c in coords.iter().take(ss + 1).skip(ts + 1) {
                    push(&mut out, *c);
                }
            } else {
                for c in coords[ss + 1..=ts].iter().rev() {
                    push(&mut out, *c);
                }
            }
            seed
        }
        Via::End(k) => {
            towards_end(graph, target, k, &mut out);
            let mut node = target.ends[k];
            while let Some(e) = reach.pred(node) {
                let [a, b] = graph.edge_nodes(e);
                let coords = graph.edge_coords(e);
                if node == a {
                    coords.iter().for_each(|c| push(&mut out, *c));
                    node = b;
                } else {
                    coords.iter().rev().for_each(|c| push(&mut out, *c));
                    node = a;
                }
            }
            // `node` was seeded directly: walk the seed's edge from it to the seed.
            let seed = &reach.seeds()[reach.raw_source(node) as usize];
            let k = if seed.ends[0] == node && seed.ends[1] == node {
                usize::from(seed.offset_m[1] < seed.offset_m[0])
            } else {
                usize::from(seed.ends[1] == node)
            };
            let mut back = Vec::new();
            towards_end(graph, seed, k, &mut back);
            back.iter().rev().for_each(|c| push(&mut out, *c));
            seed
        }
    };
    push(
        &mut out,
        [seed.point_on_edge.lon(), seed.point_on_edge.lat()],
    );
    push(&mut out, [seed.point.lon(), seed.point.lat()]);
    if out.len() == 1 {
        out.push(out[0]); // the point is the seed: a zero-length line, still a valid LineString
    }
    Some(Route {
        source,
        distance_m,
        line: LineString::new(out.into_iter().map(|[x, y]| Coord { x, y }).collect()),
    })
}
