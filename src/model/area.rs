//! A validated polygonal area in WGS 84: boundaries of grids, communities, street offices
//! and building footprints.

use geo::{
    Area, BoundingRect, Centroid, ChamberlainDuquetteArea, Contains, InteriorPoint, MultiPolygon,
    Polygon, Rect, Validation,
};

use super::{LonLat, ModelError};

/// A polygon or multipolygon that is closed, has at least three distinct points per ring,
/// positive area, no self-intersection, and coordinates in WGS 84 range.
///
/// Building one runs every check; an `Area` that exists is valid.
///
/// ```
/// use geo::polygon;
/// use gridcircle::model::AreaShape;
/// let square = polygon![(x: 118.78, y: 32.04), (x: 118.79, y: 32.04), (x: 118.79, y: 32.05), (x: 118.78, y: 32.05)];
/// let area = AreaShape::from_polygon(square, "geometry").unwrap();
/// assert!((area.area_m2() - 1_046_000.0).abs() < 10_000.0);
/// let bowtie = polygon![(x: 118.78, y: 32.04), (x: 118.79, y: 32.05), (x: 118.79, y: 32.04), (x: 118.78, y: 32.05)];
/// assert_eq!(AreaShape::from_polygon(bowtie, "geometry").unwrap_err().code, "self_intersection");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct AreaShape {
    shape: MultiPolygon<f64>,
    bbox: Rect<f64>,
    area_m2: f64,
}

impl AreaShape {
    /// Validates a single polygon. `field` names the input for error messages.
    pub fn from_polygon(polygon: Polygon<f64>, field: &str) -> Result<Self, ModelError> {
        Self::from_multi_polygon(MultiPolygon(vec![polygon]), field)
    }

    /// Validates a multipolygon (several outer rings, each with holes).
    pub fn from_multi_polygon(shape: MultiPolygon<f64>, field: &str) -> Result<Self, ModelError> {
        if shape.0.is_empty() {
            return Err(ModelError::new(
                field,
                "empty_geometry",
                "the polygon has no rings",
            ));
        }
        for polygon in &shape.0 {
            for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                for c in ring.coords() {
                    LonLat::new(c.x, c.y).map_err(|e| {
                        ModelError::new(
                            field,
                            e.code,
                            format!("a coordinate is invalid: {}", e.message),
                        )
                    })?;
                }
                let mut distinct: Vec<(u64, u64)> = ring
                    .coords()
                    .map(|c| (c.x.to_bits(), c.y.to_bits()))
                    .collect();
                distinct.sort_unstable();
                distinct.dedup();
                if distinct.len() < 3 {
                    return Err(ModelError::new(
                        field,
                        "too_few_points",
                        "a ring needs at least 3 distinct points",
                    ));
                }
            }
        }
        if let Err(problem) = shape.check_validation() {
            let text = problem.to_string();
            let code = if text.contains("intersect") {
                "self_intersection"
            } else {
                "invalid_polygon"
            };
            return Err(ModelError::new(
                field,
                code,
                format!("invalid polygon: {text}"),
            ));
        }
        let area_m2 = spherical_area_m2(&shape);
        // Written so that a NaN area fails too (`area_m2 <= 0.0` would let it through).
        #[allow(clippy::neg_cmp_op_on_partial_ord)]
        let no_area = !(area_m2 > 0.0);
        if no_area || shape.unsigned_area() <= 0.0 {
            return Err(ModelError::new(
                field,
                "zero_area",
                "the polygon has no area",
            ));
        }
        let bbox = shape
            .bounding_rect()
            .expect("non-empty multipolygon has a bounding box");
        Ok(AreaShape {
            shape,
            bbox,
            area_m2,
        })
    }

    /// The geometry.
    pub fn shape(&self) -> &MultiPolygon<f64> {
        &self.shape
    }

    /// Bounding box in degrees.
    pub fn bbox(&self) -> Rect<f64> {
        self.bbox
    }

    /// Area on the sphere in square metres.
    pub fn area_m2(&self) -> f64 {
        self.area_m2
    }

    /// True when `p` is inside the area or on its boundary.
    pub fn contains(&self, p: LonLat) -> bool {
        in_bbox(self.bbox, p) && geo::Intersects::intersects(&self.shape, &p.point())
    }

    /// The representative point: the centroid when it lies inside the area, otherwise an
    /// interior point (as for an L- or U-shaped building).
    pub fn representative_point(&self) -> LonLat {
        let inside = |p: geo::Point<f64>| self.shape.contains(&p);
        let point = match self.shape.centroid() {
            Some(c) if inside(c) => c,
            _ => self
                .shape
                .interior_point()
                .expect("valid area has an interior point"),
        };
        LonLat::new(point.x(), point.y()).expect("a point inside a valid area is in range")
    }
}

/// Area on the sphere (Chamberlain–Duquette) with holes subtracted whatever the rings'
/// orientation. geo 0.33's polygon impl subtracts *signed* hole areas, which adds the holes of a
/// correctly oriented polygon (exterior counter-clockwise, holes clockwise).
fn spherical_area_m2(shape: &MultiPolygon<f64>) -> f64 {
    let ring = |r: &geo::LineString<f64>| {
        Polygon::new(r.clone(), vec![]).chamberlain_duquette_unsigned_area()
    };
    shape
        .0
        .iter()
        .map(|p| ring(p.exterior()) - p.interiors().iter().map(ring).sum::<f64>())
        .sum()
}

fn in_bbox(bbox: Rect<f64>, p: LonLat) -> bool {
    let (min, max) = (bbox.min(), bbox.max());
    (min.x..=max.x).contains(&p.lon()) && (min.y..=max.y).contains(&p.lat())
}
