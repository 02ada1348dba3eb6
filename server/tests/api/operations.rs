//! What an operator relies on: metrics on their own listener, request ids, backups and their restore, the static
//! assets.
use crate::helpers::{TestApp, okta_user, spawn_app, spawn_with};
use reqwest::StatusCode;
use roster::service::Ctx;
use server::config::Config;
use server::startup::Application;
use std::collections::HashMap;

/// The samples of a Prometheus text exposition, by series (name and labels as printed).
async fn scrape(url: &str) -> HashMap<String, f64> {
    let r = reqwest::get(url).await.expect("scrape");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = r.text().await.unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.rsplit_once(' ').and_then(|(k, v)| Some((k.to_owned(), v.parse().ok()?))))
        .collect()
}

fn sample(m: &HashMap<String, f64>, name: &str, labels: &[(&str, &str)]) -> f64 {
    m.iter()
        .filter(|(k, _)| {
            k.split('{').next() == Some(name) && labels.iter().all(|(l, v)| k.contains(&format!("{l}=\"{v}\"")))
        })
        .map(|(_, v)| *v)
        .sum()
}

#[tokio::test]
async fn metrics_are_served_on_their_own_listener_and_move_with_real_requests() {
    let app = spawn_with(|c| c.metrics_listen = Some("127.0.0.1:0".parse().unwrap())).await;
    app.set_scim(true).await;
    app.set_seats(1).await;
    let url = app.metrics.clone().expect("a metrics listener");
    let before = scrape(&url).await;

    assert_eq!(app.create_user("ada@example.com").await.status, StatusCode::CREATED);
    let refused = app.create_user("bob@example.com").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "no seat left: {}", refused.body);
    let bad = app.get("/Users?filter=userName%20zz%20%22x%22").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let after = scrape(&url).await;

    let moved = |name: &str, labels: &[(&str, &str)]| sample(&after, name, labels) - sample(&before, name, labels);
    let created = [("route", "/scim/v2/Users"), ("method", "POST"), ("status", "201")];
    assert!(moved("roster_http_requests_total", &created) >= 1.0, "{after:#?}");
    assert!(moved("roster_http_request_duration_seconds_count", &[("route", "/scim/v2/Users")]) >= 3.0);
    assert!(moved("roster_scim_errors_total", &[("status", "400"), ("scim_type", "invalidFilter")]) >= 1.0);
    assert!(moved("roster_writes_total", &[("outcome", "ok")]) >= 1.0);
    assert!(moved("roster_writes_total", &[("outcome", "no_seats")]) >= 1.0);
    assert_eq!(sample(&after, "roster_seats_used", &[]), 1.0);
    assert_eq!(sample(&after, "roster_seats_licensed", &[]), 1.0);
    assert!(sample(&after, "roster_db_pool_connections", &[]) >= 1.0);
    assert!(after.keys().any(|k| k.starts_with("roster_write_queue_depth")), "{after:#?}");
    // Route labels are patterns: an id never becomes a series of its own.
    assert!(!after.keys().any(|k| k.contains("ada@example.com") || k.contains("/Users/0")), "{after:#?}");

    // Never on the public port.
    let public = app.browser.get(format!("{}/metrics", app.base)).send().await.unwrap();
    assert_ne!(public.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_request_id_is_echoed_and_recorded_in_the_log_entry_and_a_hostile_one_is_replaced() {
    let app = spawn_app().await;
    app.create_user("ada@example.com").await;
    let dup = app
        .raw(
            app.scim_req(reqwest::Method::POST, "/Users")
                .header("X-Request-Id", "okta-7f3a.2")
                .json(&okta_user("ada@example.com")),
        )
        .await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.headers["x-request-id"], "okta-7f3a.2");
    let recent = roster::model::LogQuery { start_index: 1, count: 50, ..Default::default() };
    let entry = app.services.settings.log(&recent).await.unwrap();
    let failed = entry.items.iter().find(|e| e.status == 409).expect("the failure is logged");
    assert_eq!(failed.request_id.as_deref(), Some("okta-7f3a.2"));

    // A successful write records it too, and a value that is not a plain token is replaced, never stored.
    let hostile = "<script>alert(1)</script>";
    let r = app
        .raw(
            app.scim_req(reqwest::Method::POST, "/Users")
                .header("X-Request-Id", hostile)
                .json(&okta_user("bob@example.com")),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let id = r.headers["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(id, hostile);
    assert!(id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    let log = app.services.settings.log(&recent).await.unwrap();
    let created = log.items.iter().find(|e| e.status == 201 && e.path.ends_with("/Users")).expect("logged");
    assert_eq!(created.request_id.as_deref(), Some(id.as_str()));
}

/// Creates users one after another until stopped; returns the ids whose creation was acknowledged, in order.
fn burst(app: &TestApp, stop: std::sync::Arc<std::sync::atomic::AtomicBool>) -> tokio::task::JoinHandle<Vec<String>> {
    let (scim, token, http) = (app.scim.clone(), app.token.clone(), app.http.clone());
    tokio::spawn(async move {
        let mut acked = Vec::new();
        let mut i = 0;
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            i += 1;
            let r = http
                .post(format!("{scim}/Users"))
                .bearer_auth(&token)
                .json(&okta_user(&format!("burst{i}@example.com")))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
            let body: serde_json::Value = r.json().await.unwrap();
            acked.push(body["id"].as_str().unwrap().to_owned());
        }
        acked
    })
}

/// Starts roster on `url` and checks that every one of `ids` is there.
async fn every_user_is_in(url: &str, ids: &[String]) {
    let config = Config { database_url: url.to_owned(), listen: "127.0.0.1:0".parse().unwrap(), ..Config::default() };
    let restored = Application::build(&config).await.expect("roster starts on the copy");
    let base = format!("http://{}/scim/v2", restored.local_addr());
    let services = restored.services.clone();
    tokio::spawn(restored.run_until_stopped());
    services.settings.set_scim_enabled(&Ctx::cli("test"), true).await.unwrap();
    let (_, token) =
        services.tokens.create(&Ctx::cli("test"), roster::model::TokenKind::Scim, "Restore check").await.unwrap();
    let http = reqwest::Client::new();
    for id in ids {
        let r = http.get(format!("{base}/Users/{id}")).bearer_auth(&token).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "user {id}, acknowledged before the backup, is in it");
    }
}

// Several worker threads and child processes awaited without blocking: the server and the burst go on writing while
// the backup runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_during_a_burst_of_writes_holds_every_write_acknowledged_before_it() {
    let app = spawn_app().await;
    app.set_seats(1_000_000).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = burst(&app, stop.clone());
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // Everything acknowledged up to here must be in the backup: the users the database holds now.
    let before: Vec<String> = app
        .services
        .users
        .list(&roster::model::UserQuery { start_index: 1, count: 10_000, ..Default::default() })
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|u| u.id.to_string())
        .collect();
    assert!(!before.is_empty());
    let dir = std::env::temp_dir().join(format!("roster-backup-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    // PostgreSQL: pg_dump while the burst goes on, restored into a fresh database with pg_restore.
    let mut restored_db = None;
    let copy_url = if app.db.is_postgres() {
        let copy = testkit::TestDb::fresh().await.unwrap();
        // As docs/operations.md shows it.
        let dump = dir.join("roster.dump");
        let ok = tokio::process::Command::new("pg_dump")
            .arg("--format=custom")
            .arg("--file")
            .arg(&dump)
            .arg(&app.db_url)
            .status()
            .await;
        assert!(ok.expect("pg_dump").success());
        let ok = tokio::process::Command::new("pg_restore")
            .arg("--no-owner")
            .arg(format!("--dbname={}", copy.url))
            .arg(&dump)
            .status()
            .await;
        assert!(ok.expect("pg_restore").success(), "the dump restores into a fresh database");
        let url = copy.url.clone();
        restored_db = Some(copy);
        url
    } else {
        let path = dir.join("copy.db");
        let backup = || async {
            tokio::process::Command::new(env!("CARGO_BIN_EXE_roster"))
                .args(["backup", path.to_str().unwrap(), "--database-url", &app.db_url])
                .output()
                .await
                .expect("roster backup")
        };
        let out = backup().await;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("integrity check ok"));
        // Never over an existing file.
        let again = backup().await;
        assert!(!again.status.success());
        assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
        format!("sqlite://{}", path.display())
    };
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let acked = writer.await.unwrap();
    assert!(acked.len() >= before.len(), "the burst went on during the backup");
    every_user_is_in(&copy_url, &before).await;
    drop(restored_db);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn the_favicon_is_served_and_assets_are_revalidated() {
    let app = spawn_app().await;
    for path in ["/favicon.ico", "/favicon.svg"] {
        let r = app.browser.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_eq!(r.headers()["content-type"], "image/svg+xml");
        assert!(r.text().await.unwrap().starts_with("<svg"));
    }
    // Only the names a site build produces are served from the folder: no path ever leaves it.
    // (pkg → site → target → the repository, where Cargo.toml is.)
    for path in ["/pkg/..%2F..%2F..%2FCargo.toml", "/pkg/Cargo.toml", "/pkg/roster.js.map"] {
        let r = app.browser.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
    }
}
