//! The scale generator: a larger city made of N×N shifted copies of a real extract.
//!
//! None of the sample extracts is large enough for scale work, so benchmarks tile one (Porto,
//! by default) side by side: copy `(i, j)` (column `i` eastwards, row `j` northwards) is the
//! original moved by `i` tile widths east and `j` tile heights north, where a tile is the
//! bounding box of the original's buildings, so building copies never overlap. Every figure
//! quoted on such an input must say that it is tiled copies of real data.
//!
//! - **Ids.** Copy `t = j·N + i` adds `t × stride` to every OSM id (nodes, ways, relations,
//!   and the references between them), where `stride` is the power of ten above the largest id
//!   in the file: copy 0 keeps the real ids, and no two copies share one.
//! - **Coordinates** move by whole nanodegrees (multiples of 100, the PBF grid), so a copy is
//!   exact, and reading a tiled PBF gives the same coordinates as tiling in memory.
//! - **Joined streets.** An extract cuts the street network at its edge: a street that leaves
//!   the area ends in a dead end. Each walkable dead end that lies outside the tile, or within
//!   [`JOIN_BAND_M`] of its edge, is joined by a straight `highway=footway` connector to the
//!   nearest walkable node of the neighbouring copy that covers that place, when one is within
//!   [`JOIN_RADIUS_M`]. Connectors are computed once on the original and repeated for every
//!   pair of neighbouring copies; they are ways with ids above every copy's.
//!
//! Two ways to use it, which agree (tested): [`tile_import`] tiles an [`OsmImport`] in memory
//! (for benches and `gridcircle-tools synth --out city.gpkg`), and [`write_tiled_pbf`] writes a
//! tiled `.osm.pbf` with every object and tag of the original (for importers that read OSM
//! files, such as osm2pgsql, and for `gridcircle import`).
//!
//! ```
//! use gridcircle::config::HouseholdEstimate;
//! use gridcircle::import::read_osm_pbf;
//! use gridcircle::model::KindCatalogue;
//! use gridcircle_tools::synth::{Tiling, tile_import};
//! let path = std::path::Path::new("../../shared/data/nanjing-xinjiekou.osm.pbf");
//! let est = HouseholdEstimate::default();
//! let base = read_osm_pbf(path, &KindCatalogue::bundled(), &est, false)?;
//! let tiling = Tiling::plan(&base, 2);
//! let city = tile_import(&base, &tiling, &est);
//! assert_eq!(city.buildings.len(), 4 * base.buildings.len());
//! assert!(city.ways.len() > 4 * base.ways.len()); // the copies plus their connectors
//! # Ok::<(), anyhow::Error>(())
//! ```

use gridcircle::formats::protobuf::{self, zigzag};
use std::collections::{HashMap, HashSet};
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, bail};
use geo::{BoundingRect, Coord, LineString, MapCoords, MultiPolygon, Rect};
use osmpbf::{Element, ElementReader, RelMemberType};
use rstar::RTree;
use rstar::primitives::GeomWithData;

use gridcircle::config::HouseholdEstimate;
use gridcircle::import::{ImportReport, OsmImport};
use gridcircle::model::{
    AreaShape, Building, HouseholdSource, LandArea, LandClass, LonLat, OsmRef, StreetWay,
};

/// Dead ends this close to a tile's edge (or beyond it) are joined to the neighbouring copy.
pub const JOIN_BAND_M: f64 = 30.0;
/// Longest connector between neighbouring copies, metres.
pub const JOIN_RADIUS_M: f64 = 100.0;

/// The walking graph's rule ([`gridcircle::walk::is_walkable`]): connectors join walkable streets.
fn walkable(way: &StreetWay) -> bool {
    gridcircle::walk::is_walkable(way)
}

/// Degrees to whole nanodegrees (exact for coordinates read from a PBF).
fn nano(deg: f64) -> i64 {
    (deg * 1e9).round() as i64
}

/// Nanodegrees to degrees, as the OSM importer converts them.
fn degrees(nano: i64) -> f64 {
    nano as f64 / 1e9
}

/// A connector of the original, repeated between every pair of copies `(t, t + dir)`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct BaseConnector {
    /// Direction of the neighbour, in tiles: `[east, north]`, each -1, 0 or 1.
    dir: [i64; 2],
    /// Dead-end node of copy `t` and its position in nanodegrees (`[lon, lat]`) in the original.
    from: (i64, [i64; 2]),
    /// Node of copy `t + dir` and its position in the original.
    to: (i64, [i64; 2]),
}

/// How an extract is tiled: the shift between copies, the id stride, and the connectors.
#[derive(Debug, Clone)]
pub struct Tiling {
    /// Copies per side (N of N×N).
    pub n: u32,
    /// Shift between neighbouring copies, nanodegrees `[lon, lat]` (multiples of 100).
    pub shift_nano: [i64; 2],
    /// Added to every OSM id once per copy index.
    pub stride: i64,
    connectors: Vec<BaseConnector>,
}

