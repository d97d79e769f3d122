//! Snapping points (buildings, facilities, a clicked position) onto the walking graph.
//!
//! A point joins the nearest point of the nearest edge **of a component with at least
//! `min_component_nodes` nodes** (Valhalla's "minimum reachability" idea): real OSM networks
//! are full of fragments (a service road mapped without its junction, a footway that stops
//! short of the street), and a point snapped onto one of them would look unreachable. The walk
//! from the point to the edge (the *connector*) is part of the trip; a connector longer than
//! `max_connector_m` means the point is not reachable at all.
//!
//! The R-tree (rstar 0.14, our own entry type rather than geo's rstar 0.12 impls, as in
//! `index`) holds every edge segment in local metres, fragments included, so that a snap can
//! tell whether a fragment was nearer ([`Snap::moved_off_fragment`]).

use rstar::{AABB, PointDistance, RTree, RTreeObject};

use super::WalkConfig;
use super::graph::{EdgeId, NodeId, WalkGraph, haversine_m};
use crate::model::{Building, LonLat};

/// Where a point joins the walking graph.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Snap {
    /// The point that was snapped (a building's entrance or point, a facility…).
    pub point: LonLat,
    /// The edge it joins.
    pub edge: EdgeId,
    /// The edge's end nodes `[a, b]` (copied from the graph so distance look-ups need only
    /// the search result).
    pub ends: [NodeId; 2],
    /// Index of the polyline segment of `edge` the point joins (between vertex `segment` and
    /// `segment + 1`).
    pub segment: u32,
    /// Metres along the edge from the joining point to `a` and to `b`.
    pub offset_m: [f64; 2],
    /// The joining point on the edge.
    pub point_on_edge: LonLat,
    /// Haversine metres from `point` to `point_on_edge`.
    pub connector_m: f64,
    /// True when an edge of a small fragment was nearer than the edge chosen.
    pub moved_off_fragment: bool,
}

/// Counts over a batch of snaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct SnapCounts {
    /// Points given.
    pub points: usize,
    /// Points joined to the network.
    pub snapped: usize,
    /// Snapped points for which a fragment edge was nearer than the chosen edge.
    pub moved_off_fragment: usize,
    /// Points with no eligible edge within `max_connector_m` (not reachable).
    pub unreachable: usize,
}

impl SnapCounts {
    /// Adds one snap result.
    pub fn add(&mut self, snap: Option<&Snap>) {
        self.points += 1;
        match snap {
            Some(s) => {
                self.snapped += 1;
                self.moved_off_fragment += usize::from(s.moved_off_fragment);
            }
            None => self.unreachable += 1,
        }
    }
}

/// One segment of one edge, in local metres.
#[derive(Debug, Clone, Copy)]
struct Segment {
    a: [f64; 2],
    b: [f64; 2],
    edge: EdgeId,
    segment: u32,
}

impl Segment {
    /// Parameter `t ∈ [0, 1]` of the point of the segment nearest to `p`.
    #[inline]
    fn foot(&self, p: &[f64; 2]) -> f64 {
        let d = [self.b[0] - self.a[0], self.b[1] - self.a[1]];
        let len2 = d[0] * d[0] + d[1] * d[1];
        if len2 == 0.0 {
            return 0.0;
        }
        (((p[0] - self.a[0]) * d[0] + (p[1] - self.a[1]) * d[1]) / len2).clamp(0.0, 1.0)
    }
}

impl RTreeObject for Segment {
    type Envelope = AABB<[f64; 2]>;
    fn envelope(&self) -> Self::Envelope {
        AABB::from_corners(self.a, self.b)
    }
}

impl PointDistance for Segment {
    fn distance_2(&self, p: &[f64; 2]) -> f64 {
        let t = self.foot(p);
        let x = self.a[0] + t * (self.b[0] - self.a[0]) - p[0];
        let y = self.a[1] + t * (self.b[1] - self.a[1]) - p[1];
        x * x + y * y
    }
}

