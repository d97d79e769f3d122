//! The GeoPackage's statements where SQLite and PostgreSQL differ: geometries are
//! GeoPackageBinary blobs bound and read as they are, with per-row bounding-box columns for
//! `gpkg_contents`' extents.

/// Every facility circle (`geom` as stored).
pub(crate) const SELECT_FACILITY_CIRCLES: &str = "SELECT fid, facility_id, circle_id, minutes, mode, source_hash, geom \
     FROM facility_circles ORDER BY fid";

/// One facility circle: $1 geometry, $2 facility, $3 circle, $4 minutes, $5 mode, $6 source
/// hash, $7..$10 bounding box; skipped when the facility is not stored.
pub(crate) const UPSERT_FACILITY_CIRCLE: &str = "INSERT INTO facility_circles (geom, facility_id, circle_id, minutes, mode, source_hash, \
     min_x, min_y, max_x, max_y) \
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 WHERE EXISTS (SELECT 1 FROM facilities WHERE fid = $2) \
     ON CONFLICT (facility_id, circle_id) DO UPDATE SET geom = excluded.geom, minutes = excluded.minutes, \
     mode = excluded.mode, source_hash = excluded.source_hash, min_x = excluded.min_x, min_y = excluded.min_y, \
     max_x = excluded.max_x, max_y = excluded.max_y";

/// A geometry column as read, for `concat!` into a statement: the GeoPackageBinary blob as
/// stored.
macro_rules! geom {
    () => {
        "geom"
    };
}
pub(crate) use geom;

/// The time-zone setting, with the fid of its row.
pub(crate) const SELECT_TIMEZONE: &str = "SELECT fid, value FROM settings WHERE key = 'timezone'";
