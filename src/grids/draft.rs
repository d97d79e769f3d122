//! A proposed partition of a community into grids, from its street blocks and buildings.
//!
//! 1. **Blocks.** The community boundary and the streets and paths inside it are polygonised
//!    ([`super::planar`]): each face of that planar graph is a street block.
//! 2. **Splitting.** A block holding more than `max_factor × target` households is cut by a
//!    straight north–south or east–west line between buildings: the cut is placed where the
//!    households on one side come closest to `⌊k/2⌋/k` or `⌈k/2⌉/k` of the block's (`k` = the
//!    number of grids it should make), preferring a position that crosses no footprint and a
//!    line across the block's longer side. The pieces are checked again, so a block is bisected
//!    until every piece is small enough or holds one building.
//! 3. **Merging.** Pieces are merged greedily, smallest first: a piece below the target joins
//!    the neighbour (sharing an edge, never just a corner) that brings the sum closest to the
//!    target without passing `max_factor × target`, preferring long shared edges (compact
//!    grids); a piece with no households joins the neighbour it shares the longest edge with; a
//!    piece still below `min_factor × target` with no such neighbour joins its smallest
//!    neighbour when the sum stays within twice the target.
//! 4. **Grids.** Each group's outline is traced along the graph, so grids share edges exactly
//!    with each other and the community, tile it, and are contiguous (one polygon each). Codes
//!    follow [`super::numbering`]. Nothing is saved.
//!
//! Households are those of the buildings whose representative point lies in the block (the
//! membership rule of `GridLayer` of the read model).

use std::collections::BTreeMap;

use geo::{BoundingRect, Contains, Coord, MultiPolygon, Point, Rect};
use serde::{Serialize, Serializer};

use super::LocalFrame;
use super::measure::oriented;
use super::numbering::sequence_order;
use super::planar::{Face, Polyline, Pt, Subdivision};
use crate::model::{
    AreaShape, Building, Community, CommunityCode, GridCode, ModelError, StreetWay,
};

/// Settings of a draft.
///
/// ```
/// let c = gridcircle::grids::DraftConfig::new(400);
/// assert_eq!((c.max_factor, c.min_factor, c.snap_m), (1.5, 0.5, 1.0));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DraftConfig {
    /// Households per grid to aim for.
    pub target_households: u32,
    /// A block above `max_factor × target` is split; merges never pass it (default 1.5).
    pub max_factor: f64,
    /// A group below `min_factor × target` may join its smallest neighbour even past the
    /// maximum, up to twice the target (default 0.5).
    pub min_factor: f64,
    /// A street end that stops at most this far (metres) short of another street is joined to
    /// it (default 1).
    pub snap_m: f64,
    /// `highway=*` values that do not bound blocks (not built, or indoors).
    pub excluded_highways: Vec<String>,
}

impl DraftConfig {
    /// The defaults, aiming at `target_households`.
    pub fn new(target_households: u32) -> Self {
        DraftConfig {
            target_households,
            max_factor: 1.5,
            min_factor: 0.5,
            snap_m: 1.0,
            excluded_highways: ["proposed", "construction", "abandoned", "razed", "corridor"]
                .map(String::from)
                .to_vec(),
        }
    }
}

/// One proposed grid.
#[derive(Debug, Clone, PartialEq)]
pub struct DraftGrid {
    /// Proposed code (community code + sequence by the numbering rule).
    pub code: GridCode,
    /// Proposed name, 第N网格.
    pub name: String,
    /// Outline: one polygon, possibly with holes.
    pub boundary: AreaShape,
    /// Households of the buildings whose representative point lies inside.
    pub households: u64,
    /// Residents of those buildings.
    pub residents: u64,
    /// Those buildings.
    pub buildings: u32,
    /// Pieces (blocks or parts of blocks) merged into it.
    pub pieces: u32,
}

