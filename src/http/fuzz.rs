//! Entry points for fuzzing and property tests (issue 8): the request parsers and validators
//! exactly as the handlers call them, without a server. Each returns `Ok` or the error answer it
//! would give; none may panic, whatever the input. Used by `fuzz/` (cargo-fuzz) and
//! `tests/fuzz_props.rs` (proptest).

use axum::extract::FromRequestParts;
use chrono::{TimeZone, Utc};

use super::error::ApiError;
use super::feature;
use super::params::Params;
use crate::model::{Hours, KindCatalogue};

/// A request body as `POST /collections/facilities/items` and `POST /collections/grids/items`
/// read it: the GeoJSON Feature parser, the facility draft and its validation, the grid body and
/// its polygon checks.
pub fn feature_body(body: &[u8], catalogue: &KindCatalogue) -> Result<(), ApiError> {
    let facility = feature::facility_draft(body).and_then(|d| Ok(d.validate(0, catalogue)?));
    let grid = super::grid_writes::GridBody::parse(body);
    let area = feature::parse_feature(body)
        .and_then(|(g, _)| super::boundary_checks::area_from_geometry(g));
    facility.and(grid.map(|_| ())).and(area.map(|_| ()))
}

/// An opening_hours value as a facility write takes it, then evaluated at a few instants.
pub fn opening_hours(text: &str) -> Result<(), ApiError> {
    let hours = Hours::parse_for_write(text, "opening_hours")?;
    let tz = chrono_tz::Asia::Shanghai;
    for (y, m, d, h) in [
        (2026, 1, 1, 9),
        (2026, 2, 17, 23),
        (2026, 10, 1, 12),
        (2026, 11, 23, 3),
    ] {
        let at = Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap();
        let _ = hours.state_at(at, tz);
    }
    Ok(())
}

/// A query string as every GET route reads it (`Params`), then each typed accessor on every
/// parameter it holds.
pub fn query_string(query: &str) -> Result<(), ApiError> {
    let Ok(request) = axum::http::Request::builder()
        .uri(format!("/x?{query}"))
        .body(())
    else {
        return Ok(()); // hyper refuses it before any handler
    };
    let (mut parts, ()) = request.into_parts();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let params = rt.block_on(Params::from_request_parts(&mut parts, &()))?;
    let _ = params.lon_lat();
    let _ = params.bbox();
    for name in [
        "lon", "lat", "k", "limit", "offset", "minutes", "open_now", "at", "as_of",
    ] {
        let _ = params.f64(name);
        let _ = params.count(name, 5, 1..=100);
        let _ = params.flag(name, false);
        let _ = params.instant(name);
    }
    Ok(())
}
