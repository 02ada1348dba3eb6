//! Panel sessions under load and at their edges: many tabs of one session while an IdP writes, signing out with a
//! request in flight, a password change, and when a session is written at all.
use crate::helpers::{ADMIN, TestApp, spawn_with};
use reqwest::StatusCode;
use serde_json::Value;
use server::store::Db;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Every page of the panel, and every server function that only reads, with the arguments it needs.
fn pages(user: &str, group: &str, entry: i64) -> Vec<String> {
    [
        "/",
        "/users",
        "/users/new",
        "/groups",
        "/scim",
        "/licence",
        "/log",
        "/admins",
        "/integrations",
        "/sso",
        "/users?page=2&q=user",
        "/log?status=failed",
    ]
    .iter()
    .map(|p| (*p).to_owned())
    .chain([format!("/users/{user}"), format!("/groups/{group}"), format!("/log/{entry}")])
    .collect()
}

pub(crate) fn reads(user: &str, group: &str, entry: i64) -> Vec<(&'static str, Vec<(&'static str, String)>)> {
    let s = |v: &str| v.to_owned();
    let users = vec![("q", s("")), ("status", s("")), ("source", s("")), ("sort", s("")), ("page", s("1"))];
    let log =
        vec![("q", s("")), ("status", s("")), ("kind", s("")), ("since", s("")), ("until", s("")), ("page", s("1"))];
    vec![
        ("whoami", vec![]),
        ("flash", vec![]),
        ("dashboard", vec![]),
        ("users", users),
        ("user", vec![("id", s(user))]),
        ("groups", vec![("q", s("")), ("page", s("1"))]),
        ("group", vec![("id", s(group)), ("page", s("1")), ("find", s("user"))]),
        ("scim_settings", vec![]),
        ("seats", vec![]),
        ("events", log),
        ("event", vec![("id", entry.to_string())]),
        ("admins", vec![]),
        ("integrations", vec![]),
    ]
}

/// The issue behind this test: a page or server function hung until the request timeout, or failed with "database is
/// locked", when the session layer wrote the session on every request outside the writer and SQLite's busy handler
/// lost the write lock to group commit. Twelve tabs of one session load every page and call every read server function
/// while four IdP clients create users.
#[tokio::test]
async fn parallel_tabs_on_one_session_while_an_idp_writes_all_answer() {
    server::telemetry::init();
    let app = Arc::new(spawn_with(|c| c.request_timeout_secs = 30).await);
    app.set_scim(true).await;
    app.set_seats(1_000_000).await;
    let user = app.user_id("first@example.com").await;
    let group = app.group_id("Everyone", &[&user]).await;
    let q = roster::model::LogQuery { start_index: 1, count: 1, ..Default::default() };
    let entry = app.services.settings.log(&q).await.unwrap().items[0].id.0;
    app.sign_in().await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut idp = Vec::new();
    for w in 0..4 {
        let (app, stop) = (app.clone(), stop.clone());
        idp.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let r = app.create_user(&format!("user{w}-{i}@example.com")).await;
                assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
                i += 1;
            }
            i
        }));
    }
    let (pages, reads) = (Arc::new(pages(&user, &group, entry)), Arc::new(reads(&user, &group, entry)));
    let mut tabs = Vec::new();
    for tab in 0..12 {
        let (app, pages, reads) = (app.clone(), pages.clone(), reads.clone());
        tabs.push(tokio::spawn(async move {
            let mut failed = Vec::new();
            for round in 0..8 {
                let path = &pages[(tab + round) % pages.len()];
                let r = app.browser.get(format!("{}{path}", app.base)).send().await.unwrap();
                if r.status() != StatusCode::OK {
                    failed.push(format!("GET {path}: {}", r.status()));
                }
                let (f, args) = &reads[(tab + round) % reads.len()];
                let r = app
                    .browser
                    .post(format!("{}/api/{f}", app.base))
                    .header("Origin", &app.base)
                    .form(args)
                    .send()
                    .await
                    .unwrap();
                if r.status() != StatusCode::OK {
                    failed.push(format!("POST /api/{f}: {} {}", r.status(), r.text().await.unwrap_or_default()));
                }
            }
            failed
        }));
    }
    let mut failed = Vec::new();
    for t in tabs {
        failed.extend(t.await.unwrap());
    }
    stop.store(true, Ordering::Relaxed);
    let mut created = 0;
    for w in idp {
        created += w.await.unwrap();
    }
    assert!(failed.is_empty(), "every tab's every request answers 200: {failed:#?}");
    assert!(created > 0, "the IdP wrote meanwhile");
}

