//! One pass over all buildings for one circle setting.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::model::{CircleDef, OpenState, ReachMode};
use crate::readmodel::{Snapshot, SphereGrid};
use crate::walk::Snap;
use chrono::{DateTime, Utc};

/// What a coverage pass is computed for: a circle with its budget and mode (a query may
/// override the definition's minutes and mode).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Setting {
    /// Circle id.
    pub circle_id: String,
    /// Budget in millimetres (an integer so the setting can be a hash key).
    pub budget_mm: u64,
    /// Walk or radius.
    pub mode: ReachMode,
}

impl Setting {
    /// The setting for `circle` with `minutes` and `mode`.
    pub fn new(circle: &CircleDef, minutes: f64, mode: ReachMode) -> Setting {
        let metres = crate::model::metres(minutes, circle.speed_kmh);
        Setting {
            circle_id: circle.id.clone(),
            budget_mm: (metres * 1000.0).round() as u64,
            mode,
        }
    }

    /// The budget in metres.
    pub fn budget_m(&self) -> f64 {
        self.budget_mm as f64 / 1000.0
    }
}

/// Why a building is not covered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The nearest facility is farther than the budget.
    TooFar,
    /// No path joins the building to any facility of the circle (its snap is missing, or it
    /// lies on a network component no facility reaches).
    NotConnected,
    /// Facilities of the circle exist, but none is open at the instant asked.
    NoFacilityOpen,
    /// The circle has no facility at all.
    NoFacility,
}

/// One building's answer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BuildingReach {
    /// Distance to the nearest counted facility, metres (walking or crow-fly per mode).
    pub distance_m: Option<f64>,
    /// That facility's index in the snapshot's facility layer.
    pub facility: Option<usize>,
    /// `None` when covered.
    pub reason: Option<Reason>,
}

/// Every building's answer for one setting.
#[derive(Debug, Clone)]
pub struct CircleReach {
    /// Setting.
    pub setting: Setting,
    /// Per building (snapshot order).
    pub buildings: Vec<BuildingReach>,
    /// Facilities counted (of the circle's kinds, open at the instant if one was given).
    pub facilities_counted: usize,
}

/// The facilities of a circle that count at an instant (those open then; all of them when no
/// instant is given), and a key naming that set: the coverage cache keys its entries by it, so
/// every instant with the same opening state shares one entry. Computed once per request and
/// handed to [`cached_reach`], [`evaluate_counted`] and the report functions.
#[derive(Debug, Clone)]
pub struct CountedFacilities {
    /// Indices into the snapshot's facility layer, ascending.
    pub open: Vec<usize>,
    /// Facilities of the circle's kinds, counted or not.
    pub all: usize,
    key: u64,
}

impl CountedFacilities {
    /// The facilities of `circle` in `s` that count at `at` (opening hours, cached per minute).
    pub fn of(s: &Snapshot, circle: &CircleDef, at: Option<DateTime<Utc>>) -> Self {
        let mut all = 0;
        let mut open = Vec::new();
        for (i, f) in s.facilities.layer.items().iter().enumerate() {
            if !circle.kinds.contains(&f.kind) {
                continue;
            }
            all += 1;
            let counts = match at {
                None => true,
                Some(t) => s.open_at(f, t).state == OpenState::Open,
            };
            if counts {
                open.push(i);
            }
        }
        let mut h = DefaultHasher::new();
        at.is_some().hash(&mut h);
        open.hash(&mut h);
        CountedFacilities {
            open,
            all,
            key: h.finish(),
        }
    }
}

/// The reach [`evaluate_counted`] would answer, if it is cached (computes nothing).
pub fn cached_reach(
    s: &Snapshot,
    circle: &CircleDef,
    minutes: f64,
    mode: ReachMode,
    counted: &CountedFacilities,
) -> Option<Arc<CircleReach>> {
    s.coverage_cache
        .get(&Setting::new(circle, minutes, mode), counted.key)
}

