//! The web map in a real browser: the three user journeys (`tests/browser/*.mjs`, Playwright
//! driving Debian's Chromium headless) against the real binary serving the Nanjing demo, and the
//! vector tiles the page draws its base layers from (decoded by GDAL's MVT driver).
//!
//! Installs what it needs when missing, as `scripts/test.sh` does for GDAL: `chromium` and
//! `fonts-noto-cjk` (apt), Node.js (apt), and `playwright-core` (npm ci in tests/browser; no
//! browser download). Screenshots go to `target/web-journeys/*.png`.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

use common::{Server, repo};

use serde_json::Value;

/// One browser at a time: software WebGL on two cores is slow enough already.
static BROWSER: Mutex<()> = Mutex::new(());
static SETUP: Once = Once::new();

const JOURNEY_TIMEOUT: Duration = Duration::from_secs(600);

fn sh(cmd: &str) -> bool {
    Command::new("sh")
        .args(["-c", cmd])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn apt_install(packages: &[&str]) {
    eprintln!("installing: {}", packages.join(" "));
    let sudo = if sh("[ \"$(id -u)\" = 0 ]") {
        ""
    } else {
        "sudo "
    };
    let cmd = format!(
        "{sudo}apt-get update -qq && DEBIAN_FRONTEND=noninteractive {sudo}apt-get install -y -qq {} >/dev/null",
        packages.join(" ")
    );
    let ok = Command::new("sh")
        .args(["-c", &cmd])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "could not install {packages:?} (apt-get)");
}

/// Chromium, CJK fonts, Node.js and playwright-core, installed when missing.
fn setup() {
    SETUP.call_once(|| {
        let mut need = Vec::new();
        if !Path::new("/usr/bin/chromium").exists() {
            need.push("chromium");
        }
        if !sh("dpkg -s fonts-noto-cjk 2>/dev/null | grep -q 'Status: install ok installed'") {
            need.push("fonts-noto-cjk");
        }
        if !sh("command -v node && command -v npm") {
            need.extend(["nodejs", "npm"]);
        }
        if !need.is_empty() {
            apt_install(&need);
        }
        let browser = repo().join("tests/browser");
        if !browser.join("node_modules/playwright-core").exists() {
            let ok = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&browser)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "npm ci in tests/browser failed");
        }
    });
}

fn artifacts() -> PathBuf {
    repo().join("target/web-journeys")
}

