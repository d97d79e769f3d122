//! `GET /tiles/{layer}/{z}/{x}/{y}.mvt`: Mapbox Vector Tiles (MVT 2.1) cut from the snapshot's
//! R-trees, so the web map stays smooth on a city of 100,000+ buildings (the page draws only the
//! tiles in view, each already clipped, simplified for its zoom and quantised to 4096 × 4096).
//!
//! Per tile: the layer's R-tree gives the records whose geometry meets the tile (plus a 64-unit
//! buffer, so strokes do not end at tile edges); each geometry is projected to Web Mercator tile
//! units, clipped to the buffered tile (Sutherland–Hodgman for rings, Liang–Barsky for lines),
//! simplified (Ramer–Douglas–Peucker, tolerance by zoom), rounded to integers, and encoded.
//! Below the source's full-detail zoom ([`DETAIL_ZOOM`]) rings smaller than a few tile units
//! are dropped and roads are filtered by class (major roads only when zoomed far out).
//!
//! Caching: the ETag names the layer's generation (a process-wide number given to each layer
//! object a snapshot holds; a write that does not touch the layer keeps it) and the tile, so a
//! facility write does not invalidate building tiles. `Cache-Control: no-cache` makes browsers
//! revalidate (a 304 costs no tile generation), so edits show at once. Encoded tiles are kept in
//! a bounded in-memory cache keyed the same way.
//!
//! The tile encoder is hand-written on the shared protobuf primitives of
//! [`crate::formats::protobuf`] rather than taken from a crate: the `mvt` crate brings
//! rust-protobuf 3 with its code generator, and geozero's MVT writer comes with prost and a
//! geometry-processing stack we do not otherwise use, for a wire format that needs only
//! varints, zigzag and length-delimited fields. MVT 2.1 is stable; the encoder is
//! checked against the specification's own examples here and decoded by GDAL's MVT driver
//! (`ogrinfo`) in `tests/web_journeys.rs`.

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::f64::consts::PI;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use geo::{BoundingRect, LineString, MultiPolygon, Rect};
use rstar::{AABB, RTree};
use serde_json::{Value, json};
use tower_http::compression::CompressionLayer;

use super::AppState;
use super::cpu::run_blocking;
use super::error::{ApiError, ApiResult};
use super::params::Params;
use crate::formats::protobuf::{bytes_field, key, packed, varint, zigzag};
use crate::readmodel::{EnvelopeEntry, Snapshot};

/// Tile extent: coordinates run 0..4096 across a tile.
pub const EXTENT: u32 = 4096;
/// Tile units of geometry kept outside each edge.
const BUFFER: f64 = 64.0;
/// Zoom at and above which nothing is simplified away (only rounded to tile units). The page's
/// sources stop here and MapLibre over-zooms beyond it.
pub const DETAIL_ZOOM: u8 = 16;
/// Largest zoom served.
const MAX_ZOOM: u8 = 22;
/// Bound of the encoded-tile cache, bytes.
const CACHE_BYTES: usize = 64 << 20;

/// The layers served, with the lowest zoom each has content at.
pub const LAYERS: [(&str, u8); 8] = [
    ("land", 10),
    ("street_offices", 0),
    ("communities", 0),
    ("grids", 0),
    ("buildings", 13),
    ("roads", 11),
    ("facilities", 0),
    ("facility_circles", 0),
];

/// Routes of this group.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/tiles", get(index))
        .route("/tiles/{layer}/{z}/{x}/{y}", get(tile))
        .layer(CompressionLayer::new())
}

/// `GET /tiles`: the tile layers, their zoom range and URL template.
#[utoipa::path(get, path = "/tiles", responses((status = 200, description = "The vector tile layers: id, minzoom, maxzoom (full detail; over-zoom beyond) and the URL template")))]
pub async fn index() -> Json<Value> {
    Json(json!({
        "layers": LAYERS.iter().map(|(id, min)| json!({
            "id": id,
            "minzoom": min,
            "maxzoom": DETAIL_ZOOM,
            "tiles": [format!("/tiles/{id}/{{z}}/{{x}}/{{y}}.mvt")],
            "fields": fields(id),
        })).collect::<Vec<_>>(),
        "format": "application/vnd.mapbox-vector-tile",
        "extent": EXTENT,
        "attribution": "© OpenStreetMap contributors",
    }))
}

fn fields(layer: &str) -> Value {
    match layer {
        "buildings" => {
            json!({"id": "Number", "residential": "Boolean", "households": "Number", "residents": "Number", "levels": "Number", "name": "String"})
        }
        "roads" => json!({"id": "Number", "highway": "String", "name": "String"}),
        "land" => json!({"id": "Number", "class": "String", "name": "String"}),
        "grids" => {
            json!({"id": "Number", "code": "String", "name": "String", "community_id": "Number", "households": "Number", "residents": "Number"})
        }
        "communities" => {
            json!({"id": "Number", "code": "String", "name": "String", "street_office_id": "Number"})
        }
        "street_offices" => json!({"id": "Number", "code": "String", "name": "String"}),
        "facilities" => {
            json!({"id": "Number", "kind": "String", "name": "String", "shared": "Boolean", "audience": "String"})
        }
        "facility_circles" => {
            json!({"facility_id": "Number", "circle": "String", "minutes": "Number", "mode": "String"})
        }
        _ => json!({}),
    }
}

