//! The walking graph: walkable OSM ways split at shared nodes, as a compact CSR.
//!
//! Layout (all indices `u32`):
//! - nodes `0..n`: coordinates (lon/lat and local metres), OSM node id, component id;
//! - CSR adjacency: `offsets[n]..offsets[n + 1]` index `targets` (the neighbour) and
//!   `adj_edges` (the edge leading there). An undirected edge appears once in the list of each
//!   end (a self-loop, e.g. a closed footway around a square, appears once);
//! - edges `0..m`: end nodes `[a, b]`, length in metres, OSM way id, and the polyline from `a`
//!   to `b` (with its intermediate OSM vertices) in a shared pool with cumulative lengths.
//!
//! Weights are `f64`. The graph is small (Porto: ~10 k edges, 80 kB of weights), so halving it
//! buys nothing measurable, while `f32` (24-bit mantissa) would round a 5 km path sum at the
//! centimetre level and make the node distances disagree with per-point distances computed in
//! `f64` (connectors, offsets along an edge) and with reference implementations in tests.

use std::collections::HashMap;

use geo::{Distance, Haversine, LineString, Point};

use crate::model::{LonLat, StreetWay};

/// Index of a node of a [`WalkGraph`].
pub type NodeId = u32;
/// Index of an edge of a [`WalkGraph`].
pub type EdgeId = u32;

/// `highway=*` values a pedestrian may walk along (see [`is_walkable`]).
pub const WALKABLE_HIGHWAYS: [&str; 20] = [
    "footway",
    "pedestrian",
    "path",
    "steps",
    "living_street",
    "residential",
    "service",
    "unclassified",
    "tertiary",
    "tertiary_link",
    "secondary",
    "secondary_link",
    "primary",
    "primary_link",
    "track",
    "cycleway",
    "corridor",
    "road",
    "trunk",
    "trunk_link",
];

/// The walkability rule, in one place.
///
/// A way is walkable when
/// - its `highway` is one of [`WALKABLE_HIGHWAYS`] (motorways, construction, proposed,
///   platforms, bus stops… are not);
/// - it is not `foot=no`;
/// - it is not `access=private` or `access=no`, unless `foot=yes|designated|permissive` opens
///   it to pedestrians again;
/// - it is not `area=yes`: a pedestrian square mapped as a closed way is an area you cross in
///   any direction, not a line around its rim, so routing along its outline would be wrong.
///
/// ```
/// use geo::LineString;
/// use gridcircle::model::StreetWay;
/// use gridcircle::walk::is_walkable;
/// let way = |highway: &str, foot: Option<&str>, access: Option<&str>| StreetWay {
///     id: 1,
///     highway: highway.into(),
///     name: None,
///     foot: foot.map(Into::into),
///     access: access.map(Into::into),
///     area: false,
///     node_ids: vec![1, 2],
///     line: LineString::from(vec![(0.0, 0.0), (0.0, 0.001)]),
/// };
/// assert!(is_walkable(&way("residential", None, None)));
/// assert!(!is_walkable(&way("motorway", None, None)));
/// assert!(!is_walkable(&way("footway", Some("no"), None)));
/// assert!(!is_walkable(&way("service", None, Some("private"))));
/// assert!(is_walkable(&way("service", Some("permissive"), Some("private"))));
/// assert!(!is_walkable(&StreetWay { area: true, ..way("pedestrian", None, None) }));
/// ```
pub fn is_walkable(way: &StreetWay) -> bool {
    if way.area || !WALKABLE_HIGHWAYS.contains(&way.highway.as_str()) {
        return false;
    }
    let foot = way.foot.as_deref();
    if foot == Some("no") {
        return false;
    }
    let foot_allowed = matches!(foot, Some("yes" | "designated" | "permissive"));
    !matches!(way.access.as_deref(), Some("private" | "no")) || foot_allowed
}

