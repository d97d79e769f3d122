//! Grids as governance objects on real data: the Nanjing Xinjiekou extract (../shared/data) and
//! the demo street office, communities and grids drawn from it (data/demo, or drawn here by the
//! project's own tool when data/demo is not there yet).
//!
//! Topology checks on valid and invalid drawings, codes and renumbering, and draft partitions.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use geo::{Area, BooleanOps, Coord, Geometry, MultiPolygon, Polygon, Rect};
use gridcircle::config::HouseholdEstimate;
use gridcircle::grids::{
    self, LocalFrame, Problem, ProblemKind, TopologyConfig, TopologyReport, check_community,
    check_grid, check_raw, check_street_office, draft_grids, renumber,
};
use gridcircle::import::read_osm_pbf;
use gridcircle::model::{
    AreaShape, Building, Community, CommunityCode, Grid, GridCode, KindCatalogue, StreetOffice,
    StreetOfficeCode, StreetWay,
};
use serde_json::Value;

struct World {
    buildings: Vec<Building>,
    ways: Vec<StreetWay>,
    office: StreetOffice,
    communities: Vec<Community>,
    grids: Vec<Grid>,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read_layer(dir: &Path, name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join(format!("{name}.geojson"))).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    v["features"].as_array().unwrap().clone()
}

fn shape_of(feature: &Value) -> AreaShape {
    let g: geojson::Geometry = serde_json::from_value(feature["geometry"].clone()).unwrap();
    match Geometry::<f64>::try_from(g).unwrap() {
        Geometry::Polygon(p) => AreaShape::from_polygon(p, "geometry").unwrap(),
        Geometry::MultiPolygon(m) => AreaShape::from_multi_polygon(m, "geometry").unwrap(),
        other => panic!("not an area: {other:?}"),
    }
}

/// Nanjing buildings (ids 1…n, as a store would give) and ways, and the demo layers.
fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let pbf = repo().join("../shared/data/nanjing-xinjiekou.osm.pbf");
        let import = read_osm_pbf(
            &pbf,
            &KindCatalogue::bundled(),
            &HouseholdEstimate::default(),
            false,
        )
        .unwrap();
        let mut buildings = import.buildings;
        for (i, b) in buildings.iter_mut().enumerate() {
            b.id = i as i64 + 1;
        }
        let committed = repo().join("data/demo");
        let drawn;
        let dir = if committed.join("grids.geojson").exists() {
            committed.as_path()
        } else {
            drawn = tempfile::tempdir().unwrap();
            let data = gridcircle::store::Dataset {
                buildings: buildings.clone(),
                ways: import.ways.clone(),
                ..Default::default()
            };
            gridcircle_tools::demo::write_demo_layers(&data, 400, drawn.path()).unwrap();
            drawn.path()
        };
        let office_f = &read_layer(dir, "street_offices")[0];
        let office = StreetOffice {
            id: 1,
            code: StreetOfficeCode::parse(office_f["properties"]["code"].as_str().unwrap(), "code")
                .unwrap(),
            name: "office".into(),
            boundary: shape_of(office_f),
            demo: true,
        };
        let communities: Vec<Community> = read_layer(dir, "communities")
            .iter()
            .enumerate()
            .map(|(i, f)| Community {
                id: 100 + i as i64,
                code: CommunityCode::parse(f["properties"]["code"].as_str().unwrap(), "code")
                    .unwrap(),
                name: f["properties"]["name"].as_str().unwrap().into(),
                street_office_id: 1,
                boundary: shape_of(f),
                demo: true,
            })
            .collect();
        let grids: Vec<Grid> = read_layer(dir, "grids")
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let code =
                    GridCode::parse(f["properties"]["code"].as_str().unwrap(), "code").unwrap();
                let community = communities
                    .iter()
                    .find(|c| c.code == code.community())
                    .unwrap();
                Grid {
                    id: 1000 + i as i64,
                    code,
                    name: f["properties"]["name"].as_str().unwrap().into(),
                    community_id: community.id,
                    chief: None,
                    workers: vec![],
                    boundary: shape_of(f),
                    demo: true,
                    version: 1,
                }
            })
            .collect();
        World {
            buildings,
            ways: import.ways,
            office,
            communities,
            grids,
        }
    })
}

fn grids_of(w: &World, c: &Community) -> Vec<Grid> {
    w.grids
        .iter()
        .filter(|g| g.community_id == c.id)
        .cloned()
        .collect()
}

fn rect(min: Coord<f64>, max: Coord<f64>) -> AreaShape {
    AreaShape::from_polygon(Rect::new(min, max).to_polygon(), "geometry").unwrap()
}

/// Area in m² of a problem's (or any) geometry, in `frame`.
fn area_m2(frame: &LocalFrame, g: &Geometry<f64>) -> f64 {
    let mp = match g {
        Geometry::Polygon(p) => MultiPolygon(vec![p.clone()]),
        Geometry::MultiPolygon(m) => m.clone(),
        other => panic!("not an area: {other:?}"),
    };
    frame.multi_polygon_to_local(&mp).unsigned_area()
}

