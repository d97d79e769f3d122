//! `gridcircle-tools bench-compare`: the gridcircle side of the side-by-side benchmarks
//! (bench/compare, docs/PERFORMANCE.md).
//!
//! ```text
//! gridcircle-tools bench-compare prepare --osm ../shared/data/porto.osm.pbf --tile 4 --work DIR
//!     tiles the extract (synth), imports it into DIR/city.gpkg, and writes the inputs every
//!     contender loads: DIR/buildings.csv, facilities.csv, points.csv, meta.json
//! gridcircle-tools bench-compare worker --work DIR
//!     loads the store into a snapshot, then answers commands on stdin, one per line:
//!       W1 <save>   radius coverage gap: buildings with no facility of the kind within 500 m,
//!                   for each benchmark kind
//!       W2 <save>   the 3 nearest facilities of each kind for each of the random points
//!       W5 <save>   import of the OSM file until queries can be answered
//!       quit
//!     and prints `ok <seconds> <json>` for each (time measured in-process around the work
//!     only); with save = 1 the answer is written to DIR/answers/<workload>-gridcircle.tsv.
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use rand::{Rng, SeedableRng};
use serde_json::json;

use gridcircle::config::HouseholdEstimate;
use gridcircle::import::read_osm_pbf;
use gridcircle::model::{KindCatalogue, KindId, LonLat};
use gridcircle::readmodel::{BatchPoints, Snapshot, SphereGrid, WalkLayer};
use gridcircle::store::Store;
use gridcircle::walk::{Reach, Snap, WalkConfig, WalkNetwork};

use gridcircle_tools::synth;

/// Radius of W1, metres.
const RADIUS_M: f64 = 500.0;
/// Neighbours per point in W2.
const K: usize = 3;
/// Facility kinds benchmarked (the most numerous in the data).
const KINDS: usize = 8;
/// Facility kinds of W3 (the first of the benchmark kinds).
const W3_KINDS: usize = 3;
/// Isochrone origins of W4 (the first random points) and their budget in minutes.
const W4_ORIGINS: usize = 100;
const W4_MINUTES: f64 = 10.0;
/// Mean Earth radius of the haversine metric (geo's `Haversine`).
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// `gridcircle-tools bench-compare`: prepare the inputs, or answer workloads on stdin.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum BenchCompare {
    /// Tile the extract N×N (when --tile > 1), import it into WORK/city.gpkg, and write the
    /// inputs every contender loads: buildings.csv, facilities.csv, points.csv, the walking
    /// graph (walk_*.csv) and meta.json.
    Prepare {
        /// The OSM extract.
        #[arg(long)]
        osm: PathBuf,
        /// Copies per side (1: the extract itself).
        #[arg(long, default_value_t = 1)]
        tile: u32,
        /// Random query points over the buildings' extent (seeded: the same every run).
        #[arg(long, default_value_t = 10_000)]
        points: usize,
        /// The work folder.
        #[arg(long)]
        work: PathBuf,
    },
    /// Load WORK/city.gpkg into a snapshot, print `ready <seconds>`, then answer one command
    /// per line on stdin (`W1 <save>` … `W5 <save>`, `quit`) with `ok <seconds> <json>`.
    Worker {
        /// The work folder made by `prepare`.
        #[arg(long)]
        work: PathBuf,
        /// Threads for the batch workloads (default: every core).
        #[arg(long)]
        threads: Option<usize>,
    },
}

