//! The protobuf wire encoding, the part both our writers need: varints, zigzag, field keys,
//! length-delimited fields and packed repeated fields.
//!
//! Hand-written (about 40 lines) rather than taken from a crate: the `mvt` crate brings
//! rust-protobuf 3 with its code generator and `prost` needs message definitions compiled at
//! build time, while Mapbox Vector Tiles and OSM PBF blocks need only these five primitives.
//!
//! ```
//! use gridcircle::formats::protobuf::{bytes_field, key, packed, varint, zigzag};
//! let mut out = Vec::new();
//! varint(&mut out, 300);
//! assert_eq!(out, [0xac, 0x02]);
//! assert_eq!(zigzag(-1), 1);
//! let mut msg = Vec::new();
//! key(&mut msg, 1, 0);
//! varint(&mut msg, 150);
//! assert_eq!(msg, [0x08, 0x96, 0x01]);
//! let mut strings = Vec::new();
//! bytes_field(&mut strings, 2, b"ab");
//! assert_eq!(strings, [0x12, 2, b'a', b'b']);
//! let mut list = Vec::new();
//! packed(&mut list, 4, [1u64, 300]);
//! assert_eq!(list, [0x22, 3, 1, 0xac, 0x02]);
//! ```

/// Appends `v` as a base-128 varint.
pub fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// ZigZag encoding of a signed integer (`sint` fields): small magnitudes stay small.
pub fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

/// Appends a field key: the field number and its wire type (0 varint, 2 length-delimited).
pub fn key(out: &mut Vec<u8>, field: u32, wire: u8) {
    varint(out, (u64::from(field) << 3) | u64::from(wire));
}

/// Appends a length-delimited field (bytes, strings, embedded messages).
pub fn bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    key(out, field, 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

/// Appends a packed repeated varint field.
pub fn packed(out: &mut Vec<u8>, field: u32, values: impl IntoIterator<Item = u64>) {
    let mut body = Vec::new();
    for v in values {
        varint(&mut body, v);
    }
    bytes_field(out, field, &body);
}