fn close(actual: f64, expected: f64, rel: f64) -> bool {
    (actual - expected).abs() <= rel * expected.abs().max(1e-9)
}

/// Degrees of latitude for `m` metres (and of longitude at the community's latitude).
fn dlat(m: f64) -> f64 {
    m / 111_194.93
}

/// A grid `g` and the grid `s` right below it in the same column (the demo draws columns).
fn column_pairs(grids: &[Grid]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (i, g) in grids.iter().enumerate() {
        for (j, s) in grids.iter().enumerate() {
            let (a, b) = (g.boundary.bbox(), s.boundary.bbox());
            if i != j && a.min().x == b.min().x && a.max().x == b.max().x && a.min().y == b.max().y
            {
                out.push((i, j));
            }
        }
    }
    out
}

fn only_errors(report: &TopologyReport) -> Vec<ProblemKind> {
    report.errors.iter().map(|p| p.kind).collect()
}

#[test]
fn the_demo_tiling_passes_every_check_at_every_level() {
    let w = world();
    let config = TopologyConfig::default();
    let mut warnings = std::collections::BTreeMap::new();
    for c in &w.communities {
        let mine = grids_of(w, c);
        for g in &mine {
            let report = check_grid(
                &g.boundary,
                &g.code,
                Some(g.id),
                c,
                &mine,
                &w.buildings,
                &config,
            );
            assert!(
                report.errors.is_empty(),
                "grid {} of a valid tiling: {:#?}",
                g.code,
                report.errors
            );
            for p in &report.warnings {
                *warnings.entry(p.kind).or_insert(0) += 1;
            }
        }
        let report = check_community(
            &c.boundary,
            &c.code,
            Some(c.id),
            &w.office,
            &w.communities,
            &w.buildings,
            &config,
        );
        assert!(
            report.errors.is_empty(),
            "community {}: {:#?}",
            c.code,
            report.errors
        );
        assert_eq!(report.of_kind(ProblemKind::BuildingsWithoutGrid).count(), 0);
    }
    let report = check_street_office(
        &w.office.boundary,
        &w.office.code,
        Some(1),
        std::slice::from_ref(&w.office),
        &w.buildings,
        &config,
    );
    assert!(report.is_ok(), "{report:#?}");
    eprintln!("warnings on the demo grids (not errors): {warnings:?}");
}

#[test]
fn an_overlap_is_reported_with_the_overlapping_strip() {
    let w = world();
    let c = &w.communities[0];
    let frame = LocalFrame::for_area(&c.boundary);
    let mine = grids_of(w, c);
    let (gi, si) = column_pairs(&mine)[0];
    let (g, s) = (&mine[gi], &mine[si]);
    let b = g.boundary.bbox();
    // Drawn 10 m too far south, into the grid below.
    let moved = rect(
        Coord {
            x: b.min().x,
            y: b.min().y - dlat(10.0),
        },
        b.max(),
    );
    let report = check_grid(
        &moved,
        &g.code,
        Some(g.id),
        c,
        &mine,
        &w.buildings,
        &TopologyConfig::default(),
    );
    assert_eq!(
        only_errors(&report),
        vec![ProblemKind::Overlap],
        "{:#?}",
        report.errors
    );
    let p = &report.errors[0];
    assert_eq!(p.other_id, Some(s.id));
    let strip = rect(
        Coord {
            x: b.min().x,
            y: b.min().y - dlat(10.0),
        },
        Coord {
            x: b.max().x,
            y: b.min().y,
        },
    );
    let expected = frame.area_to_local(&strip).unsigned_area();
    let got = area_m2(&frame, &p.geometry);
    assert!(
        close(got, expected, 1e-6),
        "overlap {got} m², drew {expected} m²"
    );
    // The overlap lies where it was made.
    let inter = frame
        .area_to_local(&strip)
        .intersection(&frame.multi_polygon_to_local(&to_mp(&p.geometry)))
        .unsigned_area();
    assert!(close(inter, expected, 1e-6));
    // A 5 mm strip along a 660 m edge is 3.3 m² and counts (area > tolerance²); a strip thinner
    // than the 1 mm debris width is boolean-operation noise and does not.
    let mm5 = rect(
        Coord {
            x: b.min().x,
            y: b.min().y - dlat(0.005),
        },
        b.max(),
    );
    let report = check_grid(
        &mm5,
        &g.code,
        Some(g.id),
        c,
        &mine,
        &w.buildings,
        &TopologyConfig::default(),
    );
    assert_eq!(only_errors(&report), vec![ProblemKind::Overlap]);
    let wobble = rect(
        Coord {
            x: b.min().x,
            y: b.min().y - dlat(0.0004),
        },
        b.max(),
    );
    let report = check_grid(
        &wobble,
        &g.code,
        Some(g.id),
        c,
        &mine,
        &w.buildings,
        &TopologyConfig::default(),
    );
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
}

