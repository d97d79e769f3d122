#!/usr/bin/env bash
# The side-by-side benchmarks in one command (docs/PERFORMANCE.md):
#
#   bench/compare/run.sh [--osm FILE] [--tile N] [--runs R] [--warmup W] [--runs-w5 R]
#                        [--workloads W1,W2,W5] [--bin PATH] [--profile release|dev]
#                        [--results FILE] [--work DIR]
#
# Sets up the peers (setup.sh), builds the gridcircle side (examples/bench_compare.rs),
# prepares identical inputs from one extraction (tiling the extract N×N when N > 1), then runs
# every workload on every contender alternately and prints medians, ratios and any difference
# between their answers (exit status 1 when they disagree).
set -euo pipefail
cd "$(dirname "$0")/../.."
osm=../shared/data/porto.osm.pbf tile=1 runs=5 warmup=1 runs_w5="" workloads=W1,W2,W5
bin="" profile=release results="" work=""
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
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
py=$(bash bench/compare/setup.sh | tail -n 1)
if [ -z "$bin" ]; then
  cargo build --quiet --locked --profile "$profile" --example bench_compare
  dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
  bin=target/$dir/examples/bench_compare
fi
name=$(basename "$osm"); name=${name%%.*}
[ -n "$work" ] || work=target/compare/$name-${tile}x${tile}
mkdir -p "$work"
echo "[run] machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GB", $2/1048576}' /proc/meminfo), $(uname -sr)" >&2
"$bin" prepare --osm "$osm" --tile "$tile" --work "$work"
extra=()
[ -n "$runs_w5" ] && extra+=(--runs-w5 "$runs_w5")
[ -n "$results" ] && extra+=(--results "$results")
exec "$py" bench/compare/compare.py --work "$work" --worker "$bin" --workloads "$workloads" \
  --runs "$runs" --warmup "$warmup" "${extra[@]}"