impl Tiling {
    /// Plans an `n`×`n` tiling of `base` (the import of the original extract).
    ///
    /// # Panics
    /// If `n` is 0, or `n² × stride` overflows `i64`.
    pub fn plan(base: &OsmImport, n: u32) -> Tiling {
        assert!(n >= 1, "a tiling needs at least one copy per side");
        let max_id = base
            .ways
            .iter()
            .flat_map(|w| w.node_ids.iter().copied().chain([w.id]))
            .chain(base.buildings.iter().map(|b| osm_id(b.osm)))
            .chain(base.facilities.iter().filter_map(|f| f.osm.map(osm_id)))
            .max()
            .unwrap_or(0);
        // Ids of objects the import dropped are unknown here; a PBF tiling widens the stride
        // when its file has larger ones (see `write_tiled_pbf`).
        Self::plan_with_max_id(base, n, max_id)
    }

    fn plan_with_max_id(base: &OsmImport, n: u32, max_id: i64) -> Tiling {
        assert!(n >= 1, "a tiling needs at least one copy per side");
        let mut stride: i64 = 10;
        while stride <= max_id {
            stride *= 10;
        }
        i64::from(n * n)
            .checked_add(1)
            .and_then(|c| c.checked_mul(stride))
            .expect("tiled ids fit in i64");
        let rect = tile_rect(base);
        // Whole multiples of 100 nanodegrees (1e-7°, the PBF grid), rounded up so copies never
        // overlap.
        let shift = |lo: f64, hi: f64| ((nano(hi) - nano(lo)) as f64 / 100.0).ceil() as i64 * 100;
        let shift_nano = [
            shift(rect.min().x, rect.max().x).max(100),
            shift(rect.min().y, rect.max().y).max(100),
        ];
        let connectors = if n > 1 {
            plan_connectors(base, rect, shift_nano)
        } else {
            Vec::new()
        };
        Tiling {
            n,
            shift_nano,
            stride,
            connectors,
        }
    }

    /// Number of copies (N²).
    pub fn copies(&self) -> u32 {
        self.n * self.n
    }

    /// The connector footways added between neighbouring copies.
    pub fn connector_count(&self) -> usize {
        self.tiled_connectors().count()
    }

    fn id_offset(&self, copy: u32) -> i64 {
        i64::from(copy) * self.stride
    }

    fn shift_of(&self, copy: u32) -> [i64; 2] {
        let (i, j) = (i64::from(copy % self.n), i64::from(copy / self.n));
        [i * self.shift_nano[0], j * self.shift_nano[1]]
    }

    /// The connectors of the tiled city: `(way id, [from node, to node], [from, to] nanodegrees)`.
    fn tiled_connectors(&self) -> impl Iterator<Item = (i64, [i64; 2], [[i64; 2]; 2])> + '_ {
        let n = i64::from(self.n);
        let first_id = i64::from(self.copies()) * self.stride;
        (0..self.copies())
            .flat_map(move |t| self.connectors.iter().map(move |c| (t, c)))
            .filter_map(move |(t, c)| {
                let (i, j) = (i64::from(t) % n + c.dir[0], i64::from(t) / n + c.dir[1]);
                ((0..n).contains(&i) && (0..n).contains(&j)).then(|| (t, (j * n + i) as u32, c))
            })
            .enumerate()
            .map(move |(k, (t, u, c))| {
                let (st, su) = (self.shift_of(t), self.shift_of(u));
                (
                    first_id + k as i64 + 1,
                    [c.from.0 + self.id_offset(t), c.to.0 + self.id_offset(u)],
                    [
                        [c.from.1[0] + st[0], c.from.1[1] + st[1]],
                        [c.to.1[0] + su[0], c.to.1[1] + su[1]],
                    ],
                )
            })
    }
}

fn osm_id(r: OsmRef) -> i64 {
    match r {
        OsmRef::Node(id) | OsmRef::Way(id) | OsmRef::Relation(id) => id,
    }
}

fn shift_ref(r: OsmRef, by: i64) -> OsmRef {
    match r {
        OsmRef::Node(id) => OsmRef::Node(id + by),
        OsmRef::Way(id) => OsmRef::Way(id + by),
        OsmRef::Relation(id) => OsmRef::Relation(id + by),
    }
}

/// The tile: the bounding box of the buildings (of the streets when there are none).
fn tile_rect(base: &OsmImport) -> Rect<f64> {
    let rects = base.buildings.iter().map(|b| b.footprint.bbox());
    let rects: Vec<Rect<f64>> = if base.buildings.is_empty() {
        base.ways
            .iter()
            .filter_map(|w| w.line.bounding_rect())
            .collect()
    } else {
        rects.collect()
    };
    rects
        .into_iter()
        .reduce(|a, b| {
            Rect::new(
                (a.min().x.min(b.min().x), a.min().y.min(b.min().y)),
                (a.max().x.max(b.max().x), a.max().y.max(b.max().y)),
            )
        })
        .unwrap_or_else(|| Rect::new((0.0, 0.0), (0.0, 0.0)))
}

/// A walkable node in local metres, with its OSM id and nanodegree position.
type NodeEntry = GeomWithData<[f64; 2], (i64, [i64; 2])>;