fn to_mp(g: &Geometry<f64>) -> MultiPolygon<f64> {
    match g {
        Geometry::Polygon(p) => MultiPolygon(vec![p.clone()]),
        Geometry::MultiPolygon(m) => m.clone(),
        other => panic!("not an area: {other:?}"),
    }
}

#[test]
fn a_sliver_gap_is_reported_with_the_gap_and_the_neighbour_across_it() {
    let w = world();
    let c = &w.communities[0];
    let frame = LocalFrame::for_area(&c.boundary);
    let mine = grids_of(w, c);
    let (gi, si) = column_pairs(&mine)[0];
    let (g, s) = (&mine[gi], &mine[si]);
    let b = g.boundary.bbox();
    // The south edge drawn 0.5 m short of the grid below.
    let shrunk = rect(
        Coord {
            x: b.min().x,
            y: b.min().y + dlat(0.5),
        },
        b.max(),
    );
    let report = check_grid(
        &shrunk,
        &g.code,
        Some(g.id),
        c,
        &mine,
        &w.buildings,
        &TopologyConfig::default(),
    );
    assert_eq!(
        only_errors(&report),
        vec![ProblemKind::SliverGap],
        "{:#?}",
        report.errors
    );
    let p = &report.errors[0];
    assert_eq!(p.other_id, Some(s.id));
    let gap = rect(
        b.min(),
        Coord {
            x: b.max().x,
            y: b.min().y + dlat(0.5),
        },
    );
    let expected = frame.area_to_local(&gap).unsigned_area();
    let got = area_m2(&frame, &p.geometry);
    assert!(
        close(got, expected, 1e-3),
        "gap {got} m², made {expected} m²"
    );
    // A 3 m gap is not a sliver: it is a real (if odd) gap, left to buildings_without_grid.
    let wide = rect(
        Coord {
            x: b.min().x,
            y: b.min().y + dlat(3.0),
        },
        b.max(),
    );
    let report = check_grid(
        &wide,
        &g.code,
        Some(g.id),
        c,
        &mine,
        &w.buildings,
        &TopologyConfig::default(),
    );
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    // The same gap seen from the other side.
    let others: Vec<Grid> = mine
        .iter()
        .map(|x| {
            if x.id == g.id {
                Grid {
                    boundary: shrunk.clone(),
                    ..x.clone()
                }
            } else {
                x.clone()
            }
        })
        .collect();
    let report = check_grid(
        &s.boundary,
        &s.code,
        Some(s.id),
        c,
        &others,
        &w.buildings,
        &TopologyConfig::default(),
    );
    assert_eq!(only_errors(&report), vec![ProblemKind::SliverGap]);
    assert_eq!(report.errors[0].other_id, Some(g.id));
}

#[test]
fn a_grid_outside_its_community_is_reported_with_the_part_outside() {
    let w = world();
    let c = &w.communities[0];
    let frame = LocalFrame::for_area(&c.boundary);
    let mine = grids_of(w, c);
    let west = c.boundary.bbox().min().x;
    let g = mine
        .iter()
        .find(|g| g.boundary.bbox().min().x == west)
        .unwrap();
    let b = g.boundary.bbox();
    let dx = 5.0 * dlat(1.0) / b.min().y.to_radians().cos();
    let wider = rect(
        Coord {
            x: b.min().x - dx,
            y: b.min().y,
        },
        b.max(),
    );
    let report = check_grid(
        &wider,
        &g.code,
        Some(g.id),
        c,
        &mine,
        &w.buildings,
        &TopologyConfig::default(),
    );
    assert_eq!(
        only_errors(&report),
        vec![ProblemKind::OutsideParent],
        "{:#?}",
        report.errors
    );
    let p = &report.errors[0];
    assert_eq!(p.other_id, Some(c.id));
    let outside = rect(
        Coord {
            x: b.min().x - dx,
            y: b.min().y,
        },
        Coord {
            x: b.min().x,
            y: b.max().y,
        },
    );
    let expected = frame.area_to_local(&outside).unsigned_area();
    assert!(close(area_m2(&frame, &p.geometry), expected, 1e-6));
    assert!(p.message.contains("5.0 m beyond"), "{}", p.message);
}

#[test]
fn a_self_intersecting_outline_is_reported_where_it_crosses() {
    let w = world();
    let g = &w.grids[0];
    let b = g.boundary.bbox();
    let (min, max) = (b.min(), b.max());
    let bowtie = Polygon::new(
        vec![
            (min.x, min.y),
            (max.x, max.y),
            (max.x, min.y),
            (min.x, max.y),
            (min.x, min.y),
        ]
        .into(),
        vec![],
    );
    let p: Problem = check_raw(MultiPolygon(vec![bowtie]), "geometry").unwrap_err();
    assert_eq!(p.kind, ProblemKind::SelfIntersection);
    let Geometry::MultiPoint(at) = &p.geometry else {
        panic!("{:?}", p.geometry)
    };
    assert_eq!(at.0.len(), 1);
    assert!((at.0[0].x() - (min.x + max.x) / 2.0).abs() < 1e-9);
    assert!((at.0[0].y() - (min.y + max.y) / 2.0).abs() < 1e-9);
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["kind"], "self_intersection");
    assert_eq!(json["geometry"]["type"], "MultiPoint");
    // A valid outline comes back as an AreaShape, and other faults are invalid_polygon.
    assert_eq!(
        check_raw(g.boundary.shape().clone(), "geometry").unwrap(),
        g.boundary
    );
    let two_points = Polygon::new(
        vec![(min.x, min.y), (max.x, max.y), (min.x, min.y)].into(),
        vec![],
    );
    assert_eq!(
        check_raw(MultiPolygon(vec![two_points]), "geometry")
            .unwrap_err()
            .kind,
        ProblemKind::InvalidPolygon
    );
}

