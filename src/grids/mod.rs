//! Grids as governance objects (issue #4, the library half): topology checks for drawn areas,
//! sequence numbering and renumbering, and draft partitions of a community into grids.
//!
//! | file | concept |
//! |---|---|
//! | `frame` | [`LocalFrame`]: metres around a point, so tolerances are real metres |
//! | `measure` | widths, debris and narrow parts of shapes in metres |
//! | `problem` | [`Problem`], [`ProblemKind`], [`TopologyReport`]: what a check finds, as GeoJSON-ready JSON |
//! | `validity` | [`check_raw`]: raw polygon → [`crate::model::AreaShape`], or where it crosses itself |
//! | `topology` | [`check_grid`], [`check_community`], [`check_street_office`], [`check_area`] |
//! | `numbering` | [`sequence_order`], [`renumber`]: codes west→east, then north→south |
//! | `planar` | polygonising lines inside a region: street blocks as faces of a planar graph |
//! | `draft` | [`draft_grids`]: blocks split and merged toward a household target |
//!
//! A write of a grid goes: parse the GeoJSON → [`check_raw`] → [`check_grid`] against the
//! current snapshot → refuse on errors, show warnings → store.

mod draft;
mod frame;
pub mod measure;
mod numbering;
mod planar;
mod problem;
mod topology;
mod validity;

pub use draft::{Draft, DraftConfig, DraftGrid, draft_grids, draft_grids_with};
pub use frame::LocalFrame;
pub use numbering::{CodeChange, apply, invert, renumber, sequence_order};
pub use problem::{Problem, ProblemKind, TopologyReport};
pub use topology::{
    AreaRef, Level, TopologyConfig, check_area, check_community, check_grid, check_street_office,
    parse_household_guidance,
};
pub use validity::check_raw;