/// The root cause, made deterministic: reading the panel must not need SQLite's write lock. Before the fix the session
/// layer wrote the session on every request outside the writer, so whatever held the lock (group commit under an
/// IdP's load, which retakes it microseconds after each commit; here another connection, as the CLI would) made every
/// page wait out the busy timeout and fail with "database is locked". Now every page and read server function answers
/// while another connection holds the write lock.
#[tokio::test]
async fn reading_the_panel_needs_no_write_lock() {
    use sqlx::Connection;
    let app = spawn_with(|c| c.request_timeout_secs = 30).await;
    if app.db.is_postgres() {
        return; // PostgreSQL has no database-wide write lock.
    }
    app.set_scim(true).await;
    let user = app.user_id("first@example.com").await;
    let group = app.group_id("Everyone", &[&user]).await;
    let q = roster::model::LogQuery { start_index: 1, count: 1, ..Default::default() };
    let entry = app.services.settings.log(&q).await.unwrap().items[0].id.0;
    app.sign_in().await;
    let mut holder = sqlx::SqliteConnection::connect(&app.db_url).await.unwrap();
    sqlx::query("begin immediate").execute(&mut holder).await.unwrap();
    let mut failed = Vec::new();
    let requests = pages(&user, &group, entry)
        .into_iter()
        .map(|p| (p, None))
        .chain(reads(&user, &group, entry).into_iter().map(|(f, args)| (format!("/api/{f}"), Some(args))));
    for (path, args) in requests {
        let url = format!("{}{path}", app.base);
        let r = match args {
            None => app.browser.get(url).send().await.unwrap(),
            Some(args) => app.browser.post(url).header("Origin", &app.base).form(&args).send().await.unwrap(),
        };
        if r.status() != StatusCode::OK {
            failed.push(format!("{path}: {}", r.status()));
        }
    }
    sqlx::query("rollback").execute(&mut holder).await.unwrap();
    assert!(failed.is_empty(), "every page and read answers while the lock is held elsewhere: {failed:#?}");
}

/// The stored sessions: each one's data and expiry.
async fn stored_sessions(app: &TestApp) -> Vec<(Value, i64)> {
    let sql = "select data, expires_at from panel_session order by expires_at";
    let rows: Vec<(String, i64)> = match Db::connect(&app.db_url).await.unwrap() {
        Db::Sqlite(p) => sqlx::query_as(sql).fetch_all(&p.read).await.unwrap(),
        Db::Postgres(p) => sqlx::query_as(sql).fetch_all(&p.read).await.unwrap(),
    };
    rows.into_iter().map(|(d, e)| (serde_json::from_str(&d).unwrap(), e)).collect()
}

async fn signed_in(app: &TestApp) -> bool {
    app.browser.get(format!("{}/admins", app.base)).send().await.unwrap().status() == StatusCode::OK
}

#[tokio::test]
async fn a_page_load_writes_no_session_and_a_drifted_idle_expiry_is_renewed() {
    let app = spawn_with(|_| {}).await;
    app.sign_in().await;
    let before = stored_sessions(&app).await;
    assert_eq!(before.len(), 1);
    for path in ["/", "/users", "/admins", "/log"] {
        assert_eq!(app.page(path).await.0, StatusCode::OK);
    }
    assert_eq!(stored_sessions(&app).await, before, "reading pages changes nothing, so nothing is written");

    // The idle expiry last moved two minutes ago: the next request moves it on.
    let mut data = before[0].0.clone();
    let renewed = data["signed_in"]["renewed"].as_i64().unwrap() - 120_000;
    data["signed_in"]["renewed"] = renewed.into();
    let sql = "update panel_session set data = $1, expires_at = expires_at - 120000";
    match Db::connect(&app.db_url).await.unwrap() {
        Db::Sqlite(p) => sqlx::query(sql).bind(data.to_string()).execute(&p.write).await.map(|_| ()),
        Db::Postgres(p) => sqlx::query(sql).bind(data.to_string()).execute(&p.write).await.map(|_| ()),
    }
    .unwrap();
    assert_eq!(app.page("/").await.0, StatusCode::OK);
    let after = stored_sessions(&app).await;
    assert!(after[0].1 > before[0].1 - 60_000, "the expiry moved on: {} then {}", before[0].1, after[0].1);
    assert!(after[0].0["signed_in"]["renewed"].as_i64().unwrap() > renewed);
}