/// A proposed partition of one community. Serialises as a GeoJSON FeatureCollection (one
/// Feature per grid with `code`, `name`, `households`, `residents`, `buildings`, `pieces`,
/// `draft: true`; and `community_id`, `target_households`, `blocks` on the collection).
#[derive(Debug, Clone, PartialEq)]
pub struct Draft {
    /// The community.
    pub community_id: i64,
    /// Its code.
    pub community_code: CommunityCode,
    /// The target it was drafted for.
    pub target_households: u32,
    /// Street blocks found before any split.
    pub blocks: usize,
    /// The grids, in sequence order.
    pub grids: Vec<DraftGrid>,
}

impl Draft {
    /// The draft as a GeoJSON FeatureCollection, for a map.
    pub fn to_feature_collection(&self) -> geojson::FeatureCollection {
        let features = self
            .grids
            .iter()
            .map(|g| {
                let shape = g.boundary.shape();
                let value = if shape.0.len() == 1 {
                    geojson::GeometryValue::from(&shape.0[0])
                } else {
                    geojson::GeometryValue::from(shape)
                };
                let properties = serde_json::json!({
                    "code": g.code,
                    "name": g.name,
                    "community_id": self.community_id,
                    "households": g.households,
                    "residents": g.residents,
                    "buildings": g.buildings,
                    "pieces": g.pieces,
                    "draft": true,
                });
                geojson::Feature {
                    bbox: None,
                    geometry: Some(geojson::Geometry::new(value)),
                    id: None,
                    properties: properties.as_object().cloned(),
                    foreign_members: None,
                }
            })
            .collect();
        let members = serde_json::json!({
            "community_id": self.community_id,
            "community_code": self.community_code,
            "target_households": self.target_households,
            "blocks": self.blocks,
        });
        geojson::FeatureCollection {
            bbox: None,
            features,
            foreign_members: members.as_object().cloned(),
        }
    }
}

impl Serialize for Draft {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_feature_collection().serialize(s)
    }
}

/// Proposes grids for `community` of about `target_households` each, with the default
/// [`DraftConfig`]. See [`draft_grids_with`].
pub fn draft_grids(
    community: &Community,
    ways: &[StreetWay],
    buildings: &[Building],
    target_households: u32,
) -> Result<Draft, ModelError> {
    draft_grids_with(
        community,
        ways,
        buildings,
        &DraftConfig::new(target_households),
    )
}

/// Bisection rounds at most: each round at least doubles the pieces of every block still too
/// large, so 2^24 pieces is far beyond any community.
const MAX_ROUNDS: usize = 24;

/// A residential building inside the community, in the local frame.
struct Home {
    at: Coord<f64>,
    households: u64,
    residents: u64,
}

