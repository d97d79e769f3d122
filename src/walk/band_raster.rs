//! The band around a set of polylines as a distance field on a grid, and its contour.
//!
//! [`BandField`] holds, for every node of a square grid (local metres), the squared distance
//! to the nearest of the lines added to it, exact for every grid node within `band + 1.5 cells`
//! of a line and capped beyond. The polygon of the band (points within `band` of a line) is
//! then the contour of that field at `band`, traced by marching squares (linear interpolation
//! along the cell edges; see `BandField::rings` for why by hand), so rings never cross and
//! holes come out as holes.
//!
//! **Why the field is written by hand and how it stays exact and cheap.** The distance from a
//! point to a polyline set is the minimum over segments of "perpendicular distance when the
//! foot falls inside the segment, else the distance to the nearer end". Writing every segment's
//! capsule (a slab plus two disks) over the grid would cost mostly disks, and in a dense street
//! pattern those overlap tens of times. Instead each segment writes only its slab (foot inside,
//! value: the perpendicular distance, linear along a grid row), and each vertex writes only the
//! part of its disk where it can be the nearest point: the points that lie "behind" the vertex
//! with respect to every segment leaving it (`(p − v)·d ≤ 0` for each outgoing direction `d`).
//! If a point's nearest line point is the vertex `v`, that holds for every segment at `v`
//! (otherwise the segment would come closer), so the minimum is exact. On a straight or
//! T-shaped junction that region is empty, at a bend it is a wedge of the turning angle, at a
//! dead end a half disk. Every region is convex, so it meets a grid row in one interval,
//! computed from a few linear bounds; the inner loops are plain arithmetic over a row slice.
//! The cost is about (area of the band) / (cell area) plus a constant per segment and row;
//! that constant is kept to a few multiplies (each bound's reciprocal is taken once per
//! segment, and no libm rounding call is made per row).

// The range checks are written `!(x > 0.0)`, not `x <= 0.0`, so that a NaN takes the empty or
// clamped branch instead of reaching an index cast.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

use geo::{Coord, LineString, MultiPolygon, Polygon};

/// Largest grid, in nodes: a larger area gets coarser cells (16 MB of `f64` per field).
const MAX_CELLS: usize = 2_000_000;
/// Slack, in metres, on the half-plane bounds of slabs and vertex regions, so that a grid
/// node exactly on a boundary is never left out by rounding (a value written this far outside
/// its exact region differs from the true distance by less than a micrometre).
const SLACK_M: f64 = 1e-3;

/// A square grid in local metres: node `(i, j)` is at `(x0 + i·step, y0 + j·step)`.
#[derive(Debug, Clone, Copy)]
struct Grid {
    x0: f64,
    y0: f64,
    step: f64,
    nx: usize,
    ny: usize,
}

/// A distance field to a growing set of polylines (see the module docs).
#[derive(Debug)]
pub(crate) struct BandField {
    grid: Grid,
    band: f64,
    /// Distances up to this are exact; larger ones are stored as this.
    reach: f64,
    /// Squared distances, row by row. `f32` halves the memory the writes and the tracing
    /// stream through: at the ≤ 50 m kept here its rounding is under 0.1 mm.
    d2: Vec<f32>,
}

impl BandField {
    /// An empty field covering `[min, max]` widened by the band, with cells of `cell_m` metres
    /// (coarser when the area would need more than [`MAX_CELLS`] nodes).
    pub(crate) fn new(min: [f64; 2], max: [f64; 2], band_m: f64, cell_m: f64) -> BandField {
        let mut step = cell_m.max(0.01);
        let margin = |step: f64| band_m + 3.0 * step;
        let dims = |step: f64| {
            let m = margin(step);
            (
                ((max[0] - min[0] + 2.0 * m) / step).ceil() as usize + 1,
                ((max[1] - min[1] + 2.0 * m) / step).ceil() as usize + 1,
            )
        };
        let (mut nx, mut ny) = dims(step);
        while nx * ny > MAX_CELLS {
            step *= ((nx * ny) as f64 / MAX_CELLS as f64).sqrt() * 1.01;
            (nx, ny) = dims(step);
        }
        let m = margin(step);
        let reach = band_m + 1.5 * step;
        BandField {
            grid: Grid {
                x0: min[0] - m,
                y0: min[1] - m,
                step,
                nx,
                ny,
            },
            band: band_m,
            reach,
            d2: vec![(reach * reach) as f32; nx * ny],
        }
    }

