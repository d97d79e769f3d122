//! Coverage of service circles: for every building, the walking (or crow-fly) distance to the
//! nearest facility of a circle, computed in one pass — one multi-source Dijkstra from all the
//! circle's facilities at once, then an O(1) read per building through its snap — and the
//! reports planners ask for (summary, per grid, uncovered buildings and why).

mod cache;
mod evaluate;
mod report;
mod shapes;

pub use cache::CoverageCache;
pub use evaluate::{
    BuildingReach, CircleReach, CountedFacilities, Reason, Setting, cached_reach, evaluate,
    evaluate_counted,
};
pub use report::{CoverageReport, GridRow, Summary, Within, cached_report, report, report_counted};
pub use shapes::{Refreshed, facility_circle, radius_area, refresh, source_hash, walking_areas};
