//! The immutable snapshot that queries read.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use geo::Rect;

use super::layers::Layer;
use super::{BuildingLayer, FacilityLayer, GridLayer, KindTargets, WalkLayer, WayLayer};
use crate::model::Dataset;
use crate::model::{
    Audience, Building, CircleDef, Community, Facility, Grid, KindCatalogue, KindId, LonLat,
    OpenAt, OpenState, StreetOffice,
};
use crate::readmodel::coverage::CoverageCache;
use crate::walk::{Snap, WalkConfig};

/// Everything queries need, immutable. Layers sit behind `Arc`s so that the next snapshot
/// shares every layer a write did not touch.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// Increases by one with each publish.
    pub version: u64,
    /// Facility kinds.
    pub catalogue: Arc<KindCatalogue>,
    /// The city's time zone.
    pub timezone: Tz,
    /// Street offices.
    pub street_offices: Arc<Layer<StreetOffice>>,
    /// Communities.
    pub communities: Arc<Layer<Community>>,
    /// Grids and building membership.
    pub grids: Arc<GridLayer>,
    /// Buildings.
    pub buildings: Arc<BuildingLayer>,
    /// Facilities.
    pub facilities: Arc<FacilityLayer>,
    /// Streets and paths.
    pub ways: Arc<WayLayer>,
    /// Water and green areas (the base map).
    pub land: Arc<Layer<crate::model::LandArea>>,
    /// The walking network and building snaps (rebuilt only when streets or buildings change).
    pub walk: Arc<WalkLayer>,
    /// Per facility (same order as `facilities`): where it joins the walking network.
    pub facility_snaps: Arc<Vec<Option<Snap>>>,
    /// Walking-distance targets per kind, for nearest-by-walking.
    pub walk_targets: Arc<KindTargets>,
    /// Service circle definitions.
    pub circles: Arc<Vec<CircleDef>>,
    /// Each facility's materialised circle per definition it serves.
    pub facility_circles: Arc<super::CircleLayer>,
    /// Coverage results computed on this snapshot, carried over to the next one for circles
    /// whose facilities did not change.
    pub coverage_cache: Arc<CoverageCache>,
}

/// What contains a point: `GET /locate`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Located<'a> {
    /// Street office.
    pub street_office: Option<&'a StreetOffice>,
    /// Community.
    pub community: Option<&'a Community>,
    /// Grid.
    pub grid: Option<&'a Grid>,
    /// Building whose footprint contains the point.
    pub building: Option<&'a Building>,
}

/// One answer of a nearest-facility query.
#[derive(Debug, Clone)]
pub struct NearestFacility<'a> {
    /// The facility.
    pub facility: &'a Facility,
    /// Crow-fly distance in metres.
    pub distance_m: f64,
    /// Opening state at the query instant.
    pub open: OpenAt,
}

/// One answer of a nearest-by-walking query.
#[derive(Debug, Clone)]
pub struct WalkNearest<'a> {
    /// The facility.
    pub facility: &'a Facility,
    /// Walking metres, both connectors included.
    pub distance_m: f64,
    /// The walk from the query point to the facility.
    pub route: geo::LineString<f64>,
    /// Opening state at the query instant.
    pub open: OpenAt,
}

/// Kinds of the facilities that differ between two facility lists (sorted by id).
fn changed_kinds(old: &[Facility], new: &[Facility]) -> std::collections::HashSet<KindId> {
    let old_by_id: std::collections::HashMap<i64, &Facility> =
        old.iter().map(|f| (f.id, f)).collect();
    let new_ids: std::collections::HashSet<i64> = new.iter().map(|f| f.id).collect();
    let mut kinds = std::collections::HashSet::new();
    for f in new {
        match old_by_id.get(&f.id) {
            Some(o) if *o == f => {}
            Some(o) => {
                kinds.insert(o.kind.clone());
                kinds.insert(f.kind.clone());
            }
            None => {
                kinds.insert(f.kind.clone());
            }
        }
    }
    for o in old.iter().filter(|o| !new_ids.contains(&o.id)) {
        kinds.insert(o.kind.clone());
    }
    kinds
}

fn first_containing<T: super::layers::Record>(
    layer: &Layer<T>,
    p: LonLat,
    contains: impl Fn(&T) -> bool,
) -> Option<&T> {
    let mut hits: Vec<usize> = layer
        .envelope_hits([p.lon(), p.lat()])
        .filter(|&i| contains(&layer.items()[i]))
        .collect();
    hits.sort_unstable();
    hits.first().map(|&i| &layer.items()[i])
}