/// `GET /tiles/{layer}/{z}/{x}/{y}.mvt`
#[utoipa::path(get, path = "/tiles/{layer}/{z}/{x}/{y}.mvt",
    params(("layer" = String, Path, description = "buildings, roads, grids, communities, street_offices, facilities or facility_circles"),
           ("z" = u8, Path), ("x" = u32, Path), ("y" = String, Path, description = "row, with the .mvt suffix"),
           ("v" = Option<String>, Query, description = "ignored: lets a page force a fresh request after an edit")),
    responses((status = 200, description = "Mapbox Vector Tile 2.1 (one layer named like the path; empty body when nothing is there)", content_type = "application/vnd.mapbox-vector-tile"),
              (status = 304, description = "If-None-Match matched the ETag"), (status = 400), (status = 404)))]
pub async fn tile(
    State(state): State<AppState>,
    Path((layer, z, x, y)): Path<(String, String, String, String)>,
    params: Params,
    headers: HeaderMap,
) -> ApiResult<Response> {
    params.only(&["v"])?;
    let Some(&(name, min_zoom)) = LAYERS.iter().find(|(id, _)| *id == layer) else {
        return Err(ApiError::not_found(format!(
            "no tile layer {layer:?}; layers: {}",
            LAYERS.map(|(id, _)| id).join(", ")
        )));
    };
    let Some(y) = y.strip_suffix(".mvt") else {
        return Err(ApiError::not_found("tiles end in .mvt"));
    };
    let number = |text: &str, field: &str| {
        text.parse::<u32>().map_err(|_| {
            ApiError::bad_request(
                "not_a_number",
                Some(field),
                format!("{field} is a tile number, got {text:?}"),
            )
        })
    };
    let (z, x, y) = (number(&z, "z")?, number(&x, "x")?, number(y, "y")?);
    if z > u32::from(MAX_ZOOM) {
        return Err(ApiError::bad_request(
            "bad_zoom",
            Some("z"),
            format!("zoom is 0..={MAX_ZOOM}"),
        ));
    }
    if x >= 1 << z || y >= 1 << z {
        return Err(ApiError::not_found(format!(
            "no tile {z}/{x}/{y}: at zoom {z}, x and y are below {}",
            1u64 << z
        )));
    }
    let id = TileId { z: z as u8, x, y };
    let snapshot = state.snapshot.current();
    let generation = layer_generation(&snapshot, name);
    let etag = format!("W/\"{:x}-{generation}-{name}-{z}-{x}-{y}\"", boot_id());
    let cache_headers = [
        (
            header::ETAG,
            HeaderValue::from_str(&etag).expect("ascii etag"),
        ),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, no-cache"),
        ),
        (header::VARY, HeaderValue::from_static("accept-encoding")),
    ];
    if let Some(tags) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        && etag_matches(tags, &etag)
    {
        return Ok((StatusCode::NOT_MODIFIED, cache_headers).into_response());
    }
    let key = (generation, name, id);
    let bytes = match cached(&key) {
        Some(b) => b,
        None => {
            let bytes: Arc<Vec<u8>> = if id.z < min_zoom {
                Arc::new(Vec::new())
            } else {
                let s = snapshot.clone();
                Arc::new(run_blocking(&state, move || build_tile(&s, name, id)).await?)
            };
            remember(key, bytes.clone());
            bytes
        }
    };
    let mut response = (
        StatusCode::OK,
        cache_headers,
        Body::from(bytes.as_ref().clone()),
    )
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.mapbox-vector-tile"),
    );
    Ok(response)
}

/// True when an If-None-Match list names `etag` (weak comparison, or `*`).
fn etag_matches(list: &str, etag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    list.split(',')
        .any(|t| t.trim() == "*" || bare(t) == bare(etag))
}

/// Distinguishes this process's ETags from an earlier run's (generations restart at 1).
fn boot_id() -> u64 {
    static BOOT: OnceLock<u64> = OnceLock::new();
    *BOOT.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        nanos ^ (u64::from(std::process::id()) << 40)
    })
}

// ---------- layer generations ----------

/// Layer objects seen, by address, with their generation. The `Weak` keeps the allocation (not
/// the data) alive, so an address is never reused while its entry exists; entries whose layer
/// is gone are swept on insert.
type Generations = HashMap<usize, (Weak<dyn Any + Send + Sync>, u64)>;

fn generation_of<T: Any + Send + Sync>(layer: &Arc<T>) -> u64 {
    static SEEN: OnceLock<Mutex<(Generations, u64)>> = OnceLock::new();
    let mut guard = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    let (seen, counter) = &mut *guard;
    let address = Arc::as_ptr(layer) as *const () as usize;
    if let Some((_, g)) = seen.get(&address) {
        return *g;
    }
    seen.retain(|_, (weak, _)| weak.strong_count() > 0);
    *counter += 1;
    let weak: Weak<dyn Any + Send + Sync> = Arc::downgrade(layer) as Weak<dyn Any + Send + Sync>;
    seen.insert(address, (weak, *counter));
    *counter
}

