//! Bounded multi-source Dijkstra on the CSR graph: the hot path of coverage.
//!
//! Seeds are [`Snap`]s (facilities, or one clicked point). Seed `i` reaches the two ends of its
//! edge at `connector + offset to that end`; the search then spreads over the graph until the
//! budget. The result gives, per node, the best distance and the seed it came from, and
//! [`Reach::distance_to_point`] answers for any other snapped point — including one on the
//! same edge as a seed, which the node distances alone would overestimate.
//!
//! [`Reach`] owns every buffer (distances, sources, predecessors, heap, touched list) and is
//! reset in time proportional to what the previous run touched, so a worker thread keeps one
//! and runs query after query without allocating.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::ops::ControlFlow;

use super::graph::{EdgeId, NodeId, WalkGraph};
use super::snap::Snap;

const NONE: u32 = u32::MAX;

/// The best distance to a node and the seed it comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reached {
    /// Network metres, connector of the seed included.
    pub distance_m: f64,
    /// Index of the seed in the slice given to [`Reach::run`].
    pub source: usize,
}

#[derive(Debug, Clone, Copy)]
struct HeapEntry {
    d: f64,
    node: NodeId,
}

impl PartialEq for HeapEntry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for HeapEntry {}
impl PartialOrd for HeapEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for HeapEntry {
    // Reversed: BinaryHeap is a max-heap and we pop the nearest first.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .d
            .total_cmp(&self.d)
            .then_with(|| other.node.cmp(&self.node))
    }
}

/// How the best distance to a snapped point is made up (see [`Reach::best_to_point`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Via {
    /// Through end `k` (0 = `a`, 1 = `b`) of the point's edge.
    End(usize),
    /// Directly along the edge from seed `i`, which is on the same edge.
    SameEdge(usize),
}

/// A bounded multi-source shortest-path search and its result, with reusable buffers.
///
/// ```
/// use geo::LineString;
/// use gridcircle::model::{LonLat, StreetWay};
/// use gridcircle::walk::{Reach, Snapper, WalkConfig, WalkGraph};
/// // One straight street of 1.1 km along the equator, nodes at both ends.
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
/// let snap = |lon: f64| snapper.snap(&graph, LonLat::new(lon, 0.0).unwrap()).unwrap();
/// let seeds = [snap(0.001), snap(0.009)]; // two facilities on the street
/// let mut reach = Reach::new(&graph);
/// reach.run(&graph, &seeds, 500.0, false);
/// // A home at 0.002 is 111 m from seed 0, directly along the same edge.
/// let (metres, source) = reach.distance_to_point(&snap(0.002)).unwrap();
/// assert_eq!(source, 0);
/// assert!((metres - 111.19).abs() < 0.01);
/// // A home in the middle is 445 m from both: within the 500 m budget.
/// assert!(reach.distance_to_point(&snap(0.005)).is_some());
/// // Node b (at 0.01) is 111 m from seed 1.
/// let b = graph.edge_nodes(0)[1];
/// assert_eq!(reach.node(b).unwrap().source, 1);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Reach {
    dist: Vec<f64>,
    source: Vec<u32>,
    pred: Vec<EdgeId>,
    touched: Vec<NodeId>,
    heap: BinaryHeap<HeapEntry>,
    seeds: Vec<Snap>,
    seed_edges: Vec<(EdgeId, u32)>,
    budget_m: f64,
    track_routes: bool,
    complete: bool,
}

impl Reach {
    /// Buffers sized for `graph`. The same `Reach` can be run again and again (also on
    /// another graph: it resizes itself).
    pub fn new(graph: &WalkGraph) -> Reach {
        let n = graph.node_count();
        Reach {
            dist: vec![f64::INFINITY; n],
            source: vec![NONE; n],
            pred: vec![NONE; n],
            ..Reach::default()
        }
    }

    fn reset(&mut self, graph: &WalkGraph) {
        let n = graph.node_count();
        if self.dist.len() != n {
            *self = Reach::new(graph);
            return;
        }
        for &u in &self.touched {
            self.dist[u as usize] = f64::INFINITY;
            self.source[u as usize] = NONE;
            self.pred[u as usize] = NONE;
        }
        self.touched.clear();
        self.heap.clear();
        self.seeds.clear();
        self.seed_edges.clear();
    }

    /// Runs the search from `seeds` up to `budget_m` network metres (connectors included).
    /// `track_routes` keeps predecessors for [`route`](super::route()); coverage runs leave it
    /// off and skip that bookkeeping.
    pub fn run(&mut self, graph: &WalkGraph, seeds: &[Snap], budget_m: f64, track_routes: bool) {
        self.run_until(graph, seeds, budget_m, track_routes, |_, _| {
            ControlFlow::Continue(())
        });
    }

