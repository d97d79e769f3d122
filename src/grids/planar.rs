//! Polygonising lines inside a region: the faces of the planar graph formed by a region's
//! boundary and the lines drawn across it (street blocks, and the cuts that split large blocks).
//!
//! **Why our own face walk.** geo 0.33 has no `polygonize`. i_overlay (which geo uses for its
//! boolean operations) can slice a polygon by lines (`FloatSlice::slice_by`), but geo does not
//! re-export it, and its output is a bag of polygons with snapped coordinates. The draft needs
//! more than the pieces: which faces share an edge and for how long (to merge blocks), the union
//! of any set of faces with the *exact* input coordinates (so drafted grids share edges exactly
//! with each other and with the community boundary, and pass the topology checks with no
//! debris), and determinism. A noded half-edge graph gives all of that directly.
//!
//! Steps, all in a [`LocalFrame`] (metres):
//! 1. **Noding.** Every segment is split where it meets another (crossings, touches, shared
//!    stretches). A line's *end* that stops short of another line by at most `snap_m` is joined
//!    to it (OSM footways often stop half a metre short of the street); ends are never pulled
//!    onto the region's boundary by more than a centimetre, so the region stays exactly as given.
//!    Points within 1 cm are merged, keeping input points (boundary first) over computed ones.
//! 2. **Clipping.** Line pieces whose midpoint is not inside the region are dropped.
//! 3. **Pruning.** Dangling pieces (a vertex of degree 1) and bridges (an edge with the same face
//!    on both sides) are removed until none are left: they bound no face.
//! 4. **Face walk.** Around each vertex the out-going half-edges are sorted by angle; the face to
//!    the left of a half-edge continues with the next half-edge clockwise from its twin. Cycles
//!    with positive area are faces; negative cycles are the outer boundaries of components and
//!    become holes of the smallest face around them. Faces outside the region (in its holes)
//!    are dropped.

use std::collections::HashMap;

use geo::{Contains, Coord, InteriorPoint, Line, LineString, MultiPolygon, Point, Polygon, Rect};
use rstar::{AABB, RTree};

use super::LocalFrame;
use crate::rtree::EnvelopeEntry;

/// Points closer than this (metres) are one vertex.
const MERGE_M: f64 = 0.01;

/// A vertex: local metres and WGS 84 degrees (the input's own degrees when it is an input point).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pt {
    /// Local metres.
    pub local: Coord<f64>,
    /// Degrees.
    pub lonlat: Coord<f64>,
}

/// A polyline to node: an open line (a street, a cut) or a closed ring of the region.
#[derive(Debug, Clone)]
pub struct Polyline {
    /// Vertices.
    pub pts: Vec<Pt>,
    /// True for the region's rings.
    pub boundary: bool,
    /// True when the line's ends may be joined to a line they stop short of (streets); false for
    /// lines whose ends are placed deliberately (cuts).
    pub snap_ends: bool,
}

#[derive(Debug, Clone, Copy)]
struct Seg {
    a: usize,
    b: usize,
    boundary: bool,
    a_end: bool,
    b_end: bool,
}

/// One face: its polygon in local metres and in degrees.
#[derive(Debug, Clone)]
pub struct Face {
    /// Local metres.
    pub local: Polygon<f64>,
    /// Degrees (input coordinates kept exactly).
    pub lonlat: Polygon<f64>,
    /// Perimeter in metres.
    pub perimeter_m: f64,
}

/// The faces of a region cut by lines, with the half-edge graph behind them.
#[derive(Debug, Clone)]
pub struct Subdivision {
    verts: Vec<Pt>,
    /// Half-edge `h` runs from `ends[h / 2][h % 2]` to `ends[h / 2][1 - h % 2]`.
    ends: Vec<[usize; 2]>,
    alive: Vec<bool>,
    /// Per vertex: alive out-going half-edges sorted counter-clockwise.
    out: Vec<Vec<usize>>,
    /// Per half-edge: its position in `out[from]`.
    pos: Vec<usize>,
    /// Per half-edge: the face on its left.
    face_of: Vec<Option<usize>>,
    /// The faces.
    pub faces: Vec<Face>,
}

fn from(ends: &[[usize; 2]], h: usize) -> usize {
    ends[h / 2][h % 2]
}

fn to(ends: &[[usize; 2]], h: usize) -> usize {
    ends[h / 2][1 - h % 2]
}

fn signed_area(verts: &[Pt], ring: &[usize]) -> f64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (verts[ring[i]].local, verts[ring[(i + 1) % n]].local);
            a.x * b.y - b.x * a.y
        })
        .sum::<f64>()
        / 2.0
}

