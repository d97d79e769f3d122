-- Water and green areas from OpenStreetMap: the web map's base layer under buildings and
-- streets (natural=water, leisure=park, landuse=grass, …; see gridcircle::model::LandClass).
-- Replaced as a whole by every OSM import.

CREATE TABLE land_areas (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    geom MULTIPOLYGON NOT NULL,
    osm TEXT NOT NULL UNIQUE,
    class TEXT NOT NULL CHECK (class IN ('water', 'park')),
    name TEXT,
    min_x REAL,
    min_y REAL,
    max_x REAL,
    max_y REAL
);

INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES
    ('land_areas', 'features', 'land_areas', 'Water and green areas from OpenStreetMap (base map)', 4326);

INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, z, m) VALUES
    ('land_areas', 'geom', 'MULTIPOLYGON', 4326, 0, 0);
