//! Coverage results cached on a snapshot.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{CircleReach, CoverageReport, Setting, Within};

/// What a report adds to its reach: the area it is cut to and whether it compares with the
/// radius circle. The reach is named by the address of its cached `Arc`: a report holds that
/// `Arc`, so while the report is cached the address cannot be reused by another reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReportKey {
    /// `Arc::as_ptr` of the report's reach.
    pub reach: usize,
    /// The area.
    pub within: Option<Within>,
    /// With the radius comparison.
    pub compare_radius: bool,
}

/// Results keyed by circle setting and by the exact set of facilities open at the instant
/// asked (so every instant with the same opening state shares one entry: the "hour bucket" of
/// the design, made exact). Bounded: at most `CAPACITY` entries, oldest dropped first.
#[derive(Debug, Default)]
pub struct CoverageCache {
    entries: Mutex<(
        HashMap<(Setting, u64), Arc<CircleReach>>,
        Vec<(Setting, u64)>,
    )>,
    /// Reports built from cached reaches: the totals, the per-grid breakdown and the sorted
    /// list of uncovered buildings cost a pass over every building (about half a second at
    /// 1.1 million), which a page of the list or a summary should not pay again. Bounded the
    /// same way.
    reports: Mutex<(HashMap<ReportKey, Arc<CoverageReport>>, Vec<ReportKey>)>,
}

const CAPACITY: usize = 64;
/// Reports hold their building lists (at 1.1 million buildings, about 15 MB each): fewer.
const REPORT_CAPACITY: usize = 16;

impl CoverageCache {
    /// The cached result, if any.
    pub fn get(&self, setting: &Setting, open_key: u64) -> Option<Arc<CircleReach>> {
        self.entries
            .lock()
            .expect("cache lock")
            .0
            .get(&(setting.clone(), open_key))
            .cloned()
    }

    /// Stores a result.
    pub fn put(&self, setting: Setting, open_key: u64, reach: Arc<CircleReach>) {
        let mut guard = self.entries.lock().expect("cache lock");
        let (map, order) = &mut *guard;
        if map.insert((setting.clone(), open_key), reach).is_none() {
            order.push((setting, open_key));
        }
        while order.len() > CAPACITY {
            let old = order.remove(0);
            map.remove(&old);
        }
    }

    /// The cached report, if any.
    pub fn report(&self, key: &ReportKey) -> Option<Arc<CoverageReport>> {
        self.reports.lock().expect("cache lock").0.get(key).cloned()
    }

    /// Stores a report.
    pub fn put_report(&self, key: ReportKey, report: Arc<CoverageReport>) {
        let mut guard = self.reports.lock().expect("cache lock");
        let (map, order) = &mut *guard;
        if map.insert(key, report).is_none() {
            order.push(key);
        }
        while order.len() > REPORT_CAPACITY {
            let old = order.remove(0);
            map.remove(&old);
        }
    }

    /// A new cache holding the entries of the circles named in `keep` (their facilities and
    /// definitions did not change).
    pub fn carry_over(&self, keep: &[String]) -> CoverageCache {
        let guard = self.entries.lock().expect("cache lock");
        let (map, order) = &*guard;
        let order: Vec<(Setting, u64)> = order
            .iter()
            .filter(|(s, _)| keep.contains(&s.circle_id))
            .cloned()
            .collect();
        let map = order.iter().map(|k| (k.clone(), map[k].clone())).collect();
        // Reports are rebuilt: they index the buildings of the snapshot they were made on.
        CoverageCache {
            entries: Mutex::new((map, order)),
            reports: Mutex::default(),
        }
    }

    /// Number of cached results.
    pub fn len(&self) -> usize {
        self.entries.lock().expect("cache lock").0.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
