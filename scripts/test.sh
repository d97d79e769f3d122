#!/usr/bin/env bash
# Runs every test of gridcircle. Installs what the tests need when it is missing:
#   gdal-bin (ogrinfo reads our GeoPackage and PostGIS tables), osmium-tool (independent OSM
#   counts), PostGIS for the PostgreSQL 15 at 127.0.0.1:5432 (trust auth, user postgres: the
#   PostgreSQL backend's tests and the replica tests), node/npm packages of web/ (to check the
#   committed web build is current).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v ogrinfo >/dev/null || need+=(gdal-bin)
command -v osmium >/dev/null || need+=(osmium-tool)
command -v psql >/dev/null || need+=(postgresql-client-15)
dpkg -s postgresql-15-postgis-3 >/dev/null 2>&1 || need+=(postgresql-15-postgis-3)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ ! -f ../shared/data/nanjing-xinjiekou.osm.pbf ]; then
  echo "../shared/data is missing: the tests run on the real OSM extracts kept beside the repo" >&2
  exit 1
fi

# The web map's committed build output must match its sources.
if command -v npm >/dev/null; then
  (cd web && bash build-check.sh)
else
  echo "npm not found: skipping the web build check" >&2
fi

# The side-by-side benchmark harness runs once on Nanjing inside `cargo test`
# (tools/tests/compare_smoke.rs). Install its peers first: PostgreSQL 15 + PostGIS + pgRouting,
# osm2pgsql, wrk, and a Python venv in target/compare/venv (GeoPandas, shapely, pandana).
bash bench/compare/setup.sh >/dev/null

export GRIDCIRCLE_TEST_PG="${GRIDCIRCLE_TEST_PG:-postgres://postgres@127.0.0.1:5432}"
# Where setup.sh gave a fresh cluster's role a password, libpq and sqlx read it from here.
if [ -f target/compare/pgpass ]; then export PGPASSFILE="${PGPASSFILE:-$PWD/target/compare/pgpass}"; fi
if ! psql "$GRIDCIRCLE_TEST_PG/postgres" -XAtqc "SELECT 1" >/dev/null; then
  echo "PostgreSQL is not reachable at $GRIDCIRCLE_TEST_PG (trust auth, user postgres)" >&2
  exit 1
fi

# Lints first (fails fast): the whole workspace, every target, warnings as errors.
cargo clippy --locked --all-features --all-targets --workspace -- -D warnings

# The whole workspace: the service and its development tools (tools/: the scale generator, the
# demo-layer drawer and the benchmark worker, with their tests).
cargo test --locked --all-features --workspace -- --test-threads="${TEST_THREADS:-2}"
# The HTTP test binaries again on the PostgreSQL backend: the same tests, each server on a
# database of its own (created with PostGIS, dropped when the test binary ends).
GRIDCIRCLE_TEST_BACKEND=postgres cargo test --locked --all-features \
  --test http_api --test auth_http --test grids_http --test walking_http --test bad_requests --test versions_http \
  --test crash_durability --test coverage_http \
  -- --test-threads="${TEST_THREADS:-2}"
# Benchmarks (all in the service package) must keep compiling (they are run by hand: see
# docs/PERFORMANCE.md).
cargo bench --locked --no-run --quiet 2>/dev/null || cargo bench --locked --no-run