fn ring_of(verts: &[Pt], ring: &[usize], local: bool) -> LineString<f64> {
    let mut cs: Vec<Coord<f64>> = ring
        .iter()
        .map(|&v| {
            if local {
                verts[v].local
            } else {
                verts[v].lonlat
            }
        })
        .collect();
    cs.push(cs[0]);
    LineString(cs)
}

fn envelope(a: Coord<f64>, b: Coord<f64>, grow: f64) -> AABB<[f64; 2]> {
    AABB::from_corners(
        [a.x.min(b.x) - grow, a.y.min(b.y) - grow],
        [a.x.max(b.x) + grow, a.y.max(b.y) + grow],
    )
}

/// Parameter of the projection of `p` on segment `a→b`, clamped to [0, 1].
fn param(a: Coord<f64>, b: Coord<f64>, p: Coord<f64>) -> f64 {
    let d = b - a;
    let len2 = d.x * d.x + d.y * d.y;
    if len2 == 0.0 {
        0.0
    } else {
        (((p.x - a.x) * d.x + (p.y - a.y) * d.y) / len2).clamp(0.0, 1.0)
    }
}

fn dist(a: Coord<f64>, b: Coord<f64>) -> f64 {
    (a.x - b.x).hypot(a.y - b.y)
}

impl Subdivision {
    /// Faces of `region` (local metres, oriented) cut by `lines`. `rings` are the region's rings
    /// as polylines (with their input degrees); `snap_m` joins line ends that stop short.
    pub fn build(
        region: &MultiPolygon<f64>,
        rings: &[Polyline],
        lines: &[Polyline],
        frame: LocalFrame,
        snap_m: f64,
    ) -> Subdivision {
        // 1. Segments and their end points.
        let mut points: Vec<(Pt, u8)> = Vec::new();
        let mut segs: Vec<Seg> = Vec::new();
        let region_box = {
            let mut r: Option<Rect<f64>> = None;
            for ring in rings {
                for p in &ring.pts {
                    r = Some(match r {
                        None => Rect::new(p.local, p.local),
                        Some(r) => Rect::new(
                            Coord {
                                x: r.min().x.min(p.local.x),
                                y: r.min().y.min(p.local.y),
                            },
                            Coord {
                                x: r.max().x.max(p.local.x),
                                y: r.max().y.max(p.local.y),
                            },
                        ),
                    });
                }
            }
            r
        };
        for line in rings.iter().chain(lines) {
            let n = line.pts.len();
            for i in 0..n.saturating_sub(1) {
                let (pa, pb) = (line.pts[i], line.pts[i + 1]);
                if dist(pa.local, pb.local) == 0.0 {
                    continue;
                }
                if !line.boundary
                    && let Some(r) = region_box
                {
                    let e = envelope(pa.local, pb.local, snap_m);
                    let (lo, hi) = (e.lower(), e.upper());
                    if hi[0] < r.min().x
                        || lo[0] > r.max().x
                        || hi[1] < r.min().y
                        || lo[1] > r.max().y
                    {
                        continue;
                    }
                }
                let rank = if line.boundary { 0 } else { 1 };
                points.push((pa, rank));
                points.push((pb, rank));
                segs.push(Seg {
                    a: points.len() - 2,
                    b: points.len() - 1,
                    boundary: line.boundary,
                    a_end: line.snap_ends && !line.boundary && i == 0,
                    b_end: line.snap_ends && !line.boundary && i + 2 == n,
                });
            }
        }
        let mut splits: Vec<Vec<(f64, usize)>> =
            segs.iter().map(|s| vec![(0.0, s.a), (1.0, s.b)]).collect();
        let tree = RTree::bulk_load(
            segs.iter()
                .enumerate()
                .map(|(i, s)| {
                    let e = envelope(points[s.a].0.local, points[s.b].0.local, snap_m);
                    EnvelopeEntry {
                        min: e.lower(),
                        max: e.upper(),
                        index: i,
                    }
                })
                .collect(),
        );
        let computed = |c: Coord<f64>| Pt {
            local: c,
            lonlat: frame.to_lonlat(c),
        };
        for (i, si) in segs.iter().enumerate() {
            let (a, b) = (points[si.a].0.local, points[si.b].0.local);
            for entry in tree.locate_in_envelope_intersecting(envelope(a, b, snap_m)) {
                let j = entry.index;
                if j <= i {
                    continue;
                }
                let sj = segs[j];
                let (c, d) = (points[sj.a].0.local, points[sj.b].0.local);
                match geo::line_intersection::line_intersection(Line::new(a, b), Line::new(c, d)) {
                    Some(geo::LineIntersection::SinglePoint { intersection, .. }) => {
                        points.push((computed(intersection), 2));
                        let p = points.len() - 1;
                        splits[i].push((param(a, b, intersection), p));
                        splits[j].push((param(c, d, intersection), p));
                    }
                    Some(geo::LineIntersection::Collinear { intersection }) => {
                        for q in [intersection.start, intersection.end] {
                            points.push((computed(q), 2));
                            let p = points.len() - 1;
                            splits[i].push((param(a, b, q), p));
                            splits[j].push((param(c, d, q), p));
                        }
                    }
                    None => {
                        // A line end that stops short of the other segment joins it.
                        let mut snap = |end: usize, target: usize, s: Coord<f64>, e: Coord<f64>| {
                            let q = points[end].0.local;
                            let t = param(s, e, q);
                            let on = s + (e - s) * t;
                            let limit = if segs[target].boundary {
                                MERGE_M
                            } else {
                                snap_m
                            };
                            if dist(q, on) <= limit {
                                splits[target].push((t, end));
                            }
                        };
                        if si.a_end {
                            snap(si.a, j, c, d);
                        }
                        if si.b_end {
                            snap(si.b, j, c, d);
                        }
                        if sj.a_end {
                            snap(sj.a, i, a, b);
                        }
                        if sj.b_end {
                            snap(sj.b, i, a, b);
                        }
                    }
                }
            }
        }

        // Merge points within MERGE_M, input points first (boundary before lines).
        let mut order: Vec<usize> = (0..points.len()).collect();
        order.sort_by_key(|&p| points[p].1);
        let mut rep = vec![usize::MAX; points.len()];
        let mut verts: Vec<Pt> = Vec::new();
        let mut cells: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
        let cell = |c: Coord<f64>| {
            (
                (c.x / MERGE_M).floor() as i64,
                (c.y / MERGE_M).floor() as i64,
            )
        };
        for p in order {
            let c = points[p].0.local;
            let (cx, cy) = cell(c);
            let mut found = None;
            'search: for dx in -1..=1 {
                for dy in -1..=1 {
                    if let Some(list) = cells.get(&(cx + dx, cy + dy)) {
                        for &v in list {
                            if dist(verts[v].local, c) <= MERGE_M {
                                found = Some(v);
                                break 'search;
                            }
                        }
                    }
                }
            }
            rep[p] = found.unwrap_or_else(|| {
                verts.push(points[p].0);
                cells.entry((cx, cy)).or_default().push(verts.len() - 1);
                verts.len() - 1
            });
        }

