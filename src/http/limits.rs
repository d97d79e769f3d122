//! Input hardening at the edge (issue 8): rate limits, GeoJSON size limits, CORS, security
//! headers, and JSON bodies on every error answer.
//!
//! - **Rate limits** (tower_governor, with its standard `x-ratelimit-limit`,
//!   `x-ratelimit-remaining`, and on 429 `retry-after` / `x-ratelimit-after` headers): anonymous
//!   callers per client IP, authenticated callers per token, each with its own quota
//!   ([`RateLimits`]). The 429 answer is the usual JSON error.
//! - **GeoJSON limits**: a write body is read (up to the body limit: 413 beyond) and, when it is
//!   JSON, no geometry may have more than `max_vertices` positions and no collection more than
//!   `max_features` features (422 `too_many_vertices` / `too_many_features`), before any handler
//!   parses it into geometry.
//! - **CORS**: only the configured origins; none configured means same-origin only.
//! - **Security headers** on every answer (the web pages included): `nosniff`, no framing, no
//!   referrer, a Content-Security-Policy that allows only this origin.
//! - **JSON errors**: an error produced outside the handlers (unknown method, timeout…) gets
//!   the same `{error, message}` body as the handlers' errors.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tower::ServiceExt;
use tower_governor::GovernorError;
use tower_governor::governor::{Governor, GovernorConfig, GovernorConfigBuilder};
use tower_governor::key_extractor::KeyExtractor;
use tower_http::cors::{AllowOrigin, CorsLayer};

use super::error::ApiError;
use crate::auth::Principal;

/// Requests per second and burst, for one class of caller. `per_second == 0` turns it off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Sustained requests per second.
    pub per_second: u32,
    /// How many may come at once.
    pub burst: u32,
}

/// The rate limits of both classes of caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Anonymous callers, per client IP. Default 30/s, burst 300 (a map page loading tiles).
    pub anonymous: Quota,
    /// Callers with a valid token, per token. Default 100/s, burst 500.
    pub authenticated: Quota,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            anonymous: Quota {
                per_second: 30,
                burst: 300,
            },
            authenticated: Quota {
                per_second: 100,
                burst: 500,
            },
        }
    }
}

/// The client IP of a request (the TCP peer; unspecified when the app runs without one, as in
/// in-process tests).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp;

impl KeyExtractor for ClientIp {
    type Key = IpAddr;
    fn extract<T>(&self, req: &axum::http::Request<T>) -> Result<IpAddr, GovernorError> {
        Ok(req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)))
    }
}

/// The token of an authenticated request.
#[derive(Debug, Clone, Copy)]
pub struct TokenKey;

impl KeyExtractor for TokenKey {
    type Key = i64;
    fn extract<T>(&self, req: &axum::http::Request<T>) -> Result<i64, GovernorError> {
        req.extensions()
            .get::<Principal>()
            .map(|p| p.token_id)
            .ok_or(GovernorError::UnableToExtractKey)
    }
}

type Config<K> = GovernorConfig<K, governor::middleware::StateInformationMiddleware>;

/// The two limiters, shared by every request.
#[derive(Clone)]
pub struct Limiters {
    anonymous: Option<Arc<Config<ClientIp>>>,
    authenticated: Option<Arc<Config<TokenKey>>>,
}

fn config<K: KeyExtractor>(key: K, q: Quota) -> Option<Arc<Config<K>>> {
    if q.per_second == 0 {
        return None;
    }
    let period = Duration::from_nanos(1_000_000_000 / u64::from(q.per_second));
    GovernorConfigBuilder::default()
        .key_extractor(key)
        .period(period)
        .burst_size(q.burst.max(1))
        .use_headers()
        .finish()
        .map(Arc::new)
}

impl Limiters {
    /// Limiters for `limits`; forgets idle callers every minute when a runtime is running.
    pub fn new(limits: RateLimits) -> Self {
        let l = Limiters {
            anonymous: config(ClientIp, limits.anonymous),
            authenticated: config(TokenKey, limits.authenticated),
        };
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let weak_a = l.anonymous.as_ref().map(Arc::downgrade);
            let weak_t = l.authenticated.as_ref().map(Arc::downgrade);
            rt.spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs(60));
                loop {
                    tick.tick().await;
                    let a = weak_a.as_ref().and_then(std::sync::Weak::upgrade);
                    let t = weak_t.as_ref().and_then(std::sync::Weak::upgrade);
                    if a.is_none() && t.is_none() {
                        break;
                    }
                    if let Some(a) = a {
                        a.limiter().retain_recent();
                    }
                    if let Some(t) = t {
                        t.limiter().retain_recent();
                    }
                }
            });
        }
        l
    }
}

