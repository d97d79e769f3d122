//! The application layer: the one write path ([`WritePath`]) that every write — HTTP and
//! layer import alike — goes through. It knows the store, the snapshot cell and the audit log,
//! and nothing of HTTP.

pub mod replica;
mod startup;
mod write_path;

pub use startup::{load_snapshot, refresh_facility_circles};
pub use write_path::{BoxFuture, Write, WriteFailure, WriteHealth, WritePath};
