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

// ---------------------------------------------------------------- grids, communities, offices
// Geometries are bound as WKB; the trailing four parameters SQLite binds for a row's bounding
// box are left unused.

/// A grid's row as the history records it, locked for the transaction.
pub(crate) const READ_GRID: &str = "SELECT ST_AsBinary(geom) AS geom, code, name, community_id AS parent FROM grids \
     WHERE fid = $1 FOR UPDATE";
/// A community's row as the history records it, locked for the transaction.
pub(crate) const READ_COMMUNITY: &str = "SELECT ST_AsBinary(geom) AS geom, code, name, street_office_id AS parent FROM communities \
     WHERE fid = $1 FOR UPDATE";
/// A street office's row as the history records it, locked for the transaction.
pub(crate) const READ_STREET_OFFICE: &str = "SELECT ST_AsBinary(geom) AS geom, code, name, NULL::bigint AS parent FROM street_offices \
     WHERE fid = $1 FOR UPDATE";

/// A history row: $1 new boundary, $2 layer, $3 feature, $4 action, $5 actor, $6 time, $7 old
/// boundary, $8/$9 old/new code, $10/$11 old/new name, $12/$13 old/new parent, $14 note.
pub(crate) const INSERT_HISTORY: &str = "INSERT INTO boundary_history (geom, layer, feature_id, action, actor, at, old_geom, old_code, \
     new_code, old_name, new_name, old_parent_id, new_parent_id, note) \
     VALUES (ST_GeomFromWKB($1, 4326), $2, $3, $4, $5, $6, ST_GeomFromWKB($7, 4326), $8, $9, $10, $11, $12, $13, $14)";
/// PostgreSQL keeps no per-table extents.
pub(crate) const GROW_HISTORY_EXTENT: Option<&str> = None;
/// Every change to one feature ($1 layer, $2 feature), oldest first.
pub(crate) const HISTORY: &str = "SELECT h.fid, ST_AsBinary(h.geom) AS geom, h.layer, h.feature_id, h.action, h.actor, h.at, \
     ST_AsBinary(h.old_geom) AS old_geom, h.old_code, h.new_code, h.old_name, h.new_name, h.old_parent_id, \
     h.new_parent_id, h.note \
     FROM boundary_history h WHERE h.layer = $1 AND h.feature_id = $2 ORDER BY h.fid";
/// Each feature's latest change of layer $1 at or before $2.
pub(crate) const AS_OF: &str = "SELECT h.fid, ST_AsBinary(h.geom) AS geom, h.layer, h.feature_id, h.action, h.actor, h.at, \
     ST_AsBinary(h.old_geom) AS old_geom, h.old_code, h.new_code, h.old_name, h.new_name, h.old_parent_id, \
     h.new_parent_id, h.note \
     FROM boundary_history h \
     JOIN (SELECT feature_id, MAX(fid) AS last FROM boundary_history \
           WHERE layer = $1 AND at <= $2 GROUP BY feature_id) l ON h.fid = l.last \
     ORDER BY h.feature_id";

/// Every grid's boundary, for the membership rule.
pub(crate) const GRID_SHAPES: &str =
    "SELECT fid, ST_AsBinary(geom) AS geom FROM grids ORDER BY fid";
/// Buildings whose representative point lies in the box $1..$4 (min lon, min lat, max lon,
/// max lat). The GiST index answers `&&` on float boxes rounded outwards; the exact
/// comparison keeps the same set as the GeoPackage's BETWEEN.
pub(crate) const BUILDINGS_IN_BOX: &str = "SELECT fid, point_lon, point_lat, grid_id FROM buildings \
     WHERE point && ST_MakeEnvelope($1, $2, $3, $4, 4326) \
     AND point_lon BETWEEN $1 AND $3 AND point_lat BETWEEN $2 AND $4";
/// A community's grids with their versions ($1 community), locked for the transaction.
pub(crate) const COMMUNITY_GRIDS: &str =
    "SELECT fid, version FROM grids WHERE community_id = $1 ORDER BY fid FOR UPDATE";

/// A new grid at version 1: $1 boundary, $2 code, $3 name, $4 community, $5/$6 chief's name
/// and phone, $7 workers, $8 demo; returns its fid.
pub(crate) const INSERT_GRID: &str = "INSERT INTO grids (geom, code, name, community_id, chief_name, chief_phone, workers, demo, \
     version) VALUES (ST_GeomFromWKB($1, 4326), $2, $3, $4, $5, $6, $7, $8, 1) RETURNING fid";
