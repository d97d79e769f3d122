-- Roles and jurisdictions (issue 8): bearer tokens and the audit log.
--
-- auth_tokens: one row per issued token. The token itself is never stored: token_hash is the
-- SHA-256 (hex) of the whole token string, which carries 256 random bits, so a copy of this
-- file does not let anyone act as its holders. role is one of the five roles; scope is the
-- street office id (street_office), the community id (community) or the owner name
-- (organisation), NULL for admin and planner. revoked_at set means refused from then on.
-- Not a GeoPackage layer (no gpkg_contents row): desktop GIS has no business with it.
CREATE TABLE auth_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64),
    role TEXT NOT NULL CHECK (role IN ('admin', 'street_office', 'community', 'organisation', 'planner')),
    scope TEXT,
    label TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    CHECK ((role IN ('admin', 'planner')) = (scope IS NULL))
);

-- Every write accepted over HTTP (and token issue/revoke from the command line): who (token,
-- role, the X-Actor name), what (action, layer, feature id), when, and the feature before and
-- after as JSON (NULL before a create, after a delete). Append-only; read by admins at
-- GET /audit.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    at TEXT NOT NULL,
    token_id INTEGER REFERENCES auth_tokens (id),
    role TEXT,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    layer TEXT NOT NULL,
    feature_id TEXT,
    before TEXT,
    after TEXT
);
CREATE INDEX audit_log_feature ON audit_log (layer, feature_id, id);
