//! The walking network of a snapshot, with every building snapped once.

use crate::model::{Building, Facility};
use crate::walk::{Snap, SnapCounts, WalkConfig, WalkNetwork};

/// The street graph, the snapper, and each building's snap (entrance first), built once per
/// import: facility writes share it.
#[derive(Debug)]
pub struct WalkLayer {
    /// Graph, snapper and configuration.
    pub network: WalkNetwork,
    /// Per building (same order as the building layer): where it joins the network.
    pub building_snaps: Vec<Option<Snap>>,
    /// How the buildings snapped (how many moved off fragments, how many unreachable).
    pub building_snap_counts: SnapCounts,
}

impl WalkLayer {
    /// Builds the graph from the ways and snaps every building.
    pub fn new(
        ways: &[crate::model::StreetWay],
        buildings: &[Building],
        config: WalkConfig,
    ) -> Self {
        let network = WalkNetwork::build(ways, config);
        let mut counts = SnapCounts::default();
        let building_snaps = buildings
            .iter()
            .map(|b| {
                let s = network.snap_building(b);
                counts.add(s.as_ref());
                s
            })
            .collect();
        WalkLayer {
            network,
            building_snaps,
            building_snap_counts: counts,
        }
    }

    /// Snaps facilities (same order as given).
    pub fn snap_facilities(&self, facilities: &[Facility]) -> Vec<Option<Snap>> {
        facilities
            .iter()
            .map(|f| self.network.snap(f.point))
            .collect()
    }
}

/// One kind's walking targets and, for each, its facility's index in the facility layer.
type KindTarget = (crate::walk::Targets, Vec<usize>);

/// Walking-distance targets per facility kind, built on first use and kept for the
/// snapshot's life (a facility write starts a fresh set).
#[derive(Debug, Default)]
pub struct KindTargets {
    by_kind: std::sync::Mutex<
        std::collections::HashMap<crate::model::KindId, std::sync::Arc<KindTarget>>,
    >,
}

impl KindTargets {
    /// The targets of `kind` (facilities that join the network) and, for each target, its
    /// index in the facility layer.
    pub fn get(
        &self,
        kind: &crate::model::KindId,
        walk: &WalkLayer,
        facilities: &[Facility],
        snaps: &[Option<Snap>],
    ) -> std::sync::Arc<KindTarget> {
        let mut map = self.by_kind.lock().expect("targets lock");
        map.entry(kind.clone())
            .or_insert_with(|| {
                let indices: Vec<usize> = (0..facilities.len())
                    .filter(|&i| &facilities[i].kind == kind)
                    .collect();
                let kind_snaps = indices.iter().map(|&i| snaps[i]).collect();
                std::sync::Arc::new((
                    crate::walk::Targets::new(walk.network.graph(), kind_snaps),
                    indices,
                ))
            })
            .clone()
    }
}

thread_local! {
    /// One search buffer per thread, reused across queries (it resizes itself when a new
    /// snapshot brings a different graph): a query allocates nothing proportional to the graph.
    static REACH: std::cell::RefCell<Option<crate::walk::Reach>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with this thread's reusable search buffer.
pub fn with_reach<T>(
    graph: &crate::walk::WalkGraph,
    f: impl FnOnce(&mut crate::walk::Reach) -> T,
) -> T {
    REACH.with(|cell| {
        let mut slot = cell.borrow_mut();
        let reach = slot.get_or_insert_with(|| crate::walk::Reach::new(graph));
        f(reach)
    })
}