#[tokio::test]
async fn a_password_change_keeps_the_sign_in_time_and_so_the_absolute_lifetime() {
    let app = spawn_with(|_| {}).await;
    app.sign_in().await;
    let at = stored_sessions(&app).await[0].0["signed_in"]["at"].as_i64().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let fields = [("current", ADMIN.1), ("new", "a brand new passphrase"), ("repeat", "a brand new passphrase")];
    let r = app.form("/api/password", &fields, "/admins").await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert!(signed_in(&app).await, "this session stays signed in");
    let sessions = stored_sessions(&app).await;
    assert_eq!(sessions.len(), 1);
    let s = &sessions[0].0["signed_in"];
    assert_eq!(s["at"].as_i64(), Some(at), "the sign-in time is the original one");
    assert!(s["proven"].as_i64().unwrap() > at, "the new password was proven just now");
}

/// A receiver that holds each request until told to answer, so a "Send again" stays in flight.
struct SlowReceiver {
    url: String,
    arrived: Arc<tokio::sync::Notify>,
    release: Arc<tokio::sync::Notify>,
}

impl SlowReceiver {
    async fn start() -> SlowReceiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let (arrived, release) = (Arc::new(tokio::sync::Notify::new()), Arc::new(tokio::sync::Notify::new()));
        let (a, r) = (arrived.clone(), release.clone());
        let hook = axum::routing::post(move || {
            let (a, r) = (a.clone(), r.clone());
            async move {
                a.notify_one();
                r.notified().await;
                "ok"
            }
        });
        let router = axum::Router::new().route("/hook", hook);
        tokio::spawn(async move { axum::serve(listener, router).await });
        SlowReceiver { url, arrived, release }
    }
}

#[tokio::test]
async fn signing_out_ends_the_session_even_while_a_slow_request_of_it_is_in_flight() {
    let app = Arc::new(spawn_with(|c| c.webhook_allow_networks = Some("127.0.0.0/8".into())).await);
    app.set_scim(true).await;
    app.sign_in().await;
    let receiver = SlowReceiver::start().await;
    let ctx = roster::service::Ctx::cli("test");
    let (endpoint, _) = app.services.webhooks.add(&ctx, &receiver.url, "*").await.unwrap();
    app.user_id("ada@example.com").await;
    // The regular delivery of that event arrives first; let it through.
    receiver.arrived.notified().await;
    receiver.release.notify_one();
    let page = app.services.directory.events(roster::model::TokenId(0), 0, 10, Default::default()).await.unwrap();
    let seq = page.feed.events[0].seq;

    // "Send again" waits on the receiver, holding the signed-in session of the request it came with.
    let in_flight = {
        let app = app.clone();
        let (id, seq) = (endpoint.id.clone(), seq.to_string());
        tokio::spawn(async move {
            app.form("/api/webhook_send_again", &[("id", id.as_str()), ("event_seq", seq.as_str())], "/integrations")
                .await
                .status()
        })
    };
    receiver.arrived.notified().await;
    let r = app.form("/api/logout", &[], "/").await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert!(stored_sessions(&app).await.is_empty(), "signing out deleted the session");
    receiver.release.notify_one();
    assert_eq!(in_flight.await.unwrap(), StatusCode::FOUND, "the request in flight finished");
    // It changed its session (a message for the next page) and answered with the session's cookie again; the browser
    // sends that cookie, and the session is still over.
    assert!(stored_sessions(&app).await.is_empty(), "the request in flight did not bring the session back");
    assert!(!signed_in(&app).await, "the old session cookie signs nobody in");
}

/// The issue behind this test: a page hung until the request timeout (503) about one full run in eight, when another
/// test's app was being built in the same process at the moment the page's data first loaded. Listing an app's routes
/// renders it with every resource held back, through a flag leptos keeps for the whole process; a resource that first
/// ran inside that window waited forever. Routes are now listed once per process (`server::web::panel_routes`, which
/// every app build calls). Here another thread asks for the routes, as app builds do, without pause while this app's
/// pages load.
#[tokio::test]
async fn building_other_apps_in_the_process_never_stalls_a_page() {
    let app = spawn_with(|c| c.request_timeout_secs = 5).await;
    app.sign_in().await;
    let stop = Arc::new(AtomicBool::new(false));
    let builder = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut built = 0;
            while !stop.load(Ordering::Relaxed) {
                assert!(!server::web::panel_routes().is_empty());
                built += 1;
            }
            built
        })
    };
    let mut stalled = Vec::new();
    for path in ["/groups", "/users", "/", "/scim", "/log"].iter().cycle().take(30) {
        let (status, _) = app.page(path).await;
        if status != StatusCode::OK {
            stalled.push(format!("{path}: {status}"));
        }
    }
    stop.store(true, Ordering::Relaxed);
    let built = builder.join().unwrap();
    assert!(built > 0, "routes were listed meanwhile");
    assert!(stalled.is_empty(), "pages that did not answer while the routes were listed {built} times: {stalled:?}");
}