    /// Adds polylines. `pieces[k] = (from, to, coords)`: the polyline starts at vertex `from`
    /// and ends at vertex `to` (ids shared between pieces that meet there), and its first and
    /// last coordinates are those vertices' positions.
    pub(crate) fn add_lines(&mut self, pieces: &[(u32, u32, Vec<[f64; 2]>)], simplify_m: f64) {
        // Directions leaving each shared end vertex: (vertex, position, direction).
        let mut ends: Vec<(u32, [f64; 2], [f64; 2])> = Vec::with_capacity(pieces.len() * 2);
        let mut pts: Vec<[f64; 2]> = Vec::new();
        let mut simplified: Vec<[f64; 2]> = Vec::new();
        let dir = |a: [f64; 2], b: [f64; 2]| {
            let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
            let l = (dx * dx + dy * dy).sqrt();
            [dx / l, dy / l]
        };
        for (from, to, coords) in pieces {
            // Drop points within a micrometre of the previous one: a zero-length segment has
            // no direction.
            pts.clear();
            for &p in coords {
                match pts.last() {
                    Some(&q) if (p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2) < 1e-12 => {}
                    _ => pts.push(p),
                }
            }
            if pts.len() < 2 {
                continue;
            }
            // OSM outlines carry a vertex every few metres, and every segment costs a constant
            // per grid row it spans: simplify (Douglas–Peucker keeps both ends).
            if pts.len() > 2 && simplify_m > 0.0 {
                simplified.clear();
                douglas_peucker(&pts, simplify_m, &mut simplified);
                std::mem::swap(&mut pts, &mut simplified);
            }
            for w in pts.windows(2) {
                self.slab(w[0], w[1]);
            }
            for w in pts.windows(3) {
                self.vertex(w[1], &[dir(w[1], w[0]), dir(w[1], w[2])]);
            }
            let n = pts.len();
            ends.push((*from, pts[0], dir(pts[0], pts[1])));
            ends.push((*to, pts[n - 1], dir(pts[n - 1], pts[n - 2])));
        }
        ends.sort_unstable_by_key(|e| e.0);
        let mut dirs: Vec<[f64; 2]> = Vec::new();
        for group in ends.chunk_by(|a, b| a.0 == b.0) {
            dirs.clear();
            dirs.extend(group.iter().map(|e| e.2));
            self.vertex(group[0].1, &dirs);
        }
    }

    /// Rows `j` whose nodes can lie within `reach` of the span `[lo, hi]` in y.
    fn rows(&self, lo: f64, hi: f64) -> std::ops::Range<usize> {
        let g = &self.grid;
        let top = (hi + self.reach - g.y0) / g.step;
        if !(top >= 0.0) {
            return 0..0;
        }
        let a = ceil_index((lo - self.reach - g.y0) / g.step, g.ny);
        let b = floor_index(top, g.ny) + 1;
        a..b.clamp(a, g.ny)
    }

    /// The integer columns of a real range, clipped to the grid.
    fn columns(&self, lo: f64, hi: f64) -> std::ops::Range<usize> {
        if !(hi >= lo) || hi < 0.0 {
            return 0..0;
        }
        let nx = self.grid.nx;
        let a = ceil_index(lo, nx);
        let b = floor_index(hi, nx) + 1;
        if b <= a || a >= nx {
            0..0
        } else {
            a..b.min(nx)
        }
    }

