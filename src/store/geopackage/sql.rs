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
/// A new street office: $1 boundary, $2 code, $3 name, $4 demo, $5..$8 box; returns its fid.
pub(crate) const INSERT_STREET_OFFICE: &str = "INSERT INTO street_offices (geom, code, name, demo, min_x, min_y, max_x, max_y) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING fid";
/// Street office $5 rewritten: $1..$4 as for an insert, $6..$9 box.
pub(crate) const UPDATE_STREET_OFFICE: &str = "UPDATE street_offices SET geom = $1, code = $2, name = $3, demo = $4, \
     min_x = $6, min_y = $7, max_x = $8, max_y = $9 WHERE fid = $5";
/// A new community: $1 boundary, $2 code, $3 name, $4 street office, $5 demo, $6..$9 box;
/// returns its fid.
pub(crate) const INSERT_COMMUNITY: &str = "INSERT INTO communities (geom, code, name, street_office_id, demo, min_x, min_y, max_x, max_y) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING fid";
/// Community $6 rewritten: $1..$5 as for an insert, $7..$10 box.
pub(crate) const UPDATE_COMMUNITY: &str = "UPDATE communities SET geom = $1, code = $2, name = $3, street_office_id = $4, demo = $5, \
     min_x = $7, min_y = $8, max_x = $9, max_y = $10 WHERE fid = $6";
/// The chiefs of the buildings whose ids are the JSON array $1.
pub(crate) const CHIEFS_OF: &str = "SELECT building_id, name, phone FROM building_chiefs \
     WHERE building_id IN (SELECT value FROM json_each($1)) ORDER BY building_id";

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
