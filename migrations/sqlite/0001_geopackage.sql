-- gridcircle store: an OGC GeoPackage 1.3 file that QGIS and GDAL open directly.
--
-- Layout:
--   * the three GeoPackage core tables (gpkg_spatial_ref_sys, gpkg_contents,
--     gpkg_geometry_columns) with the three required spatial reference systems;
--   * six feature tables, all in WGS 84 (srs_id 4326), geometry stored as GeoPackageBinary;
--   * one attributes table, settings.
-- No gpkg_rtree_index extension: its triggers call ST_* SQL functions that plain SQLite
-- lacks, and the service keeps its own R-trees in memory.
--
-- Column types are the GeoPackage ones (BOOLEAN, INTEGER, REAL, TEXT, BLOB, and the geometry
-- type names) so that validate_gpkg.py accepts them.
--
-- Each feature table keeps its row's bounding box (min_x, min_y, max_x, max_y; lon/lat for
-- points) so that the service can keep gpkg_contents' extents current with one MIN/MAX
-- aggregate. They are nullable: a row drawn in QGIS simply does not count towards extents.

PRAGMA application_id = 1196444487; -- 'GPKG'
PRAGMA user_version = 10300;        -- GeoPackage 1.3.0

-- GeoPackage core (IF NOT EXISTS: an existing, empty GeoPackage may be adopted).

CREATE TABLE IF NOT EXISTS gpkg_spatial_ref_sys (
    srs_name TEXT NOT NULL,
    srs_id INTEGER NOT NULL PRIMARY KEY,
    organization TEXT NOT NULL,
    organization_coordsys_id INTEGER NOT NULL,
    definition TEXT NOT NULL,
    description TEXT
);

INSERT OR IGNORE INTO gpkg_spatial_ref_sys
    (srs_name, srs_id, organization, organization_coordsys_id, definition, description)
VALUES
    ('Undefined Cartesian SRS', -1, 'NONE', -1, 'undefined',
     'undefined Cartesian coordinate reference system'),
    ('Undefined geographic SRS', 0, 'NONE', 0, 'undefined',
     'undefined geographic coordinate reference system'),
    ('WGS 84 geodetic', 4326, 'EPSG', 4326,
     'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563,AUTHORITY["EPSG","7030"]],AUTHORITY["EPSG","6326"]],PRIMEM["Greenwich",0,AUTHORITY["EPSG","8901"]],UNIT["degree",0.0174532925199433,AUTHORITY["EPSG","9122"]],AXIS["Latitude",NORTH],AXIS["Longitude",EAST],AUTHORITY["EPSG","4326"]]',
     'longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid');

CREATE TABLE IF NOT EXISTS gpkg_contents (
    table_name TEXT NOT NULL PRIMARY KEY,
    data_type TEXT NOT NULL,
    identifier TEXT UNIQUE,
    description TEXT DEFAULT '',
    last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    min_x DOUBLE,
    min_y DOUBLE,
    max_x DOUBLE,
    max_y DOUBLE,
    srs_id INTEGER,
    CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id)
);

CREATE TABLE IF NOT EXISTS gpkg_geometry_columns (
    table_name TEXT NOT NULL,
    column_name TEXT NOT NULL,
    geometry_type_name TEXT NOT NULL,
    srs_id INTEGER NOT NULL,
    z TINYINT NOT NULL,
    m TINYINT NOT NULL,
    CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
    CONSTRAINT uk_gc_table_name UNIQUE (table_name),
    CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
    CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id)
);

-- Administrative areas (demo layers unless an official source is imported).

CREATE TABLE street_offices (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    geom MULTIPOLYGON NOT NULL,
    code TEXT NOT NULL UNIQUE CHECK (length(code) = 9 AND code NOT GLOB '*[^0-9]*'),
    name TEXT NOT NULL,
    demo BOOLEAN NOT NULL DEFAULT 0 CHECK (demo IN (0, 1)),
    min_x REAL,
    min_y REAL,
    max_x REAL,
    max_y REAL
);

CREATE TABLE communities (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    geom MULTIPOLYGON NOT NULL,
    code TEXT NOT NULL UNIQUE CHECK (length(code) = 12 AND code NOT GLOB '*[^0-9]*'),
    name TEXT NOT NULL,
    street_office_id INTEGER NOT NULL REFERENCES street_offices (fid),
    demo BOOLEAN NOT NULL DEFAULT 0 CHECK (demo IN (0, 1)),
    min_x REAL,
    min_y REAL,
    max_x REAL,
    max_y REAL
);
CREATE INDEX communities_street_office_id ON communities (street_office_id);

