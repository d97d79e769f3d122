//! The project's own tool that draws the illustrative demo layers for an imported city.
//!
//! OpenStreetMap has no street-office, community or grid boundaries in China, and almost no
//! shared facilities. A real deployment draws them; the demo draws plausible ones in the open,
//! with simple rules anyone can check, and marks every record `"demo": true`:
//! - one street office: the bounding box of the buildings' representative points, padded;
//! - three communities: vertical strips holding equal thirds of the households;
//! - grids: each community split into columns and then rows, cut between buildings so that
//!   each grid holds about `households_per_grid` households; sequence numbers follow the
//!   service's own rule ([`gridcircle::grids::sequence_order`], DB11/T 2157): west→east, then
//!   north→south, so renumbering the demo changes nothing;
//! - shared facilities at real named buildings, owned by the organisation in that building.

use std::path::Path;

use serde_json::{Value, json};

use gridcircle::grids::sequence_order;
use gridcircle::model::{AreaShape, Building, HouseholdSource};
use gridcircle::store::Dataset;

/// Illustrative codes: Nanjing Qinhuai district (320104), street 001.
const STREET_OFFICE_CODE: &str = "320104001";

#[derive(Debug, Clone, Copy)]
struct Cell {
    west: f64,
    east: f64,
    south: f64,
    north: f64,
}

impl Cell {
    fn polygon(&self) -> Value {
        let ring = [
            [self.west, self.south],
            [self.east, self.south],
            [self.east, self.north],
            [self.west, self.north],
            [self.west, self.south],
        ];
        json!({ "type": "Polygon", "coordinates": [ring.iter().map(|p| [round7(p[0]), round7(p[1])]).collect::<Vec<_>>()] })
    }
}

impl Cell {
    /// The cell as written (coordinates rounded to 7 decimals), as an area.
    fn area(&self) -> AreaShape {
        let (w, e, s, n) = (
            round7(self.west),
            round7(self.east),
            round7(self.south),
            round7(self.north),
        );
        AreaShape::from_polygon(geo::Rect::new((w, s), (e, n)).to_polygon(), "geometry")
            .expect("a demo cell is a valid rectangle")
    }
}

fn round7(x: f64) -> f64 {
    (x * 1e7).round() / 1e7
}

/// Splits `items` (sorted along an axis by `key`) into `parts` runs of about equal weight and
/// returns the cut positions between runs (midway between neighbouring items). Each cut goes
/// where the running total comes closest to its share, so one large building does not leave a
/// sliver of a grid behind it.
fn cuts(items: &[(f64, u32)], parts: usize) -> Vec<f64> {
    let total: f64 = items.iter().map(|&(_, w)| f64::from(w)).sum();
    // running[i] = weight of items[..=i]; a cut after item i is possible where the next item
    // lies strictly further along the axis.
    let mut running = Vec::with_capacity(items.len());
    let mut acc = 0.0;
    for &(_, w) in items {
        acc += f64::from(w);
        running.push(acc);
    }
    let mut out = Vec::new();
    let mut from = 0;
    for k in 1..parts {
        let share = total * k as f64 / parts as f64;
        let best = (from..items.len().saturating_sub(1))
            .filter(|&i| items[i + 1].0 > items[i].0)
            .min_by(|&a, &b| {
                (running[a] - share)
                    .abs()
                    .total_cmp(&(running[b] - share).abs())
            });
        if let Some(i) = best {
            out.push((items[i].0 + items[i + 1].0) / 2.0);
            from = i + 1;
        }
    }
    out
}

/// Removes cuts next to runs lighter than `min_weight`, merging each such run into its
/// lighter neighbour, so a giant building in a column does not leave tiny grids around it.
fn merge_light_runs(items: &[(f64, u32)], mut cut_at: Vec<f64>, min_weight: u32) -> Vec<f64> {
    loop {
        let mut runs = vec![0u32; cut_at.len() + 1];
        for &(x, w) in items {
            runs[cut_at.partition_point(|&c| c < x)] += w;
        }
        let Some((light, &weight)) = runs.iter().enumerate().min_by_key(|&(_, w)| *w) else {
            return cut_at;
        };
        if weight >= min_weight || cut_at.is_empty() {
            return cut_at;
        }
        // Merge with the lighter neighbour: drop the cut between them.
        let left = light.checked_sub(1).map(|i| runs[i]);
        let right = runs.get(light + 1).copied();
        let drop = match (left, right) {
            (Some(l), Some(r)) if l <= r => light - 1,
            (Some(_), None) => light - 1,
            _ => light,
        };
        cut_at.remove(drop);
    }
}

fn strips(lo: f64, hi: f64, inner: Vec<f64>) -> Vec<(f64, f64)> {
    let mut edges = vec![lo];
    edges.extend(inner);
    edges.push(hi);
    edges.windows(2).map(|w| (w[0], w[1])).collect()
}