        // 2. Edges, clipped to the region.
        let mut edge_set: HashMap<(usize, usize), bool> = HashMap::new();
        for (s, list) in segs.iter().zip(splits.iter_mut()) {
            list.sort_by(|x, y| x.0.total_cmp(&y.0));
            let mut chain: Vec<usize> = list.iter().map(|&(_, p)| rep[p]).collect();
            chain.dedup();
            for w in chain.windows(2) {
                let key = (w[0].min(w[1]), w[0].max(w[1]));
                if key.0 == key.1 {
                    continue;
                }
                if !s.boundary {
                    let (p, q) = (verts[key.0].local, verts[key.1].local);
                    let mid = Point::new((p.x + q.x) / 2.0, (p.y + q.y) / 2.0);
                    if !region.contains(&mid) {
                        continue;
                    }
                }
                *edge_set.entry(key).or_insert(false) |= s.boundary;
            }
        }
        let mut ends: Vec<[usize; 2]> = edge_set.keys().map(|&(a, b)| [a, b]).collect();
        ends.sort_unstable();
        let mut sub = Subdivision {
            alive: vec![true; ends.len()],
            out: vec![Vec::new(); verts.len()],
            pos: vec![0; ends.len() * 2],
            face_of: vec![None; ends.len() * 2],
            verts,
            ends,
            faces: Vec::new(),
        };

