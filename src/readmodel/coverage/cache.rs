//! Coverage results cached on a snapshot.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

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

impl ReportKey {
    /// The key of the report over `reach`, cut to `within`, with or without the comparison.
    pub fn of(reach: &Arc<CircleReach>, within: Option<Within>, compare_radius: bool) -> Self {
        ReportKey {
            reach: Arc::as_ptr(reach) as usize,
            within,
            compare_radius,
        }
    }
}

/// Results keyed by circle setting and by the exact set of facilities open at the instant
/// asked (so every instant with the same opening state shares one entry: the "hour bucket" of
/// the design, made exact). Bounded: at most `CAPACITY` entries, oldest dropped first.
///
/// A panic while a lock is held (in a request that read the cache) leaves the maps as they
/// were or with one entry more, never half-changed, so a poisoned lock is taken as it is: one
/// failed request must not make every later coverage request fail until a restart.
#[derive(Debug, Default)]
pub struct CoverageCache {
    entries: InsertionOrdered<(Setting, u64), Arc<CircleReach>>,
    /// Reports built from cached reaches: the totals, the per-grid breakdown and the sorted
    /// list of uncovered buildings cost a pass over every building (about half a second at
    /// 1.1 million), which a page of the list or a summary should not pay again. Bounded the
    /// same way.
    reports: InsertionOrdered<ReportKey, Arc<CoverageReport>>,
}

/// A map and its keys oldest first (to drop the oldest when full), behind one lock.
type InsertionOrdered<K, V> = Mutex<(HashMap<K, V>, Vec<K>)>;

const CAPACITY: usize = 64;
/// Reports hold their building lists (at 1.1 million buildings, about 15 MB each): fewer.
const REPORT_CAPACITY: usize = 16;

impl CoverageCache {
    /// The cached result, if any.
    pub fn get(&self, setting: &Setting, open_key: u64) -> Option<Arc<CircleReach>> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .get(&(setting.clone(), open_key))
            .cloned()
    }

    /// Stores a result.
    pub fn put(&self, setting: Setting, open_key: u64, reach: Arc<CircleReach>) {
        let mut guard = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
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
        self.reports
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .get(key)
            .cloned()
    }

    /// Stores a report.
    pub fn put_report(&self, key: ReportKey, report: Arc<CoverageReport>) {
        let mut guard = self.reports.lock().unwrap_or_else(PoisonError::into_inner);
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
        let guard = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
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
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ReachMode;

    #[test]
    fn a_panic_while_a_lock_is_held_does_not_break_the_cache() {
        let cache = Arc::new(CoverageCache::default());
        let holder = cache.clone();
        let outcome = std::thread::spawn(move || {
            let _entries = holder.entries.lock().unwrap();
            let _reports = holder.reports.lock().unwrap();
            panic!("deliberate panic while holding the cache locks");
        })
        .join();
        assert!(outcome.is_err());
        assert!(cache.entries.is_poisoned() && cache.reports.is_poisoned());
        let setting = Setting {
            circle_id: "health".into(),
            budget_mm: 750_000,
            mode: ReachMode::Walk,
        };
        assert!(cache.get(&setting, 0).is_none());
        assert!(cache.is_empty());
        let key = ReportKey {
            reach: 1,
            within: None,
            compare_radius: false,
        };
        assert!(cache.report(&key).is_none());
        assert!(cache.carry_over(&["health".into()]).is_empty());
    }
}