fn residential(data: &Dataset) -> Vec<&Building> {
    data.buildings
        .iter()
        .filter(|b| b.household_source != HouseholdSource::None && b.households > 0)
        .collect()
}

fn households_in(homes: &[&Building], c: &Cell) -> u32 {
    homes
        .iter()
        .filter(|b| {
            (c.west..c.east).contains(&b.point.lon()) && (c.south..c.north).contains(&b.point.lat())
        })
        .map(|b| b.households)
        .sum()
}

const SURNAMES: [&str; 12] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙",
];

/// Draws the demo layers for `data` and writes `street_offices.geojson`,
/// `communities.geojson`, `grids.geojson` and `facilities.geojson` into `out`.
pub fn write_demo_layers(
    data: &Dataset,
    households_per_grid: u32,
    out: &Path,
) -> anyhow::Result<()> {
    let homes = residential(data);
    anyhow::ensure!(
        !homes.is_empty(),
        "the store has no residential buildings to draw demo layers around"
    );
    let pad = 0.0004; // about 40 m
    let (mut west, mut east, mut south, mut north) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for b in &data.buildings {
        west = west.min(b.point.lon());
        east = east.max(b.point.lon());
        south = south.min(b.point.lat());
        north = north.max(b.point.lat());
    }
    let office = Cell {
        west: west - pad,
        east: east + pad,
        south: south - pad,
        north: north + pad,
    };
    let mut by_lon: Vec<(f64, u32)> = homes
        .iter()
        .map(|b| (b.point.lon(), b.households))
        .collect();
    by_lon.sort_by(|a, b| a.0.total_cmp(&b.0));
    let community_strips = strips(office.west, office.east, cuts(&by_lon, 3));

    let mut communities = Vec::new();
    let mut grids = Vec::new();
    for (ci, &(cw, ce)) in community_strips.iter().enumerate() {
        let community_code = format!("{STREET_OFFICE_CODE}{:03}", ci + 1);
        let strip = Cell {
            west: cw,
            east: ce,
            ..office
        };
        communities.push(json!({
            "type": "Feature",
            "geometry": strip.polygon(),
            "properties": { "code": community_code, "name": format!("新街口示例社区{}", ["甲", "乙", "丙"][ci]), "street_office_code": STREET_OFFICE_CODE, "demo": true },
        }));
        let inside: Vec<&Building> = homes
            .iter()
            .copied()
            .filter(|b| (cw..ce).contains(&b.point.lon()))
            .collect();
        let total: u32 = inside.iter().map(|b| b.households).sum();
        let n = ((f64::from(total) / f64::from(households_per_grid)).round() as usize).max(1);
        let width_m = (ce - cw) * 111_320.0 * strip.south.to_radians().cos();
        let height_m = (strip.north - strip.south) * 111_320.0;
        let columns = ((n as f64 * width_m / height_m).sqrt().round() as usize).clamp(1, n);
        let mut col_items: Vec<(f64, u32)> = inside
            .iter()
            .map(|b| (b.point.lon(), b.households))
            .collect();
        col_items.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut cells = Vec::new();
        for (gw, ge) in strips(cw, ce, cuts(&col_items, columns)) {
            let column: Vec<&Building> = inside
                .iter()
                .copied()
                .filter(|b| (gw..ge).contains(&b.point.lon()))
                .collect();
            let col_total: u32 = column.iter().map(|b| b.households).sum();
            let rows =
                ((f64::from(col_total) / f64::from(households_per_grid)).round() as usize).max(1);
            // North to south: sort by descending latitude, cut, then map back to bands.
            let mut row_items: Vec<(f64, u32)> = column
                .iter()
                .map(|b| (-b.point.lat(), b.households))
                .collect();
            row_items.sort_by(|a, b| a.0.total_cmp(&b.0));
            let row_cuts =
                merge_light_runs(&row_items, cuts(&row_items, rows), households_per_grid / 2);
            for (top, bottom) in strips(-strip.north, -strip.south, row_cuts) {
                cells.push(Cell {
                    west: gw,
                    east: ge,
                    north: -top,
                    south: -bottom,
                });
            }
        }
        // Sequence numbers by the DB11/T 2157 rule the service itself uses: west to east, then
        // north to south (rows of grids, read like text).
        let shapes: Vec<AreaShape> = cells.iter().map(Cell::area).collect();
        let refs: Vec<&AreaShape> = shapes.iter().collect();
        let ties: Vec<i64> = (0..cells.len() as i64).collect();
        for (i, at) in sequence_order(&refs, &ties).into_iter().enumerate() {
            let seq = i + 1;
            let cell = &cells[at];
            let households = households_in(&homes, cell);
            let surname = SURNAMES[(ci * 7 + seq) % SURNAMES.len()];
            grids.push(json!({
                "type": "Feature",
                "geometry": cell.polygon(),
                "properties": {
                    "code": format!("{community_code}{seq:03}"),
                    "name": format!("第{seq}网格"),
                    "community_code": community_code,
                    "chief_name": format!("{surname}网格长（示例）"),
                    "chief_phone": format!("139{:08}", 10_000 + ci * 1000 + seq),
                    "households_at_drawing": households,
                    "demo": true,
                },
            }));
        }
    }

    let offices = vec![json!({
        "type": "Feature",
        "geometry": office.polygon(),
        "properties": { "code": STREET_OFFICE_CODE, "name": "新街口街道（示例）", "demo": true },
    })];

    let facilities = shared_facilities(data);
    std::fs::create_dir_all(out)?;
    // The committed `data/demo/` files carry this note word for word, the command name as it
    // was when they were drawn (before the drawer moved to `gridcircle-tools`); changing it
    // changes every file, so it stays until the layers are drawn anew on purpose.
    let note = "Illustrative demo layer drawn by `gridcircle demo-layers` from OpenStreetMap data (© OpenStreetMap contributors, ODbL). Not official boundaries or registrations.";
    for (name, features) in [
        ("street_offices", offices),
        ("communities", communities),
        ("grids", grids),
        ("facilities", facilities),
    ] {
        let collection = json!({ "type": "FeatureCollection", "name": name, "description": note, "features": features });
        std::fs::write(
            out.join(format!("{name}.geojson")),
            serde_json::to_string_pretty(&collection)? + "\n",
        )?;
    }
    Ok(())
}

