//! The GeoPackageBinary geometry blob (OGC GeoPackage 1.3, clause 2.1.3): a small header
//! followed by standard WKB.
//!
//! ```text
//! offset  size  field
//! 0       2     magic "GP"
//! 2       1     version, 0 = version 1
//! 3       1     flags: bits 7-6 reserved, bit 5 X (1 = extended, never written here),
//!               bit 4 Y (1 = empty geometry), bits 3-1 E (envelope code), bit 0 B (1 = little endian)
//! 4       4     srs_id, int32 in the byte order of B
//! 8       0/32/48/64  envelope: E=0 none, 1 [minx,maxx,miny,maxy], 2 +[minz,maxz],
//!               3 +[minm,maxm], 4 +[minz,maxz,minm,maxm]; doubles in the byte order of B
//! ...     WKB   the geometry (ISO WKB, its own byte order byte)
//! ```
//!
//! Written blobs are little endian, srs_id 4326, envelope code 1 for lines and polygons and 0
//! for points (the spec recommends no envelope for points). Reading accepts either byte order
//! and every envelope code, and promotes a POLYGON to a MULTIPOLYGON.

use geo::BoundingRect;
use geo_traits::to_geo::ToGeoGeometry;
use geo_types::{Geometry, LineString, MultiPolygon, Point, Rect};

/// The only spatial reference system this service writes: WGS 84 longitude/latitude.
pub(crate) const SRS_ID_WGS84: i32 = 4326;

const MAGIC: [u8; 2] = *b"GP";
const VERSION_1: u8 = 0;
const FLAG_LITTLE_ENDIAN: u8 = 0b0000_0001;
const FLAG_EMPTY: u8 = 0b0001_0000;
const FLAG_EXTENDED: u8 = 0b0010_0000;
const ENVELOPE_SHIFT: u8 = 1;
const ENVELOPE_MASK: u8 = 0b0000_1110;
const HEADER_LEN: usize = 8;

/// A blob that is not a GeoPackageBinary geometry this service can read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid GeoPackage geometry: {0}")]
pub(crate) struct GpkgBinaryError(pub String);

fn bad(message: impl Into<String>) -> GpkgBinaryError {
    GpkgBinaryError(message.into())
}

/// The parsed fixed part of a GeoPackageBinary header.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Header {
    /// The srs_id stored in the blob.
    pub srs_id: i32,
    /// True when the empty flag is set.
    pub empty: bool,
    /// The 2-D envelope [minx, maxx, miny, maxy], if the blob has one.
    pub envelope: Option<[f64; 4]>,
    /// Where the WKB starts.
    pub wkb_offset: usize,
}

/// Encodes a multipolygon with its envelope.
pub(crate) fn encode_multi_polygon(shape: &MultiPolygon<f64>) -> Vec<u8> {
    encode_with_envelope(shape, shape.bounding_rect())
}

/// Encodes a line string with its envelope.
pub(crate) fn encode_line_string(line: &LineString<f64>) -> Vec<u8> {
    encode_with_envelope(line, line.bounding_rect())
}

/// Encodes a point, without envelope.
pub(crate) fn encode_point(point: Point<f64>) -> Vec<u8> {
    let empty = !(point.x().is_finite() && point.y().is_finite());
    let mut blob = header(empty, None);
    write_wkb(&mut blob, &point);
    blob
}

fn encode_with_envelope(
    geom: &impl geo_traits::GeometryTrait<T = f64>,
    bbox: Option<Rect<f64>>,
) -> Vec<u8> {
    let mut blob = header(bbox.is_none(), bbox);
    write_wkb(&mut blob, geom);
    blob
}

fn header(empty: bool, bbox: Option<Rect<f64>>) -> Vec<u8> {
    let envelope_code: u8 = if bbox.is_some() { 1 } else { 0 };
    let mut flags = FLAG_LITTLE_ENDIAN | (envelope_code << ENVELOPE_SHIFT);
    if empty {
        flags |= FLAG_EMPTY;
    }
    let mut blob = Vec::with_capacity(HEADER_LEN + 32 + 64);
    blob.extend_from_slice(&MAGIC);
    blob.push(VERSION_1);
    blob.push(flags);
    blob.extend_from_slice(&SRS_ID_WGS84.to_le_bytes());
    if let Some(r) = bbox {
        for v in [r.min().x, r.max().x, r.min().y, r.max().y] {
            blob.extend_from_slice(&v.to_le_bytes());
        }
    }
    blob
}

