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

/// The facility columns' parameters, shared by the statements below: $1 geometry, $2 osm,
/// $3 kind, $4 name, $5 owner, $6 audience, $7 opening hours, $8 capacity, $9 free,
/// $10 shared, $11 demo. The point's `lon`/`lat` columns (which `gpkg_contents`' extent is
/// computed from) are trailing parameters.
///
/// A new facility, `lon`/`lat` $12/$13; returns its fid.
pub(crate) const INSERT_FACILITY: &str = "INSERT INTO facilities (geom, osm, kind, name, owner, audience, opening_hours, \
     capacity, free, shared, demo, lon, lat) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING fid";

/// Facility $12 gets the columns $1..$11, `lon`/`lat` $13/$14.
pub(crate) const UPDATE_FACILITY: &str = "UPDATE facilities SET geom = $1, osm = $2, kind = $3, name = $4, owner = $5, \
     audience = $6, opening_hours = $7, capacity = $8, free = $9, shared = $10, demo = $11, lon = $13, lat = $14 \
     WHERE fid = $12";

/// Facility $12 gets the columns $1..$11 (`lon`/`lat` $24/$25) only if every stored column
/// still equals $13..$23 (`lon`/`lat` $26/$27).
pub(crate) const REPLACE_FACILITY_IF: &str = "UPDATE facilities SET geom = $1, osm = $2, kind = $3, name = $4, owner = $5, audience = $6, \
     opening_hours = $7, capacity = $8, free = $9, shared = $10, demo = $11, lon = $24, lat = $25 \
     WHERE fid = $12 AND geom = $13 AND osm IS $14 AND kind = $15 AND name IS $16 AND owner IS $17 \
     AND audience = $18 AND opening_hours IS $19 AND capacity IS $20 AND free IS $21 AND shared = $22 \
     AND demo = $23 AND lon IS $26 AND lat IS $27";

/// Deletes facility $12 only if every stored column still equals $1..$11 (`lon`/`lat` $13/$14).
pub(crate) const DELETE_FACILITY_IF: &str = "DELETE FROM facilities WHERE geom = $1 AND osm IS $2 AND kind = $3 AND name IS $4 AND owner IS $5 \
     AND audience = $6 AND opening_hours IS $7 AND capacity IS $8 AND free IS $9 AND shared = $10 \
     AND demo = $11 AND fid = $12 AND lon IS $13 AND lat IS $14";

/// Whether facility $1 exists (the single writer needs no row lock).
pub(crate) const FACILITY_EXISTS: &str = "SELECT fid FROM facilities WHERE fid = $1";

/// An imported building's new values for stored row $12 ($1 geometry, $2 name, $3 building,
/// $4 levels, $5 households, $6 residents, $7 household source, $8/$9 point, $10/$11
/// entrance, $13..$16 bounding box); a counted row keeps its counts and source (SET
/// expressions see the old row).
pub(crate) const UPDATE_BUILDING: &str = "UPDATE buildings SET geom = $1, name = $2, building = $3, levels = $4, \
     households = CASE WHEN household_source = 'counted' THEN households ELSE $5 END, \
     residents = CASE WHEN household_source = 'counted' THEN residents ELSE $6 END, \
     household_source = CASE WHEN household_source = 'counted' THEN 'counted' ELSE $7 END, \
     point_lon = $8, point_lat = $9, entrance_lon = $10, entrance_lat = $11, \
     min_x = $13, min_y = $14, max_x = $15, max_y = $16 WHERE fid = $12";

/// Land area $4 gets $1 geometry, $2 class, $3 name, $5..$8 bounding box.
pub(crate) const UPDATE_LAND: &str = "UPDATE land_areas SET geom = $1, class = $2, name = $3, \
     min_x = $5, min_y = $6, max_x = $7, max_y = $8 WHERE fid = $4";

/// A new land area: $1 geometry, $2 class, $3 name, $4 osm, $5..$8 bounding box; returns its
/// fid.
pub(crate) const INSERT_LAND: &str = "INSERT INTO land_areas (geom, class, name, osm, min_x, min_y, max_x, max_y) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING fid";

/// Deletes every row of $1 (`backend::fid_list`: a JSON array), in one statement.
pub(crate) const DELETE_BUILDINGS: &str =
    "DELETE FROM buildings WHERE fid IN (SELECT value FROM json_each($1))";
/// See [`DELETE_BUILDINGS`].
pub(crate) const DELETE_FACILITIES: &str =
    "DELETE FROM facilities WHERE fid IN (SELECT value FROM json_each($1))";
/// See [`DELETE_BUILDINGS`].
pub(crate) const DELETE_WAYS: &str =
    "DELETE FROM ways WHERE fid IN (SELECT value FROM json_each($1))";
/// See [`DELETE_BUILDINGS`].
pub(crate) const DELETE_LAND: &str =
    "DELETE FROM land_areas WHERE fid IN (SELECT value FROM json_each($1))";