/// Haversine metres between two `[lon, lat]` positions: the same formula and radius as
/// [`LonLat::distance_m`], without building `LonLat`s in the hot loops.
pub(crate) fn haversine_m(a: [f64; 2], b: [f64; 2]) -> f64 {
    Haversine.distance(Point::new(a[0], a[1]), Point::new(b[0], b[1]))
}

/// An equirectangular projection to metres around a centre: `x` east, `y` north.
///
/// Over a city (a few km) its distance error against haversine is well under 0.1 %, which is
/// plenty for choosing the nearest segment and for buffering; distances that are reported
/// (lengths, connectors) are always haversine.
///
/// ```
/// use gridcircle::model::LonLat;
/// use gridcircle::walk::LocalProjection;
/// let centre = LonLat::new(118.78, 32.04).unwrap();
/// let p = LocalProjection::new(centre);
/// let xy = p.to_xy([118.79, 32.05]);
/// let back = p.to_lonlat(xy);
/// assert!((back[0] - 118.79).abs() < 1e-12 && (back[1] - 32.05).abs() < 1e-12);
/// let d = (xy[0].powi(2) + xy[1].powi(2)).sqrt();
/// let h = centre.distance_m(LonLat::new(118.79, 32.05).unwrap());
/// assert!((d - h).abs() / h < 1e-3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalProjection {
    lon0: f64,
    lat0: f64,
    kx: f64,
    ky: f64,
}

impl LocalProjection {
    /// A projection centred on `centre`, using the haversine mean Earth radius.
    pub fn new(centre: LonLat) -> Self {
        let ky = Haversine.radius().to_radians();
        LocalProjection {
            lon0: centre.lon(),
            lat0: centre.lat(),
            kx: ky * centre.lat().to_radians().cos(),
            ky,
        }
    }

    /// The centre.
    pub fn centre(&self) -> [f64; 2] {
        [self.lon0, self.lat0]
    }

    /// `[lon, lat]` degrees to `[x, y]` metres.
    #[inline]
    pub fn to_xy(&self, lonlat: [f64; 2]) -> [f64; 2] {
        [
            (lonlat[0] - self.lon0) * self.kx,
            (lonlat[1] - self.lat0) * self.ky,
        ]
    }

    /// `[x, y]` metres back to `[lon, lat]` degrees.
    #[inline]
    pub fn to_lonlat(&self, xy: [f64; 2]) -> [f64; 2] {
        [xy[0] / self.kx + self.lon0, xy[1] / self.ky + self.lat0]
    }
}

/// Counts describing a built graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct GraphStats {
    /// Ways given to [`WalkGraph::build`].
    pub ways: usize,
    /// Ways that passed [`is_walkable`] and were used.
    pub walkable_ways: usize,
    /// Walkable ways skipped because their geometry was unusable (fewer than two positions, or
    /// `node_ids` not matching the line).
    pub broken_ways: usize,
    /// Graph nodes (way ends and nodes shared by two or more way positions).
    pub nodes: usize,
    /// Undirected edges.
    pub edges: usize,
    /// Connected components.
    pub components: usize,
    /// Nodes in the largest component.
    pub largest_component_nodes: usize,
}

