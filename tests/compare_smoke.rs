//! A small run of the side-by-side benchmark harness (bench/compare), for real, so that it
//! cannot rot: Nanjing Xinjiekou, one run of each workload W1–W5, no warm-up, every contender
//! (gridcircle in-process, PostGIS + pgRouting + osm2pgsql, GeoPandas/shapely, pandana or
//! networkx), and two seconds of W6 (wrk against `gridcircle serve` on loopback). The
//! harness's own setup script installs what is missing (Debian packages, a Python virtualenv
//! from PyPI) and the run fails when the contenders' answers differ.
//!
//! It uses the `bench_compare` example that `cargo test` builds beside this test, and the
//! `gridcircle` binary.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

fn example_binary() -> PathBuf {
    // target/<profile>/deps/compare_smoke-<hash> → target/<profile>/examples/bench_compare
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let bin = profile_dir.join("examples/bench_compare");
    assert!(
        bin.exists(),
        "{} is missing: `cargo test` builds it with the other targets (when only this test is \
         selected, run `cargo build --example bench_compare` first)",
        bin.display()
    );
    bin
}

#[test]
fn harness_runs_on_nanjing_and_the_contenders_agree() {
    let repo = env!("CARGO_MANIFEST_DIR");
    let bin = example_binary();
    let work = PathBuf::from(repo).join("target/compare/smoke-nanjing");
    let started = Instant::now();
    let out = Command::new("bash")
        .current_dir(repo)
        .arg("bench/compare/run.sh")
        .args(["--osm", "../shared/data/nanjing-xinjiekou.osm.pbf"])
        .args(["--tile", "1", "--runs", "1", "--warmup", "0"])
        .args(["--workloads", "W1,W2,W3,W4,W5,W6", "--w6-duration", "2"])
        .arg("--bin")
        .arg(&bin)
        .arg("--server")
        .arg(env!("CARGO_BIN_EXE_gridcircle"))
        .arg("--work")
        .arg(&work)
        // A database of its own, so a benchmark running at the same time is not disturbed.
        .env("GRIDCIRCLE_BENCH_DB", "gridcircle_smoke")
        .output()
        .expect("run bench/compare/run.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the harness failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    for w in ["W1", "W2", "W3", "W4"] {
        assert!(
            stdout.contains(&format!("{w}: every contender gives the same answer")),
            "{w} answers were not checked:\n{stdout}"
        );
    }
    for contender in ["gridcircle", "PostGIS", "GeoPandas"] {
        assert!(
            stdout.contains(&format!("| W1 | {contender} |")),
            "no W1 row for {contender}:\n{stdout}"
        );
    }
    assert!(
        stdout.contains("| W5 | osm2pgsql + PostGIS |"),
        "no W5 row for osm2pgsql:\n{stdout}"
    );
    assert!(
        stdout.contains("| W3 | pgRouting |"),
        "no W3 row for pgRouting:\n{stdout}"
    );
    let w6: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("W6 /nearest:"))
        .collect();
    assert_eq!(w6.len(), 2, "two W6 runs (64 and 8 connections):\n{stdout}");
    for line in w6 {
        assert!(line.contains("non-2xx 0"), "W6 had failed requests: {line}");
    }
    // With 8 connections the whole coverage report and its first page are loaded too.
    let coverage: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("W6 /coverage"))
        .collect();
    assert_eq!(
        coverage.len(),
        2,
        "W6 of /coverage, whole and paged:\n{stdout}"
    );
    for line in coverage {
        assert!(line.contains("non-2xx 0"), "W6 had failed requests: {line}");
    }
    eprintln!(
        "{stdout}\n(harness smoke run: {:.1} s)",
        started.elapsed().as_secs_f64()
    );
}