impl BenchCompare {
    /// Runs the subcommand.
    pub(crate) fn run(self) -> anyhow::Result<()> {
        match self {
            BenchCompare::Prepare {
                osm,
                tile,
                points,
                work,
            } => prepare(&osm, tile, points, &work),
            BenchCompare::Worker { work, threads } => {
                let threads = threads
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
                worker(&work, threads)
            }
        }
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn timezone_for(lon: f64) -> chrono_tz::Tz {
    if lon < 60.0 {
        chrono_tz::Europe::Lisbon
    } else {
        gridcircle::config::default_timezone()
    }
}

// ---------------------------------------------------------------------------------------------
// prepare

fn prepare(osm: &Path, tile: u32, points: usize, work: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(work.join("answers"))?;
    let catalogue = KindCatalogue::bundled();
    let estimate = HouseholdEstimate::default();
    let started = Instant::now();
    let pbf = if tile > 1 {
        let base = read_osm_pbf(osm, &catalogue, &estimate, false)?;
        let out = work.join("city.osm.pbf");
        let summary = synth::write_tiled_pbf(osm, &base, tile, &out)?;
        eprintln!(
            "[prepare] tiled {tile}x{tile} copies of {} -> {} ({} nodes, {} ways incl. {} connectors, {} relations, {:.1} MB) in {:.1} s",
            osm.display(),
            out.display(),
            summary.nodes,
            summary.ways,
            summary.connectors,
            summary.relations,
            summary.bytes as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
        out
    } else {
        osm.to_owned()
    };
    let import = read_osm_pbf(&pbf, &catalogue, &estimate, false)?;
    let lon0 = import.buildings.first().map_or(0.0, |b| b.point.lon());
    let db = work.join("city.gpkg");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let data = runtime().block_on(async {
        let store = Store::open(&db.to_string_lossy()).await?;
        store.write_osm_import(&import, timezone_for(lon0)).await?;
        let data = store.load(&catalogue).await?;
        store.close().await;
        anyhow::Ok(data)
    })?;
    eprintln!(
        "[prepare] imported {} buildings, {} facilities, {} ways into {} ({:.1} s so far)",
        data.buildings.len(),
        data.facilities.len(),
        data.ways.len(),
        db.display(),
        started.elapsed().as_secs_f64()
    );

    let mut csv = String::from("id,lon,lat\n");
    for b in &data.buildings {
        writeln!(csv, "{},{},{}", b.id, b.point.lon(), b.point.lat())?;
    }
    std::fs::write(work.join("buildings.csv"), &csv)?;
    let mut csv = String::from("id,kind,lon,lat\n");
    for f in &data.facilities {
        writeln!(
            csv,
            "{},{},{},{}",
            f.id,
            f.kind.as_str(),
            f.point.lon(),
            f.point.lat()
        )?;
    }
    std::fs::write(work.join("facilities.csv"), &csv)?;

    // Random query points, uniform over the buildings' extent (seeded: the same every run).
    let (mut min, mut max) = ([f64::MAX; 2], [f64::MIN; 2]);
    for b in &data.buildings {
        min = [min[0].min(b.point.lon()), min[1].min(b.point.lat())];
        max = [max[0].max(b.point.lon()), max[1].max(b.point.lat())];
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(20_261_122);
    let mut csv = String::from("id,lon,lat\n");
    for i in 0..points {
        let lon = rng.random_range(min[0]..=max[0]);
        let lat = rng.random_range(min[1]..=max[1]);
        writeln!(csv, "{},{},{}", i + 1, lon, lat)?;
    }
    std::fs::write(work.join("points.csv"), &csv)?;

    let (walk_s, graph_nodes) = write_walk_inputs(&data, points.min(W4_ORIGINS), work)?;
    eprintln!("[prepare] walking graph exported in {walk_s:.1} s");

    let mut per_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for f in &data.facilities {
        *per_kind.entry(f.kind.as_str()).or_default() += 1;
    }
    let mut kinds: Vec<(&str, usize)> = per_kind.iter().map(|(k, n)| (*k, *n)).collect();
    kinds.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    kinds.truncate(KINDS);
    let meta = json!({
        "osm": osm,
        "pbf": pbf,
        "tile": tile,
        "buildings": data.buildings.len(),
        "facilities": data.facilities.len(),
        "ways": data.ways.len(),
        "points": points,
        "kinds": kinds.iter().map(|k| k.0).collect::<Vec<_>>(),
        "facilities_per_kind": per_kind,
        "centre": [(min[0] + max[0]) / 2.0, (min[1] + max[1]) / 2.0],
        "bbox": [min[0], min[1], max[0], max[1]],
        "radius_m": RADIUS_M,
        "walk_graph_nodes": graph_nodes,
        "w4_budget_m": WalkConfig::default().metres(W4_MINUTES),
        "k": K,
        "earth_radius_m": EARTH_RADIUS_M,
        "prepare_s": started.elapsed().as_secs_f64(),
    });
    std::fs::write(work.join("meta.json"), serde_json::to_string_pretty(&meta)?)?;
    eprintln!("[prepare] done in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn read_points(path: &Path) -> anyhow::Result<Vec<(i64, LonLat)>> {
    let mut points = Vec::new();
    for line in std::fs::read_to_string(path)?.lines().skip(1) {
        let mut it = line.split(',');
        let id: i64 = it.next().context("id")?.parse()?;
        let lon: f64 = it.next().context("lon")?.parse()?;
        let lat: f64 = it.next().context("lat")?.parse()?;
        points.push((id, LonLat::new(lon, lat)?));
    }
    Ok(points)
}

/// The walking graph as every peer loads it, with gridcircle's snaps made explicit: each
/// snapped building, facility and W4 origin gets a node where it joins its edge (the edge is
/// split there, pieces in order along it) and a node of its own at its point, joined by an
/// edge of the connector's length. A shortest path between two own nodes is then exactly the
/// walk gridcircle computes (connectors, offsets along the edge, the same-edge shortcut).
///
/// walk_nodes.csv: id,lon,lat · walk_edges.csv: source,target,cost (undirected) ·
/// walk_buildings.csv: id,node · walk_facilities.csv: id,kind,node · walk_origins.csv: id,node
fn write_walk_inputs(
    data: &gridcircle::store::Dataset,
    origins: usize,
    work: &Path,
) -> anyhow::Result<(f64, usize)> {
    let started = Instant::now();
    let points = read_points(&work.join("points.csv"))?;
    let net = WalkNetwork::build(&data.ways, WalkConfig::default());
    let g = net.graph();
    let mut nodes = String::from("id,lon,lat\n");
    for u in 0..g.node_count() {
        let p = g.node_lonlat(u as u32);
        writeln!(nodes, "{u},{},{}", p.lon(), p.lat())?;
    }
    let mut next = g.node_count() as i64;
    let mut on_edge: Vec<Vec<(f64, f64, i64)>> = vec![Vec::new(); g.edge_count()];
    let mut edges = String::from("source,target,cost\n");
    let mut attach = |snap: &Snap, nodes: &mut String, edges: &mut String| -> anyhow::Result<i64> {
        let (own, join) = (next, next + 1);
        next += 2;
        writeln!(nodes, "{own},{},{}", snap.point.lon(), snap.point.lat())?;
        writeln!(
            nodes,
            "{join},{},{}",
            snap.point_on_edge.lon(),
            snap.point_on_edge.lat()
        )?;
        writeln!(edges, "{own},{join},{}", snap.connector_m)?;
        on_edge[snap.edge as usize].push((snap.offset_m[0], snap.offset_m[1], join));
        Ok(own)
    };
    let mut buildings = String::from("id,node\n");
    for b in &data.buildings {
        match net.snap_building(b) {
            Some(s) => writeln!(
                buildings,
                "{},{}",
                b.id,
                attach(&s, &mut nodes, &mut edges)?
            )?,
            None => writeln!(buildings, "{},", b.id)?,
        }
    }
    let mut facilities = String::from("id,kind,node\n");
    for f in &data.facilities {
        match net.snap(f.point) {
            Some(s) => {
                let own = attach(&s, &mut nodes, &mut edges)?;
                writeln!(facilities, "{},{},{own}", f.id, f.kind.as_str())?
            }
            None => writeln!(facilities, "{},{},", f.id, f.kind.as_str())?,
        }
    }
    let mut origin_csv = String::from("id,node\n");
    for (id, p) in points.iter().take(origins) {
        match net.snap(*p) {
            Some(s) => writeln!(origin_csv, "{id},{}", attach(&s, &mut nodes, &mut edges)?)?,
            None => writeln!(origin_csv, "{id},")?,
        }
    }
    for (e, pts) in on_edge.iter_mut().enumerate() {
        let [a, b] = g.edge_nodes(e as u32);
        if pts.is_empty() {
            writeln!(edges, "{a},{b},{}", g.edge_length_m(e as u32))?;
            continue;
        }
        pts.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.2.cmp(&y.2)));
        let (mut prev, mut prev_off) = (i64::from(a), 0.0);
        for &(off_a, _, id) in pts.iter() {
            writeln!(edges, "{prev},{id},{}", (off_a - prev_off).max(0.0))?;
            (prev, prev_off) = (id, off_a);
        }
        let last = pts.last().expect("non-empty");
        writeln!(edges, "{prev},{b},{}", last.1)?;
    }
    std::fs::write(work.join("walk_nodes.csv"), nodes)?;
    std::fs::write(work.join("walk_edges.csv"), edges)?;
    std::fs::write(work.join("walk_buildings.csv"), buildings)?;
    std::fs::write(work.join("walk_facilities.csv"), facilities)?;
    std::fs::write(work.join("walk_origins.csv"), origin_csv)?;
    Ok((started.elapsed().as_secs_f64(), g.node_count()))
}

// ---------------------------------------------------------------------------------------------
// worker

struct Loaded {
    snapshot: Snapshot,
    kinds: Vec<KindId>,
    points: Vec<(i64, LonLat)>,
    pbf: PathBuf,
    /// The walking network and the building snaps, ready "at import" (W3, W4).
    walk: WalkLayer,
    /// Per facility (layer order): where it joins the network, as the snapshot keeps them.
    facility_snaps: Vec<Option<Snap>>,
    walk_prep_s: f64,
}

fn load(work: &Path) -> anyhow::Result<Loaded> {
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(work.join("meta.json")).context("run prepare first")?,
    )?;
    let catalogue = Arc::new(KindCatalogue::bundled());
    let db = work.join("city.gpkg");
    let data = runtime().block_on(async {
        let store = Store::open(&db.to_string_lossy()).await?;
        let data = store.load(&catalogue).await?;
        store.close().await;
        anyhow::Ok(data)
    })?;
    let snapshot = Snapshot::build(data, catalogue.clone());
    let kinds = meta["kinds"]
        .as_array()
        .context("meta.kinds")?
        .iter()
        .map(|k| catalogue.parse_kind(k.as_str().unwrap_or(""), "kind"))
        .collect::<Result<Vec<_>, _>>()?;
    let points = read_points(&work.join("points.csv"))?;
    let walk_started = Instant::now();
    let walk = WalkLayer::new(
        snapshot.ways.items(),
        snapshot.buildings.layer.items(),
        WalkConfig::default(),
    );
    let facility_snaps = walk.snap_facilities(snapshot.facilities.layer.items());
    let walk_prep_s = walk_started.elapsed().as_secs_f64();
    Ok(Loaded {
        snapshot,
        kinds,
        points,
        pbf: PathBuf::from(meta["pbf"].as_str().context("meta.pbf")?),
        walk,
        facility_snaps,
        walk_prep_s,
    })
}

fn worker(work: &Path, threads: usize) -> anyhow::Result<()> {
    let started = Instant::now();
    let loaded = load(work)?;
    println!(
        "ready {:.3} {}",
        started.elapsed().as_secs_f64(),
        json!({"buildings": loaded.snapshot.buildings.layer.items().len(), "threads": threads})
    );
    std::io::stdout().flush()?;
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        let line = line?;
        let mut words = line.split_whitespace();
        let cmd = words.next().unwrap_or("");
        let save = words.next() == Some("1");
        let cpu_before = cpu_seconds();
        let answer = match cmd {
            "W1" => w1(
                &loaded,
                threads,
                save.then(|| work.join("answers/W1-gridcircle.tsv")),
            ),
            "W2" => w2(
                &loaded,
                threads,
                save.then(|| work.join("answers/W2-gridcircle.tsv")),
            ),
            "W3" => w3(
                &loaded,
                threads,
                save.then(|| work.join("answers/W3-gridcircle.tsv")),
            ),
            "W4" => w4(
                &loaded,
                save.then(|| work.join("answers/W4-gridcircle.tsv")),
            ),
            "W5" => w5(&loaded, work),
            "quit" | "" => break,
            other => Err(anyhow::anyhow!("unknown command {other}")),
        };
        match answer {
            Ok((secs, extra)) => {
                // CPU seconds of the whole process (all threads) over the command, from
                // /proc/self/stat (10 ms ticks): on a loaded machine, the work done.
                let mut extra: serde_json::Value = serde_json::from_str(&extra)?;
                extra["cpu_s"] = json!(cpu_seconds() - cpu_before);
                println!("ok {secs:.6} {extra}")
            }
            Err(e) => println!("error {}", format!("{e:#}").replace('\n', " ")),
        }
        std::io::stdout().flush()?;
    }
    Ok(())
}

/// User + system CPU seconds of this process so far (Linux; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let Some((_, rest)) = stat.rsplit_once(')') else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the command name: state is field 3, utime 14 and stime 15 (1-based in proc(5)).
    let tick = |i: usize| {
        fields
            .get(i - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (tick(14) + tick(15)) / 100.0
}

fn parallel<T: Send>(
    threads: usize,
    n: usize,
    f: impl Fn(std::ops::Range<usize>) -> Vec<T> + Sync,
) -> Vec<T> {
    let threads = threads.max(1).min(n.max(1));
    let chunk = n.div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let f = &f;
                s.spawn(move || f(t * chunk..((t + 1) * chunk).min(n)))
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("worker thread"))
            .collect()
    })
}

