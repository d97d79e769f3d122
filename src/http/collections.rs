//! OGC API Features: `/collections`, `/collections/{name}/items` (bbox, limit, offset, next
//! links) and `/collections/{name}/items/{id}`, plus create / replace / delete for the
//! writable collections (facilities, grids; communities and street offices: create and replace).

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use geojson::Feature;
use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::extract::{Caller, parse_id};
use super::params::Params;
use super::{AppState, admin_areas, facilities, feature, grid_writes};
use crate::readmodel::Snapshot;

/// The collections, in the order `/collections` lists them.
pub const COLLECTIONS: [(&str, &str); 6] = [
    ("street_offices", "Street offices 街道"),
    ("communities", "Communities 社区"),
    ("grids", "Grids 网格"),
    ("buildings", "Buildings 建筑"),
    ("facilities", "Facilities 设施"),
    ("roads", "Streets and paths 道路"),
];

/// Routes of this group.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/collections", get(list))
        .route("/collections/{name}", get(describe))
        .route("/collections/{name}/items", get(items).post(create))
        .route(
            "/collections/{name}/items/{id}",
            get(item).put(replace).delete(remove),
        )
}

fn count(s: &Snapshot, name: &str) -> Option<usize> {
    Some(match name {
        "street_offices" => s.street_offices.items().len(),
        "communities" => s.communities.items().len(),
        "grids" => s.grids.layer.items().len(),
        "buildings" => s.buildings.layer.items().len(),
        "facilities" => s.facilities.layer.items().len(),
        "roads" => s.ways.items().len(),
        _ => return None,
    })
}

fn extent(s: &Snapshot, name: &str) -> Option<geo::Rect<f64>> {
    match name {
        "street_offices" => s.street_offices.extent(),
        "communities" => s.communities.extent(),
        "grids" => s.grids.layer.extent(),
        "buildings" => s.buildings.layer.extent(),
        "facilities" => s.facilities.layer.extent(),
        "roads" => s.ways.extent(),
        _ => None,
    }
}

fn describe_one(s: &Snapshot, name: &str, title: &str) -> Value {
    let bbox = extent(s, name)
        .or_else(|| s.extent())
        .map(|r| vec![vec![r.min().x, r.min().y, r.max().x, r.max().y]]);
    json!({
        "id": name,
        "title": title,
        "itemType": "feature",
        "itemCount": count(s, name),
        "crs": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"],
        "extent": { "spatial": { "bbox": bbox, "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84" } },
        "links": [
            { "rel": "self", "type": "application/json", "href": format!("/collections/{name}") },
            { "rel": "items", "type": "application/geo+json", "href": format!("/collections/{name}/items") },
        ],
    })
}

fn known(name: &str) -> ApiResult<&'static str> {
    COLLECTIONS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            ApiError::not_found(format!(
                "no collection {name:?}; collections: {}",
                COLLECTIONS.map(|c| c.0).join(", ")
            ))
        })
}

/// `GET /collections`
#[utoipa::path(get, path = "/collections", responses((status = 200, description = "The feature collections")))]
pub async fn list(State(state): State<AppState>) -> Json<Value> {
    let s = state.snapshot.current();
    let collections: Vec<Value> = COLLECTIONS
        .iter()
        .map(|(n, t)| describe_one(&s, n, t))
        .collect();
    Json(
        json!({ "collections": collections, "links": [{ "rel": "self", "href": "/collections" }] }),
    )
}

