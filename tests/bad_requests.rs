//! The malformed-request corpus (`tests/bad_requests/corpus.toml`): every case gets its expected
//! status and JSON error code (and field, where the case names one), and after the whole corpus
//! the store's content hash is unchanged (issue 8).

mod common;

use std::path::Path;

use common::{Server, cli, token};
use serde::Deserialize;
use sha2::{Digest, Sha256};

#[derive(Debug, Deserialize)]
struct Corpus {
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    method: String,
    path: String,
    auth: Option<String>,
    body: Option<String>,
    status: u16,
    error: String,
    field: Option<String>,
}

/// SHA-256 of every row of every table (rows sorted per table): the store's content, whatever
/// the file's page layout or WAL state.
pub fn content_hash(db: &Path) -> String {
    if common::postgres_backend() {
        return common::pg_fingerprint(&common::pg_database(db));
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Row;
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(sqlx::sqlite::SqliteConnectOptions::new().filename(db))
            .await
            .unwrap();
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name",
        )
        .fetch_all(&pool)
        .await
        .unwrap();
        let mut hash = Sha256::new();
        for t in &tables {
            let columns: Vec<String> =
                sqlx::query_scalar("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
                    .bind(t)
                    .fetch_all(&pool)
                    .await
                    .unwrap();
            let expr = columns
                .iter()
                .map(|c| format!("quote(\"{c}\")"))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            // Test-only, over names read from the schema itself.
            let sql = format!("SELECT {expr} FROM \"{t}\"");
            let mut rows: Vec<String> = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(&pool)
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<String, _>(0))
                .collect();
            rows.sort();
            hash.update(t.as_bytes());
            for r in rows {
                hash.update(r.as_bytes());
                hash.update(b"\n");
            }
        }
        pool.close().await;
        hex::encode(hash.finalize())
    })
}

#[test]
fn every_bad_request_is_refused_with_its_code_and_changes_nothing() {
    let text =
        std::fs::read_to_string(common::repo().join("tests/bad_requests/corpus.toml")).unwrap();
    let corpus: Corpus = toml::from_str(&text).unwrap();
    assert!(corpus.case.len() >= 100, "{} cases", corpus.case.len());
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.gpkg");
    let server = Server::demo(&db);
    let org = token(&db, "organisation", Some("某单位"));
    let planner = token(&db, "planner", None);
    let office = token(&db, "street_office", Some("1"));
    let community3 = token(&db, "community", Some("3"));
    let revoked = token(&db, "planner", None);
    let list = cli(&["token", "list", "--db", db.to_str().unwrap()]);
    let revoked_id = list.lines().last().unwrap().split('\t').next().unwrap();
    cli(&["token", "revoke", "--db", db.to_str().unwrap(), revoked_id]);

    let before = content_hash(&db);
    let http = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .unwrap();
    let mut failures = Vec::new();
    for case in &corpus.case {
        let method = reqwest::Method::from_bytes(case.method.as_bytes()).unwrap();
        let mut r = http
            .request(method.clone(), server.url(&case.path))
            .header("content-type", "application/geo+json");
        let auth = case
            .auth
            .as_deref()
            .unwrap_or(if method == reqwest::Method::GET {
                "none"
            } else {
                "admin"
            });
        r = match auth {
            "none" => r,
            "admin" => r.bearer_auth(&server.token),
            "org" => r.bearer_auth(&org),
            "planner" => r.bearer_auth(&planner),
            "office" => r.bearer_auth(&office),
            "community3" => r.bearer_auth(&community3),
            "revoked" => r.bearer_auth(&revoked),
            "bad" => r.bearer_auth("gc_0123"),
            "basic" => r.basic_auth("admin", Some("admin")),
            other => panic!("{}: unknown auth {other}", case.name),
        };
        if let Some(b) = &case.body {
            r = r.body(b.clone());
        }
        let resp = r.send().unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let status = resp.status().as_u16();
        let json = resp
            .headers()
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap_or("").contains("json"));
        let body: serde_json::Value = resp.json().unwrap_or(serde_json::Value::Null);
        let mut wrong = Vec::new();
        if status != case.status {
            wrong.push(format!("status {status}, expected {}", case.status));
        }
        if !json || body["error"] != case.error.as_str() {
            wrong.push(format!("error {}, expected {}", body["error"], case.error));
        }
        if body["message"].as_str().is_none_or(str::is_empty) {
            wrong.push("no message".into());
        }
        if let Some(f) = &case.field
            && body["field"] != f.as_str()
        {
            wrong.push(format!("field {}, expected {f}", body["field"]));
        }
        if !wrong.is_empty() {
            failures.push(format!(
                "{} ({} {}): {}; answer {}",
                case.name,
                case.method,
                case.path,
                wrong.join(", "),
                body.to_string().chars().take(300).collect::<String>()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases answered otherwise:\n{}",
        failures.len(),
        corpus.case.len(),
        failures.join("\n")
    );
    assert_eq!(
        content_hash(&db),
        before,
        "the store's content changed after the bad requests"
    );
}