fn plan_connectors(base: &OsmImport, rect: Rect<f64>, shift_nano: [i64; 2]) -> Vec<BaseConnector> {
    let ways: Vec<&StreetWay> = base.ways.iter().filter(|w| walkable(w)).collect();
    let mut degree: HashMap<i64, u32> = HashMap::new();
    let mut at: HashMap<i64, [i64; 2]> = HashMap::new();
    for w in &ways {
        let last = w.node_ids.len().saturating_sub(1);
        for (k, (&id, c)) in w.node_ids.iter().zip(w.line.coords()).enumerate() {
            *degree.entry(id).or_default() += if k == 0 || k == last { 1 } else { 2 };
            at.insert(id, [nano(c.x), nano(c.y)]);
        }
    }
    let lat0 = (rect.min().y + rect.max().y) / 2.0;
    let m_per_deg_lat = 111_195.0;
    let m_per_deg_lon = m_per_deg_lat * lat0.to_radians().cos();
    let xy = |p: [i64; 2]| [degrees(p[0]) * m_per_deg_lon, degrees(p[1]) * m_per_deg_lat];
    let mut nodes: Vec<(i64, [i64; 2])> = at.iter().map(|(&id, &p)| (id, p)).collect();
    nodes.sort_unstable();
    let tree: RTree<NodeEntry> = RTree::bulk_load(
        nodes
            .iter()
            .map(|&(id, p)| GeomWithData::new(xy(p), (id, p)))
            .collect(),
    );
    let (band_lon, band_lat) = (JOIN_BAND_M / m_per_deg_lon, JOIN_BAND_M / m_per_deg_lat);
    let (w, h) = (degrees(shift_nano[0]), degrees(shift_nano[1]));
    let mut dead_ends: Vec<(i64, [i64; 2])> = degree
        .iter()
        .filter(|&(_, &d)| d == 1)
        .map(|(&id, _)| (id, at[&id]))
        .collect();
    dead_ends.sort_unstable();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (id, p) in dead_ends {
        let (x, y) = (degrees(p[0]), degrees(p[1]));
        let side = |v: f64, lo: f64, size: f64, band: f64| -> i64 {
            let t = ((v - lo) / size).floor() as i64;
            if t != 0 {
                t.clamp(-1, 1)
            } else if v < lo + band {
                -1
            } else if v > lo + size - band {
                1
            } else {
                0
            }
        };
        let dir = [
            side(x, rect.min().x, w, band_lon),
            side(y, rect.min().y, h, band_lat),
        ];
        if dir == [0, 0] {
            continue;
        }
        // Where this place is in the neighbouring copy's own (original) coordinates.
        let q = [p[0] - dir[0] * shift_nano[0], p[1] - dir[1] * shift_nano[1]];
        let Some(found) = tree.nearest_neighbor(xy(q)) else {
            continue;
        };
        let (to, to_at) = found.data;
        let metres = LonLat::new(degrees(q[0]), degrees(q[1]))
            .and_then(|a| {
                LonLat::new(degrees(to_at[0]), degrees(to_at[1])).map(|b| a.distance_m(b))
            })
            .unwrap_or(f64::INFINITY);
        if metres > JOIN_RADIUS_M {
            continue;
        }
        // The same link seen from the other side is the same connector.
        let key = if dir[0] < 0 || (dir[0] == 0 && dir[1] < 0) {
            ([-dir[0], -dir[1]], to, id)
        } else {
            (dir, id, to)
        };
        if seen.insert(key) {
            out.push(BaseConnector {
                dir,
                from: (id, p),
                to: (to, to_at),
            });
        }
    }
    out
}

fn shift_coord(c: Coord<f64>, by: [i64; 2]) -> Coord<f64> {
    Coord {
        x: degrees(nano(c.x) + by[0]),
        y: degrees(nano(c.y) + by[1]),
    }
}

/// Shifts a point that need not lie on the nanodegree grid (a facility at an area's
/// representative point); copy 0 keeps it exactly.
fn shift_lonlat(p: LonLat, by: [i64; 2]) -> Option<LonLat> {
    if by == [0, 0] {
        return Some(p);
    }
    LonLat::new(p.lon() + degrees(by[0]), p.lat() + degrees(by[1])).ok()
}

fn tile_building(
    b: &Building,
    by: [i64; 2],
    id_by: i64,
    estimate: &HouseholdEstimate,
) -> Option<Building> {
    let shape: MultiPolygon<f64> = b.footprint.shape().map_coords(|c| shift_coord(c, by));
    let footprint = AreaShape::from_multi_polygon(shape, "footprint").ok()?;
    let (households, residents) = match b.household_source {
        HouseholdSource::Estimated => {
            let h = estimate.households(footprint.area_m2(), b.levels);
            (h, estimate.residents(h))
        }
        _ => (b.households, b.residents),
    };
    Some(Building {
        id: 0,
        osm: shift_ref(b.osm, id_by),
        name: b.name.clone(),
        building: b.building.clone(),
        point: footprint.representative_point(),
        entrance: b.entrance.and_then(|e| shift_lonlat(e, by)),
        footprint,
        levels: b.levels,
        households,
        residents,
        household_source: b.household_source,
    })
}

