#!/usr/bin/env bash
# The side-by-side benchmarks in one command (docs/PERFORMANCE.md):
#
#   bench/compare/run.sh [--osm FILE] [--tile N] [--runs R] [--warmup W] [--runs-w5 R]
#                        [--workloads W1,W2,W3,W4,W5,W6] [--bin PATH] [--server PATH]
#                        [--profile release|dev] [--results FILE] [--work DIR] [--w6-duration S]
#
# Sets up the peers (setup.sh), builds the gridcircle side (`gridcircle-tools bench-compare`,
# tools/src/bench_compare.rs; or --bin, a gridcircle-tools binary) and the server (or --server,
# a gridcircle binary), prepares identical inputs from one extraction (tiling the extract N×N
# when N > 1), then runs every workload on every contender alternately and prints medians,
# ratios and any difference between their answers (exit status 1 when they disagree).
set -euo pipefail
cd "$(dirname "$0")/../.."
osm=../shared/data/porto.osm.pbf tile=1 runs=5 warmup=1 runs_w5="" workloads=W1,W2,W3,W4,W5,W6
bin="" server="" profile=release results="" work="" w6_duration=10
while [ $# -gt 0 ]; do
  case "$1" in
    --osm) osm=$2; shift 2 ;;
    --tile) tile=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --runs-w5) runs_w5=$2; shift 2 ;;
    --workloads) workloads=$2; shift 2 ;;
    --bin) bin=$2; shift 2 ;;
    --profile) profile=$2; shift 2 ;;
    --results) results=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --server) server=$2; shift 2 ;;
    --w6-duration) w6_duration=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
export PGPASSFILE=${PGPASSFILE:-$(pwd)/target/compare/pgpass}
py=$(bash bench/compare/setup.sh | tail -n 1)
if [ -z "$bin" ]; then
  cargo build --quiet --locked --profile "$profile" -p gridcircle-tools -p gridcircle \
    --bin gridcircle-tools --bin gridcircle
  dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
  bin=target/$dir/gridcircle-tools
  [ -n "$server" ] || server=target/$dir/gridcircle
fi
name=$(basename "$osm"); name=${name%%.*}
[ -n "$work" ] || work=target/compare/$name-${tile}x${tile}
mkdir -p "$work"
echo "[run] machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo), $(uname -sr)" >&2
"$bin" bench-compare prepare --osm "$osm" --tile "$tile" --work "$work"
extra=()
[ -n "$runs_w5" ] && extra+=(--runs-w5 "$runs_w5")
[ -n "$results" ] && extra+=(--results "$results")
status=0
in_process=$(echo "$workloads" | tr ',' '\n' | grep -v '^W6$' | paste -sd, -)
if [ -n "$in_process" ]; then
  "$py" bench/compare/compare.py --work "$work" --worker "$bin" --workloads "$in_process" \
    --runs "$runs" --warmup "$warmup" "${extra[@]}" || status=$?
fi
if echo "$workloads" | tr ',' '\n' | grep -qx W6; then
  [ -n "$server" ] || { cargo build --quiet --locked --release --bin gridcircle; server=target/release/gridcircle; }
  for c in 64 8; do
    bash bench/compare/w6.sh --work "$work" --server "$server" --duration "$w6_duration" --connections "$c" || status=$?
  done
fi
exit $status