fn layer_generation(s: &Snapshot, layer: &str) -> u64 {
    match layer {
        "buildings" => generation_of(&s.buildings),
        "roads" => generation_of(&s.ways),
        "land" => generation_of(&s.land),
        "grids" => generation_of(&s.grids),
        "communities" => generation_of(&s.communities),
        "street_offices" => generation_of(&s.street_offices),
        "facilities" => generation_of(&s.facilities),
        _ => generation_of(&s.facility_circles),
    }
}

// ---------- tile cache ----------

type CacheKey = (u64, &'static str, TileId);

#[derive(Default)]
struct TileCache {
    tiles: HashMap<CacheKey, Arc<Vec<u8>>>,
    order: VecDeque<CacheKey>,
    bytes: usize,
}

/// The cache of built tiles. Its lock (like the generations' and the circle tree's) is taken
/// even when poisoned: a panic while it is held leaves the cache as it was or with one more
/// tile, and a poisoned lock must not make every later tile request fail until a restart.
fn cache() -> &'static Mutex<TileCache> {
    static CACHE: OnceLock<Mutex<TileCache>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn cached(key: &CacheKey) -> Option<Arc<Vec<u8>>> {
    cache()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .tiles
        .get(key)
        .cloned()
}

fn remember(key: CacheKey, bytes: Arc<Vec<u8>>) {
    let mut c = cache().lock().unwrap_or_else(PoisonError::into_inner);
    let size = bytes.len() + 64;
    if size > CACHE_BYTES / 4 || c.tiles.contains_key(&key) {
        return;
    }
    while c.bytes + size > CACHE_BYTES {
        let Some(old) = c.order.pop_front() else {
            break;
        };
        if let Some(b) = c.tiles.remove(&old) {
            c.bytes -= b.len() + 64;
        }
    }
    c.bytes += size;
    c.order.push_back(key);
    c.tiles.insert(key, bytes);
}

// ---------- tile geometry ----------

/// A tile address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TileId {
    /// Zoom.
    pub z: u8,
    /// Column.
    pub x: u32,
    /// Row (from the north).
    pub y: u32,
}

impl TileId {
    fn scale(self) -> f64 {
        f64::from(1u32 << self.z) * f64::from(EXTENT)
    }

    /// Lon/lat to this tile's units (y down), unclipped.
    fn project(self, lon: f64, lat: f64) -> (f64, f64) {
        let lat = lat.clamp(-85.051_128_78, 85.051_128_78).to_radians();
        let s = self.scale();
        let wx = (lon + 180.0) / 360.0 * s;
        let wy = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / PI) / 2.0 * s;
        (
            wx - f64::from(self.x) * f64::from(EXTENT),
            wy - f64::from(self.y) * f64::from(EXTENT),
        )
    }

    /// The lon/lat box of the tile grown by `buffer` tile units each side.
    fn bounds(self, buffer: f64) -> Rect<f64> {
        let s = self.scale();
        let e = f64::from(EXTENT);
        let lon = |wx: f64| wx / s * 360.0 - 180.0;
        let lat = |wy: f64| (PI * (1.0 - 2.0 * wy / s)).sinh().atan().to_degrees();
        let x0 = f64::from(self.x) * e - buffer;
        let y0 = f64::from(self.y) * e - buffer;
        let x1 = f64::from(self.x + 1) * e + buffer;
        let y1 = f64::from(self.y + 1) * e + buffer;
        Rect::new(
            (lon(x0).max(-180.0), lat(y1)),
            (lon(x1).min(180.0), lat(y0)),
        )
    }
}

/// How much detail a zoom keeps: simplification tolerance and the smallest ring kept, in tile
/// units (a tile is drawn 512 px wide, so 8 units are a pixel).
#[derive(Debug, Clone, Copy)]
struct Detail {
    tolerance: f64,
    min_ring_area: f64,
}

fn detail(z: u8) -> Detail {
    if z >= DETAIL_ZOOM {
        Detail {
            tolerance: 0.5,
            min_ring_area: 0.0,
        }
    } else {
        Detail {
            tolerance: 4.0,
            min_ring_area: 16.0,
        }
    }
}

type Pt = (f64, f64);

/// Clips a closed ring (first point not repeated) to the square [lo, hi]² (Sutherland–Hodgman).
fn clip_ring(ring: &[Pt], lo: f64, hi: f64) -> Vec<Pt> {
    let mut out: Vec<Pt> = ring.to_vec();
    // Each edge of the clip box: (inside test, intersection).
    for edge in 0..4 {
        if out.is_empty() {
            break;
        }
        let inside = |p: Pt| match edge {
            0 => p.0 >= lo,
            1 => p.0 <= hi,
            2 => p.1 >= lo,
            _ => p.1 <= hi,
        };
        let cut = |a: Pt, b: Pt| match edge {
            // Exactly on the edge, whatever rounding does to the other coordinate.
            0 => (lo, a.1 + (lo - a.0) / (b.0 - a.0) * (b.1 - a.1)),
            1 => (hi, a.1 + (hi - a.0) / (b.0 - a.0) * (b.1 - a.1)),
            2 => (a.0 + (lo - a.1) / (b.1 - a.1) * (b.0 - a.0), lo),
            _ => (a.0 + (hi - a.1) / (b.1 - a.1) * (b.0 - a.0), hi),
        };
        let input = std::mem::take(&mut out);
        let mut prev = *input.last().expect("not empty");
        for &p in &input {
            match (inside(prev), inside(p)) {
                (true, true) => out.push(p),
                (true, false) => out.push(cut(prev, p)),
                (false, true) => {
                    out.push(cut(prev, p));
                    out.push(p);
                }
                (false, false) => {}
            }
            prev = p;
        }
    }
    out
}