/// `GET /collections/{name}`
#[utoipa::path(get, path = "/collections/{name}", params(("name" = String, Path)), responses((status = 200), (status = 404)))]
pub async fn describe(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<Json<Value>> {
    let title = known(&name)?;
    Ok(Json(describe_one(&state.snapshot.current(), &name, title)))
}

fn feature_of(s: &Snapshot, name: &str, index: usize, now: chrono::DateTime<Utc>) -> Feature {
    match name {
        "street_offices" => feature::street_office(&s.street_offices.items()[index]),
        "communities" => feature::community(&s.communities.items()[index]),
        "grids" => feature::grid(&s.grids.layer.items()[index], s),
        "buildings" => feature::building(&s.buildings.layer.items()[index]),
        "facilities" => feature::facility(&s.facilities.layer.items()[index], s, now),
        "roads" => feature::way(&s.ways.items()[index]),
        _ => unreachable!("collection name checked"),
    }
}

fn matching(s: &Snapshot, name: &str, bbox: Option<geo::Rect<f64>>) -> Vec<usize> {
    match bbox {
        None => (0..count(s, name).unwrap_or(0)).collect(),
        Some(r) => match name {
            "street_offices" => s.street_offices.in_rect(&r),
            "communities" => s.communities.in_rect(&r),
            "grids" => s.grids.layer.in_rect(&r),
            "buildings" => s.buildings.layer.in_rect(&r),
            "facilities" => s.facilities.layer.in_rect(&r),
            "roads" => s.ways.in_rect(&r),
            _ => Vec::new(),
        },
    }
}

/// `GET /collections/{name}/items?bbox=&limit=&offset=`
#[utoipa::path(get, path = "/collections/{name}/items",
    params(("name" = String, Path), ("bbox" = Option<String>, Query, description = "minLon,minLat,maxLon,maxLat"),
           ("limit" = Option<usize>, Query, description = "1..=10000, default 100"), ("offset" = Option<usize>, Query)),
    responses((status = 200, description = "GeoJSON FeatureCollection with numberMatched, numberReturned and next links")))]
pub async fn items(
    State(state): State<AppState>,
    Path(name): Path<String>,
    params: Params,
) -> ApiResult<Response> {
    known(&name)?;
    params.only(&["bbox", "limit", "offset"])?;
    let bbox = params.bbox()?;
    // OGC API Features: a limit above the maximum is not an error; the maximum applies.
    let limit = params
        .count("limit", 100, 1..=usize::MAX)?
        .min(state.limits.max_items);
    let offset = params.count("offset", 0, 0..=usize::MAX)?;
    let s = state.snapshot.current();
    let hits = matching(&s, &name, bbox);
    let now = Utc::now();
    let features: Vec<Feature> = hits
        .iter()
        .skip(offset)
        .take(limit)
        .map(|&i| feature_of(&s, &name, i, now))
        .collect();
    let returned = features.len();
    let page = |off: usize| {
        let mut q = vec![
            ("limit".to_owned(), limit.to_string()),
            ("offset".to_owned(), off.to_string()),
        ];
        if let Some(b) = params.text("bbox") {
            q.insert(0, ("bbox".to_owned(), b.to_owned()));
        }
        format!(
            "/collections/{name}/items?{}",
            serde_urlencoded::to_string(q).expect("plain pairs encode")
        )
    };
    let mut links =
        vec![json!({ "rel": "self", "type": "application/geo+json", "href": page(offset) })];
    if offset + returned < hits.len() {
        links.push(json!({ "rel": "next", "type": "application/geo+json", "href": page(offset + returned) }));
    }
    if offset > 0 {
        links.push(json!({ "rel": "prev", "type": "application/geo+json", "href": page(offset.saturating_sub(limit)) }));
    }
    let body = json!({
        "type": "FeatureCollection",
        "features": features,
        "numberMatched": hits.len(),
        "numberReturned": returned,
        "timeStamp": now.to_rfc3339(),
        "links": links,
    });
    Ok(([(header::CONTENT_TYPE, "application/geo+json")], Json(body)).into_response())
}

/// `GET /collections/{name}/items/{id}`
#[utoipa::path(get, path = "/collections/{name}/items/{id}", params(("name" = String, Path), ("id" = i64, Path)),
    responses((status = 200, description = "GeoJSON Feature"), (status = 404)))]