#[test]
fn a_code_already_used_is_reported_with_the_grid_holding_it() {
    let w = world();
    let c = &w.communities[0];
    let mine = grids_of(w, c);
    let (gi, si) = column_pairs(&mine)[0];
    let (g, s) = (&mine[gi], &mine[si]);
    let report = check_grid(
        &g.boundary,
        &s.code,
        Some(g.id),
        c,
        &mine,
        &w.buildings,
        &TopologyConfig::default(),
    );
    assert_eq!(only_errors(&report), vec![ProblemKind::DuplicateCode]);
    assert_eq!(report.errors[0].other_id, Some(s.id));
    let frame = LocalFrame::for_area(&c.boundary);
    assert!(close(
        area_m2(&frame, &report.errors[0].geometry),
        frame.area_to_local(&s.boundary).unsigned_area(),
        1e-12
    ));
}

#[test]
fn a_boundary_through_a_building_is_a_warning_with_its_footprint() {
    let w = world();
    let c = &w.communities[0];
    let frame = LocalFrame::for_area(&c.boundary);
    let mine = grids_of(w, c);
    let config = TopologyConfig::default();
    // Move the edge between a grid and the one below it onto the middle of a building that no
    // other building shares that line with.
    let mut found = None;
    'search: for (gi, si) in column_pairs(&mine) {
        let (g, s) = (mine[gi].boundary.bbox(), mine[si].boundary.bbox());
        for b in &w.buildings {
            let f = b.footprint.bbox();
            let y0 = (f.min().y + f.max().y) / 2.0;
            if f.min().x <= g.min().x
                || f.max().x >= g.max().x
                || y0 <= s.min().y + dlat(20.0)
                || y0 >= g.max().y - dlat(20.0)
            {
                continue;
            }
            let north = frame
                .area_to_local(&b.footprint)
                .intersection(&frame.area_to_local(&rect(
                    Coord {
                        x: f.min().x,
                        y: y0,
                    },
                    f.max(),
                )))
                .unsigned_area()
                / frame.area_to_local(&b.footprint).unsigned_area();
            let alone = w.buildings.iter().all(|o| {
                let r = o.footprint.bbox();
                o.id == b.id
                    || r.max().y < y0
                    || r.min().y > y0
                    || r.max().x < g.min().x
                    || r.min().x > g.max().x
            });
            if (0.25..0.75).contains(&north) && alone {
                found = Some((gi, si, b, y0));
                break 'search;
            }
        }
    }
    let (gi, si, building, y0) = found.expect("a building to cut");
    let (g, s) = (&mine[gi], &mine[si]);
    let (gb, sb) = (g.boundary.bbox(), s.boundary.bbox());
    let g2 = rect(
        Coord {
            x: gb.min().x,
            y: y0,
        },
        gb.max(),
    );
    let s2 = rect(
        sb.min(),
        Coord {
            x: sb.max().x,
            y: y0,
        },
    );
    let siblings: Vec<Grid> = mine
        .iter()
        .map(|x| {
            if x.id == s.id {
                Grid {
                    boundary: s2.clone(),
                    ..x.clone()
                }
            } else {
                x.clone()
            }
        })
        .collect();
    let before = check_grid(
        &g.boundary,
        &g.code,
        Some(g.id),
        c,
        &mine,
        &w.buildings,
        &config,
    );
    let after = check_grid(
        &g2,
        &g.code,
        Some(g.id),
        c,
        &siblings,
        &w.buildings,
        &config,
    );
    assert!(after.errors.is_empty(), "{:#?}", after.errors);
    // Where the grid grows over the one below, its side edges run where that grid's did: the
    // buildings those cut were cut before too.
    let before_below = check_grid(
        &s.boundary,
        &s.code,
        Some(s.id),
        c,
        &mine,
        &w.buildings,
        &config,
    );
    let was: HashSet<i64> = before
        .of_kind(ProblemKind::CutBuilding)
        .chain(before_below.of_kind(ProblemKind::CutBuilding))
        .filter_map(|p| p.building_id)
        .collect();
    let new: Vec<&Problem> = after
        .of_kind(ProblemKind::CutBuilding)
        .filter(|p| !was.contains(&p.building_id.unwrap()))
        .collect();
    assert_eq!(new.len(), 1, "{new:#?}");
    assert_eq!(new[0].building_id, Some(building.id));
    assert!(close(
        area_m2(&frame, &new[0].geometry),
        frame.area_to_local(&building.footprint).unsigned_area(),
        1e-12
    ));
}