    /// Like [`run`](Self::run), calling `on_settle(node, distance)` as each node's distance
    /// becomes final (in increasing order); `Break` stops the search early, after which only
    /// the nodes settled so far have final distances.
    pub(crate) fn run_until(
        &mut self,
        graph: &WalkGraph,
        seeds: &[Snap],
        budget_m: f64,
        track_routes: bool,
        mut on_settle: impl FnMut(NodeId, f64) -> ControlFlow<()>,
    ) {
        self.reset(graph);
        self.budget_m = budget_m;
        self.track_routes = track_routes;
        self.complete = false;
        self.seeds.extend_from_slice(seeds);
        self.seed_edges
            .extend(seeds.iter().enumerate().map(|(i, s)| (s.edge, i as u32)));
        self.seed_edges.sort_unstable();
        for (i, s) in seeds.iter().enumerate() {
            for k in 0..2 {
                let d = s.connector_m + s.offset_m[k];
                let u = s.ends[k] as usize;
                if d <= budget_m && d < self.dist[u] {
                    if self.dist[u] == f64::INFINITY {
                        self.touched.push(s.ends[k]);
                    }
                    self.dist[u] = d;
                    self.source[u] = i as u32;
                    self.pred[u] = NONE;
                    self.heap.push(HeapEntry { d, node: s.ends[k] });
                }
            }
        }
        let targets = graph.adj_targets();
        let edges = graph.adj_edges();
        let lengths = graph.edge_lengths();
        while let Some(HeapEntry { d, node }) = self.heap.pop() {
            let u = node as usize;
            if d > self.dist[u] {
                continue; // stale entry
            }
            if on_settle(node, d).is_break() {
                return;
            }
            let src = self.source[u];
            for i in graph.adjacency(node) {
                let t = targets[i] as usize;
                let e = edges[i];
                let nd = d + lengths[e as usize];
                if nd <= budget_m && nd < self.dist[t] {
                    if self.dist[t] == f64::INFINITY {
                        self.touched.push(t as NodeId);
                    }
                    self.dist[t] = nd;
                    self.source[t] = src;
                    if track_routes {
                        self.pred[t] = e;
                    }
                    self.heap.push(HeapEntry {
                        d: nd,
                        node: t as NodeId,
                    });
                }
            }
        }
        self.complete = true;
    }

    /// The budget of the last run.
    pub fn budget_m(&self) -> f64 {
        self.budget_m
    }

    /// The seeds of the last run.
    pub fn seeds(&self) -> &[Snap] {
        &self.seeds
    }

    /// Whether the last run kept predecessors.
    pub fn tracks_routes(&self) -> bool {
        self.track_routes
    }

    /// The best distance to `node` and its seed, if reached within the budget.
    #[inline]
    pub fn node(&self, node: NodeId) -> Option<Reached> {
        let d = self.dist[node as usize];
        (d.is_finite() && self.complete).then(|| Reached {
            distance_m: d,
            source: self.source[node as usize] as usize,
        })
    }