fn write_wkb(blob: &mut Vec<u8>, geom: &impl geo_traits::GeometryTrait<T = f64>) {
    let options = wkb::writer::WriteOptions {
        endianness: wkb::Endianness::LittleEndian,
    };
    // Writing into a Vec performs no I/O, and every geo-types geometry has a WKB encoding.
    wkb::writer::write_geometry(blob, geom, &options).expect("WKB encoding into a Vec cannot fail");
}

/// Reads and checks the header.
pub(crate) fn read_header(blob: &[u8]) -> Result<Header, GpkgBinaryError> {
    if blob.len() < HEADER_LEN {
        return Err(bad(format!(
            "{} bytes is shorter than the 8-byte header",
            blob.len()
        )));
    }
    if blob[0..2] != MAGIC {
        return Err(bad("the blob does not start with the magic 'GP'"));
    }
    if blob[2] != VERSION_1 {
        return Err(bad(format!(
            "unsupported GeoPackageBinary version {}",
            blob[2]
        )));
    }
    let flags = blob[3];
    if flags & FLAG_EXTENDED != 0 {
        return Err(bad("ExtendedGeoPackageBinary is not supported"));
    }
    let little = flags & FLAG_LITTLE_ENDIAN != 0;
    let envelope_len = match (flags & ENVELOPE_MASK) >> ENVELOPE_SHIFT {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        code => return Err(bad(format!("invalid envelope code {code}"))),
    };
    let wkb_offset = HEADER_LEN + envelope_len;
    if blob.len() < wkb_offset {
        return Err(bad("the blob is shorter than its envelope"));
    }
    let srs_bytes: [u8; 4] = blob[4..8].try_into().expect("4 bytes");
    let srs_id = if little {
        i32::from_le_bytes(srs_bytes)
    } else {
        i32::from_be_bytes(srs_bytes)
    };
    let envelope = (envelope_len > 0).then(|| {
        let f = |i: usize| {
            let bytes: [u8; 8] = blob[HEADER_LEN + 8 * i..HEADER_LEN + 8 * (i + 1)]
                .try_into()
                .expect("8 bytes");
            if little {
                f64::from_le_bytes(bytes)
            } else {
                f64::from_be_bytes(bytes)
            }
        };
        [f(0), f(1), f(2), f(3)]
    });
    Ok(Header {
        srs_id,
        empty: flags & FLAG_EMPTY != 0,
        envelope,
        wkb_offset,
    })
}

/// Decodes any non-empty geometry in srs 4326 (or srs 0/-1, "undefined", which GDAL may
/// write for an unset CRS).
pub(crate) fn decode(blob: &[u8]) -> Result<Geometry<f64>, GpkgBinaryError> {
    let header = read_header(blob)?;
    if !matches!(header.srs_id, SRS_ID_WGS84 | 0 | -1) {
        return Err(bad(format!(
            "srs_id {} is not WGS 84 (4326)",
            header.srs_id
        )));
    }
    if header.empty {
        return Err(bad("the geometry is empty"));
    }
    let wkb = wkb::reader::read_wkb(&blob[header.wkb_offset..])
        .map_err(|e| bad(format!("bad WKB: {e}")))?;
    wkb.try_to_geometry()
        .ok_or_else(|| bad("the geometry is empty"))
}

/// Decodes a MULTIPOLYGON (a POLYGON is promoted).
pub(crate) fn decode_multi_polygon(blob: &[u8]) -> Result<MultiPolygon<f64>, GpkgBinaryError> {
    match decode(blob)? {
        Geometry::MultiPolygon(mp) => Ok(mp),
        Geometry::Polygon(p) => Ok(MultiPolygon(vec![p])),
        other => Err(bad(format!(
            "expected a MULTIPOLYGON, found {}",
            type_name(&other)
        ))),
    }
}

