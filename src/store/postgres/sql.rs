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
/// A new street office: $1 boundary, $2 code, $3 name, $4 demo; returns its fid.
pub(crate) const INSERT_STREET_OFFICE: &str = "INSERT INTO street_offices (geom, code, name, demo) \
     VALUES (ST_GeomFromWKB($1, 4326), $2, $3, $4) RETURNING fid";
/// Street office $5 rewritten: $1..$4 as for an insert.
pub(crate) const UPDATE_STREET_OFFICE: &str = "UPDATE street_offices SET geom = ST_GeomFromWKB($1, 4326), code = $2, name = $3, demo = $4 \
     WHERE fid = $5";
/// A new community: $1 boundary, $2 code, $3 name, $4 street office, $5 demo; returns its fid.
pub(crate) const INSERT_COMMUNITY: &str = "INSERT INTO communities (geom, code, name, street_office_id, demo) \
     VALUES (ST_GeomFromWKB($1, 4326), $2, $3, $4, $5) RETURNING fid";
/// Community $6 rewritten: $1..$5 as for an insert.
pub(crate) const UPDATE_COMMUNITY: &str = "UPDATE communities SET geom = ST_GeomFromWKB($1, 4326), code = $2, name = $3, \
     street_office_id = $4, demo = $5 WHERE fid = $6";
/// The chiefs of the buildings whose ids are the JSON array $1.
pub(crate) const CHIEFS_OF: &str = "SELECT building_id, name, phone FROM building_chiefs \
     WHERE building_id IN (SELECT value::bigint FROM json_array_elements_text($1::json)) ORDER BY building_id";

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
