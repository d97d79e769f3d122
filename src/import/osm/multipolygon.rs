//! Multipolygon assembly: member ways are joined end to end into closed rings (by node id, so
//! topology is exact), and the rings are sorted into outers and holes by how they nest.
//!
//! Roles (`outer`, `inner`, empty) are not trusted: a ring inside an odd number of other rings is
//! a hole of the smallest ring around it, any other ring is an outer. This is what osmium does
//! too, and it imports relations whose members have missing or wrong roles.

use std::collections::HashMap;

use geo::orient::{Direction, Orient};
use geo::{
    Area, BooleanOps, Contains, Coord, InteriorPoint, LineString, MultiPolygon, Polygon,
    unary_union,
};

/// Why the member ways of a relation do not make rings.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct AssemblyError {
    /// Machine-readable code, e.g. `open_ring`.
    pub code: &'static str,
    /// A sentence for a person.
    pub message: String,
}

impl AssemblyError {
    fn new(code: &'static str, message: String) -> Self {
        AssemblyError { code, message }
    }
}

impl std::fmt::Display for AssemblyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

/// Joins member ways (node id sequences, in member order) into closed rings of node ids.
///
/// A way that is closed on its own is a ring. Open ways are chained greedily, each ring taking
/// the first unused way that starts or ends where the ring so far ends (reversed if needed).
pub(super) fn join_rings(ways: &[&[i64]]) -> Result<Vec<Vec<i64>>, AssemblyError> {
    let mut rings = Vec::new();
    let mut open: Vec<&[i64]> = Vec::new();
    for &way in ways {
        match way {
            [] | [_] => {
                return Err(AssemblyError::new(
                    "degenerate_member",
                    "a member way has fewer than 2 nodes".into(),
                ));
            }
            [first, .., last] if first == last => rings.push(way.to_vec()),
            _ => open.push(way),
        }
    }
    // End node → open ways that start or end there.
    let mut at_end: HashMap<i64, Vec<usize>> = HashMap::new();
    for (i, way) in open.iter().enumerate() {
        at_end.entry(way[0]).or_default().push(i);
        at_end.entry(way[way.len() - 1]).or_default().push(i);
    }
    let mut used = vec![false; open.len()];
    for start in 0..open.len() {
        if used[start] {
            continue;
        }
        used[start] = true;
        let mut ring = open[start].to_vec();
        while ring[0] != ring[ring.len() - 1] {
            let end = ring[ring.len() - 1];
            let next = at_end
                .get(&end)
                .and_then(|candidates| candidates.iter().copied().find(|&i| !used[i]));
            let Some(next) = next else {
                return Err(AssemblyError::new(
                    "open_ring",
                    format!("the member ways do not close a ring: node/{end} has no continuation"),
                ));
            };
            used[next] = true;
            let way = open[next];
            if way[0] == end {
                ring.extend_from_slice(&way[1..]);
            } else {
                ring.extend(way.iter().rev().skip(1));
            }
        }
        rings.push(ring);
    }
    if rings.is_empty() {
        return Err(AssemblyError::new(
            "no_rings",
            "the relation has no member ways".into(),
        ));
    }
    Ok(rings)
}

/// A closed ring of coordinates with consecutive repeated points removed (the same node twice
/// in a row, or two nodes at the same position).
pub(super) fn ring(coords: impl IntoIterator<Item = Coord<f64>>) -> LineString<f64> {
    let mut out: Vec<Coord<f64>> = Vec::new();
    for c in coords {
        if out.last() != Some(&c) {
            out.push(c);
        }
    }
    LineString::new(out)
}

