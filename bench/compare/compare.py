#!/usr/bin/env python3
"""Side-by-side benchmarks: gridcircle against PostGIS (+ osm2pgsql) and GeoPandas/shapely.

Run through bench/compare/run.sh, which sets up the peers and prepares the inputs (see
docs/PERFORMANCE.md). Every contender loads the same prepared inputs (buildings with their
representative points, facilities by kind, random points) from one extraction, and answers
with the same metric: great-circle (haversine) metres on the sphere of mean radius
6,371,008.8 m.

  * gridcircle: the Rust library in-process (`gridcircle-tools bench-compare worker`), timed
    inside that process around the work.
  * PostGIS: geography columns with GiST indexes; ST_DWithin(..., use_spheroid => false) and
    ST_Distance(..., false) measure on the sphere; timed from this client (loopback) around
    execute + fetch.
  * GeoPandas/shapely: points projected once to an azimuthal equidistant projection on the
    same sphere, centred on the data, where distances differ from haversine by under a
    millimetre at 500 m over a 30 km city (scale error < (r/R)^2/6); STRtrees are built once
    per kind before timing (generous to the peer: sjoin_nearest would build one per call).

Workloads run alternately (one run of each contender per round, the order rotating), after
warm-up rounds; medians of the timed rounds are reported with ratios to gridcircle. Answers
of the last round are compared: a difference is "within the tolerance band" when the
building's (point's) true haversine distance is within TOL_M of the radius (of a tie),
else it is a disagreement, and the run fails.
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np

TOL_M = 0.01  # tolerance band, metres
W3_PANDANA_MAXDIST = 3000.0  # pandana searches within a distance: W3 answers are compared up to it
PANDANA_TOL_M = 0.1  # pandana's own precision: its path sums differ from float64 sums by centimetres
SUPER = 9_000_000_000_000_000  # the super-source vertex of pgRouting's multi-source search
EARTH_R = 6_371_008.8


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def haversine_m(lon1, lat1, lon2, lat2):
    lon1, lat1, lon2, lat2 = map(np.radians, (lon1, lat1, lon2, lat2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_R * np.arcsin(np.minimum(1.0, np.sqrt(a)))


# ----------------------------------------------------------------------------------------------
# Inputs


class Inputs:
    def __init__(self, work: Path):
        import pandas as pd

        self.work = work
        self.meta = json.loads((work / "meta.json").read_text())
        self.buildings = pd.read_csv(work / "buildings.csv")
        self.facilities = pd.read_csv(work / "facilities.csv")
        self.points = pd.read_csv(work / "points.csv")
        self.kinds = self.meta["kinds"]
        self.w3_kinds = self.kinds[:3]
        self.walk_nodes = pd.read_csv(work / "walk_nodes.csv")
        self.walk_edges = pd.read_csv(work / "walk_edges.csv")
        self.walk_buildings = pd.read_csv(work / "walk_buildings.csv", dtype={"node": "Int64"})
        self.walk_facilities = pd.read_csv(work / "walk_facilities.csv", dtype={"node": "Int64"})
        self.walk_origins = pd.read_csv(work / "walk_origins.csv", dtype={"node": "Int64"})
        self.graph_nodes = int(self.meta["walk_graph_nodes"])
        self.w4_budget = float(self.meta["w4_budget_m"])
        self.radius = self.meta["radius_m"]
        self.k = self.meta["k"]


# ----------------------------------------------------------------------------------------------
# Contenders


class Gridcircle:
    def __init__(self, name, cmd, work, threads):
        self.name = name
        self.proc = subprocess.Popen(
            cmd + ["worker", "--work", str(work), "--threads", str(threads)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("ready"):
            raise RuntimeError(f"gridcircle worker did not start: {line!r}")
        self.load_s = float(line.split()[1])
        log(f"[{name}] snapshot loaded in {self.load_s:.2f} s")

    def supports(self, w):
        return w in ("W1", "W2", "W3", "W4", "W5")

    def run(self, w, save):
        self.proc.stdin.write(f"{w} {1 if save else 0}\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline().strip()
        if not line.startswith("ok "):
            raise RuntimeError(f"gridcircle {w}: {line}")
        _, secs, extra = line.split(" ", 2)
        return float(secs), json.loads(extra)

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=30)
        except Exception:
            self.proc.kill()


def kind_condition(catalogue_path):
    """SQL CASE over osm2pgsql's hstore `tags` giving the kind, as data/kinds.toml says (first
    kind listed wins, as in the importer)."""
    kinds = tomllib.loads(Path(catalogue_path).read_text())["kind"]
    whens = []
    for kind in kinds:
        for tag in kind.get("osm", []):
            k, v = tag.split("=", 1)
            whens.append(f"when tags->'{k}' = '{v}' then '{kind['id']}'")
    # CASE takes the first matching WHEN; list the tags in catalogue order.
    return "case " + " ".join(whens) + " end"


class PostGIS:
    name = "PostGIS"

    def __init__(self, inputs: Inputs, dsn: str, repo: Path):
        import psycopg

        self.inputs = inputs
        self.dsn = dsn
        self.repo = repo
        self.conn = psycopg.connect(dsn, autocommit=True)
        # JIT compilation cost 0.7 s of an 8 s answer here and saved nothing: off, as a tuned
        # deployment would have it.
        self.conn.execute("set jit = off")
        self.pg_version = self.conn.execute("select postgis_full_version()").fetchone()[0].split('"')[1]
        self.pgr_version = self.conn.execute("select pgr_version()").fetchone()[0]
        started = time.perf_counter()
        self.load()
        log(f"[PostGIS {self.pg_version}] tables and indexes in {time.perf_counter() - started:.2f} s")

    def load(self):
        c = self.conn
        c.execute("drop schema if exists bench cascade")
        c.execute("create schema bench")
        c.execute("create extension if not exists btree_gist")
        for table, cols in [("buildings", "id bigint primary key, lon float8, lat float8"),
                            ("facilities", "id bigint primary key, kind text, lon float8, lat float8"),
                            ("points", "id bigint primary key, lon float8, lat float8")]:
            c.execute(f"create table bench.{table} ({cols}, geog geography(Point, 4326) generated always as "
                      f"(ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography) stored)")
            names = "id, kind, lon, lat" if table == "facilities" else "id, lon, lat"
            with c.cursor() as cur:
                with cur.copy(f"copy bench.{table} ({names}) from stdin with (format csv, header true)") as cp:
                    cp.write((self.inputs.work / f"{table}.csv").read_bytes())
        c.execute("create index on bench.buildings using gist (geog)")
        # One GiST per kind, as gridcircle keeps one R-tree per kind: the fastest layout we
        # found (at 4x4, a pharmacy answer took 1.5 s with it, 3.7 s with one GiST over all
        # facilities and 8 s with a btree_gist (kind, geog) index).
        self.kind_indexes("bench.facilities")
        c.execute("analyze bench.buildings")
        c.execute("analyze bench.facilities")
        c.execute("analyze bench.points")
        started = time.perf_counter()
        c.execute("create table bench.walk_edges (id bigserial primary key, source bigint, target bigint, cost float8)")
        c.execute("create table bench.walk_nodes (id bigint primary key, lon float8, lat float8, geom geometry(Point, 4326) "
                  "generated always as (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) stored)")
        c.execute("create table bench.walk_buildings (id bigint primary key, node bigint)")
        c.execute("create table bench.walk_facilities (id bigint primary key, kind text, node bigint)")
        c.execute("create table bench.walk_origins (id bigint primary key, node bigint)")
        for table, names in [("walk_edges", "source, target, cost"), ("walk_nodes", "id, lon, lat"),
                             ("walk_buildings", "id, node"), ("walk_facilities", "id, kind, node"),
                             ("walk_origins", "id, node")]:
            with c.cursor() as cur:
                with cur.copy(f"copy bench.{table} ({names}) from stdin with (format csv, header true)") as cp:
                    cp.write((self.inputs.work / f"{table}.csv").read_bytes())
        c.execute("create index on bench.walk_buildings (node)")
        c.execute("analyze bench.walk_edges")
        self.walk_prep_s = time.perf_counter() - started

    def kind_indexes(self, table):
        kinds = [r[0] for r in self.conn.execute(f"select distinct kind from {table}").fetchall()]
        for kind in kinds:
            self.conn.execute(f"create index on {table} using gist (geog) where kind = '{kind}'")

    def supports(self, w):
        return w in ("W1", "W2", "W3", "W4", "W5")

    def run(self, w, save):
        return getattr(self, w.lower())(save)

    def w3(self, save):
        """pgRouting: one drivingDistance per kind from a super-source joined at cost 0 to the
        kind's facilities (the equicost variant answers a different question)."""
        out = []
        started = time.perf_counter()
        for kind in self.inputs.w3_kinds:
            edges = ("select id, source, target, cost, cost as reverse_cost from bench.walk_edges union all "
                     f"select {SUPER} + row_number() over (), {SUPER}, node, 0, 0 from bench.walk_facilities "
                     f"where kind = '{kind}' and node is not null")
            rows = self.conn.execute(
                "select b.id, d.agg_cost from bench.walk_buildings b join "
                "pgr_drivingDistance(%s, %s::bigint, 1e12::float8, directed => false) d on d.node = b.node",
                (edges, SUPER)).fetchall()
            out.append((kind, dict(rows)))
        secs = time.perf_counter() - started
        if save:
            write_w3(self.inputs.work / "answers/W3-pgRouting.tsv", out, self.inputs.walk_buildings.id.values)
        return secs, {"prep_s": self.walk_prep_s}

    def w4(self, save):
        """pgRouting: one drivingDistance from all origins at once (10 minutes), then
        ST_ConcaveHull of each origin's reached nodes."""
        started = time.perf_counter()
        origins = [int(x) for x in self.inputs.walk_origins.node.dropna()]
        cur = self.conn.execute(
            "select * from pgr_drivingDistance('select id, source, target, cost, cost as reverse_cost from "
            "bench.walk_edges', %s::bigint[], %s::float8, directed => false)",
            (origins, self.inputs.w4_budget))
        names = [d.name for d in cur.description]
        start_col = names.index("start_vid") if "start_vid" in names else names.index("from_v")
        node_col, cost_col = names.index("node"), names.index("agg_cost")
        reached = {}
        for row in cur.fetchall():
            reached.setdefault(row[start_col], []).append((row[node_col], row[cost_col]))
        hulls = self.conn.execute(
            "with r as (select o, node from unnest(%s::bigint[], %s::bigint[]) as t(o, node)) "
            "select r.o, ST_Area(ST_ConcaveHull(ST_Collect(n.geom), 0.3)::geography) from r "
            "join bench.walk_nodes n on n.id = r.node group by r.o",
            ([o for o, v in reached.items() for _ in v], [n for v in reached.values() for n, _ in v])).fetchall()
        secs = time.perf_counter() - started
        if save:
            node_of = dict(zip(self.inputs.walk_origins.node.dropna().astype(int), self.inputs.walk_origins.id[self.inputs.walk_origins.node.notna()]))
            area = dict(hulls)
            with open(self.inputs.work / "answers/W4-pgRouting.tsv", "w") as f:
                for o, v in sorted(reached.items(), key=lambda kv: node_of[kv[0]]):
                    nodes = sorted((n, d) for n, d in v if n < self.inputs.graph_nodes)
                    f.write(f"{node_of[o]}\t{area.get(o, 0):.1f}\t{','.join(f'{n}:{d:.4f}' for n, d in nodes)}\n")
        return secs, {"isochrones": len(reached)}

    def w1(self, save):
        out = []
        started = time.perf_counter()
        for kind in self.inputs.kinds:
            rows = self.conn.execute(
                "select b.id from bench.buildings b where not exists (select 1 from bench.facilities f "
                "where f.kind = %s and ST_DWithin(f.geog, b.geog, %s, false))",
                (kind, self.inputs.radius)).fetchall()
            out.append((kind, [r[0] for r in rows]))
        secs = time.perf_counter() - started
        if save:
            write_w1(self.inputs.work / "answers/W1-PostGIS.tsv", out)
        return secs, {"uncovered": [len(ids) for _, ids in out]}

    def w2(self, save):
        out = []
        started = time.perf_counter()
        for kind in self.inputs.kinds:
            rows = self.conn.execute(
                "select p.id, array(select f.id from bench.facilities f where f.kind = %s "
                "order by f.geog <-> p.geog limit %s) from bench.points p",
                (kind, self.inputs.k)).fetchall()
            out.append((kind, rows))
        secs = time.perf_counter() - started
        if save:
            write_w2(self.inputs.work / "answers/W2-PostGIS.tsv",
                     [(kind, [(pid, ids, []) for pid, ids in rows]) for kind, rows in out])
        return secs, {"queries": sum(len(r) for _, r in out)}

    def w5(self, save):
        """osm2pgsql into tables prefixed w5_, then the buildings and facilities tables with
        their geography indexes that W1/W2-style queries need."""
        pbf = self.inputs.meta["pbf"]
        started = time.perf_counter()
        env = dict(os.environ)
        done = subprocess.run(
            ["osm2pgsql", "--create", "--latlong", "--hstore-all", "--prefix", "w5", "--log-level", "warn",
             "-d", self.conn.info.dbname, "-H", self.conn.info.host, "-P", str(self.conn.info.port),
             "-U", self.conn.info.user, "--number-processes", str(os.cpu_count() or 1), pbf],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"osm2pgsql failed: {done.stderr[-2000:]}")
        imported_s = time.perf_counter() - started
        case = kind_condition(self.repo / "data/kinds.toml")
        c = self.conn
        c.execute("drop schema if exists w5 cascade")
        c.execute("create schema w5")
        c.execute("create table w5.buildings as select osm_id, ST_PointOnSurface(way)::geography geog "
                  "from w5_polygon where building is not null and building <> 'no'")
        c.execute(f"create table w5.facilities as select * from ("
                  f"select osm_id, {case} kind, way::geography geog from w5_point "
                  f"union all select osm_id, {case} kind, ST_PointOnSurface(way)::geography geog from w5_polygon"
                  f") f where kind is not null")
        c.execute("create index on w5.buildings using gist (geog)")
        self.kind_indexes("w5.facilities")
        c.execute("analyze w5.buildings")
        c.execute("analyze w5.facilities")
        secs = time.perf_counter() - started
        nb = c.execute("select count(*) from w5.buildings").fetchone()[0]
        nf = c.execute("select count(*) from w5.facilities").fetchone()[0]
        return secs, {"buildings": nb, "facilities": nf, "osm2pgsql_s": imported_s, "tables_and_indexes_s": secs - imported_s}

    def close(self):
        self.conn.close()


