//! The walking skeleton: health, first-run setup, sign-in and sessions, the CLI, and the migrations.
use crate::helpers::{spawn_app, spawn_bare};
use reqwest::StatusCode;
use roster::service::Ctx;
use std::process::{Command, Stdio};

#[tokio::test]
async fn health_endpoints_answer_json() {
    let app = spawn_bare().await;
    let live: serde_json::Value = reqwest::get(format!("{}/healthz", app.base)).await.unwrap().json().await.unwrap();
    assert_eq!(live["status"], "ok");
    let ready = reqwest::get(format!("{}/readyz", app.base)).await.unwrap();
    assert_eq!(ready.status(), StatusCode::OK);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["database"], "ok");
}

#[tokio::test]
async fn the_first_start_offers_a_setup_link_that_works_once() {
    let app = spawn_bare().await;
    let token = app.setup_token.clone().expect("a fresh install has a setup token");
    let (status, html) = app.page(&format!("/setup?token={token}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Create the first admin") && html.contains("<form"), "{html}");

    let fields = [("token", token.as_str()), ("email", "first@example.com"), ("password", "correct horse battery")];
    let r = app.form("/api/setup", &fields, &format!("/setup?token={token}")).await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(r.headers()["location"], "/", "setup signs the new admin in");
    let (status, html) = app.page("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("first@example.com"), "signed in as the new admin");

    // The link is spent: the page says so and a replayed post creates nothing.
    let (_, html) = app.page(&format!("/setup?token={token}")).await;
    assert!(html.contains("already been used"), "{html}");
    let again = [("token", token.as_str()), ("email", "second@example.com"), ("password", "correct horse battery")];
    let r = app.form("/api/setup", &again, &format!("/setup?token={token}")).await;
    assert!(r.headers()["location"].to_str().unwrap().contains("__err"), "a used link is refused");
    assert_eq!(app.services.admins.list().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_wrong_setup_token_is_refused() {
    let app = spawn_bare().await;
    let (_, html) = app.page("/setup?token=nope").await;
    assert!(html.contains("already been used or has expired"));
    let r = app
        .form(
            "/api/setup",
            &[("token", "nope"), ("email", "x@example.com"), ("password", "correct horse battery")],
            "/setup?token=nope",
        )
        .await;
    assert!(r.headers()["location"].to_str().unwrap().contains("__err"));
    assert_eq!(app.services.admins.count().await.unwrap(), 0);
}

#[tokio::test]
async fn pages_need_sign_in_and_sign_out_ends_the_session() {
    let app = spawn_app().await;
    let (status, _) = app.page("/").await;
    assert_eq!(status, StatusCode::SEE_OTHER, "signed-out visitors are sent to /login");
    app.sign_in().await;
    let (status, html) = app.page("/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Dashboard") && html.contains("seats in use"), "{html}");
    let r = app.form("/api/logout", &[], "/").await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let (status, _) = app.page("/").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_session_cookie_is_http_only_lax_and_renewed_on_sign_in() {
    let app = spawn_app().await;
    app.services
        .admins
        .create(&Ctx::cli("test"), "a@example.com", "correct horse battery", roster::model::Role::Owner, false)
        .await
        .unwrap();
    let sign_in =
        || app.form("/api/login", &[("email", "a@example.com"), ("password", "correct horse battery")], "/login");
    let first = sign_in().await;
    let cookie = |r: &reqwest::Response| r.headers()["set-cookie"].to_str().unwrap().to_owned();
    let c1 = cookie(&first);
    assert!(c1.contains("HttpOnly") && c1.contains("SameSite=Lax"), "{c1}");
    let c2 = cookie(&sign_in().await);
    let id = |c: &str| c.split(';').next().unwrap().to_owned();
    assert_ne!(id(&c1), id(&c2), "a new session id on every sign-in");
}

#[tokio::test]
async fn bad_credentials_get_one_generic_message_and_are_throttled() {
    let app = spawn_app().await;
    app.services
        .admins
        .create(&Ctx::cli("test"), "a@example.com", "correct horse battery", roster::model::Role::Owner, false)
        .await
        .unwrap();
    for email in ["a@example.com", "nobody@example.com"] {
        let r = app.form("/api/login", &[("email", email), ("password", "wrong password!")], "/login").await;
        let loc = r.headers()["location"].to_str().unwrap().to_owned();
        assert!(loc.starts_with(&format!("{}/login?", app.base)) && loc.contains("__err"), "{loc}");
    }
    let (_, html) = app.page("/login?__path=/api/login&__err=x").await;
    assert!(html.contains("Sign in"));
    for _ in 0..5 {
        app.form("/api/login", &[("email", "a@example.com"), ("password", "wrong password!")], "/login").await;
    }
    // The forms came from 127.0.0.1: that account is throttled from there, even with the right password.
    let err = app.services.admins.login("a@example.com", "correct horse battery", "127.0.0.1").await.unwrap_err();
    assert!(matches!(err, roster::Error::Throttled { .. }), "{err}");
}

#[tokio::test]
async fn sessions_live_in_the_database_and_work_on_another_instance() {
    let app = spawn_app().await;
    app.services
        .admins
        .create(&Ctx::cli("test"), "a@example.com", "correct horse battery", roster::model::Role::Owner, false)
        .await
        .unwrap();
    let r =
        app.form("/api/login", &[("email", "a@example.com"), ("password", "correct horse battery")], "/login").await;
    let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    // A second instance on the same database, as behind a load balancer (or after a restart), knows the session.
    let config = server::config::Config {
        database_url: app.db_url.clone(),
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    };
    let other = server::startup::Application::build(&config).await.unwrap();
    let other_base = other.public_url().to_owned();
    tokio::spawn(other.run_until_stopped());
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let r = client.get(format!("{other_base}/")).header("Cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("a@example.com"));
    let r = client.get(format!("{other_base}/")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "and without the cookie, no session");
}

fn roster(db: &str, args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_roster"));
    cmd.args(args)
        .env("ROSTER_DATABASE_URL", db)
        .env("RUST_LOG", "off")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn roster");
    if let Some(input) = stdin {
        use std::io::Write;
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// Multi-threaded: the CLI runs as a blocking child process while the in-process server must keep serving (and
// finishing its own writes) on another thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_commands_work_on_the_running_servers_database() {
    let app = spawn_bare().await;
    let db = app.db_url.as_str();
    let (code, out, err) = roster(db, &["scim", "token", "create", "--name", "Entra ID"], None);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 1, "only the token on stdout: {out}");
    assert!(out.trim().starts_with("roster_scim_") && out.trim().len() > 60);
    // The running server accepts the new token at once.
    let r = reqwest::Client::new().get(format!("{}/Users", app.scim)).bearer_auth(out.trim()).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "valid token, SCIM still off");

    let (code, _, err) = roster(db, &["scim", "token", "create", "--name", "entra id"], None);
    assert_ne!(code, 0);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("already taken"), "{err}");

    let (code, out, _) = roster(db, &["scim", "token", "list"], None);
    assert_eq!(code, 0);
    assert!(out.contains("Entra ID") && out.contains("Okta") && out.contains("LAST USED"), "{out}");

    assert_eq!(roster(db, &["scim", "enable"], None).0, 0);
    let (_, out, _) = roster(db, &["scim", "status"], None);
    assert!(out.contains("SCIM provisioning: enabled") && out.contains("/scim/v2"), "{out}");
    assert!(app.services.settings.get().await.unwrap().scim_enabled);
    assert_eq!(roster(db, &["scim", "disable"], None).0, 0);
    assert!(!app.services.settings.get().await.unwrap().scim_enabled);

    let (code, out, _) = roster(db, &["seats", "set", "25"], None);
    assert_eq!(code, 0);
    assert!(out.contains("0 of 25"), "{out}");
    let (_, out, _) = roster(db, &["seats", "show"], None);
    assert!(out.contains("25 free"), "{out}");

    let (code, _, err) = roster(db, &["scim", "token", "revoke", "Entra ID"], None);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = roster(db, &["scim", "token", "revoke", "Entra ID"], None);
    assert_ne!(code, 0);
    assert!(err.contains("not found"), "{err}");

    let (code, out, err) =
        roster(db, &["admin", "create", "--email", "cli@example.com"], Some("a long enough passphrase\n"));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("cli@example.com"));
    assert!(app.services.admins.login("cli@example.com", "a long enough passphrase", "test").await.is_ok());
    let (code, _, err) = roster(db, &["admin", "create", "--email", "short@example.com"], Some("short\n"));
    assert_ne!(code, 0);
    assert!(err.contains("at least 10"), "{err}");
    // Roles: owner by default; another on request, with a break-glass password; each shown by `admin list`.
    let (code, out, err) = roster(
        db,
        &["admin", "create", "--email", "desk@example.com", "--role", "helpdesk", "--break-glass"],
        Some("a long enough passphrase\n"),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("as helpdesk, with a break-glass password"), "{out}");
    let (code, _, err) = roster(db, &["admin", "create", "--email", "x@example.com", "--role", "root"], Some("pw\n"));
    assert_ne!(code, 0);
    assert!(err.contains("not a role"), "{err}");
    let (code, out, err) = roster(db, &["admin", "set-role", "--email", "desk@example.com", "--role", "auditor"], None);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("now auditor"), "{out}");
    let (_, out, _) = roster(db, &["admin", "list"], None);
    let line = |email: &str| out.lines().find(|l| l.starts_with(email)).unwrap_or_default().to_owned();
    assert!(line("cli@example.com").contains("owner") && line("cli@example.com").contains("password"), "{out}");
    let desk = line("desk@example.com");
    assert!(desk.contains("auditor") && desk.contains("break-glass") && desk.contains("never"), "{out}");

    // Single sign-on: the secret from standard input, never shown again.
    let set = ["sso", "set", "--issuer", "https://idp.example.com", "--client-id", "0oa-roster", "--name", "Okta"];
    let (code, out, err) = roster(db, &set, Some("the-client-secret\n"));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("/auth/oidc/callback"), "names the redirect URI: {out}");
    let (code, _, err) =
        roster(db, &["sso", "set", "--issuer", "http://idp.example.com", "--client-id", "x"], Some("s\n"));
    assert_ne!(code, 0);
    assert!(err.contains("https"), "{err}");
    assert_eq!(roster(db, &["sso", "map", "--group", "roster-owners", "--role", "owner"], None).0, 0);
    assert_eq!(roster(db, &["sso", "map", "--group", "helpdesk", "--role", "helpdesk"], None).0, 0);
    assert_eq!(roster(db, &["sso", "unmap", "--group", "helpdesk"], None).0, 0);
    let (code, _, err) = roster(db, &["sso", "require", "on"], None);
    assert_ne!(code, 0, "no break-glass owner yet");
    assert!(err.contains("break-glass owner"), "{err}");
    let (_, out, _) = roster(db, &["sso", "show"], None);
    assert!(
        out.contains("https://idp.example.com") && out.contains("Sign in with Okta") && out.contains("roster-owners")
    );
    assert!(!out.contains("helpdesk") && !out.contains("the-client-secret"), "{out}");
    assert_eq!(roster(db, &["sso", "disable"], None).0, 0);
    assert!(roster(db, &["sso", "show"], None).1.contains("not set up"));

    assert_eq!(roster(db, &["migrate"], None).0, 0);
}