/// Sorts closed rings into polygons with holes, by nesting depth (see the module docs).
/// Exteriors come out counter-clockwise and holes clockwise (RFC 7946).
pub(super) fn nest_rings(rings: Vec<LineString<f64>>) -> Result<MultiPolygon<f64>, AssemblyError> {
    struct Placed {
        ring: usize,
        polygon: Polygon<f64>,
        area: f64,
        depth: usize,
        /// Index into `outers` for an outer ring; for a hole, its outer's index.
        outer: usize,
    }
    let mut order: Vec<(usize, Polygon<f64>, f64)> = rings
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let polygon = Polygon::new(r, vec![]);
            let area = polygon.unsigned_area();
            (i, polygon, area)
        })
        .collect();
    // Largest first, so every ring's containers are placed before it; ties in input order.
    order.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));

    let mut placed: Vec<Placed> = Vec::with_capacity(order.len());
    let mut outers: Vec<(LineString<f64>, Vec<LineString<f64>>)> = Vec::new();
    for (ring, polygon, area) in order {
        let Some(inside) = polygon.interior_point() else {
            return Err(AssemblyError::new(
                "zero_area",
                format!("ring {} of the relation has no area", ring + 1),
            ));
        };
        let parent = placed
            .iter()
            .filter(|p| p.polygon.contains(&inside))
            .min_by(|a, b| a.area.total_cmp(&b.area).then(a.ring.cmp(&b.ring)));
        let depth = parent.map_or(0, |p| p.depth + 1);
        let outer = if depth % 2 == 0 {
            outers.push((polygon.exterior().clone(), Vec::new()));
            outers.len() - 1
        } else {
            let outer = parent.expect("odd depth has a parent").outer;
            outers[outer].1.push(polygon.exterior().clone());
            outer
        };
        placed.push(Placed {
            ring,
            polygon,
            area,
            depth,
            outer,
        });
    }
    let shape = MultiPolygon(
        outers
            .into_iter()
            .map(|(exterior, holes)| Polygon::new(exterior, holes))
            .collect(),
    );
    Ok(shape.orient(Direction::Default))
}

/// Repairs rings that touch or overlap along a line (two outers sharing a wall, two holes
/// sharing an edge), which OSM tolerates and OGC validity does not: each polygon becomes its
/// exterior minus the union of its holes, and the pieces are unioned (geo's boolean ops, which
/// snap coordinates by about 1e-9 relative). The caller validates the result again.
pub(super) fn repair(shape: &MultiPolygon<f64>) -> MultiPolygon<f64> {
    let pieces: Vec<MultiPolygon<f64>> = shape
        .0
        .iter()
        .map(|p| {
            let exterior = MultiPolygon(vec![Polygon::new(p.exterior().clone(), vec![])]);
            if p.interiors().is_empty() {
                return exterior;
            }
            let holes: Vec<Polygon<f64>> = p
                .interiors()
                .iter()
                .map(|r| Polygon::new(r.clone(), vec![]))
                .collect();
            exterior.difference(&unary_union(&holes))
        })
        .collect();
    unary_union(&pieces).orient(Direction::Default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_open_ways_in_any_direction() {
        let a: &[i64] = &[1, 2, 3];
        let b: &[i64] = &[5, 4, 3]; // reversed
        let c: &[i64] = &[5, 6, 1];
        let rings = join_rings(&[a, b, c]).unwrap();
        assert_eq!(rings, vec![vec![1, 2, 3, 4, 5, 6, 1]]);
    }

    #[test]
    fn reports_open_ring() {
        let a: &[i64] = &[1, 2, 3];
        let b: &[i64] = &[3, 4];
        assert_eq!(join_rings(&[a, b]).unwrap_err().code, "open_ring");
    }

    #[test]
    fn nests_holes_and_islands() {
        let square = |x0: f64, y0: f64, s: f64| {
            ring(
                [
                    (x0, y0),
                    (x0 + s, y0),
                    (x0 + s, y0 + s),
                    (x0, y0 + s),
                    (x0, y0),
                ]
                .map(Coord::from),
            )
        };
        // Outer 10×10, hole 6×6 inside it, island 2×2 inside the hole, separate outer far away.
        let shape = nest_rings(vec![
            square(2.0, 2.0, 6.0),
            square(4.0, 4.0, 2.0),
            square(0.0, 0.0, 10.0),
            square(20.0, 0.0, 1.0),
        ])
        .unwrap();
        assert_eq!(shape.0.len(), 3);
        assert_eq!(shape.0[0].interiors().len(), 1);
        assert!((shape.unsigned_area() - (100.0 - 36.0 + 4.0 + 1.0)).abs() < 1e-9);
    }

    #[test]
    fn repairs_outers_sharing_a_wall_and_holes_sharing_an_edge() {
        use geo::Validation;
        let rect = |x0: f64, y0: f64, x1: f64, y1: f64| {
            ring([(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)].map(Coord::from))
        };
        // Two outers side by side, sharing the wall x = 1; the left one has two holes sharing x = 0.5.
        let shape = nest_rings(vec![
            rect(0.0, 0.0, 1.0, 1.0),
            rect(1.0, 0.0, 2.0, 1.0),
            rect(0.2, 0.2, 0.5, 0.8),
            rect(0.5, 0.2, 0.8, 0.8),
        ])
        .unwrap();
        assert!(!shape.is_valid());
        let repaired = repair(&shape);
        assert!(repaired.is_valid());
        assert_eq!(repaired.0.len(), 1);
        assert!((repaired.unsigned_area() - (2.0 - 0.36)).abs() < 1e-9);
    }
}