/// The walking network as a compact, immutable CSR graph (see the module docs for the layout).
///
/// Built from the stored street ways, so it needs no persistence of its own: rebuild it when
/// the snapshot is built (a few milliseconds for Porto; see `benches/walk.rs`).
///
/// Components are numbered by decreasing size: component 0 is the main network.
///
/// ```
/// use geo::LineString;
/// use gridcircle::model::StreetWay;
/// use gridcircle::walk::WalkGraph;
/// // A "T": way 1 runs west-east through node 2, way 2 leaves node 2 to the north.
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
/// let ways = [
///     way(1, vec![1, 2, 3], vec![(0.0, 0.0), (0.001, 0.0), (0.002, 0.0)]),
///     way(2, vec![2, 4, 5], vec![(0.001, 0.0), (0.001, 0.0005), (0.001, 0.001)]),
/// ];
/// let g = WalkGraph::build(&ways);
/// assert_eq!(g.node_count(), 4); // 1, 2, 3, 5 (4 is an intermediate vertex)
/// assert_eq!(g.edge_count(), 3);
/// assert_eq!(g.component_sizes(), &[4]);
/// let north = (0..3).find(|&e| g.edge_way_id(e) == 2).unwrap();
/// assert_eq!(g.edge_coords(north).len(), 3); // keeps the intermediate vertex
/// assert!((g.edge_length_m(north) - 111.19).abs() < 0.01);
/// ```
#[derive(Debug, Clone)]
pub struct WalkGraph {
    node_lonlat: Vec<[f64; 2]>,
    node_xy: Vec<[f64; 2]>,
    node_osm: Vec<i64>,
    offsets: Vec<u32>,
    targets: Vec<NodeId>,
    adj_edges: Vec<EdgeId>,
    /// The length of each adjacency slot's edge, stored again next to `targets` so that the
    /// search reads neighbour and length from two sequential runs instead of a random
    /// `edge_len[adj_edges[i]]` per relaxation.
    adj_len: Vec<f64>,
    edge_nodes: Vec<[NodeId; 2]>,
    edge_len: Vec<f64>,
    edge_way: Vec<i64>,
    geom_start: Vec<u32>,
    pool_lonlat: Vec<[f64; 2]>,
    pool_xy: Vec<[f64; 2]>,
    pool_cum: Vec<f64>,
    component: Vec<u32>,
    component_size: Vec<u32>,
    projection: LocalProjection,
    stats: GraphStats,
}