fn w1(l: &Loaded, threads: usize, save: Option<PathBuf>) -> anyhow::Result<(f64, String)> {
    let items = l.snapshot.buildings.layer.items();
    let empty = SphereGrid::default();
    let started = Instant::now();
    let mut answers: Vec<Vec<usize>> = Vec::with_capacity(l.kinds.len());
    for kind in &l.kinds {
        let grid = l.snapshot.facilities.grids.get(kind).unwrap_or(&empty);
        answers.push(grid.uncovered(&l.snapshot.buildings.batch, RADIUS_M, threads));
    }
    let secs = started.elapsed().as_secs_f64();
    let counts: Vec<usize> = answers.iter().map(Vec::len).collect();
    if let Some(path) = save {
        let mut out = String::new();
        for (kind, a) in l.kinds.iter().zip(&answers) {
            let mut ids: Vec<i64> = a.iter().map(|&i| items[i].id).collect();
            ids.sort_unstable();
            for id in ids {
                writeln!(out, "{}\t{id}", kind.as_str())?;
            }
        }
        std::fs::write(path, out)?;
    }
    Ok((secs, json!({ "uncovered": counts }).to_string()))
}

fn w2(l: &Loaded, threads: usize, save: Option<PathBuf>) -> anyhow::Result<(f64, String)> {
    let facilities = l.snapshot.facilities.layer.items();
    let empty = SphereGrid::default();
    let started = Instant::now();
    // The points sorted once for every kind.
    let batch = BatchPoints::new(&l.points.iter().map(|p| p.1).collect::<Vec<_>>());
    let mut answers = Vec::with_capacity(l.kinds.len());
    for kind in &l.kinds {
        let grid = l.snapshot.facilities.grids.get(kind).unwrap_or(&empty);
        answers.push(grid.k_nearest_batch(&batch, K, threads));
    }
    let secs = started.elapsed().as_secs_f64();
    if let Some(path) = save {
        let mut out = String::new();
        for (kind, a) in l.kinds.iter().zip(&answers) {
            for (pi, (pid, _)) in l.points.iter().enumerate() {
                let found = a.get(pi);
                let ids: Vec<String> = found
                    .iter()
                    .map(|b| facilities[b.index].id.to_string())
                    .collect();
                let ds: Vec<String> = found.iter().map(|b| format!("{:.4}", b.metres())).collect();
                writeln!(
                    out,
                    "{}\t{pid}\t{}\t{}",
                    kind.as_str(),
                    ids.join(","),
                    ds.join(",")
                )?;
            }
        }
        std::fs::write(path, out)?;
    }
    Ok((
        secs,
        json!({ "queries": l.points.len() * l.kinds.len() }).to_string(),
    ))
}

