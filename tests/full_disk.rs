//! A full disk (issue "One write path and one store"): the GeoPackage lives on a small tmpfs
//! that is then filled to the last byte. Writes fail with SQLITE_FULL and answer a JSON 500
//! that changes nothing; `/health` says writes fail while reads go on; once space is freed the
//! next write works on the same connection pool (before, every later write failed with
//! "attempted to call begin_with at non-zero transaction depth" until a restart).
//!
//! Mounting a tmpfs needs root (CI runs as root); the test says so and fails otherwise.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{Server, all_features, point_of};
use serde_json::{Value, json};

/// A tmpfs of `bytes` mounted on a fresh directory; unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(bytes: u64) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("run mount");
        assert!(
            out.status.success(),
            "mounting a {bytes}-byte tmpfs failed (this test needs root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Writes zeros to `path` until the file system is full; returns how many bytes fit.
fn fill(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).unwrap();
    let block = vec![0u8; 64 * 1024];
    let mut written = 0u64;
    // Bounded: a tmpfs of a few MiB fills in well under 10,000 blocks.
    for _ in 0..10_000 {
        match f.write(&block) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(_) => break,
        }
    }
    // The last partial block, byte by byte in small steps.
    let small = [0u8; 512];
    for _ in 0..1_000 {
        match f.write(&small) {
            Ok(n) if n > 0 => written += n as u64,
            _ => break,
        }
    }
    let _ = f.sync_all();
    written
}

fn facility(p: geo::Point<f64>, i: usize) -> String {
    json!({
        "type": "Feature",
        "geometry": { "type": "Point", "coordinates": [p.x() + 0.0001 * i as f64, p.y()] },
        "properties": { "kind": "toilet", "name": format!("满盘测试厕所{i}"),
                        "owner": "测试单位", "opening_hours": "Mo-Su 08:00-20:00", "shared": true },
    })
    .to_string()
}

fn names(server: &Server) -> Vec<String> {
    all_features(server, "/collections/facilities/items?limit=10000")
        .iter()
        .filter_map(|f| f["properties"]["name"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn a_full_disk_fails_writes_cleanly_health_says_so_and_writes_resume_when_space_is_freed() {
    if common::postgres_backend() {
        eprintln!("SKIPPED: SQLITE_FULL is the GeoPackage's; PostgreSQL has its own disk");
        return;
    }
    // The demo store on the ordinary disk, checkpointed by a clean shutdown.
    let work = tempfile::tempdir().unwrap();
    let made = work.path().join("demo.gpkg");
    let status = Server::demo(&made).terminate(Duration::from_secs(60));
    assert!(status.success(), "demo exited with {status}");
    let size = std::fs::metadata(&made).unwrap().len();

    // The same store on a tmpfs with room for it and a little more.
    let fs = Tmpfs::mount(size + 8 * 1024 * 1024);
    let db: PathBuf = fs.path().join("demo.gpkg");
    std::fs::copy(&made, &db).unwrap();
    let server = Server::serve(&db, &[]);
    let start = point_of(&all_features(&server, "/collections/facilities/items?limit=1")[0]);
    let (status, health) = server.get("/health");
    assert_eq!(
        (status, &health["writes"]["ok"]),
        (200, &json!(true)),
        "{health}"
    );

    // One write while there is room.
    let (status, body) = server.send("POST", "/collections/facilities/items", facility(start, 0));
    assert_eq!(status, 201, "{body}");

    // Fill the disk; writes now fail, each with a JSON 500 that keeps nothing.
    let filler = fs.path().join("filler");
    assert!(fill(&filler) > 0);
    let mut failures = Vec::new();
    for i in 1..=20 {
        let (status, body) =
            server.send("POST", "/collections/facilities/items", facility(start, i));
        if status == 201 {
            // A page already allocated may still take a small row: keep trying.
            continue;
        }
        assert_eq!(status, 500, "{body}");
        assert_eq!(body["error"], "store_error", "{body}");
        failures.push(i);
        if failures.len() == 3 {
            break;
        }
    }
    assert_eq!(failures.len(), 3, "the full disk never failed a write");
    let (status, health) = server.get("/health");
    assert_eq!(status, 200);
    assert_eq!(health["status"], "degraded", "{health}");
    assert_eq!(health["writes"]["ok"], json!(false), "{health}");
    assert!(
        health["writes"]["failure"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("full")),
        "{health}"
    );
    // Reads go on, and no failed write is visible.
    let listed = names(&server);
    for i in &failures {
        assert!(
            !listed.contains(&format!("满盘测试厕所{i}")),
            "failed write {i} is visible"
        );
    }

    // Free the space: the next write works and health recovers, without a restart.
    std::fs::remove_file(&filler).unwrap();
    let (status, body) = server.send("POST", "/collections/facilities/items", facility(start, 99));
    assert_eq!(status, 201, "{body}");
    let (_, health): (u16, Value) = server.get("/health");
    assert_eq!(health["writes"]["ok"], json!(true), "{health}");
    assert_eq!(health["status"], "ok");
    let listed = names(&server);
    assert!(listed.contains(&"满盘测试厕所0".to_owned()));
    assert!(listed.contains(&"满盘测试厕所99".to_owned()));
    for i in &failures {
        assert!(!listed.contains(&format!("满盘测试厕所{i}")));
    }

    // What was acknowledged is in the store after a restart, and nothing that failed.
    let status = server.terminate(Duration::from_secs(60));
    assert!(status.success());
    let again = Server::serve(&db, &[]);
    let listed = names(&again);
    assert!(listed.contains(&"满盘测试厕所0".to_owned()));
    assert!(listed.contains(&"满盘测试厕所99".to_owned()));
    for i in &failures {
        assert!(!listed.contains(&format!("满盘测试厕所{i}")));
    }
}
