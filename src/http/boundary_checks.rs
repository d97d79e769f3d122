//! The topology checks as the HTTP layer applies them: raw geometry through
//! [`grids::check_raw`], reports into 422 answers that list every problem with its kind, the
//! other party's id and the geometry to draw in red.

use geojson::GeometryValue;
use serde_json::{Value, json};

use crate::grids::{self, Problem, ProblemKind, TopologyConfig, TopologyReport};
use crate::http::error::{ApiError, ApiResult};
use crate::http::feature::require_geometry;
use crate::model::{AreaShape, LonLat};
use crate::readmodel::Snapshot;

/// The thresholds as JSON, returned with every check so a client can say what it was held to.
pub fn rules_json(config: &TopologyConfig) -> Value {
    json!({
        "tolerance_m": config.tolerance_m,
        "cut_building_share": config.cut_building_share,
        "households": config.households.as_ref().map(|r| json!([r.start(), r.end()])),
    })
}

/// Problems as JSON (GeoJSON geometries).
pub fn problems_json(problems: &[Problem]) -> Value {
    serde_json::to_value(problems).expect("problems serialise")
}

/// A validated area from a Feature's Polygon or MultiPolygon. A polygon that is not valid is a
/// 422 whose `problems` hold one problem: where it crosses itself, or the shape as given.
pub fn area_from_geometry(geometry: Option<geojson::Geometry>) -> ApiResult<AreaShape> {
    raw_area(geometry).map_err(|r| r.0)
}

/// Why a body was refused: the answer, and the raw-geometry problem when that was the cause.
pub type Refusal = Box<(ApiError, Option<Problem>)>;

/// A refusal that is not about the polygon's own validity.
pub fn plain(error: impl Into<ApiError>) -> Refusal {
    Box::new((error.into(), None))
}

/// [`area_from_geometry`], also giving the problem itself (for `/grids/validate`).
pub fn raw_area(geometry: Option<geojson::Geometry>) -> Result<AreaShape, Refusal> {
    let value = require_geometry(geometry, &["Polygon", "MultiPolygon"]).map_err(plain)?;
    let rings: Vec<&Vec<geojson::Position>> = match &value {
        GeometryValue::Polygon { coordinates } => coordinates.iter().collect(),
        GeometryValue::MultiPolygon { coordinates } => coordinates.iter().flatten().collect(),
        _ => unreachable!("type checked above"),
    };
    for ring in rings {
        if ring.len() < 4 || ring.first() != ring.last() {
            return Err(plain(ApiError::invalid(
                "geometry",
                "unclosed_ring",
                "each ring needs at least 4 positions and must end where it starts (RFC 7946)",
            )));
        }
        if ring.iter().any(|p| p.len() != 2) {
            return Err(plain(ApiError::invalid(
                "geometry",
                "bad_position",
                "a position is [lon, lat]",
            )));
        }
    }
    let shape: geo::Geometry<f64> = value.try_into().map_err(|e: geojson::Error| {
        plain(ApiError::invalid(
            "geometry",
            "invalid_geojson",
            format!("invalid geometry: {e}"),
        ))
    })?;
    let multi = match shape {
        geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
        geo::Geometry::MultiPolygon(m) => m,
        _ => unreachable!("type checked above"),
    };
    match AreaShape::from_multi_polygon(multi.clone(), "geometry") {
        Ok(area) => Ok(area),
        Err(model) => {
            let problem = match grids::check_raw(multi, "geometry") {
                Err(p) => p,
                Ok(_) => unreachable!("check_raw and AreaShape agree"),
            };
            let message = if problem.kind == ProblemKind::SelfIntersection {
                problem.message.clone()
            } else {
                model.message.clone()
            };
            let error = ApiError::invalid(&model.field, model.code, message)
                .with("problems", problems_json(std::slice::from_ref(&problem)));
            Err(Box::new((error, Some(problem))))
        }
    }
}

/// 422 `topology`: the report's errors as `problems`, its warnings as `warnings`.
pub fn topology_error(noun: &str, report: &TopologyReport) -> ApiError {
    let list: Vec<String> = report
        .errors
        .iter()
        .map(|p| match p.other_id {
            Some(id) => format!("{} (with {id})", p.kind),
            None => p.kind.to_string(),
        })
        .collect();
    let field = if report
        .errors
        .iter()
        .all(|p| p.kind == ProblemKind::DuplicateCode)
    {
        "properties.code"
    } else {
        "geometry"
    };
    ApiError::invalid(
        field,
        "topology",
        format!(
            "the {noun} fails {} topology check{}: {}; nothing was saved",
            report.errors.len(),
            if report.errors.len() == 1 { "" } else { "s" },
            list.join(", ")
        ),
    )
    .with("problems", problems_json(&report.errors))
    .with("warnings", problems_json(&report.warnings))
}

/// `{ok, errors, warnings}` for `/grids/validate`.
pub fn report_json(report: &TopologyReport) -> Value {
    json!({
        "ok": report.is_ok(),
        "errors": problems_json(&report.errors),
        "warnings": problems_json(&report.warnings),
    })
}

/// Refuses an area with a vertex outside the data's extent (+ margin): a sign of [lat, lon].
pub fn in_service_area(snapshot: &Snapshot, area: &AreaShape, margin_m: f64) -> ApiResult<()> {
    for c in area.shape().0.iter().flat_map(|p| p.exterior().coords()) {
        let p = LonLat::new(c.x, c.y)?;
        if !snapshot.serves(p, margin_m) {
            return Err(ApiError::invalid(
                "geometry",
                "outside_service_area",
                format!(
                    "vertex ({}, {}) is outside the area this service covers; GeoJSON positions are [lon, lat]",
                    c.x, c.y
                ),
            ));
        }
    }
    Ok(())
}