        // 3 and 4: prune, walk, remove bridges, until stable.
        loop {
            sub.prune_dangles();
            sub.sort_out();
            let (cycles, cycle_of) = sub.cycles();
            let mut bridges = false;
            for e in 0..sub.ends.len() {
                if sub.alive[e] && cycle_of[2 * e] == cycle_of[2 * e + 1] {
                    sub.alive[e] = false;
                    bridges = true;
                }
            }
            if !bridges {
                sub.make_faces(region, cycles);
                return sub;
            }
        }
    }

    fn prune_dangles(&mut self) {
        let mut degree = vec![0usize; self.verts.len()];
        let mut incident: Vec<Vec<usize>> = vec![Vec::new(); self.verts.len()];
        for (e, [a, b]) in self.ends.iter().enumerate() {
            if self.alive[e] {
                degree[*a] += 1;
                degree[*b] += 1;
                incident[*a].push(e);
                incident[*b].push(e);
            }
        }
        let mut stack: Vec<usize> = (0..self.verts.len()).filter(|&v| degree[v] == 1).collect();
        while let Some(v) = stack.pop() {
            if degree[v] != 1 {
                continue;
            }
            let Some(&e) = incident[v].iter().find(|&&e| self.alive[e]) else {
                continue;
            };
            self.alive[e] = false;
            for w in self.ends[e] {
                degree[w] -= 1;
                if degree[w] == 1 {
                    stack.push(w);
                }
            }
        }
    }

    fn sort_out(&mut self) {
        for list in &mut self.out {
            list.clear();
        }
        for e in 0..self.ends.len() {
            if self.alive[e] {
                for h in [2 * e, 2 * e + 1] {
                    self.out[from(&self.ends, h)].push(h);
                }
            }
        }
        let (verts, ends) = (&self.verts, &self.ends);
        for (v, list) in self.out.iter_mut().enumerate() {
            let angle = |h: usize| {
                let d = verts[to(ends, h)].local - verts[v].local;
                d.y.atan2(d.x)
            };
            list.sort_by(|&x, &y| angle(x).total_cmp(&angle(y)).then(x.cmp(&y)));
            for (i, &h) in list.iter().enumerate() {
                self.pos[h] = i;
            }
        }
    }

    /// The half-edge after `h` around the face on its left.
    fn next(&self, h: usize) -> usize {
        let v = to(&self.ends, h);
        let list = &self.out[v];
        let i = self.pos[h ^ 1];
        list[(i + list.len() - 1) % list.len()]
    }

    /// Every cycle of alive half-edges (as half-edge lists), and each half-edge's cycle.
    fn cycles(&self) -> (Vec<Vec<usize>>, Vec<usize>) {
        let mut cycle_of = vec![usize::MAX; self.ends.len() * 2];
        let mut cycles = Vec::new();
        for start in 0..self.ends.len() * 2 {
            if !self.alive[start / 2] || cycle_of[start] != usize::MAX {
                continue;
            }
            let mut cycle = Vec::new();
            let mut h = start;
            loop {
                cycle_of[h] = cycles.len();
                cycle.push(h);
                h = self.next(h);
                if h == start {
                    break;
                }
            }
            cycles.push(cycle);
        }
        (cycles, cycle_of)
    }

    fn make_faces(&mut self, region: &MultiPolygon<f64>, cycles: Vec<Vec<usize>>) {
        let vring =
            |c: &[usize]| -> Vec<usize> { c.iter().map(|&h| from(&self.ends, h)).collect() };
        let rings: Vec<Vec<usize>> = cycles.iter().map(|c| vring(c)).collect();
        let areas: Vec<f64> = rings.iter().map(|r| signed_area(&self.verts, r)).collect();
        let shells: Vec<usize> = (0..rings.len()).filter(|&i| areas[i] > 0.0).collect();
        let shell_polys: Vec<Polygon<f64>> = shells
            .iter()
            .map(|&i| Polygon::new(ring_of(&self.verts, &rings[i], true), vec![]))
            .collect();
        let mut holes: Vec<Vec<usize>> = vec![Vec::new(); shells.len()];
        for (i, ring) in rings.iter().enumerate() {
            if areas[i] >= 0.0 {
                continue;
            }
            let q = Point::from(self.verts[ring[0]].local);
            let around = shells
                .iter()
                .enumerate()
                .filter(|&(k, _)| shell_polys[k].contains(&q))
                .min_by(|a, b| areas[*a.1].total_cmp(&areas[*b.1]));
            if let Some((k, _)) = around {
                holes[k].push(i);
            }
        }
        for (k, &i) in shells.iter().enumerate() {
            let local = Polygon::new(
                ring_of(&self.verts, &rings[i], true),
                holes[k]
                    .iter()
                    .map(|&j| ring_of(&self.verts, &rings[j], true))
                    .collect(),
            );
            let inside = local.interior_point().is_some_and(|p| region.contains(&p));
            if !inside {
                continue;
            }
            let lonlat = Polygon::new(
                ring_of(&self.verts, &rings[i], false),
                holes[k]
                    .iter()
                    .map(|&j| ring_of(&self.verts, &rings[j], false))
                    .collect(),
            );
            let f = self.faces.len();
            for &j in std::iter::once(&i).chain(&holes[k]) {
                for &h in &cycles[j] {
                    self.face_of[h] = Some(f);
                }
            }
            let perimeter_m = std::iter::once(&i)
                .chain(&holes[k])
                .flat_map(|&j| cycles[j].iter())
                .map(|&h| self.edge_len(h / 2))
                .sum();
            self.faces.push(Face {
                perimeter_m,
                local,
                lonlat,
            });
        }
    }

    fn edge_len(&self, e: usize) -> f64 {
        let [a, b] = self.ends[e];
        dist(self.verts[a].local, self.verts[b].local)
    }

    /// Pairs of faces that share edges, with the shared length in metres, sorted.
    pub fn adjacency(&self) -> Vec<(usize, usize, f64)> {
        let mut shared: HashMap<(usize, usize), f64> = HashMap::new();
        for e in 0..self.ends.len() {
            if !self.alive[e] {
                continue;
            }
            if let (Some(a), Some(b)) = (self.face_of[2 * e], self.face_of[2 * e + 1])
                && a != b
            {
                *shared.entry((a.min(b), a.max(b))).or_default() += self.edge_len(e);
            }
        }
        let mut out: Vec<(usize, usize, f64)> =
            shared.into_iter().map(|((a, b), l)| (a, b, l)).collect();
        out.sort_by_key(|x| (x.0, x.1));
        out
    }

    /// The union of a set of faces, traced along the graph (no boolean operation, so input
    /// coordinates are kept exactly and neighbouring unions share their edges exactly), in
    /// degrees. Shells are counter-clockwise, holes clockwise; a hole touching its shell at a
    /// vertex comes out as a separate ring, as OGC requires.
    pub fn union_lonlat(&self, members: &[usize]) -> MultiPolygon<f64> {
        let mut in_group = vec![false; self.faces.len()];
        for &f in members {
            in_group[f] = true;
        }
        let inside = |h: usize| self.face_of[h].is_some_and(|f| in_group[f]);
        let boundary = |h: usize| self.alive[h / 2] && inside(h) && !inside(h ^ 1);
        let mut seen = vec![false; self.ends.len() * 2];
        let mut rings: Vec<Vec<usize>> = Vec::new();
        for start in 0..self.ends.len() * 2 {
            if seen[start] || !boundary(start) {
                continue;
            }
            let mut ring = Vec::new();
            let mut h = start;
            loop {
                seen[h] = true;
                ring.push(from(&self.ends, h));
                // Rotate clockwise from the twin to the first out-going boundary half-edge.
                let v = to(&self.ends, h);
                let list = &self.out[v];
                let mut i = self.pos[h ^ 1];
                let mut next = None;
                for _ in 0..list.len() {
                    i = (i + list.len() - 1) % list.len();
                    if boundary(list[i]) {
                        next = Some(list[i]);
                        break;
                    }
                }
                match next {
                    Some(n) if n != start => h = n,
                    _ => break,
                }
            }
            rings.push(ring);
        }
        let mut shells: Vec<(f64, Polygon<f64>, Polygon<f64>)> = Vec::new();
        let mut holes: Vec<Vec<usize>> = Vec::new();
        for ring in &rings {
            let area = signed_area(&self.verts, ring);
            if area > 0.0 {
                shells.push((
                    area,
                    Polygon::new(ring_of(&self.verts, ring, true), vec![]),
                    Polygon::new(ring_of(&self.verts, ring, false), vec![]),
                ));
            } else if area < 0.0 {
                holes.push(ring.clone());
            }
        }
        for hole in holes {
            let q = Point::from(self.verts[hole[0]].local);
            // The smallest shell that holds the hole; a hole's vertex may lie on its shell
            // (touching at a point), so test a point just inside the hole's first edge.
            let probe = {
                let (a, b) = (self.verts[hole[0]].local, self.verts[hole[1]].local);
                Point::from(a + (b - a) * 0.5)
            };
            let owner = shells
                .iter()
                .enumerate()
                .filter(|(_, s)| s.1.contains(&q) || s.1.contains(&probe))
                .min_by(|a, b| a.1.0.total_cmp(&b.1.0))
                .map(|(k, _)| k);
            if let Some(k) = owner {
                shells[k]
                    .2
                    .interiors_push(ring_of(&self.verts, &hole, false));
            }
        }
        MultiPolygon(shells.into_iter().map(|s| s.2).collect())
    }
}
