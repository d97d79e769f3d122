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
//!
//! The priority queue is a radix heap ([`RadixHeap`]) keyed by the IEEE-754 bits of the
//! distances (O(1) pushes, no comparisons of entries), each node's distance, seed and
//! predecessor share one 16-byte record, edge lengths sit beside the CSR targets, and a
//! seed-edge bitset spares most look-ups a binary search (docs/PERFORMANCE.md, W3: 27 → 19 ms
//! of CPU per kind at 4×4 with the other changes there). The distances are the same `f64` sums
//! as with a binary heap, bit for bit: only the order in which equal distances are settled may
//! differ.

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

/// A monotone priority queue of nodes keyed by non-negative distances (a radix heap).
///
/// Hand-written because no maintained crate offers one over `f64` keys with reusable buffers.
/// Dijkstra never pushes a key below the last one popped, which is all a radix heap needs: a
/// key lives in bucket `i` when its bits first differ from the last popped key's at bit
/// `i - 1` (bucket 0: equal). Non-negative `f64`s order like their bit patterns as `u64`, so
/// the keys are the distances' bits and no rounding is involved. Push is O(1); a pop that
/// finds bucket 0 empty moves the smallest non-empty bucket down, each entry at most 64 times
/// in all, in practice a handful. Buckets keep their capacity across runs.
#[derive(Debug, Clone)]
pub(crate) struct RadixHeap {
    last: u64,
    len: usize,
    buckets: Vec<Vec<(u64, NodeId)>>,
}

impl Default for RadixHeap {
    fn default() -> Self {
        RadixHeap {
            last: 0,
            len: 0,
            buckets: vec![Vec::new(); 65],
        }
    }
}

impl RadixHeap {
    #[inline]
    fn bucket(last: u64, key: u64) -> usize {
        (64 - (key ^ last).leading_zeros()) as usize
    }

    /// Empties the heap (keeping its buffers).
    pub(crate) fn clear(&mut self) {
        for b in &mut self.buckets {
            b.clear();
        }
        self.last = 0;
        self.len = 0;
    }

    /// Adds `node` at distance `d` (`d ≥ 0` and not below the last distance popped).
    #[inline]
    pub(crate) fn push(&mut self, d: f64, node: NodeId) {
        debug_assert!(d >= 0.0, "negative distance {d}");
        let key = d.to_bits();
        debug_assert!(key >= self.last, "radix heap keys must not decrease");
        self.buckets[Self::bucket(self.last, key)].push((key, node));
        self.len += 1;
    }

    /// Removes a node of the smallest distance.
    #[inline]
    pub(crate) fn pop(&mut self) -> Option<(f64, NodeId)> {
        if self.len == 0 {
            return None;
        }
        if self.buckets[0].is_empty() {
            let i = (1..65)
                .find(|&i| !self.buckets[i].is_empty())
                .expect("len > 0");
            let moved = std::mem::take(&mut self.buckets[i]);
            self.last = moved.iter().map(|e| e.0).min().expect("non-empty bucket");
            for &(key, node) in &moved {
                self.buckets[Self::bucket(self.last, key)].push((key, node));
            }
            // Give the emptied bucket its buffer back.
            let mut moved = moved;
            moved.clear();
            self.buckets[i] = moved;
        }
        self.len -= 1;
        let (key, node) = self.buckets[0].pop().expect("bucket 0 holds the minimum");
        Some((f64::from_bits(key), node))
    }
}

/// A node's search state, in one record so that a relaxation touches one cache line.
#[derive(Debug, Clone, Copy)]
struct NodeState {
    dist: f64,
    source: u32,
    pred: EdgeId,
}

const UNREACHED: NodeState = NodeState {
    dist: f64::INFINITY,
    source: NONE,
    pred: NONE,
};

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
    state: Vec<NodeState>,
    touched: Vec<NodeId>,
    heap: RadixHeap,
    seeds: Vec<Snap>,
    seed_edges: Vec<(EdgeId, u32)>,
    /// One bit per edge: does a seed lie on it? Lets [`Reach::best_to_point`] skip the
    /// binary search of `seed_edges` for almost every point.
    seed_edge_bits: Vec<u64>,
    budget_m: f64,
    track_routes: bool,
    complete: bool,
}

impl Reach {
    /// Buffers sized for `graph`. The same `Reach` can be run again and again (also on
    /// another graph: it resizes itself).
    pub fn new(graph: &WalkGraph) -> Reach {
        Reach {
            state: vec![UNREACHED; graph.node_count()],
            seed_edge_bits: vec![0; graph.edge_count().div_ceil(64)],
            ..Reach::default()
        }
    }

