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

// ---------------------------------------------------------------- grids, communities, offices
// Geometries are bound as GeoPackageBinary; the trailing four parameters of a write are the
// row's bounding box (`min_x`, `min_y`, `max_x`, `max_y`).

/// A grid's row as the history records it.
pub(crate) const READ_GRID: &str =
    "SELECT geom, code, name, community_id AS parent FROM grids WHERE fid = $1";
/// A community's row as the history records it.
pub(crate) const READ_COMMUNITY: &str =
    "SELECT geom, code, name, street_office_id AS parent FROM communities WHERE fid = $1";
/// A street office's row as the history records it.
pub(crate) const READ_STREET_OFFICE: &str =
    "SELECT geom, code, name, NULL AS parent FROM street_offices WHERE fid = $1";

/// A history row: $1 new boundary, $2 layer, $3 feature, $4 action, $5 actor, $6 time, $7 old
/// boundary, $8/$9 old/new code, $10/$11 old/new name, $12/$13 old/new parent, $14 note,
/// $15..$18 the new boundary's bounding box.
pub(crate) const INSERT_HISTORY: &str = "INSERT INTO boundary_history (geom, layer, feature_id, action, actor, at, old_geom, old_code, \
     new_code, old_name, new_name, old_parent_id, new_parent_id, note, min_x, min_y, max_x, max_y) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)";
/// Grows the history layer's `gpkg_contents` extent over a new row's box ($1..$4).
pub(crate) const GROW_HISTORY_EXTENT: Option<&str> = Some(
    "UPDATE gpkg_contents SET \
     min_x = MIN(COALESCE(min_x, $1), $1), min_y = MIN(COALESCE(min_y, $2), $2), \
     max_x = MAX(COALESCE(max_x, $3), $3), max_y = MAX(COALESCE(max_y, $4), $4), \
     last_change = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE table_name = 'boundary_history'",
);
/// Every change to one feature ($1 layer, $2 feature), oldest first.
pub(crate) const HISTORY: &str =
    "SELECT * FROM boundary_history WHERE layer = $1 AND feature_id = $2 ORDER BY fid";
/// Each feature's latest change of layer $1 at or before $2.
pub(crate) const AS_OF: &str = "SELECT h.* FROM boundary_history h \
     JOIN (SELECT feature_id, MAX(fid) AS last FROM boundary_history \
           WHERE layer = $1 AND at <= $2 GROUP BY feature_id) l ON h.fid = l.last \
     ORDER BY h.feature_id";

/// Every grid's boundary, for the membership rule.
pub(crate) const GRID_SHAPES: &str = "SELECT fid, geom FROM grids ORDER BY fid";
/// Buildings whose representative point lies in the box $1..$4 (min lon, min lat, max lon,
/// max lat).
pub(crate) const BUILDINGS_IN_BOX: &str = "SELECT fid, point_lon, point_lat, grid_id FROM buildings \
     WHERE point_lon BETWEEN $1 AND $3 AND point_lat BETWEEN $2 AND $4";
/// A community's grids with their versions ($1 community).
pub(crate) const COMMUNITY_GRIDS: &str =
    "SELECT fid, version FROM grids WHERE community_id = $1 ORDER BY fid";

/// A new grid at version 1: $1 boundary, $2 code, $3 name, $4 community, $5/$6 chief's name
/// and phone, $7 workers, $8 demo, $9..$12 box; returns its fid.
pub(crate) const INSERT_GRID: &str = "INSERT INTO grids (geom, code, name, community_id, chief_name, chief_phone, workers, demo, \
     version, min_x, min_y, max_x, max_y) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10, $11, $12) RETURNING fid";
/// Grid $9 rewritten (version + 1), only at version $10 when that is not NULL: $1..$8 as for
/// an insert, $11..$14 box.
pub(crate) const UPDATE_GRID: &str = "UPDATE grids SET geom = $1, code = $2, name = $3, community_id = $4, chief_name = $5, \
     chief_phone = $6, workers = $7, demo = $8, version = version + 1, min_x = $11, min_y = $12, max_x = $13, \
     max_y = $14 WHERE fid = $9 AND ($10 IS NULL OR version = $10)";
/// A new street office: $1 boundary, $2 code, $3 name, $5 demo, $7..$10 box; returns its fid.
pub(crate) const INSERT_STREET_OFFICE: &str = "INSERT INTO street_offices (geom, code, name, demo, min_x, min_y, max_x, max_y) VALUES ($1, $2, $3, $5, $7, $8, $9, $10) RETURNING fid";
/// Street office $6 rewritten: $1..$5 as for an insert, $7..$10 box.
pub(crate) const UPDATE_STREET_OFFICE: &str = "UPDATE street_offices SET geom = $1, code = $2, name = $3, demo = $5, min_x = $7, min_y = $8, max_x = $9, max_y = $10 WHERE fid = $6";
/// A new community: $1 boundary, $2 code, $3 name, $4 street office, $5 demo, $7..$10 box; returns its fid.
pub(crate) const INSERT_COMMUNITY: &str = "INSERT INTO communities (geom, code, name, street_office_id, demo, min_x, min_y, max_x, max_y) VALUES ($1, $2, $3, $4, $5, $7, $8, $9, $10) RETURNING fid";
/// Community $6 rewritten: $1..$5 as for an insert, $7..$10 box.
pub(crate) const UPDATE_COMMUNITY: &str = "UPDATE communities SET geom = $1, code = $2, name = $3, street_office_id = $4, demo = $5, min_x = $7, min_y = $8, max_x = $9, max_y = $10 WHERE fid = $6";
/// The chiefs of the buildings whose ids are the JSON array $1.
pub(crate) const CHIEFS_OF: &str = "SELECT building_id, name, phone FROM building_chiefs \
     WHERE building_id IN (SELECT value FROM json_each($1)) ORDER BY building_id";

/// The time-zone setting, with the fid of its row.
pub(crate) const SELECT_TIMEZONE: &str = "SELECT fid, value FROM settings WHERE key = 'timezone'";

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

// ---------------------------------------------------------------- loading

/// Every row of `street_offices`, in fid order.
pub(crate) const SELECT_STREET_OFFICES: &str =
    "SELECT fid, geom, code, name, demo FROM street_offices ORDER BY fid";
/// Every row of `communities`, in fid order.
pub(crate) const SELECT_COMMUNITIES: &str =
    "SELECT fid, geom, code, name, street_office_id, demo FROM communities ORDER BY fid";
/// Every row of `grids`, in fid order.
pub(crate) const SELECT_GRIDS: &str = "SELECT fid, geom, code, name, community_id, chief_name, chief_phone, workers, demo, version \
         FROM grids ORDER BY fid";
/// Every row of `buildings`, in fid order.
pub(crate) const SELECT_BUILDINGS: &str = "SELECT fid, geom, osm, name, building, levels, households, residents, household_source, \
         point_lon, point_lat, entrance_lon, entrance_lat FROM buildings ORDER BY fid";
/// Every row of `facilities`, in fid order.
pub(crate) const SELECT_FACILITIES: &str = "SELECT fid, geom, osm, kind, name, owner, audience, opening_hours, capacity, free, shared, demo \
         FROM facilities ORDER BY fid";
/// Every row of `ways`, in fid order.
pub(crate) const SELECT_WAYS: &str =
    "SELECT fid, geom, highway, name, foot, access, area, node_ids FROM ways ORDER BY fid";
/// Every row of `land_areas`, in fid order.
pub(crate) const SELECT_LAND_AREAS: &str =
    "SELECT fid, geom, osm, class, name FROM land_areas ORDER BY fid";
