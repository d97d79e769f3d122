//! The walking network: graph, snapping, bounded multi-source Dijkstra, routes, isochrones.
//!
//! Build once per snapshot from the stored street ways, then answer many queries:
//!
//! ```text
//! ways ──WalkGraph::build──▶ WalkGraph ──Snapper::new──▶ Snapper      (both immutable, shared)
//! facility points ──snap──▶ seeds ─┐
//!                                  ├─ Reach::run (bounded, multi-source) ─▶ per-node distance+seed
//! building points ──snap──▶ snaps ─┘                 │
//!                    Reach::distance_to_point(snap) ◀┘  → metres + nearest seed, or None
//!                    route(graph, reach, snap)          → the walked LineString
//!                    isochrones(graph, reach, budgets)  → nested (multi)polygons with holes
//! ```
//!
//! [`WalkNetwork`] bundles the graph, the snapper and the [`WalkConfig`] for a snapshot. The
//! coverage of one circle (a kind, a budget in minutes) is:
//!
//! ```
//! use gridcircle::config::HouseholdEstimate;
//! use gridcircle::import::read_osm_pbf;
//! use gridcircle::model::KindCatalogue;
//! use gridcircle::walk::{Reach, WalkConfig, WalkNetwork};
//! let path = std::path::Path::new("../shared/data/nanjing-xinjiekou.osm.pbf");
//! let data = read_osm_pbf(path, &KindCatalogue::bundled(), &HouseholdEstimate::default(), false)?;
//! let net = WalkNetwork::build(&data.ways, WalkConfig::default());
//! // Seeds: the supermarkets that can be reached at all.
//! let seeds: Vec<_> = data.facilities.iter()
//!     .filter(|f| f.kind.as_str() == "supermarket")
//!     .filter_map(|f| net.snap(f.point))
//!     .collect();
//! // Snap every building once (keep these in the snapshot).
//! let homes: Vec<_> = data.buildings.iter().map(|b| net.snap_building(b)).collect();
//! let mut reach = Reach::new(net.graph()); // one per worker thread, reused
//! reach.run(net.graph(), &seeds, net.config().metres(10.0), false);
//! let covered = homes.iter()
//!     .filter(|s| s.as_ref().and_then(|s| reach.distance_to_point(s)).is_some())
//!     .count();
//! assert!(covered > 0 && covered < homes.len());
//! # Ok::<(), anyhow::Error>(())
//! ```

mod band_raster;
mod dijkstra;
mod graph;
mod isochrone;
mod nearest;
mod route;
mod snap;

pub use dijkstra::{Reach, Reached, distance_to_point};
pub use graph::{
    EdgeId, GraphStats, LocalProjection, NodeId, WALKABLE_HIGHWAYS, WalkGraph, is_walkable,
};
pub use isochrone::{Isochrone, IsochroneStyle, isochrones, isochrones_by_stroke};
pub use nearest::{Targets, nearest_k};
pub use route::{Route, route};
pub use snap::{Snap, SnapCounts, Snapper};

use crate::model::{Building, LonLat, StreetWay};

/// Walking parameters a planner may argue with.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WalkConfig {
    /// Smallest component (in graph nodes) a point may be snapped to. Default 50, as
    /// Valhalla's minimum reachability: smaller components are mapping fragments (a service
    /// road without its junction), and a building snapped onto one would look unreachable.
    pub min_component_nodes: usize,
    /// Longest walk from a point to the network, metres. Default 300: farther than that, the
    /// point is "not reachable" rather than joined to a street it has no path to.
    pub max_connector_m: f64,
    /// Half-width of the walkable band drawn around reached streets in isochrones, metres.
    /// Default 40: about a building depth each side, so blocks of buildings reached from their
    /// street are inside, while the inner courtyards of large blocks stay holes.
    pub band_m: f64,
    /// Walking speed, km/h. Default 4.5 (75 m/min), the service-wide default of DOMAIN.md.
    pub speed_kmh: f64,
}

impl Default for WalkConfig {
    fn default() -> Self {
        WalkConfig {
            min_component_nodes: 50,
            max_connector_m: 300.0,
            band_m: 40.0,
            speed_kmh: 4.5,
        }
    }
}

impl WalkConfig {
    /// Metres walked in `minutes` at `speed_kmh`.
    ///
    /// ```
    /// assert_eq!(gridcircle::walk::WalkConfig::default().metres(10.0), 750.0);
    /// ```
    pub fn metres(&self, minutes: f64) -> f64 {
        minutes * self.speed_kmh * 1000.0 / 60.0
    }

    /// Minutes needed to walk `metres` at `speed_kmh`.
    pub fn minutes(&self, metres: f64) -> f64 {
        metres * 60.0 / (self.speed_kmh * 1000.0)
    }
}

/// The walking network of a snapshot: graph, snapper and configuration.
#[derive(Debug, Clone)]
pub struct WalkNetwork {
    graph: WalkGraph,
    snapper: Snapper,
    config: WalkConfig,
}

impl WalkNetwork {
    /// Builds the graph from the street ways and indexes it for snapping.
    pub fn build(ways: &[StreetWay], config: WalkConfig) -> WalkNetwork {
        let graph = WalkGraph::build(ways);
        let snapper = Snapper::new(&graph, &config);
        WalkNetwork {
            graph,
            snapper,
            config,
        }
    }

    /// The graph.
    pub fn graph(&self) -> &WalkGraph {
        &self.graph
    }

    /// The snapper.
    pub fn snapper(&self) -> &Snapper {
        &self.snapper
    }

    /// The configuration.
    pub fn config(&self) -> &WalkConfig {
        &self.config
    }

    /// Snaps a point (see [`Snapper::snap`]).
    pub fn snap(&self, point: LonLat) -> Option<Snap> {
        self.snapper.snap(&self.graph, point)
    }

    /// Snaps a building from its entrance, else its point.
    pub fn snap_building(&self, building: &Building) -> Option<Snap> {
        self.snapper.snap_building(&self.graph, building)
    }

    /// Isochrones around one point for budgets in minutes (at the configured speed and band),
    /// smallest first; `None` when the point is not reachable. `reach` is scratch space.
    pub fn isochrones_from(
        &self,
        reach: &mut Reach,
        point: LonLat,
        minutes: &[f64],
    ) -> Option<Vec<Isochrone>> {
        let start = self.snap(point)?;
        let budgets: Vec<f64> = minutes.iter().map(|&m| self.config.metres(m)).collect();
        let max = budgets.iter().copied().fold(0.0, f64::max);
        reach.run(&self.graph, &[start], max, false);
        let style = IsochroneStyle {
            band_m: self.config.band_m,
            ..IsochroneStyle::default()
        };
        Some(isochrones(&self.graph, reach, &budgets, &style))
    }
}