fn too_many(e: GovernorError) -> Response {
    match e {
        GovernorError::TooManyRequests { wait_time, headers } => {
            let mut r = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests; try again in {wait_time} s"),
            )
            .into_response();
            if let Some(h) = headers {
                r.headers_mut().extend(h);
            }
            r
        }
        other => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "rate_limit_failed",
            other.to_string(),
        )
        .into_response(),
    }
}

/// Middleware: the caller's quota (per token when authenticated, per IP otherwise).
pub async fn rate_limit(
    State(limiters): State<Limiters>,
    request: Request,
    next: Next,
) -> Response {
    let result = if request.extensions().get::<Principal>().is_some() {
        match &limiters.authenticated {
            Some(c) => {
                Governor::new(next, c)
                    .error_handler(too_many)
                    .oneshot(request)
                    .await
            }
            None => Ok(next.run(request).await),
        }
    } else {
        match &limiters.anonymous {
            Some(c) => {
                Governor::new(next, c)
                    .error_handler(too_many)
                    .oneshot(request)
                    .await
            }
            None => Ok(next.run(request).await),
        }
    };
    match result {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

/// Size limits of GeoJSON in request bodies.
#[derive(Debug, Clone, Copy)]
pub struct GeoJsonLimits {
    /// Largest body, bytes.
    pub body_bytes: usize,
    /// Most positions in one geometry.
    pub max_vertices: usize,
    /// Most features in one request.
    pub max_features: usize,
}

/// Positions in a GeoJSON `coordinates` value (arrays whose first element is a number).
fn positions(v: &Value) -> usize {
    match v {
        Value::Array(a) if a.first().is_some_and(Value::is_number) => 1,
        Value::Array(a) => a.iter().map(positions).sum(),
        _ => 0,
    }
}

/// The first limit `v` breaks: (code, field, message).
fn over_limit(v: &Value, l: &GeoJsonLimits, path: &str) -> Option<(&'static str, String, String)> {
    match v {
        Value::Object(o) => {
            if let Some(c) = o.get("coordinates") {
                let n = positions(c);
                if n > l.max_vertices {
                    let field = if path.is_empty() {
                        "geometry".to_owned()
                    } else {
                        path.to_owned()
                    };
                    return Some((
                        "too_many_vertices",
                        field,
                        format!(
                            "a geometry has {n} positions; at most {} are accepted",
                            l.max_vertices
                        ),
                    ));
                }
            }
            if let Some(Value::Array(f)) = o.get("features")
                && f.len() > l.max_features
            {
                return Some((
                    "too_many_features",
                    "features".into(),
                    format!(
                        "{} features in one request; at most {} are accepted",
                        f.len(),
                        l.max_features
                    ),
                ));
            }
            if let Some(Value::Array(g)) = o.get("geometries")
                && g.len() > l.max_features
            {
                return Some((
                    "too_many_features",
                    "geometries".into(),
                    format!(
                        "{} geometries in one request; at most {} are accepted",
                        g.len(),
                        l.max_features
                    ),
                ));
            }
            o.iter()
                .filter(|(k, _)| *k != "coordinates")
                .find_map(|(k, v)| {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    over_limit(v, l, &p)
                })
        }
        Value::Array(a) => a
            .iter()
            .enumerate()
            .find_map(|(i, v)| over_limit(v, l, &format!("{path}[{i}]"))),
        _ => None,
    }
}

/// Middleware: reads write bodies within the body limit and refuses oversized GeoJSON.
pub async fn geojson_limits(
    State(l): State<GeoJsonLimits>,
    request: Request,
    next: Next,
) -> Response {
    if !matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH
    ) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, l.body_bytes).await {
        Ok(b) => b,
        Err(_) => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!(
                    "the request body is too large: at most {} bytes are accepted",
                    l.body_bytes
                ),
            )
            .into_response();
        }
    };
    if bytes.len() > 2
        && let Ok(value) = serde_json::from_slice::<Value>(&bytes)
        && let Some((code, field, message)) = over_limit(&value, &l, "")
    {
        return ApiError::invalid(&field, code, message).into_response();
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// The CORS layer for the configured origins; None when no origin is configured (same-origin
/// only: browsers then refuse cross-origin reads).
pub fn cors(origins: &[String]) -> Option<CorsLayer> {
    let list: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
        .collect();
    if list.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(list))
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                HeaderName::from_static("x-actor"),
            ])
            .expose_headers([
                header::LOCATION,
                header::RETRY_AFTER,
                HeaderName::from_static("x-ratelimit-limit"),
                HeaderName::from_static("x-ratelimit-remaining"),
                HeaderName::from_static("x-ratelimit-after"),
            ])
            .max_age(Duration::from_secs(600)),
    )
}