impl Snapshot {
    /// Builds every layer and index from the store's contents.
    pub fn build(data: Dataset, catalogue: Arc<KindCatalogue>) -> Snapshot {
        let buildings = BuildingLayer::new(data.buildings);
        let grids = GridLayer::new(data.grids, &buildings);
        let ways = Layer::new(data.ways);
        let walk = WalkLayer::new(ways.items(), buildings.layer.items(), WalkConfig::default());
        let facilities = FacilityLayer::new(data.facilities);
        let facility_snaps = walk.snap_facilities(facilities.layer.items());
        let circles = if data.circles.is_empty() {
            CircleDef::bundled(&catalogue)
        } else {
            data.circles
        };
        Snapshot {
            version: 1,
            catalogue,
            timezone: data
                .timezone
                .unwrap_or_else(crate::config::default_timezone),
            street_offices: Arc::new(Layer::new(data.street_offices)),
            communities: Arc::new(Layer::new(data.communities)),
            grids: Arc::new(grids),
            buildings: Arc::new(buildings),
            facilities: Arc::new(facilities),
            ways: Arc::new(ways),
            land: Arc::new(Layer::new(data.land)),
            walk: Arc::new(walk),
            facility_snaps: Arc::new(facility_snaps),
            walk_targets: Arc::new(KindTargets::default()),
            circles: Arc::new(circles),
            facility_circles: Arc::new(super::CircleLayer::default()),
            coverage_cache: Arc::new(CoverageCache::default()),
        }
    }

    /// The next snapshot with a new set of facilities; every other layer is shared.
    pub fn with_facilities(&self, facilities: Vec<Facility>) -> Snapshot {
        let changed_kinds = changed_kinds(self.facilities.layer.items(), &facilities);
        let layer = FacilityLayer::new(facilities);
        let facility_snaps = self.walk.snap_facilities(layer.layer.items());
        let keep: Vec<String> = self
            .circles
            .iter()
            .filter(|c| !c.kinds.iter().any(|k| changed_kinds.contains(k)))
            .map(|c| c.id.clone())
            .collect();
        Snapshot {
            facilities: Arc::new(layer),
            facility_snaps: Arc::new(facility_snaps),
            walk_targets: Arc::new(KindTargets::default()),
            coverage_cache: Arc::new(self.coverage_cache.carry_over(&keep)),
            ..self.clone()
        }
    }

    /// The next snapshot with new circle definitions (cache kept only for unchanged ones).
    pub fn with_circles(&self, circles: Vec<CircleDef>) -> Snapshot {
        let keep: Vec<String> = circles
            .iter()
            .filter(|c| self.circles.contains(c))
            .map(|c| c.id.clone())
            .collect();
        Snapshot {
            circles: Arc::new(circles),
            coverage_cache: Arc::new(self.coverage_cache.carry_over(&keep)),
            ..self.clone()
        }
    }

    /// The next snapshot with these facility circles.
    pub fn with_facility_circles(&self, circles: Vec<crate::model::FacilityCircle>) -> Snapshot {
        Snapshot {
            facility_circles: Arc::new(super::CircleLayer::new(circles)),
            ..self.clone()
        }
    }

    /// The circle with this id or name (`health` or `健康`).
    pub fn circle(&self, id_or_name: &str) -> Option<&CircleDef> {
        self.circles
            .iter()
            .find(|c| c.id == id_or_name || c.name == id_or_name)
    }

    /// The next snapshot with a new set of grids (membership recomputed); the rest is shared.
    /// Cached walks are kept (they do not depend on grids); cached reports, whose breakdown is
    /// per grid, are not.
    pub fn with_grids(&self, grids: Vec<Grid>) -> Snapshot {
        let every_circle: Vec<String> = self.circles.iter().map(|c| c.id.clone()).collect();
        Snapshot {
            grids: Arc::new(GridLayer::new(grids, &self.buildings)),
            coverage_cache: Arc::new(self.coverage_cache.carry_over(&every_circle)),
            ..self.clone()
        }
    }

    /// The bounding box of all data, or `None` when the store is empty.
    pub fn extent(&self) -> Option<Rect<f64>> {
        [
            self.buildings.layer.extent(),
            self.ways.extent(),
            self.street_offices.extent(),
            self.facilities.layer.extent(),
        ]
        .into_iter()
        .flatten()
        .reduce(|a, b| {
            Rect::new(
                (a.min().x.min(b.min().x), a.min().y.min(b.min().y)),
                (a.max().x.max(b.max().x), a.max().y.max(b.max().y)),
            )
        })
    }

    /// True when `p` is within `margin_m` of the data's extent: the area this service answers
    /// for. Used to reject writes far away, such as coordinates given in lat,lon order.
    pub fn serves(&self, p: LonLat, margin_m: f64) -> bool {
        let Some(e) = self.extent() else { return true };
        let dlat = margin_m / 111_195.0;
        let dlon = dlat / p.lat().to_radians().cos().max(0.01);
        (e.min().x - dlon..=e.max().x + dlon).contains(&p.lon())
            && (e.min().y - dlat..=e.max().y + dlat).contains(&p.lat())
    }

