//! Circle shapes: walking isochrones from snapped seeds, crow-fly circles, and each
//! facility's materialised service circle.

use std::hash::{DefaultHasher, Hash, Hasher};

use geo::{Destination, Haversine, LineString, MultiPolygon, Point, Polygon};

use crate::model::FacilityCircle;
use crate::model::{CircleDef, LonLat, ReachMode, metres};
use crate::readmodel::{Snapshot, with_reach};
use crate::walk::{IsochroneStyle, Snap, isochrones};

/// Walking areas from `seeds`, one per budget (metres), smallest first, holes kept.
pub fn walking_areas(s: &Snapshot, seeds: &[Snap], budgets_m: &[f64]) -> Vec<MultiPolygon<f64>> {
    let graph = s.walk.network.graph();
    let max = budgets_m.iter().copied().fold(0.0, f64::max);
    let style = IsochroneStyle {
        band_m: s.walk.network.config().band_m,
        ..IsochroneStyle::default()
    };
    with_reach(graph, |reach| {
        reach.run(graph, seeds, max, false);
        isochrones(graph, reach, budgets_m, &style)
            .into_iter()
            .map(|iso| iso.polygon)
            .collect()
    })
}

/// The crow-fly circle of `radius_m` around `p` (64 vertices on the sphere).
pub fn radius_area(p: LonLat, radius_m: f64) -> MultiPolygon<f64> {
    let ring: Vec<Point<f64>> = (0..=64)
        .map(|i| Haversine.destination(p.point(), f64::from(i % 64) * 360.0 / 64.0, radius_m))
        .collect();
    MultiPolygon(vec![Polygon::new(LineString::from(ring), vec![])])
}

/// What a facility circle is computed from; a stored circle with another hash is stale.
pub fn source_hash(s: &Snapshot, facility_index: usize, def: &CircleDef) -> String {
    let f = &s.facilities.layer.items()[facility_index];
    let mut h = DefaultHasher::new();
    (
        f.point.lon().to_bits(),
        f.point.lat().to_bits(),
        f.kind.as_str(),
    )
        .hash(&mut h);
    (
        def.id.as_str(),
        def.minutes.to_bits(),
        def.speed_kmh.to_bits(),
        def.mode,
    )
        .hash(&mut h);
    let graph = s.walk.network.graph();
    let config = s.walk.network.config();
    (
        graph.node_count(),
        graph.edge_count(),
        config.band_m.to_bits(),
        config.max_connector_m.to_bits(),
        config.min_component_nodes,
    )
        .hash(&mut h);
    format!("{:016x}", h.finish())
}

/// The facility's circle for `def`, or `None` when it cannot join the walking network.
pub fn facility_circle(
    s: &Snapshot,
    facility_index: usize,
    def: &CircleDef,
) -> Option<FacilityCircle> {
    let f = &s.facilities.layer.items()[facility_index];
    let budget = metres(def.minutes, def.speed_kmh);
    let polygon = match def.mode {
        ReachMode::Radius => radius_area(f.point, budget),
        ReachMode::Walk => {
            walking_areas(s, &[s.facility_snaps[facility_index]?], &[budget]).pop()?
        }
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
///
/// The circles to compute are computed in parallel (rayon, one walking search and contour per
/// circle, each worker thread with its own search buffers); the result is in the order of the
/// facilities and circle definitions, whatever the threads did.
pub fn refresh(s: &Snapshot, stored: &[FacilityCircle]) -> Refreshed {
    use rayon::prelude::*;
    use std::collections::{HashMap, HashSet};
    let by_key: HashMap<(i64, &str), &FacilityCircle> = stored
        .iter()
        .map(|c| ((c.facility_id, c.circle_id.as_str()), c))
        .collect();
    let mut stored_count: HashMap<i64, usize> = HashMap::new();
    for c in stored {
        *stored_count.entry(c.facility_id).or_default() += 1;
    }
    // Every (facility, definition) pair, with its stored circle when that is current.
    let facilities = s.facilities.layer.items();
    let mut pairs: Vec<(usize, &CircleDef, Option<&FacilityCircle>)> = Vec::new();
    for (i, f) in facilities.iter().enumerate() {
        for def in s.circles.iter().filter(|d| d.kinds.contains(&f.kind)) {
            let current = by_key
                .get(&(f.id, def.id.as_str()))
                .copied()
                .filter(|c| c.source_hash == source_hash(s, i, def));
            pairs.push((i, def, current));
        }
    }
    // (facility index, circle, whether it was computed)
    let circles: Vec<(usize, Option<FacilityCircle>, bool)> = pairs
        .par_iter()
        .with_min_len(4)
        .map(|&(i, def, current)| match current {
            Some(c) => (i, Some(c.clone()), false),
            None => (i, facility_circle(s, i, def), true),
        })
        .collect();
    let mut current = Vec::with_capacity(circles.len());
    let mut dirty_ids = Vec::new();
    let mut rewritten = Vec::new();
    for group in circles.chunk_by(|a, b| a.0 == b.0) {
        let f = &facilities[group[0].0];
        let dirty = group.iter().any(|c| c.2);
        let fresh: Vec<FacilityCircle> = group.iter().filter_map(|c| c.1.clone()).collect();
        if dirty || stored_count.get(&f.id).copied().unwrap_or(0) != fresh.len() {
            dirty_ids.push(f.id);
            rewritten.extend(fresh.iter().cloned());
        }
        current.extend(fresh);
    }
    // Facilities with stored rows but no circle definition of their kind any more.
    let with_pairs: HashSet<i64> = circles.iter().map(|c| facilities[c.0].id).collect();
    for f in facilities {
        if !with_pairs.contains(&f.id) && stored_count.contains_key(&f.id) {
            dirty_ids.push(f.id);
        }
    }
    // Rows of facilities that no longer exist.
    let live: HashSet<i64> = facilities.iter().map(|f| f.id).collect();
    let mut gone: Vec<i64> = stored
        .iter()
        .map(|c| c.facility_id)
        .filter(|id| !live.contains(id))
        .collect();
    gone.sort_unstable();
    gone.dedup();
    dirty_ids.extend(gone);
    Refreshed {
        current,
        dirty_ids,
        rewritten,
    }
}
