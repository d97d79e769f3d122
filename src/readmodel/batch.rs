//! Nearest-neighbour queries on the sphere in batches: a flat grid per point set
//! ([`SphereGrid`]) and query points sorted once per batch ([`BatchPoints`]).
//!
//! Hand-written rather than rstar's R-tree because batch k-NN is the hot path of `/nearest`,
//! radius coverage and the W1/W2 benchmarks, and a profile of rstar on these trees (3-D unit
//! vectors, node size 6) is dominated by `AABB::distance_2` and the traversal stack: about
//! 1.1 µs per (point, kind). A uniform grid over the points' tangent plane, with the points
//! stored cell by cell in structure-of-arrays form, answers the same query by scanning a few
//! contiguous runs of coordinates (docs/PERFORMANCE.md, W2).
//!
//! Exactness: every distance compared is the squared chord between the original unit vectors,
//! computed exactly as [`SpherePoint`](super::SpherePoint) does, and ties are broken by the
//! record index, so the answers are those of a brute-force scan. The grid only decides which
//! points are looked at: a cell is skipped when a lower bound of the chord to anything in it
//! (its distance in the tangent plane, which a rotation preserves and which leaves out the
//! third coordinate) exceeds the current k-th distance by more than [`EPS`] (6 µm, far above
//! the rounding of the projection).

use crate::model::{LonLat, chord_to_metres};

/// Margin on every lower bound, in unit-sphere units (1e-12 ≈ 6 µm on the Earth): rounding in
/// the tangent-plane coordinates (≈ 1e-16) can never make a cell look farther than it is.
pub const EPS: f64 = 1e-12;

/// Mean points per grid cell the grid aims at.
const OCCUPANCY: f64 = 2.0;

/// One neighbour found by a query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Neighbour {
    /// Index of the point's record, as given to [`SphereGrid::new`].
    pub index: usize,
    /// Squared chord between the unit vectors (monotone in great-circle distance).
    pub chord2: f64,
    /// Where the grid stores it.
    slot: u32,
}

impl Neighbour {
    /// Great-circle distance in metres (haversine on the mean Earth radius).
    pub fn metres(&self) -> f64 {
        chord_to_metres(self.chord2.sqrt())
    }

    /// Lexicographic (distance, index) order: the order of every answer.
    #[inline]
    fn before(&self, other: &Neighbour) -> bool {
        self.chord2 < other.chord2 || (self.chord2 == other.chord2 && self.index < other.index)
    }
}