impl WalkGraph {
    /// Builds the graph from street ways: keeps the [`is_walkable`] ones, splits them at graph
    /// nodes (each way's two ends, and every OSM node used more than once by the walkable
    /// ways), and measures every edge with haversine along its polyline.
    pub fn build(ways: &[StreetWay]) -> WalkGraph {
        let mut stats = GraphStats {
            ways: ways.len(),
            ..GraphStats::default()
        };
        let mut usable: Vec<&StreetWay> = Vec::new();
        for way in ways.iter().filter(|w| is_walkable(w)) {
            stats.walkable_ways += 1;
            if way.node_ids.len() >= 2 && way.node_ids.len() == way.line.0.len() {
                usable.push(way);
            } else {
                stats.broken_ways += 1;
            }
        }

        // How often each OSM node is used; ends count twice so they always split.
        let positions: usize = usable.iter().map(|w| w.node_ids.len()).sum();
        let mut uses: HashMap<i64, u32> = HashMap::with_capacity(positions);
        for way in &usable {
            let last = way.node_ids.len() - 1;
            for (i, id) in way.node_ids.iter().enumerate() {
                *uses.entry(*id).or_insert(0) += if i == 0 || i == last { 2 } else { 1 };
            }
        }

        // Projection centre: the middle of the bounding box.
        let (mut min, mut max) = ([f64::MAX; 2], [f64::MIN; 2]);
        for way in &usable {
            for c in &way.line.0 {
                min = [min[0].min(c.x), min[1].min(c.y)];
                max = [max[0].max(c.x), max[1].max(c.y)];
            }
        }
        let centre = if usable.is_empty() {
            LonLat::new(0.0, 0.0)
        } else {
            LonLat::new((min[0] + max[0]) / 2.0, (min[1] + max[1]) / 2.0)
        }
        .expect("centre of valid coordinates is valid");
        let projection = LocalProjection::new(centre);

        let mut node_of: HashMap<i64, NodeId> = HashMap::new();
        let mut node_lonlat = Vec::new();
        let mut node_osm = Vec::new();
        let mut edge_nodes = Vec::new();
        let mut edge_len = Vec::new();
        let mut edge_way = Vec::new();
        let mut geom_start = vec![0u32];
        let mut pool_lonlat: Vec<[f64; 2]> = Vec::with_capacity(positions + usable.len());
        let mut pool_cum: Vec<f64> = Vec::with_capacity(positions + usable.len());
        let mut node_id = |osm: i64, at: [f64; 2]| -> NodeId {
            *node_of.entry(osm).or_insert_with(|| {
                node_lonlat.push(at);
                node_osm.push(osm);
                (node_lonlat.len() - 1) as NodeId
            })
        };
        for way in &usable {
            let coords: Vec<[f64; 2]> = way.line.0.iter().map(|c| [c.x, c.y]).collect();
            let mut start = 0usize;
            let mut start_node = node_id(way.node_ids[0], coords[0]);
            for i in 1..coords.len() {
                if uses[&way.node_ids[i]] < 2 {
                    continue;
                }
                let end_node = node_id(way.node_ids[i], coords[i]);
                let piece = &coords[start..=i];
                let mut cum = 0.0;
                let base = pool_lonlat.len();
                for (j, p) in piece.iter().enumerate() {
                    if j > 0 {
                        cum += haversine_m(piece[j - 1], *p);
                    }
                    pool_lonlat.push(*p);
                    pool_cum.push(cum);
                }
                if start_node == end_node && cum == 0.0 {
                    // A repeated node: a zero-length loop carries nothing.
                    pool_lonlat.truncate(base);
                    pool_cum.truncate(base);
                } else {
                    edge_nodes.push([start_node, end_node]);
                    edge_len.push(cum);
                    edge_way.push(way.id);
                    geom_start.push(pool_lonlat.len() as u32);
                }
                start = i;
                start_node = end_node;
            }
        }

        let n = node_lonlat.len();
        let m = edge_nodes.len();
        // CSR: count degrees, prefix sums, fill.
        let mut offsets = vec![0u32; n + 1];
        for &[a, b] in &edge_nodes {
            offsets[a as usize + 1] += 1;
            if a != b {
                offsets[b as usize + 1] += 1;
            }
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut targets = vec![0; offsets[n] as usize];
        let mut adj_edges = vec![0; offsets[n] as usize];
        for (e, &[a, b]) in edge_nodes.iter().enumerate() {
            let slot = fill[a as usize] as usize;
            targets[slot] = b;
            adj_edges[slot] = e as EdgeId;
            fill[a as usize] += 1;
            if a != b {
                let slot = fill[b as usize] as usize;
                targets[slot] = a;
                adj_edges[slot] = e as EdgeId;
                fill[b as usize] += 1;
            }
        }

        // Components by BFS, then renumbered by decreasing size (ties: lowest first node).
        const NONE: u32 = u32::MAX;
        let mut raw = vec![NONE; n];
        let mut sizes: Vec<(u32, u32)> = Vec::new(); // (size, raw id)
        let mut queue: Vec<NodeId> = Vec::new();
        for s in 0..n {
            if raw[s] != NONE {
                continue;
            }
            let id = sizes.len() as u32;
            raw[s] = id;
            queue.clear();
            queue.push(s as NodeId);
            let mut head = 0;
            while head < queue.len() {
                let u = queue[head] as usize;
                head += 1;
                for &t in &targets[offsets[u] as usize..offsets[u + 1] as usize] {
                    if raw[t as usize] == NONE {
                        raw[t as usize] = id;
                        queue.push(t);
                    }
                }
            }
            sizes.push((queue.len() as u32, id));
        }
        let mut order: Vec<u32> = (0..sizes.len() as u32).collect();
        order.sort_by_key(|&c| (std::cmp::Reverse(sizes[c as usize].0), c));
        let mut rank = vec![0u32; sizes.len()];
        for (r, &c) in order.iter().enumerate() {
            rank[c as usize] = r as u32;
        }
        let component: Vec<u32> = raw.iter().map(|&c| rank[c as usize]).collect();
        let component_size: Vec<u32> = order.iter().map(|&c| sizes[c as usize].0).collect();

        let adj_len = adj_edges.iter().map(|&e| edge_len[e as usize]).collect();
        let node_xy = node_lonlat.iter().map(|&p| projection.to_xy(p)).collect();
        let pool_xy = pool_lonlat.iter().map(|&p| projection.to_xy(p)).collect();
        stats.nodes = n;
        stats.edges = m;
        stats.components = component_size.len();
        stats.largest_component_nodes = component_size.first().copied().unwrap_or(0) as usize;
        WalkGraph {
            node_lonlat,
            node_xy,
            node_osm,
            offsets,
            targets,
            adj_edges,
            adj_len,
            edge_nodes,
            edge_len,
            edge_way,
            geom_start,
            pool_lonlat,
            pool_xy,
            pool_cum,
            component,
            component_size,
            projection,
            stats,
        }
    }

    /// Counts: ways used, nodes, edges, components.
    pub fn stats(&self) -> GraphStats {
        self.stats
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.node_lonlat.len()
    }

    /// Number of undirected edges.
    pub fn edge_count(&self) -> usize {
        self.edge_nodes.len()
    }

    /// The local metric projection used for segment distances and buffering.
    pub fn projection(&self) -> &LocalProjection {
        &self.projection
    }

    /// A node's position.
    pub fn node_lonlat(&self, node: NodeId) -> LonLat {
        let [lon, lat] = self.node_lonlat[node as usize];
        LonLat::new(lon, lat).expect("graph coordinates come from valid lines")
    }

    /// A node's position as `[lon, lat]`.
    pub fn node_coord(&self, node: NodeId) -> [f64; 2] {
        self.node_lonlat[node as usize]
    }

    /// A node's position in local metres.
    pub fn node_xy(&self, node: NodeId) -> [f64; 2] {
        self.node_xy[node as usize]
    }

    /// The OSM node a graph node stands for.
    pub fn node_osm_id(&self, node: NodeId) -> i64 {
        self.node_osm[node as usize]
    }

    /// `(neighbour, edge, length in metres)` for each edge at `node`.
    pub fn neighbours(&self, node: NodeId) -> impl Iterator<Item = (NodeId, EdgeId, f64)> + '_ {
        let range = self.adjacency(node);
        self.targets[range.clone()]
            .iter()
            .zip(&self.adj_edges[range])
            .map(|(&t, &e)| (t, e, self.edge_len[e as usize]))
    }

