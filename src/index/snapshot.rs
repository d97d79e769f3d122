//! The immutable snapshot that queries read.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use geo::Rect;

use super::layers::Layer;
use super::{BuildingLayer, FacilityLayer, GridLayer, WayLayer};
use crate::model::{
    Audience, Building, Community, Facility, Grid, KindCatalogue, KindId, LonLat, OpenAt,
    OpenState, StreetOffice, chord_to_metres,
};
use crate::store::Dataset;

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

fn first_containing<'a, T: super::layers::Record>(
    layer: &'a Layer<T>,
    p: LonLat,
    contains: impl Fn(&T) -> bool,
) -> Option<&'a T> {
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
            facilities: Arc::new(FacilityLayer::new(data.facilities)),
            ways: Arc::new(Layer::new(data.ways)),
        }
    }

    /// The next snapshot with a new set of facilities; every other layer is shared.
    pub fn with_facilities(&self, facilities: Vec<Facility>) -> Snapshot {
        Snapshot {
            facilities: Arc::new(FacilityLayer::new(facilities)),
            ..self.clone()
        }
    }

    /// The next snapshot with a new set of grids (membership recomputed); the rest is shared.
    pub fn with_grids(&self, grids: Vec<Grid>) -> Snapshot {
        Snapshot {
            grids: Arc::new(GridLayer::new(grids, &self.buildings)),
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
    /// serve that group.
    pub fn nearest(
        &self,
        p: LonLat,
        kind: &KindId,
        k: usize,
        at: DateTime<Utc>,
        open_only: bool,
        audience: Option<Audience>,
    ) -> Vec<NearestFacility<'_>> {
        let Some(tree) = self.facilities.by_kind.get(kind) else {
            return Vec::new();
        };
        let items = self.facilities.layer.items();
        tree.nearest_neighbor_iter_with_distance_2(p.unit_vector())
            .filter_map(|(entry, d2)| {
                let facility = &items[entry.index];
                if audience.is_some_and(|who| !facility.audience.serves(who)) {
                    return None;
                }
                let open = self.open_at(facility, at);
                if open_only && open.state != OpenState::Open {
                    return None;
                }
                Some(NearestFacility {
                    facility,
                    distance_m: chord_to_metres(d2.sqrt()),
                    open,
                })
            })
            .take(k)
            .collect()
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