/// Clips a polyline to the square [lo, hi]² (Liang–Barsky per segment), giving its pieces.
fn clip_line(line: &[Pt], lo: f64, hi: f64) -> Vec<Vec<Pt>> {
    let mut parts: Vec<Vec<Pt>> = Vec::new();
    let mut current: Vec<Pt> = Vec::new();
    for w in line.windows(2) {
        let (a, b) = (w[0], w[1]);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let (mut t0, mut t1) = (0.0f64, 1.0f64);
        let mut visible = true;
        for (p, q) in [
            (-dx, a.0 - lo),
            (dx, hi - a.0),
            (-dy, a.1 - lo),
            (dy, hi - a.1),
        ] {
            if p == 0.0 {
                if q < 0.0 {
                    visible = false;
                    break;
                }
            } else {
                let r = q / p;
                if p < 0.0 {
                    t0 = t0.max(r);
                } else {
                    t1 = t1.min(r);
                }
                if t0 > t1 {
                    visible = false;
                    break;
                }
            }
        }
        if !visible {
            if current.len() > 1 {
                parts.push(std::mem::take(&mut current));
            }
            current.clear();
            continue;
        }
        let start = (a.0 + t0 * dx, a.1 + t0 * dy);
        let end = (a.0 + t1 * dx, a.1 + t1 * dy);
        if current.is_empty() {
            current.push(start);
        } else if t0 > 0.0 {
            // Re-entering: the previous piece ended at the box.
            if current.len() > 1 {
                parts.push(std::mem::take(&mut current));
            }
            current.clear();
            current.push(start);
        }
        current.push(end);
        if t1 < 1.0 {
            if current.len() > 1 {
                parts.push(std::mem::take(&mut current));
            }
            current.clear();
        }
    }
    if current.len() > 1 {
        parts.push(current);
    }
    parts
}

/// Ramer–Douglas–Peucker on an open polyline (end points kept).
fn simplify(points: &[Pt], tolerance: f64) -> Vec<Pt> {
    if points.len() < 3 || tolerance <= 0.0 {
        return points.to_vec();
    }
    let mut keep = vec![false; points.len()];
    keep[0] = true;
    keep[points.len() - 1] = true;
    let mut stack = vec![(0usize, points.len() - 1)];
    let tol2 = tolerance * tolerance;
    while let Some((a, b)) = stack.pop() {
        let (pa, pb) = (points[a], points[b]);
        let (dx, dy) = (pb.0 - pa.0, pb.1 - pa.1);
        let len2 = dx * dx + dy * dy;
        let mut worst = (0.0, 0usize);
        for (i, &p) in points.iter().enumerate().take(b).skip(a + 1) {
            let d2 = if len2 == 0.0 {
                (p.0 - pa.0).powi(2) + (p.1 - pa.1).powi(2)
            } else {
                let cross = dx * (p.1 - pa.1) - dy * (p.0 - pa.0);
                cross * cross / len2
            };
            if d2 > worst.0 {
                worst = (d2, i);
            }
        }
        if worst.0 > tol2 {
            keep[worst.1] = true;
            stack.push((a, worst.1));
            stack.push((worst.1, b));
        }
    }
    points
        .iter()
        .zip(keep)
        .filter(|(_, k)| *k)
        .map(|(p, _)| *p)
        .collect()
}

/// Rounds to integer tile units, dropping repeated points.
fn quantise(points: &[Pt]) -> Vec<(i32, i32)> {
    let mut out: Vec<(i32, i32)> = Vec::with_capacity(points.len());
    for p in points {
        let q = (p.0.round() as i32, p.1.round() as i32);
        if out.last() != Some(&q) {
            out.push(q);
        }
    }
    out
}

/// Twice the signed area by the surveyor's formula, in tile units (y down: positive is
/// clockwise on screen, an MVT exterior ring).
fn ring_area2(ring: &[(i32, i32)]) -> i64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            i64::from(a.0) * i64::from(b.1) - i64::from(b.0) * i64::from(a.1)
        })
        .sum()
}

/// One ring, ready to encode (closing point not repeated), or `None` when nothing is left.
fn tile_ring(
    ring: &LineString<f64>,
    tile: TileId,
    d: Detail,
    exterior: bool,
) -> Option<Vec<(i32, i32)>> {
    let mut pts: Vec<Pt> = ring.0.iter().map(|c| tile.project(c.x, c.y)).collect();
    if pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    let lo = -BUFFER;
    let hi = f64::from(EXTENT) + BUFFER;
    let clipped = clip_ring(&pts, lo, hi);
    if clipped.len() < 3 {
        return None;
    }
    // Simplify as a closed path: start and end at the first point.
    let mut closed = clipped.clone();
    closed.push(clipped[0]);
    let mut simple = quantise(&simplify(&closed, d.tolerance));
    if simple.len() > 1 && simple.first() == simple.last() {
        simple.pop();
    }
    if simple.len() < 3 {
        return None;
    }
    let area2 = ring_area2(&simple);
    if area2 == 0 || (area2.abs() as f64) / 2.0 < d.min_ring_area {
        return None;
    }
    if (area2 > 0) != exterior {
        simple.reverse();
    }
    Some(simple)
}