    #[inline]
    pub(crate) fn adjacency(&self, node: NodeId) -> std::ops::Range<usize> {
        self.offsets[node as usize] as usize..self.offsets[node as usize + 1] as usize
    }

    #[inline]
    pub(crate) fn adj_targets(&self) -> &[NodeId] {
        &self.targets
    }

    #[inline]
    pub(crate) fn adj_edges(&self) -> &[EdgeId] {
        &self.adj_edges
    }

    /// Per adjacency slot: the length of its edge (`edge_lengths()[adj_edges()[i]]`).
    pub(crate) fn adj_lengths(&self) -> &[f64] {
        &self.adj_len
    }

    /// CSR offsets: node `u`'s adjacency slots are `offsets()[u]..offsets()[u + 1]`.
    pub(crate) fn offsets(&self) -> &[u32] {
        &self.offsets
    }

    /// The edge's two end nodes `[a, b]`; its polyline runs from `a` to `b`.
    #[inline]
    pub fn edge_nodes(&self, edge: EdgeId) -> [NodeId; 2] {
        self.edge_nodes[edge as usize]
    }

    /// The edge's length in metres (haversine along its polyline).
    #[inline]
    pub fn edge_length_m(&self, edge: EdgeId) -> f64 {
        self.edge_len[edge as usize]
    }

    /// The OSM way the edge was cut from.
    pub fn edge_way_id(&self, edge: EdgeId) -> i64 {
        self.edge_way[edge as usize]
    }