    fn reset(&mut self, graph: &WalkGraph) {
        if self.state.len() != graph.node_count()
            || self.seed_edge_bits.len() != graph.edge_count().div_ceil(64)
        {
            *self = Reach::new(graph);
            return;
        }
        if self.touched.len() * 4 > self.state.len() {
            self.state.fill(UNREACHED);
        } else {
            for &u in &self.touched {
                self.state[u as usize] = UNREACHED;
            }
        }
        for &(e, _) in &self.seed_edges {
            self.seed_edge_bits[e as usize / 64] = 0;
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
        for &(e, _) in &self.seed_edges {
            self.seed_edge_bits[e as usize / 64] |= 1 << (e % 64);
        }
        for (i, s) in seeds.iter().enumerate() {
            for k in 0..2 {
                let d = s.connector_m + s.offset_m[k];
                let u = s.ends[k] as usize;
                let st = &mut self.state[u];
                if d <= budget_m && d < st.dist {
                    if st.dist == f64::INFINITY {
                        self.touched.push(s.ends[k]);
                    }
                    *st = NodeState {
                        dist: d,
                        source: i as u32,
                        pred: NONE,
                    };
                    self.heap.push(d, s.ends[k]);
                }
            }
        }
        let offsets = graph.offsets();
        let targets = graph.adj_targets();
        let edges = graph.adj_edges();
        let lengths = graph.adj_lengths();
        while let Some((d, node)) = self.heap.pop() {
            let u = node as usize;
            if d > self.state[u].dist {
                continue; // stale entry
            }
            if on_settle(node, d).is_break() {
                return;
            }
            let src = self.state[u].source;
            let slots = offsets[u] as usize..offsets[u + 1] as usize;
            for (i, (&t, &len)) in targets[slots.clone()]
                .iter()
                .zip(&lengths[slots.clone()])
                .enumerate()
            {
                let nd = d + len;
                let st = &mut self.state[t as usize];
                if nd <= budget_m && nd < st.dist {
                    if st.dist == f64::INFINITY {
                        self.touched.push(t);
                    }
                    st.dist = nd;
                    st.source = src;
                    if track_routes {
                        st.pred = edges[slots.start + i];
                    }
                    self.heap.push(nd, t);
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
        let st = self.state[node as usize];
        (st.dist.is_finite() && self.complete).then_some(Reached {
            distance_m: st.dist,
            source: st.source as usize,
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
            let st = self.state[target.ends[k] as usize];
            if st.dist.is_finite() {
                let c = st.dist + target.offset_m[k] + target.connector_m;
                if best.is_none_or(|b| c < b.0) {
                    best = Some((c, st.source as usize, Via::End(k)));
                }
            }
        }
        let e = target.edge as usize;
        if self.seed_edge_bits[e / 64] & (1 << (e % 64)) == 0 {
            return best;
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
        self.state[node as usize].dist
    }

    pub(crate) fn raw_source(&self, node: NodeId) -> u32 {
        self.state[node as usize].source
    }

    pub(crate) fn pred(&self, node: NodeId) -> Option<EdgeId> {
        let p = self.state[node as usize].pred;
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
        let mut h = RadixHeap::default();
        for (d, node) in [(3.0, 1), (1.0, 2), (2.0, 3), (1.0, 0), (0.0, 4)] {
            h.push(d, node);
        }
        let mut order = Vec::new();
        while let Some((d, node)) = h.pop() {
            order.push((d, node));
            if node == 2 {
                // Pushing during the search, never below the last key popped.
                h.push(1.5, 5);
                h.push(1.0, 6);
            }
        }
        let ds: Vec<f64> = order.iter().map(|o| o.0).collect();
        assert_eq!(ds, vec![0.0, 1.0, 1.0, 1.0, 1.5, 2.0, 3.0]);
        assert_eq!(order[0].1, 4);
        assert_eq!(order[4].1, 5);
        assert!(h.pop().is_none());
    }

    #[test]
    fn radix_heap_agrees_with_sorting() {
        // Random Dijkstra-like use: keys at or above the last popped, compared with a sort.
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut h = RadixHeap::default();
        for round in 0..3 {
            h.clear();
            let mut reference: Vec<f64> = Vec::new();
            let mut popped = Vec::new();
            let mut last = 0.0f64;
            for i in 0..2_000u32 {
                let d = last + rng.random_range(0.0..500.0) * f64::from(i % 3);
                h.push(d, i);
                reference.push(d);
                if i % 2 == 1 {
                    let (d, _) = h.pop().unwrap();
                    assert!(d >= last, "round {round}: {d} < {last}");
                    last = d;
                    popped.push(d);
                }
            }
            while let Some((d, _)) = h.pop() {
                assert!(d >= last);
                last = d;
                popped.push(d);
            }
            reference.sort_by(f64::total_cmp);
            // Interleaved pops see only what was pushed so far, so compare as multisets.
            popped.sort_by(f64::total_cmp);
            assert_eq!(popped, reference);
        }
    }
}