    /// The slab of segment `a → b`: nodes whose foot on the segment's line falls inside it,
    /// valued by their squared perpendicular distance.
    fn slab(&mut self, a: [f64; 2], b: [f64; 2]) {
        let g = self.grid;
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let len = (dx * dx + dy * dy).sqrt();
        let u = [dx / len, dy / len];
        let n = [-u[1], u[0]];
        let r = self.reach;
        // Along the segment s(i) = s0 + i·ds, across it e(i) = e0 + i·de, for the nodes of a
        // row; ds and de are the same on every row, so the column bounds are a multiply each.
        let along = ColumnBound::new(u[0] * g.step, -SLACK_M, len + SLACK_M);
        let across = ColumnBound::new(n[0] * g.step, -r, r);
        let de = (n[0] * g.step) as f32;
        // The slab's corners are the ends shifted by ±r·n.
        let pad = r * n[1].abs() - r;
        let x = g.x0 - a[0];
        for j in self.rows(a[1].min(b[1]) - pad, a[1].max(b[1]) + pad) {
            let y = g.y0 + j as f64 * g.step - a[1];
            let s0 = u[0] * x + u[1] * y;
            let e0 = n[0] * x + n[1] * y;
            let (mut lo, mut hi) = (f64::NEG_INFINITY, f64::INFINITY);
            along.narrow(&mut lo, &mut hi, s0);
            across.narrow(&mut lo, &mut hi, e0);
            let cols = self.columns(lo, hi);
            // Across the slab from its first column on, in `f32` (see `d2`).
            let e_first = (e0 + cols.start as f64 * n[0] * g.step) as f32;
            let row = &mut self.d2[j * g.nx..(j + 1) * g.nx];
            for (k, v) in row[cols].iter_mut().enumerate() {
                let e = e_first + k as f32 * de;
                *v = v.min(e * e);
            }
        }
    }

    /// The part of the disk around vertex `v` behind every direction in `dirs`, valued by
    /// the squared distance to `v`.
    fn vertex(&mut self, v: [f64; 2], dirs: &[[f64; 2]]) {
        let g = self.grid;
        let r = self.reach;
        // The region is the cone {x : x·d ≤ 0 for every d} within the disk. Its rows: the
        // extremes in y of its bounding rays (perpendiculars to the directions, and ±y when
        // inside the cone), scaled by r, and the apex.
        let inside = |x: [f64; 2]| dirs.iter().all(|d| d[0] * x[0] + d[1] * x[1] <= 1e-9);
        if let [d1, d2] = dirs {
            // A straight continuation: the cone is a line, which both slabs cover.
            if d1[0] * d2[0] + d1[1] * d2[1] < -1.0 + 1e-12 {
                return;
            }
        }
        let (mut ylo, mut yhi) = (0.0f64, 0.0f64);
        let mut extend = |x: [f64; 2]| {
            if inside(x) {
                ylo = ylo.min(x[1]);
                yhi = yhi.max(x[1]);
            }
        };
        extend([0.0, 1.0]);
        extend([0.0, -1.0]);
        for d in dirs {
            extend([-d[1], d[0]]);
            extend([d[1], -d[0]]);
        }
        let (lo, hi) = (v[1] + ylo * r, v[1] + yhi * r);
        let inv_step = 1.0 / g.step;
        // One bound per direction; a handful meet at a vertex, so they live on the stack
        // (a junction of more than 8 ways takes a heap vector).
        let bound = |d: &[f64; 2]| ColumnBound::new(d[0] * g.step, f64::NEG_INFINITY, SLACK_M);
        let mut on_stack = [ColumnBound::new(1.0, 0.0, 0.0); 8];
        let on_heap: Vec<ColumnBound>;
        let behind: &[ColumnBound] = if dirs.len() <= on_stack.len() {
            for (slot, d) in on_stack.iter_mut().zip(dirs) {
                *slot = bound(d);
            }
            &on_stack[..dirs.len()]
        } else {
            on_heap = dirs.iter().map(bound).collect();
            &on_heap
        };
        for j in self.rows(lo + r, hi - r) {
            let y = g.y0 + j as f64 * g.step - v[1];
            if y.abs() > r {
                continue;
            }
            let h = (r * r - y * y).sqrt();
            let x = g.x0 - v[0];
            let (mut lo, mut hi) = ((-h - x) * inv_step, (h - x) * inv_step);
            for (d, bound) in dirs.iter().zip(behind) {
                bound.narrow(&mut lo, &mut hi, d[0] * x + d[1] * y);
            }
            let cols = self.columns(lo, hi);
            let x_first = (x + cols.start as f64 * g.step) as f32;
            let (step, yy) = (g.step as f32, (y * y) as f32);
            let row = &mut self.d2[j * g.nx..(j + 1) * g.nx];
            for (k, v) in row[cols].iter_mut().enumerate() {
                let xx = x_first + k as f32 * step;
                *v = v.min(xx * xx + yy);
            }
        }
    }