    /// The nodes reached within the budget, with their distance and seed (in no particular
    /// order).
    pub fn reached_nodes(&self) -> impl Iterator<Item = (NodeId, Reached)> + '_ {
        self.touched
            .iter()
            .filter_map(|&u| Some((u, self.node(u)?)))
    }

    /// Best distance to a snapped point and how it is made up, ignoring the budget.
    pub(crate) fn best_to_point(&self, target: &Snap) -> Option<(f64, usize, Via)> {
        let mut best: Option<(f64, usize, Via)> = None;
        for k in 0..2 {
            let u = target.ends[k] as usize;
            let d = self.dist[u];
            if d.is_finite() {
                let c = d + target.offset_m[k] + target.connector_m;
                if best.is_none_or(|b| c < b.0) {
                    best = Some((c, self.source[u] as usize, Via::End(k)));
                }
            }
        }
        let first = self.seed_edges.partition_point(|&(e, _)| e < target.edge);
        for &(e, i) in &self.seed_edges[first..] {
            if e != target.edge {
                break;
            }
            let s = &self.seeds[i as usize];
            let c = s.connector_m + (s.offset_m[0] - target.offset_m[0]).abs() + target.connector_m;
            if best.is_none_or(|b| c < b.0) {
                best = Some((c, i as usize, Via::SameEdge(i as usize)));
            }
        }
        best
    }

    /// Walking metres from the nearest seed to a snapped point, and that seed's index, if
    /// within the budget: the better of its edge's two ends (node distance + offset +
    /// connector) and, for a seed on the same edge, the direct walk along it.
    ///
    /// The distance is symmetric, so this is equally the walk from the point to the seed.
    ///
    /// Panics if the last search was stopped early (as [`nearest_k`](super::nearest_k) does):
    /// run a full search first.
    #[inline]
    pub fn distance_to_point(&self, target: &Snap) -> Option<(f64, usize)> {
        assert!(
            self.complete,
            "Reach::distance_to_point after an interrupted search"
        );
        self.best_to_point(target)
            .filter(|b| b.0 <= self.budget_m)
            .map(|(d, s, _)| (d, s))
    }

    /// [`distance_to_point`](Self::distance_to_point) for many points (e.g. every building).
    pub fn distances_to_points<'a>(
        &self,
        targets: impl IntoIterator<Item = Option<&'a Snap>>,
    ) -> Vec<Option<(f64, usize)>> {
        targets
            .into_iter()
            .map(|t| t.and_then(|t| self.distance_to_point(t)))
            .collect()
    }

    pub(crate) fn raw_dist(&self, node: NodeId) -> f64 {
        self.dist[node as usize]
    }

    pub(crate) fn raw_source(&self, node: NodeId) -> u32 {
        self.source[node as usize]
    }

    pub(crate) fn pred(&self, node: NodeId) -> Option<EdgeId> {
        let p = self.pred[node as usize];
        (p != NONE).then_some(p)
    }

    pub(crate) fn touched(&self) -> &[NodeId] {
        &self.touched
    }
}

/// Free-function form of [`Reach::distance_to_point`]: combines the node result with the
/// target's own snap. `None` when the target is not reached within the budget.
pub fn distance_to_point(reach: &Reach, target: &Snap) -> Option<(f64, usize)> {
    reach.distance_to_point(target)
}

#[cfg(test)]
mod tests {
    use geo::LineString;

    use super::*;
    use crate::model::{LonLat, StreetWay};
    use crate::walk::{Snapper, WalkConfig};

    fn line(id: i64, nodes: &[i64], coords: &[(f64, f64)]) -> StreetWay {
        StreetWay {
            id,
            highway: "footway".into(),
            name: None,
            foot: None,
            access: None,
            area: false,
            node_ids: nodes.to_vec(),
            line: LineString::from(coords.to_vec()),
        }
    }

    #[test]
    fn same_edge_and_reuse() {
        // A 1.1 km street split by a side street in its middle.
        let g = WalkGraph::build(&[
            line(1, &[1, 2, 3], &[(0.0, 0.0), (0.005, 0.0), (0.01, 0.0)]),
            line(2, &[2, 4], &[(0.005, 0.0), (0.005, 0.005)]),
        ]);
        let snapper = Snapper::new(
            &g,
            &WalkConfig {
                min_component_nodes: 1,
                ..WalkConfig::default()
            },
        );
        let at = |lon: f64, lat: f64| snapper.snap(&g, LonLat::new(lon, lat).unwrap()).unwrap();
        let seed = at(0.001, 0.0);
        let mut reach = Reach::new(&g);
        reach.run(&g, &[seed], 200.0, true);
        // Both ends of the seed edge are more than 200 m away...
        assert_eq!(reach.reached_nodes().count(), 1); // only node 1 (111 m)
        // ...but a point on the same edge 100 m away is reached directly.
        let (d, s) = reach.distance_to_point(&at(0.0019, 0.0)).unwrap();
        assert_eq!(s, 0);
        assert!((d - 100.08).abs() < 0.01, "{d}");
        // Reuse with another budget: the previous run leaves nothing behind.
        reach.run(&g, &[seed], 50.0, false);
        assert_eq!(reach.reached_nodes().count(), 0);
        assert!(reach.distance_to_point(&at(0.0019, 0.0)).is_none());
        reach.run(&g, &[seed], 2000.0, false);
        assert_eq!(reach.reached_nodes().count(), 4);
        let side = at(0.005, 0.004);
        let (d, _) = reach.distance_to_point(&side).unwrap();
        assert!((d - (444.78 + 444.78)).abs() < 0.1, "{d}");
    }

    #[test]
    fn heap_pops_nearest_first() {
        let mut h = BinaryHeap::new();
        for (d, node) in [(3.0, 1), (1.0, 2), (2.0, 3), (1.0, 0)] {
            h.push(HeapEntry { d, node });
        }
        let order: Vec<u32> = std::iter::from_fn(|| h.pop().map(|e| e.node)).collect();
        assert_eq!(order, vec![0, 2, 3, 1]);
    }
}