class GeoPandas:
    name = "GeoPandas"

    def __init__(self, inputs: Inputs):
        import geopandas as gpd
        import pyproj
        import shapely

        self.inputs = inputs
        self.shapely = shapely
        self.versions = f"geopandas {gpd.__version__}, shapely {shapely.__version__}, pyproj {pyproj.__version__}"
        lon0, lat0 = inputs.meta["centre"]
        self.crs = pyproj.CRS.from_proj4(f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +R={EARTH_R} +units=m +no_defs")
        started = time.perf_counter()

        def frame(df):
            return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.lon, df.lat), crs="EPSG:4326").to_crs(self.crs)

        self.b = frame(inputs.buildings)
        self.p = frame(inputs.points)
        f = frame(inputs.facilities)
        self.f = {kind: f[f.kind == kind].reset_index(drop=True) for kind in inputs.kinds}
        self.trees = {kind: shapely.STRtree(g.geometry.values) for kind, g in self.f.items()}
        self.bgeom = self.b.geometry.values
        self.pgeom = self.p.geometry.values
        log(f"[GeoPandas: {self.versions}] projected and indexed in {time.perf_counter() - started:.2f} s")

    def supports(self, w):
        return w in ("W1", "W2")

    def run(self, w, save):
        return getattr(self, w.lower())(save)

    def w1(self, save):
        out = []
        started = time.perf_counter()
        for kind in self.inputs.kinds:
            tree = self.trees[kind]
            idx = tree.query_nearest(self.bgeom, max_distance=self.inputs.radius, all_matches=False)
            covered = np.zeros(len(self.bgeom), dtype=bool)
            covered[idx[0]] = True
            out.append((kind, self.b.id.values[~covered]))
        secs = time.perf_counter() - started
        if save:
            write_w1(self.inputs.work / "answers/W1-GeoPandas.tsv", [(k, ids.tolist()) for k, ids in out])
        return secs, {"uncovered": [len(ids) for _, ids in out]}

    def w2(self, save):
        """k nearest with shapely: query_nearest gives the first; a dwithin query with a radius
        per point, doubled until it holds k candidates, gives the rest; candidates are ranked by
        their (projected) distance."""
        shp = self.shapely
        k = self.inputs.k
        out = []
        started = time.perf_counter()
        for kind in self.inputs.kinds:
            tree = self.trees[kind]
            fgeom = self.f[kind].geometry.values
            n = len(self.pgeom)
            kk = min(k, len(fgeom))
            if kk == 0:
                out.append((kind, np.zeros((n, 0), dtype=np.int64), np.zeros((n, 0))))
                continue
            _, d1 = tree.query_nearest(self.pgeom, return_distance=True, all_matches=False)
            radius = d1 * 2 + 1.0
            todo = np.arange(n)
            best_i = np.full((n, kk), -1, dtype=np.int64)
            best_d = np.full((n, kk), np.inf)
            while len(todo):
                pi, fi = tree.query(self.pgeom[todo], predicate="dwithin", distance=radius[todo])
                counts = np.bincount(pi, minlength=len(todo))
                enough = counts >= kk
                sel = enough[pi]
                pi, fi = pi[sel], fi[sel]
                d = shp.distance(self.pgeom[todo[pi]], fgeom[fi])
                order = np.lexsort((d, pi))
                pi, fi, d = pi[order], fi[order], d[order]
                starts = np.searchsorted(pi, np.nonzero(enough)[0])
                for j in range(kk):
                    rows = todo[pi[starts + j]]
                    best_i[rows, j] = fi[starts + j]
                    best_d[rows, j] = d[starts + j]
                todo = todo[~enough]
                radius[todo] *= 2
            ids = self.f[kind].id.values[best_i]
            out.append((kind, ids, best_d))
        secs = time.perf_counter() - started
        if save:
            pids = self.p.id.values
            write_w2(self.inputs.work / "answers/W2-GeoPandas.tsv",
                     [(kind, [(pid, list(i), list(d)) for pid, i, d in zip(pids, ids, ds)]) for kind, ids, ds in out])
        return secs, {"queries": len(self.pgeom) * len(self.inputs.kinds)}

    def close(self):
        pass