/// Proposes grids for `community` (see the module documentation for the method).
///
/// `ways` and `buildings` may be the whole city's: they are filtered to the community.
/// Fails when the target is 0 or the draft would need more than 999 grids.
///
/// ```
/// use geo::polygon;
/// use gridcircle::grids::draft_grids;
/// use gridcircle::model::{AreaShape, Community, CommunityCode};
/// let square = AreaShape::from_polygon(polygon![(x: 118.78, y: 32.04), (x: 118.79, y: 32.04), (x: 118.79, y: 32.05), (x: 118.78, y: 32.05)], "g").unwrap();
/// let community = Community { id: 1, code: CommunityCode::parse("320104001001", "code").unwrap(), name: "甲".into(),
///     street_office_id: 1, boundary: square.clone(), demo: false };
/// // No streets and no buildings: one grid, the whole community.
/// let draft = draft_grids(&community, &[], &[], 400).unwrap();
/// assert_eq!(draft.grids.len(), 1);
/// assert_eq!(draft.grids[0].code.as_str(), "320104001001001");
/// assert_eq!(draft.grids[0].boundary.shape(), square.shape());
/// ```
pub fn draft_grids_with(
    community: &Community,
    ways: &[StreetWay],
    buildings: &[Building],
    config: &DraftConfig,
) -> Result<Draft, ModelError> {
    let target = config.target_households;
    if target == 0 {
        return Err(ModelError::new(
            "target_households",
            "out_of_range",
            "the target must be at least 1 household",
        ));
    }
    let area = &community.boundary;
    let frame = LocalFrame::for_area(area);
    let region = oriented(frame.area_to_local(area));
    let pt = |c: Coord<f64>| Pt {
        local: frame.to_local(c),
        lonlat: c,
    };
    let rings: Vec<Polyline> = area
        .shape()
        .0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .map(|r| Polyline {
            pts: r.coords().map(|&c| pt(c)).collect(),
            boundary: true,
            snap_ends: false,
        })
        .collect();
    let bbox = area.bbox();
    let streets: Vec<Polyline> = ways
        .iter()
        .filter(|w| !config.excluded_highways.contains(&w.highway))
        .filter(|w| {
            w.line.bounding_rect().is_some_and(|r| {
                r.min().x <= bbox.max().x
                    && r.max().x >= bbox.min().x
                    && r.min().y <= bbox.max().y
                    && r.max().y >= bbox.min().y
            })
        })
        .map(|w| Polyline {
            pts: w.line.coords().map(|&c| pt(c)).collect(),
            boundary: false,
            snap_ends: true,
        })
        .collect();
    let inside: Vec<&Building> = buildings
        .iter()
        .filter(|b| area.contains(b.point))
        .collect();
    let homes: Vec<Home> = inside
        .iter()
        .map(|b| Home {
            at: frame.to_local(b.point.point().0),
            households: u64::from(b.households),
            residents: u64::from(b.residents),
        })
        .collect();
    let footprints: Vec<Rect<f64>> = buildings
        .iter()
        .filter(|b| rects_meet(b.footprint.bbox(), bbox))
        .filter_map(|b| frame.area_to_local(&b.footprint).bounding_rect())
        .collect();

    // Blocks, then bisect the large ones until no face is added (a cut that splits nothing,
    // such as one that only links a hole to the outside, is a bridge and is pruned).
    let mut cuts: Vec<Polyline> = Vec::new();
    let mut blocks = 0;
    let mut round = 0;
    let mut faces_before = 0;
    let (sub, owner) = loop {
        let lines: Vec<Polyline> = streets.iter().chain(&cuts).cloned().collect();
        let sub = Subdivision::build(&region, &rings, &lines, frame, config.snap_m);
        let owner = assign(&sub.faces, &homes);
        if round > 0 && sub.faces.len() <= faces_before {
            break (sub, owner);
        }
        if round == 0 {
            blocks = sub.faces.len();
        }
        round += 1;
        let mut added = false;
        for (f, face) in sub.faces.iter().enumerate() {
            let members: Vec<&Home> = homes
                .iter()
                .zip(&owner)
                .filter(|(_, o)| **o == Some(f))
                .map(|(h, _)| h)
                .collect();
            let total: u64 = members.iter().map(|h| h.households).sum();
            if (total as f64) <= config.max_factor * f64::from(target) {
                continue;
            }
            if let Some(lines) = cut(face, &members, &footprints, target, frame) {
                cuts.extend(lines);
                added = true;
            }
        }
        faces_before = sub.faces.len();
        if !added || round >= MAX_ROUNDS {
            break (sub, owner);
        }
    };

    let groups = merge(&sub, &homes, &owner, config);

    let mut shapes = Vec::with_capacity(groups.len());
    for g in &groups {
        let traced = sub.union_lonlat(&g.members);
        let shape = match AreaShape::from_multi_polygon(traced, "geometry") {
            Ok(s) if s.shape().0.len() == 1 => s,
            _ => {
                // Not expected: fall back to a boolean union of the faces.
                let polys: Vec<MultiPolygon<f64>> = g
                    .members
                    .iter()
                    .map(|&f| oriented(MultiPolygon(vec![sub.faces[f].lonlat.clone()])))
                    .collect();
                AreaShape::from_multi_polygon(geo::unary_union(&polys), "geometry")?
            }
        };
        shapes.push(shape);
    }
    if shapes.len() > 999 {
        return Err(ModelError::new(
            "target_households",
            "too_many_grids",
            format!(
                "the draft needs {} grids; a community holds at most 999",
                shapes.len()
            ),
        ));
    }
    let refs: Vec<&AreaShape> = shapes.iter().collect();
    let ties: Vec<i64> = groups.iter().map(|g| g.members[0] as i64).collect();
    let order = sequence_order(&refs, &ties);
    let mut grids = Vec::with_capacity(order.len());
    for (seq, i) in order.into_iter().enumerate() {
        let seq = seq as u16 + 1;
        let g = &groups[i];
        let in_group = |o: &Option<usize>| o.is_some_and(|f| g.members.contains(&f));
        let mine: Vec<&Home> = homes
            .iter()
            .zip(&owner)
            .filter(|(_, o)| in_group(o))
            .map(|(h, _)| h)
            .collect();
        grids.push(DraftGrid {
            code: GridCode::in_community(&community.code, seq)?,
            name: format!("第{seq}网格"),
            boundary: shapes[i].clone(),
            households: mine.iter().map(|h| h.households).sum(),
            residents: mine.iter().map(|h| h.residents).sum(),
            buildings: mine.len() as u32,
            pieces: g.members.len() as u32,
        });
    }
    Ok(Draft {
        community_id: community.id,
        community_code: community.code.clone(),
        target_households: target,
        blocks,
        grids,
    })
}

