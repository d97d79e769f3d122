//! Answers every write route shares.

use axum::Json;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use geojson::Feature;

/// A written feature: 201 with `Location` on create, 200 on replace.
pub fn written(status: StatusCode, name: &str, id: i64, feature: Feature) -> Response {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        "application/geo+json".parse().expect("static header"),
    );
    if name == "grids"
        && let Some(version) = feature
            .properties
            .as_ref()
            .and_then(|p| p.get("version"))
            .and_then(|v| v.as_i64())
    {
        headers.insert(
            header::ETAG,
            super::extract::etag(version).parse().expect("ascii etag"),
        );
    }
    if status == StatusCode::CREATED {
        headers.insert(
            header::LOCATION,
            format!("/collections/{name}/items/{id}")
                .parse()
                .expect("ascii path"),
        );
    }
    (status, headers, Json(feature)).into_response()
}

/// `response` with `etag` as its ETag header.
pub fn with_etag(mut response: Response, etag: &str) -> Response {
    response
        .headers_mut()
        .insert(header::ETAG, etag.parse().expect("an ETag is ASCII"));
    response
}