    #[inline]
    fn geom_range(&self, edge: EdgeId) -> std::ops::Range<usize> {
        self.geom_start[edge as usize] as usize..self.geom_start[edge as usize + 1] as usize
    }

    /// The edge's polyline from `a` to `b`, `[lon, lat]`.
    pub fn edge_coords(&self, edge: EdgeId) -> &[[f64; 2]] {
        &self.pool_lonlat[self.geom_range(edge)]
    }

    /// The edge's polyline in local metres.
    pub fn edge_xy(&self, edge: EdgeId) -> &[[f64; 2]] {
        &self.pool_xy[self.geom_range(edge)]
    }

    /// Haversine metres from `a` to each vertex of the edge's polyline (starts at 0, ends at
    /// the edge length).
    pub fn edge_cumulative_m(&self, edge: EdgeId) -> &[f64] {
        &self.pool_cum[self.geom_range(edge)]
    }

    /// The edge as a `LineString` (lon/lat).
    pub fn edge_line(&self, edge: EdgeId) -> LineString<f64> {
        LineString::from(
            self.edge_coords(edge)
                .iter()
                .map(|&[x, y]| (x, y))
                .collect::<Vec<_>>(),
        )
    }

    /// The component a node belongs to (0 is the largest).
    #[inline]
    pub fn component(&self, node: NodeId) -> u32 {
        self.component[node as usize]
    }

    /// The component an edge belongs to.
    #[inline]
    pub fn edge_component(&self, edge: EdgeId) -> u32 {
        self.component[self.edge_nodes[edge as usize][0] as usize]
    }

    /// Node count of each component, largest first.
    pub fn component_sizes(&self) -> &[u32] {
        &self.component_size
    }

    /// Node count of the component `node` belongs to.
    pub fn component_size_of(&self, node: NodeId) -> u32 {
        self.component_size[self.component[node as usize] as usize]
    }

    /// The point at `along_m` metres from `a` along the edge, in local metres, with the
    /// index of the segment it lies on. Lengths are interpolated linearly within a segment.
    pub(crate) fn point_along_xy(&self, edge: EdgeId, along_m: f64) -> ([f64; 2], usize) {
        let cum = self.edge_cumulative_m(edge);
        let xy = self.edge_xy(edge);
        let last = cum.len() - 1;
        if along_m <= 0.0 {
            return (xy[0], 0);
        }
        if along_m >= cum[last] {
            return (xy[last], last.saturating_sub(1));
        }
        // First vertex strictly beyond along_m.
        let j = cum.partition_point(|&c| c <= along_m).clamp(1, last);
        let i = j - 1;
        let seg = cum[j] - cum[i];
        let t = if seg > 0.0 {
            (along_m - cum[i]) / seg
        } else {
            0.0
        };
        (
            [
                xy[i][0] + t * (xy[j][0] - xy[i][0]),
                xy[i][1] + t * (xy[j][1] - xy[i][1]),
            ],
            i,
        )
    }