fn rects_meet(a: Rect<f64>, b: Rect<f64>) -> bool {
    a.min().x <= b.max().x
        && b.min().x <= a.max().x
        && a.min().y <= b.max().y
        && b.min().y <= a.max().y
}

/// The face holding each home's point (the first by index when on a shared edge).
fn assign(faces: &[Face], homes: &[Home]) -> Vec<Option<usize>> {
    let boxes: Vec<Option<Rect<f64>>> = faces.iter().map(|f| f.local.bounding_rect()).collect();
    homes
        .iter()
        .map(|h| {
            let p = Point::from(h.at);
            let hit = |f: usize| {
                boxes[f].is_some_and(|r| rects_meet(r, Rect::new(h.at, h.at)))
                    && geo::Intersects::intersects(&faces[f].local, &p)
            };
            (0..faces.len())
                .find(|&f| hit(f) && faces[f].local.contains(&p))
                .or_else(|| (0..faces.len()).find(|&f| hit(f)))
        })
        .collect()
}

/// Cut lines that bisect `face` across its longer side, between buildings, or `None` when its
/// homes cannot be separated (one building, or all on one line across).
fn cut(
    face: &Face,
    members: &[&Home],
    footprints: &[Rect<f64>],
    target: u32,
    frame: LocalFrame,
) -> Option<Vec<Polyline>> {
    let r = face.local.bounding_rect()?;
    let total: u64 = members.iter().map(|h| h.households).sum();
    let k = ((total as f64 / f64::from(target)).round() as u64).max(2);
    // Either side may take the smaller share: ⌊k/2⌋/k or ⌈k/2⌉/k of the households.
    let goals = [
        total as f64 * (k / 2) as f64 / k as f64,
        total as f64 * k.div_ceil(2) as f64 / k as f64,
    ];
    let longer_is_x = r.width() >= r.height();
    let (_, along_x, at) = [true, false]
        .into_iter()
        .filter_map(|along_x| {
            let (cost, at) = best_position(along_x, members, footprints, r, total, &goals)?;
            // Cutting across the longer side keeps pieces compact: a slightly worse balance
            // across the longer side beats a better one that makes long strips.
            let cost = cost + if along_x == longer_is_x { 0.0 } else { 0.05 };
            Some((cost, along_x, at))
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))?;
    let u = |c: Coord<f64>| if along_x { c.x } else { c.y };
    // The line across the face's bounding box, clipped to the face.
    let (v0, v1) = if along_x {
        (r.min().y - 1.0, r.max().y + 1.0)
    } else {
        (r.min().x - 1.0, r.max().x + 1.0)
    };
    let point = |v: f64| {
        if along_x {
            Coord { x: at, y: v }
        } else {
            Coord { x: v, y: at }
        }
    };
    let mut ts: Vec<f64> = Vec::new();
    for ring in std::iter::once(face.local.exterior()).chain(face.local.interiors()) {
        for l in ring.lines() {
            let (a, b) = (u(l.start), u(l.end));
            if (a - at) * (b - at) > 0.0 || a == b {
                continue;
            }
            let s = (at - a) / (b - a);
            let other = |c: Coord<f64>| if along_x { c.y } else { c.x };
            ts.push(other(l.start) + s * (other(l.end) - other(l.start)));
        }
    }
    ts.sort_by(f64::total_cmp);
    ts.dedup();
    let mut out = Vec::new();
    for w in ts.windows(2) {
        let mid = point((w[0] + w[1]) / 2.0);
        if w[1] - w[0] < 0.01 || !face.local.contains(&Point::from(mid)) {
            continue;
        }
        // Reach 5 cm past the face so the crossing is a proper one; the stubs are pruned.
        let (a, b) = (point((w[0] - 0.05).max(v0)), point((w[1] + 0.05).min(v1)));
        out.push(Polyline {
            pts: vec![
                Pt {
                    local: a,
                    lonlat: frame.to_lonlat(a),
                },
                Pt {
                    local: b,
                    lonlat: frame.to_lonlat(b),
                },
            ],
            boundary: false,
            snap_ends: false,
        });
    }
    (!out.is_empty()).then_some(out)
}