/// Grid $9 rewritten (version + 1), only at version $10 when that is not NULL: $1..$8 as for
/// an insert.
pub(crate) const UPDATE_GRID: &str = "UPDATE grids SET geom = ST_GeomFromWKB($1, 4326), code = $2, name = $3, community_id = $4, \
     chief_name = $5, chief_phone = $6, workers = $7, demo = $8, version = version + 1 \
     WHERE fid = $9 AND ($10::bigint IS NULL OR version = $10)";
/// A new street office: $1 boundary, $2 code, $3 name, $5 demo; returns its fid.
pub(crate) const INSERT_STREET_OFFICE: &str = "INSERT INTO street_offices (geom, code, name, demo) VALUES (ST_GeomFromWKB($1, 4326), $2, $3, $5) RETURNING fid";
/// Street office $6 rewritten: $1..$5 as for an insert.
pub(crate) const UPDATE_STREET_OFFICE: &str = "UPDATE street_offices SET geom = ST_GeomFromWKB($1, 4326), code = $2, name = $3, demo = $5 WHERE fid = $6";
/// A new community: $1 boundary, $2 code, $3 name, $4 street office, $5 demo; returns its fid.
pub(crate) const INSERT_COMMUNITY: &str = "INSERT INTO communities (geom, code, name, street_office_id, demo) VALUES (ST_GeomFromWKB($1, 4326), $2, $3, $4, $5) RETURNING fid";
/// Community $6 rewritten: $1..$5 as for an insert.
pub(crate) const UPDATE_COMMUNITY: &str = "UPDATE communities SET geom = ST_GeomFromWKB($1, 4326), code = $2, name = $3, street_office_id = $4, demo = $5 WHERE fid = $6";
/// The chiefs of the buildings whose ids are the JSON array $1.
pub(crate) const CHIEFS_OF: &str = "SELECT building_id, name, phone FROM building_chiefs \
     WHERE building_id IN (SELECT value::bigint FROM json_array_elements_text($1::json)) ORDER BY building_id";

/// The time-zone setting (`settings` has no fid here: 0 names its row).
pub(crate) const SELECT_TIMEZONE: &str =
    "SELECT 0::bigint AS fid, value FROM settings WHERE key = 'timezone'";

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

// ---------------------------------------------------------------- loading

/// Every row of `street_offices`, in fid order.
pub(crate) const SELECT_STREET_OFFICES: &str =
    "SELECT fid, ST_AsBinary(geom) AS geom, code, name, demo FROM street_offices ORDER BY fid";
/// Every row of `communities`, in fid order.
pub(crate) const SELECT_COMMUNITIES: &str = "SELECT fid, ST_AsBinary(geom) AS geom, code, name, street_office_id, demo FROM communities ORDER BY fid";
/// Every row of `grids`, in fid order.
pub(crate) const SELECT_GRIDS: &str = "SELECT fid, ST_AsBinary(geom) AS geom, code, name, community_id, chief_name, chief_phone, workers, demo, version \
         FROM grids ORDER BY fid";
/// Every row of `buildings`, in fid order.
pub(crate) const SELECT_BUILDINGS: &str = "SELECT fid, ST_AsBinary(geom) AS geom, osm, name, building, levels, households, residents, household_source, \
         point_lon, point_lat, entrance_lon, entrance_lat FROM buildings ORDER BY fid";
/// Every row of `facilities`, in fid order.
pub(crate) const SELECT_FACILITIES: &str = "SELECT fid, ST_AsBinary(geom) AS geom, osm, kind, name, owner, audience, opening_hours, capacity, free, shared, demo \
         FROM facilities ORDER BY fid";
/// Every row of `ways`, in fid order.
pub(crate) const SELECT_WAYS: &str = "SELECT fid, ST_AsBinary(geom) AS geom, highway, name, foot, access, area, node_ids FROM ways ORDER BY fid";
/// Every row of `land_areas`, in fid order.
pub(crate) const SELECT_LAND_AREAS: &str =
    "SELECT fid, ST_AsBinary(geom) AS geom, osm, class, name FROM land_areas ORDER BY fid";
