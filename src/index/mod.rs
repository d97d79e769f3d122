//! The in-memory, immutable snapshot that every query reads, with its R-trees, and the cell
//! that publishes a new snapshot atomically after each committed write.

mod batch;
mod cell;
mod circle_layer;
mod circle_refresh;
mod content_hash;
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