class PyNetwork:
    """pandana when it installs (contraction hierarchies; nearest_pois within a distance;
    nodes_in_range), else networkx (multi-source Dijkstra, single-source with a cutoff);
    shapely concave_hull for isochrones."""

    def __init__(self, inputs: Inputs):
        import pandas as pd
        import shapely

        self.inputs = inputs
        self.pd = pd
        self.shapely = shapely
        nodes, edges = inputs.walk_nodes, inputs.walk_edges
        self.xy = dict(zip(nodes.id.values, zip(nodes.lon.values, nodes.lat.values)))
        started = time.perf_counter()
        try:
            import pandana

            self.kind = "pandana"
            self.version = pandana.__version__
            self.net = pandana.Network(nodes.lon.values, nodes.lat.values, edges.source.values, edges.target.values,
                                       edges[["cost"]], twoway=True)
            self.net.node_ids_index = pd.Index(nodes.id.values)
        except ImportError:
            import networkx as nx

            self.kind = "networkx"
            self.version = nx.__version__
            self.nx = nx
            self.g = nx.Graph()
            for u, v, c in zip(edges.source.values, edges.target.values, edges.cost.values):
                if not self.g.has_edge(u, v) or self.g[u][v]["weight"] > c:
                    self.g.add_edge(int(u), int(v), weight=float(c))
        self.name = self.kind
        self.prep_s = time.perf_counter() - started
        log(f"[{self.kind} {self.version}] network ready in {self.prep_s:.2f} s")

    def supports(self, w):
        return w in ("W3", "W4")

    def run(self, w, save):
        return getattr(self, w.lower())(save)

    def w3(self, save):
        pd = self.pd
        wb, wf = self.inputs.walk_buildings, self.inputs.walk_facilities
        has = wb.node.notna().values
        bnodes = wb.node[has].astype("int64").values
        out = []
        started = time.perf_counter()
        for kind in self.inputs.w3_kinds:
            fnodes = wf[(wf.kind == kind) & wf.node.notna()].node.astype("int64").values
            if self.kind == "pandana":
                poi = pd.Series(fnodes, index=pd.RangeIndex(len(fnodes)))
                self.net.get_node_ids = lambda x, y, mapping_distance=None: poi
                self.net.set_pois(kind, W3_PANDANA_MAXDIST, 1, pd.Series(np.zeros(len(fnodes))),
                                  pd.Series(np.zeros(len(fnodes))))
                res = self.net.nearest_pois(W3_PANDANA_MAXDIST, kind, num_pois=1)
                d = res[1].reindex(bnodes).values
                d = np.where(d >= W3_PANDANA_MAXDIST, np.nan, d)
            else:
                dist = self.nx.multi_source_dijkstra_path_length(self.g, [int(x) for x in fnodes])
                d = np.array([dist.get(int(n), np.nan) for n in bnodes])
            full = np.full(len(wb), np.nan)
            full[has] = d
            out.append((kind, dict(zip(wb.id.values, full))))
        secs = time.perf_counter() - started
        if save:
            write_w3(self.inputs.work / f"answers/W3-{self.kind}.tsv", out, wb.id.values)
        return secs, {"prep_s": self.prep_s}

    def w4(self, save):
        pd = self.pd
        shp = self.shapely
        origins = self.inputs.walk_origins.dropna()
        budget = self.inputs.w4_budget
        started = time.perf_counter()
        reached = {}
        if self.kind == "pandana":
            r = self.net.nodes_in_range(list(origins.node.astype("int64").values), budget)
            for o, grp in r.groupby("source"):
                reached[int(o)] = list(zip(grp.destination.values, grp.iloc[:, 2].values))
        else:
            for o in origins.node.astype("int64").values:
                dist = self.nx.single_source_dijkstra_path_length(self.g, int(o), cutoff=budget)
                reached[int(o)] = list(dist.items())
        areas = {}
        for o, v in reached.items():
            pts = shp.multipoints([self.xy[n] for n, _ in v])
            areas[o] = shp.concave_hull(pts, ratio=0.3)
        secs = time.perf_counter() - started
        if save:
            node_of = dict(zip(origins.node.astype("int64").values, origins.id.values))
            with open(self.inputs.work / f"answers/W4-{self.kind}.tsv", "w") as f:
                for o, v in sorted(reached.items(), key=lambda kv: node_of[kv[0]]):
                    nodes = sorted((int(n), float(d)) for n, d in v if n < self.inputs.graph_nodes and d <= budget)
                    area = self.shapely.area(areas[o])
                    f.write(f"{node_of[o]}\t0\t{','.join(f'{n}:{d:.4f}' for n, d in nodes)}\n")
        return secs, {"isochrones": len(reached), "prep_s": self.prep_s}

    def close(self):
        pass