/// The best cut position along one axis (`x` when `along_x`), as (cost, coordinate): between
/// two homes, as close as can be to a goal share of the households, preferring positions that
/// cross no footprint.
fn best_position(
    along_x: bool,
    members: &[&Home],
    footprints: &[Rect<f64>],
    r: Rect<f64>,
    total: u64,
    goals: &[f64],
) -> Option<(f64, f64)> {
    let u = |c: Coord<f64>| if along_x { c.x } else { c.y };
    let mut sorted: Vec<(f64, u64)> = members.iter().map(|h| (u(h.at), h.households)).collect();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let extents: Vec<(f64, f64)> = footprints
        .iter()
        .filter(|f| rects_meet(**f, r))
        .map(|f| (u(f.min()), u(f.max())))
        .collect();
    let mut best: Option<(f64, f64)> = None;
    let mut cum = 0u64;
    for w in sorted.windows(2) {
        cum += w[0].1;
        let (lo, hi) = (w[0].0, w[1].0);
        if hi <= lo {
            continue;
        }
        let (position, crosses) = free_position(lo, hi, &extents);
        let off = goals
            .iter()
            .map(|g| (cum as f64 - g).abs())
            .fold(f64::MAX, f64::min);
        let cost = off / total.max(1) as f64 + if crosses { 0.2 } else { 0.0 };
        if best.is_none_or(|b| cost < b.0) {
            best = Some((cost, position));
        }
    }
    best
}

/// A position in `(lo, hi)` outside every footprint extent (the middle of the widest free
/// stretch), or the middle when every position crosses a footprint (then `true`).
fn free_position(lo: f64, hi: f64, extents: &[(f64, f64)]) -> (f64, bool) {
    let mut blocked: Vec<(f64, f64)> = extents
        .iter()
        .filter(|e| e.1 > lo && e.0 < hi)
        .map(|e| (e.0.max(lo), e.1.min(hi)))
        .collect();
    blocked.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut best: Option<(f64, f64)> = None; // (width, middle)
    let mut from = lo;
    for (a, b) in blocked.iter().copied().chain(std::iter::once((hi, hi))) {
        if a > from {
            let width = a - from;
            if best.is_none_or(|x| width > x.0) {
                best = Some((width, (from + a) / 2.0));
            }
        }
        from = from.max(b);
    }
    match best {
        Some((width, middle)) if width > 0.2 => (middle, false),
        _ => ((lo + hi) / 2.0, true),
    }
}