/// Runs `node tests/browser/<journey>.mjs <base>` against a fresh demo server; bounded in time.
fn journey(name: &str) {
    setup();
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.gpkg");
    // This checkout's page, whichever checkout built the shared binary.
    let web = repo().join("web");
    let server = Server::demo_with(&db, &["--web", web.to_str().unwrap()]);
    let mut cmd = Command::new("node");
    cmd.arg(repo().join(format!("tests/browser/{name}.mjs")))
        .arg(&server.base)
        .env("WEB_JOURNEY_ARTIFACTS", artifacts())
        .current_dir(repo().join("tests/browser"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if name == "street" {
        // The clerk's token: a street-office token for the demo's office (id 1).
        cmd.env(
            "GRIDCIRCLE_TEST_TOKEN",
            common::token(&db, "street_office", Some("1")),
        );
    }
    let started = Instant::now();
    let mut child = cmd.spawn().expect("run node (is Node.js installed?)");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_thread = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > JOURNEY_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let out = out_thread.join().unwrap_or_default();
    let err = err_thread.join().unwrap_or_default();
    eprintln!(
        "--- {name} journey ({:.1} s) ---\n{out}{err}",
        started.elapsed().as_secs_f64()
    );
    drop(server);
    match status {
        None => panic!("the {name} journey did not finish within {JOURNEY_TIMEOUT:?}"),
        Some(s) => assert!(
            s.success(),
            "the {name} journey failed ({s}); screenshots in {}",
            artifacts().display()
        ),
    }
    assert!(
        artifacts()
            .join(format!(
                "{}.png",
                match name {
                    "resident" => "resident-phone",
                    "planner" => "planner-desktop",
                    _ => "street-overlap",
                }
            ))
            .exists(),
        "the {name} journey saved its screenshot"
    );
}

#[test]
fn resident_finds_the_nearest_open_toilet_on_a_phone() {
    journey("resident");
}

#[test]
fn planner_sees_the_uncovered_count_of_get_coverage() {
    journey("planner");
}

#[test]
fn street_office_draws_an_overlapping_grid_fixes_it_and_saves() {
    journey("street");
}

// ---------- vector tiles ----------

/// The tile containing (lon, lat) at zoom z.
fn tile_of(lon: f64, lat: f64, z: u32) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let x = ((lon + 180.0) / 360.0 * n).floor() as u32;
    let r = lat.to_radians();
    let y =
        ((1.0 - (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::PI) / 2.0 * n).floor() as u32;
    (x, y)
}

fn tile_bounds(z: u32, x: u32, y: u32) -> [f64; 4] {
    let n = f64::from(1u32 << z);
    let lon = |x: f64| x / n * 360.0 - 180.0;
    let lat = |y: f64| {
        (std::f64::consts::PI * (1.0 - 2.0 * y / n))
            .sinh()
            .atan()
            .to_degrees()
    };
    [
        lon(f64::from(x)),
        lat(f64::from(y + 1)),
        lon(f64::from(x + 1)),
        lat(f64::from(y)),
    ]
}

fn bbox_of(geometry: &Value) -> [f64; 4] {
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    fn visit(v: &Value, b: &mut [f64; 4]) {
        match v.as_array() {
            Some(a) if a.len() >= 2 && a[0].is_number() => {
                let (x, y) = (a[0].as_f64().unwrap(), a[1].as_f64().unwrap());
                b[0] = b[0].min(x);
                b[1] = b[1].min(y);
                b[2] = b[2].max(x);
                b[3] = b[3].max(y);
            }
            Some(a) => a.iter().for_each(|x| visit(x, b)),
            None => {}
        }
    }
    visit(&geometry["coordinates"], &mut b);
    b
}

#[test]
fn tiles_decode_with_gdal_carry_etags_and_answer_304() {
    if !sh("command -v ogr2ogr") {
        apt_install(&["gdal-bin"]);
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.gpkg");
    let server = Server::demo(&db);
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    // A z16 tile in Xinjiekou, written where GDAL expects z/x/y so it georeferences it.
    let z = 16;
    let (x, y) = tile_of(118.7784, 32.0416, z);
    let url = server.url(&format!("/tiles/buildings/{z}/{x}/{y}.mvt"));
    let r = client.get(&url).send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.mapbox-vector-tile"
    );
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("no-cache")
    );
    let bytes = r.bytes().unwrap();
    assert!(!bytes.is_empty(), "the tile has buildings");
    let path = dir.path().join(format!("tiles/{z}/{x}"));
    std::fs::create_dir_all(&path).unwrap();
    let file = path.join(format!("{y}.mvt"));
    std::fs::write(&file, &bytes).unwrap();
    let out = Command::new("ogr2ogr")
        .args([
            "-f",
            "GeoJSON",
            "/vsistdout/",
            file.to_str().unwrap(),
            "buildings",
            "-t_srs",
            "EPSG:4326",
        ])
        .output()
        .expect("ogr2ogr");
    assert!(
        out.status.success(),
        "GDAL reads the tile: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoded: Value = serde_json::from_slice(&out.stdout).expect("GeoJSON from ogr2ogr");
    let features = decoded["features"].as_array().unwrap();

    // Every building the API has in the tile is in it, with its id and household count; the
    // ones wholly inside have the footprint's bounding box to within a tile unit (~0.13 m).
    let b = tile_bounds(z, x, y);
    let (_, page) = server.get(&format!(
        "/collections/buildings/items?bbox={},{},{},{}&limit=10000",
        b[0], b[1], b[2], b[3]
    ));
    let expected = page["features"].as_array().unwrap();
    assert!(!expected.is_empty());
    let unit = (b[2] - b[0]) / 4096.0;
    let mut compared = 0;
    for e in expected {
        let id = e["id"].as_i64().unwrap();
        let got = features
            .iter()
            .find(|f| f["properties"]["id"].as_i64() == Some(id))
            .unwrap_or_else(|| panic!("building {id} is missing from tile {z}/{x}/{y}"));
        assert_eq!(
            got["properties"]["households"], e["properties"]["households"],
            "building {id}"
        );
        let want = bbox_of(&e["geometry"]);
        if want[0] > b[0] && want[1] > b[1] && want[2] < b[2] && want[3] < b[3] {
            let have = bbox_of(&got["geometry"]);
            for i in 0..4 {
                let tol = if i % 2 == 0 { unit } else { unit * 1.2 };
                assert!(
                    (have[i] - want[i]).abs() <= tol,
                    "building {id}: bbox {have:?} vs {want:?}"
                );
            }
            compared += 1;
        }
    }
    assert!(compared > 5, "compared {compared} whole buildings");
    eprintln!(
        "tile {z}/{x}/{y}: {} bytes, {} features, {} bounding boxes checked",
        bytes.len(),
        features.len(),
        compared
    );

    // Revalidation: the same ETag gives 304 with no body.
    let r = client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .unwrap();
    assert_eq!(r.status(), 304);
    assert_eq!(r.headers()["etag"].to_str().unwrap(), etag);

    // Other layers decode too; below the buildings' zoom the tile is empty.
    for layer in [
        "land",
        "roads",
        "grids",
        "communities",
        "street_offices",
        "facilities",
        "facility_circles",
    ] {
        let (x, y) = tile_of(118.7784, 32.0416, 14);
        let r = client
            .get(server.url(&format!("/tiles/{layer}/14/{x}/{y}.mvt")))
            .send()
            .unwrap();
        assert_eq!(r.status(), 200, "{layer}");
        let bytes = r.bytes().unwrap();
        assert!(!bytes.is_empty(), "{layer} has features at z14");
        let p = dir.path().join(format!("t-{layer}/14/{x}"));
        std::fs::create_dir_all(&p).unwrap();
        std::fs::write(p.join(format!("{y}.mvt")), &bytes).unwrap();
        let out = Command::new("ogrinfo")
            .args([
                "-ro",
                "-so",
                "-al",
                p.join(format!("{y}.mvt")).to_str().unwrap(),
            ])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains(&format!("Layer name: {layer}")),
            "{layer}: {text}"
        );
    }
    let (x12, y12) = tile_of(118.7784, 32.0416, 12);
    let r = client
        .get(server.url(&format!("/tiles/buildings/12/{x12}/{y12}.mvt")))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.bytes().unwrap().is_empty(), "no buildings below z13");
    for bad in [
        "/tiles/nope/1/0/0.mvt",
        "/tiles/buildings/3/9/0.mvt",
        "/tiles/buildings/1/0/0.png",
    ] {
        assert_eq!(
            client.get(server.url(bad)).send().unwrap().status(),
            404,
            "{bad}"
        );
    }

    // A facility write changes the facilities tile's ETag but not the buildings'.
    {
        let token = &server.token;
        let (fx, fy) = tile_of(118.7790, 32.0420, z);
        let furl = server.url(&format!("/tiles/facilities/{z}/{fx}/{fy}.mvt"));
        let before = client.get(&furl).send().unwrap().headers()["etag"]
            .to_str()
            .unwrap()
            .to_owned();
        let r = client
            .post(server.url("/collections/facilities/items"))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/geo+json")
            .body(r#"{"type":"Feature","geometry":{"type":"Point","coordinates":[118.7790,32.0420]},"properties":{"kind":"toilet","name":"测试厕所","shared":true}}"#)
            .send()
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().unwrap_or_default());
        let after = client.get(&furl).send().unwrap();
        assert_ne!(
            after.headers()["etag"].to_str().unwrap(),
            before,
            "the facilities tile changed"
        );
        let r = client
            .get(&url)
            .header("if-none-match", &etag)
            .send()
            .unwrap();
        assert_eq!(r.status(), 304, "the buildings tile did not change");
    }
    drop(server);
}
