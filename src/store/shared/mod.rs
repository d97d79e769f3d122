//! Store code written once for both backends.
//!
//! Each file here is compiled once per backend: `geopackage.rs` and `postgres.rs` each
//! declare a module that `include!`s it, with `b` naming that backend's `backend` module
//! (connection, pool and row types, geometry encoding, `layer_changed`) and `sql` its
//! statements where the two dialects differ (geometry functions, bounding-box columns, row
//! locks). Every other statement is the same text on both: `$N` parameters, which SQLite
//! reads as numbered parameters too.
//!
//! Why not generic functions over `sqlx::Database`? sqlx's executor, encode and decode bounds
//! must then be repeated at every call for every bound type (Rust does not imply them), which
//! costs more than it shares; the two backends' code is the same text, so it is written once
//! and compiled twice.
//!
//! This module itself is documentation only: the files are not compiled on their own.