#[test]
fn warnings_for_households_and_buildings_left_without_a_grid() {
    let w = world();
    let c = &w.communities[0];
    let mine = grids_of(w, c);
    let g = &mine[0];
    // The community's first grid drawn alone: everything else is left without a grid.
    let report = check_grid(
        &g.boundary,
        &g.code,
        None,
        c,
        &[],
        &w.buildings,
        &TopologyConfig::default(),
    );
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    let orphans: Vec<&Problem> = report.of_kind(ProblemKind::BuildingsWithoutGrid).collect();
    assert_eq!(orphans.len(), 1);
    let expected = w
        .buildings
        .iter()
        .filter(|b| c.boundary.contains(b.point) && !g.boundary.contains(b.point))
        .count();
    let Geometry::MultiPolygon(feet) = &orphans[0].geometry else {
        panic!()
    };
    assert_eq!(feet.0.len(), expected);
    // Redrawn as its northern half: the buildings of the southern half are released.
    let b = g.boundary.bbox();
    let half = rect(
        Coord {
            x: b.min().x,
            y: (b.min().y + b.max().y) / 2.0,
        },
        b.max(),
    );
    let report = check_grid(
        &half,
        &g.code,
        Some(g.id),
        c,
        &mine,
        &w.buildings,
        &TopologyConfig::default(),
    );
    let released = w
        .buildings
        .iter()
        .filter(|x| g.boundary.contains(x.point) && !half.contains(x.point))
        .count();
    assert!(released > 0);
    let orphans: Vec<&Problem> = report.of_kind(ProblemKind::BuildingsWithoutGrid).collect();
    assert!(
        orphans[0]
            .message
            .contains(&format!("{released} of them released by this change")),
        "{}",
        orphans[0].message
    );
    // A guidance the demo grid cannot meet.
    let strict = TopologyConfig {
        households: Some(1..=2),
        ..Default::default()
    };
    let report = check_grid(
        &g.boundary,
        &g.code,
        Some(g.id),
        c,
        &mine,
        &w.buildings,
        &strict,
    );
    assert_eq!(
        report
            .of_kind(ProblemKind::HouseholdsOutsideGuidance)
            .count(),
        1
    );
    assert_eq!(report.of_kind(ProblemKind::BuildingsWithoutGrid).count(), 0);
    let json = serde_json::to_value(&report).unwrap();
    assert!(
        json["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["kind"] == "households_outside_guidance"
                && p["geometry"]["type"] == "MultiPolygon")
    );
}

#[test]
fn communities_are_checked_against_their_street_office_the_same_way() {
    let w = world();
    let (a, b) = (&w.communities[0], &w.communities[1]);
    let r = a.boundary.bbox();
    let dx = 30.0 * dlat(1.0) / r.min().y.to_radians().cos();
    let wider = rect(
        r.min(),
        Coord {
            x: r.max().x + dx,
            y: r.max().y,
        },
    );
    let report = check_community(
        &wider,
        &a.code,
        Some(a.id),
        &w.office,
        &w.communities,
        &w.buildings,
        &TopologyConfig::default(),
    );
    assert_eq!(only_errors(&report), vec![ProblemKind::Overlap]);
    assert_eq!(report.errors[0].other_id, Some(b.id));
}

/// Rows recovered from a sequence: maximal west-to-east runs.
fn rows(points: &[(f64, f64)]) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
    for &p in points {
        match out.last_mut() {
            Some(row) if row.last().unwrap().0 <= p.0 => row.push(p),
            _ => out.push(vec![p]),
        }
    }
    out
}

