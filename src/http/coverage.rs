//! `GET /coverage`: which buildings, households and residents are outside a service circle.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::cpu::{run_blocking, run_short};
use super::error::{ApiError, ApiResult};
use super::params::{Params, circle_param, minutes_param, mode_param};
use super::{AppState, feature};
use crate::model::{CircleDef, ReachMode, minutes as to_minutes};
use crate::readmodel::Snapshot;
use crate::readmodel::coverage::{
    BuildingReach, CountedFacilities, CoverageReport, Within, cached_report, report_counted,
};

/// Routes of this group.
pub fn router() -> Router<AppState> {
    Router::new().route("/coverage", get(coverage))
}

/// `at=` as an instant, or `None` (all facilities count, whatever their hours).
pub fn optional_instant(params: &Params) -> ApiResult<Option<DateTime<Utc>>> {
    params.text("at").map(|_| params.instant("at")).transpose()
}

/// The nearest facility of a building's answer.
#[derive(serde::Serialize)]
struct NearestJson<'a> {
    facility_id: i64,
    kind: &'a crate::model::KindId,
    metres: f64,
    minutes: f64,
    name: Option<&'a str>,
}

impl<'a> NearestJson<'a> {
    fn of(s: &'a Snapshot, r: &BuildingReach, speed_kmh: f64) -> Option<NearestJson<'a>> {
        let (f, d) = (r.facility?, r.distance_m?);
        let f = &s.facilities.layer.items()[f];
        Some(NearestJson {
            facility_id: f.id,
            kind: &f.kind,
            metres: feature::tenth(d),
            minutes: feature::tenth(to_minutes(d, speed_kmh)),
            name: f.name.as_deref(),
        })
    }
}

/// A building of a coverage list: its feature properties, its grid and its answer.
#[derive(serde::Serialize)]
struct ReachProperties<'a> {
    #[serde(flatten)]
    building: feature::BuildingProperties<'a>,
    grid_id: Option<i64>,
    nearest: Option<NearestJson<'a>>,
    reason: Option<crate::readmodel::coverage::Reason>,
}

/// One list of buildings (`uncovered`, or the radius comparison's) as a FeatureCollection,
/// written straight from the records (see [`feature::AreaFeature`]); with a page, it carries
/// `numberMatched` and `numberReturned`.
struct BuildingList<'a> {
    s: &'a Snapshot,
    shown: &'a [usize],
    reach: &'a [BuildingReach],
    speed_kmh: f64,
    /// `(numberMatched, numberReturned)` on a page.
    counts: Option<(usize, usize)>,
}

impl<'a> BuildingList<'a> {
    /// Building `i` (an index into the building layer) as a feature of this list.
    fn feature(&self, i: usize) -> feature::AreaFeature<'a, ReachProperties<'a>> {
        let b = &self.s.buildings.layer.items()[i];
        let r = &self.reach[i];
        feature::AreaFeature::new(
            b.id,
            &b.footprint,
            ReachProperties {
                building: feature::BuildingProperties::new(b),
                grid_id: self.s.grid_of_building(i).map(|g| g.id),
                nearest: NearestJson::of(self.s, r, self.speed_kmh),
                reason: r.reason,
            },
        )
    }
}

impl serde::Serialize for BuildingList<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("features", &Features(self))?;
        if let Some((matched, returned)) = self.counts {
            map.serialize_entry("numberMatched", &matched)?;
            map.serialize_entry("numberReturned", &returned)?;
        }
        map.serialize_entry("type", "FeatureCollection")?;
        map.end()
    }
}

/// The features of a [`BuildingList`], written one at a time (never collected first).
struct Features<'l, 'a>(&'l BuildingList<'a>);

impl serde::Serialize for Features<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let list = self.0;
        serializer.collect_seq(list.shown.iter().map(|&i| list.feature(i)))
    }
}

/// How much of the building lists (`uncovered`, and `compare`'s) a `/coverage` answer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// Every building (the default).
    All,
    /// The buildings `offset..offset + limit` of each list (OGC API style paging).
    Page {
        /// First building of the page (0-based, in the list's order).
        offset: usize,
        /// Most buildings in the page.
        limit: usize,
    },
    /// No building lists: summary, breakdown and counts only.
    SummaryOnly,
}

impl Listing {
    /// The part of `list` this listing shows.
    pub fn window<'a>(&self, list: &'a [usize]) -> &'a [usize] {
        match *self {
            Listing::All => list,
            Listing::Page { offset, limit } => {
                let from = offset.min(list.len());
                &list[from..(from.saturating_add(limit)).min(list.len())]
            }
            Listing::SummaryOnly => &[],
        }
    }
}

