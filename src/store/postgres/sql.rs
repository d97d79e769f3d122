//! PostgreSQL's statements where it and SQLite differ: geometries go in through
//! `ST_GeomFromWKB` and come out through `ST_AsBinary`; there are no bounding-box columns
//! (the parameters SQLite binds for them are left unused here); rows read for a change are
//! locked (`FOR UPDATE`), since several replicas write.

/// Every facility circle (`geom` as WKB).
pub(crate) const SELECT_FACILITY_CIRCLES: &str = "SELECT fid, facility_id, circle_id, minutes, mode, source_hash, ST_AsBinary(geom) AS geom \
     FROM facility_circles ORDER BY fid";

/// One facility circle: $1 geometry, $2 facility, $3 circle, $4 minutes, $5 mode, $6 source
/// hash ($7..$10, the bounding box, unused); skipped when the facility is not stored.
pub(crate) const UPSERT_FACILITY_CIRCLE: &str = "INSERT INTO facility_circles (geom, facility_id, circle_id, minutes, mode, source_hash) \
     SELECT ST_Multi(ST_GeomFromWKB($1, 4326)), $2, $3, $4, $5, $6 \
     WHERE EXISTS (SELECT 1 FROM facilities WHERE fid = $2) \
     ON CONFLICT (facility_id, circle_id) DO UPDATE SET geom = excluded.geom, minutes = excluded.minutes, \
     mode = excluded.mode, source_hash = excluded.source_hash";

/// A geometry column as read, for `concat!` into a statement: WKB, named `geom`.
macro_rules! geom {
    () => {
        "ST_AsBinary(geom) AS geom"
    };
}
pub(crate) use geom;

/// The time-zone setting (`settings` has no fid here: 0 names its row).
pub(crate) const SELECT_TIMEZONE: &str =
    "SELECT 0::bigint AS fid, value FROM settings WHERE key = 'timezone'";
