//! gridcircle: neighbourhood governance maps — grids, shared facilities and ten-minute
//! service circles, answered from an in-memory R-tree snapshot over an sqlx store.

pub mod app;
pub mod auth;
pub mod cli;
pub mod config;
pub mod formats;
pub mod grids;
pub mod http;
pub mod import;
pub mod model;
pub mod readmodel;
pub mod rtree;
pub mod store;
pub mod walk;
