//! A small run of the side-by-side benchmark harness (bench/compare), for real, so that it
//! cannot rot: Nanjing Xinjiekou, one run of each workload W1–W5, no warm-up, every contender
//! (gridcircle in-process, PostGIS + pgRouting + osm2pgsql, GeoPandas/shapely, pandana or
//! networkx), and two seconds of W6 (wrk against `gridcircle serve` on loopback). The
//! harness's own setup script installs what is missing (Debian packages, a Python virtualenv
//! from PyPI) and the run fails when the contenders' answers differ.
//!
//! It runs `gridcircle-tools bench-compare` (this package's binary) as the worker and the
//! `gridcircle` binary beside it as the server.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The `gridcircle` server binary: the service package's, built into the same target folder
/// (`cargo test --workspace` builds it with the service's tests).
fn server_binary() -> PathBuf {
    let tools = Path::new(env!("CARGO_BIN_EXE_gridcircle-tools"));
    let bin = tools.with_file_name(format!("gridcircle{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: `cargo test --workspace` builds it with the other targets (when only \
         this package is tested, run `cargo build --bin gridcircle` first)",
        bin.display()
    );
    bin
}

#[test]
fn harness_runs_on_nanjing_and_the_contenders_agree() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let server = server_binary();
    let work = repo.join("target/compare/smoke-nanjing");
    let started = Instant::now();
    let out = Command::new("bash")
        .current_dir(&repo)
        .arg("bench/compare/run.sh")
        .args(["--osm", "../shared/data/nanjing-xinjiekou.osm.pbf"])
        .args(["--tile", "1", "--runs", "1", "--warmup", "0"])
        .args(["--workloads", "W1,W2,W3,W4,W5,W6", "--w6-duration", "2"])
        .arg("--bin")
        .arg(env!("CARGO_BIN_EXE_gridcircle-tools"))
        .arg("--server")
        .arg(&server)
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
