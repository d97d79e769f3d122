#!/usr/bin/env python3
"""Prints the table of docs/PERFORMANCE.md from the JSON lines that compare.py --results wrote:
workload × size × contender, median, per answer, ratio to gridcircle (same run)."""
import json
import sys


def fmt_s(s):
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.0f} µs"


rows = [json.loads(line) for path in sys.argv[1:] for line in open(path) if line.strip()]
order = {"W1": 1, "W2": 2, "W3": 3, "W4": 4, "W5": 5}
rows.sort(key=lambda r: (order.get(r["workload"], 9), r["buildings"]))
print("| workload | size (buildings) | contender | median of runs | per answer | × gridcircle | runs |")
print("|---|---|---|---:|---:|---:|---:|")
for r in rows:
    if r["contender"] == "PostGIS" and r["workload"] == "W5":
        r["contender"] = "osm2pgsql + PostGIS"
    per = r["median_s"] / r["answers"]
    ratio = r["ratio_to_gridcircle"]
    print(f"| {r['workload']} | {r['size']} ({r['buildings']:,}) | {r['contender']} | {fmt_s(r['median_s'])} | "
          f"{fmt_s(per)} | {'—' if r['contender'] == 'gridcircle' else f'{ratio:.1f}'} | {r['runs']} |")
