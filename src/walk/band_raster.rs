//! The band around a set of polylines as a distance field on a grid, and its contour.
//!
//! [`BandField`] holds, for every node of a square grid (local metres), the squared distance
//! to the nearest of the lines added to it, exact for every grid node within `band + 1.5 cells`
//! of a line and capped beyond. The polygon of the band (points within `band` of a line) is
//! then the contour of that field at `band`, traced by marching squares (the `contour` crate,
//! linear interpolation along the cell edges), so rings never cross and holes come out as
//! holes.
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
//! The cost is about (area of the band) / (cell area) plus a constant per segment and row.

use contour::ContourBuilder;
use geo::{Coord, LineString, MultiPolygon, Polygon, Simplify};

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
    d2: Vec<f64>,
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
            d2: vec![reach * reach; nx * ny],
        }
    }

    /// Adds polylines. `pieces[k] = (from, to, coords)`: the polyline starts at vertex `from`
    /// and ends at vertex `to` (ids shared between pieces that meet there), and its first and
    /// last coordinates are those vertices' positions.
    pub(crate) fn add_lines(&mut self, pieces: &[(u32, u32, Vec<[f64; 2]>)], simplify_m: f64) {
        // Directions leaving each shared end vertex: (vertex, position, direction).
        let mut ends: Vec<(u32, [f64; 2], [f64; 2])> = Vec::with_capacity(pieces.len() * 2);
        let mut pts: Vec<[f64; 2]> = Vec::new();
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
                let line = LineString::new(pts.iter().map(|&[x, y]| Coord { x, y }).collect());
                pts.clear();
                pts.extend(line.simplify(simplify_m).0.iter().map(|c| [c.x, c.y]));
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
        let a = ((lo - self.reach - g.y0) / g.step).ceil().max(0.0) as usize;
        let b =
            (((hi + self.reach - g.y0) / g.step).floor() + 1.0).clamp(0.0, g.ny as f64) as usize;
        a..b.max(a)
    }

    /// Narrows the column range `[lo, hi]` (real indices) to the `i` with
    /// `c0 + i·c1 ∈ [min, max]`.
    fn bound(lo: &mut f64, hi: &mut f64, c0: f64, c1: f64, min: f64, max: f64) {
        if c1.abs() < 1e-12 {
            if c0 < min || c0 > max {
                *hi = f64::NEG_INFINITY;
            }
            return;
        }
        let (a, b) = ((min - c0) / c1, (max - c0) / c1);
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        *lo = lo.max(a);
        *hi = hi.min(b);
    }

    /// The integer columns of a real range, clipped to the grid.
    fn columns(&self, lo: f64, hi: f64) -> std::ops::Range<usize> {
        if !(hi >= lo) {
            return 0..0;
        }
        let a = lo.ceil().max(0.0);
        let b = (hi.floor() + 1.0).min(self.grid.nx as f64);
        if b <= a { 0..0 } else { a as usize..b as usize }
    }

    /// The slab of segment `a → b`: nodes whose foot on the segment's line falls inside it,
    /// valued by their squared perpendicular distance.
    fn slab(&mut self, a: [f64; 2], b: [f64; 2]) {
        let g = self.grid;
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let len = dx.hypot(dy);
        let u = [dx / len, dy / len];
        let n = [-u[1], u[0]];
        let r = self.reach;
        // The slab's corners are the ends shifted by ±r·n.
        let pad = r * n[1].abs() - r;
        for j in self.rows(a[1].min(b[1]) - pad, a[1].max(b[1]) + pad) {
            let y = g.y0 + j as f64 * g.step - a[1];
            let x = g.x0 - a[0];
            // Along the segment s(i) = s0 + i·ds, across it e(i) = e0 + i·de.
            let (s0, ds) = (u[0] * x + u[1] * y, u[0] * g.step);
            let (e0, de) = (n[0] * x + n[1] * y, n[0] * g.step);
            let (mut lo, mut hi) = (f64::NEG_INFINITY, f64::INFINITY);
            Self::bound(&mut lo, &mut hi, s0, ds, -SLACK_M, len + SLACK_M);
            Self::bound(&mut lo, &mut hi, e0, de, -r, r);
            let cols = self.columns(lo, hi);
            let row = &mut self.d2[j * g.nx..(j + 1) * g.nx];
            for i in cols {
                let e = e0 + i as f64 * de;
                row[i] = row[i].min(e * e);
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
        for j in self.rows(lo + r, hi - r) {
            let y = g.y0 + j as f64 * g.step - v[1];
            if y.abs() > r {
                continue;
            }
            let h = (r * r - y * y).sqrt();
            let x = g.x0 - v[0];
            let (mut lo, mut hi) = ((-h - x) / g.step, (h - x) / g.step);
            for d in dirs {
                Self::bound(
                    &mut lo,
                    &mut hi,
                    d[0] * x + d[1] * y,
                    d[0] * g.step,
                    f64::NEG_INFINITY,
                    SLACK_M,
                );
            }
            let cols = self.columns(lo, hi);
            let row = &mut self.d2[j * g.nx..(j + 1) * g.nx];
            let yy = y * y;
            for i in cols {
                let xx = x + i as f64 * g.step;
                row[i] = row[i].min(xx * xx + yy);
            }
        }
    }

    /// The band as polygons with holes (local metres): the contour of the field at the band,
    /// rings simplified by Douglas–Peucker at `simplify_m` (rings that collapse are dropped),
    /// exteriors counter-clockwise and holes clockwise.
    pub(crate) fn polygon(&self, simplify_m: f64) -> MultiPolygon<f64> {
        let g = &self.grid;
        // Inside is where the value is at least the threshold: negate the distance.
        let values: Vec<f64> = self.d2.iter().map(|&d2| -d2.sqrt()).collect();
        // The crate puts value `i` at `i + 0.5` in grid units.
        let lines = ContourBuilder::new(g.nx, g.ny, true)
            .x_origin(g.x0 - 0.5 * g.step)
            .y_origin(g.y0 - 0.5 * g.step)
            .x_step(g.step)
            .y_step(g.step)
            .lines(&values, &[-self.band])
            .expect("the field has nx × ny values");
        let mut exteriors: Vec<(f64, [f64; 4], LineString<f64>)> = Vec::new();
        let mut holes: Vec<LineString<f64>> = Vec::new();
        for ring in lines.into_iter().flat_map(|l| l.geometry().0.clone()) {
            let mut ring = if simplify_m > 0.0 {
                ring.simplify(simplify_m)
            } else {
                ring
            };
            if ring.0.len() < 4 {
                continue;
            }
            let area = signed_area(&ring.0);
            if area == 0.0 {
                continue;
            }
            // Marching squares keeps the inside on one side: with this crate's orientation
            // an outer ring is clockwise (negative area) and a hole counter-clockwise.
            ring.0.reverse();
            if area < 0.0 {
                exteriors.push((-area, bbox(&ring.0), ring));
            } else {
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
                let got = f.d2[j * g.nx + i].sqrt();
                if exact <= f.reach - 1e-6 {
                    assert!((got - exact).abs() < 1e-6, "at {p:?}: {got} vs {exact}");
                    checked += 1;
                } else {
                    assert!(got >= f.reach - 1e-6 || (got - exact).abs() < 1e-6);
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