/// W3: walking metres from every building to the nearest facility of each W3 kind: one
/// multi-source search without a budget from the kind's facilities, then each building's snap
/// (the graph, the building snaps and the facility snaps are ready at import, as in the
/// snapshot the service answers from).
fn w3(l: &Loaded, threads: usize, save: Option<PathBuf>) -> anyhow::Result<(f64, String)> {
    let items = l.snapshot.facilities.layer.items();
    let g = l.walk.network.graph();
    let mut reach = Reach::new(g);
    let started = Instant::now();
    let mut answers = Vec::new();
    for kind in l.kinds.iter().take(W3_KINDS) {
        let seeds: Vec<Snap> = items
            .iter()
            .zip(&l.facility_snaps)
            .filter(|(f, _)| &f.kind == kind)
            .filter_map(|(_, s)| *s)
            .collect();
        reach.run(g, &seeds, f64::INFINITY, false);
        let reach = &reach;
        let d: Vec<Option<f64>> = parallel(threads, l.walk.building_snaps.len(), |r| {
            l.walk.building_snaps[r]
                .iter()
                .map(|h| {
                    h.as_ref()
                        .and_then(|s| reach.distance_to_point(s))
                        .map(|x| x.0)
                })
                .collect()
        });
        answers.push((kind, d));
    }
    let secs = started.elapsed().as_secs_f64();
    if let Some(path) = save {
        let buildings = l.snapshot.buildings.layer.items();
        let mut out = String::new();
        for (kind, d) in &answers {
            for (b, d) in buildings.iter().zip(d) {
                match d {
                    Some(d) => writeln!(out, "{}\t{}\t{d:.4}", kind.as_str(), b.id)?,
                    None => writeln!(out, "{}\t{}\t", kind.as_str(), b.id)?,
                }
            }
        }
        std::fs::write(path, out)?;
    }
    let reached: Vec<usize> = answers
        .iter()
        .map(|(_, d)| d.iter().filter(|x| x.is_some()).count())
        .collect();
    Ok((
        secs,
        json!({ "reached": reached, "prep_s": l.walk_prep_s }).to_string(),
    ))
}

