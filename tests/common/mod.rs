//! Test harness: runs the real `gridcircle` binary on loopback against a store in a temp dir.
//!
//! Backends: by default the store is a GeoPackage file at the path a test names. With
//! `GRIDCIRCLE_TEST_BACKEND=postgres` the same path names a fresh PostgreSQL database instead
//! (created with PostGIS on first use, [`db_arg`]): every `--db` the harness passes (through
//! [`cli`], [`token`] and [`Server`]) is rewritten to its URL, so the same tests run on both
//! backends. The databases of a test binary are dropped when it exits (and those of a binary
//! that died are dropped by the next run). `GRIDCIRCLE_TEST_PG` is the server URL without a
//! database (default `postgres://postgres@127.0.0.1:5432`).
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

/// True when the tests run on PostgreSQL (`GRIDCIRCLE_TEST_BACKEND=postgres`).
pub fn postgres_backend() -> bool {
    std::env::var("GRIDCIRCLE_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

/// The PostgreSQL server the tests use, without a database.
pub fn pg_server() -> String {
    std::env::var("GRIDCIRCLE_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
        .trim_end_matches('/')
        .to_owned()
}

/// Runs `psql` on `database` with `sql`; returns its unaligned, tab-separated output.
pub fn psql(database: &str, sql: &str) -> String {
    let url = format!("{}/{database}", pg_server());
    let out = Command::new("psql")
        .args([
            url.as_str(),
            "-X",
            "-q",
            "-At",
            "-F",
            "\t",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            sql,
        ])
        .output()
        .expect("run psql");
    assert!(
        out.status.success(),
        "psql {sql:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Databases this test binary created, by the path they stand for.
static DATABASES: std::sync::Mutex<Vec<(PathBuf, String)>> = std::sync::Mutex::new(Vec::new());

unsafe extern "C" {
    fn atexit(callback: extern "C" fn()) -> i32;
}

/// Drops this binary's databases (registered with `atexit`, so it runs when the test binary
/// exits after its last test).
extern "C" fn drop_databases() {
    let names: Vec<String> = DATABASES
        .lock()
        .map(|d| d.iter().map(|(_, n)| n.clone()).collect())
        .unwrap_or_default();
    for name in names {
        let _ = Command::new("psql")
            .args([
                format!("{}/postgres", pg_server()).as_str(),
                "-X",
                "-q",
                "-c",
                &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            ])
            .output();
    }
}

/// Drops databases left by test binaries that died before their `atexit` ran.
fn drop_stale_databases() {
    let names = psql(
        "postgres",
        "SELECT datname FROM pg_database WHERE datname LIKE 'gct\\_%'",
    );
    for name in names.lines() {
        let pid = name.split('_').nth(1).and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid
            && pid != std::process::id()
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            psql(
                "postgres",
                &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            );
        }
    }
}

/// The database that stands for `path` on the PostgreSQL backend: `gct_<pid>_<n>`, created
/// with PostGIS the first time `path` is named.
pub fn pg_database(path: &Path) -> String {
    let mut dbs = DATABASES.lock().unwrap();
    if let Some((_, name)) = dbs.iter().find(|(p, _)| p == path) {
        return name.clone();
    }
    if dbs.is_empty() {
        drop_stale_databases();
        // SAFETY: registers a plain `extern "C" fn()` with the C library, once per process.
        unsafe {
            atexit(drop_databases);
        }
    }
    let name = format!("gct_{}_{}", std::process::id(), dbs.len() + 1);
    psql("postgres", &format!("CREATE DATABASE \"{name}\""));
    psql(&name, "CREATE EXTENSION IF NOT EXISTS postgis");
    dbs.push((path.to_owned(), name.clone()));
    name
}

/// The `--db` value for a store at `path`: the path, or on the PostgreSQL backend the URL of
/// the database made for it.
pub fn db_arg(path: &Path) -> String {
    let text = path.to_str().unwrap();
    if text.starts_with("postgres://") {
        text.to_owned()
    } else if postgres_backend() {
        format!("{}/{}", pg_server(), pg_database(path))
    } else {
        text.to_owned()
    }
}

/// `args` with every `--db` value passed through [`db_arg`].
pub fn backend_args(args: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    for i in 1..out.len() {
        if out[i - 1] == "--db" {
            out[i] = db_arg(Path::new(&out[i]));
        }
    }
    out
}

/// Runs the `gridcircle` command line to completion; returns its stdout (panics on failure).
pub fn cli(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_gridcircle"))
        .args(backend_args(args))
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
            .args(backend_args(args))
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

    /// Sends SIGTERM (`kill -TERM`, as a service manager stops the server) and waits for the
    /// process to exit, at most `within`; its exit status. Panics when it is still running.
    pub fn terminate(mut self, within: Duration) -> std::process::ExitStatus {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -TERM failed");
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for gridcircle") {
                return status;
            }
            assert!(
                started.elapsed() < within,
                "gridcircle still running {within:?} after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
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

/// What the store holds, to prove a request changed nothing: on a GeoPackage the bytes of the
/// file and its WAL; on PostgreSQL [`pg_fingerprint`] (row content, since a refused insert may
/// still advance a sequence).
pub fn store_bytes(db: &Path) -> Vec<u8> {
    if postgres_backend() {
        return pg_fingerprint(&pg_database(db)).into_bytes();
    }
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

/// An MD5 per table over every row's text (rows sorted), for every table of the database's
/// public schema except PostGIS's own `spatial_ref_sys`: the database's content.
pub fn pg_fingerprint(database: &str) -> String {
    let tables = psql(
        database,
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'spatial_ref_sys' ORDER BY 1",
    );
    let parts: Vec<String> = tables
        .lines()
        .map(|t| {
            format!(
                "SELECT '{t}', md5(COALESCE(string_agg(x::text, '|' ORDER BY x::text), '')) FROM \"{t}\" x"
            )
        })
        .collect();
    psql(database, &parts.join(" UNION ALL "))
}

/// Everything the store holds as text, to search for what must never be stored (tokens): the
/// GeoPackage file and its WAL read as text, or `pg_dump --data-only` of the database.
pub fn store_text(db: &Path) -> String {
    if postgres_backend() {
        let url = format!("{}/{}", pg_server(), pg_database(db));
        let out = Command::new("pg_dump")
            .args(["--data-only", url.as_str()])
            .output()
            .expect("run pg_dump");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return String::from_utf8_lossy(&out.stdout).into_owned();
    }
    let raw = std::fs::read(db).unwrap();
    let wal = std::fs::read(format!("{}-wal", db.display())).unwrap_or_default();
    format!(
        "{}{}",
        String::from_utf8_lossy(&raw),
        String::from_utf8_lossy(&wal)
    )
}