/// The report as JSON (also used by the CLI), with every uncovered building.
pub fn report_json(
    s: &Snapshot,
    circle: &CircleDef,
    minutes: f64,
    mode: ReachMode,
    at: Option<DateTime<Utc>>,
    r: &CoverageReport,
) -> Value {
    serde_json::to_value(ReportJson::new(
        s,
        circle,
        minutes,
        mode,
        at,
        r,
        Listing::All,
    ))
    .expect("a coverage report serialises")
}

/// A `/coverage` answer in JSON, written straight from the report (no `Value` tree: for a
/// whole city's list of uncovered buildings that tree cost most of the answer's time). With a
/// page, each list carries `numberMatched` and `numberReturned`; with `SummaryOnly`, the lists
/// are left out (`summary.buildings_uncovered` and `compare.count` still count them).
/// Fields are in alphabetical order, as the `Value` maps wrote them.
#[derive(serde::Serialize)]
pub struct ReportJson<'a> {
    at: Option<String>,
    breakdown: &'a [crate::readmodel::coverage::GridRow],
    circle: CircleJson<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    compare: Option<CompareJson<'a>>,
    facilities_counted: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    links: Option<Value>,
    metres: f64,
    minutes: f64,
    mode: ReachMode,
    speed_kmh: f64,
    summary: &'a crate::readmodel::coverage::Summary,
    #[serde(skip_serializing_if = "Option::is_none")]
    uncovered: Option<BuildingList<'a>>,
}

#[derive(serde::Serialize)]
struct CircleJson<'a> {
    id: &'a str,
    kinds: &'a [crate::model::KindId],
    name: &'a str,
    name_en: &'a str,
}

/// The radius comparison: how many buildings the radius circle covers that walking does not.
#[derive(serde::Serialize)]
struct CompareJson<'a> {
    count: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    covered_by_radius_not_by_walking: Option<BuildingList<'a>>,
    households: u64,
    mode: &'static str,
    radius_m: f64,
}

impl<'a> ReportJson<'a> {
    /// The answer for report `r` of `circle`, its lists cut as `listing` says.
    pub fn new(
        s: &'a Snapshot,
        circle: &'a CircleDef,
        minutes: f64,
        mode: ReachMode,
        at: Option<DateTime<Utc>>,
        r: &'a CoverageReport,
        listing: Listing,
    ) -> Self {
        let speed = circle.speed_kmh;
        let list = |all: &'a [usize], reach: &'a [BuildingReach]| {
            (listing != Listing::SummaryOnly).then(|| {
                let shown = listing.window(all);
                BuildingList {
                    s,
                    shown,
                    reach,
                    speed_kmh: speed,
                    counts: matches!(listing, Listing::Page { .. })
                        .then_some((all.len(), shown.len())),
                }
            })
        };
        let radius_m = feature::tenth(crate::model::metres(minutes, speed));
        let compare = match (&r.radius_only, &r.radius) {
            (Some(only), Some(radius)) => Some(CompareJson {
                count: only.len(),
                covered_by_radius_not_by_walking: list(only, &radius.buildings),
                households: only
                    .iter()
                    .map(|&i| u64::from(s.buildings.layer.items()[i].households))
                    .sum(),
                mode: "radius",
                radius_m,
            }),
            _ => None,
        };
        ReportJson {
            at: at.map(|t| t.with_timezone(&s.timezone).to_rfc3339()),
            breakdown: &r.breakdown,
            circle: CircleJson {
                id: &circle.id,
                kinds: &circle.kinds,
                name: &circle.name,
                name_en: &circle.name_en,
            },
            compare,
            facilities_counted: r.reach.facilities_counted,
            links: None,
            metres: radius_m,
            minutes,
            mode,
            speed_kmh: speed,
            summary: &r.summary,
            uncovered: list(&r.uncovered, &r.reach.buildings),
        }
    }

    /// With the paging links (`self`, `next`, `prev`).
    pub fn with_links(mut self, links: Value) -> Self {
        self.links = Some(links);
        self
    }
}

/// CSV of the uncovered buildings: one row each.
pub fn report_csv(s: &Snapshot, circle: &CircleDef, r: &CoverageReport) -> String {
    report_csv_rows(s, circle, r, &r.uncovered)
}

