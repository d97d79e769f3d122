#!/usr/bin/env bash
# W6: HTTP load on `gridcircle serve` with wrk, on loopback, bounded in time.
#
#   bench/compare/w6.sh --work DIR [--server PATH] [--duration SECS] [--connections N]
#
# Serves DIR/city.gpkg (made by `gridcircle-tools bench-compare prepare`), then for each
# endpoint runs wrk (2 threads, N connections, SECS seconds) and prints requests/s and latency
# percentiles: /nearest with random points over the data's extent and the benchmark kinds of
# DIR/meta.json (k=3); /coverage with a random one of the five service circles (the server
# caches a circle's report per opening state, so this measures serving it), whole and as its
# first page (`limit=100`: summary, per-grid breakdown, 100 uncovered buildings). wrk and the
# server share the machine's cores. The server is stopped by its process id at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
work="" server="" duration=10 connections=64
while [ $# -gt 0 ]; do
  case "$1" in
    --work) work=$2; shift 2 ;;
    --server) server=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$work" ] || { echo "--work DIR is required" >&2; exit 2; }
if [ -z "$server" ]; then
  cargo build --quiet --locked --release --bin gridcircle
  server=target/release/gridcircle
fi
command -v wrk >/dev/null || { echo "wrk is missing: run bench/compare/setup.sh" >&2; exit 1; }
[ "$duration" -le 120 ] || { echo "--duration is at most 120 s" >&2; exit 2; }
port=$(( 20000 + RANDOM % 20000 ))
read -r minlon minlat maxlon maxlat kinds < <(python3 -c "
import json,sys; m=json.load(open('$work/meta.json')); b=m['bbox']
print(b[0], b[1], b[2], b[3], ','.join(m['kinds']))")
log=$(mktemp)
# One client address (wrk): the per-IP and per-token rate limits are off for the load.
GRIDCIRCLE_RATE_ANONYMOUS=0 GRIDCIRCLE_RATE_AUTHENTICATED=0 \
  "$server" serve --db "$work/city.gpkg" --addr "127.0.0.1:$port" >"$log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -f "$log"' EXIT
# Start-up loads the whole store (about 2 minutes at 10x10 on a busy machine): wait up to 15.
for _ in $(seq 1 4500); do
  curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.2
done
curl -fs "http://127.0.0.1:$port/health" >/dev/null || { echo "server did not start" >&2; cat "$log" >&2; exit 1; }
script=bench/compare/w6.lua
endpoints="nearest"
# /coverage (the service circles' report) exists once the coverage module is in the server.
# Its answers are whole-city reports (megabytes at 10x10), so it is loaded with few connections.
if [ "$connections" -le 16 ] && curl -fs "http://127.0.0.1:$port/coverage?circle=daily_life" -o /dev/null; then
  endpoints="nearest coverage coverage_page"
fi
for endpoint in $endpoints; do
  # A 2-second warm-up, not counted: the first requests after start-up touch the indexes for
  # the first time (page faults on a store of a million buildings), which is not the steady
  # state a running service is in.
  W6_ENDPOINT=$endpoint W6_BBOX="$minlon,$minlat,$maxlon,$maxlat" W6_KINDS="$kinds" \
    wrk -t 2 -c "$connections" -d 2s --timeout 10s -s "$script" "http://127.0.0.1:$port" >/dev/null 2>&1 || true
  out=$(W6_ENDPOINT=$endpoint W6_BBOX="$minlon,$minlat,$maxlon,$maxlat" W6_KINDS="$kinds" \
        wrk -t 2 -c "$connections" -d "${duration}s" --timeout 10s --latency -s "$script" "http://127.0.0.1:$port" 2>&1)
  echo "$out" | sed "s/^/[wrk] /" >&2
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p90=$(echo "$out" | awk '$1=="90%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  bad=$(echo "$out" | awk '/Non-2xx/ {print $5}')
  echo "W6 /$endpoint: ${rps} req/s, latency p50 ${p50}, p90 ${p90}, p99 ${p99}, non-2xx ${bad:-0} (wrk 2 threads, $connections connections, ${duration} s)"
done