#[test]
fn codes_run_west_to_east_then_north_to_south_and_renumbering_is_stable_and_reversible() {
    let w = world();
    for c in &w.communities {
        let mut mine = grids_of(w, c);
        let original: Vec<GridCode> = mine.iter().map(|g| g.code.clone()).collect();
        let changes = renumber(c, &mine).unwrap();
        assert_eq!(changes.len(), mine.len());
        let new: BTreeSet<&str> = changes.iter().map(|x| x.new.as_str()).collect();
        assert_eq!(new.len(), mine.len(), "unique");
        assert_eq!(
            changes.iter().map(|x| x.id).collect::<BTreeSet<_>>().len(),
            mine.len(),
            "one per grid"
        );
        for (i, x) in changes.iter().enumerate() {
            assert_eq!(x.new.as_str().len(), 15);
            assert!(x.new.as_str().bytes().all(|b| b.is_ascii_digit()));
            assert_eq!(x.new.community(), c.code);
            assert_eq!(usize::from(x.new.sequence()), i + 1);
        }
        // Order: west to east inside a row, and every grid of a later row south of every grid of
        // an earlier one.
        let points: Vec<(f64, f64)> = changes
            .iter()
            .map(|x| {
                let p = mine
                    .iter()
                    .find(|g| g.id == x.id)
                    .unwrap()
                    .boundary
                    .representative_point();
                (p.lon(), p.lat())
            })
            .collect();
        let rows = rows(&points);
        for pair in rows.windows(2) {
            let south_of_upper = pair[0].iter().map(|p| p.1).fold(f64::MAX, f64::min);
            let north_of_lower = pair[1].iter().map(|p| p.1).fold(f64::MIN, f64::max);
            assert!(north_of_lower < south_of_upper, "rows run north to south");
        }
        eprintln!(
            "community {}: {} grids in {} rows; {} codes change from the demo's column-wise numbering",
            c.code,
            mine.len(),
            rows.len(),
            changes.iter().filter(|x| x.changes()).count()
        );
        grids::apply(&mut mine, &changes);
        assert!(
            renumber(c, &mine).unwrap().iter().all(|x| !x.changes()),
            "stable"
        );
        let mut shuffled = mine.clone();
        shuffled.reverse();
        assert!(
            renumber(c, &shuffled).unwrap().iter().all(|x| !x.changes()),
            "independent of input order"
        );
        grids::apply(&mut mine, &grids::invert(&changes));
        assert_eq!(
            mine.iter().map(|g| g.code.clone()).collect::<Vec<_>>(),
            original,
            "reversible"
        );
    }
}

#[test]
fn a_regular_lattice_is_numbered_row_by_row() {
    let w = world();
    let c = &w.communities[0];
    let r = c.boundary.bbox();
    let (cols, rows) = (3usize, 4usize);
    let xs: Vec<f64> = (0..=cols)
        .map(|i| r.min().x + r.width() * [0.0, 0.2, 0.7, 1.0][i])
        .collect();
    let ys: Vec<f64> = (0..=rows)
        .map(|j| r.max().y - r.height() * [0.0, 0.3, 0.45, 0.8, 1.0][j])
        .collect();
    let mut lattice = Vec::new();
    for j in 0..rows {
        for i in 0..cols {
            let id = (7 * (i + cols * j) % 12) as i64; // scrambled ids
            lattice.push((
                (i, j),
                Grid {
                    id,
                    code: GridCode::in_community(&c.code, 999 - id as u16).unwrap(),
                    name: "g".into(),
                    community_id: c.id,
                    chief: None,
                    workers: vec![],
                    boundary: rect(
                        Coord {
                            x: xs[i],
                            y: ys[j + 1],
                        },
                        Coord {
                            x: xs[i + 1],
                            y: ys[j],
                        },
                    ),
                    demo: true,
                    version: 1,
                },
            ));
        }
    }
    let grids: Vec<Grid> = lattice.iter().rev().map(|(_, g)| g.clone()).collect();
    let changes = renumber(c, &grids).unwrap();
    for x in &changes {
        let ((i, j), _) = lattice.iter().find(|(_, g)| g.id == x.id).unwrap();
        assert_eq!(
            usize::from(x.new.sequence()),
            1 + i + cols * j,
            "cell ({i}, {j})"
        );
    }
}