/// W4: a 10-minute walking isochrone (a polygon with holes) from each of the first random
/// points; the answer compared is the set of graph nodes within the budget.
fn w4(l: &Loaded, save: Option<PathBuf>) -> anyhow::Result<(f64, String)> {
    let g = l.walk.network.graph();
    let budget = l.walk.network.config().metres(W4_MINUTES);
    let mut reach = Reach::new(g);
    let started = Instant::now();
    let mut out = Vec::new();
    for (id, p) in l.points.iter().take(W4_ORIGINS) {
        let iso = l
            .walk
            .network
            .isochrones_from(&mut reach, *p, &[W4_MINUTES]);
        let nodes: Vec<(u32, f64)> = if iso.is_some() {
            reach
                .reached_nodes()
                .filter(|(_, r)| r.distance_m <= budget)
                .map(|(u, r)| (u, r.distance_m))
                .collect()
        } else {
            Vec::new()
        };
        let area = iso.as_ref().and_then(|v| v.first()).map_or(0.0, |i| {
            geo::ChamberlainDuquetteArea::chamberlain_duquette_unsigned_area(&i.polygon)
        });
        out.push((*id, nodes, area));
    }
    let secs = started.elapsed().as_secs_f64();
    if let Some(path) = save {
        let mut text = String::new();
        for (id, nodes, area) in &mut out {
            nodes.sort_unstable_by_key(|n| n.0);
            let list: Vec<String> = nodes.iter().map(|(u, d)| format!("{u}:{d:.4}")).collect();
            writeln!(text, "{id}\t{area:.1}\t{}", list.join(","))?;
        }
        std::fs::write(path, text)?;
    }
    Ok((secs, json!({ "isochrones": out.len() }).to_string()))
}