/// A multipolygon in tile units: each polygon's exterior then its holes.
fn tile_polygons(shape: &MultiPolygon<f64>, tile: TileId, d: Detail) -> Vec<Vec<(i32, i32)>> {
    let mut rings = Vec::new();
    for polygon in &shape.0 {
        let Some(outer) = tile_ring(polygon.exterior(), tile, d, true) else {
            continue;
        };
        rings.push(outer);
        rings.extend(
            polygon
                .interiors()
                .iter()
                .filter_map(|r| tile_ring(r, tile, d, false)),
        );
    }
    rings
}

fn tile_lines(line: &LineString<f64>, tile: TileId, d: Detail) -> Vec<Vec<(i32, i32)>> {
    let pts: Vec<Pt> = line.0.iter().map(|c| tile.project(c.x, c.y)).collect();
    clip_line(&pts, -BUFFER, f64::from(EXTENT) + BUFFER)
        .iter()
        .map(|part| quantise(&simplify(part, d.tolerance)))
        .filter(|part| part.len() > 1)
        .collect()
}

// ---------- MVT encoding ----------

/// A feature property value.
#[derive(Debug, Clone, PartialEq)]
pub enum Prop {
    /// `string_value`.
    Str(String),
    /// `sint_value` (zigzag).
    Int(i64),
    /// `double_value`.
    Double(f64),
    /// `bool_value`.
    Bool(bool),
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum PropKey {
    Str(String),
    Int(i64),
    Double(u64),
    Bool(bool),
}

/// MVT geometry types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeomType {
    /// POINT = 1.
    Point = 1,
    /// LINESTRING = 2.
    LineString = 2,
    /// POLYGON = 3.
    Polygon = 3,
}

/// The command integers of a geometry: points are `[(x, y)]` parts of one point; lines and
/// rings are parts of two or more points (rings without the closing point).
pub fn encode_geometry(kind: GeomType, parts: &[Vec<(i32, i32)>]) -> Vec<u32> {
    let command = |id: u32, count: usize| (id & 7) | ((count as u32) << 3);
    let mut out = Vec::new();
    let mut cursor = (0i32, 0i32);
    let mut delta = |out: &mut Vec<u32>, p: (i32, i32)| {
        out.push(zigzag(i64::from(p.0 - cursor.0)) as u32);
        out.push(zigzag(i64::from(p.1 - cursor.1)) as u32);
        cursor = p;
    };
    match kind {
        GeomType::Point => {
            let points: Vec<(i32, i32)> = parts.iter().flatten().copied().collect();
            out.push(command(1, points.len()));
            for p in points {
                delta(&mut out, p);
            }
        }
        GeomType::LineString | GeomType::Polygon => {
            for part in parts {
                out.push(command(1, 1));
                delta(&mut out, part[0]);
                out.push(command(2, part.len() - 1));
                for &p in &part[1..] {
                    delta(&mut out, p);
                }
                if kind == GeomType::Polygon {
                    out.push(command(7, 1));
                }
            }
        }
    }
    out
}

/// One layer of a tile being built.
pub struct LayerBuilder {
    name: String,
    keys: Vec<String>,
    key_index: HashMap<String, u32>,
    values: Vec<Prop>,
    value_index: HashMap<PropKey, u32>,
    features: Vec<Vec<u8>>,
}

impl LayerBuilder {
    /// An empty layer.
    pub fn new(name: &str) -> Self {
        LayerBuilder {
            name: name.to_owned(),
            keys: Vec::new(),
            key_index: HashMap::new(),
            values: Vec::new(),
            value_index: HashMap::new(),
            features: Vec::new(),
        }
    }

    /// True when no feature was added.
    pub fn is_empty(&self) -> bool {
        self.features.is_empty()
    }

