//! The k nearest targets (facilities of a kind) by walking distance from one point.
//!
//! A single-source search from the point that stops as soon as the next node to settle is
//! farther than the k-th best target found: targets are indexed by edge, so when a node is
//! settled the targets on its edges are priced at once.

use std::ops::ControlFlow;

use super::dijkstra::Reach;
use super::graph::{EdgeId, WalkGraph};
use super::snap::Snap;

/// Snapped targets (e.g. every pharmacy) indexed by the edge they join.
#[derive(Debug, Clone)]
pub struct Targets {
    snaps: Vec<Option<Snap>>,
    edge_start: Vec<u32>,
    items: Vec<u32>,
}

impl Targets {
    /// Indexes `snaps` (one per target, `None` for an unreachable one) over `graph`'s edges.
    pub fn new(graph: &WalkGraph, snaps: Vec<Option<Snap>>) -> Targets {
        let m = graph.edge_count();
        let mut edge_start = vec![0u32; m + 1];
        for s in snaps.iter().flatten() {
            edge_start[s.edge as usize + 1] += 1;
        }
        for e in 0..m {
            edge_start[e + 1] += edge_start[e];
        }
        let mut fill = edge_start.clone();
        let mut items = vec![0u32; edge_start[m] as usize];
        for (i, s) in snaps.iter().enumerate() {
            if let Some(s) = s {
                items[fill[s.edge as usize] as usize] = i as u32;
                fill[s.edge as usize] += 1;
            }
        }
        Targets {
            snaps,
            edge_start,
            items,
        }
    }

    /// The snaps, in the order given.
    pub fn snaps(&self) -> &[Option<Snap>] {
        &self.snaps
    }

    fn on_edge(&self, edge: EdgeId) -> &[u32] {
        &self.items
            [self.edge_start[edge as usize] as usize..self.edge_start[edge as usize + 1] as usize]
    }
}

/// Keeps the k best distinct targets seen.
fn offer(best: &mut Vec<(f64, usize)>, k: usize, d: f64, target: usize) {
    if let Some(slot) = best.iter_mut().find(|b| b.1 == target) {
        slot.0 = slot.0.min(d);
    } else if best.len() < k {
        best.push((d, target));
    } else if let Some(worst) = best.iter_mut().max_by(|x, y| x.0.total_cmp(&y.0))
        && d < worst.0
    {
        *worst = (d, target);
    }
}

/// The `k` targets nearest to `origin` by walking (connectors included), within `budget_m`,
/// as `(target index, metres)` nearest first. `reach` is used as scratch space.
///
/// ```
/// use geo::LineString;
/// use gridcircle::model::{LonLat, StreetWay};
/// use gridcircle::walk::{Reach, Snapper, Targets, WalkConfig, WalkGraph, nearest_k};
/// let street = StreetWay {
///     id: 1,
///     highway: "footway".into(),
///     name: None,
///     foot: None,
///     access: None,
///     area: false,
///     node_ids: vec![1, 2],
///     line: LineString::from(vec![(0.0, 0.0), (0.01, 0.0)]),
/// };
/// let graph = WalkGraph::build(&[street]);
/// let snapper = Snapper::new(&graph, &WalkConfig { min_component_nodes: 1, ..Default::default() });
/// let at = |lon: f64, lat: f64| snapper.snap(&graph, LonLat::new(lon, lat).unwrap());
/// let toilets = Targets::new(&graph, vec![at(0.001, 0.0), at(0.008, 0.0), at(0.0045, 0.0001)]);
/// let mut reach = Reach::new(&graph);
/// let home = at(0.005, 0.0).unwrap();
/// let near = nearest_k(&graph, &mut reach, &home, &toilets, 2, 2000.0);
/// assert_eq!(near.iter().map(|n| n.0).collect::<Vec<_>>(), vec![2, 1]);
/// ```
pub fn nearest_k(
    graph: &WalkGraph,
    reach: &mut Reach,
    origin: &Snap,
    targets: &Targets,
    k: usize,
    budget_m: f64,
) -> Vec<(usize, f64)> {
    let mut best: Vec<(f64, usize)> = Vec::with_capacity(k + 1);
    if k == 0 {
        return Vec::new();
    }
    // Targets on the origin's own edge, walked directly.
    for &i in targets.on_edge(origin.edge) {
        let t = targets.snaps[i as usize]
            .as_ref()
            .expect("indexed snaps exist");
        let d = origin.connector_m + (origin.offset_m[0] - t.offset_m[0]).abs() + t.connector_m;
        if d <= budget_m {
            offer(&mut best, k, d, i as usize);
        }
    }
    let adj_edges = graph.adj_edges();
    reach.run_until(
        graph,
        std::slice::from_ref(origin),
        budget_m,
        false,
        |u, d| {
            if best.len() == k && best.iter().all(|b| b.0 <= d) {
                return ControlFlow::Break(());
            }
            for i in graph.adjacency(u) {
                let e = adj_edges[i];
                for &j in targets.on_edge(e) {
                    let t = targets.snaps[j as usize]
                        .as_ref()
                        .expect("indexed snaps exist");
                    for end in 0..2 {
                        if t.ends[end] == u {
                            let c = d + t.offset_m[end] + t.connector_m;
                            if c <= budget_m {
                                offer(&mut best, k, c, j as usize);
                            }
                        }
                    }
                }
            }
            ControlFlow::Continue(())
        },
    );
    best.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
    best.into_iter().map(|(d, i)| (i, d)).collect()
}