/// [`evaluate_counted`] with the facilities that count at `at`.
pub fn evaluate(
    s: &Snapshot,
    circle: &CircleDef,
    minutes: f64,
    mode: ReachMode,
    at: Option<DateTime<Utc>>,
) -> Arc<CircleReach> {
    evaluate_counted(
        s,
        circle,
        minutes,
        mode,
        &CountedFacilities::of(s, circle, at),
    )
}

/// Computes (or takes from the cache) every building's distance to the nearest of the
/// `counted` facilities of `circle`, for a budget of `minutes` in `mode`.
///
/// Walk mode runs one multi-source Dijkstra from all counted facilities at once over the
/// whole network (unbounded, so uncovered buildings also learn their nearest facility and how
/// far it is), then reads each building through its snap. Radius mode puts the counted
/// facilities in a [`SphereGrid`] and asks every building's nearest in one batch (the
/// buildings' order is sorted once per snapshot).
pub fn evaluate_counted(
    s: &Snapshot,
    circle: &CircleDef,
    minutes: f64,
    mode: ReachMode,
    counted: &CountedFacilities,
) -> Arc<CircleReach> {
    let setting = Setting::new(circle, minutes, mode);
    let (key, all) = (counted.key, counted.all);
    let counted = &counted.open;
    if let Some(hit) = s.coverage_cache.get(&setting, key) {
        return hit;
    }
    let budget = setting.budget_m();
    let no_seed_reason = if all == 0 {
        Reason::NoFacility
    } else {
        Reason::NoFacilityOpen
    };
    let buildings = s.buildings.layer.items();
    let result: Vec<BuildingReach> = match mode {
        ReachMode::Walk => {
            let mut seeds: Vec<Snap> = Vec::with_capacity(counted.len());
            let mut seed_facility: Vec<usize> = Vec::with_capacity(counted.len());
            for &i in counted {
                if let Some(snap) = s.facility_snaps[i] {
                    seeds.push(snap);
                    seed_facility.push(i);
                }
            }
            let graph = s.walk.network.graph();
            // This thread's reusable search buffers: nothing proportional to the graph is
            // allocated per pass.
            crate::readmodel::with_reach(graph, |reach| {
                if !seeds.is_empty() {
                    reach.run(graph, &seeds, f64::INFINITY, false);
                }
                s.walk
                    .building_snaps
                    .iter()
                    .map(|snap| {
                        if seeds.is_empty() {
                            return BuildingReach {
                                distance_m: None,
                                facility: None,
                                reason: Some(no_seed_reason),
                            };
                        }
                        match snap.as_ref().and_then(|sn| reach.distance_to_point(sn)) {
                            None => BuildingReach {
                                distance_m: None,
                                facility: None,
                                reason: Some(Reason::NotConnected),
                            },
                            Some((d, src)) => BuildingReach {
                                distance_m: Some(d),
                                facility: Some(seed_facility[src]),
                                reason: (d > budget).then_some(Reason::TooFar),
                            },
                        }
                    })
                    .collect()
            })
        }
        ReachMode::Radius => {
            let items = s.facilities.layer.items();
            let grid = SphereGrid::new(counted.iter().map(|&i| (items[i].point.unit_vector(), i)));
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
            let nearest = grid.k_nearest_batch(&s.buildings.batch, 1, threads);
            (0..buildings.len())
                .map(|b| match nearest.get(b).first() {
                    None => BuildingReach {
                        distance_m: None,
                        facility: None,
                        reason: Some(no_seed_reason),
                    },
                    Some(n) => {
                        let d = n.metres();
                        BuildingReach {
                            distance_m: Some(d),
                            facility: Some(n.index),
                            reason: (d > budget).then_some(Reason::TooFar),
                        }
                    }
                })
                .collect()
        }
    };
    let reach = Arc::new(CircleReach {
        setting: setting.clone(),
        buildings: result,
        facilities_counted: counted.len(),
    });
    s.coverage_cache.put(setting, key, reach.clone());
    reach
}