    /// The rings of the band, traced by marching squares along the field.
    ///
    /// **Why by hand, not the `contour` crate.** The crate takes one `f64` per node (here a
    /// square root per node, and a copy of the field), visits every cell through a case table
    /// behind a lazy static, and stitches every boundary segment into fragments through two
    /// hash maps, prepending to vectors. Here the inside test is `d² ≤ band²` on the field as it
    /// is, and each ring is walked cell by cell from a crossing until it closes, so the work
    /// is one comparison per node plus a constant per boundary point, with a square root only
    /// at the two ends of each crossed cell edge (the crossing is interpolated linearly in the
    /// distance, as the crate does with its `smooth` option).
    ///
    /// Orientation: the walk keeps the inside on its left, so an outer ring comes out
    /// counter-clockwise and a hole clockwise (x east, y north). A saddle cell (two opposite
    /// corners inside) is joined through its centre when the mean of its corners is inside,
    /// decided once per cell, so rings never cross.
    fn rings(&self) -> Vec<Vec<[f64; 2]>> {
        let g = &self.grid;
        let (nx, ny) = (g.nx, g.ny);
        let t = (self.band * self.band) as f32;
        let d2 = &self.d2;
        let inside = |i: usize, j: usize| d2[j * nx + i] <= t;
        // Corners of cell (i, j), counter-clockwise from the south-west: (i, j), (i+1, j),
        // (i+1, j+1), (i, j+1). Edge k joins corner k to corner k+1 (mod 4): south, east,
        // north, west.
        let corner = |i: usize, j: usize, k: usize| -> (usize, usize) {
            match k {
                0 => (i, j),
                1 => (i + 1, j),
                2 => (i + 1, j + 1),
                _ => (i, j + 1),
            }
        };
        // The crossing point on edge k of cell (i, j), interpolated linearly in the distance.
        let crossing = |i: usize, j: usize, k: usize| -> [f64; 2] {
            let (a, b) = (corner(i, j, k), corner(i, j, (k + 1) % 4));
            let (da, db) = (
                f64::from(d2[a.1 * nx + a.0]).sqrt(),
                f64::from(d2[b.1 * nx + b.0]).sqrt(),
            );
            let f = ((self.band - da) / (db - da)).clamp(0.0, 1.0);
            let x = a.0 as f64 + f * (b.0 as f64 - a.0 as f64);
            let y = a.1 as f64 + f * (b.1 as f64 - a.1 as f64);
            [g.x0 + x * g.step, g.y0 + y * g.step]
        };
        // Horizontal edges already walked: bit `j·nx + i` for the edge from (i, j) to (i+1, j).
        // Every ring crosses some horizontal edge, so scanning them finds every ring.
        let mut walked = vec![0u64; (nx * ny).div_ceil(64)];
        let mut rings = Vec::new();
        // The field's border nodes are outside (the grid has a margin beyond the reach), so no
        // ring touches the border and every cell the walk enters exists.
        for j in 1..ny - 1 {
            let row = &d2[j * nx..(j + 1) * nx];
            for i in 0..nx - 1 {
                let (a, b) = (row[i] <= t, row[i + 1] <= t);
                if a == b {
                    continue;
                }
                let bit = j * nx + i;
                if walked[bit / 64] & (1 << (bit % 64)) != 0 {
                    continue;
                }
                // Enter through the edge where the inside is on the left: the south edge of
                // cell (i, j) when (i, j) is inside, else the north edge of cell (i, j − 1).
                let (start_cell, start_edge) = if a { ((i, j), 0) } else { ((i, j - 1), 2) };
                let mut ring = Vec::new();
                let (mut c, mut k) = (start_cell, start_edge);
                loop {
                    // Mark and emit the entry crossing.
                    let (ci, cj) = c;
                    if k == 0 || k == 2 {
                        let hj = if k == 0 { cj } else { cj + 1 };
                        let bit = hj * nx + ci;
                        walked[bit / 64] |= 1 << (bit % 64);
                    }
                    ring.push(crossing(ci, cj, k));
                    // Leave through the edge where the corners go from outside to inside
                    // (counter-clockwise), the one that closes this entry's inside run.
                    let ins = [0, 1, 2, 3].map(|q| {
                        let (x, y) = corner(ci, cj, q);
                        inside(x, y)
                    });
                    let exit = if ins[0] == ins[2] && ins[1] == ins[3] {
                        // A saddle. Entered on edge k (corner k inside, k+1 outside): joined
                        // through the centre, the inside continues to corner k+2 and the walk
                        // leaves by edge k+1; else it turns back round corner k, by edge k−1.
                        let mean = [0, 1, 2, 3]
                            .map(|q| {
                                let (x, y) = corner(ci, cj, q);
                                f64::from(d2[y * nx + x]).sqrt()
                            })
                            .iter()
                            .sum::<f64>()
                            / 4.0;
                        if mean <= self.band {
                            (k + 1) % 4
                        } else {
                            (k + 3) % 4
                        }
                    } else {
                        (0..4)
                            .find(|&q| !ins[q] && ins[(q + 1) % 4])
                            .expect("a crossed cell has an edge back inside")
                    };
                    // Step into the neighbour across the exit edge; it is that cell's entry.
                    c = match exit {
                        0 => (ci, cj - 1),
                        1 => (ci + 1, cj),
                        2 => (ci, cj + 1),
                        _ => (ci - 1, cj),
                    };
                    k = (exit + 2) % 4;
                    if (c, k) == (start_cell, start_edge) {
                        break;
                    }
                }
                ring.push(ring[0]);
                rings.push(ring);
            }
        }
        rings
    }