/// Snaps points onto a [`WalkGraph`]. Holds only the segment R-tree and the thresholds; the
/// graph is passed to each call, so both can live side by side in a snapshot.
///
/// ```
/// use geo::LineString;
/// use gridcircle::model::{LonLat, StreetWay};
/// use gridcircle::walk::{Snapper, WalkConfig, WalkGraph};
/// let street = StreetWay {
///     id: 1,
///     highway: "residential".into(),
///     name: None,
///     foot: None,
///     access: None,
///     area: false,
///     node_ids: vec![1, 2],
///     line: LineString::from(vec![(0.0, 0.0), (0.01, 0.0)]), // 1.1 km along the equator
/// };
/// let graph = WalkGraph::build(&[street]);
/// // This toy graph has 2 nodes: accept any component.
/// let config = WalkConfig { min_component_nodes: 1, ..WalkConfig::default() };
/// let snapper = Snapper::new(&graph, &config);
/// let snap = snapper.snap(&graph, LonLat::new(0.002, 0.0009).unwrap()).unwrap();
/// assert!((snap.connector_m - 100.08).abs() < 0.01);
/// assert!((snap.offset_m[0] - 222.39).abs() < 0.01);
/// assert!((snap.offset_m[0] + snap.offset_m[1] - graph.edge_length_m(snap.edge)).abs() < 1e-9);
/// // 5 km away: not reachable (no panic, no far-away snap).
/// assert!(snapper.snap(&graph, LonLat::new(0.005, 0.045).unwrap()).is_none());
/// ```
#[derive(Debug, Clone)]
pub struct Snapper {
    tree: RTree<Segment>,
    eligible_component: Vec<bool>,
    min_component_nodes: usize,
    max_connector_m: f64,
}

impl Snapper {
    /// Indexes every segment of `graph`; thresholds come from `config`
    /// (`min_component_nodes`, `max_connector_m`).
    pub fn new(graph: &WalkGraph, config: &WalkConfig) -> Snapper {
        let mut segments = Vec::new();
        for e in 0..graph.edge_count() as EdgeId {
            let xy = graph.edge_xy(e);
            for (i, w) in xy.windows(2).enumerate() {
                segments.push(Segment {
                    a: w[0],
                    b: w[1],
                    edge: e,
                    segment: i as u32,
                });
            }
        }
        let eligible_component = graph
            .component_sizes()
            .iter()
            .map(|&s| s as usize >= config.min_component_nodes)
            .collect();
        Snapper {
            tree: RTree::bulk_load(segments),
            eligible_component,
            min_component_nodes: config.min_component_nodes,
            max_connector_m: config.max_connector_m,
        }
    }

    /// The minimum component size an edge needs to be snapped to.
    pub fn min_component_nodes(&self) -> usize {
        self.min_component_nodes
    }

    /// The longest connector accepted, in metres.
    pub fn max_connector_m(&self) -> f64 {
        self.max_connector_m
    }

    /// Joins `point` to the nearest eligible edge, or `None` when no eligible edge is within
    /// `max_connector_m` (haversine) of it: the point is not reachable on foot.
    pub fn snap(&self, graph: &WalkGraph, point: LonLat) -> Option<Snap> {
        let projection = graph.projection();
        let q = projection.to_xy([point.lon(), point.lat()]);
        // The projection is within 0.1 % of haversine over a city; search a little further
        // and decide with haversine below.
        let limit = self.max_connector_m * 1.01 + 1.0;
        let limit2 = limit * limit;
        let mut nearer_fragment = false;
        for (seg, d2) in self.tree.nearest_neighbor_iter_with_distance_2(q) {
            if d2 > limit2 {
                return None;
            }
            if !self.eligible_component[graph.edge_component(seg.edge) as usize] {
                nearer_fragment = true;
                continue;
            }
            let t = seg.foot(&q);
            let coords = graph.edge_coords(seg.edge);
            let (a, b) = (
                coords[seg.segment as usize],
                coords[seg.segment as usize + 1],
            );
            let foot = [a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])];
            let connector_m = haversine_m([point.lon(), point.lat()], foot);
            if connector_m > self.max_connector_m {
                return None;
            }
            let length = graph.edge_length_m(seg.edge);
            let along = (graph.edge_cumulative_m(seg.edge)[seg.segment as usize]
                + haversine_m(a, foot))
            .min(length);
            return Some(Snap {
                point,
                edge: seg.edge,
                ends: graph.edge_nodes(seg.edge),
                segment: seg.segment,
                offset_m: [along, (length - along).max(0.0)],
                point_on_edge: LonLat::new(foot[0], foot[1])
                    .expect("a point between two valid positions is valid"),
                connector_m,
                moved_off_fragment: nearer_fragment,
            });
        }
        None
    }

    /// Snaps a building from its entrance when it has one, else from its point.
    pub fn snap_building(&self, graph: &WalkGraph, building: &Building) -> Option<Snap> {
        self.snap(graph, building.entrance.unwrap_or(building.point))
    }

    /// Snaps many points, counting how many were moved off fragments or are unreachable.
    pub fn snap_all(
        &self,
        graph: &WalkGraph,
        points: impl IntoIterator<Item = LonLat>,
    ) -> (Vec<Option<Snap>>, SnapCounts) {
        let mut counts = SnapCounts::default();
        let snaps = points
            .into_iter()
            .map(|p| {
                let s = self.snap(graph, p);
                counts.add(s.as_ref());
                s
            })
            .collect();
        (snaps, counts)
    }
}
