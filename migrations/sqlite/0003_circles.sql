-- Service circles.
--   * circles: the circle definitions (十分钟服务圈) planners edit; definition is JSON
--     {id, name, name_en, kinds, minutes, speed_kmh, mode}. Seeded from data/circles.toml by
--     the service when empty.
--   * facility_circles: each facility's circle for each definition it serves, as a polygon
--     layer that QGIS shows. Derived data: source_hash names what it was computed from
--     (facility position and kind, definition, walking network), so stale rows are recomputed.

CREATE TABLE circles (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    circle_id TEXT NOT NULL UNIQUE,
    definition TEXT NOT NULL
);

CREATE TABLE facility_circles (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    geom MULTIPOLYGON NOT NULL,
    facility_id INTEGER NOT NULL REFERENCES facilities (fid) ON DELETE CASCADE,
    circle_id TEXT NOT NULL,
    minutes REAL NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('walk', 'radius')),
    source_hash TEXT NOT NULL,
    min_x REAL,
    min_y REAL,
    max_x REAL,
    max_y REAL,
    UNIQUE (facility_id, circle_id)
);
CREATE INDEX facility_circles_facility ON facility_circles (facility_id);

INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES
    ('circles', 'attributes', 'circles', 'Service circle definitions (十分钟服务圈)', NULL),
    ('facility_circles', 'features', 'facility_circles', 'Each facility''s service circle (walking reach) per circle definition', 4326);

INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, z, m) VALUES
    ('facility_circles', 'geom', 'MULTIPOLYGON', 4326, 0, 0);