#[inline]
fn dot(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

#[inline]
fn cross(a: &[f64; 3], b: &[f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn normalised(v: [f64; 3]) -> Option<[f64; 3]> {
    let n = dot(&v, &v).sqrt();
    (n > 1e-9).then(|| [v[0] / n, v[1] / n, v[2] / n])
}

/// Squared chord, in the operation order of [`SpherePoint`](super::SpherePoint)'s
/// `distance_2`, so that answers agree bit for bit with the R-trees.
#[inline]
fn chord2(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    let d = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
}

/// An orthonormal tangent frame at the centre of a point set: east and north unit vectors.
/// Coordinates in it are a rotation of the unit vectors with the third axis dropped, so the
/// plane distance never exceeds the chord.
#[derive(Debug, Clone, Copy)]
struct Frame {
    e: [f64; 3],
    n: [f64; 3],
}

impl Frame {
    fn around<'a>(units: impl Iterator<Item = &'a [f64; 3]>) -> Frame {
        let mut c = [0.0; 3];
        for u in units {
            c = [c[0] + u[0], c[1] + u[1], c[2] + u[2]];
        }
        let c = normalised(c).unwrap_or([1.0, 0.0, 0.0]);
        let e = normalised(cross(&[0.0, 0.0, 1.0], &c))
            .or_else(|| normalised(cross(&[0.0, 1.0, 0.0], &c)))
            .expect("a unit vector is not parallel to both the y and z axes");
        Frame {
            e,
            n: cross(&c, &e),
        }
    }

    #[inline]
    fn xy(&self, u: &[f64; 3]) -> [f64; 2] {
        [dot(u, &self.e), dot(u, &self.n)]
    }
}

/// A set of points on the sphere (unit vectors, each with its record index) in a uniform grid
/// over their tangent plane, for exact k-nearest and radius queries, one at a time or in
/// batches.
///
/// ```
/// use gridcircle::readmodel::{BatchPoints, SphereGrid};
/// use gridcircle::model::LonLat;
/// let at = |lon: f64, lat: f64| LonLat::new(lon, lat).unwrap().unit_vector();
/// // Three pharmacies in Porto, indices 0..3.
/// let grid = SphereGrid::new([
///     (at(-8.611, 41.149), 0),
///     (at(-8.600, 41.160), 1),
///     (at(-8.630, 41.140), 2),
/// ]);
/// // The two nearest to one point, nearest first, with their distances.
/// let mut found = Vec::new();
/// grid.nearest_k(at(-8.612, 41.150), 2, |_| true, &mut found);
/// assert_eq!(found.iter().map(|n| n.index).collect::<Vec<_>>(), vec![0, 1]);
/// assert!((found[0].metres() - 139.0).abs() < 1.0);
/// // The same for many points at once, on both cores.
/// let points = BatchPoints::new(&[
///     LonLat::new(-8.612, 41.150).unwrap(),
///     LonLat::new(-8.601, 41.161).unwrap(),
/// ]);
/// let all = grid.k_nearest_batch(&points, 2, 2);
/// assert_eq!(all.get(0), &found[..]);
/// assert_eq!(all.get(1)[0].index, 1);
/// ```
#[derive(Debug, Clone)]
pub struct SphereGrid {
    frame: Frame,
    x0: f64,
    y0: f64,
    h: f64,
    inv_h: f64,
    nx: usize,
    ny: usize,
    /// `start[c]..start[c + 1]` are the points of cell `c = row * nx + col`.
    start: Vec<u32>,
    /// The points' unit vectors, cell by cell (structure of arrays).
    ux: Vec<f64>,
    uy: Vec<f64>,
    uz: Vec<f64>,
    /// Their record indices.
    index: Vec<u32>,
}

impl Default for SphereGrid {
    fn default() -> Self {
        SphereGrid::new(std::iter::empty())
    }
}

impl SphereGrid {
    /// Indexes `points`: unit vectors (as [`LonLat::unit_vector`] gives) with the index of
    /// their record. Linear time (a counting sort into cells).
    pub fn new(points: impl IntoIterator<Item = ([f64; 3], usize)>) -> SphereGrid {
        let points: Vec<([f64; 3], usize)> = points.into_iter().collect();
        assert!(
            points.len() < u32::MAX as usize,
            "too many points for one grid"
        );
        let frame = Frame::around(points.iter().map(|p| &p.0));
        let xy: Vec<[f64; 2]> = points.iter().map(|p| frame.xy(&p.0)).collect();
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for p in &xy {
            lo = [lo[0].min(p[0]), lo[1].min(p[1])];
            hi = [hi[0].max(p[0]), hi[1].max(p[1])];
        }
        if xy.is_empty() {
            (lo, hi) = ([0.0; 2], [0.0; 2]);
        }
        let (w, d) = (hi[0] - lo[0], hi[1] - lo[1]);
        let cells = (points.len() as f64 / OCCUPANCY).max(1.0);
        let mut h = (w * d / cells).sqrt();
        // (Comparisons written so that a NaN also falls through to the next choice.)
        if h.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            h = w.max(d) / cells;
        }
        if h.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
            h = 1.0; // all points in one place: one cell
        }
        let dims = |h: f64| {
            (
                ((w / h).floor() as usize + 1),
                ((d / h).floor() as usize + 1),
            )
        };
        // A long thin set would get more cells than points: widen them.
        while {
            let (nx, ny) = dims(h);
            (nx * ny) as f64 > 2.0 * cells + 16.0
        } {
            h *= 1.25;
        }
        let (nx, ny) = dims(h);
        let mut grid = SphereGrid {
            frame,
            x0: lo[0],
            y0: lo[1],
            h,
            inv_h: 1.0 / h,
            nx,
            ny,
            start: vec![0; nx * ny + 1],
            ux: Vec::new(),
            uy: Vec::new(),
            uz: Vec::new(),
            index: Vec::new(),
        };
        let cell_of: Vec<usize> = xy.iter().map(|p| grid.cell(p)).collect();
        for &c in &cell_of {
            grid.start[c + 1] += 1;
        }
        for c in 0..nx * ny {
            grid.start[c + 1] += grid.start[c];
        }
        // Within a cell, in the order given (stable), which callers make the record order.
        let mut order: Vec<u32> = (0..points.len() as u32).collect();
        order.sort_by_key(|&i| cell_of[i as usize]);
        grid.ux = order.iter().map(|&i| points[i as usize].0[0]).collect();
        grid.uy = order.iter().map(|&i| points[i as usize].0[1]).collect();
        grid.uz = order.iter().map(|&i| points[i as usize].0[2]).collect();
        grid.index = order.iter().map(|&i| points[i as usize].1 as u32).collect();
        grid
    }

    /// From points in degrees, indexed 0, 1, 2, … in the order given.
    pub fn from_lonlat(points: &[LonLat]) -> SphereGrid {
        SphereGrid::new(points.iter().enumerate().map(|(i, p)| (p.unit_vector(), i)))
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when there are no points.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    #[inline]
    fn col(&self, x: f64) -> usize {
        // Truncation is floor once clamped at 0 (and needs no libm call without SSE4.1).
        (((x - self.x0) * self.inv_h).max(0.0) as usize).min(self.nx - 1)
    }

    #[inline]
    fn row(&self, y: f64) -> usize {
        (((y - self.y0) * self.inv_h).max(0.0) as usize).min(self.ny - 1)
    }

    #[inline]
    fn cell(&self, p: &[f64; 2]) -> usize {
        self.row(p[1]) * self.nx + self.col(p[0])
    }

    /// Squared plane distance from `q` to cell (col, row).
    #[inline]
    fn cell_gap2(&self, q: &[f64; 2], col: usize, row: usize) -> f64 {
        let (left, bottom) = (self.x0 + col as f64 * self.h, self.y0 + row as f64 * self.h);
        let dx = (left - q[0]).max(q[0] - (left + self.h)).max(0.0);
        let dy = (bottom - q[1]).max(q[1] - (bottom + self.h)).max(0.0);
        dx * dx + dy * dy
    }

    /// Offers the points stored at `from..to` to the `k` best so far; only points with a
    /// squared chord of at most `limit2` are taken.
    ///
    /// Cells of one row are consecutive in storage, so a run of cells along a row is one
    /// slice: scanning a rectangle costs one slice per row, however many cells it spans.
    #[inline]
    #[allow(clippy::too_many_arguments)]
    fn scan(
        &self,
        from: usize,
        to: usize,
        u: &[f64; 3],
        k: usize,
        limit2: f64,
        keep: &mut impl FnMut(usize) -> bool,
        best: &mut Vec<Neighbour>,
    ) {
        let (ux, uy, uz) = (&self.ux[from..to], &self.uy[from..to], &self.uz[from..to]);
        for j in 0..ux.len() {
            let d = [ux[j] - u[0], uy[j] - u[1], uz[j] - u[2]];
            let d2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
            if d2 > limit2 || (best.len() == k && d2 > best[k - 1].chord2) {
                continue;
            }
            let cand = Neighbour {
                index: self.index[from + j] as usize,
                chord2: d2,
                slot: (from + j) as u32,
            };
            if best.len() == k && !cand.before(&best[k - 1]) {
                continue;
            }
            if !keep(cand.index) {
                continue;
            }
            if best.len() == k {
                best.pop();
            }
            let at = best.partition_point(|b| b.before(&cand));
            best.insert(at, cand);
        }
    }

    /// The points of cells `c0..=c1` of `row`, as one storage range.
    #[inline]
    fn row_span(&self, row: usize, c0: usize, c1: usize) -> (usize, usize) {
        let base = row * self.nx;
        (
            self.start[base + c0] as usize,
            self.start[base + c1 + 1] as usize,
        )
    }

    /// The `k` points nearest to the unit vector `u` among those whose index passes `keep`,
    /// nearest first (ties by index), into `out` (cleared first; fewer than `k` when fewer
    /// pass). `keep` is asked only about points that would enter the answer.
    ///
    /// Scans rings of cells around `u`'s cell until no unscanned cell can hold anything nearer
    /// than the k-th found.
    pub fn nearest_k(
        &self,
        u: [f64; 3],
        k: usize,
        mut keep: impl FnMut(usize) -> bool,
        out: &mut Vec<Neighbour>,
    ) {
        out.clear();
        if k == 0 || self.is_empty() {
            return;
        }
        let q = self.frame.xy(&u);
        let (cx, cy) = (self.col(q[0]), self.row(q[1]));
        let mut rho = 0usize;
        loop {
            // Cells whose plane distance exceeds the k-th chord found (plus EPS) are skipped;
            // the bound is taken once per ring (it only shrinks within the ring).
            let skip2 = if out.len() == k {
                let r = out[k - 1].chord2.sqrt() + EPS;
                r * r
            } else {
                f64::INFINITY
            };
            let (c0, c1) = (cx.saturating_sub(rho), (cx + rho).min(self.nx - 1));
            let (r0, r1) = (cy.saturating_sub(rho), (cy + rho).min(self.ny - 1));
            for row in r0..=r1 {
                if row + rho == cy || row == cy + rho {
                    // A whole edge row of the ring: one slice.
                    let (from, to) = self.row_span(row, c0, c1);
                    if from < to {
                        self.scan(from, to, &u, k, f64::INFINITY, &mut keep, out);
                    }
                    continue;
                }
                for col in [
                    (cx >= rho).then(|| cx - rho),
                    (rho > 0 && cx + rho < self.nx).then_some(cx + rho),
                ]
                .into_iter()
                .flatten()
                {
                    let (from, to) = self.row_span(row, col, col);
                    if from < to && self.cell_gap2(&q, col, row) <= skip2 {
                        self.scan(from, to, &u, k, f64::INFINITY, &mut keep, out);
                    }
                }
            }
            // Every unscanned cell lies beyond one of the square's four sides.
            let mut gap = f64::INFINITY;
            if cx > rho {
                gap = gap.min(q[0] - (self.x0 + (cx - rho) as f64 * self.h));
            }
            if cx + rho + 1 < self.nx {
                gap = gap.min(self.x0 + (cx + rho + 1) as f64 * self.h - q[0]);
            }
            if cy > rho {
                gap = gap.min(q[1] - (self.y0 + (cy - rho) as f64 * self.h));
            }
            if cy + rho + 1 < self.ny {
                gap = gap.min(self.y0 + (cy + rho + 1) as f64 * self.h - q[1]);
            }
            if gap == f64::INFINITY {
                return; // every cell scanned
            }
            if out.len() == k {
                let g = (gap - EPS).max(0.0);
                if out[k - 1].chord2 < g * g {
                    return;
                }
            }
            rho += 1;
        }
    }

    /// The `k` nearest points to `u` when at least `k` points lie within a squared chord
    /// `r2` of it (the caller knows `k` such points): scans only the disc of that radius, one
    /// storage slice per row of cells, and takes only points within it.
    fn nearest_k_within(&self, u: [f64; 3], k: usize, r2: f64, out: &mut Vec<Neighbour>) {
        out.clear();
        let q = self.frame.xy(&u);
        let r = r2.sqrt() + EPS;
        for row in self.row(q[1] - r)..=self.row(q[1] + r) {
            let bottom = self.y0 + row as f64 * self.h;
            let dy = ((bottom - q[1]).max(q[1] - (bottom + self.h)).max(0.0) - EPS).max(0.0);
            if dy > r {
                continue;
            }
            // Rows near the centre use the whole width (saves a square root where it would
            // narrow the span little); farther rows only the chord of the disc.
            let half = if dy * dy <= 0.25 * r * r {
                r
            } else {
                (r * r - dy * dy).max(0.0).sqrt() + EPS
            };
            let (from, to) = self.row_span(row, self.col(q[0] - half), self.col(q[0] + half));
            if from < to {
                self.scan(from, to, &u, k, r2, &mut |_| true, out);
            }
        }
    }

    /// The nearest point to `u`, if the grid is not empty.
    pub fn nearest(&self, u: [f64; 3]) -> Option<Neighbour> {
        let mut out = Vec::with_capacity(1);
        self.nearest_k(u, 1, |_| true, &mut out);
        out.first().copied()
    }

    /// The `k` nearest points to every point of `points`, on `threads` threads (the points
    /// are taken in their sorted order, split into one run per thread).
    pub fn k_nearest_batch(&self, points: &BatchPoints, k: usize, threads: usize) -> BatchNearest {
        let n = points.len();
        let runs = parallel_runs(threads, &points.order, |run| {
            let mut rows = Vec::with_capacity(run.len() * k);
            let mut lens = Vec::with_capacity(run.len());
            let mut best = Vec::with_capacity(k + 1);
            let mut bound = Vec::with_capacity(k);
            for &i in run {
                let u = points.units[i as usize];
                if best.len() == k && k > 0 {
                    // The previous point's k neighbours are k points within the k-th
                    // smallest of their chords to this one: a bound that needs no search.
                    bound.clear();
                    bound.extend(best.iter().map(|b: &Neighbour| {
                        let j = b.slot as usize;
                        chord2(&[self.ux[j], self.uy[j], self.uz[j]], &u)
                    }));
                    let r2 = bound.iter().copied().fold(0.0, f64::max);
                    self.nearest_k_within(u, k, r2, &mut best);
                    debug_assert_eq!(best.len(), k);
                } else {
                    self.nearest_k(u, k, |_| true, &mut best);
                }
                lens.push(best.len() as u32);
                rows.extend_from_slice(&best);
                rows.resize(rows.len() + k - best.len(), Neighbour::NONE);
            }
            (rows, lens)
        });
        let mut out = BatchNearest {
            k,
            rows: vec![Neighbour::NONE; n * k],
            lens: vec![0; n],
        };
        let mut order = points.order.iter();
        for (rows, lens) in runs {
            for (j, len) in lens.into_iter().enumerate() {
                let i = *order.next().expect("one answer per point") as usize;
                out.lens[i] = len;
                out.rows[i * k..(i + 1) * k].copy_from_slice(&rows[j * k..(j + 1) * k]);
            }
        }
        out
    }

    /// The points of `points` (their indices, ascending) with no point of this grid within
    /// `radius_m` metres, on `threads` threads.
    ///
    /// Takes the points in their sorted order and keeps the last answer as a certificate: the
    /// grid point that covered the previous query point covers this one too when it is within
    /// the radius (one distance), and the previous point's nearest distance `D` proves this one
    /// uncovered when `D − step > radius` (triangle inequality on chords). Only the others need
    /// a search.
    pub fn uncovered(&self, points: &BatchPoints, radius_m: f64, threads: usize) -> Vec<usize> {
        let c_r = chord_of(radius_m);
        let c_r2 = c_r * c_r;
        let runs = parallel_runs(threads, &points.order, |run| {
            let mut out = Vec::new();
            let mut cover: Option<[f64; 3]> = None;
            // (unit vector of the last point searched, chord to its nearest grid point)
            let mut gap: Option<([f64; 3], f64)> = None;
            let mut best = Vec::with_capacity(2);
            for &i in run {
                let u = &points.units[i as usize];
                if let Some(f) = &cover
                    && chord2(f, u) <= c_r2
                {
                    continue;
                }
                if let Some((at, d)) = &gap
                    && d - chord2(at, u).sqrt() > c_r + EPS
                {
                    out.push(i as usize);
                    continue;
                }
                self.nearest_k(*u, 1, |_| true, &mut best);
                match best.first() {
                    Some(f) if f.chord2 <= c_r2 => {
                        let j = f.slot as usize;
                        cover = Some([self.ux[j], self.uy[j], self.uz[j]]);
                    }
                    Some(f) => {
                        gap = Some((*u, f.chord2.sqrt()));
                        out.push(i as usize);
                    }
                    None => out.push(i as usize),
                }
            }
            out
        });
        let mut out: Vec<usize> = runs.into_iter().flatten().collect();
        out.sort_unstable();
        out
    }
}

/// Chord between unit vectors for a great-circle distance in metres.
pub fn chord_of(metres: f64) -> f64 {
    2.0 * (metres / (2.0 * geo::Haversine.radius())).sin()
}

impl Neighbour {
    /// Filler of unused answer slots.
    const NONE: Neighbour = Neighbour {
        index: usize::MAX,
        chord2: f64::INFINITY,
        slot: u32::MAX,
    };
}

/// Query points for batch queries: their unit vectors, and an order that keeps neighbours
/// together (a Morton curve over their tangent plane), computed once and shared by every
/// query of the batch (every facility kind).
#[derive(Debug, Clone, Default)]
pub struct BatchPoints {
    units: Vec<[f64; 3]>,
    order: Vec<u32>,
}

impl BatchPoints {
    /// From points in degrees.
    pub fn new(points: &[LonLat]) -> BatchPoints {
        BatchPoints::from_unit_vectors(points.iter().map(|p| p.unit_vector()).collect())
    }

    /// From unit vectors ([`LonLat::unit_vector`]).
    pub fn from_unit_vectors(units: Vec<[f64; 3]>) -> BatchPoints {
        assert!(
            units.len() < u32::MAX as usize,
            "too many points for one batch"
        );
        let frame = Frame::around(units.iter());
        let xy: Vec<[f64; 2]> = units.iter().map(|u| frame.xy(u)).collect();
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for p in &xy {
            lo = [lo[0].min(p[0]), lo[1].min(p[1])];
            hi = [hi[0].max(p[0]), hi[1].max(p[1])];
        }
        let side = (hi[0] - lo[0]).max(hi[1] - lo[1]);
        let scale = if side > 0.0 { 65_535.0 / side } else { 0.0 };
        let mut keyed: Vec<(u64, u32)> = xy
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let qx = ((p[0] - lo[0]) * scale) as u32;
                let qy = ((p[1] - lo[1]) * scale) as u32;
                ((spread(qx) | (spread(qy) << 1)), i as u32)
            })
            .collect();
        keyed.sort_unstable();
        BatchPoints {
            units,
            order: keyed.into_iter().map(|k| k.1).collect(),
        }
    }

    /// Number of points.
    pub fn len(&self) -> usize {
        self.units.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    /// The unit vector of point `i`.
    pub fn unit(&self, i: usize) -> [f64; 3] {
        self.units[i]
    }

    /// The points' indices in batch order (neighbours together).
    pub fn order(&self) -> &[u32] {
        &self.order
    }
}

