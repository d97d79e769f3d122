//! Query-string parsing with field-level errors. Unknown parameters are refused, so a typo
//! (`lng=`) is an error rather than a silently ignored filter.

use std::collections::BTreeMap;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};

use super::error::{ApiError, ApiResult};
use crate::model::{CircleDef, LonLat, ReachMode, parse_minutes};
use crate::readmodel::Snapshot;

/// The parsed query string of one request.
#[derive(Debug, Default)]
pub struct Params(BTreeMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let raw = parts.uri.query().unwrap_or("");
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw).map_err(|e| {
            ApiError::bad_request(
                "bad_query",
                None,
                format!("cannot read the query string: {e}"),
            )
        })?;
        let mut map = BTreeMap::new();
        for (k, v) in pairs {
            if map.insert(k.clone(), v).is_some() {
                return Err(ApiError::bad_request(
                    "bad_query",
                    Some(&k),
                    format!("parameter {k} is given twice"),
                ));
            }
        }
        Ok(Params(map))
    }
}

impl Params {
    /// Refuses parameters not in `known`.
    pub fn only(&self, known: &[&str]) -> Result<(), ApiError> {
        match self.0.keys().find(|k| !known.contains(&k.as_str())) {
            Some(k) => Err(ApiError::bad_request(
                "unknown_parameter",
                Some(k),
                format!(
                    "unknown parameter {k:?}; this route takes: {}",
                    known.join(", ")
                ),
            )),
            None => Ok(()),
        }
    }

    /// Every parameter and its raw value, in name order (to build links to other pages).
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The raw value, if present.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A required parameter.
    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.text(name).ok_or_else(|| {
            ApiError::bad_request(
                "missing_parameter",
                Some(name),
                format!("parameter {name} is required"),
            )
        })
    }

    /// A number, if present.
    pub fn f64(&self, name: &str) -> Result<Option<f64>, ApiError> {
        self.text(name)
            .map(|v| {
                v.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            "not_a_number",
                            Some(name),
                            format!("{name} must be a number, got {v:?}"),
                        )
                    })
            })
            .transpose()
    }

    /// A whole number in `range`, or `default` when absent.
    pub fn count(
        &self,
        name: &str,
        default: usize,
        range: std::ops::RangeInclusive<usize>,
    ) -> Result<usize, ApiError> {
        let Some(v) = self.text(name) else {
            return Ok(default);
        };
        let n: usize = v.parse().map_err(|_| {
            ApiError::bad_request(
                "not_a_number",
                Some(name),
                format!("{name} must be a whole number, got {v:?}"),
            )
        })?;
        if !range.contains(&n) {
            return Err(ApiError::invalid(
                name,
                "out_of_range",
                format!(
                    "{name} must be between {} and {}, got {n}",
                    range.start(),
                    range.end()
                ),
            ));
        }
        Ok(n)
    }

    /// `true`/`false` (also 1/0), or `default` when absent.
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, ApiError> {
        match self.text(name) {
            None => Ok(default),
            Some("true" | "1") => Ok(true),
            Some("false" | "0") => Ok(false),
            Some(v) => Err(ApiError::bad_request(
                "not_a_boolean",
                Some(name),
                format!("{name} must be true or false, got {v:?}"),
            )),
        }
    }

    /// The required `lon` and `lat` pair.
    pub fn lon_lat(&self) -> Result<LonLat, ApiError> {
        let lon = self.f64("lon")?.ok_or_else(|| {
            ApiError::bad_request(
                "missing_parameter",
                Some("lon"),
                "parameter lon is required",
            )
        })?;
        let lat = self.f64("lat")?.ok_or_else(|| {
            ApiError::bad_request(
                "missing_parameter",
                Some("lat"),
                "parameter lat is required",
            )
        })?;
        Ok(LonLat::new(lon, lat)?)
    }

    /// An ISO-8601 / RFC 3339 instant (`2026-11-23T09:30:00+08:00`), or now.
    pub fn instant(&self, name: &str) -> Result<DateTime<Utc>, ApiError> {
        match self.text(name) {
            None => Ok(Utc::now()),
            Some(v) => DateTime::parse_from_rfc3339(v)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|e| {
                    ApiError::bad_request(
                        "bad_instant",
                        Some(name),
                        format!(
                            "{name} must be an RFC 3339 time such as 2026-11-23T09:30:00+08:00: {e}"
                        ),
                    )
                }),
        }
    }

    /// `bbox=minLon,minLat,maxLon,maxLat`, if present.
    pub fn bbox(&self) -> Result<Option<geo::Rect<f64>>, ApiError> {
        let Some(v) = self.text("bbox") else {
            return Ok(None);
        };
        let bad = |m: &str| {
            ApiError::bad_request(
                "bad_bbox",
                Some("bbox"),
                format!("bbox must be minLon,minLat,maxLon,maxLat: {m}"),
            )
        };
        let n: Vec<f64> = v
            .split(',')
            .map(|s| s.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| bad("not numbers"))?;
        if n.len() != 4 {
            return Err(bad("need exactly 4 numbers"));
        }
        let (a, b) = (LonLat::new(n[0], n[1])?, LonLat::new(n[2], n[3])?);
        if a.lon() > b.lon() || a.lat() > b.lat() {
            return Err(bad("min must not exceed max"));
        }
        Ok(Some(geo::Rect::new((a.lon(), a.lat()), (b.lon(), b.lat()))))
    }
}

// ---------------------------------------------------------------- typed parameters shared by routes

/// The circle named by `circle=` (id or Chinese name), 422 when unknown.
pub fn circle_param<'a>(s: &'a Snapshot, params: &Params) -> ApiResult<&'a CircleDef> {
    let name = params.required("circle")?;
    s.circle(name).ok_or_else(|| {
        ApiError::invalid(
            "circle",
            "unknown_circle",
            format!(
                "unknown circle {name:?}; circles: {}",
                s.circles
                    .iter()
                    .map(|c| format!("{} ({})", c.id, c.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })
}

/// `minutes=` (default the circle's), checked to (0, 60].
pub fn minutes_param(params: &Params, default: f64) -> ApiResult<f64> {
    Ok(parse_minutes(
        params.f64("minutes")?.unwrap_or(default),
        "minutes",
    )?)
}

/// `mode=walk|radius` (default the circle's).
pub fn mode_param(params: &Params, default: ReachMode) -> ApiResult<ReachMode> {
    Ok(params
        .text("mode")
        .map(str::parse)
        .transpose()?
        .unwrap_or(default))
}
