//! Grid sequence numbers: "west to east, then north to south, inside each community"
//! (DB11/T 2157-2023), made precise.
//!
//! **The rule.** Grids are read like lines of text on a north-up map:
//! 1. Each grid is placed at its representative point ([`AreaShape::representative_point`]:
//!    the centroid, or an interior point when the centroid falls outside, as for an L shape).
//! 2. Rows are formed from the north: the northernmost grid not yet placed (ties: the western
//!    one, then the lower store id) opens a row, and the row takes every grid not yet placed whose
//!    point lies less than half a *row height* south of the opening grid's point. The row height
//!    is the median north–south extent of the community's grids, so one tiny or one huge grid
//!    does not change where rows break.
//! 3. Inside a row, grids go west to east by their point's longitude (ties: north first, then the
//!    lower store id).
//! 4. Sequence numbers are 1, 2, 3… in that order; the code is the community's 12 digits plus the
//!    number as 3 digits.
//!
//! The order depends only on the geometry (and store ids for exact ties), never on the current
//! codes or the input order: renumbering is deterministic and stable (renumbering again changes
//! nothing), and the mapping is a bijection, undone by [`invert`].

use crate::model::{AreaShape, Community, Grid, GridCode, ModelError};

/// One grid's code before and after renumbering.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CodeChange {
    /// The grid's store id.
    pub id: i64,
    /// Its current code.
    pub old: GridCode,
    /// Its code under the numbering rule.
    pub new: GridCode,
}

impl CodeChange {
    /// True when the code changes.
    pub fn changes(&self) -> bool {
        self.old != self.new
    }
}

/// The numbering order of `shapes`: positions into the slice, first to last. `tie` breaks exact
/// ties (pass store ids; any distinct keys do).
///
/// ```
/// use geo::polygon;
/// use gridcircle::grids::sequence_order;
/// use gridcircle::model::AreaShape;
/// let cell = |col: f64, row: f64| {
///     let (w, n) = (118.78 + col * 0.002, 32.05 - row * 0.002);
///     AreaShape::from_polygon(polygon![(x: w, y: n - 0.002), (x: w + 0.002, y: n - 0.002), (x: w + 0.002, y: n), (x: w, y: n)], "g").unwrap()
/// };
/// // A 2 × 2 block given in scrambled order: SE, NW, SW, NE.
/// let shapes = [cell(1.0, 1.0), cell(0.0, 0.0), cell(0.0, 1.0), cell(1.0, 0.0)];
/// let refs: Vec<&AreaShape> = shapes.iter().collect();
/// assert_eq!(sequence_order(&refs, &[1, 2, 3, 4]), vec![1, 3, 2, 0]); // NW, NE, SW, SE
/// ```
pub fn sequence_order(shapes: &[&AreaShape], tie: &[i64]) -> Vec<usize> {
    assert_eq!(shapes.len(), tie.len(), "one tie-break key per shape");
    let points: Vec<(f64, f64)> = shapes
        .iter()
        .map(|s| {
            let p = s.representative_point();
            (p.lon(), p.lat())
        })
        .collect();
    let mut heights: Vec<f64> = shapes.iter().map(|s| s.bbox().height()).collect();
    heights.sort_by(f64::total_cmp);
    let half_row = heights.get(heights.len() / 2).copied().unwrap_or(0.0) / 2.0;

    let mut north_first: Vec<usize> = (0..shapes.len()).collect();
    north_first.sort_by(|&a, &b| {
        points[b]
            .1
            .total_cmp(&points[a].1)
            .then(points[a].0.total_cmp(&points[b].0))
            .then(tie[a].cmp(&tie[b]))
    });
    let mut placed = vec![false; shapes.len()];
    let mut order = Vec::with_capacity(shapes.len());
    for &opener in &north_first {
        if placed[opener] {
            continue;
        }
        let limit = points[opener].1 - half_row;
        let mut row: Vec<usize> = north_first
            .iter()
            .copied()
            .filter(|&i| !placed[i] && points[i].1 > limit)
            .collect();
        row.push(opener);
        row.sort_unstable();
        row.dedup();
        row.sort_by(|&a, &b| {
            points[a]
                .0
                .total_cmp(&points[b].0)
                .then(points[b].1.total_cmp(&points[a].1))
                .then(tie[a].cmp(&tie[b]))
        });
        for &i in &row {
            placed[i] = true;
        }
        order.extend(row);
    }
    order
}

