//! One layer per kind of record: the records (sorted by id), an id lookup and R-trees.

use std::collections::HashMap;

use geo::{BoundingRect, Intersects, Rect};
use rstar::{AABB, RTree};

use super::{BatchPoints, EnvelopeEntry, PointEntry, SphereGrid, SpherePoint};
use crate::model::{Building, Community, Facility, Grid, KindId, StreetOffice, StreetWay};

/// A record that has an id and a shape the layer can index.
pub trait Record {
    /// Store id.
    fn id(&self) -> i64;
    /// Bounding box in degrees.
    fn bbox(&self) -> Rect<f64>;
    /// Exact test against a bbox filter (OGC API `bbox`: the geometry intersects the box).
    fn intersects_rect(&self, rect: &Rect<f64>) -> bool;
}

macro_rules! area_record {
    ($t:ty, $field:ident) => {
        impl Record for $t {
            fn id(&self) -> i64 {
                self.id
            }
            fn bbox(&self) -> Rect<f64> {
                self.$field.bbox()
            }
            fn intersects_rect(&self, rect: &Rect<f64>) -> bool {
                self.$field.shape().intersects(rect)
            }
        }
    };
}
area_record!(StreetOffice, boundary);
area_record!(Community, boundary);
area_record!(Grid, boundary);
area_record!(Building, footprint);
area_record!(crate::model::LandArea, shape);

impl Record for Facility {
    fn id(&self) -> i64 {
        self.id
    }
    fn bbox(&self) -> Rect<f64> {
        Rect::new(self.point.point().0, self.point.point().0)
    }
    fn intersects_rect(&self, rect: &Rect<f64>) -> bool {
        rect.intersects(&self.point.point())
    }
}

impl Record for StreetWay {
    fn id(&self) -> i64 {
        self.id
    }
    fn bbox(&self) -> Rect<f64> {
        self.line
            .bounding_rect()
            .unwrap_or_else(|| Rect::new((0.0, 0.0), (0.0, 0.0)))
    }
    fn intersects_rect(&self, rect: &Rect<f64>) -> bool {
        self.line.intersects(rect)
    }
}

/// Records of one kind, sorted by id, with an envelope R-tree.
#[derive(Debug)]
pub struct Layer<T> {
    items: Vec<T>,
    by_id: HashMap<i64, usize>,
    envelopes: RTree<EnvelopeEntry>,
}

impl<T: Record> Layer<T> {
    /// Indexes `items` (sorted here by id).
    pub fn new(mut items: Vec<T>) -> Self {
        items.sort_by_key(Record::id);
        let by_id = items.iter().enumerate().map(|(i, r)| (r.id(), i)).collect();
        let envelopes = RTree::bulk_load(
            items
                .iter()
                .enumerate()
                .map(|(i, r)| EnvelopeEntry::new(r.bbox(), i))
                .collect(),
        );
        Layer {
            items,
            by_id,
            envelopes,
        }
    }

    /// All records, sorted by id.
    pub fn items(&self) -> &[T] {
        &self.items
    }

    /// The record with this id.
    pub fn get(&self, id: i64) -> Option<&T> {
        self.by_id.get(&id).map(|&i| &self.items[i])
    }

    /// The index of the record with this id.
    pub fn index_of(&self, id: i64) -> Option<usize> {
        self.by_id.get(&id).copied()
    }

    /// Indices of the records whose geometry intersects `rect`, in id order.
    pub fn in_rect(&self, rect: &Rect<f64>) -> Vec<usize> {
        let aabb = AABB::from_corners([rect.min().x, rect.min().y], [rect.max().x, rect.max().y]);
        let mut hits: Vec<usize> = self
            .envelopes
            .locate_in_envelope_intersecting(aabb)
            .map(|e| e.index)
            .filter(|&i| self.items[i].intersects_rect(rect))
            .collect();
        hits.sort_unstable();
        hits
    }

    /// Indices of records whose envelope contains `p` (candidates for point-in-polygon).
    pub fn envelope_hits(&self, p: [f64; 2]) -> impl Iterator<Item = usize> + '_ {
        self.envelopes
            .locate_in_envelope_intersecting(AABB::from_point(p))
            .map(|e| e.index)
    }

    /// Bounding box of all records.
    pub fn extent(&self) -> Option<Rect<f64>> {
        (!self.items.is_empty()).then(|| {
            let e = self.envelopes.root().envelope();
            Rect::new((e.lower()[0], e.lower()[1]), (e.upper()[0], e.upper()[1]))
        })
    }
}