/// Spreads the 16 low bits of `v` to the even bits of the result (Morton interleave).
fn spread(v: u32) -> u64 {
    let mut x = u64::from(v & 0xffff);
    x = (x | (x << 8)) & 0x00ff_00ff;
    x = (x | (x << 4)) & 0x0f0f_0f0f;
    x = (x | (x << 2)) & 0x3333_3333;
    (x | (x << 1)) & 0x5555_5555
}

/// The answers of [`SphereGrid::k_nearest_batch`]: for each query point (in the order given
/// to [`BatchPoints`]), up to `k` neighbours, nearest first.
#[derive(Debug, Clone, Default)]
pub struct BatchNearest {
    k: usize,
    rows: Vec<Neighbour>,
    lens: Vec<u32>,
}

impl BatchNearest {
    /// The neighbours of query point `i`, nearest first (fewer than `k` when the grid has
    /// fewer points).
    pub fn get(&self, i: usize) -> &[Neighbour] {
        &self.rows[i * self.k..i * self.k + self.lens[i] as usize]
    }

    /// Number of query points.
    pub fn len(&self) -> usize {
        self.lens.len()
    }

    /// True when there were no query points.
    pub fn is_empty(&self) -> bool {
        self.lens.is_empty()
    }

    /// Neighbours asked for per point.
    pub fn k(&self) -> usize {
        self.k
    }
}

/// Runs `f` on `threads` contiguous runs of `items` (fewer when there are few items), in
/// parallel with scoped threads, and returns the results in run order.
pub(crate) fn parallel_runs<T: Send>(
    threads: usize,
    items: &[u32],
    f: impl Fn(&[u32]) -> T + Sync,
) -> Vec<T> {
    // Below this many items per thread, spawning costs more than it saves.
    const MIN_PER_THREAD: usize = 256;
    let threads = threads
        .max(1)
        .min(items.len().div_ceil(MIN_PER_THREAD).max(1));
    if threads == 1 {
        return vec![f(items)];
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|run| {
                let f = &f;
                s.spawn(move || f(run))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("batch query thread"))
            .collect()
    })
}