/// The Content-Security-Policy of the web pages: scripts, styles, workers and requests only
/// from this origin (MapLibre's worker may start from a blob; its styles are set inline).
pub const CSP: &str = "default-src 'self'; script-src 'self'; worker-src 'self' blob:; child-src 'self' blob:; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self' blob: data:; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// Middleware: security headers on every answer (not overriding a handler's own).
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut r = next.run(request).await;
    let h = r.headers_mut();
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cross-origin-opener-policy", "same-origin"),
        (
            "permissions-policy",
            "camera=(), microphone=(), geolocation=(self)",
        ),
        ("content-security-policy", CSP),
    ] {
        h.entry(HeaderName::from_static(name))
            .or_insert(HeaderValue::from_static(value));
    }
    r
}

fn code_of(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::NOT_ACCEPTABLE => "not_acceptable",
        StatusCode::REQUEST_TIMEOUT
        | StatusCode::SERVICE_UNAVAILABLE
        | StatusCode::GATEWAY_TIMEOUT => "timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        s if s.is_server_error() => "internal",
        _ => "error",
    }
}

/// Middleware: an error answer without a JSON body (made by the router or a layer, not a
/// handler) gets one, keeping its status and headers.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let reads_only = matches!(request.method(), &Method::GET | &Method::HEAD);
    let r = next.run(request).await;
    let status = r.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return r;
    }
    let is_json = r
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.contains("json"));
    if is_json {
        return r;
    }
    let (mut parts, body) = r.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_owned();
    let message = match status {
        StatusCode::SERVICE_UNAVAILABLE if text.is_empty() && reads_only => {
            "the request took too long and was stopped; nothing was changed".to_owned()
        }
        // A write the write path had accepted runs to completion (and is published) even
        // though its answer was not waited for, so this answer cannot say nothing changed.
        StatusCode::SERVICE_UNAVAILABLE if text.is_empty() => {
            "the request took too long and its answer was not waited for; a write that had \
             started still completes: read the resource (or GET /audit) before sending it again"
                .to_owned()
        }
        StatusCode::METHOD_NOT_ALLOWED if text.is_empty() => {
            "this route does not take that method".to_owned()
        }
        _ if text.is_empty() => status.canonical_reason().unwrap_or("error").to_owned(),
        _ => text,
    };
    let fresh = ApiError::new(status, code_of(status), message).into_response();
    let (fresh_parts, fresh_body) = fresh.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        fresh_parts.headers[header::CONTENT_TYPE].clone(),
    );
    Response::from_parts(parts, fresh_body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn counts_positions_and_features() {
        let l = GeoJsonLimits {
            body_bytes: 1 << 20,
            max_vertices: 5,
            max_features: 2,
        };
        let ring = |n: usize| (0..n).map(|i| json!([i as f64, 0.0])).collect::<Vec<_>>();
        let f = |n| json!({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring(n)]}, "properties": {}});
        assert!(over_limit(&f(5), &l, "").is_none());
        assert_eq!(over_limit(&f(6), &l, "").unwrap().0, "too_many_vertices");
        let fc = json!({"type": "FeatureCollection", "features": [f(3), f(3), f(3)]});
        assert_eq!(over_limit(&fc, &l, "").unwrap().0, "too_many_features");
        let fc = json!({"type": "FeatureCollection", "features": [f(3), f(9)]});
        let (code, field, _) = over_limit(&fc, &l, "").unwrap();
        assert_eq!(
            (code, field.as_str()),
            ("too_many_vertices", "features[1].geometry")
        );
        assert_eq!(positions(&json!([[[1, 2], [3, 4]], [[5, 6]]])), 3);
    }
}