    /// The band as polygons with holes (local metres): the contour of the field at the band,
    /// rings simplified by Douglas–Peucker at `simplify_m` (rings that collapse are dropped),
    /// exteriors counter-clockwise and holes clockwise.
    pub(crate) fn polygon(&self, simplify_m: f64) -> MultiPolygon<f64> {
        let mut exteriors: Vec<(f64, [f64; 4], LineString<f64>)> = Vec::new();
        let mut holes: Vec<LineString<f64>> = Vec::new();
        let mut simplified = Vec::new();
        for ring in self.rings() {
            let ring = if simplify_m > 0.0 {
                simplified.clear();
                douglas_peucker(&ring, simplify_m, &mut simplified);
                to_line_string(&simplified)
            } else {
                to_line_string(&ring)
            };
            if ring.0.len() < 4 {
                continue;
            }
            // The walk keeps the inside on its left: outer rings counter-clockwise.
            let area = signed_area(&ring.0);
            if area > 0.0 {
                exteriors.push((area, bbox(&ring.0), ring));
            } else if area < 0.0 {
                holes.push(ring);
            }
        }
        // Each hole belongs to the smallest outer ring around it (an island inside a hole of a
        // larger polygon holds no holes of the larger one).
        exteriors.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut interiors: Vec<Vec<LineString<f64>>> = vec![Vec::new(); exteriors.len()];
        for hole in holes {
            let p = hole.0[0];
            let candidates: Vec<usize> = (0..exteriors.len())
                .filter(|&k| {
                    let b = exteriors[k].1;
                    b[0] <= p.x && p.x <= b[2] && b[1] <= p.y && p.y <= b[3]
                })
                .collect();
            let owner = match candidates.as_slice() {
                [] => None,
                [k] => Some(*k),
                _ => candidates
                    .iter()
                    .copied()
                    .find(|&k| ring_contains(&exteriors[k].2.0, hole_point(&hole.0))),
            };
            if let Some(k) = owner {
                interiors[k].push(hole);
            }
        }
        MultiPolygon::new(
            exteriors
                .into_iter()
                .zip(interiors)
                .map(|((_, _, exterior), holes)| Polygon::new(exterior, holes))
                .collect(),
        )
    }
}

/// The columns `i` (real) with `c0 + i·c1 ∈ [min, max]`, for a `c1` fixed over many rows:
/// its reciprocal is taken once, so narrowing a row's range is two multiplies.
#[derive(Debug, Clone, Copy)]
struct ColumnBound {
    inv: f64,
    min: f64,
    max: f64,
    flat: bool,
}

