-- Grids as governance objects (issue #4): building membership, the history of every boundary
-- change, and building chiefs.

-- Membership: the grid that holds the building's representative point (the lowest grid fid when
-- the point lies on a shared edge); NULL when it lies in no grid. Derived data, recomputed for
-- the affected buildings in the same transaction as every grid write and OSM import, and
-- re-derived for the whole file when the service opens it (after this migration, or after a
-- desktop GIS edit).
ALTER TABLE buildings ADD COLUMN grid_id INTEGER REFERENCES grids (fid) ON DELETE SET NULL;
CREATE INDEX buildings_grid_id ON buildings (grid_id);

-- Every change to a grid, community or street office, written in the same transaction as the
-- change. A feature table, so desktop GIS can show the boundaries as they were:
--   geom        the boundary after the change (NULL when the change deleted the feature);
--   old_geom    the boundary before it, GeoPackageBinary (NULL when the change created it);
--   feature_id  the fid in `layer` (no foreign key: history outlives deleted features);
--   at          RFC 3339 UTC with milliseconds, never earlier than the row before it;
--   actor       who made it (the X-Actor header, "anonymous", "import", "system").
CREATE TABLE boundary_history (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    geom MULTIPOLYGON,
    layer TEXT NOT NULL CHECK (layer IN ('grids', 'communities', 'street_offices')),
    feature_id INTEGER NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('create', 'replace', 'delete', 'renumber', 'reassign')),
    actor TEXT NOT NULL,
    at TEXT NOT NULL,
    old_geom BLOB,
    old_code TEXT,
    new_code TEXT,
    old_name TEXT,
    new_name TEXT,
    old_parent_id INTEGER,
    new_parent_id INTEGER,
    note TEXT,
    min_x REAL,
    min_y REAL,
    max_x REAL,
    max_y REAL
);
CREATE INDEX boundary_history_feature ON boundary_history (layer, feature_id, fid);
CREATE INDEX boundary_history_at ON boundary_history (at);

INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES
    ('boundary_history', 'features', 'boundary_history', 'Every change to a grid, community or street office boundary', 4326);
INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, z, m) VALUES
    ('boundary_history', 'geom', 'MULTIPOLYGON', 4326, 0, 0);

-- What existed before history began is recorded as created now.
INSERT INTO boundary_history (geom, layer, feature_id, action, actor, at, new_code, new_name,
                              new_parent_id, note, min_x, min_y, max_x, max_y)
SELECT geom, 'street_offices', fid, 'create', 'migration', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
       code, name, NULL, 'existed when history began', min_x, min_y, max_x, max_y
FROM street_offices ORDER BY fid;
INSERT INTO boundary_history (geom, layer, feature_id, action, actor, at, new_code, new_name,
                              new_parent_id, note, min_x, min_y, max_x, max_y)
SELECT geom, 'communities', fid, 'create', 'migration', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
       code, name, street_office_id, 'existed when history began', min_x, min_y, max_x, max_y
FROM communities ORDER BY fid;
INSERT INTO boundary_history (geom, layer, feature_id, action, actor, at, new_code, new_name,
                              new_parent_id, note, min_x, min_y, max_x, max_y)
SELECT geom, 'grids', fid, 'create', 'migration', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
       code, name, community_id, 'existed when history began', min_x, min_y, max_x, max_y
FROM grids ORDER BY fid;
UPDATE gpkg_contents SET (min_x, min_y, max_x, max_y) =
    (SELECT MIN(min_x), MIN(min_y), MAX(max_x), MAX(max_y) FROM boundary_history)
WHERE table_name = 'boundary_history';

-- Building chiefs (楼栋长): one per building. Personal data: not a GeoPackage layer, and the
-- HTTP layer shows phones only to callers allowed to see personal data.
CREATE TABLE building_chiefs (
    building_id INTEGER PRIMARY KEY NOT NULL REFERENCES buildings (fid) ON DELETE CASCADE,
    name TEXT NOT NULL CHECK (length(trim(name)) > 0),
    phone TEXT
);
