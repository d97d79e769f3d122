//! Geometries to and from PostGIS: plain ISO WKB, written by `ST_GeomFromWKB($n, 4326)` and
//! read back with `ST_AsBinary(geom)`. WKB doubles round-trip exactly, so a stored
//! coordinate reads back bit for bit.

use geo_traits::to_geo::ToGeoGeometry;
use geo_types::{Geometry, LineString, MultiPolygon, Point};

/// Encodes any geometry as little-endian WKB.
pub(crate) fn encode(geom: &impl geo_traits::GeometryTrait<T = f64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    let options = wkb::writer::WriteOptions {
        endianness: wkb::Endianness::LittleEndian,
    };
    // Writing into a Vec performs no I/O, and every geo-types geometry has a WKB encoding.
    wkb::writer::write_geometry(&mut out, geom, &options)
        .expect("WKB encoding into a Vec cannot fail");
    out
}

fn decode(blob: &[u8]) -> Result<Geometry<f64>, String> {
    let wkb = wkb::reader::read_wkb(blob).map_err(|e| format!("bad WKB: {e}"))?;
    wkb.try_to_geometry()
        .ok_or_else(|| "the geometry is empty".to_owned())
}

/// Decodes a MULTIPOLYGON (a POLYGON is promoted).
pub(crate) fn decode_multi_polygon(blob: &[u8]) -> Result<MultiPolygon<f64>, String> {
    match decode(blob)? {
        Geometry::MultiPolygon(mp) => Ok(mp),
        Geometry::Polygon(p) => Ok(MultiPolygon(vec![p])),
        _ => Err("expected a MULTIPOLYGON".into()),
    }
}

/// Decodes a LINESTRING.
pub(crate) fn decode_line_string(blob: &[u8]) -> Result<LineString<f64>, String> {
    match decode(blob)? {
        Geometry::LineString(l) => Ok(l),
        _ => Err("expected a LINESTRING".into()),
    }
}

/// Decodes a POINT.
pub(crate) fn decode_point(blob: &[u8]) -> Result<Point<f64>, String> {
    match decode(blob)? {
        Geometry::Point(p) => Ok(p),
        _ => Err("expected a POINT".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{line_string, point, polygon};

    #[test]
    fn round_trips_exactly() {
        let p = point!(x: 118.778_412_345_678_9, y: 32.041_6);
        assert_eq!(decode_point(&encode(&p)).unwrap(), p);
        let l = line_string![(x: 1.0, y: 2.0), (x: 3.5, y: -4.25)];
        assert_eq!(decode_line_string(&encode(&l)).unwrap(), l);
        let poly = polygon![(x: 0.0, y: 0.0), (x: 1.0, y: 0.0), (x: 1.0, y: 1.0), (x: 0.0, y: 0.0)];
        let mp = MultiPolygon(vec![poly.clone()]);
        assert_eq!(decode_multi_polygon(&encode(&mp)).unwrap(), mp);
        assert_eq!(decode_multi_polygon(&encode(&poly)).unwrap(), mp);
        assert!(decode_point(&encode(&l)).is_err());
        assert!(decode_multi_polygon(&[1, 2, 3]).is_err());
    }
}