/// The codes `grids` (the grids of `community`) should have under the numbering rule, one entry
/// per grid in new-code order, unchanged codes included. Fails when the community has more than
/// 999 grids (the sequence has three digits).
///
/// Applying the changes and renumbering again gives no change; [`invert`] gives the changes
/// that restore the old codes. Writing them to a store with a unique code index needs a
/// two-step update (to temporary values, then to the new codes), since codes may swap.
///
/// ```
/// use geo::polygon;
/// use gridcircle::grids::{apply, invert, renumber};
/// use gridcircle::model::{AreaShape, Community, CommunityCode, Grid, GridCode};
/// let strip = |w: f64| AreaShape::from_polygon(polygon![(x: w, y: 32.04), (x: w + 0.002, y: 32.04), (x: w + 0.002, y: 32.05), (x: w, y: 32.05)], "g").unwrap();
/// let community = Community { id: 1, code: CommunityCode::parse("320104001001", "code").unwrap(), name: "甲".into(),
///     street_office_id: 1, boundary: strip(118.78), demo: false };
/// let grid = |id: i64, seq: &str, w: f64| Grid { id, code: GridCode::parse(&format!("320104001001{seq}"), "code").unwrap(),
///     name: format!("第{id}网格"), community_id: 1, chief: None, workers: vec![], boundary: strip(w), demo: false, version: 1 };
/// let mut grids = vec![grid(1, "002", 118.780), grid(2, "001", 118.782)]; // numbered east to west
/// let changes = renumber(&community, &grids).unwrap();
/// assert_eq!(changes[0].new.as_str(), "320104001001001");
/// assert_eq!(changes[0].id, 1); // the western grid comes first
/// apply(&mut grids, &changes);
/// assert!(renumber(&community, &grids).unwrap().iter().all(|c| !c.changes()));
/// apply(&mut grids, &invert(&changes));
/// assert_eq!(grids[0].code.as_str(), "320104001001002");
/// ```
pub fn renumber(community: &Community, grids: &[Grid]) -> Result<Vec<CodeChange>, ModelError> {
    if grids.len() > 999 {
        return Err(ModelError::new(
            "grids",
            "too_many_grids",
            format!(
                "community {} has {} grids; a grid sequence has 3 digits (at most 999)",
                community.code,
                grids.len()
            ),
        ));
    }
    let shapes: Vec<&AreaShape> = grids.iter().map(|g| &g.boundary).collect();
    let ids: Vec<i64> = grids.iter().map(|g| g.id).collect();
    sequence_order(&shapes, &ids)
        .into_iter()
        .enumerate()
        .map(|(seq, i)| {
            Ok(CodeChange {
                id: grids[i].id,
                old: grids[i].code.clone(),
                new: GridCode::in_community(&community.code, seq as u16 + 1)?,
            })
        })
        .collect()
}

/// The changes that undo `changes` (old and new swapped).
pub fn invert(changes: &[CodeChange]) -> Vec<CodeChange> {
    changes
        .iter()
        .map(|c| CodeChange {
            id: c.id,
            old: c.new.clone(),
            new: c.old.clone(),
        })
        .collect()
}

/// Gives each grid named in `changes` its new code (grids not named are left alone).
pub fn apply(grids: &mut [Grid], changes: &[CodeChange]) {
    let by_id: std::collections::HashMap<i64, &GridCode> =
        changes.iter().map(|c| (c.id, &c.new)).collect();
    for g in grids {
        if let Some(code) = by_id.get(&g.id) {
            g.code = (*code).clone();
        }
    }
}