/// Street offices and communities.
pub type AdminLayer<T> = Layer<T>;
/// Streets and paths.
pub type WayLayer = Layer<StreetWay>;

/// Buildings, with a point tree over representative points.
#[derive(Debug)]
pub struct BuildingLayer {
    /// Footprints.
    pub layer: Layer<Building>,
    /// Representative points.
    pub points: RTree<PointEntry>,
    /// Representative points as one batch of queries (index = building index), sorted once
    /// here for every batch query over all buildings (radius coverage).
    pub batch: BatchPoints,
}

impl BuildingLayer {
    /// Indexes buildings.
    pub fn new(items: Vec<Building>) -> Self {
        let layer = Layer::new(items);
        let points = RTree::bulk_load(
            layer
                .items()
                .iter()
                .enumerate()
                .map(|(i, b)| PointEntry {
                    at: [b.point.lon(), b.point.lat()],
                    index: i,
                })
                .collect(),
        );
        let batch = BatchPoints::new(&layer.items().iter().map(|b| b.point).collect::<Vec<_>>());
        BuildingLayer {
            layer,
            points,
            batch,
        }
    }
}

/// Facilities, with one sphere-point tree and one sphere grid per kind for exact crow-fly
/// nearest queries.
#[derive(Debug)]
pub struct FacilityLayer {
    /// Points.
    pub layer: Layer<Facility>,
    /// Per-kind nearest-neighbour trees.
    pub by_kind: HashMap<KindId, RTree<SpherePoint>>,
    /// Per-kind grids: the same points, for single and batch k-nearest queries (faster than
    /// the trees; see [`SphereGrid`]).
    pub grids: HashMap<KindId, SphereGrid>,
}

impl FacilityLayer {
    /// Indexes facilities.
    pub fn new(items: Vec<Facility>) -> Self {
        let layer = Layer::new(items);
        let mut groups: HashMap<KindId, Vec<SpherePoint>> = HashMap::new();
        for (i, f) in layer.items().iter().enumerate() {
            groups.entry(f.kind.clone()).or_default().push(SpherePoint {
                at: f.point.unit_vector(),
                index: i,
            });
        }
        let grids = groups
            .iter()
            .map(|(k, pts)| {
                (
                    k.clone(),
                    SphereGrid::new(pts.iter().map(|p| (p.at, p.index))),
                )
            })
            .collect();
        let by_kind = groups
            .into_iter()
            .map(|(k, pts)| (k, RTree::bulk_load(pts)))
            .collect();
        FacilityLayer {
            layer,
            by_kind,
            grids,
        }
    }
}

/// Households, residents and buildings of one grid, from its member buildings.
#[derive(Debug, Clone, Copy, Default, PartialEq, serde::Serialize)]
pub struct GridStats {
    /// Member buildings.
    pub buildings: u32,
    /// Households.
    pub households: u64,
    /// Residents.
    pub residents: u64,
}

/// Grids, and which grid each building belongs to: the grid containing its representative
/// point (the lowest id if grids overlap).
#[derive(Debug)]
pub struct GridLayer {
    /// Boundaries.
    pub layer: Layer<Grid>,
    /// Per grid (same order as `layer.items()`).
    pub stats: Vec<GridStats>,
    /// Per building index: the grid index it belongs to.
    pub building_grid: Vec<Option<usize>>,
}

impl GridLayer {
    /// Indexes grids and computes membership of `buildings`.
    pub fn new(items: Vec<Grid>, buildings: &BuildingLayer) -> Self {
        let layer = Layer::new(items);
        let mut building_grid = vec![None; buildings.layer.items().len()];
        let mut stats = vec![GridStats::default(); layer.items().len()];
        for (gi, grid) in layer.items().iter().enumerate() {
            let r = grid.boundary.bbox();
            let aabb = AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
            for entry in buildings.points.locate_in_envelope(aabb) {
                let b = &buildings.layer.items()[entry.index];
                if building_grid[entry.index].is_none() && grid.boundary.contains(b.point) {
                    building_grid[entry.index] = Some(gi);
                    let s = &mut stats[gi];
                    s.buildings += 1;
                    s.households += u64::from(b.households);
                    s.residents += u64::from(b.residents);
                }
            }
        }
        GridLayer {
            layer,
            stats,
            building_grid,
        }
    }
}