/// CSV of the uncovered buildings `rows` (a window of `r.uncovered`).
pub fn report_csv_rows(
    s: &Snapshot,
    circle: &CircleDef,
    r: &CoverageReport,
    rows: &[usize],
) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "building_id",
        "osm",
        "name",
        "households",
        "residents",
        "grid_code",
        "reason",
        "nearest_facility_id",
        "nearest_name",
        "metres",
        "minutes",
        "lon",
        "lat",
    ])
    .expect("in-memory csv");
    for &i in rows {
        let b = &s.buildings.layer.items()[i];
        let reach = &r.reach.buildings[i];
        let nearest = reach.facility.map(|f| &s.facilities.layer.items()[f]);
        let reason = serde_json::to_value(reach.reason).expect("reason serialises");
        w.write_record([
            b.id.to_string(),
            b.osm.to_string(),
            b.name.clone().unwrap_or_default(),
            b.households.to_string(),
            b.residents.to_string(),
            s.grid_of_building(i)
                .map(|g| g.code.to_string())
                .unwrap_or_default(),
            reason.as_str().unwrap_or_default().to_owned(),
            nearest.map(|f| f.id.to_string()).unwrap_or_default(),
            nearest.and_then(|f| f.name.clone()).unwrap_or_default(),
            reach
                .distance_m
                .map(|d| format!("{:.1}", d))
                .unwrap_or_default(),
            reach
                .distance_m
                .map(|d| format!("{:.1}", to_minutes(d, circle.speed_kmh)))
                .unwrap_or_default(),
            format!("{:.7}", b.point.lon()),
            format!("{:.7}", b.point.lat()),
        ])
        .expect("in-memory csv");
    }
    String::from_utf8(w.into_inner().expect("in-memory csv")).expect("utf-8 csv")
}

/// The `/coverage` link to the page starting at `offset` (all other parameters kept).
fn page_link(params: &Params, offset: usize, limit: usize) -> String {
    let mut q: Vec<(&str, String)> = params
        .pairs()
        .filter(|(k, _)| !matches!(*k, "offset" | "limit"))
        .map(|(k, v)| (k, v.to_owned()))
        .collect();
    q.push(("limit", limit.to_string()));
    q.push(("offset", offset.to_string()));
    format!(
        "/coverage?{}",
        serde_urlencoded::to_string(q).expect("plain pairs encode")
    )
}

/// `self`, `next` and `prev` links of a page whose longest list has `matched` buildings.
fn page_links(
    params: &Params,
    offset: usize,
    limit: usize,
    matched: usize,
    media: &str,
) -> Vec<Value> {
    let mut links =
        vec![json!({ "rel": "self", "type": media, "href": page_link(params, offset, limit) })];
    if offset.saturating_add(limit) < matched {
        links.push(json!({ "rel": "next", "type": media, "href": page_link(params, offset + limit, limit) }));
    }
    if offset > 0 {
        links.push(json!({ "rel": "prev", "type": media, "href": page_link(params, offset.saturating_sub(limit), limit) }));
    }
    links
}

/// `GET /coverage?circle=&mode=walk|radius&minutes=&at=&within=&compare=radius&format=json|csv&limit=&offset=&summary_only=`
#[utoipa::path(get, path = "/coverage",
    params(("circle" = String, Query, description = "circle id or name: government/政务, daily_life/生活, health/健康, culture_sports/文体, safety/平安"),
           ("mode" = Option<String>, Query, description = "walk (street network) or radius (crow-fly); default the circle's"),
           ("minutes" = Option<f64>, Query, description = "budget, (0, 60]; default the circle's (10)"),
           ("at" = Option<String>, Query, description = "RFC 3339 instant: only facilities open then count"),
           ("within" = Option<String>, Query, description = "grid:ID, community:ID or street_office:ID"),
           ("compare" = Option<String>, Query, description = "radius: also list buildings the radius circle covers but walking does not"),
           ("format" = Option<String>, Query, description = "json (default) or csv (uncovered buildings)"),
           ("limit" = Option<usize>, Query, description = "page the building lists: at most this many buildings of each list (1..=10000; above the server's maximum, the maximum applies). Without limit and offset, every uncovered building is listed (the default). A page's lists carry numberMatched and numberReturned and the answer has self/next/prev links (CSV: a Link header)"),
           ("offset" = Option<usize>, Query, description = "first building of the page, 0-based, in the list's order (most households first); default 0. Given alone, the page has the default limit of 100"),
           ("summary_only" = Option<bool>, Query, description = "true: leave the building lists out (summary, breakdown and counts only); JSON only, not with limit/offset")),
    responses((status = 200, description = "summary, per-grid breakdown, uncovered buildings (GeoJSON) with nearest facility, metres, minutes and reason; paged with limit/offset, or without the lists with summary_only=true"), (status = 400), (status = 422)))]
