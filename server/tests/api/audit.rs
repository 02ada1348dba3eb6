//! The audit trail: OCSF records over `GET /v1/audit` with its own token scope, the `--audit-log` stream, the CSV
//! export, and the log's hash chain with `roster log verify`, on both databases.
use crate::helpers::{TestApp, spawn_app, spawn_app_with};
use reqwest::StatusCode;
use roster::model::{ApiScope, TokenKind};
use roster::service::Ctx;
use serde_json::{Value, json};
use std::process::{Command, Stdio};

async fn token(app: &TestApp, name: &str, scope: ApiScope) -> String {
    app.services.tokens.create_scoped(&Ctx::cli("test"), TokenKind::Api, name, scope).await.unwrap().1
}

async fn get(app: &TestApp, token: &str, path: &str) -> (StatusCode, Option<String>, Value) {
    let r = app.http.get(format!("{}{path}", app.base)).bearer_auth(token).send().await.unwrap();
    let link = r.headers().get("link").map(|l| l.to_str().unwrap().to_owned());
    (r.status(), link, r.json().await.unwrap_or(Value::Null))
}

/// Every record of the trail, following `Link: rel="next"` from the start until a page is empty.
async fn all_records(app: &TestApp, token: &str, limit: usize) -> Vec<Value> {
    let mut path = format!("/v1/audit?limit={limit}");
    let mut out = Vec::new();
    loop {
        let (status, link, body) = get(app, token, &path).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let records = body["records"].as_array().unwrap().clone();
        assert!(records.len() <= limit);
        let link = link.expect("every page has a Link header");
        let next = link.strip_prefix('<').and_then(|l| l.split_once(">; rel=\"next\"")).unwrap().0.to_owned();
        assert!(next.contains(&format!("after={}", body["next"].as_str().unwrap())), "{link} {body}");
        if records.is_empty() {
            return out;
        }
        out.extend(records);
        path = next;
    }
}

/// A user created, deactivated, reactivated and deleted; a group created, a member added and removed, renamed and
/// deleted; a refused token; a sign-in and a wrong password; tokens and seats: every kind of record.
async fn every_kind_of_entry(app: &TestApp) {
    let id = app.create_user("ada@example.com").await.body["id"].as_str().unwrap().to_owned();
    app.create_user("=HYPERLINK(\"http://127.0.0.1/x\")@example.com").await;
    app.patch(&format!("/Users/{id}"), json!([{"op": "replace", "value": {"active": false}}])).await;
    app.patch(&format!("/Users/{id}"), json!([{"op": "replace", "value": {"active": true}}])).await;
    let gid = app.group_id("Engineering", &[]).await;
    app.patch(&format!("/Groups/{gid}"), json!([{"op": "add", "path": "members", "value": [{"value": id}]}])).await;
    app.patch(&format!("/Groups/{gid}"), json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]))
        .await;
    app.patch(&format!("/Groups/{gid}"), json!([{"op": "replace", "value": {"displayName": "Eng"}}])).await;
    app.delete(&format!("/Groups/{gid}")).await;
    app.delete(&format!("/Users/{id}")).await;
    let r = app.http.get(format!("{}/scim/v2/Users", app.base)).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    app.set_seats(50).await;
    app.set_scim(false).await;
    app.set_scim(true).await;
    app.sign_in().await;
    let cli = Ctx::cli("test");
    let helper = "helper@example.com";
    app.create_admin(helper, "a long enough password", roster::model::Role::Helpdesk).await.unwrap();
    app.services.admins.set_role(&Ctx::cli("admin set-role"), helper, roster::model::Role::Auditor).await.unwrap();
    app.services.admins.remove(&Ctx::cli("admin remove"), helper).await.unwrap();
    app.services.tokens.create(&cli, TokenKind::Scim, "Entra ID").await.unwrap();
    app.services.tokens.revoke(&cli, TokenKind::Scim, "Entra ID").await.unwrap();
    let wrong = app.form("/api/login", &[("email", "admin@example.com"), ("password", "nope")], "/login").await;
    assert!(wrong.status().is_client_error() || wrong.status().is_redirection(), "{}", wrong.status());
}