pub async fn item(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
) -> ApiResult<Response> {
    known(&name)?;
    let id = parse_id(&id)?;
    let s = state.snapshot.current();
    let index = match name.as_str() {
        "street_offices" => s.street_offices.index_of(id),
        "communities" => s.communities.index_of(id),
        "grids" => s.grids.layer.index_of(id),
        "buildings" => s.buildings.layer.index_of(id),
        "facilities" => s.facilities.layer.index_of(id),
        "roads" => s.ways.index_of(id),
        _ => None,
    }
    .ok_or_else(|| ApiError::not_found(format!("no {name} feature with id {id}")))?;
    let mut response = (
        [(header::CONTENT_TYPE, "application/geo+json")],
        Json(feature_of(&s, &name, index, Utc::now())),
    )
        .into_response();
    let etag = match name.as_str() {
        "grids" => Some(super::extract::etag(s.grids.layer.items()[index].version)),
        "facilities" => Some(super::facilities::facility_etag(
            &s.facilities.layer.items()[index],
        )),
        "communities" => Some(admin_areas::community_etag(&s.communities.items()[index])),
        "street_offices" => Some(admin_areas::office_etag(&s.street_offices.items()[index])),
        _ => None,
    };
    if let Some(etag) = etag {
        response
            .headers_mut()
            .insert(header::ETAG, etag.parse().expect("ascii etag"));
    }
    Ok(response)
}

fn read_only(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "read_only_collection",
        format!(
            "collection {name} is read-only over HTTP; facilities, grids, communities and street_offices are writable (communities and street offices: create and replace)"
        ),
    )
}

/// `POST /collections/{name}/items` with a GeoJSON Feature body.
#[utoipa::path(post, path = "/collections/{name}/items", params(("name" = String, Path)), request_body(content = Object, content_type = "application/geo+json"),
    responses((status = 201, description = "Created; Location names the new item"), (status = 400), (status = 409), (status = 413), (status = 422)))]
pub async fn create(
    State(state): State<AppState>,
    Path(name): Path<String>,
    caller: Caller,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Response> {
    known(&name)?;
    let body = body?;
    match name.as_str() {
        "facilities" => facilities::create(&state, &body, &caller).await,
        "grids" => grid_writes::create(&state, &body, &caller).await,
        "communities" => admin_areas::create_community(&state, &body, &caller).await,
        "street_offices" => admin_areas::create_street_office(&state, &body, &caller).await,
        _ => Err(read_only(&name)),
    }
}

/// `PUT /collections/{name}/items/{id}` with a GeoJSON Feature body.
#[utoipa::path(put, path = "/collections/{name}/items/{id}", params(("name" = String, Path), ("id" = i64, Path)), request_body(content = Object, content_type = "application/geo+json"),
    responses((status = 200), (status = 400), (status = 404), (status = 409), (status = 413), (status = 422)))]
pub async fn replace(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
    caller: Caller,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<Response> {
    known(&name)?;
    let id = parse_id(&id)?;
    let body = body?;
    match name.as_str() {
        "facilities" => facilities::replace(&state, id, &body, &caller).await,
        "grids" => grid_writes::replace(&state, id, &body, &caller).await,
        "communities" => admin_areas::replace_community(&state, id, &body, &caller).await,
        "street_offices" => admin_areas::replace_street_office(&state, id, &body, &caller).await,
        _ => Err(read_only(&name)),
    }
}

/// `DELETE /collections/{name}/items/{id}`
#[utoipa::path(delete, path = "/collections/{name}/items/{id}", params(("name" = String, Path), ("id" = i64, Path),
        ("reassign_to" = Option<i64>, Query, description = "grids: the grid of the same community that takes over the deleted grid's area and buildings (required when it has buildings)")),
    responses((status = 204), (status = 404), (status = 409, description = "a grid that still has buildings, without reassign_to")))]
pub async fn remove(
    State(state): State<AppState>,
    Path((name, id)): Path<(String, String)>,
    params: Params,
    caller: Caller,
) -> ApiResult<StatusCode> {
    known(&name)?;
    let id = parse_id(&id)?;
    match name.as_str() {
        "facilities" => facilities::delete(&state, id, &caller).await,
        "grids" => grid_writes::delete(&state, id, &params, &caller).await,
        _ => Err(read_only(&name)),
    }
}
