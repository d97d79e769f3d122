//! Coverage results cached on a snapshot.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{CircleReach, Setting};

/// Results keyed by circle setting and by the exact set of facilities open at the instant
/// asked (so every instant with the same opening state shares one entry: the "hour bucket" of
/// the design, made exact). Bounded: at most `CAPACITY` entries, oldest dropped first.
#[derive(Debug, Default)]
pub struct CoverageCache {
    entries: Mutex<(
        HashMap<(Setting, u64), Arc<CircleReach>>,
        Vec<(Setting, u64)>,
    )>,
}

const CAPACITY: usize = 64;

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
        CoverageCache {
            entries: Mutex::new((map, order)),
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