#[tokio::test]
async fn the_api_pages_the_trail_in_commit_order_and_each_scope_stays_in_its_place() {
    let app = spawn_app().await;
    every_kind_of_entry(&app).await;
    let audit = token(&app, "siem", ApiScope::Audit).await;
    let directory = token(&app, "billing", ApiScope::Directory).await;

    let records = all_records(&app, &audit, 3).await;
    assert!(records.len() >= 15, "{}", records.len());
    let numbers: Vec<i64> = records.iter().map(|r| r["unmapped"]["roster"]["entry"].as_i64().unwrap()).collect();
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "commit order, nothing skipped: {numbers:?}");
    assert_eq!(all_records(&app, &audit, 1000).await, records, "any page size gives the same trail");
    for r in &records {
        assert_eq!(r["metadata"]["version"], "1.8.0");
        assert_eq!(
            r["type_uid"].as_u64().unwrap(),
            r["class_uid"].as_u64().unwrap() * 100 + r["activity_id"].as_u64().unwrap()
        );
        assert!(r["unmapped"]["roster"]["hash"].as_str().is_some_and(|h| h.len() == 64), "{r}");
    }
    let classes: std::collections::BTreeSet<u64> = records.iter().map(|r| r["class_uid"].as_u64().unwrap()).collect();
    assert_eq!(classes, [3001, 3002, 3004, 3006].into(), "every class");
    let deactivated = records.iter().find(|r| r["type_uid"] == 300105).expect("a Disable record");
    assert_eq!(deactivated["actor"]["user"]["name"], "Okta");
    assert_eq!(deactivated["user"]["name"], "ada@example.com");
    assert_eq!(deactivated["src_endpoint"]["ip"], "127.0.0.1");
    assert!(deactivated["http_request"]["user_agent"].is_string(), "{deactivated}");
    assert!(deactivated["metadata"]["correlation_uid"].is_string(), "the request id: {deactivated}");
    let sign_in = records.iter().find(|r| r["type_uid"] == 300201 && r["status_id"] == 1).expect("a sign-in");
    assert_eq!(sign_in["user"]["email_addr"], "admin@example.com");
    assert!(records.iter().any(|r| r["type_uid"] == 300201 && r["status_id"] == 2), "a refused sign-in");

    // Caught up: an empty page, whose cursor stays.
    let last = records.last().unwrap()["unmapped"]["roster"]["entry"].as_i64().unwrap();
    let (status, link, caught_up) = get(&app, &audit, &format!("/v1/audit?after={last}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(caught_up["records"], json!([]), "caught up");
    assert_eq!(caught_up["next"], last.to_string());
    assert_eq!(link.unwrap(), format!("</v1/audit?after={last}>; rel=\"next\""));
    let (status, _, body) = get(&app, &audit, &format!("/v1/audit?after={}", last + 3)).await;
    assert_eq!(status, StatusCode::CONFLICT, "a cursor ahead of the trail: {body}");

    // Scopes: each token only where it belongs; SCIM tokens nowhere here.
    let (status, _, body) = get(&app, &directory, "/v1/audit").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "insufficient_scope");
    for path in ["/v1/users", "/v1/groups", "/v1/events"] {
        let (status, _, body) = get(&app, &audit, path).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        assert_eq!(get(&app, &directory, path).await.0, StatusCode::OK, "{path}");
    }
    assert_eq!(get(&app, &app.token, "/v1/audit").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(get(&app, "", "/v1/audit").await.0, StatusCode::UNAUTHORIZED);
    for bad in ["/v1/audit?after=-1", "/v1/audit?after=abc", "/v1/audit?limit=x"] {
        assert_eq!(get(&app, &audit, bad).await.0, StatusCode::BAD_REQUEST, "{bad}");
    }
}

#[tokio::test]
async fn a_cursor_from_before_retention_is_an_error_and_the_pruned_chain_still_verifies() {
    let app = spawn_app().await;
    every_kind_of_entry(&app).await;
    let audit = token(&app, "siem", ApiScope::Audit).await;
    let first = all_records(&app, &audit, 1000).await;
    // Prune everything written so far (retention of 0 ms from "now" in the future): the chain is cut.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let pruned = app.services.settings.prune_log(-60_000).await.unwrap();
    assert!(pruned as usize >= first.len(), "{pruned}");
    app.create_user("after@example.com").await;
    let (status, _, body) = get(&app, &audit, "/v1/audit?after=1").await;
    assert_eq!(status, StatusCode::GONE, "{body}");
    assert_eq!(body["error"]["code"], "cursor_expired");
    let rest = all_records(&app, &audit, 100).await;
    assert!(!rest.is_empty());
    let v = app.services.audit.verify().await.unwrap();
    assert_eq!(v.broken, None, "the chain verifies from where it was cut");
    assert!(v.cut > 0);
}

#[tokio::test]
async fn the_stream_carries_the_records_the_api_gives() {
    let dir = std::env::temp_dir().join(format!("roster-audit-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("audit.jsonl");
    let path = file.to_string_lossy().into_owned();
    let app = spawn_app_with(move |c| c.audit_log = Some(path)).await;
    every_kind_of_entry(&app).await;
    let audit = token(&app, "siem", ApiScope::Audit).await;
    let api = all_records(&app, &audit, 100).await;
    // The stream is written as each write commits: wait for the last entry to arrive.
    let streamed = read_lines(&file, api.len()).await;
    assert_eq!(streamed, api, "the same records, in the same order");
    assert!(streamed.len() >= 15, "{}", streamed.len());

    // logrotate's default: move the file away, then SIGHUP; the next records go to a new file by the same name.
    std::fs::rename(&file, dir.join("audit.jsonl.1")).unwrap();
    let hup = Command::new("kill").args(["-HUP", &std::process::id().to_string()]).status().unwrap();
    assert!(hup.success());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    app.create_user("after-rotation@example.com").await;
    let fresh = read_lines(&file, 1).await;
    assert_eq!(fresh.len(), 1, "{fresh:?}");
    assert_eq!(fresh[0]["user"]["name"], "after-rotation@example.com");
    let old = read_lines(&dir.join("audit.jsonl.1"), 0).await;
    assert_eq!(old.len(), streamed.len(), "nothing more went to the moved file");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The records in a JSON-lines file, once it has at least `n` (waiting up to 5 s for them).
async fn read_lines(file: &std::path::Path, n: usize) -> Vec<Value> {
    let mut lines = Vec::new();
    for _ in 0..100 {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        lines = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        if lines.len() >= n {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    lines
}

/// `roster` against `db`, as an operator runs it.
fn roster(db: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(args)
        .env("ROSTER_DATABASE_URL", db)
        .env("RUST_LOG", "off")
        .stdin(Stdio::null())
        .output()
        .expect("run roster");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// Runs SQL on the test's database directly, as someone with the database's files or credentials could.
async fn tamper(app: &TestApp, sql: &str) {
    use server::store::Db;
    match Db::connect(&app.db_url).await.unwrap() {
        Db::Sqlite(p) => sqlx::query(sql).execute(&p.write).await.map(|_| ()).unwrap(),
        Db::Postgres(p) => sqlx::query(sql).execute(&p.write).await.map(|_| ()).unwrap(),
    }
}

// Multi-threaded: the CLI runs as a blocking child process while the server keeps serving on another thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_verify_passes_then_names_the_entry_changed_removed_or_inserted() {
    let app = spawn_app().await;
    every_kind_of_entry(&app).await;
    let db = app.db_url.as_str();
    let (code, out, err) = roster(db, &["log", "verify"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("intact"), "{out}");
    let head = app.services.audit.verify().await.unwrap().head;
    let victim = head - 5;

    tamper(&app, &format!("update log_entry set diff = 'nothing happened' where entry_id = {victim}")).await;
    let (code, out, _) = roster(db, &["log", "verify"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("log entry {victim} does not match its hash")), "{out}");

    let app = spawn_app().await;
    every_kind_of_entry(&app).await;
    let head = app.services.audit.verify().await.unwrap().head;
    tamper(&app, &format!("delete from log_entry where entry_id = {}", head - 3)).await;
    let (code, out, _) = roster(&app.db_url, &["log", "verify"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("log entry {} was removed", head - 3)), "{out}");

    let app = spawn_app().await;
    every_kind_of_entry(&app).await;
    let head = app.services.audit.verify().await.unwrap().head;
    tamper(&app, &format!("delete from log_entry where entry_id = {head}")).await;
    let (code, out, _) = roster(&app.db_url, &["log", "verify"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(&format!("log entry {head}, the newest the chain recorded, was removed")), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_is_safe_in_a_spreadsheet() {
    let app = spawn_app().await;
    every_kind_of_entry(&app).await;
    let (code, csv, err) = roster(&app.db_url, &["log", "export", "--format", "csv"]);
    assert_eq!(code, 0, "{err}");
    assert!(csv.starts_with("entry,time,actor,"), "{csv}");
    assert!(csv.contains("'=HYPERLINK"), "the formula is neutralised: {csv}");
    assert!(!csv.contains(",=HYPERLINK") && !csv.contains(",\"=HYPERLINK"), "{csv}");
    let (_, since, _) = roster(&app.db_url, &["log", "export", "--since", "2999-01-01", "--format", "jsonl"]);
    assert!(since.is_empty(), "nothing from the future: {since}");
    let (code, _, err) = roster(&app.db_url, &["log", "export", "--since", "yesterday"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("use a date such as"), "{err}");
}

#[tokio::test]
async fn the_log_page_downloads_its_filter_as_csv_for_any_signed_in_admin() {
    let app = spawn_app().await;
    every_kind_of_entry(&app).await;
    let stranger = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = stranger.get(format!("{}/log/export.csv", app.base)).send().await.unwrap();
    assert!(r.status().is_redirection(), "signed out: to the sign-in page, {}", r.status());
    assert_eq!(r.headers()["location"], "/login");
    let auditor = app.panel_with_role(roster::model::Role::Auditor).await;
    let get = |path: &'static str| {
        let b = auditor.http.clone();
        let base = app.base.clone();
        async move { b.get(format!("{base}{path}")).send().await.unwrap() }
    };
    let r = get("/log/export.csv?kind=user").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(r.headers()["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"roster-log-"));
    let text = r.text().await.unwrap();
    let rows: Vec<&str> = text.lines().collect();
    assert!(rows[0].starts_with("entry,time,actor,method,path,status,outcome,target_kind"), "{text}");
    assert!(rows.len() > 5, "{text}");
    assert!(rows[1..].iter().all(|r| r.contains(",user,")), "only users, as filtered: {text}");
    assert!(text.contains("'=HYPERLINK"), "the formula is neutralised: {text}");
    let groups = get("/log/export.csv?kind=group").await.text().await.unwrap();
    assert!(groups.lines().skip(1).all(|r| r.contains(",group,")) && groups.lines().count() > 2, "{groups}");
    let r = get("/log/export.csv?since=yesterday").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let (status, page) = auditor.page("/log").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("/log/export.csv"), "the log page links its download");
}

/// The Python with `jsonschema` (PyPI) that `scripts/api-checks.sh` sets up.
fn python() -> String {
    std::env::var("ROSTER_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs jsonschema from PyPI: run by .ci/run (scripts/api-checks.sh)"]
async fn every_record_type_validates_against_the_json_schema_of_its_ocsf_class() {
    let app = spawn_app().await;
    every_kind_of_entry(&app).await;
    let (code, ocsf, err) = roster(&app.db_url, &["log", "export", "--format", "ocsf"]);
    assert_eq!(code, 0, "{err}");
    let records: Vec<Value> = ocsf.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(records.len() >= 15);
    // Each record against the JSON Schema of its OCSF class (schemas/ocsf), by the project's validator.
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let mut check = Command::new(python())
        .arg(format!("{root}/scripts/validate_ocsf.py"))
        .arg("--strict")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 with jsonschema (pip install jsonschema)");
    use std::io::Write;
    check.stdin.take().unwrap().write_all(ocsf.as_bytes()).unwrap();
    let out = check.wait_with_output().unwrap();
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{report}");
    for class in ["3001", "3002", "3004", "3006"] {
        assert!(report.contains(class), "{class} was validated: {report}");
    }
    // The validator can fail: a record without its required `user`.
    let mut broken = records.iter().find(|r| r["class_uid"] == 3001).unwrap().clone();
    broken.as_object_mut().unwrap().remove("user");
    let mut check = Command::new(python())
        .arg(format!("{root}/scripts/validate_ocsf.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check.stdin.take().unwrap().write_all(broken.to_string().as_bytes()).unwrap();
    assert!(!check.wait_with_output().unwrap().status.success());
}

/// `docs/openapi.json`, kept equal to the served document: `ROSTER_WRITE_OPENAPI=1 cargo test openapi` rewrites it.
#[tokio::test]
async fn the_openapi_document_is_served_without_a_token_and_kept_in_the_repository() {
    let app = spawn_app().await;
    let r = app.http.get(format!("{}/v1/openapi.json", app.base)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/json");
    let served = r.text().await.unwrap();
    let doc: Value = serde_json::from_str(&served).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    let paths: Vec<&str> = doc["paths"].as_object().unwrap().keys().map(String::as_str).collect();
    for p in [
        "/v1/users",
        "/v1/users/{key}",
        "/v1/groups",
        "/v1/groups/{id}",
        "/v1/groups/{id}/members",
        "/v1/events",
        "/v1/audit",
    ] {
        assert!(paths.contains(&p), "{p} in {paths:?}");
    }
    let file = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/openapi.json");
    if std::env::var_os("ROSTER_WRITE_OPENAPI").is_some() {
        std::fs::write(file, &served).unwrap();
    }
    let kept = std::fs::read_to_string(file).unwrap_or_default();
    assert!(
        kept == served,
        "docs/openapi.json differs from /v1/openapi.json: run ROSTER_WRITE_OPENAPI=1 cargo test openapi"
    );
    // Only the document is public.
    for path in ["/v1/users", "/v1/users/openapi.json", "/v1/audit"] {
        let r = app.http.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
}

#[tokio::test]
async fn pruning_takes_only_the_unbroken_run_of_old_entries_and_a_stray_row_never_blocks_a_write() {
    let app = spawn_app().await;
    for i in 0..6 {
        app.create_user(&format!("u{i}@example.com")).await;
    }
    let v = app.services.audit.verify().await.unwrap();
    let (first, head) = (v.cut + 1, v.head);
    // An entry in the middle stamped long ago (a clock behind): retention of a day takes nothing, since the oldest
    // entries are recent; the early one does not drag newer ones out with it.
    tamper(&app, &format!("update log_entry set at = 1000 where entry_id = {}", head - 1)).await;
    assert_eq!(app.services.settings.prune_log(24 * 3600 * 1000).await.unwrap(), 0);
    let v = app.services.audit.verify().await.unwrap();
    assert_eq!(v.cut + 1, first, "nothing was pruned");
    assert_eq!(v.broken, Some(roster::audit::chain::Break::Changed { id: head - 1 }), "and the edit is named");

    // A row roster did not write, numbered just above the chain's head: writes go on after it, and verify names it.
    let app = spawn_app().await;
    app.create_user("a@example.com").await;
    let head = app.services.audit.verify().await.unwrap().head;
    tamper(
        &app,
        &format!(
            "insert into log_entry (entry_id, at, actor, method, path, status, outcome, diff, detail) \
             values ({}, 1, 'x', 'GET', '/', 200, 'ok', '', '')",
            head + 1
        ),
    )
    .await;
    let r = app.create_user("b@example.com").await;
    assert_eq!(r.status, StatusCode::CREATED, "a stray row does not block writes: {:?}", r.body);
    let v = app.services.audit.verify().await.unwrap();
    assert_eq!(v.broken, Some(roster::audit::chain::Break::Unsealed { id: head + 1 }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_appends_its_records_to_the_audit_file_before_it_exits() {
    let app = spawn_app().await;
    let dir = std::env::temp_dir().join(format!("roster-audit-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("audit.jsonl");
    let out = Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["seats", "set", "77", "--audit-log", &file.to_string_lossy()])
        .env("ROSTER_DATABASE_URL", &app.db_url)
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let records = read_lines(&file, 0).await;
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(records[0]["actor"]["app_name"], "roster CLI");
    assert_eq!(records[0]["entity"]["type"], "setting");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stdout_stream_carries_the_records_the_api_gives_and_nothing_else() {
    use std::io::BufRead;
    let db = crate::helpers::TestDb::fresh().await.unwrap();
    let cli = |args: &[&str]| {
        let (code, out, err) = roster(&db.url, args);
        assert_eq!(code, 0, "{args:?}: {err}");
        out.trim().to_owned()
    };
    cli(&["migrate"]);
    cli(&["scim", "enable"]);
    let scim = cli(&["scim", "token", "create", "--name", "Okta"]);
    let audit = cli(&["api", "token", "create", "--name", "siem", "--scope", "audit"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_roster"))
        .args(["serve", "--listen", "127.0.0.1:0", "--audit-log", "stdout"])
        .env("ROSTER_DATABASE_URL", &db.url)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The banner goes to stderr: stdout is the stream's alone.
    let mut errors = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let base = errors
        .by_ref()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("roster is running at ").map(str::to_owned))
        .expect("roster says where it runs, on stderr");
    std::thread::spawn(move || errors.for_each(drop));
    let (lines, stdout) = std::sync::mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let http = reqwest::Client::new();
    for i in 0..5 {
        let r = http
            .post(format!("{base}/scim/v2/Users"))
            .bearer_auth(&scim)
            .json(&crate::helpers::okta_user(&format!("s{i}@example.com")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let r = http.get(format!("{base}/scim/v2/Users")).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let api: Value =
        http.get(format!("{base}/v1/audit")).bearer_auth(&audit).send().await.unwrap().json().await.unwrap();
    let api = api["records"].as_array().unwrap().clone();
    // The CLI's entries (before the server started) are the API's alone; the server's six are in both.
    let served: Vec<Value> = api.iter().filter(|r| r["actor"]["app_name"] != "roster CLI").cloned().collect();
    assert_eq!(served.len(), 6, "{api:?}");
    let mut streamed = Vec::new();
    while streamed.len() < served.len() {
        let line = stdout.recv_timeout(std::time::Duration::from_secs(10)).expect("a record on stdout");
        streamed.push(serde_json::from_str::<Value>(&line).unwrap_or_else(|e| panic!("not a record: {line}: {e}")));
    }
    assert_eq!(streamed, served, "the same records, in the same order");
    let _ = child.kill();
    let _ = child.wait();
}

// Multi-threaded: the CLI runs as a blocking child process while the server keeps serving on another thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_writing_while_the_server_runs_leave_one_chain_and_quoted_numbers_stay_true() {
    let app = spawn_app().await;
    app.create_user("a@example.com").await;
    for i in 0..3 {
        // The command's entry takes the number after the server's last; the server's next write finds it taken.
        let (code, _, err) = roster(&app.db_url, &["seats", "set", &(100 + i).to_string()]);
        assert_eq!(code, 0, "{err}");
        let r = app.create_user(&format!("b{i}@example.com")).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    let used = app.services.settings.seats().await.unwrap().used;
    let (code, _, err) = roster(&app.db_url, &["seats", "set", &used.to_string()]);
    assert_eq!(code, 0, "{err}");
    // A refused push quotes its entry's number: the number it is stored under.
    let r = app.create_user("refused@example.com").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let n: i64 = r.detail().rsplit('#').next().unwrap().trim_end_matches(')').parse().unwrap();
    let entry = app.services.settings.log_entry(roster::model::LogEntryId(n)).await.unwrap();
    assert_eq!(entry.outcome, roster::model::Outcome::NoSeats, "{entry:?}");
    let v = app.services.audit.verify().await.unwrap();
    assert_eq!(v.broken, None);
    assert_eq!(v.checked as i64, v.head - v.cut, "every entry is in the one chain");
    // A commit that found the kept chain behind wrote its entries again; the activity chart counted them once.
    let (entries, counted) = counted_entries(&app).await;
    assert_eq!(entries, counted, "each log entry counted once in the activity chart");
}

/// Log entries, and the entries the activity chart counted, read directly.
async fn counted_entries(app: &TestApp) -> (i64, i64) {
    use server::store::Db;
    let sql = "select (select count(*) from log_entry), \
               (select cast(coalesce(sum(writes + no_seats + failed), 0) as bigint) from activity_hour)";
    match Db::connect(&app.db_url).await.unwrap() {
        Db::Sqlite(p) => sqlx::query_as(sql).fetch_one(&p.read).await.unwrap(),
        Db::Postgres(p) => sqlx::query_as(sql).fetch_one(&p.read).await.unwrap(),
    }
}
