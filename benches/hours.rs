//! Opening-hours evaluation: one facility's open state and next change within the horizon
//! (`Hours::state_at` on a cache miss: the minute advances every iteration), the same minute
//! again (the cache), and the `opening-hours` crate's own unbounded `next_change`, which the
//! horizon replaced. Run: `cargo bench --bench hours`.
//!
//! Inputs: `Mo-Su 00:00-24:00` (a common OSM value, 24/7), the costliest value of the real
//! extracts in ../shared/data (Porto: a restaurant with two services a day, other hours at
//! weekends and on holidays), and a pathological expression refused at write time but still
//! read if stored (150 rules).

use std::hint::black_box;

use chrono::{Duration, TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use gridcircle::model::Hours;

fn bench(c: &mut Criterion) {
    let tz = chrono_tz::Asia::Shanghai;
    // Monday 2026-11-23 09:30 in Nanjing.
    let start = Utc.with_ymd_and_hms(2026, 11, 23, 1, 30, 0).unwrap();
    let vandal = ["Mo"; 150].join(";");
    let cases = [
        ("24_7", "Mo-Su 00:00-24:00"),
        (
            "real_costliest",
            "Mo-Th 12:00-15:00, 19:30-22:00; Fr, Sa 12:00-15:00, 19:30-23:30; Su 19:00-22:30; PH 12:30-15:30,19:30-22:30",
        ),
        ("refused_150_rules", vandal.as_str()),
    ];
    for (name, raw) in cases {
        let hours = Hours::parse(raw, "opening_hours").unwrap();
        let mut minute = 0i64;
        c.bench_function(&format!("hours/{name}/state_and_next_change"), |b| {
            b.iter(|| {
                minute += 1;
                black_box(hours.state_at(start + Duration::minutes(minute), tz))
            })
        });
    }
    let hours = Hours::parse("Mo-Su 00:00-24:00", "opening_hours").unwrap();
    hours.state_at(start, tz);
    c.bench_function("hours/24_7/same_minute_cached", |b| {
        b.iter(|| black_box(hours.state_at(black_box(start), tz)))
    });
    // What every read of a 24/7 facility cost before the horizon: the crate walks day by day
    // to the year 9999.
    let crate_parsed: opening_hours::OpeningHours = "Mo-Su 00:00-24:00".parse().unwrap();
    let naive = start.with_timezone(&tz).naive_local();
    let mut slow = c.benchmark_group("hours_unbounded");
    slow.sample_size(10);
    slow.bench_function("24_7/crate_next_change", |b| {
        b.iter(|| black_box(crate_parsed.next_change(black_box(naive))))
    });
    slow.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