# ----------------------------------------------------------------------------------------------
# Answers


def write_w1(path, answers):
    with open(path, "w") as f:
        for kind, ids in answers:
            for i in sorted(int(x) for x in ids):
                f.write(f"{kind}\t{i}\n")


def write_w2(path, answers):
    with open(path, "w") as f:
        for kind, rows in answers:
            for pid, ids, ds in sorted(rows, key=lambda r: int(r[0])):
                f.write(f"{kind}\t{int(pid)}\t{','.join(str(int(i)) for i in ids)}\t"
                        f"{','.join(f'{float(d):.4f}' for d in ds)}\n")


def write_w3(path, answers, building_ids):
    with open(path, "w") as f:
        for kind, d in answers:
            for i in building_ids:
                x = d.get(i)
                f.write(f"{kind}\t{int(i)}\t{'' if x is None or x != x else f'{float(x):.4f}'}\n")


def read_w3(path):
    out = {}
    for line in open(path):
        kind, i, d = line.rstrip("\n").split("\t")
        out[(kind, int(i))] = float(d) if d else None
    return out


def check_w3(inputs, names, limits, tolerances):
    """Same walking distance per building and kind, within TOL_M (or the peer's own precision:
    pandana's path sums drift by centimetres); a peer that searches only up to a distance
    (pandana) is compared up to it."""
    ref = read_w3(inputs.work / "answers/W3-gridcircle.tsv")
    problems, report = 0, []
    for name in names:
        other = read_w3(inputs.work / f"answers/W3-{name}.tsv")
        limit = limits.get(name, float("inf"))
        tol = tolerances.get(name, TOL_M)
        real, band, worst = [], 0, 0.0
        for key, a in ref.items():
            o = other.get(key)
            a2 = a if a is not None and a < limit - TOL_M else None
            o2 = o if o is not None and o < limit - TOL_M else None
            if a2 is None and o2 is None:
                continue
            if a2 is None or o2 is None or abs(a2 - o2) > tol:
                real.append((key, a, o))
            elif abs(a2 - o2) > TOL_M:
                band += 1
                worst = max(worst, abs(a2 - o2))
        report.append(f"W3: gridcircle vs {name}: {len(ref)} answers, {len(real)} disagreements beyond ±{tol} m"
                      + (f", {band} within ±{tol} m but beyond ±{TOL_M} m (largest {worst:.3f} m)" if band else "")
                      + (f" (compared up to {limit:.0f} m)" if limit != float("inf") else ""))
        for key, a, o in real[:10]:
            report.append(f"    {key}: gridcircle {a} / {name} {o}")
        problems += len(real)
    return problems, report


