#!/usr/bin/env bash
# Sets up the peers of the side-by-side benchmarks on this machine (idempotent, quick when done):
#   - Debian: PostgreSQL 15 + PostGIS 3 + pgRouting, osm2pgsql, wrk;
#   - a Python virtualenv (target/compare/venv) with GeoPandas, shapely, pyproj, psycopg, and
#     pandana if it installs, else networkx;
#   - a database `gridcircle_bench` (PGHOST/PGPORT/PGUSER, default 127.0.0.1:5432 postgres)
#     with the postgis and pgrouting extensions.
# Prints the venv's python path on its last line.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
db=${GRIDCIRCLE_BENCH_DB:-gridcircle_bench}
log() { echo "[setup] $*" >&2; }

need=()
dpkg -s postgresql-15-postgis-3 >/dev/null 2>&1 || need+=(postgresql-15-postgis-3)
dpkg -s postgresql-15-pgrouting >/dev/null 2>&1 || need+=(postgresql-15-pgrouting)
command -v osm2pgsql >/dev/null || need+=(osm2pgsql)
command -v wrk >/dev/null || need+=(wrk)
command -v psql >/dev/null || need+=(postgresql-client-15)
if [ ${#need[@]} -gt 0 ]; then
  log "apt-get install ${need[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

# PostgreSQL must answer on $PGHOST:$PGPORT; start the Debian cluster if it does not.
if ! pg_isready -q -t 3; then
  log "starting PostgreSQL 15 (pg_ctlcluster 15 main start)"
  pg_ctlcluster 15 main start >&2 || true
  for _ in $(seq 1 30); do pg_isready -q -t 1 && break; sleep 1; done
fi
pg_isready -q -t 3 || { echo "PostgreSQL does not answer on $PGHOST:$PGPORT as $PGUSER" >&2; exit 1; }
# A fresh Debian cluster asks for a password over TCP: as root, give the postgres role one and
# keep it in target/compare/pgpass (run.sh and compare.py read it through PGPASSFILE).
export PGPASSFILE=${PGPASSFILE:-$root/target/compare/pgpass}
if ! psql -d postgres -tAc "select 1" >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && id postgres >/dev/null 2>&1; then
  log "setting a password for role $PGUSER (kept in $PGPASSFILE)"
  mkdir -p "$(dirname "$PGPASSFILE")"
  pass=gridcircle-bench-$RANDOM$RANDOM
  runuser -u postgres -- psql -q -c "alter role $PGUSER password '$pass'" >&2
  echo "$PGHOST:$PGPORT:*:$PGUSER:$pass" > "$PGPASSFILE"
  chmod 600 "$PGPASSFILE"
fi
psql -d postgres -tAc "select 1" >/dev/null || { echo "cannot connect to PostgreSQL as $PGUSER" >&2; exit 1; }
if ! psql -d postgres -tAc "select 1 from pg_database where datname='$db'" | grep -q 1; then
  log "createdb $db"
  createdb "$db"
fi
psql -q -d "$db" -c "set client_min_messages = warning; create extension if not exists postgis; create extension if not exists pgrouting; create extension if not exists hstore; create extension if not exists btree_gist;" >&2

venv=${GRIDCIRCLE_BENCH_VENV:-$root/target/compare/venv}
if [ ! -x "$venv/bin/python" ]; then
  log "python venv at $venv"
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
fi
py="$venv/bin/python"
if ! "$py" -c "import geopandas, shapely, pyproj, psycopg, networkx, numpy, pandas" 2>/dev/null; then
  log "pip install geopandas shapely pyproj psycopg networkx"
  "$py" -m pip install -q --upgrade pip >&2
  "$py" -m pip install -q "geopandas>=0.14" "shapely>=2" pyproj pandas numpy "psycopg[binary]>=3.1" networkx scipy >&2
fi
if ! "$py" -c "import pandana" 2>/dev/null && [ ! -f "$venv/.pandana-failed" ]; then
  log "pip install pandana (networkx is the fallback if it does not install)"
  "$py" -m pip install -q pandana >&2 || { touch "$venv/.pandana-failed"; log "pandana did not install: using networkx"; }
fi
echo "$py"