#[test]
fn cli_failures_are_one_line_on_stderr() {
    for (url, needle) in
        [("mysql://x", "unsupported database URL"), ("sqlite:///nonexistent-dir/x/roster.db", "cannot open SQLite")]
    {
        let (code, out, err) = roster(url, &["seats", "show"], None);
        assert_ne!(code, 0, "{url}");
        assert!(out.is_empty());
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains(needle), "{err}");
    }
}

#[test]
fn help_documents_every_flag_and_its_environment_variable() {
    let (code, out, _) = roster("sqlite://unused.db", &["--help"], None);
    assert_eq!(code, 0);
    for needle in [
        "--database-url",
        "ROSTER_DATABASE_URL",
        "--listen",
        "ROSTER_LISTEN",
        "--public-url",
        "ROSTER_PUBLIC_URL",
        "serve",
        "migrate",
        "admin",
        "scim",
        "seats",
    ] {
        assert!(out.contains(needle), "--help lacks {needle}:\n{out}");
    }
}

#[test]
fn both_databases_have_the_same_migrations() {
    let names = |dir: &str| {
        let mut v: Vec<String> = std::fs::read_dir(format!("{}/../migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let (sqlite, postgres) = (names("sqlite"), names("postgres"));
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres, "migrations/sqlite and migrations/postgres must hold the same versions and names");
}

#[tokio::test]
async fn every_start_and_instance_offers_the_same_setup_link_until_an_admin_exists() {
    let app = spawn_bare().await;
    let first = app.setup_token.clone().expect("a fresh install has a setup token");
    let start = || async {
        let config = server::config::Config {
            database_url: app.db_url.clone(),
            listen: "127.0.0.1:0".parse().unwrap(),
            ..Default::default()
        };
        server::startup::Application::build(&config).await.expect("another start").setup_token().map(str::to_owned)
    };
    assert_eq!(start().await.as_deref(), Some(first.as_str()), "a second instance prints the same link");
    assert!(app.services.admins.setup_token_valid(&first).await.unwrap(), "and the first one still works");
    app.services
        .admins
        .create(&Ctx::cli("test"), "ada@example.com", "correct horse battery", roster::model::Role::Owner, false)
        .await
        .unwrap();
    assert!(!app.services.admins.setup_token_valid(&first).await.unwrap(), "an admin ends the link");
    assert_eq!(start().await, None);
}

#[tokio::test]
async fn a_refused_server_function_call_gets_a_4xx_not_a_500() {
    let app = spawn_bare().await;
    app.services
        .admins
        .create(&Ctx::cli("test"), "ada@example.com", "correct horse battery", roster::model::Role::Owner, false)
        .await
        .unwrap();
    // As the hydrated panel calls it: fetch, answered with data.
    let r = app
        .browser
        .post(format!("{}/api/login", app.base))
        .header("Origin", &app.base)
        .header("Accept", "application/json")
        .form(&[("email", "ada@example.com"), ("password", "not the password")])
        .send()
        .await
        .unwrap();
    let status = r.status();
    let body = r.text().await.unwrap();
    assert!(status.is_client_error(), "{status}: {body}");
    assert!(body.contains("do not match"), "{body}");
    // Without JavaScript the same refusal is a redirect back to the form, with the message.
    let r = app.form("/api/login", &[("email", "ada@example.com"), ("password", "not the password")], "/login").await;
    assert_eq!(r.status(), StatusCode::FOUND);
}