def read_w4(path):
    out = {}
    for line in open(path):
        oid, area, nodes = line.rstrip("\n").split("\t")
        reached = {}
        for item in nodes.split(",") if nodes else []:
            n, d = item.split(":")
            reached[int(n)] = float(d)
        out[int(oid)] = (float(area), reached)
    return out


def check_w4(inputs, names):
    """Same set of graph nodes within the budget per origin. (The polygons differ by design:
    gridcircle draws the walkable band with holes, the peers a concave hull of points.)"""
    ref = read_w4(inputs.work / "answers/W4-gridcircle.tsv")
    problems, report = 0, []
    for name in names:
        other = read_w4(inputs.work / f"answers/W4-{name}.tsv")
        tol = PANDANA_TOL_M if name == "pandana" else TOL_M
        real, band, lines = 0, 0, []
        for oid, (area, nodes) in ref.items():
            o = other.get(oid, (0.0, {}))[1]
            only = [(n, d) for n, d in nodes.items() if n not in o] + [(n, d) for n, d in o.items() if n not in nodes]
            if not only:
                continue
            if all(abs(d - inputs.w4_budget) <= tol for _, d in only):
                band += 1
            else:
                real += 1
                if real <= 5:
                    lines.append(f"    origin {oid}: {len(set(nodes) - set(o))} nodes only in gridcircle, "
                                 f"{len(set(o) - set(nodes))} only in {name}")
        report.append(f"W4: gridcircle vs {name}: {len(ref)} isochrones, {real} with a different node set"
                      + (f", {band} differing only by nodes within ±{tol} m of the budget" if band else ""))
        report += lines
        problems += real
    return problems, report