pub async fn coverage(State(state): State<AppState>, params: Params) -> ApiResult<Response> {
    params.only(&[
        "circle",
        "mode",
        "minutes",
        "at",
        "within",
        "compare",
        "format",
        "limit",
        "offset",
        "summary_only",
    ])?;
    let s = state.snapshot.current();
    let circle = circle_param(&s, &params)?;
    let minutes = minutes_param(&params, circle.minutes)?;
    let mode = mode_param(&params, circle.mode)?;
    let at = optional_instant(&params)?;
    let within: Option<Within> = params.text("within").map(str::parse).transpose()?;
    let compare = match params.text("compare") {
        None => false,
        Some("radius") => true,
        Some(other) => {
            return Err(ApiError::invalid(
                "compare",
                "bad_compare",
                format!("compare takes only 'radius', got {other:?}"),
            ));
        }
    };
    let format = params.text("format").unwrap_or("json").to_owned();
    if !matches!(format.as_str(), "json" | "csv") {
        return Err(ApiError::invalid(
            "format",
            "bad_format",
            "format is json or csv",
        ));
    }
    let summary_only = params.flag("summary_only", false)?;
    let paged = params.text("limit").is_some() || params.text("offset").is_some();
    let listing = if summary_only {
        if paged {
            let field = if params.text("limit").is_some() {
                "limit"
            } else {
                "offset"
            };
            return Err(ApiError::invalid(
                field,
                "conflicting_parameters",
                "summary_only=true lists no buildings: leave out limit and offset",
            ));
        }
        if format == "csv" {
            return Err(ApiError::invalid(
                "summary_only",
                "conflicting_parameters",
                "summary_only applies to format=json (the CSV is the list of uncovered buildings)",
            ));
        }
        Listing::SummaryOnly
    } else if paged {
        // As OGC API Features: a limit above the maximum is not an error; the maximum applies.
        let limit = params
            .count("limit", 100, 1..=usize::MAX)?
            .min(state.limits.max_items);
        let offset = params.count("offset", 0, 0..=usize::MAX)?;
        Listing::Page { offset, limit }
    } else {
        Listing::All
    };
    // The pass over every building is CPU work: keep it off the async workers, under the CPU
    // bound. A page or summary of a report already cached costs one page's serialisation: it
    // runs off the async workers too, but without waiting for a permit (see `run_short`).
    // Which facilities count is worked out here only where the cache lookup needs it (a page
    // or summary); a whole report works it out in its blocking task, as it always did.
    let counted = (listing != Listing::All).then(|| CountedFacilities::of(&s, circle, at));
    let cached = counted
        .as_ref()
        .and_then(|c| cached_report(&s, circle, minutes, mode, c, within, compare));
    let short = cached.is_some();
    let s2 = s.clone();
    let circle = circle.clone();
    let work = move || {
        let r = match cached {
            Some(r) => r,
            None => {
                let counted = counted.unwrap_or_else(|| CountedFacilities::of(&s2, &circle, at));
                report_counted(&s2, &circle, minutes, mode, &counted, within, compare)?
            }
        };
        let links = |media: &str| match listing {
            Listing::Page { offset, limit } => {
                let matched = r
                    .uncovered
                    .len()
                    .max(r.radius_only.as_ref().map_or(0, Vec::len));
                Some(page_links(&params, offset, limit, matched, media))
            }
            _ => None,
        };
        Ok::<_, crate::model::ModelError>(if format == "csv" {
            let csv = report_csv_rows(&s2, &circle, &r, listing.window(&r.uncovered));
            let mut response =
                ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], csv).into_response();
            if let Some(links) = links("text/csv") {
                // RFC 8288 Link header: the same self/next/prev links as the JSON answer.
                let value = links
                    .iter()
                    .map(|l| {
                        format!(
                            "<{}>; rel=\"{}\"",
                            l["href"].as_str().unwrap_or(""),
                            l["rel"].as_str().unwrap_or("")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                if let Ok(v) = header::HeaderValue::from_str(&value) {
                    response.headers_mut().insert(header::LINK, v);
                }
            }
            response
        } else {
            let mut body = ReportJson::new(&s2, &circle, minutes, mode, at, &r, listing);
            if let Some(links) = links("application/json") {
                body = body.with_links(json!(links));
            }
            Json(body).into_response()
        })
    };
    let result = if short {
        run_short(work).await??
    } else {
        run_blocking(&state, work).await??
    };
    Ok(result)
}