    /// Adds a feature; `None` properties are left out. Parts with too few points are skipped,
    /// and a feature left with no geometry is not added.
    pub fn add(
        &mut self,
        id: Option<u64>,
        kind: GeomType,
        parts: &[Vec<(i32, i32)>],
        props: &[(&str, Option<Prop>)],
    ) {
        let min = match kind {
            GeomType::Point => 1,
            GeomType::LineString => 2,
            GeomType::Polygon => 3,
        };
        let parts: Vec<Vec<(i32, i32)>> =
            parts.iter().filter(|p| p.len() >= min).cloned().collect();
        if parts.is_empty() {
            return;
        }
        let mut tags = Vec::with_capacity(props.len() * 2);
        for (k, v) in props {
            let Some(v) = v else { continue };
            let ki = match self.key_index.get(*k) {
                Some(&i) => i,
                None => {
                    let i = self.keys.len() as u32;
                    self.keys.push((*k).to_owned());
                    self.key_index.insert((*k).to_owned(), i);
                    i
                }
            };
            let pk = match v {
                Prop::Str(s) => PropKey::Str(s.clone()),
                Prop::Int(i) => PropKey::Int(*i),
                Prop::Double(d) => PropKey::Double(d.to_bits()),
                Prop::Bool(b) => PropKey::Bool(*b),
            };
            let vi = match self.value_index.get(&pk) {
                Some(&i) => i,
                None => {
                    let i = self.values.len() as u32;
                    self.values.push(v.clone());
                    self.value_index.insert(pk, i);
                    i
                }
            };
            tags.push(ki);
            tags.push(vi);
        }
        let mut f = Vec::new();
        if let Some(id) = id {
            key(&mut f, 1, 0);
            varint(&mut f, id);
        }
        if !tags.is_empty() {
            packed(&mut f, 2, tags.iter().map(|&v| u64::from(v)));
        }
        key(&mut f, 3, 0);
        varint(&mut f, kind as u64);
        packed(
            &mut f,
            4,
            encode_geometry(kind, &parts).into_iter().map(u64::from),
        );
        self.features.push(f);
    }

    /// The encoded `Layer` message.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        key(&mut out, 15, 0);
        varint(&mut out, 2);
        bytes_field(&mut out, 1, self.name.as_bytes());
        for f in &self.features {
            bytes_field(&mut out, 2, f);
        }
        for k in &self.keys {
            bytes_field(&mut out, 3, k.as_bytes());
        }
        for v in &self.values {
            let mut m = Vec::new();
            match v {
                Prop::Str(s) => bytes_field(&mut m, 1, s.as_bytes()),
                Prop::Double(d) => {
                    key(&mut m, 3, 1);
                    m.extend_from_slice(&d.to_le_bytes());
                }
                Prop::Int(i) => {
                    key(&mut m, 6, 0);
                    varint(&mut m, zigzag(*i));
                }
                Prop::Bool(b) => {
                    key(&mut m, 7, 0);
                    varint(&mut m, u64::from(*b));
                }
            }
            bytes_field(&mut out, 4, &m);
        }
        key(&mut out, 5, 0);
        varint(&mut out, u64::from(EXTENT));
        out
    }
}

/// A whole tile of these layers (empty layers left out; no layer at all is an empty body).
pub fn encode_tile(layers: &[LayerBuilder]) -> Vec<u8> {
    let mut out = Vec::new();
    for l in layers.iter().filter(|l| !l.is_empty()) {
        bytes_field(&mut out, 3, &l.encode());
    }
    out
}

// ---------- layers ----------

fn text(s: &str) -> Option<Prop> {
    Some(Prop::Str(s.to_owned()))
}

fn opt_text(s: &Option<String>) -> Option<Prop> {
    s.as_deref().map(text).unwrap_or(None)
}

fn int(i: impl Into<i64>) -> Option<Prop> {
    Some(Prop::Int(i.into()))
}

fn id_of(id: i64) -> Option<u64> {
    u64::try_from(id).ok()
}

/// Road classes drawn below zoom 12 and below zoom 14.
const MAJOR_ROADS: [&str; 8] = [
    "motorway",
    "trunk",
    "primary",
    "secondary",
    "motorway_link",
    "trunk_link",
    "primary_link",
    "secondary_link",
];
const MINOR_ROADS: [&str; 6] = [
    "tertiary",
    "tertiary_link",
    "residential",
    "unclassified",
    "living_street",
    "pedestrian",
];

fn road_shown(highway: &str, z: u8) -> bool {
    z >= 14 || MAJOR_ROADS.contains(&highway) || (z >= 12 && MINOR_ROADS.contains(&highway))
}

/// An R-tree over the facility circles of one `CircleLayer` (whose own tree is private to the
/// index), built once per layer generation.
fn circle_tree(s: &Snapshot) -> Arc<RTree<EnvelopeEntry>> {
    /// The tree of the last generation asked for, with that generation.
    type Slot = Mutex<Option<(u64, Arc<RTree<EnvelopeEntry>>)>>;
    static TREE: OnceLock<Slot> = OnceLock::new();
    let generation = generation_of(&s.facility_circles);
    let mut slot = TREE
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some((g, tree)) = slot.as_ref()
        && *g == generation
    {
        return tree.clone();
    }
    let tree = Arc::new(RTree::bulk_load(
        s.facility_circles
            .items()
            .iter()
            .enumerate()
            .filter_map(|(i, c)| c.polygon.bounding_rect().map(|r| EnvelopeEntry::new(r, i)))
            .collect(),
    ));
    *slot = Some((generation, tree.clone()));
    tree
}

