#!/usr/bin/env bash
# Load check (issue 8): wrk with 95% reads and 5% writes against the demo, on loopback only,
# bounded in time. Prints one RESULT line and a Markdown row for docs/PERFORMANCE.md, and fails
# on any 5xx or on an acknowledged write missing after a kill -9 and restart.
#
#   bench/load/run.sh [--duration 60] [--connections 32] [--threads 2] [--bin target/release/gridcircle]
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=60 connections=32 threads=2 bin=target/release/gridcircle
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ "$duration" -le 300 ] || { echo "--duration is at most 300 s" >&2; exit 2; }
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }
[ -x "$bin" ] || cargo build --release --bin gridcircle
work=$(mktemp -d)
port=$(( 20000 + RANDOM % 20000 ))
pid=
cleanup() { [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
start() {
  # One client address: the per-IP and per-token rate limits are turned off for the load.
  GRIDCIRCLE_RATE_ANONYMOUS=0 GRIDCIRCLE_RATE_AUTHENTICATED=0 RUST_LOG=warn \
    "$bin" "$@" --db "$work/demo.gpkg" --addr "127.0.0.1:$port" >"$work/out.log" 2>>"$work/err.log" &
  pid=$!
  for _ in $(seq 1 600); do
    curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$work/err.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "the server did not start" >&2; exit 1
}
start demo
token=$(grep -o 'gc_[0-9a-f]\{64\}' "$work/err.log" | head -1)
[ -n "$token" ] || { echo "no admin token printed by the demo" >&2; exit 1; }
TOKEN=$token ACKED_FILE="$work/acked.txt" \
  wrk -t"$threads" -c"$connections" -d"${duration}s" --timeout 10s --latency \
  -s bench/load/mixed.lua "http://127.0.0.1:$port" | tee "$work/wrk.txt"
result=$(grep '^RESULT ' "$work/wrk.txt")
# Crash right after the load, restart, and look for every acknowledged create.
kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=
start serve
python3 - "$work/acked.txt" "http://127.0.0.1:$port" <<'PY'
import json, sys, urllib.request
acked = {int(x) for x in open(sys.argv[1]).read().split(",") if x}
stored, url = set(), sys.argv[2] + "/collections/facilities/items?limit=10000"
while url:
    page = json.load(urllib.request.urlopen(url))
    stored |= {f["id"] for f in page["features"]}
    nxt = [l["href"] for l in page["links"] if l["rel"] == "next"]
    url = sys.argv[2] + nxt[0] if nxt else None
lost = sorted(acked - stored)
print(f"acknowledged creates: {len(acked)}, lost after kill -9 and restart: {len(lost)}")
sys.exit(1 if lost else 0)
PY
get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$result"; }
s5=$(get status_5xx)
echo
echo "| $(date -u +%F) | $(nproc) cores | ${threads}×${connections} | ${duration} s | $(get requests) | $(get rps) | $(get p50_ms) | $(get p99_ms) | $(get max_ms) | $(get status_5xx) | $(get writes_acked) | 0 |"
[ "$s5" = 0 ] || { echo "5xx answers: $s5" >&2; exit 1; }
