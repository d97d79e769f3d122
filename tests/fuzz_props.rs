//! Property-test equivalents of the cargo-fuzz targets in `fuzz/` (issue 8), run with the default
//! tests (no nightly toolchain needed): the GeoJSON Feature parser and validators, the
//! opening_hours path, query-string parsing and the OSM PBF import of a mutated small file must
//! answer every input with Ok or an error, never a panic. The fuzz targets run longer with
//! `cargo +nightly fuzz run <target> -- -max_total_time=60` (see fuzz/README.md).

mod common;

use std::io::Write;
use std::sync::LazyLock;

use gridcircle::config::HouseholdEstimate;
use gridcircle::http::fuzz::{feature_body, opening_hours, query_string};
use gridcircle::model::KindCatalogue;
use proptest::prelude::*;
use serde_json::{Value, json};

static CATALOGUE: LazyLock<KindCatalogue> = LazyLock::new(KindCatalogue::bundled);

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-200.0f64..200.0).prop_map(Value::from),
        prop_oneof![
            Just(f64::MAX),
            Just(f64::MIN_POSITIVE),
            Just(-0.0),
            Just(1e308)
        ]
        .prop_map(Value::from),
        "[a-z_ 网格0-9:;-]{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,10}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn position() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => (118.76f64..118.80, 32.03f64..32.06).prop_map(|(x, y)| json!([x, y])),
        1 => (-400.0f64..400.0, -400.0f64..400.0).prop_map(|(x, y)| json!([x, y])),
        1 => prop::collection::vec(-1e3f64..1e3, 0..4).prop_map(Value::from),
        1 => any_json(),
    ]
}

/// GeoJSON-shaped geometries: right and wrong types, rings open and closed, bow ties.
fn geometry() -> impl Strategy<Value = Value> {
    let ring =
        (prop::collection::vec(position(), 0..9), any::<bool>()).prop_map(|(mut r, close)| {
            if close && !r.is_empty() {
                r.push(r[0].clone());
            }
            Value::Array(r)
        });
    let kind = prop::sample::select(vec![
        "Point",
        "LineString",
        "Polygon",
        "MultiPolygon",
        "GeometryCollection",
        "Circle",
        "",
    ]);
    (
        kind,
        prop::collection::vec(ring, 0..3),
        position(),
        any::<u8>(),
    )
        .prop_map(|(k, rings, p, pick)| {
            let coordinates = match (k, pick % 4) {
                ("Point", _) => p,
                ("MultiPolygon", _) => json!([rings]),
                (_, 0) => json!(rings.first().cloned().unwrap_or(Value::Null)),
                _ => Value::Array(rings),
            };
            json!({ "type": k, "coordinates": coordinates })
        })
}

/// Feature-shaped bodies with plausible and implausible properties.
fn feature() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "kind",
        "name",
        "owner",
        "audience",
        "opening_hours",
        "capacity",
        "free",
        "shared",
        "demo",
        "id",
        "code",
        "community_id",
        "chief_name",
        "chief_phone",
        "workers",
        "version",
        "colour",
    ]);
    let value = prop_oneof![
        prop::sample::select(vec![
            "toilet",
            "reading_room",
            "drinking_water",
            "sanitation_workers",
            "everyone",
            "Mo-Fr 08:00-18:00; PH off",
            "24/7",
            "320104001001001",
            "13800000000",
            "网格长"
        ])
        .prop_map(Value::from),
        any_json(),
    ];
    let props = prop::collection::btree_map(key, value, 0..8);
    let ty = prop::sample::select(vec![
        "Feature",
        "Feature",
        "Feature",
        "FeatureCollection",
        "feature",
    ]);
    (ty, prop::option::of(geometry()), props).prop_map(|(ty, g, p)| {
        json!({ "type": ty, "geometry": g, "properties": p.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<serde_json::Map<_, _>>() })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_are_answered_as_a_feature_body(data in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = feature_body(&data, &CATALOGUE);
    }

    #[test]
    fn feature_shaped_bodies_are_answered(f in feature()) {
        let _ = feature_body(f.to_string().as_bytes(), &CATALOGUE);
    }

    #[test]
    fn any_opening_hours_are_answered(text in "[A-Za-z0-9:;,+/ \\[\\]\"().-]{0,60}") {
        let _ = opening_hours(&text);
    }

    #[test]
    fn opening_hours_like_strings_are_answered(parts in prop::collection::vec(prop::sample::select(vec![
        "Mo", "Tu", "We", "Th", "Fr", "Sa", "Su", "PH", "SH", "-", ",", ";", " ", "||", "off", "open", "closed",
        "08:00", "18:00", "24:00", "00:00", "25:61", "+", "Jan", "Dec", "week", "01", "53", "sunrise", "sunset",
        "(", ")", "\"x\"", "[1]", "[-1]", "24/7", "2026", "easter", "/", "2",
    ]), 0..14)) {
        let _ = opening_hours(&parts.concat());
    }

    #[test]
    fn any_query_string_is_answered(q in "[a-z_=&%0-9A-F.,:+ TZ-]{0,100}") {
        let _ = query_string(&q);
    }

    #[test]
    fn query_strings_with_known_names_are_answered(pairs in prop::collection::vec((
        prop::sample::select(vec!["lon", "lat", "k", "limit", "offset", "bbox", "at", "open_now", "minutes", "as_of", "x"]),
        "[0-9a-zA-Z.,:+%-]{0,24}",
    ), 0..6)) {
        let q: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = query_string(&q.join("&"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// The OSM import of a small real extract with bytes flipped, cut or spliced.
    #[test]
    fn a_mutated_pbf_imports_or_fails_cleanly(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
        cut in prop::option::of(any::<prop::sample::Index>()),
    ) {
        static PBF: LazyLock<Vec<u8>> = LazyLock::new(|| std::fs::read(common::shared_data("nanjing-xinjiekou.osm.pbf")).unwrap());
        let mut data = PBF.clone();
        for (at, byte) in &flips {
            let i = at.index(data.len());
            data[i] = *byte;
        }
        if let Some(c) = cut {
            data.truncate(c.index(data.len()));
        }
        let mut file = tempfile::Builder::new().suffix(".osm.pbf").tempfile().unwrap();
        file.write_all(&data).unwrap();
        let _ = gridcircle::import::read_osm_pbf(file.path(), &CATALOGUE, &HouseholdEstimate::default(), false);
    }
}