def read_w1(path):
    sets = {}
    for line in open(path):
        kind, i = line.rstrip("\n").split("\t")
        sets.setdefault(kind, set()).add(int(i))
    return sets


def read_w2(path):
    rows = {}
    for line in open(path):
        kind, pid, ids, _ = line.rstrip("\n").split("\t")
        rows[(kind, int(pid))] = [int(i) for i in ids.split(",")] if ids else []
    return rows


def check_w1(inputs, names):
    """Same uncovered set per kind. A building on which two contenders differ is within the
    tolerance band when its true distance to the nearest facility of the kind is within TOL_M
    of the radius."""
    ref = read_w1(inputs.work / "answers/W1-gridcircle.tsv")
    b = inputs.buildings.set_index("id")
    f = inputs.facilities
    problems = 0
    report = []
    for name in names:
        other = read_w1(inputs.work / f"answers/W1-{name}.tsv")
        for kind in inputs.kinds:
            a, o = ref.get(kind, set()), other.get(kind, set())
            diff = sorted(a ^ o)
            if not diff:
                continue
            fk = f[f.kind == kind]
            band, real = 0, []
            for i in diff:
                d = haversine_m(b.at[i, "lon"], b.at[i, "lat"], fk.lon.values, fk.lat.values).min()
                if abs(d - inputs.radius) <= TOL_M:
                    band += 1
                else:
                    real.append((i, d, "gridcircle" if i in a else name))
            report.append(f"W1 {kind}: gridcircle vs {name}: {len(diff)} differ, {band} within ±{TOL_M} m of "
                          f"{inputs.radius} m, {len(real)} disagreements")
            for i, d, who in real[:10]:
                report.append(f"    building {i}: nearest {kind} at {d:.4f} m, called uncovered only by {who}")
            problems += len(real)
    return problems, report


