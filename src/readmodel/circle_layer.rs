//! The materialised facility circles, indexed for "whose circles am I in?".

use geo::{BoundingRect, Intersects};
use rstar::{AABB, RTree};

use super::EnvelopeEntry;
use crate::model::FacilityCircle;
use crate::model::LonLat;

/// Facility circles with an envelope R-tree.
#[derive(Debug, Default)]
pub struct CircleLayer {
    items: Vec<FacilityCircle>,
    tree: RTree<EnvelopeEntry>,
}

impl CircleLayer {
    /// Indexes `items`.
    pub fn new(items: Vec<FacilityCircle>) -> Self {
        let tree = RTree::bulk_load(
            items
                .iter()
                .enumerate()
                .filter_map(|(i, c)| c.polygon.bounding_rect().map(|r| EnvelopeEntry::new(r, i)))
                .collect(),
        );
        CircleLayer { items, tree }
    }

    /// All circles.
    pub fn items(&self) -> &[FacilityCircle] {
        &self.items
    }

    /// The circles containing `p` (boundary included).
    pub fn containing(&self, p: LonLat) -> Vec<&FacilityCircle> {
        let point = p.point();
        self.tree
            .locate_in_envelope_intersecting(AABB::from_point([p.lon(), p.lat()]))
            .map(|e| &self.items[e.index])
            .filter(|c| c.polygon.intersects(&point))
            .collect()
    }
}