/// Decodes a LINESTRING.
pub(crate) fn decode_line_string(blob: &[u8]) -> Result<LineString<f64>, GpkgBinaryError> {
    match decode(blob)? {
        Geometry::LineString(l) => Ok(l),
        other => Err(bad(format!(
            "expected a LINESTRING, found {}",
            type_name(&other)
        ))),
    }
}

/// Decodes a POINT.
pub(crate) fn decode_point(blob: &[u8]) -> Result<Point<f64>, GpkgBinaryError> {
    match decode(blob)? {
        Geometry::Point(p) => Ok(p),
        other => Err(bad(format!(
            "expected a POINT, found {}",
            type_name(&other)
        ))),
    }
}

fn type_name(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "POINT",
        Geometry::Line(_) | Geometry::LineString(_) => "LINESTRING",
        Geometry::Polygon(_) | Geometry::Rect(_) | Geometry::Triangle(_) => "POLYGON",
        Geometry::MultiPoint(_) => "MULTIPOINT",
        Geometry::MultiLineString(_) => "MULTILINESTRING",
        Geometry::MultiPolygon(_) => "MULTIPOLYGON",
        Geometry::GeometryCollection(_) => "GEOMETRYCOLLECTION",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{line_string, point, polygon};

    fn square() -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![
            (x: 118.78, y: 32.04), (x: 118.79, y: 32.04), (x: 118.79, y: 32.05), (x: 118.78, y: 32.05), (x: 118.78, y: 32.04)
        ]])
    }

    fn f64_at(blob: &[u8], offset: usize) -> f64 {
        f64::from_le_bytes(blob[offset..offset + 8].try_into().unwrap())
    }

    #[test]
    fn polygon_header_bytes_follow_the_spec() {
        let blob = encode_multi_polygon(&square());
        assert_eq!(&blob[0..2], b"GP", "magic");
        assert_eq!(blob[2], 0, "version 0 means GeoPackage binary version 1");
        // little endian (bit 0) + envelope code 1 in bits 1-3; not empty, not extended.
        assert_eq!(blob[3], 0b0000_0011);
        assert_eq!(&blob[4..8], &4326i32.to_le_bytes());
        // Envelope order is minx, maxx, miny, maxy.
        assert_eq!(f64_at(&blob, 8), 118.78);
        assert_eq!(f64_at(&blob, 16), 118.79);
        assert_eq!(f64_at(&blob, 24), 32.04);
        assert_eq!(f64_at(&blob, 32), 32.05);
        // WKB: little endian, type 6 (MultiPolygon), 1 polygon, type 3, 1 ring, 5 points.
        assert_eq!(blob[40], 1);
        assert_eq!(&blob[41..45], &6u32.to_le_bytes());
        assert_eq!(&blob[45..49], &1u32.to_le_bytes());
        assert_eq!(blob[49], 1);
        assert_eq!(&blob[50..54], &3u32.to_le_bytes());
        assert_eq!(&blob[54..58], &1u32.to_le_bytes());
        assert_eq!(&blob[58..62], &5u32.to_le_bytes());
        assert_eq!(blob.len(), 62 + 5 * 16);
        assert_eq!(f64_at(&blob, 62), 118.78);
        assert_eq!(f64_at(&blob, 70), 32.04);

        let h = read_header(&blob).unwrap();
        assert_eq!(
            h,
            Header {
                srs_id: 4326,
                empty: false,
                envelope: Some([118.78, 118.79, 32.04, 32.05]),
                wkb_offset: 40
            }
        );
    }

    #[test]
    fn point_has_no_envelope() {
        let blob = encode_point(point!(x: 118.7784, y: 32.0416));
        assert_eq!(&blob[0..4], &[b'G', b'P', 0, 0b0000_0001]);
        assert_eq!(&blob[4..8], &4326i32.to_le_bytes());
        assert_eq!(
            blob[8], 1,
            "WKB little endian right after the 8-byte header"
        );
        assert_eq!(&blob[9..13], &1u32.to_le_bytes(), "WKB point");
        assert_eq!(blob.len(), 8 + 21);
        assert_eq!(f64_at(&blob, 13), 118.7784);
        assert_eq!(f64_at(&blob, 21), 32.0416);
        assert_eq!(read_header(&blob).unwrap().envelope, None);
    }

    #[test]
    fn round_trips_are_exact() {
        let mp = MultiPolygon(vec![
            polygon!(
                exterior: [(x: 0.1, y: 0.1), (x: 10.0, y: 0.2), (x: 10.0, y: 10.0), (x: 0.0, y: 10.0), (x: 0.1, y: 0.1)],
                interiors: [[(x: 1.0, y: 1.0), (x: 2.0, y: 1.0), (x: 2.0, y: 2.0), (x: 1.0, y: 1.0)]],
            ),
            polygon![(x: 20.0, y: 20.0), (x: 21.0, y: 20.0), (x: 21.0, y: 21.0), (x: 20.0, y: 20.0)],
        ]);
        assert_eq!(
            decode_multi_polygon(&encode_multi_polygon(&mp)).unwrap(),
            mp
        );

        let line = line_string![(x: -8.61, y: 41.15), (x: -8.6123456789012, y: 41.1512345678901), (x: -8.62, y: 41.16)];
        let blob = encode_line_string(&line);
        assert_eq!(blob[3], 0b0000_0011);
        assert_eq!(decode_line_string(&blob).unwrap(), line);

        let p = point!(x: 7.4246, y: 43.7384);
        assert_eq!(decode_point(&encode_point(p)).unwrap(), p);
    }

    #[test]
    fn polygon_is_promoted_and_wrong_types_rejected() {
        let p = square().0.remove(0);
        let blob = encode_with_envelope(&p, p.bounding_rect());
        assert_eq!(decode_multi_polygon(&blob).unwrap(), MultiPolygon(vec![p]));
        let err = decode_point(&blob).unwrap_err();
        assert!(err.0.contains("expected a POINT, found POLYGON"), "{err}");
    }

    #[test]
    fn big_endian_header_and_wkb_are_read() {
        // Hand-built: big-endian header with envelope, big-endian WKB point.
        let mut blob = vec![b'G', b'P', 0, 0b0000_0010];
        blob.extend_from_slice(&4326i32.to_be_bytes());
        for v in [1.5f64, 1.5, 2.5, 2.5] {
            blob.extend_from_slice(&v.to_be_bytes());
        }
        blob.push(0);
        blob.extend_from_slice(&1u32.to_be_bytes());
        blob.extend_from_slice(&1.5f64.to_be_bytes());
        blob.extend_from_slice(&2.5f64.to_be_bytes());
        let h = read_header(&blob).unwrap();
        assert_eq!(h.srs_id, 4326);
        assert_eq!(h.envelope, Some([1.5, 1.5, 2.5, 2.5]));
        assert_eq!(decode_point(&blob).unwrap(), point!(x: 1.5, y: 2.5));
    }

    #[test]
    fn broken_blobs_are_errors_not_panics() {
        let good = encode_multi_polygon(&square());
        assert!(decode(&[]).is_err());
        assert!(decode(b"GP").is_err());
        assert!(decode(&good[..20]).is_err(), "cut inside the envelope");
        assert!(decode(&good[..50]).is_err(), "cut inside the WKB");
        let mut wrong_magic = good.clone();
        wrong_magic[0] = b'X';
        assert!(decode(&wrong_magic).unwrap_err().0.contains("magic"));
        let mut extended = good.clone();
        extended[3] |= FLAG_EXTENDED;
        assert!(decode(&extended).is_err());
        let mut bad_envelope = good.clone();
        bad_envelope[3] = 0b0000_1011; // envelope code 5
        assert!(
            decode(&bad_envelope)
                .unwrap_err()
                .0
                .contains("envelope code")
        );
        let mut other_srs = good.clone();
        other_srs[4..8].copy_from_slice(&3857i32.to_le_bytes());
        assert!(decode(&other_srs).unwrap_err().0.contains("3857"));
        let mut empty = encode_point(point!(x: 1.0, y: 1.0));
        empty[3] |= FLAG_EMPTY;
        assert!(decode(&empty).unwrap_err().0.contains("empty"));
    }
}
