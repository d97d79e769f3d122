//! The read model: the in-memory, immutable snapshot that every query reads (layers, R-trees,
//! the walking network, facility circles, coverage caches), the coverage engine over it, and
//! the cell that holds the current snapshot. It is built from model types and never touches
//! the store; the write path (`app`) publishes each next snapshot after a commit.

mod batch;
mod cell;
mod circle_layer;
mod circle_refresh;
mod content_hash;
pub mod coverage;
mod grid_check;
mod layers;
mod snapshot;
mod walk_layer;

pub use crate::rtree::{EnvelopeEntry, PointEntry, SpherePoint};
pub use batch::{BatchNearest, BatchPoints, Neighbour, SphereGrid, chord_of};
pub use cell::{SnapshotCell, SyncState};
pub use circle_layer::CircleLayer;
pub use circle_refresh::{CircleRefresh, recompute_facility_circles};
pub use content_hash::content_hash;
pub use layers::{AdminLayer, BuildingLayer, FacilityLayer, GridLayer, GridStats, WayLayer};
pub use snapshot::{Located, NearestFacility, Snapshot, WalkNearest};
pub use walk_layer::{KindTargets, WalkLayer, with_reach};