-- workers: JSON array of {"name": "...", "phone": "..." | null}.
CREATE TABLE grids (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    geom MULTIPOLYGON NOT NULL,
    code TEXT NOT NULL UNIQUE CHECK (length(code) = 15 AND code NOT GLOB '*[^0-9]*'),
    name TEXT NOT NULL,
    community_id INTEGER NOT NULL REFERENCES communities (fid),
    chief_name TEXT,
    chief_phone TEXT,
    workers TEXT NOT NULL DEFAULT '[]',
    demo BOOLEAN NOT NULL DEFAULT 0 CHECK (demo IN (0, 1)),
    version INTEGER NOT NULL DEFAULT 1,
    min_x REAL,
    min_y REAL,
    max_x REAL,
    max_y REAL,
    CHECK (chief_phone IS NULL OR chief_name IS NOT NULL)
);
CREATE INDEX grids_community_id ON grids (community_id);

-- OSM layers. osm is the OSM reference ('way/123', 'relation/9'); rows are upserted by it.

CREATE TABLE buildings (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    geom MULTIPOLYGON NOT NULL,
    osm TEXT NOT NULL UNIQUE,
    name TEXT,
    building TEXT NOT NULL,
    levels INTEGER CHECK (levels BETWEEN 0 AND 65535),
    households INTEGER NOT NULL CHECK (households >= 0),
    residents INTEGER NOT NULL CHECK (residents >= 0),
    household_source TEXT NOT NULL CHECK (household_source IN ('estimated', 'counted', 'none')),
    point_lon REAL NOT NULL,
    point_lat REAL NOT NULL,
    entrance_lon REAL,
    entrance_lat REAL,
    min_x REAL,
    min_y REAL,
    max_x REAL,
    max_y REAL,
    CHECK ((entrance_lon IS NULL) = (entrance_lat IS NULL))
);

-- osm is NULL for facilities created by users; those survive OSM re-imports.
CREATE TABLE facilities (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    geom POINT NOT NULL,
    osm TEXT UNIQUE,
    kind TEXT NOT NULL,
    name TEXT,
    owner TEXT,
    audience TEXT NOT NULL DEFAULT 'everyone',
    opening_hours TEXT,
    capacity INTEGER,
    free INTEGER,
    shared BOOLEAN NOT NULL DEFAULT 0 CHECK (shared IN (0, 1)),
    demo BOOLEAN NOT NULL DEFAULT 0 CHECK (demo IN (0, 1)),
    lon REAL,
    lat REAL
);

-- fid is the OSM way id. node_ids: one little-endian int64 per vertex of geom.
CREATE TABLE ways (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    geom LINESTRING NOT NULL,
    highway TEXT NOT NULL,
    name TEXT,
    foot TEXT,
    access TEXT,
    area BOOLEAN NOT NULL DEFAULT 0 CHECK (area IN (0, 1)),
    node_ids BLOB NOT NULL CHECK (length(node_ids) % 8 = 0),
    min_x REAL,
    min_y REAL,
    max_x REAL,
    max_y REAL
);

-- Service settings (key 'timezone': the city's IANA zone). An attributes table, so it needs
-- an INTEGER primary key; key is the real key.
CREATE TABLE settings (
    fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    key TEXT NOT NULL UNIQUE,
    value TEXT NOT NULL
);

INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id) VALUES
    ('street_offices', 'features', 'street_offices', 'Street offices (街道) and their jurisdictions', 4326),
    ('communities', 'features', 'communities', 'Communities (社区) inside street offices', 4326),
    ('grids', 'features', 'grids', 'Grids (网格) with their chiefs and workers', 4326),
    ('buildings', 'features', 'buildings', 'Buildings from OpenStreetMap with households', 4326),
    ('facilities', 'features', 'facilities', 'Facilities: public and shared places', 4326),
    ('ways', 'features', 'ways', 'Streets and paths from OpenStreetMap', 4326),
    ('settings', 'attributes', 'settings', 'Service settings', NULL);

INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, z, m) VALUES
    ('street_offices', 'geom', 'MULTIPOLYGON', 4326, 0, 0),
    ('communities', 'geom', 'MULTIPOLYGON', 4326, 0, 0),
    ('grids', 'geom', 'MULTIPOLYGON', 4326, 0, 0),
    ('buildings', 'geom', 'MULTIPOLYGON', 4326, 0, 0),
    ('facilities', 'geom', 'POINT', 4326, 0, 0),
    ('ways', 'geom', 'LINESTRING', 4326, 0, 0);