#[test]
fn a_draft_tiles_each_community_with_contiguous_grids_near_the_target() {
    let w = world();
    let config = TopologyConfig::default();
    let target = 400u32;
    let mut all = Vec::new();
    for c in &w.communities {
        let started = std::time::Instant::now();
        let draft = draft_grids(c, &w.ways, &w.buildings, target).unwrap();
        let drafted_in = started.elapsed();
        let frame = LocalFrame::for_area(&c.boundary);
        let community_m2 = frame.area_to_local(&c.boundary).unsigned_area();
        let locals: Vec<MultiPolygon<f64>> = draft
            .grids
            .iter()
            .map(|g| frame.area_to_local(&g.boundary))
            .collect();
        let union = geo::unary_union(&locals);
        let sum: f64 = locals.iter().map(|m| m.unsigned_area()).sum();
        assert!(
            (union.unsigned_area() - community_m2).abs() < 1.0,
            "tiles: {} vs {community_m2}",
            union.unsigned_area()
        );
        assert!(
            (sum - union.unsigned_area()).abs() < 1.0,
            "no overlaps: {sum} vs {}",
            union.unsigned_area()
        );
        let outside = union
            .difference(&frame.area_to_local(&c.boundary))
            .unsigned_area();
        assert!(outside < 1.0, "inside the community: {outside} m² outside");
        for g in &draft.grids {
            assert_eq!(
                g.boundary.shape().0.len(),
                1,
                "grid {} is one polygon",
                g.code
            );
            assert_eq!(g.code.community(), c.code);
        }
        let codes: BTreeSet<&str> = draft.grids.iter().map(|g| g.code.as_str()).collect();
        assert_eq!(codes.len(), draft.grids.len());
        let total: u64 = w
            .buildings
            .iter()
            .filter(|b| c.boundary.contains(b.point))
            .map(|b| u64::from(b.households))
            .sum();
        assert_eq!(draft.grids.iter().map(|g| g.households).sum::<u64>(), total);
        // The drafted grids pass the topology checks against each other.
        let as_grids: Vec<Grid> = draft
            .grids
            .iter()
            .enumerate()
            .map(|(i, g)| Grid {
                id: i as i64 + 1,
                code: g.code.clone(),
                name: g.name.clone(),
                community_id: c.id,
                chief: None,
                workers: vec![],
                boundary: g.boundary.clone(),
                demo: true,
                version: 1,
            })
            .collect();
        let started = std::time::Instant::now();
        for g in &as_grids {
            let report = check_grid(
                &g.boundary,
                &g.code,
                Some(g.id),
                c,
                &as_grids,
                &w.buildings,
                &config,
            );
            assert!(
                report.errors.is_empty(),
                "drafted grid {}: {:#?}",
                g.code,
                report.errors
            );
        }
        let mut households: Vec<u64> = draft.grids.iter().map(|g| g.households).collect();
        eprintln!(
            "community {}: {} street blocks → {} grids (drafted in {:.0?}, checked in {:.0?}); households per grid in code order: {households:?}",
            c.code,
            draft.blocks,
            draft.grids.len(),
            drafted_in,
            started.elapsed()
        );
        households.sort_unstable();
        all.extend(households);
        let json = serde_json::to_value(&draft).unwrap();
        assert_eq!(json["type"], "FeatureCollection");
        assert_eq!(
            json["features"].as_array().unwrap().len(),
            draft.grids.len()
        );
        assert_eq!(json["target_households"], target);
    }
    all.sort_unstable();
    let near = all.iter().filter(|&&h| (200..=600).contains(&h)).count();
    let guidance = all.iter().filter(|&&h| (300..=500).contains(&h)).count();
    let q = |f: f64| all[((all.len() - 1) as f64 * f) as usize];
    eprintln!(
        "draft over {} grids: min {} · p10 {} · median {} · p90 {} · max {}; within ±50 % of {target}: {near} ({:.0} %); within 300–500: {guidance} ({:.0} %)",
        all.len(),
        all[0],
        q(0.1),
        q(0.5),
        q(0.9),
        all[all.len() - 1],
        100.0 * near as f64 / all.len() as f64,
        100.0 * guidance as f64 / all.len() as f64
    );
    assert!(
        near * 10 >= all.len() * 8,
        "at least 80 % of grids within 50 % of the target"
    );
}

/// A synthetic city in local metres around Xinjiekou, for exact expectations.
struct Plane {
    frame: LocalFrame,
}

impl Plane {
    fn new() -> Self {
        Plane {
            frame: LocalFrame::around(gridcircle::model::LonLat::new(118.78, 32.04).unwrap()),
        }
    }

    fn c(&self, x: f64, y: f64) -> Coord<f64> {
        self.frame.to_lonlat(Coord { x, y })
    }

    fn square(&self, x0: f64, y0: f64, x1: f64, y1: f64) -> AreaShape {
        rect(self.c(x0, y0), self.c(x1, y1))
    }

    fn way(&self, id: i64, pts: &[(f64, f64)]) -> StreetWay {
        StreetWay {
            id,
            highway: "residential".into(),
            name: None,
            foot: None,
            access: None,
            area: false,
            node_ids: (0..pts.len() as i64).collect(),
            line: pts
                .iter()
                .map(|&(x, y)| self.c(x, y))
                .collect::<Vec<_>>()
                .into(),
        }
    }

    fn home(&self, id: i64, x: f64, y: f64, households: u32) -> Building {
        let footprint = self.square(x - 5.0, y - 5.0, x + 5.0, y + 5.0);
        Building {
            id,
            osm: gridcircle::model::OsmRef::Way(id),
            name: None,
            building: "residential".into(),
            point: footprint.representative_point(),
            footprint,
            entrance: None,
            levels: None,
            households,
            residents: households * 2,
            household_source: gridcircle::model::HouseholdSource::Estimated,
        }
    }

    fn community(&self) -> Community {
        Community {
            id: 1,
            code: CommunityCode::parse("320104001009", "code").unwrap(),
            name: "试验".into(),
            street_office_id: 1,
            boundary: self.square(0.0, 0.0, 1000.0, 1000.0),
            demo: false,
        }
    }
}