    /// The street office, community, grid and building that contain `p`.
    pub fn locate(&self, p: LonLat) -> Located<'_> {
        Located {
            street_office: first_containing(&self.street_offices, p, |s| s.boundary.contains(p)),
            community: first_containing(&self.communities, p, |c| c.boundary.contains(p)),
            grid: first_containing(&self.grids.layer, p, |g| g.boundary.contains(p)),
            building: first_containing(&self.buildings.layer, p, |b| b.footprint.contains(p)),
        }
    }

    /// The opening state of `facility` at `at`, in the city's time zone.
    pub fn open_at(&self, facility: &Facility, at: DateTime<Utc>) -> OpenAt {
        facility
            .hours
            .as_ref()
            .map_or_else(OpenAt::unknown, |h| h.state_at(at, self.timezone))
    }

    /// The `k` facilities of `kind` nearest to `p` by crow-fly distance, nearest first.
    /// With `open_only`, only those open at `at` count; with `audience`, only those that
    /// serve that group. Ties in distance go to the lower id.
    pub fn nearest(
        &self,
        p: LonLat,
        kind: &KindId,
        k: usize,
        at: DateTime<Utc>,
        open_only: bool,
        audience: Option<Audience>,
    ) -> Vec<NearestFacility<'_>> {
        let Some(grid) = self.facilities.grids.get(kind) else {
            return Vec::new();
        };
        let items = self.facilities.layer.items();
        let passes = |facility: &Facility| {
            audience.is_none_or(|who| facility.audience.serves(who))
                && (!open_only || self.open_at(facility, at).state == OpenState::Open)
        };
        let mut found = Vec::with_capacity(k.min(64));
        grid.nearest_k(p.unit_vector(), k, |i| passes(&items[i]), &mut found);
        found
            .into_iter()
            .map(|n| {
                let facility = &items[n.index];
                NearestFacility {
                    facility,
                    distance_m: n.metres(),
                    open: self.open_at(facility, at),
                }
            })
            .collect()
    }

    /// The `k` facilities of `kind` nearest to `p` by walking on the street network, with the
    /// route to each. `None` when `p` cannot join the network (no street within the connector
    /// limit). Unreachable facilities (other components, or no street near them) never appear.
    #[allow(clippy::too_many_arguments)]
    pub fn nearest_walking(
        &self,
        p: LonLat,
        kind: &KindId,
        k: usize,
        at: DateTime<Utc>,
        open_only: bool,
        audience: Option<Audience>,
    ) -> Option<Vec<WalkNearest<'_>>> {
        let origin = self.walk.network.snap(p)?;
        let items = self.facilities.layer.items();
        let targets = self
            .walk_targets
            .get(kind, &self.walk, items, &self.facility_snaps);
        let (targets, indices) = (&targets.0, &targets.1);
        let graph = self.walk.network.graph();
        let keep = |i: usize| {
            let f = &items[i];
            let open = self.open_at(f, at);
            let ok = audience.is_none_or(|who| f.audience.serves(who))
                && (!open_only || open.state == OpenState::Open);
            ok.then_some(open)
        };
        Some(super::with_reach(graph, |reach| {
            // Ask for k, then more while filters (open now, audience) drop candidates.
            let mut want = k;
            let chosen: Vec<(usize, f64, OpenAt)> = loop {
                let found =
                    crate::walk::nearest_k(graph, reach, &origin, targets, want, f64::INFINITY);
                let passing: Vec<(usize, f64, OpenAt)> = found
                    .iter()
                    .filter_map(|&(t, d)| keep(indices[t]).map(|open| (indices[t], d, open)))
                    .take(k)
                    .collect();
                if passing.len() >= k || found.len() < want {
                    break passing;
                }
                want *= 2;
            };
            let Some(farthest) = chosen.iter().map(|c| c.1).reduce(f64::max) else {
                return Vec::new();
            };
            // One search from the query point, with predecessors, gives every route.
            reach.run(graph, std::slice::from_ref(&origin), farthest + 1.0, true);
            chosen
                .into_iter()
                .map(|(i, d, open)| {
                    let snap = self.facility_snaps[i].expect("targets are snapped");
                    let mut line = crate::walk::route(graph, reach, &snap)
                        .map(|r| r.line)
                        .unwrap_or_else(|| geo::LineString::new(Vec::new()));
                    line.0.reverse();
                    WalkNearest {
                        facility: &items[i],
                        distance_m: d,
                        route: line,
                        open,
                    }
                })
                .collect()
        }))
    }

    /// Grid of the building at index `building_index`, if any.
    pub fn grid_of_building(&self, building_index: usize) -> Option<&Grid> {
        self.grids
            .building_grid
            .get(building_index)
            .copied()
            .flatten()
            .map(|g| &self.grids.layer.items()[g])
    }
}
