//! [`content_hash`]: a digest of what a snapshot holds, to compare replicas.

use sha2::{Digest, Sha256};

use super::Snapshot;

/// A SHA-256 over the snapshot's content (ids, codes, names, versions, geometry coordinates,
/// household counts, facility attributes, circle definitions), independent of the order
/// records were loaded in and of the snapshot's version number: two replicas with the same
/// content give the same hash.
pub fn content_hash(s: &Snapshot) -> String {
    let mut h = Sha256::new();
    let mut put = |tag: &str, text: String| {
        h.update(tag.as_bytes());
        h.update((text.len() as u64).to_le_bytes());
        h.update(text.as_bytes());
    };
    let coords = |mp: &geo::MultiPolygon<f64>| -> String {
        let mut out = String::new();
        for p in &mp.0 {
            for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
                for c in &ring.0 {
                    out.push_str(&format!("{:x},{:x};", c.x.to_bits(), c.y.to_bits()));
                }
                out.push('|');
            }
        }
        out
    };
    for o in s.street_offices.items() {
        put(
            "so",
            format!(
                "{} {} {} {} {}",
                o.id,
                o.code,
                o.name,
                o.demo,
                coords(o.boundary.shape())
            ),
        );
    }
    for c in s.communities.items() {
        put(
            "co",
            format!(
                "{} {} {} {} {} {}",
                c.id,
                c.code,
                c.name,
                c.street_office_id,
                c.demo,
                coords(c.boundary.shape())
            ),
        );
    }
    for g in s.grids.layer.items() {
        let people: Vec<String> = g
            .chief
            .iter()
            .chain(&g.workers)
            .map(|p| format!("{}/{}", p.name(), p.phone().unwrap_or("")))
            .collect();
        put(
            "gr",
            format!(
                "{} {} {} {} v{} {} {:?} {}",
                g.id,
                g.code,
                g.name,
                g.community_id,
                g.version,
                g.demo,
                people,
                coords(g.boundary.shape())
            ),
        );
    }
    for b in s.buildings.layer.items() {
        put(
            "bu",
            format!(
                "{} {} {} {} {} {:x} {:x}",
                b.id,
                b.osm,
                b.households,
                b.residents,
                b.building,
                b.point.lon().to_bits(),
                b.point.lat().to_bits()
            ),
        );
    }
    for f in s.facilities.layer.items() {
        put(
            "fa",
            format!(
                "{} {:?} {} {:?} {:?} {} {:?} {:?} {:?} {} {} {:x} {:x}",
                f.id,
                f.osm.map(|o| o.to_string()),
                f.kind.as_str(),
                f.name,
                f.owner,
                f.audience.as_str(),
                f.hours.as_ref().map(|h| h.raw()),
                f.capacity,
                f.free,
                f.shared,
                f.demo,
                f.point.lon().to_bits(),
                f.point.lat().to_bits()
            ),
        );
    }
    for w in s.ways.items() {
        put("wa", format!("{} {} {}", w.id, w.highway, w.node_ids.len()));
    }
    let mut circles: Vec<String> = s
        .circles
        .iter()
        .map(|c| {
            format!(
                "{} {} {:?} {} {} {:?}",
                c.id, c.name, c.kinds, c.minutes, c.speed_kmh, c.mode
            )
        })
        .collect();
    circles.sort();
    for c in circles {
        put("ci", c);
    }
    put("tz", s.timezone.name().to_owned());
    hex::encode(h.finalize())
}