#[test]
fn street_blocks_are_the_faces_of_the_street_network() {
    let p = Plane::new();
    let c = p.community();
    let ways = vec![
        p.way(1, &[(300.0, -50.0), (300.0, 1050.0)]), // crosses the community
        p.way(2, &[(-50.0, 500.0), (1050.0, 500.0)]), // crosses it the other way
        p.way(3, &[(700.0, 500.0), (700.0, 800.0)]),  // a dead end: no block
        p.way(
            4,
            &[
                (600.0, 100.0),
                (900.0, 100.0),
                (900.0, 300.0),
                (600.0, 300.0),
                (600.0, 100.0),
            ],
        ), // a loop
        p.way(5, &[(750.0, 300.0), (750.0, 500.0)]),  // the loop's only link: a bridge
        p.way(6, &[(0.0, 200.0), (299.5, 200.0)]),    // stops 0.5 m short: joined
    ];
    // No homes: every block is merged into one grid, the whole community.
    let draft = draft_grids(&c, &ways, &[], 100).unwrap();
    assert_eq!(draft.blocks, 6);
    assert_eq!(draft.grids.len(), 1);
    assert_eq!(draft.grids[0].boundary.shape().0.len(), 1);
    assert!(draft.grids[0].boundary.shape().0[0].interiors().is_empty());
    let frame = LocalFrame::for_area(&c.boundary);
    let whole = frame.area_to_local(&c.boundary).unsigned_area();
    assert!(
        (frame
            .area_to_local(&draft.grids[0].boundary)
            .unsigned_area()
            - whole)
            .abs()
            < 1e-6 * whole
    );
    // One home of 100 households per block, target 100: each block is a grid.
    let homes = [
        (150.0, 750.0),
        (650.0, 750.0),
        (150.0, 100.0),
        (150.0, 350.0),
        (450.0, 250.0),
        (750.0, 200.0),
    ];
    let buildings: Vec<Building> = homes
        .iter()
        .enumerate()
        .map(|(i, &(x, y))| p.home(i as i64 + 1, x, y, 100))
        .collect();
    let draft = draft_grids(&c, &ways, &buildings, 100).unwrap();
    assert_eq!(draft.grids.len(), 6);
    let mut areas: Vec<(u64, f64, usize)> = draft
        .grids
        .iter()
        .map(|g| {
            (
                g.households,
                p.frame.area_to_local(&g.boundary).unsigned_area(),
                g.boundary.shape().0[0].interiors().len(),
            )
        })
        .collect();
    areas.sort_by(|a, b| a.1.total_cmp(&b.1));
    // The joined dead end bends the street by 0.5 m at y = 200: the west blocks lose 50 and 75 m².
    let expected = [
        (100, 59_950.0, 0),
        (100, 60_000.0, 0),
        (100, 89_925.0, 0),
        (100, 150_000.0, 0),
        (100, 290_125.0, 1),
        (100, 350_000.0, 0),
    ];
    for (got, want) in areas.iter().zip(expected) {
        assert_eq!(got.0, want.0);
        assert!((got.1 - want.1).abs() < 0.5, "{areas:?}");
        assert_eq!(
            got.2, want.2,
            "the block around the loop has the loop as a hole"
        );
    }
}

#[test]
fn a_block_with_too_many_households_is_cut_between_buildings() {
    let p = Plane::new();
    let c = p.community();
    // No streets; 5 × 4 homes of 50 households, target 200: five grids of four homes.
    let mut buildings = Vec::new();
    for i in 0..5 {
        for j in 0..4 {
            buildings.push(p.home(
                buildings.len() as i64 + 1,
                100.0 + 200.0 * i as f64,
                125.0 + 250.0 * j as f64,
                50,
            ));
        }
    }
    let draft = draft_grids(&c, &[], &buildings, 200).unwrap();
    let households: Vec<u64> = draft.grids.iter().map(|g| g.households).collect();
    assert_eq!(households, vec![200; 5], "{households:?}");
    let config = TopologyConfig {
        households: Some(200..=200),
        ..Default::default()
    };
    let as_grids: Vec<Grid> = draft
        .grids
        .iter()
        .enumerate()
        .map(|(i, g)| Grid {
            id: i as i64 + 1,
            code: g.code.clone(),
            name: g.name.clone(),
            community_id: 1,
            chief: None,
            workers: vec![],
            boundary: g.boundary.clone(),
            demo: false,
            version: 1,
        })
        .collect();
    for g in &as_grids {
        let report = check_grid(
            &g.boundary,
            &g.code,
            Some(g.id),
            &c,
            &as_grids,
            &buildings,
            &config,
        );
        assert!(
            report.errors.is_empty() && report.warnings.is_empty(),
            "{report:#?}"
        );
    }
}

#[test]
fn the_snapshot_call_an_http_write_makes() {
    let w = world();
    let snapshot = gridcircle::readmodel::Snapshot::build(
        gridcircle::store::Dataset {
            street_offices: vec![w.office.clone()],
            communities: w.communities.clone(),
            grids: w.grids.clone(),
            buildings: w.buildings.clone(),
            ..Default::default()
        },
        KindCatalogue::bundled().into(),
    );
    let g = &w.grids[0];
    let config = TopologyConfig::default();
    let report = snapshot
        .check_grid(&g.boundary, &g.code, Some(g.id), g.community_id, &config)
        .unwrap();
    assert!(report.is_ok(), "{:#?}", report.errors);
    // As a new grid drawn over an existing one: the overlap, and the code in use.
    let report = snapshot
        .check_grid(&g.boundary, &g.code, None, g.community_id, &config)
        .unwrap();
    assert_eq!(
        only_errors(&report),
        vec![ProblemKind::DuplicateCode, ProblemKind::Overlap]
    );
    assert!(
        snapshot
            .check_grid(&g.boundary, &g.code, None, -1, &config)
            .is_none()
    );
}
