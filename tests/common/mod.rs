//! Test harness: runs the real `gridcircle` binary on loopback against a store in a temp dir.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A real-data file from ../shared/data.
pub fn shared_data(name: &str) -> PathBuf {
    repo().join("../shared/data").join(name)
}

/// Runs the `gridcircle` command line to completion; returns its stdout (panics on failure).
pub fn cli(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gridcircle"))
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run gridcircle");
    assert!(
        out.status.success(),
        "gridcircle {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A new token for `db` (`gridcircle token create`), e.g. `token(db, "admin", None)`.
pub fn token(db: &Path, role: &str, scope: Option<&str>) -> String {
    let mut args = vec![
        "token",
        "create",
        "--db",
        db.to_str().unwrap(),
        "--role",
        role,
        "--label",
        "test",
    ];
    if let Some(s) = scope {
        args.extend(["--scope", s]);
    }
    let token = cli(&args).trim().to_owned();
    assert!(token.starts_with("gc_"), "{token}");
    token
}

/// A running server process; killed on drop. `send` writes with an admin token made for the
/// harness (`token`); `get` reads anonymously.
pub struct Server {
    child: Child,
    pub base: String,
    pub db: PathBuf,
    client: reqwest::blocking::Client,
    /// An admin token of this store, made when the server started.
    pub token: String,
}

impl Server {
    /// `gridcircle demo` on a fresh (or existing) store at `db`, on a free loopback port.
    pub fn demo(db: &Path) -> Server {
        Self::spawn(
            &[
                "demo",
                "--db",
                db.to_str().unwrap(),
                "--addr",
                "127.0.0.1:0",
            ],
            db,
        )
    }

    /// `gridcircle demo` with extra serve arguments.
    pub fn demo_with(db: &Path, extra: &[&str]) -> Server {
        let mut args = vec![
            "demo",
            "--db",
            db.to_str().unwrap(),
            "--addr",
            "127.0.0.1:0",
        ];
        args.extend_from_slice(extra);
        Self::spawn(&args, db)
    }

    /// `gridcircle serve` with extra arguments.
    pub fn serve(db: &Path, extra: &[&str]) -> Server {
        let mut args = vec![
            "serve",
            "--db",
            db.to_str().unwrap(),
            "--addr",
            "127.0.0.1:0",
        ];
        args.extend_from_slice(extra);
        Self::spawn(&args, db)
    }

    fn spawn(args: &[&str], db: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gridcircle"))
            .args(args)
            .env("RUST_LOG", "warn")
            // Tests fire requests faster than a person; tests/auth_http.rs checks the limits.
            .env("GRIDCIRCLE_RATE_ANONYMOUS", "0")
            .env("GRIDCIRCLE_RATE_AUTHENTICATED", "0")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start gridcircle");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on ").nth(1) {
                    let url = rest
                        .split_whitespace()
                        .next()
                        .unwrap()
                        .trim_end_matches('/')
                        .to_owned();
                    let _ = tx.send(url);
                }
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("server did not start within 120 s");
        // No connection reuse: after refusing an oversized body the server closes the
        // connection, and a pooled client would fail its next request on the dead socket.
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(0)
            .build()
            .unwrap();
        let token = token(db, "admin", None);
        Server {
            child,
            base,
            db: db.to_owned(),
            client,
            token,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// GET, returning status and JSON body.
    pub fn get(&self, path: &str) -> (u16, Value) {
        let r = self.client.get(self.url(path)).send().expect("GET");
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    /// A request with a raw body, with the harness's admin token.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        body: impl Into<reqwest::blocking::Body>,
    ) -> (u16, Value) {
        self.send_as(Some(&self.token.clone()), method, path, body)
    }

    /// A request with a raw body and the given bearer token (None: anonymous).
    pub fn send_as(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: impl Into<reqwest::blocking::Body>,
    ) -> (u16, Value) {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut r = self
            .client
            .request(m, self.url(path))
            .header("content-type", "application/geo+json")
            .body(body);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let r = r.send().expect("request");
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    /// GET with a bearer token.
    pub fn get_as(&self, token: &str, path: &str) -> (u16, Value) {
        let r = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .expect("GET");
        let status = r.status().as_u16();
        (status, r.json().unwrap_or(Value::Null))
    }

    /// Kills the process at once (SIGKILL): no graceful shutdown, no checkpoint.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The bytes of the store file and its WAL, to prove a request changed nothing.
pub fn store_bytes(db: &Path) -> Vec<u8> {
    let mut all = std::fs::read(db).unwrap();
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    if let Ok(w) = std::fs::read(&wal) {
        all.extend_from_slice(b"--WAL--");
        all.extend(w);
    }
    all
}

/// Walks `next` links from `path`, returning every feature.
pub fn all_features(server: &Server, path: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut next = Some(path.to_owned());
    let started = Instant::now();
    while let Some(p) = next {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "paging did not finish"
        );
        let (status, page) = server.get(&p);
        assert_eq!(status, 200, "{p}: {page}");
        out.extend(page["features"].as_array().unwrap().iter().cloned());
        next = page["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
            .map(|l| l["href"].as_str().unwrap().to_owned());
    }
    out
}

/// A seeded random generator, so "random" points are the same on every run.
pub fn rng(seed: u64) -> rand::rngs::StdRng {
    use rand::SeedableRng;
    rand::rngs::StdRng::seed_from_u64(seed)
}

/// A fresh demo store in a temp dir, served: keep the `TempDir` alive as long as the server.
pub fn demo() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::demo(&dir.path().join("demo.gpkg"));
    (dir, server)
}

/// The position of a Point feature.
pub fn point_of(f: &Value) -> geo::Point<f64> {
    let c = &f["geometry"]["coordinates"];
    geo::Point::new(c[0].as_f64().unwrap(), c[1].as_f64().unwrap())
}

/// `[west, south, east, north]` of the buildings collection.
pub fn extent(server: &Server) -> [f64; 4] {
    let (_, c) = server.get("/collections/buildings");
    let b = &c["extent"]["spatial"]["bbox"][0];
    [0, 1, 2, 3].map(|i| b[i].as_f64().unwrap())
}
