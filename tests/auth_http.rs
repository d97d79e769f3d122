//! Roles, scopes, jurisdictions, the audit log and personal data over HTTP (issue 8), and the
//! edge's rate limits, CORS, security headers and GeoJSON limits, on the demo through the real
//! binary.

mod common;

use common::{Server, cli, store_bytes, token};
use serde_json::{Value, json};

fn grids(server: &Server) -> Vec<Value> {
    let (status, body) = server.get("/collections/grids/items?limit=10000");
    assert_eq!(status, 200);
    body["features"].as_array().unwrap().clone()
}

fn grid_in(server: &Server, community: i64) -> Value {
    grids(server)
        .into_iter()
        .find(|g| g["properties"]["community_id"] == community)
        .unwrap_or_else(|| panic!("a grid in community {community}"))
}

fn grid_body(grid: &Value, geometry: Value, name: &str) -> String {
    let p = &grid["properties"];
    json!({ "type": "Feature", "geometry": geometry, "properties": {
        "code": p["code"], "name": name, "community_id": p["community_id"] } })
    .to_string()
}

fn shifted(geometry: &Value, dlon: f64) -> Value {
    let mut g = geometry.clone();
    for ring in g["coordinates"].as_array_mut().unwrap() {
        for p in ring.as_array_mut().unwrap() {
            p[0] = json!(p[0].as_f64().unwrap() + dlon);
        }
    }
    g
}

fn toilet(owner: &str, lon: f64) -> String {
    json!({ "type": "Feature", "geometry": { "type": "Point", "coordinates": [lon, 32.042] },
            "properties": { "kind": "toilet", "name": "共享厕所", "owner": owner, "shared": true } })
    .to_string()
}

#[test]
fn refused_writes_say_why_in_json_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.gpkg");
    let server = Server::demo(&db);
    let org = token(&db, "organisation", Some("别家单位"));
    let community1 = token(&db, "community", Some("1"));
    let office = token(&db, "street_office", Some("1"));
    let planner = token(&db, "planner", None);
    let revoked = token(&db, "admin", None);
    let listed = cli(&["token", "list", "--db", db.to_str().unwrap()]);
    let revoked_id = listed.lines().last().unwrap().split('\t').next().unwrap();
    cli(&["token", "revoke", "--db", db.to_str().unwrap(), revoked_id]);
    // The store holds hashes only.
    let stored = common::store_text(&db);
    assert!(stored.contains("auth_tokens"), "the store was read");
    for t in [&org, &office, &revoked] {
        let hex = &t[3..];
        assert!(!stored.contains(hex));
    }

    let g2 = grid_in(&server, 2);
    let g2_path = format!("/collections/grids/items/{}", g2["id"]);
    let g1 = grid_in(&server, 1);
    let far = shifted(&g1["geometry"], 0.03);
    let f_path = "/collections/facilities/items";
    let before = store_bytes(&db);
    // (token, method, path, body, status, error code)
    type Case<'a> = (Option<&'a str>, &'a str, String, String, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            None,
            "POST",
            f_path.into(),
            toilet("某单位", 118.779),
            401,
            "unauthenticated",
        ),
        (
            None,
            "PUT",
            g2_path.clone(),
            grid_body(&g2, g2["geometry"].clone(), "x"),
            401,
            "unauthenticated",
        ),
        (
            None,
            "DELETE",
            g2_path.clone(),
            String::new(),
            401,
            "unauthenticated",
        ),
        (
            None,
            "PUT",
            "/circles/health".into(),
            json!({"name": "健康", "kinds": ["clinic"], "minutes": 10}).to_string(),
            401,
            "unauthenticated",
        ),
        (
            None,
            "PUT",
            "/buildings/1/chief".into(),
            json!({"name": "x"}).to_string(),
            401,
            "unauthenticated",
        ),
        (
            None,
            "POST",
            "/communities/1/grids/renumber".into(),
            String::new(),
            401,
            "unauthenticated",
        ),
        (
            Some("gc_not-a-token"),
            "POST",
            f_path.into(),
            toilet("某单位", 118.779),
            401,
            "invalid_token",
        ),
        (
            Some(&revoked),
            "POST",
            f_path.into(),
            toilet("某单位", 118.779),
            401,
            "invalid_token",
        ),
        (
            Some(&org),
            "POST",
            f_path.into(),
            toilet("某单位", 118.779),
            403,
            "not_owner",
        ),
        (
            Some(&planner),
            "POST",
            f_path.into(),
            toilet("某单位", 118.779),
            403,
            "forbidden_role",
        ),
        (
            Some(&community1),
            "PUT",
            g2_path.clone(),
            grid_body(&g2, g2["geometry"].clone(), "x"),
            403,
            "outside_jurisdiction",
        ),
        (
            Some(&community1),
            "DELETE",
            g2_path.clone(),
            String::new(),
            403,
            "outside_jurisdiction",
        ),
        (
            Some(&office),
            "PUT",
            format!("/collections/grids/items/{}", g1["id"]),
            grid_body(&g1, far, "x"),
            403,
            "outside_jurisdiction",
        ),
        (
            Some(&office),
            "PUT",
            "/collections/street_offices/items/1".into(),
            server
                .get("/collections/street_offices/items/1")
                .1
                .to_string(),
            403,
            "forbidden_role",
        ),
        (
            Some(&community1),
            "PUT",
            "/collections/communities/items/1".into(),
            server.get("/collections/communities/items/1").1.to_string(),
            403,
            "forbidden_role",
        ),
        (
            Some(&org),
            "PUT",
            "/circles/health".into(),
            json!({"name": "健康", "kinds": ["clinic"], "minutes": 10}).to_string(),
            403,
            "forbidden_role",
        ),
        (
            Some(&org),
            "GET",
            "/audit".into(),
            String::new(),
            403,
            "forbidden_role",
        ),
        (
            None,
            "GET",
            "/audit".into(),
            String::new(),
            401,
            "unauthenticated",
        ),
    ];
    for (who, method, path, body, status, code) in &cases {
        let (got, answer) = server.send_as(*who, method, path, body.clone());
        assert_eq!(got, *status, "{method} {path}: {answer}");
        assert_eq!(answer["error"], *code, "{method} {path}: {answer}");
        assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert!(
        store_bytes(&db) == before,
        "a refused request changed the store"
    );
    let (_, api) = server.get("/api");
    assert!(api["paths"]["/audit"].is_object() && api["paths"]["/whoami"].is_object());
    let (status, me) = server.get_as(&office, "/whoami");
    assert_eq!(status, 200);
    assert_eq!(me["role"], "street_office");
}