/// Tiles an import in memory: N×N copies of `base` with renumbered ids, and the connectors
/// that join their streets. Households of estimated buildings are estimated again with
/// `estimate` (a copy further north has a slightly different area in m²). The result is sorted
/// as an import is, and its report counts what was made (read counts are those of all copies).
pub fn tile_import(base: &OsmImport, tiling: &Tiling, estimate: &HouseholdEstimate) -> OsmImport {
    let copies: Vec<u32> = (0..tiling.copies()).collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(copies.len());
    let chunk = copies.len().div_ceil(threads.max(1));
    let mut buildings: Vec<Building> = std::thread::scope(|s| {
        let handles: Vec<_> = copies
            .chunks(chunk.max(1))
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .flat_map(|&t| {
                            let (by, id_by) = (tiling.shift_of(t), tiling.id_offset(t));
                            base.buildings
                                .iter()
                                .filter_map(move |b| tile_building(b, by, id_by, estimate))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("tiling thread"))
            .collect()
    });
    buildings.sort_by_key(|b| b.osm);

    let mut facilities = Vec::with_capacity(base.facilities.len() * copies.len());
    for &t in &copies {
        let (by, id_by) = (tiling.shift_of(t), tiling.id_offset(t));
        for f in &base.facilities {
            let Some(point) = shift_lonlat(f.point, by) else {
                continue;
            };
            let mut f = f.clone();
            f.point = point;
            f.osm = f.osm.map(|r| shift_ref(r, id_by));
            facilities.push(f);
        }
    }
    facilities.sort_by_key(|f| f.osm);

    let mut ways =
        Vec::with_capacity(base.ways.len() * copies.len() + tiling.connectors.len() * copies.len());
    for &t in &copies {
        let (by, id_by) = (tiling.shift_of(t), tiling.id_offset(t));
        for w in &base.ways {
            ways.push(StreetWay {
                id: w.id + id_by,
                node_ids: w.node_ids.iter().map(|n| n + id_by).collect(),
                line: w.line.map_coords(|c| shift_coord(c, by)),
                ..w.clone()
            });
        }
    }
    for (id, nodes, at) in tiling.tiled_connectors() {
        ways.push(connector_way(id, nodes, at));
    }
    ways.sort_by_key(|w| w.id);

    let mut land = Vec::with_capacity(base.land.len() * copies.len());
    for &t in &copies {
        let (by, id_by) = (tiling.shift_of(t), tiling.id_offset(t));
        for l in &base.land {
            let shape: MultiPolygon<f64> = l.shape.shape().map_coords(|c| shift_coord(c, by));
            if let Ok(shape) = AreaShape::from_multi_polygon(shape, "shape") {
                land.push(LandArea {
                    osm: shift_ref(l.osm, id_by),
                    shape,
                    ..l.clone()
                });
            }
        }
    }
    land.sort_by_key(|l| l.osm);

    let mut report = ImportReport {
        nodes_read: base.report.nodes_read * u64::from(tiling.copies()),
        ways_read: base.report.ways_read * u64::from(tiling.copies()),
        relations_read: base.report.relations_read * u64::from(tiling.copies()),
        street_ways: ways.len() as u64,
        water_areas: land.iter().filter(|l| l.class == LandClass::Water).count() as u64,
        park_areas: land.iter().filter(|l| l.class == LandClass::Park).count() as u64,
        ..ImportReport::default()
    };
    for b in &buildings {
        match b.osm {
            OsmRef::Relation(_) => report.buildings_from_relations += 1,
            _ => report.buildings_from_ways += 1,
        }
        if b.household_source == HouseholdSource::Estimated {
            report.residential_buildings += 1;
            report.households += u64::from(b.households);
            report.residents += u64::from(b.residents);
        }
    }
    for f in &facilities {
        *report
            .facilities_per_kind
            .entry(f.kind.as_str().to_owned())
            .or_default() += 1;
        match f.osm {
            Some(OsmRef::Node(_)) => report.facilities_from_nodes += 1,
            _ => report.facilities_from_areas += 1,
        }
    }
    OsmImport {
        buildings,
        facilities,
        ways,
        land,
        report,
    }
}

fn connector_way(id: i64, nodes: [i64; 2], at: [[i64; 2]; 2]) -> StreetWay {
    StreetWay {
        id,
        highway: "footway".into(),
        name: None,
        foot: None,
        access: None,
        area: false,
        node_ids: nodes.to_vec(),
        line: LineString::from(
            at.iter()
                .map(|p| (degrees(p[0]), degrees(p[1])))
                .collect::<Vec<_>>(),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Command line

/// `gridcircle-tools synth`: a tiled city for scale work, as an OSM file or straight into a store.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Tiled copies of real data: say so wherever a figure made from them is quoted.\n\nExamples:\n  gridcircle-tools synth --tile 4 --out porto-4x4.osm.pbf      # then: gridcircle import porto-4x4.osm.pbf --db city.gpkg\n  gridcircle-tools synth --tile 10 --out porto-10x10.gpkg     # straight into a store"
)]
pub struct SynthArgs {
    /// Copies per side: N×N copies of the extract.
    #[arg(long)]
    pub tile: u32,
    /// Output: a `.osm.pbf` file (every object and tag of the original, tiled), or else a
    /// GeoPackage store to write the tiled import into.
    #[arg(long)]
    pub out: std::path::PathBuf,
    /// The extract to tile.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/porto.osm.pbf"))]
    pub osm: std::path::PathBuf,
    /// The city's IANA time zone, for a store.
    #[arg(long, default_value = "Europe/Lisbon")]
    pub timezone: chrono_tz::Tz,
}

/// Runs `gridcircle-tools synth`.
pub async fn run(args: SynthArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=40).contains(&args.tile),
        "--tile must be 1..=40 (10 gives about 1.1 million buildings from Porto)"
    );
    let started = std::time::Instant::now();
    let catalogue = gridcircle::model::KindCatalogue::bundled();
    let estimate = HouseholdEstimate::default();
    let (osm, est, cat) = (args.osm.clone(), estimate.clone(), catalogue.clone());
    let base = tokio::task::spawn_blocking(move || {
        gridcircle::import::read_osm_pbf(&osm, &cat, &est, false)
    })
    .await??;
    let name = args.out.to_string_lossy().to_lowercase();
    if name.ends_with(".pbf") {
        let (osm, out, n) = (args.osm.clone(), args.out.clone(), args.tile);
        let s =
            tokio::task::spawn_blocking(move || write_tiled_pbf(&osm, &base, n, &out)).await??;
        println!(
            "wrote {}: {}x{} tiled copies of {} ({} nodes, {} ways incl. {} connectors, {} relations, {:.1} MB) in {:.1} s",
            args.out.display(),
            s.n,
            s.n,
            args.osm.display(),
            s.nodes,
            s.ways,
            s.connectors,
            s.relations,
            s.bytes as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
    } else {
        let n = args.tile;
        let city = tokio::task::spawn_blocking(move || {
            let tiling = Tiling::plan(&base, n);
            tile_import(&base, &tiling, &estimate)
        })
        .await?;
        let store = gridcircle::store::Store::open(&args.out.to_string_lossy()).await?;
        store.write_osm_import(&city, args.timezone).await?;
        store.close().await;
        println!(
            "wrote {}: {}x{} tiled copies of {} ({} buildings, {} facilities, {} ways) in {:.1} s",
            args.out.display(),
            n,
            n,
            args.osm.display(),
            city.buildings.len(),
            city.facilities.len(),
            city.ways.len(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Tiled PBF

/// What [`write_tiled_pbf`] wrote.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PbfSummary {
    /// Copies per side.
    pub n: u32,
    /// Nodes written.
    pub nodes: u64,
    /// Ways written (connectors included).
    pub ways: u64,
    /// Relations written.
    pub relations: u64,
    /// Connector footways among the ways.
    pub connectors: u64,
    /// The id stride between copies.
    pub stride: i64,
    /// Bytes written.
    pub bytes: u64,
}

type Tags = Vec<(String, String)>;

struct RawNode {
    id: i64,
    at: [i64; 2],
    tags: Tags,
}

struct RawWay {
    id: i64,
    refs: Vec<i64>,
    tags: Tags,
}

struct RawRelation {
    id: i64,
    members: Vec<(u8, i64, String)>,
    tags: Tags,
}

#[derive(Default)]
struct RawFile {
    nodes: Vec<RawNode>,
    ways: Vec<RawWay>,
    relations: Vec<RawRelation>,
}

fn tags<'a>(it: impl Iterator<Item = (&'a str, &'a str)>) -> Tags {
    it.map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

fn read_raw(path: &Path) -> anyhow::Result<RawFile> {
    let mut raw = RawFile::default();
    ElementReader::from_path(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .for_each(|e| match e {
            Element::Node(n) => raw.nodes.push(RawNode {
                id: n.id(),
                at: [n.nano_lon(), n.nano_lat()],
                tags: tags(n.tags()),
            }),
            Element::DenseNode(n) => raw.nodes.push(RawNode {
                id: n.id(),
                at: [n.nano_lon(), n.nano_lat()],
                tags: tags(n.tags()),
            }),
            Element::Way(w) => raw.ways.push(RawWay {
                id: w.id(),
                refs: w.refs().collect(),
                tags: tags(w.tags()),
            }),
            Element::Relation(r) => raw.relations.push(RawRelation {
                id: r.id(),
                members: r
                    .members()
                    .map(|m| {
                        let t = match m.member_type {
                            RelMemberType::Node => 0,
                            RelMemberType::Way => 1,
                            RelMemberType::Relation => 2,
                        };
                        (t, m.member_id, m.role().unwrap_or("").to_owned())
                    })
                    .collect(),
                tags: tags(r.tags()),
            }),
        })
        .with_context(|| format!("cannot decode {}", path.display()))?;
    raw.nodes.sort_by_key(|n| n.id);
    raw.ways.sort_by_key(|w| w.id);
    raw.relations.sort_by_key(|r| r.id);
    Ok(raw)
}

/// Writes an N×N tiling of the OSM file `src` to `out` as a `.osm.pbf` (uncompressed blobs,
/// dense nodes, sorted by type then id): every node, way and relation of the original, with
/// all its tags, once per copy, then the connector footways (tagged
/// `gridcircle:synth=connector`). Reading it with `read_osm_pbf` gives what [`tile_import`]
/// gives for the same tiling. `base` is the import of `src` (it plans the connectors).
pub fn write_tiled_pbf(
    src: &Path,
    base: &OsmImport,
    n: u32,
    out: &Path,
) -> anyhow::Result<PbfSummary> {
    let raw = read_raw(src)?;
    let max_id = raw
        .nodes
        .iter()
        .map(|x| x.id)
        .chain(
            raw.ways
                .iter()
                .flat_map(|w| w.refs.iter().copied().chain([w.id])),
        )
        .chain(
            raw.relations
                .iter()
                .flat_map(|r| r.members.iter().map(|m| m.1).chain([r.id])),
        )
        .max()
        .unwrap_or(0);
    let negative = raw.nodes.iter().any(|x| x.id < 0)
        || raw
            .ways
            .iter()
            .any(|x| x.id < 0 || x.refs.iter().any(|&r| r < 0))
        || raw
            .relations
            .iter()
            .any(|x| x.id < 0 || x.members.iter().any(|m| m.1 < 0));
    if negative {
        bail!(
            "{} has negative ids: not a file this generator tiles",
            src.display()
        );
    }
    let tiling = Tiling::plan_with_max_id(base, n, max_id);
    let granularity: i64 = if raw
        .nodes
        .iter()
        .all(|x| x.at[0] % 100 == 0 && x.at[1] % 100 == 0)
    {
        100
    } else {
        1
    };
    let file =
        std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut w = PbfWriter {
        out: BufWriter::new(file),
        bytes: 0,
    };
    let min = [
        raw.nodes.iter().map(|x| x.at[0]).min().unwrap_or(0),
        raw.nodes.iter().map(|x| x.at[1]).min().unwrap_or(0),
    ];
    let max = [
        raw.nodes.iter().map(|x| x.at[0]).max().unwrap_or(0),
        raw.nodes.iter().map(|x| x.at[1]).max().unwrap_or(0),
    ];
    let last = tiling.shift_of(tiling.copies() - 1);
    w.header([min[0], min[1], max[0] + last[0], max[1] + last[1]])?;
    let mut summary = PbfSummary {
        n,
        nodes: 0,
        ways: 0,
        relations: 0,
        connectors: 0,
        stride: tiling.stride,
        bytes: 0,
    };

    const PER_BLOCK: usize = 8000;
    let copies: Vec<u32> = (0..tiling.copies()).collect();
    // Nodes.
    let nodes = copies.iter().flat_map(|&t| {
        let (by, id_by) = (tiling.shift_of(t), tiling.id_offset(t));
        raw.nodes
            .iter()
            .map(move |x| (x.id + id_by, [x.at[0] + by[0], x.at[1] + by[1]], &x.tags))
    });
    let mut block = Vec::with_capacity(PER_BLOCK);
    for node in nodes {
        block.push(node);
        if block.len() == PER_BLOCK {
            w.dense_nodes(&block, granularity)?;
            summary.nodes += block.len() as u64;
            block.clear();
        }
    }
    if !block.is_empty() {
        w.dense_nodes(&block, granularity)?;
        summary.nodes += block.len() as u64;
    }
    // Ways, then the connectors (whose ids are above every copy's).
    let connector_tags: Tags = vec![
        ("highway".into(), "footway".into()),
        ("gridcircle:synth".into(), "connector".into()),
    ];
    let connectors: Vec<(i64, Vec<i64>)> = tiling
        .tiled_connectors()
        .map(|(id, nodes, _)| (id, nodes.to_vec()))
        .collect();
    summary.connectors = connectors.len() as u64;
    let ways = copies
        .iter()
        .flat_map(|&t| {
            let id_by = tiling.id_offset(t);
            raw.ways.iter().map(move |x| {
                (
                    x.id + id_by,
                    x.refs.iter().map(|r| r + id_by).collect::<Vec<_>>(),
                    &x.tags,
                )
            })
        })
        .chain(
            connectors
                .into_iter()
                .map(|(id, refs)| (id, refs, &connector_tags)),
        );
    let mut block = Vec::with_capacity(PER_BLOCK);
    for way in ways {
        block.push(way);
        if block.len() == PER_BLOCK {
            w.ways(&block)?;
            summary.ways += block.len() as u64;
            block.clear();
        }
    }
    if !block.is_empty() {
        w.ways(&block)?;
        summary.ways += block.len() as u64;
    }
    // Relations.
    let relations = copies.iter().flat_map(|&t| {
        let id_by = tiling.id_offset(t);
        raw.relations.iter().map(move |x| {
            (
                x.id + id_by,
                x.members
                    .iter()
                    .map(|(ty, id, role)| (*ty, id + id_by, role.as_str()))
                    .collect::<Vec<_>>(),
                &x.tags,
            )
        })
    });
    let mut block = Vec::with_capacity(PER_BLOCK);
    for rel in relations {
        block.push(rel);
        if block.len() == PER_BLOCK {
            w.relations(&block)?;
            summary.relations += block.len() as u64;
            block.clear();
        }
    }
    if !block.is_empty() {
        w.relations(&block)?;
        summary.relations += block.len() as u64;
    }
    w.out.flush()?;
    summary.bytes = w.bytes;
    Ok(summary)
}

/// An OSM PBF message being written, on the library's protobuf primitives.
#[derive(Default)]
struct Pb(Vec<u8>);

impl Pb {
    fn uint(&mut self, field: u32, v: u64) {
        protobuf::key(&mut self.0, field, 0);
        protobuf::varint(&mut self.0, v);
    }
    fn sint(&mut self, field: u32, v: i64) {
        self.uint(field, zigzag(v));
    }
    fn bytes(&mut self, field: u32, b: &[u8]) {
        protobuf::bytes_field(&mut self.0, field, b);
    }
    fn packed(&mut self, field: u32, values: impl IntoIterator<Item = u64>) {
        protobuf::packed(&mut self.0, field, values);
    }
}

fn deltas(values: impl IntoIterator<Item = i64>) -> impl Iterator<Item = u64> {
    let mut prev = 0i64;
    values.into_iter().map(move |v| {
        let d = v - prev;
        prev = v;
        zigzag(d)
    })
}

/// The string table of one block.
#[derive(Default)]
struct Strings {
    list: Vec<String>,
    index: HashMap<String, u32>,
}

impl Strings {
    fn new() -> Self {
        let mut s = Strings::default();
        s.get("");
        s
    }
    fn get(&mut self, v: &str) -> u32 {
        if let Some(&i) = self.index.get(v) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(v.to_owned());
        self.index.insert(v.to_owned(), i);
        i
    }
    fn encode(&self) -> Vec<u8> {
        let mut table = Pb::default();
        for s in &self.list {
            table.bytes(1, s.as_bytes());
        }
        table.0
    }
}

/// A relation to write: id, members (type 0 node / 1 way / 2 relation, id, role), tags.
type RelationOut<'a> = (i64, Vec<(u8, i64, &'a str)>, &'a Tags);

struct PbfWriter<W: Write> {
    out: W,
    bytes: u64,
}

impl<W: Write> PbfWriter<W> {
    fn blob(&mut self, kind: &str, data: &[u8]) -> anyhow::Result<()> {
        let mut blob = Pb::default();
        blob.bytes(1, data);
        blob.uint(2, data.len() as u64);
        let mut header = Pb::default();
        header.bytes(1, kind.as_bytes());
        header.uint(3, blob.0.len() as u64);
        self.out.write_all(&(header.0.len() as u32).to_be_bytes())?;
        self.out.write_all(&header.0)?;
        self.out.write_all(&blob.0)?;
        self.bytes += 4 + header.0.len() as u64 + blob.0.len() as u64;
        Ok(())
    }

    fn header(&mut self, bbox: [i64; 4]) -> anyhow::Result<()> {
        let mut b = Pb::default();
        b.sint(1, bbox[0]);
        b.sint(2, bbox[2]);
        b.sint(3, bbox[3]);
        b.sint(4, bbox[1]);
        let mut h = Pb::default();
        h.bytes(1, &b.0);
        h.bytes(4, b"OsmSchema-V0.6");
        h.bytes(4, b"DenseNodes");
        h.bytes(5, b"Sort.Type_then_ID");
        h.bytes(16, b"gridcircle-tools synth");
        self.blob("OSMHeader", &h.0)
    }

    fn block(&mut self, strings: &Strings, group: &[u8], granularity: i64) -> anyhow::Result<()> {
        let mut block = Pb::default();
        block.bytes(1, &strings.encode());
        block.bytes(2, group);
        if granularity != 100 {
            block.uint(17, granularity as u64);
        }
        self.blob("OSMData", &block.0)
    }

    fn dense_nodes(
        &mut self,
        nodes: &[(i64, [i64; 2], &Tags)],
        granularity: i64,
    ) -> anyhow::Result<()> {
        let mut strings = Strings::new();
        let mut kv = Vec::new();
        for (_, _, tags) in nodes {
            for (k, v) in tags.iter() {
                kv.push(u64::from(strings.get(k)));
                kv.push(u64::from(strings.get(v)));
            }
            kv.push(0);
        }
        let mut dense = Pb::default();
        dense.packed(1, deltas(nodes.iter().map(|n| n.0)));
        dense.packed(8, deltas(nodes.iter().map(|n| n.1[1] / granularity)));
        dense.packed(9, deltas(nodes.iter().map(|n| n.1[0] / granularity)));
        if nodes.iter().any(|n| !n.2.is_empty()) {
            dense.packed(10, kv);
        }
        let mut group = Pb::default();
        group.bytes(2, &dense.0);
        self.block(&strings, &group.0, granularity)
    }

    fn ways(&mut self, ways: &[(i64, Vec<i64>, &Tags)]) -> anyhow::Result<()> {
        let mut strings = Strings::new();
        let mut group = Pb::default();
        for (id, refs, tags) in ways {
            let (keys, vals): (Vec<u64>, Vec<u64>) = tags
                .iter()
                .map(|(k, v)| (u64::from(strings.get(k)), u64::from(strings.get(v))))
                .unzip();
            let mut way = Pb::default();
            way.uint(1, *id as u64);
            way.packed(2, keys);
            way.packed(3, vals);
            way.packed(8, deltas(refs.iter().copied()));
            group.bytes(3, &way.0);
        }
        self.block(&strings, &group.0, 100)
    }

    fn relations(&mut self, relations: &[RelationOut<'_>]) -> anyhow::Result<()> {
        let mut strings = Strings::new();
        let mut group = Pb::default();
        for (id, members, tags) in relations {
            let (keys, vals): (Vec<u64>, Vec<u64>) = tags
                .iter()
                .map(|(k, v)| (u64::from(strings.get(k)), u64::from(strings.get(v))))
                .unzip();
            let roles: Vec<u64> = members
                .iter()
                .map(|m| u64::from(strings.get(m.2)))
                .collect();
            let mut rel = Pb::default();
            rel.uint(1, *id as u64);
            rel.packed(2, keys);
            rel.packed(3, vals);
            rel.packed(8, roles);
            rel.packed(9, deltas(members.iter().map(|m| m.1)));
            rel.packed(10, members.iter().map(|m| u64::from(m.0)));
            group.bytes(4, &rel.0);
        }
        self.block(&strings, &group.0, 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcircle::import::read_osm_pbf;
    use gridcircle::model::KindCatalogue;

    fn nanjing() -> OsmImport {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/nanjing-xinjiekou.osm.pbf"
        ));
        read_osm_pbf(
            path,
            &KindCatalogue::bundled(),
            &HouseholdEstimate::default(),
            false,
        )
        .unwrap()
    }

    #[test]
    fn one_by_one_is_the_original() {
        let base = nanjing();
        let t = Tiling::plan(&base, 1);
        assert_eq!(t.connector_count(), 0);
        let city = tile_import(&base, &t, &HouseholdEstimate::default());
        assert_eq!(city.buildings, base.buildings);
        assert_eq!(city.facilities, base.facilities);
        assert_eq!(city.ways, base.ways);
    }

    #[test]
    fn copies_are_shifted_renumbered_and_joined() {
        let base = nanjing();
        let t = Tiling::plan(&base, 3);
        assert_eq!(t.shift_nano[0] % 100, 0);
        let city = tile_import(&base, &t, &HouseholdEstimate::default());
        assert_eq!(city.buildings.len(), 9 * base.buildings.len());
        assert_eq!(city.facilities.len(), 9 * base.facilities.len());
        assert_eq!(city.ways.len(), 9 * base.ways.len() + t.connector_count());
        assert!(t.connector_count() > 0, "neighbouring copies are joined");
        let refs: HashSet<OsmRef> = city.buildings.iter().map(|b| b.osm).collect();
        assert_eq!(refs.len(), city.buildings.len(), "ids are unique");
        let way_ids: HashSet<i64> = city.ways.iter().map(|w| w.id).collect();
        assert_eq!(way_ids.len(), city.ways.len());
        // Copy (2, 1) = index 5: moved two tiles east and one north, exactly.
        let b0 = &base.buildings[0];
        let b5 = city
            .buildings
            .iter()
            .find(|b| b.osm == shift_ref(b0.osm, 5 * t.stride))
            .unwrap();
        let (c0, c5) = (
            b0.footprint.shape().0[0].exterior().0[0],
            b5.footprint.shape().0[0].exterior().0[0],
        );
        assert_eq!(nano(c5.x) - nano(c0.x), 2 * t.shift_nano[0]);
        assert_eq!(nano(c5.y) - nano(c0.y), t.shift_nano[1]);
        // Every connector joins nodes of two different copies, both used by walkable ways.
        let nodes: HashSet<i64> = city
            .ways
            .iter()
            .filter(|w| walkable(w) && w.id < 9 * t.stride)
            .flat_map(|w| w.node_ids.iter().copied())
            .collect();
        for w in city.ways.iter().filter(|w| w.id > 9 * t.stride) {
            assert_eq!(w.node_ids.len(), 2);
            assert_ne!(w.node_ids[0] / t.stride, w.node_ids[1] / t.stride);
            assert!(nodes.contains(&w.node_ids[0]) && nodes.contains(&w.node_ids[1]));
            let len = geo::Distance::distance(
                &geo::Haversine,
                geo::Point(w.line.0[0]),
                geo::Point(w.line.0[1]),
            );
            assert!(len <= JOIN_RADIUS_M + 1.0, "connector of {len} m");
        }
    }

    #[test]
    fn tiled_pbf_reads_back_as_the_tiled_import() {
        let src = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/nanjing-xinjiekou.osm.pbf"
        ));
        let base = nanjing();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("city.osm.pbf");
        let summary = write_tiled_pbf(src, &base, 2, &out).unwrap();
        let est = HouseholdEstimate::default();
        let read = read_osm_pbf(&out, &KindCatalogue::bundled(), &est, false).unwrap();
        let tiling = Tiling::plan_with_max_id(&base, 2, summary.stride - 1);
        assert_eq!(tiling.stride, summary.stride);
        let made = tile_import(&base, &tiling, &est);
        assert_eq!(summary.connectors as usize, tiling.connector_count());
        assert_eq!(read.ways, made.ways);
        assert_eq!(read.buildings.len(), made.buildings.len());
        for (a, b) in read.buildings.iter().zip(&made.buildings) {
            assert_eq!(a.osm, b.osm);
            assert_eq!(a.household_source, b.household_source);
            // Multipolygons repaired by a union may differ by float noise when the union runs
            // on shifted coordinates.
            assert!(a.point.distance_m(b.point) < 0.01, "{}", a.osm);
            assert!((a.households as i64 - b.households as i64).abs() <= 1);
        }
        assert_eq!(read.facilities.len(), made.facilities.len());
        for (a, b) in read.facilities.iter().zip(&made.facilities) {
            assert_eq!((a.osm, &a.kind), (b.osm, &b.kind));
            assert!(a.point.distance_m(b.point) < 0.01);
        }
    }
}