/// A set of faces being merged into one grid.
#[derive(Debug, Clone)]
struct Group {
    members: Vec<usize>,
    households: u64,
    perimeter: f64,
    neighbours: BTreeMap<usize, f64>,
    alive: bool,
    frozen: bool,
}

fn merge(
    sub: &Subdivision,
    homes: &[Home],
    owner: &[Option<usize>],
    config: &DraftConfig,
) -> Vec<Group> {
    let target = f64::from(config.target_households);
    let mut groups: Vec<Group> = sub
        .faces
        .iter()
        .enumerate()
        .map(|(f, face)| Group {
            members: vec![f],
            households: homes
                .iter()
                .zip(owner)
                .filter(|(_, o)| **o == Some(f))
                .map(|(h, _)| h.households)
                .sum(),
            perimeter: face.perimeter_m,
            neighbours: BTreeMap::new(),
            alive: true,
            frozen: false,
        })
        .collect();
    for (a, b, len) in sub.adjacency() {
        groups[a].neighbours.insert(b, len);
        groups[b].neighbours.insert(a, len);
    }
    loop {
        let next = (0..groups.len())
            .filter(|&g| {
                groups[g].alive && !groups[g].frozen && (groups[g].households as f64) < target
            })
            .min_by_key(|&g| (groups[g].households, g));
        let Some(g) = next else { break };
        let h = groups[g].households as f64;
        let neighbours: Vec<(usize, f64)> =
            groups[g].neighbours.iter().map(|(&n, &l)| (n, l)).collect();
        if neighbours.is_empty() {
            groups[g].frozen = true;
            continue;
        }
        let choice = if h == 0.0 {
            neighbours
                .iter()
                .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
                .map(|&(n, _)| n)
        } else {
            let fitting = neighbours
                .iter()
                .filter(|(n, _)| h + groups[*n].households as f64 <= config.max_factor * target)
                .map(|&(n, shared)| {
                    let sum = h + groups[n].households as f64;
                    let compact = shared / groups[g].perimeter.min(groups[n].perimeter).max(1e-9);
                    ((sum - target).abs() / target - 0.25 * compact, n)
                })
                .min_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
                .map(|(_, n)| n);
            fitting.or_else(|| {
                if h >= config.min_factor * target {
                    return None;
                }
                neighbours
                    .iter()
                    .map(|&(n, _)| n)
                    .min_by_key(|&n| (groups[n].households, n))
                    .filter(|&n| h + groups[n].households as f64 <= 2.0 * target)
            })
        };
        match choice {
            Some(n) => absorb(&mut groups, g, n),
            None => groups[g].frozen = true,
        }
    }
    groups.into_iter().filter(|g| g.alive).collect()
}

/// Merges group `b` into group `a`.
fn absorb(groups: &mut [Group], a: usize, b: usize) {
    let taken = std::mem::replace(
        &mut groups[b],
        Group {
            members: vec![],
            households: 0,
            perimeter: 0.0,
            neighbours: BTreeMap::new(),
            alive: false,
            frozen: true,
        },
    );
    let shared = groups[a].neighbours.remove(&b).unwrap_or(0.0);
    groups[a].members.extend(taken.members);
    groups[a].members.sort_unstable();
    groups[a].households += taken.households;
    groups[a].perimeter += taken.perimeter - 2.0 * shared;
    for (n, len) in taken.neighbours {
        if n == a {
            continue;
        }
        groups[n].neighbours.remove(&b);
        *groups[n].neighbours.entry(a).or_default() += len;
        *groups[a].neighbours.entry(n).or_default() += len;
    }
    groups[a].frozen = false;
}
