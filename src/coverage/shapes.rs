//! Circle shapes: walking isochrones from snapped seeds, crow-fly circles, and each
//! facility's materialised service circle.

use std::hash::{DefaultHasher, Hash, Hasher};

use geo::{Destination, Haversine, LineString, MultiPolygon, Point, Polygon};

use crate::index::{Snapshot, with_reach};
use crate::model::{CircleDef, LonLat, ReachMode, metres};
use crate::store::FacilityCircle;
use crate::walk::{IsochroneStyle, Snap, isochrones};

/// Walking areas from `seeds`, one per budget (metres), smallest first, holes kept.
pub fn walking_areas(s: &Snapshot, seeds: &[Snap], budgets_m: &[f64]) -> Vec<MultiPolygon<f64>> {
    let graph = s.walk.network.graph();
    let max = budgets_m.iter().copied().fold(0.0, f64::max);
    let style = IsochroneStyle { band_m: s.walk.network.config().band_m, ..IsochroneStyle::default() };
    with_reach(graph, |reach| {
        reach.run(graph, seeds, max, false);
        isochrones(graph, reach, budgets_m, &style).into_iter().map(|iso| iso.polygon).collect()
    })
}

/// The crow-fly circle of `radius_m` around `p` (64 vertices on the sphere).
pub fn radius_area(p: LonLat, radius_m: f64) -> MultiPolygon<f64> {
    let ring: Vec<Point<f64>> = (0..=64).map(|i| Haversine.destination(p.point(), f64::from(i % 64) * 360.0 / 64.0, radius_m)).collect();
    MultiPolygon(vec![Polygon::new(LineString::from(ring), vec![])])
}

/// What a facility circle is computed from; a stored circle with another hash is stale.
pub fn source_hash(s: &Snapshot, facility_index: usize, def: &CircleDef) -> String {
    let f = &s.facilities.layer.items()[facility_index];
    let mut h = DefaultHasher::new();
    (f.point.lon().to_bits(), f.point.lat().to_bits(), f.kind.as_str()).hash(&mut h);
    (def.id.as_str(), def.minutes.to_bits(), def.speed_kmh.to_bits(), def.mode).hash(&mut h);
    let graph = s.walk.network.graph();
    let config = s.walk.network.config();
    (graph.node_count(), graph.edge_count(), config.band_m.to_bits(), config.max_connector_m.to_bits(), config.min_component_nodes).hash(&mut h);
    format!("{:016x}", h.finish())
}

/// The facility's circle for `def`, or `None` when it cannot join the walking network.
pub fn facility_circle(s: &Snapshot, facility_index: usize, def: &CircleDef) -> Option<FacilityCircle> {
    let f = &s.facilities.layer.items()[facility_index];
    let budget = metres(def.minutes, def.speed_kmh);
    let polygon = match def.mode {
        ReachMode::Radius => radius_area(f.point, budget),
        ReachMode::Walk => walking_areas(s, &[s.facility_snaps[facility_index]?], &[budget]).pop()?,
    };
    Some(FacilityCircle {
        facility_id: f.id,
        circle_id: def.id.clone(),
        minutes: def.minutes,
        mode: def.mode,
        source_hash: source_hash(s, facility_index, def),
        polygon,
    })
}

/// What [`refresh`] found.
#[derive(Debug, Clone, Default)]
pub struct Refreshed {
    /// Every facility circle of the snapshot, current.
    pub current: Vec<FacilityCircle>,
    /// Facilities whose stored rows must be replaced…
    pub dirty_ids: Vec<i64>,
    /// …by these rows.
    pub rewritten: Vec<FacilityCircle>,
}

/// Brings `stored` up to date with the snapshot: keeps every stored circle whose source hash
/// still matches, computes the missing and stale ones.
pub fn refresh(s: &Snapshot, stored: &[FacilityCircle]) -> Refreshed {
    use std::collections::HashMap;
    let by_key: HashMap<(i64, &str), &FacilityCircle> = stored.iter().map(|c| ((c.facility_id, c.circle_id.as_str()), c)).collect();
    let mut current = Vec::new();
    let mut dirty_ids = Vec::new();
    let mut rewritten = Vec::new();
    for (i, f) in s.facilities.layer.items().iter().enumerate() {
        let mut fresh = Vec::new();
        let mut dirty = false;
        for def in s.circles.iter().filter(|d| d.kinds.contains(&f.kind)) {
            let hash = source_hash(s, i, def);
            match by_key.get(&(f.id, def.id.as_str())) {
                Some(c) if c.source_hash == hash => fresh.push((*c).clone()),
                _ => {
                    dirty = true;
                    if let Some(c) = facility_circle(s, i, def) {
                        fresh.push(c);
                    }
                }
            }
        }
        let stored_count = stored.iter().filter(|c| c.facility_id == f.id).count();
        if dirty || stored_count != fresh.len() {
            dirty_ids.push(f.id);
            rewritten.extend(fresh.iter().cloned());
        }
        current.extend(fresh);
    }
    // Rows of facilities that no longer exist.
    let live: std::collections::HashSet<i64> = s.facilities.layer.items().iter().map(|f| f.id).collect();
    let mut gone: Vec<i64> = stored.iter().map(|c| c.facility_id).filter(|id| !live.contains(id)).collect();
    gone.sort_unstable();
    gone.dedup();
    dirty_ids.extend(gone);
    Refreshed { current, dirty_ids, rewritten }
}