/// Shared facilities at real, named buildings: what organisations typically open to the public.
fn shared_facilities(data: &Dataset) -> Vec<Value> {
    struct Plan {
        kind: &'static str,
        building_tags: &'static [&'static str],
        count: usize,
        label: &'static str,
        hours: &'static str,
        audience: &'static str,
        capacity: Option<(u32, u32)>,
    }
    let plans = [
        Plan {
            kind: "reading_room",
            building_tags: &["school", "university"],
            count: 3,
            label: "共享阅览室",
            hours: "Mo-Fr 16:30-20:30; Sa,Su 09:00-17:00; PH off",
            audience: "everyone",
            capacity: Some((40, 40)),
        },
        Plan {
            kind: "toilet",
            building_tags: &["office", "commercial", "retail"],
            count: 4,
            label: "单位厕所（对外开放）",
            hours: "Mo-Su 07:00-21:00",
            audience: "everyone",
            capacity: None,
        },
        Plan {
            kind: "drinking_water",
            building_tags: &["commercial", "office", "hotel"],
            count: 3,
            label: "环卫工人饮水点",
            hours: "Mo-Su 06:00-20:00",
            audience: "sanitation_workers",
            capacity: None,
        },
        Plan {
            kind: "parking",
            building_tags: &["hotel", "office", "commercial"],
            count: 3,
            label: "共享停车位（夜间、周末）",
            hours: "Mo-Fr 19:00-24:00,00:00-07:30; Sa,Su,PH 00:00-24:00",
            audience: "everyone",
            capacity: Some((60, 25)),
        },
        Plan {
            kind: "activity_room",
            building_tags: &["civic", "school", "office"],
            count: 2,
            label: "共享活动室",
            hours: "Tu-Su 09:00-21:00",
            audience: "elderly",
            capacity: Some((30, 30)),
        },
    ];
    let mut used = std::collections::HashSet::new();
    let mut out = Vec::new();
    for plan in &plans {
        let mut candidates: Vec<&Building> = data
            .buildings
            .iter()
            .filter(|b| {
                b.name.is_some()
                    && plan.building_tags.contains(&b.building.as_str())
                    && !used.contains(&b.id)
            })
            .collect();
        candidates.sort_by_key(|b| b.osm);
        // Spread the picks over the list rather than taking neighbours in id order.
        let step = (candidates.len() / plan.count.max(1)).max(1);
        for (i, b) in candidates.iter().step_by(step).take(plan.count).enumerate() {
            used.insert(b.id);
            let owner = b.name.clone().unwrap_or_default();
            let at = b.entrance.unwrap_or(b.point);
            let (capacity, free) = match plan.capacity {
                Some((c, f)) => (
                    json!(c + 5 * i as u32),
                    json!(f.saturating_sub(3 * i as u32)),
                ),
                None => (Value::Null, Value::Null),
            };
            out.push(json!({
                "type": "Feature",
                "geometry": { "type": "Point", "coordinates": [round7(at.lon()), round7(at.lat())] },
                "properties": {
                    "kind": plan.kind, "name": format!("{owner}{}", plan.label), "owner": owner,
                    "audience": plan.audience, "opening_hours": plan.hours, "capacity": capacity, "free": free,
                    "shared": true, "demo": true, "building_osm": b.osm.to_string(),
                },
            }));
        }
    }
    out
}