impl ColumnBound {
    fn new(c1: f64, min: f64, max: f64) -> ColumnBound {
        let flat = c1.abs() < 1e-12;
        let inv = if flat { 0.0 } else { 1.0 / c1 };
        // A negative slope swaps which end bounds from below.
        let (min, max) = if inv < 0.0 { (max, min) } else { (min, max) };
        ColumnBound {
            inv,
            min,
            max,
            flat,
        }
    }

    /// Narrows `[lo, hi]` to the columns where `c0 + i·c1` is within the bounds.
    #[inline]
    fn narrow(&self, lo: &mut f64, hi: &mut f64, c0: f64) {
        if self.flat {
            // `new` swaps the ends only for a negative slope, so here `min ≤ max`.
            if c0 < self.min || c0 > self.max {
                *hi = f64::NEG_INFINITY;
            }
            return;
        }
        *lo = lo.max((self.min - c0) * self.inv);
        *hi = hi.min((self.max - c0) * self.inv);
    }
}

/// `⌈x⌉` as an index, at least 0 and at most `n` (no libm call: without SSE4.1 `f64::ceil`
/// is a function call, and this runs once per grid row of every segment).
#[inline]
fn ceil_index(x: f64, n: usize) -> usize {
    if !(x > 0.0) {
        return 0;
    }
    if x >= n as f64 {
        return n;
    }
    let t = x as usize;
    if (t as f64) < x { t + 1 } else { t }
}

/// `⌊x⌋` as an index, at least 0 and at most `n`.
#[inline]
fn floor_index(x: f64, n: usize) -> usize {
    if !(x > 0.0) {
        return 0;
    }
    if x >= n as f64 {
        return n;
    }
    x as usize
}

/// Douglas–Peucker simplification of `points` at `tolerance` metres into `out`: keeps both
/// ends, and every point farther than `tolerance` from the segment between the points kept
/// around it. The same rule as geo's `Simplify`, written here because geo measures each
/// distance with `hypot` (a libm call, a sixth of an isochrone's time in the profile), where
/// comparing squared distances needs none.
fn douglas_peucker(points: &[[f64; 2]], tolerance: f64, out: &mut Vec<[f64; 2]>) {
    let n = points.len();
    if n < 3 {
        out.extend_from_slice(points);
        return;
    }
    let tolerance2 = tolerance * tolerance;
    let mut keep = vec![false; n];
    keep[0] = true;
    keep[n - 1] = true;
    let mut spans = vec![(0, n - 1)];
    while let Some((a, b)) = spans.pop() {
        if b <= a + 1 {
            continue;
        }
        let (pa, pb) = (points[a], points[b]);
        let (dx, dy) = (pb[0] - pa[0], pb[1] - pa[1]);
        let l2 = dx * dx + dy * dy;
        let inv_l2 = if l2 > 0.0 { 1.0 / l2 } else { 0.0 };
        let (mut far, mut far_d2) = (a, 0.0);
        for (i, p) in points.iter().enumerate().take(b).skip(a + 1) {
            let (px, py) = (p[0] - pa[0], p[1] - pa[1]);
            let t = (px * dx + py * dy) * inv_l2;
            let d2 = if l2 == 0.0 || t <= 0.0 {
                px * px + py * py
            } else if t >= 1.0 {
                (p[0] - pb[0]).powi(2) + (p[1] - pb[1]).powi(2)
            } else {
                let c = px * dy - py * dx;
                c * c * inv_l2
            };
            if d2 > far_d2 {
                (far, far_d2) = (i, d2);
            }
        }
        if far_d2 > tolerance2 {
            keep[far] = true;
            spans.push((a, far));
            spans.push((far, b));
        }
    }
    out.extend(
        points
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(p, _)| *p),
    );
}

fn to_line_string(points: &[[f64; 2]]) -> LineString<f64> {
    LineString::new(points.iter().map(|&[x, y]| Coord { x, y }).collect())
}

/// Twice the signed area (counter-clockwise positive).
fn signed_area(ring: &[Coord<f64>]) -> f64 {
    ring.windows(2)
        .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
        .sum()
}

fn bbox(ring: &[Coord<f64>]) -> [f64; 4] {
    ring.iter()
        .fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |b, c| {
            [b[0].min(c.x), b[1].min(c.y), b[2].max(c.x), b[3].max(c.y)]
        })
}