/// W5: the OSM file into a fresh store, then the snapshot that answers queries.
fn w5(l: &Loaded, work: &Path) -> anyhow::Result<(f64, String)> {
    let catalogue = Arc::new(KindCatalogue::bundled());
    let db = work.join("w5.gpkg");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    let started = Instant::now();
    let import = read_osm_pbf(&l.pbf, &catalogue, &HouseholdEstimate::default(), false)?;
    let read_s = started.elapsed().as_secs_f64();
    let tz = timezone_for(import.buildings.first().map_or(0.0, |b| b.point.lon()));
    let (snapshot, store_s) = runtime().block_on(async {
        let store = Store::open(&db.to_string_lossy()).await?;
        store.write_osm_import(&import, tz).await?;
        let store_s = started.elapsed().as_secs_f64();
        let data = store.load(&catalogue).await?;
        store.close().await;
        anyhow::Ok((Snapshot::build(data, catalogue.clone()), store_s))
    })?;
    let secs = started.elapsed().as_secs_f64();
    let extra = json!({
        "buildings": snapshot.buildings.layer.items().len(),
        "facilities": snapshot.facilities.layer.items().len(),
        "read_s": read_s,
        "write_s": store_s - read_s,
        "load_and_index_s": secs - store_s,
    });
    drop(snapshot);
    Ok((secs, extra.to_string()))
}