/// Encodes one layer's tile.
pub fn build_tile(s: &Snapshot, layer: &str, tile: TileId) -> Vec<u8> {
    let d = detail(tile.z);
    let rect = tile.bounds(BUFFER);
    let mut out = LayerBuilder::new(layer);
    match layer {
        "buildings" => {
            for i in s.buildings.layer.in_rect(&rect) {
                let b = &s.buildings.layer.items()[i];
                let rings = tile_polygons(b.footprint.shape(), tile, d);
                out.add(
                    id_of(b.id),
                    GeomType::Polygon,
                    &rings,
                    &[
                        ("id", int(b.id)),
                        ("residential", Some(Prop::Bool(b.is_residential()))),
                        ("households", int(b.households)),
                        ("residents", int(b.residents)),
                        ("levels", b.levels.and_then(int)),
                        ("name", opt_text(&b.name)),
                    ],
                );
            }
        }
        "land" => {
            for i in s.land.in_rect(&rect) {
                let l = &s.land.items()[i];
                let rings = tile_polygons(l.shape.shape(), tile, d);
                out.add(
                    id_of(l.id),
                    GeomType::Polygon,
                    &rings,
                    &[
                        ("id", int(l.id)),
                        ("class", text(l.class.as_str())),
                        ("name", opt_text(&l.name)),
                    ],
                );
            }
        }
        "roads" => {
            for i in s.ways.in_rect(&rect) {
                let w = &s.ways.items()[i];
                if !road_shown(&w.highway, tile.z) {
                    continue;
                }
                let parts = tile_lines(&w.line, tile, d);
                out.add(
                    id_of(w.id),
                    GeomType::LineString,
                    &parts,
                    &[
                        ("id", int(w.id)),
                        ("highway", text(&w.highway)),
                        ("name", opt_text(&w.name)),
                    ],
                );
            }
        }
        "grids" => {
            for i in s.grids.layer.in_rect(&rect) {
                let g = &s.grids.layer.items()[i];
                let stats = s.grids.stats[i];
                let rings = tile_polygons(g.boundary.shape(), tile, d);
                out.add(
                    id_of(g.id),
                    GeomType::Polygon,
                    &rings,
                    &[
                        ("id", int(g.id)),
                        ("code", text(&g.code.to_string())),
                        ("name", text(&g.name)),
                        ("community_id", int(g.community_id)),
                        ("households", int(stats.households as i64)),
                        ("residents", int(stats.residents as i64)),
                    ],
                );
            }
        }
        "communities" => {
            for i in s.communities.in_rect(&rect) {
                let c = &s.communities.items()[i];
                let rings = tile_polygons(c.boundary.shape(), tile, d);
                out.add(
                    id_of(c.id),
                    GeomType::Polygon,
                    &rings,
                    &[
                        ("id", int(c.id)),
                        ("code", text(&c.code.to_string())),
                        ("name", text(&c.name)),
                        ("street_office_id", int(c.street_office_id)),
                    ],
                );
            }
        }
        "street_offices" => {
            for i in s.street_offices.in_rect(&rect) {
                let o = &s.street_offices.items()[i];
                let rings = tile_polygons(o.boundary.shape(), tile, d);
                out.add(
                    id_of(o.id),
                    GeomType::Polygon,
                    &rings,
                    &[
                        ("id", int(o.id)),
                        ("code", text(&o.code.to_string())),
                        ("name", text(&o.name)),
                    ],
                );
            }
        }
        "facilities" => {
            let e = f64::from(EXTENT);
            for i in s.facilities.layer.in_rect(&rect) {
                let f = &s.facilities.layer.items()[i];
                let (x, y) = tile.project(f.point.lon(), f.point.lat());
                if !(0.0..e).contains(&x) || !(0.0..e).contains(&y) {
                    continue; // each point in exactly one tile
                }
                let p = vec![(x.floor() as i32, y.floor() as i32)];
                out.add(
                    id_of(f.id),
                    GeomType::Point,
                    &[p],
                    &[
                        ("id", int(f.id)),
                        ("kind", text(f.kind.as_str())),
                        ("name", opt_text(&f.name)),
                        ("shared", Some(Prop::Bool(f.shared))),
                        ("audience", text(f.audience.as_str())),
                    ],
                );
            }
        }
        _ => {
            let tree = circle_tree(s);
            let aabb =
                AABB::from_corners([rect.min().x, rect.min().y], [rect.max().x, rect.max().y]);
            let mut hits: Vec<usize> = tree
                .locate_in_envelope_intersecting(aabb)
                .map(|e| e.index)
                .collect();
            hits.sort_unstable();
            for i in hits {
                let c = &s.facility_circles.items()[i];
                let rings = tile_polygons(&c.polygon, tile, d);
                let mode = serde_json::to_value(c.mode)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned));
                out.add(
                    None,
                    GeomType::Polygon,
                    &rings,
                    &[
                        ("facility_id", int(c.facility_id)),
                        ("circle", text(&c.circle_id)),
                        ("minutes", Some(Prop::Double(c.minutes))),
                        ("mode", mode.as_deref().and_then(text)),
                    ],
                );
            }
        }
    }
    encode_tile(&[out])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_are_cached_after_a_panic_poisoned_the_cache_lock() {
        let outcome = std::thread::spawn(|| {
            let _held = cache().lock().unwrap_or_else(PoisonError::into_inner);
            panic!("deliberate panic while holding the tile cache lock");
        })
        .join();
        assert!(outcome.is_err());
        assert!(cache().is_poisoned());
        // A generation no layer has (generations count up from 1 per process).
        let key = (u64::MAX, "buildings", TileId { z: 3, x: 1, y: 2 });
        assert!(cached(&key).is_none());
        remember(key, Arc::new(vec![1, 2, 3]));
        assert_eq!(cached(&key).as_deref(), Some(&vec![1, 2, 3]));
    }

    #[test]
    fn geometry_encoding_matches_the_specification_examples() {
        // MVT 2.1 spec, 4.3.5: a point at (25, 17).
        assert_eq!(
            encode_geometry(GeomType::Point, &[vec![(25, 17)]]),
            vec![9, 50, 34]
        );
        // A multipoint (5, 7), (3, 2).
        assert_eq!(
            encode_geometry(GeomType::Point, &[vec![(5, 7), (3, 2)]]),
            vec![17, 10, 14, 3, 9]
        );
        // A linestring (2,2) (2,10) (10,10).
        assert_eq!(
            encode_geometry(GeomType::LineString, &[vec![(2, 2), (2, 10), (10, 10)]]),
            vec![9, 4, 4, 18, 0, 16, 16, 0]
        );
        // A polygon (3,6) (8,12) (20,34).
        assert_eq!(
            encode_geometry(GeomType::Polygon, &[vec![(3, 6), (8, 12), (20, 34)]]),
            vec![9, 6, 12, 18, 10, 12, 24, 44, 15]
        );
    }

    #[test]
    fn varints_and_zigzag() {
        let mut v = Vec::new();
        varint(&mut v, 300);
        assert_eq!(v, vec![0xac, 0x02]);
        assert_eq!(zigzag(0), 0);
        assert_eq!(zigzag(-1), 1);
        assert_eq!(zigzag(1), 2);
        assert_eq!(zigzag(-2), 3);
    }

    #[test]
    fn projection_puts_the_tile_corners_at_0_and_extent() {
        let t = TileId {
            z: 14,
            x: 13597,
            y: 6711,
        };
        let b = t.bounds(0.0);
        let (x0, y0) = t.project(b.min().x, b.max().y);
        let (x1, y1) = t.project(b.max().x, b.min().y);
        assert!(x0.abs() < 1e-6 && y0.abs() < 1e-6, "{x0} {y0}");
        assert!(
            (x1 - 4096.0).abs() < 1e-6 && (y1 - 4096.0).abs() < 1e-6,
            "{x1} {y1}"
        );
    }

    #[test]
    fn exterior_rings_are_clockwise_on_screen_and_holes_counter_clockwise() {
        use geo::polygon;
        let t = TileId {
            z: 16,
            x: 54390,
            y: 26847,
        };
        let b = t.bounds(0.0);
        let (w, s, e, n) = (b.min().x, b.min().y, b.max().x, b.max().y);
        let (dx, dy) = ((e - w) / 10.0, (n - s) / 10.0);
        // Counter-clockwise in lon/lat (as GeoJSON writes exteriors), with a hole.
        let p = polygon!(
            exterior: [(x: w + dx, y: s + dy), (x: e - dx, y: s + dy), (x: e - dx, y: n - dy), (x: w + dx, y: n - dy)],
            interiors: [[(x: w + 4.0 * dx, y: s + 4.0 * dy), (x: w + 4.0 * dx, y: n - 4.0 * dy), (x: e - 4.0 * dx, y: n - 4.0 * dy), (x: e - 4.0 * dx, y: s + 4.0 * dy)]],
        );
        let rings = tile_polygons(&MultiPolygon(vec![p]), t, detail(16));
        assert_eq!(rings.len(), 2);
        assert!(ring_area2(&rings[0]) > 0);
        assert!(ring_area2(&rings[1]) < 0);
    }

    #[test]
    fn clipping_keeps_the_part_inside_the_buffered_tile() {
        let ring = vec![
            (-1000.0, -1000.0),
            (5000.0, -1000.0),
            (5000.0, 5000.0),
            (-1000.0, 5000.0),
        ];
        let c = clip_ring(&ring, -64.0, 4160.0);
        let q = quantise(&c);
        assert_eq!(ring_area2(&q).abs(), 2 * 4224 * 4224);
        let parts = clip_line(
            &[
                (-100.0, 10.0),
                (5000.0, 10.0),
                (5000.0, 20.0),
                (100.0, 20.0),
            ],
            -64.0,
            4160.0,
        );
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], vec![(-64.0, 10.0), (4160.0, 10.0)]);
        assert_eq!(parts[1], vec![(4160.0, 20.0), (100.0, 20.0)]);
    }

    #[test]
    fn simplification_drops_points_within_tolerance_only() {
        let line = vec![(0.0, 0.0), (10.0, 0.2), (20.0, 0.0), (20.0, 30.0)];
        assert_eq!(
            simplify(&line, 1.0),
            vec![(0.0, 0.0), (20.0, 0.0), (20.0, 30.0)]
        );
        assert_eq!(simplify(&line, 0.1).len(), 4);
    }

    #[test]
    fn etags_compare_weakly() {
        assert!(etag_matches("W/\"a-1\"", "W/\"a-1\""));
        assert!(etag_matches("\"x\", W/\"a-1\"", "W/\"a-1\""));
        assert!(etag_matches("*", "W/\"a-1\""));
        assert!(!etag_matches("W/\"a-2\"", "W/\"a-1\""));
    }
}