def check_w2(inputs, names):
    """Same nearest ids per point and kind, in order. A difference is a tie within the band
    when the true distances of the two answers' facilities agree within TOL_M rank by rank."""
    ref = read_w2(inputs.work / "answers/W2-gridcircle.tsv")
    f = inputs.facilities.set_index("id")
    p = inputs.points.set_index("id")
    problems = 0
    report = []
    for name in names:
        other = read_w2(inputs.work / f"answers/W2-{name}.tsv")
        missing = set(ref) ^ set(other)
        diff = [key for key in ref if key in other and ref[key] != other[key]]
        band, real = 0, []
        for kind, pid in diff:
            a, o = ref[(kind, pid)], other[(kind, pid)]
            plon, plat = p.at[pid, "lon"], p.at[pid, "lat"]
            da = [float(haversine_m(plon, plat, f.at[i, "lon"], f.at[i, "lat"])) for i in a]
            do = [float(haversine_m(plon, plat, f.at[i, "lon"], f.at[i, "lat"])) for i in o]
            if len(da) == len(do) and all(abs(x - y) <= TOL_M for x, y in zip(da, do)):
                band += 1
            else:
                real.append((kind, pid, a, o, da, do))
        report.append(f"W2: gridcircle vs {name}: {len(ref)} answers, {len(diff)} differ, {band} ties within "
                      f"±{TOL_M} m, {len(real)} disagreements, {len(missing)} missing")
        for kind, pid, a, o, da, do in real[:10]:
            report.append(f"    {kind} point {pid}: gridcircle {a} {[round(x, 3) for x in da]} / {name} {o} "
                          f"{[round(x, 3) for x in do]}")
        problems += len(real) + len(missing)
    return problems, report