#[test]
fn roles_write_inside_their_scope_and_admins_read_the_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.gpkg");
    let server = Server::demo(&db);
    let org = token(&db, "organisation", Some("某单位"));
    let community2 = token(&db, "community", Some("2"));
    let office = token(&db, "street_office", Some("1"));
    let planner = token(&db, "planner", None);

    // An organisation creates, changes and deletes its own facility.
    let (status, created) = server.send_as(
        Some(&org),
        "POST",
        "/collections/facilities/items",
        toilet("某单位", 118.779),
    );
    assert_eq!(status, 201, "{created}");
    let fid = created["id"].as_i64().unwrap();
    let path = format!("/collections/facilities/items/{fid}");
    let (status, body) = server.send_as(Some(&org), "PUT", &path, toilet("某单位", 118.7791));
    assert_eq!(status, 200, "{body}");
    // Giving it away is not allowed (the after-owner is not the organisation).
    let (status, body) = server.send_as(Some(&org), "PUT", &path, toilet("别家", 118.7791));
    assert_eq!((status, body["error"].as_str()), (403, Some("not_owner")));
    // A community edits grids of its community; a street office edits its communities.
    let g2 = grid_in(&server, 2);
    let (status, body) = server.send_as(
        Some(&community2),
        "PUT",
        &format!("/collections/grids/items/{}", g2["id"]),
        grid_body(&g2, g2["geometry"].clone(), "社区改名网格"),
    );
    assert_eq!(status, 200, "{body}");
    let (_, c1) = server.get("/collections/communities/items/1");
    let mut c1_body = c1.clone();
    c1_body["properties"] = json!({ "code": c1["properties"]["code"], "name": "街道改名社区",
        "street_office_id": c1["properties"]["street_office_id"] });
    let (status, body) = server.send_as(
        Some(&office),
        "PUT",
        "/collections/communities/items/1",
        c1_body.to_string(),
    );
    assert_eq!(status, 200, "{body}");
    // A planner changes a circle.
    let (status, body) = server.send_as(
        Some(&planner),
        "PUT",
        "/circles/health",
        json!({"name": "健康", "kinds": ["clinic", "hospital"], "minutes": 12}).to_string(),
    );
    assert_eq!(status, 200, "{body}");
    let (status, _) = server.send_as(Some(&org), "DELETE", &path, "");
    assert_eq!(status, 204);

    // The audit log: who, what, when, before and after, oldest first.
    let (status, log) = server.get_as(&server.token, "/audit?limit=1000");
    assert_eq!(status, 200, "{log}");
    let records = log["records"].as_array().unwrap();
    // The demo's layer import is audited too (one record per imported feature, no token).
    let imported = records.iter().filter(|r| r["action"] == "import").count();
    assert!(imported > 0, "the layer import left no audit records");
    assert!(
        records
            .iter()
            .filter(|r| r["action"] == "import")
            .all(|r| r["role"].is_null() && r["token_id"].is_null())
    );
    let writes: Vec<(&str, &str, &str)> = records
        .iter()
        .filter(|r| r["layer"] != "auth_tokens" && r["action"] != "import")
        .map(|r| {
            (
                r["layer"].as_str().unwrap(),
                r["action"].as_str().unwrap(),
                r["role"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        writes,
        [
            ("facilities", "create", "organisation"),
            ("facilities", "replace", "organisation"),
            ("grids", "replace", "community"),
            ("communities", "replace", "street_office"),
            ("circles", "replace", "planner"),
            ("facilities", "delete", "organisation"),
        ]
    );
    let replace = records
        .iter()
        .find(|r| r["layer"] == "grids" && r["action"] == "replace")
        .unwrap();
    assert_eq!(
        replace["before"]["properties"]["name"],
        g2["properties"]["name"]
    );
    assert_eq!(replace["after"]["properties"]["name"], "社区改名网格");
    assert_eq!(replace["feature_id"], g2["id"].to_string());
    assert!(replace["at"].as_str().unwrap().ends_with('Z'));
    let deleted = records
        .iter()
        .rev()
        .find(|r| r["action"] == "delete")
        .unwrap();
    assert_eq!(deleted["after"], Value::Null);
    assert_eq!(deleted["before"]["geometry"]["coordinates"][0], 118.7791);
    // Paging and filtering.
    let (_, page) = server.get_as(&server.token, "/audit?limit=2");
    assert_eq!(page["records"].as_array().unwrap().len(), 2);
    let after = page["next_after"].as_i64().unwrap();
    let (_, rest) = server.get_as(
        &server.token,
        &format!("/audit?after={after}&layer=facilities"),
    );
    assert!(
        rest["records"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["layer"] == "facilities")
    );
}

#[test]
fn phones_reach_only_the_roles_allowed_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.gpkg");
    let server = Server::demo(&db);
    let g1 = grid_in(&server, 1);
    let gid = g1["id"].as_i64().unwrap();
    let mut body: Value =
        serde_json::from_str(&grid_body(&g1, g1["geometry"].clone(), "有电话的网格")).unwrap();
    body["properties"]["chief_name"] = json!("网格长");
    body["properties"]["chief_phone"] = json!("13911112222");
    let (status, saved) = server.send(
        "PUT",
        &format!("/collections/grids/items/{gid}"),
        body.to_string(),
    );
    assert_eq!(status, 200, "{saved}");
    let sees = |t: Option<&str>| -> bool {
        let (status, detail) = match t {
            Some(t) => server.get_as(t, &format!("/grids/{gid}")),
            None => server.get(&format!("/grids/{gid}")),
        };
        assert_eq!(status, 200);
        assert_eq!(detail["chief"]["name"], "网格长");
        detail.to_string().contains("13911112222")
    };
    assert!(!sees(None));
    assert!(sees(Some(&server.token)));
    assert!(sees(Some(&token(&db, "planner", None))));
    assert!(sees(Some(&token(&db, "street_office", Some("1")))));
    assert!(sees(Some(&token(&db, "community", Some("1")))));
    assert!(!sees(Some(&token(&db, "community", Some("2")))));
    assert!(!sees(Some(&token(&db, "organisation", Some("某单位")))));
}

#[test]
fn the_edge_limits_rates_origins_and_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("demo.gpkg");
    let server = Server::demo_with(
        &db,
        &[
            "--rate-anonymous",
            "2",
            "--rate-anonymous-burst",
            "3",
            "--rate-authenticated",
            "50",
            "--rate-authenticated-burst",
            "50",
            "--cors-origin",
            "https://map.example.org",
            "--max-vertices",
            "40",
            "--body-limit",
            "40000",
            "--max-k",
            "3",
        ],
    );
    let g1 = grid_in(&server, 1);
    let http = reqwest::blocking::Client::new();
    // Anonymous: a burst of 3, then 429 with the standard headers and a JSON body.
    let answers: Vec<reqwest::blocking::Response> = (0..6)
        .map(|_| http.get(server.url("/health")).send().unwrap())
        .collect();
    let limited = answers.iter().filter(|r| r.status() == 429).count();
    assert!(limited >= 2, "{limited} of 6 limited");
    let first = &answers[0];
    assert_eq!(first.headers()["x-ratelimit-limit"], "3");
    assert!(first.headers().contains_key("x-ratelimit-remaining"));
    let refused = answers.into_iter().find(|r| r.status() == 429).unwrap();
    assert!(refused.headers().contains_key("retry-after"));
    assert!(refused.headers().contains_key("x-ratelimit-after"));
    let body: Value = refused.json().unwrap();
    assert_eq!(body["error"], "rate_limited");
    // A token has its own quota.
    for _ in 0..5 {
        let r = http
            .get(server.url("/health"))
            .bearer_auth(&server.token)
            .send()
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-ratelimit-limit"], "50");
    }
    // CORS: the configured origin only.
    let preflight = |origin: &str| {
        http.request(
            reqwest::Method::OPTIONS,
            server.url("/collections/facilities/items"),
        )
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .bearer_auth(&server.token)
        .send()
        .unwrap()
    };
    let ok = preflight("https://map.example.org");
    assert_eq!(
        ok.headers()["access-control-allow-origin"],
        "https://map.example.org"
    );
    let other = preflight("https://evil.example.com");
    assert!(!other.headers().contains_key("access-control-allow-origin"));
    // Security headers on the web page.
    let page = http
        .get(server.url("/"))
        .bearer_auth(&server.token)
        .send()
        .unwrap();
    assert_eq!(page.status(), 200);
    let h = page.headers();
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(
        h["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'self'")
    );
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["x-content-type-options"], "nosniff");
    // Sizes: too many vertices (422), too large a body (413), both JSON, nothing stored.
    let before = store_bytes(&db);
    let ring: Vec<Value> = (0..=60)
        .map(|i| {
            let a = i as f64 / 60.0 * std::f64::consts::TAU;
            json!([118.78 + 0.001 * a.cos(), 32.04 + 0.001 * a.sin()])
        })
        .collect();
    let many = grid_body(
        &g1,
        json!({"type": "Polygon", "coordinates": [ring]}),
        "多点",
    );
    let (status, body) = server.send(
        "PUT",
        &format!("/collections/grids/items/{}", g1["id"]),
        many,
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("too_many_vertices")),
        "{body}"
    );
    let big = format!(
        "{{\"type\":\"Feature\",\"properties\":{{\"name\":\"{}\"}}}}",
        "x".repeat(50_000)
    );
    let (status, body) = server.send("POST", "/collections/facilities/items", big);
    assert_eq!(
        (status, body["error"].as_str()),
        (413, Some("body_too_large")),
        "{body}"
    );
    let fc =
        json!({"type": "FeatureCollection", "features": vec![json!({"type": "Feature"}); 1001]});
    let (status, body) = server.send("POST", "/collections/facilities/items", fc.to_string());
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("too_many_features")),
        "{body}"
    );
    let (status, body) = server.get_as(
        &server.token,
        "/nearest?lon=118.78&lat=32.04&kind=toilet&k=4",
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (422, Some("out_of_range")),
        "{body}"
    );
    // A method the route does not take: JSON too.
    let (status, body) = server.send("PATCH", "/health", "");
    assert_eq!(
        (status, body["error"].as_str()),
        (405, Some("method_not_allowed"))
    );
    assert!(store_bytes(&db) == before);
}
