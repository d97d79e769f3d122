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

/// The facility columns' parameters, shared by the statements below: $1 geometry (WKB), $2 osm,
/// $3 kind, $4 name, $5 owner, $6 audience, $7 opening hours, $8 capacity, $9 free,
/// $10 shared, $11 demo. The trailing parameters SQLite binds for its `lon`/`lat` columns are
/// unused here.
///
/// A new facility ($12/$13 unused); returns its fid.
pub(crate) const INSERT_FACILITY: &str = "INSERT INTO facilities (geom, osm, kind, name, owner, audience, opening_hours, \
     capacity, free, shared, demo) VALUES (ST_GeomFromWKB($1, 4326), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING fid";

/// Facility $12 gets the columns $1..$11 ($13/$14 unused).
pub(crate) const UPDATE_FACILITY: &str = "UPDATE facilities SET geom = ST_GeomFromWKB($1, 4326), osm = $2, kind = $3, name = $4, \
     owner = $5, audience = $6, opening_hours = $7, capacity = $8, free = $9, shared = $10, demo = $11 WHERE fid = $12";

/// Facility $12 gets the columns $1..$11 only if every stored column still equals $13..$23
/// (the point compared by its coordinates; $24..$27 unused).
pub(crate) const REPLACE_FACILITY_IF: &str = "UPDATE facilities SET geom = ST_GeomFromWKB($1, 4326), osm = $2, kind = $3, name = $4, \
     owner = $5, audience = $6, opening_hours = $7, capacity = $8, free = $9, shared = $10, demo = $11 \
     WHERE fid = $12 AND ST_X(geom) = ST_X(ST_GeomFromWKB($13)) AND ST_Y(geom) = ST_Y(ST_GeomFromWKB($13)) \
     AND osm IS NOT DISTINCT FROM $14 AND kind = $15 AND name IS NOT DISTINCT FROM $16 \
     AND owner IS NOT DISTINCT FROM $17 AND audience = $18 AND opening_hours IS NOT DISTINCT FROM $19 \
     AND capacity IS NOT DISTINCT FROM $20 AND free IS NOT DISTINCT FROM $21 AND shared = $22 AND demo = $23";

/// Deletes facility $12 only if every stored column still equals $1..$11 ($13/$14 unused).
pub(crate) const DELETE_FACILITY_IF: &str = "DELETE FROM facilities WHERE ST_X(geom) = ST_X(ST_GeomFromWKB($1)) AND ST_Y(geom) = ST_Y(ST_GeomFromWKB($1)) \
     AND osm IS NOT DISTINCT FROM $2 AND kind = $3 AND name IS NOT DISTINCT FROM $4 \
     AND owner IS NOT DISTINCT FROM $5 AND audience = $6 AND opening_hours IS NOT DISTINCT FROM $7 \
     AND capacity IS NOT DISTINCT FROM $8 AND free IS NOT DISTINCT FROM $9 AND shared = $10 AND demo = $11 \
     AND fid = $12";

/// Whether facility $1 exists, locking its row until the transaction ends (several replicas
/// write).
pub(crate) const FACILITY_EXISTS: &str = "SELECT fid FROM facilities WHERE fid = $1 FOR UPDATE";

/// An imported building's new values for stored row $12 ($1 geometry, $2 name, $3 building,
/// $4 levels, $5 households, $6 residents, $7 household source, $8/$9 point, $10/$11
/// entrance; $13..$16 unused); a counted row keeps its counts and source (SET expressions see
/// the old row).
pub(crate) const UPDATE_BUILDING: &str = "UPDATE buildings SET geom = ST_GeomFromWKB($1, 4326), name = $2, building = $3, levels = $4, \
     households = CASE WHEN household_source = 'counted' THEN households ELSE $5 END, \
     residents = CASE WHEN household_source = 'counted' THEN residents ELSE $6 END, \
     household_source = CASE WHEN household_source = 'counted' THEN 'counted' ELSE $7 END, \
     point_lon = $8, point_lat = $9, entrance_lon = $10, entrance_lat = $11 WHERE fid = $12";

/// Land area $4 gets $1 geometry, $2 class, $3 name ($5..$8 unused).
pub(crate) const UPDATE_LAND: &str =
    "UPDATE land_areas SET geom = ST_GeomFromWKB($1, 4326), class = $2, name = $3 WHERE fid = $4";

/// A new land area: $1 geometry, $2 class, $3 name, $4 osm ($5..$8 unused); returns its fid.
pub(crate) const INSERT_LAND: &str = "INSERT INTO land_areas (geom, class, name, osm) VALUES (ST_GeomFromWKB($1, 4326), $2, $3, $4) \
     RETURNING fid";

/// Deletes every row of $1 (`backend::fid_list`: a bigint[]), in one statement.
pub(crate) const DELETE_BUILDINGS: &str = "DELETE FROM buildings WHERE fid = ANY($1)";
/// See [`DELETE_BUILDINGS`].
pub(crate) const DELETE_FACILITIES: &str = "DELETE FROM facilities WHERE fid = ANY($1)";
/// See [`DELETE_BUILDINGS`].
pub(crate) const DELETE_WAYS: &str = "DELETE FROM ways WHERE fid = ANY($1)";
/// See [`DELETE_BUILDINGS`].
pub(crate) const DELETE_LAND: &str = "DELETE FROM land_areas WHERE fid = ANY($1)";