# ----------------------------------------------------------------------------------------------
# Runs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True, type=Path)
    ap.add_argument("--worker", required=True, help="the gridcircle-tools binary")
    ap.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[2])
    ap.add_argument("--workloads", default="W1,W2,W5")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--runs-w5", type=int, default=None, help="timed runs of W5 (default: --runs)")
    ap.add_argument("--dsn", default=os.environ.get(
        "GRIDCIRCLE_BENCH_DSN",
        f"host={os.environ.get('PGHOST', '127.0.0.1')} port={os.environ.get('PGPORT', '5432')} "
        f"user={os.environ.get('PGUSER', 'postgres')} dbname={os.environ.get('GRIDCIRCLE_BENCH_DB', 'gridcircle_bench')}"))
    ap.add_argument("--results", type=Path, help="append the results (JSON lines) here")
    args = ap.parse_args()

    inputs = Inputs(args.work)
    meta = inputs.meta
    size = f"{meta['tile']}x{meta['tile']}"
    log(f"[compare] {size}: {meta['buildings']} buildings, {meta['facilities']} facilities, "
        f"{meta['points']} points, kinds {', '.join(inputs.kinds)}")
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]

    threads = os.cpu_count() or 1
    contenders = [Gridcircle("gridcircle", [args.worker, "bench-compare"], args.work, threads)]
    if threads > 1:
        contenders.append(Gridcircle("gridcircle-1thread", [args.worker, "bench-compare"], args.work, 1))
    contenders += [PostGIS(inputs, args.dsn, args.repo), GeoPandas(inputs)]
    if any(w in workloads for w in ("W3", "W4")):
        contenders.append(PyNetwork(inputs))

    results = []
    failures = 0
    for w in workloads:
        who = [c for c in contenders if c.supports(w) and not (w == "W5" and c.name == "gridcircle-1thread")]
        runs = args.runs_w5 if (w == "W5" and args.runs_w5) else args.runs
        times = {c.name: [] for c in who}
        extras = {}
        for r in range(args.warmup + runs):
            order = who[r % len(who):] + who[:r % len(who)]
            this_round = {}
            for c in order:
                last = r == args.warmup + runs - 1
                if w == "W5":
                    # Imports write hundreds of MB: flush what the previous contender left in
                    # the page cache, so that its write-back is not charged to this one (an
                    # fsync on ext4 waits for other files' dirty data too).
                    os.sync()
                secs, extra = c.run(w, save=last and w != "W5")
                this_round[c.name] = secs
                if r >= args.warmup:
                    times[c.name].append(secs)
                extras[c.name] = extra
            log(f"[{w}] round {r + 1}/{args.warmup + runs}" + (" (warm-up)" if r < args.warmup else "") + ": "
                + ", ".join(f"{c.name} {this_round[c.name]:.4f} s" for c in who))
        ref = statistics.median(times["gridcircle"])
        for c in who:
            med = statistics.median(times[c.name])
            label = "pgRouting" if (c.name == "PostGIS" and w in ("W3", "W4")) else \
                "osm2pgsql + PostGIS" if (c.name == "PostGIS" and w == "W5") else c.name
            results.append({"size": size, "buildings": meta["buildings"], "workload": w, "contender": label,
                            "median_s": med, "min_s": min(times[c.name]), "max_s": max(times[c.name]),
                            "runs": len(times[c.name]), "ratio_to_gridcircle": med / ref if ref > 0 else None,
                            "answers": {"W1": len(inputs.kinds), "W2": len(inputs.kinds), "W3": len(inputs.w3_kinds),
                                        "W4": len(inputs.walk_origins)}.get(w, 1),
                            "extra": extras[c.name]})
        peers = [c.name for c in who if not c.name.startswith("gridcircle")]
        if w == "W1":
            problems, report = check_w1(inputs, peers)
        elif w == "W2":
            problems, report = check_w2(inputs, peers)
        elif w == "W3":
            problems, report = check_w3(inputs, [("pgRouting" if n == "PostGIS" else n) for n in peers],
                                        {"pandana": W3_PANDANA_MAXDIST}, {"pandana": PANDANA_TOL_M})
        elif w == "W4":
            problems, report = check_w4(inputs, [("pgRouting" if n == "PostGIS" else n) for n in peers])
        elif w == "W5":
            problems, report = 0, [f"W5 {c.name}: {extras[c.name]}" for c in who]
        else:
            problems, report = 0, []
        if w in ("W1", "W2", "W3", "W4") and problems == 0:
            report.insert(0, f"{w}: every contender gives the same answer (up to the ±{TOL_M} m band)")
        for line in report:
            print(line, flush=True)
        failures += problems

    for c in contenders:
        c.close()

    print()
    print(f"| size | buildings | workload | contender | median | per answer | ratio to gridcircle | runs |")
    print(f"|---|---:|---|---|---:|---:|---:|---:|")
    for r in results:
        per = r["median_s"] / r["answers"]
        print(f"| {r['size']} | {r['buildings']:,} | {r['workload']} | {r['contender']} | {fmt_s(r['median_s'])} | "
              f"{fmt_s(per)} | {r['ratio_to_gridcircle']:.2f} | {r['runs']} |")
    if args.results:
        with open(args.results, "a") as f:
            for r in results:
                f.write(json.dumps(r) + "\n")
    if failures:
        print(f"\n{failures} disagreements between contenders", flush=True)
        sys.exit(1)


def fmt_s(s):
    if s >= 1:
        return f"{s:.2f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.1f} ms"
    return f"{s * 1e6:.0f} µs"


if __name__ == "__main__":
    main()
