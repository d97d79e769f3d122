//! Measures the snapshot's memory per building, facility and walking-graph edge, and the
//! start-up phases, on a real store (docs/SCALING.md):
//!
//! ```sh
//! cargo run --release --example snapshot_memory -- postgres://postgres@127.0.0.1:5432/porto3
//! ```
//!
//! Memory is counted by a global allocator that tracks live heap bytes, so every figure is
//! what the layer really holds (records, geometry vertices, R-tree nodes, CSR arrays), not an
//! estimate from type sizes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use gridcircle::model::KindCatalogue;
use gridcircle::readmodel::{BuildingLayer, FacilityLayer, Snapshot, WalkLayer};
use gridcircle::store::Store;
use gridcircle::walk::WalkConfig;

/// The system allocator, counting live bytes (hand-written: a dozen lines, and the measurement
/// must see every allocation of the library without changing it).
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

fn mb(bytes: usize) -> f64 {
    bytes as f64 / 1e6
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let db = std::env::args().nth(1).ok_or_else(|| {
        anyhow::anyhow!("usage: snapshot_memory <store: .gpkg path or postgres:// URL>")
    })?;
    let catalogue = Arc::new(KindCatalogue::bundled());
    let t = Instant::now();
    let store = Store::open(&db).await?;
    let base = live();
    let data = store.load(&catalogue).await?;
    let load_s = t.elapsed().as_secs_f64();
    let (nb, nf, nw) = (data.buildings.len(), data.facilities.len(), data.ways.len());

    let before = live();
    let buildings = BuildingLayer::new(data.buildings.clone());
    let building_bytes = live() - before;

    let before = live();
    let facilities = FacilityLayer::new(data.facilities.clone());
    let facility_bytes = live() - before;

    let before = live();
    let t = Instant::now();
    let walk = WalkLayer::new(&data.ways, buildings.layer.items(), WalkConfig::default());
    let walk_s = t.elapsed().as_secs_f64();
    let walk_bytes = live() - before;
    let edges = walk.network.graph().edge_count();
    let nodes = walk.network.graph().node_count();
    drop((buildings, facilities, walk));

    let t = Instant::now();
    let snapshot = Snapshot::build(data, catalogue.clone());
    let build_s = t.elapsed().as_secs_f64();
    // Everything the snapshot holds, its records included (the load's own buffers are gone).
    let snapshot_bytes = live() - base;

    let before = live();
    let stored = store.load_facility_circles().await?;
    let n_circles = stored.len();
    let with_circles = snapshot.with_facility_circles(stored);
    let circle_bytes = live() - before;
    drop((snapshot, with_circles));

    println!("store {db}");
    println!(
        "buildings {nb}, facilities {nf}, ways {nw}, graph nodes {nodes}, graph edges {edges}"
    );
    println!(
        "load from the store: {load_s:.2} s; walking graph + snaps: {walk_s:.2} s; whole snapshot build: {build_s:.2} s"
    );
    println!(
        "building layer (records, footprints, envelope and point R-trees): {:.1} MB, {:.0} bytes per building",
        mb(building_bytes),
        building_bytes as f64 / nb.max(1) as f64
    );
    println!(
        "facility layer (records, hours, per-kind sphere R-trees): {:.1} MB, {:.0} bytes per facility",
        mb(facility_bytes),
        facility_bytes as f64 / nf.max(1) as f64
    );
    println!(
        "walking layer (CSR graph, edge geometry, building snaps): {:.1} MB, {:.0} bytes per edge",
        mb(walk_bytes),
        walk_bytes as f64 / edges.max(1) as f64
    );
    println!(
        "whole snapshot without facility circles (all layers and records, ways, graph, grids): {:.1} MB, {:.0} bytes per building",
        mb(snapshot_bytes),
        snapshot_bytes as f64 / nb.max(1) as f64
    );
    println!(
        "stored facility circles ({n_circles} polygons with their R-tree): {:.1} MB, {:.0} bytes per facility",
        mb(circle_bytes),
        circle_bytes as f64 / nf.max(1) as f64
    );
    store.close().await;
    Ok(())
}
