//! The in-memory, immutable snapshot that every query reads, with its R-trees, and the cell
//! that publishes a new snapshot atomically after each committed write.

mod cell;
mod entry;
mod layers;
mod snapshot;

pub use cell::SnapshotCell;
pub use entry::{EnvelopeEntry, PointEntry, SpherePoint};
pub use layers::{AdminLayer, BuildingLayer, FacilityLayer, GridLayer, GridStats, WayLayer};
pub use snapshot::{Located, NearestFacility, Snapshot};