/// A point of a hole ring to test for containment: the midpoint of its first edge (a ring's
/// vertices may sit on another ring's cell edges, its edge midpoints do not touch it).
fn hole_point(ring: &[Coord<f64>]) -> Coord<f64> {
    Coord {
        x: 0.5 * (ring[0].x + ring[1].x),
        y: 0.5 * (ring[0].y + ring[1].y),
    }
}

/// Even–odd point in ring.
fn ring_contains(ring: &[Coord<f64>], p: Coord<f64>) -> bool {
    let mut inside = false;
    for w in ring.windows(2) {
        let (a, b) = (w[0], w[1]);
        if (a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x {
            inside = !inside;
        }
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brute force: distance from `p` to the nearest segment.
    fn brute(pieces: &[(u32, u32, Vec<[f64; 2]>)], p: [f64; 2]) -> f64 {
        let mut best = f64::INFINITY;
        for (_, _, c) in pieces {
            for w in c.windows(2) {
                let (a, b) = (w[0], w[1]);
                let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
                let l2 = dx * dx + dy * dy;
                let t = if l2 == 0.0 {
                    0.0
                } else {
                    (((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / l2).clamp(0.0, 1.0)
                };
                best = best.min((p[0] - a[0] - t * dx).hypot(p[1] - a[1] - t * dy));
            }
        }
        best
    }

    #[test]
    fn field_is_exact_within_reach() {
        // A cross, a bend, a dead end, a zig-zag and a closed loop, with shared vertex ids
        // where pieces meet.
        let pieces = vec![
            (0, 1, vec![[0.0, 0.0], [100.0, 3.0]]),
            (0, 2, vec![[0.0, 0.0], [-80.0, 10.0], [-90.0, 70.0]]),
            (0, 3, vec![[0.0, 0.0], [5.0, -60.0]]),
            (0, 4, vec![[0.0, 0.0], [7.0, 90.0]]),
            (
                1,
                5,
                vec![
                    [100.0, 3.0],
                    [130.0, 40.0],
                    [110.0, 70.0],
                    [150.0, 95.0],
                    [140.0, 130.0],
                ],
            ),
            (
                6,
                6,
                vec![
                    [-40.0, -120.0],
                    [20.0, -140.0],
                    [0.0, -180.0],
                    [-40.0, -120.0],
                ],
            ),
        ];
        let mut f = BandField::new([-90.0, -180.0], [150.0, 130.0], 40.0, 3.0);
        f.add_lines(&pieces, 0.0);
        let g = f.grid;
        let mut checked = 0;
        for j in 0..g.ny {
            for i in 0..g.nx {
                let p = [g.x0 + i as f64 * g.step, g.y0 + j as f64 * g.step];
                let exact = brute(&pieces, p);
                // `f32` squares: within 0.1 mm of the exact distance.
                let got = f64::from(f.d2[j * g.nx + i]).sqrt();
                if exact <= f.reach - 1e-4 {
                    assert!((got - exact).abs() < 1e-4, "at {p:?}: {got} vs {exact}");
                    checked += 1;
                } else {
                    assert!(got >= f.reach - 1e-4 || (got - exact).abs() < 1e-4);
                }
            }
        }
        assert!(checked > 1000);
    }

    #[test]
    fn a_square_loop_gives_a_hole() {
        // A 300 m square of streets: the band is a ring with a 220 m hole.
        let c = vec![
            [0.0, 0.0],
            [300.0, 0.0],
            [300.0, 300.0],
            [0.0, 300.0],
            [0.0, 0.0],
        ];
        let mut f = BandField::new([0.0, 0.0], [300.0, 300.0], 40.0, 4.0);
        f.add_lines(&[(0, 0, c)], 0.0);
        let mp = f.polygon(0.5);
        assert_eq!(mp.0.len(), 1);
        assert_eq!(mp.0[0].interiors().len(), 1);
        use geo::Area;
        let area = mp.unsigned_area();
        let exact = 380.0 * 380.0 - (4.0 - std::f64::consts::PI) * 40.0 * 40.0 - 220.0 * 220.0;
        assert!((area - exact).abs() / exact < 0.01, "{area} vs {exact}");
        assert!(signed_area(&mp.0[0].exterior().0) > 0.0);
        assert!(signed_area(&mp.0[0].interiors()[0].0) < 0.0);
    }
}
