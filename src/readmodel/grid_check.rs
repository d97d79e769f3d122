//! The grid topology check against a snapshot: what an HTTP grid write runs before committing.

use super::Snapshot;
use crate::grids::{TopologyConfig, TopologyReport, check_grid};
use crate::model::{AreaShape, Grid, GridCode};

impl Snapshot {
    /// [`check_grid`] of `candidate` (grid `id` when it replaces one) in community
    /// `community_id` of this snapshot: its siblings are the community's grids here, the
    /// buildings are this snapshot's. `None` when the snapshot has no such community.
    pub fn check_grid(
        &self,
        candidate: &AreaShape,
        code: &GridCode,
        id: Option<i64>,
        community_id: i64,
        config: &TopologyConfig,
    ) -> Option<TopologyReport> {
        let community = self.communities.get(community_id)?;
        let siblings: Vec<Grid> = self
            .grids
            .layer
            .items()
            .iter()
            .filter(|g| g.community_id == community_id)
            .cloned()
            .collect();
        Some(check_grid(
            candidate,
            code,
            id,
            community,
            &siblings,
            self.buildings.layer.items(),
            config,
        ))
    }
}