    /// Appends the part of the edge between `from_m` and `to_m` (metres from `a`, either
    /// order) in local metres to `out`.
    pub(crate) fn slice_xy(&self, edge: EdgeId, from_m: f64, to_m: f64, out: &mut Vec<[f64; 2]>) {
        let (lo, hi) = if from_m <= to_m {
            (from_m, to_m)
        } else {
            (to_m, from_m)
        };
        let start = out.len();
        let (p, i) = self.point_along_xy(edge, lo);
        let (q, j) = self.point_along_xy(edge, hi);
        let xy = self.edge_xy(edge);
        out.push(p);
        for v in &xy[(i + 1)..=j.max(i)] {
            if *v != *out.last().expect("pushed") {
                out.push(*v);
            }
        }
        if q != *out.last().expect("pushed") {
            out.push(q);
        }
        if from_m > to_m {
            out[start..].reverse();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn way(id: i64, nodes: &[i64], coords: &[(f64, f64)]) -> StreetWay {
        StreetWay {
            id,
            highway: "residential".into(),
            name: None,
            foot: None,
            access: None,
            area: false,
            node_ids: nodes.to_vec(),
            line: LineString::from(coords.to_vec()),
        }
    }

    #[test]
    fn splits_at_shared_nodes_and_keeps_loops() {
        // A square loop (closed way 1..1) with a tail way from corner 3.
        let ways = [
            way(
                1,
                &[1, 2, 3, 4, 1],
                &[
                    (0.0, 0.0),
                    (0.001, 0.0),
                    (0.001, 0.001),
                    (0.0, 0.001),
                    (0.0, 0.0),
                ],
            ),
            way(2, &[3, 5], &[(0.001, 0.001), (0.002, 0.002)]),
            way(3, &[6], &[(0.5, 0.5)]), // broken: one position
            way(4, &[7, 8], &[(0.5, 0.5), (0.6, 0.6), (0.7, 0.7)]), // broken: ids ≠ coords
        ];
        let g = WalkGraph::build(&ways);
        let s = g.stats();
        assert_eq!((s.walkable_ways, s.broken_ways), (4, 2));
        // Nodes: 1 (ends of the loop), 3 (shared), 5; the loop splits into 1→3 and 3→1.
        assert_eq!(g.node_count(), 3);
        assert_eq!(g.edge_count(), 3);
        let total: f64 = (0..3).map(|e| g.edge_length_m(e)).sum();
        let expect = 4.0 * 111.195
            + LonLat::new(0.001, 0.001)
                .unwrap()
                .distance_m(LonLat::new(0.002, 0.002).unwrap());
        assert!((total - expect).abs() < 0.01, "{total} vs {expect}");
        // Node 3 has degree 3.
        let n3 = (0..3).find(|&n| g.node_osm_id(n) == 3).unwrap();
        assert_eq!(g.neighbours(n3).count(), 3);
    }

    #[test]
    fn a_closed_way_alone_is_a_self_loop() {
        let g = WalkGraph::build(&[way(
            1,
            &[1, 2, 3, 1],
            &[(0.0, 0.0), (0.001, 0.0), (0.001, 0.001), (0.0, 0.0)],
        )]);
        assert_eq!((g.node_count(), g.edge_count()), (1, 1));
        assert_eq!(g.edge_nodes(0), [0, 0]);
        assert_eq!(g.neighbours(0).count(), 1); // listed once
    }

    #[test]
    fn slices_follow_the_polyline() {
        let g = WalkGraph::build(&[way(
            1,
            &[1, 2, 3],
            &[(0.0, 0.0), (0.001, 0.0), (0.001, 0.001)],
        )]);
        let len = g.edge_length_m(0);
        let mut out = Vec::new();
        g.slice_xy(0, 50.0, len - 50.0, &mut out);
        assert_eq!(out.len(), 3); // cut point, the corner, cut point
        let l: f64 = out
            .windows(2)
            .map(|w| ((w[1][0] - w[0][0]).powi(2) + (w[1][1] - w[0][1]).powi(2)).sqrt())
            .sum();
        assert!((l - (len - 100.0)).abs() < 0.2, "{l}");
        let mut back = Vec::new();
        g.slice_xy(0, len - 50.0, 50.0, &mut back);
        back.reverse();
        assert_eq!(out, back);
    }

    #[test]
    fn walkability_rule() {
        let mut w = way(1, &[1, 2], &[(0.0, 0.0), (0.0, 0.001)]);
        assert!(is_walkable(&w));
        w.access = Some("no".into());
        assert!(!is_walkable(&w));
        w.foot = Some("designated".into());
        assert!(is_walkable(&w));
        w.foot = Some("no".into());
        w.access = None;
        assert!(!is_walkable(&w));
        w.foot = None;
        for h in [
            "motorway",
            "construction",
            "proposed",
            "platform",
            "elevator",
        ] {
            w.highway = h.into();
            assert!(!is_walkable(&w), "{h}");
        }
    }
}
