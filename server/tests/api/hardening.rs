//! Hostile input and hostile pages: cross-origin forms, security headers, control characters, paths and filters that
//! escape SCIM handling, the sign-in throttle, sessions, one IdP per token name, limits and timeouts. See SECURITY.md.
use crate::helpers::{TestApp, okta_user, spawn_app, spawn_with};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use roster::Error;
use roster::model::{LogQuery, UserId};
use roster::service::Ctx;
use serde_json::{Value, json};
use std::time::Duration;

async fn admin_count_after(app: &TestApp) -> i64 {
    app.services.admins.count().await.unwrap()
}

// ---- CSRF: changes come only from roster's own pages ----

#[tokio::test]
async fn a_cross_origin_form_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    app.sign_in().await;
    let before = admin_count_after(&app).await;
    let fields = [("email", "mallory@evil.example.com"), ("password", "correct horse battery")];
    let cases: Vec<(&str, Option<&str>, Option<&str>)> = vec![
        ("another site", Some("http://evil.example.com"), None),
        ("another port on the same host", Some("http://127.0.0.1:1"), None),
        ("a sandboxed page", Some("null"), None),
        ("a Referer from another site", None, Some("http://evil.example.com/page")),
        ("neither Origin nor Referer", None, None),
    ];
    for (what, origin, referer) in cases {
        let mut req =
            app.browser.post(format!("{}/api/admin_add", app.base)).header("Accept", "text/html").form(&fields);
        if let Some(o) = origin {
            req = req.header("Origin", o);
        }
        if let Some(r) = referer {
            req = req.header("Referer", r);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{what}");
        let html = r.text().await.unwrap();
        assert!(html.contains("Request refused") && html.contains(&app.base), "{what}: a readable page: {html}");
        assert_eq!(admin_count_after(&app).await, before, "{what}: nothing changed");
    }
    // A hydrated page's fetch gets the refusal as the panel's error type, which it shows in place.
    let r = app
        .browser
        .post(format!("{}/api/scim_switch", app.base))
        .header("Origin", "http://evil.example.com")
        .header("Accept", "application/json")
        .form(&[("enabled", "false"), ("confirm", "yes")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body: Value = r.json().await.unwrap();
    assert!(body["Message"].as_str().is_some_and(|m| m.contains("refused")), "{body}");
    assert!(app.services.settings.get().await.unwrap().scim_enabled, "SCIM is still on");
    // The same form from roster's own page works.
    let r = app
        .browser
        .post(format!("{}/api/admin_add", app.base))
        .header("Origin", &app.base)
        .header("Accept", "text/html")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(admin_count_after(&app).await, before + 1);
}

#[tokio::test]
async fn sign_in_and_setup_are_protected_too() {
    let app = crate::helpers::spawn_bare().await;
    let token = app.setup_token.clone().unwrap();
    let fields = [("token", token.as_str()), ("email", "a@example.com"), ("password", "correct horse battery")];
    let r = app
        .browser
        .post(format!("{}/api/setup", app.base))
        .header("Origin", "http://evil.example.com")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.services.admins.count().await.unwrap(), 0);
    let r = app
        .browser
        .post(format!("{}/api/login", app.base))
        .header("Origin", "http://evil.example.com")
        .form(&[("email", "a@example.com"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "login CSRF would sign a victim into the attacker's account");
}

// ---- Security headers ----

fn header<'h>(h: &'h HeaderMap, name: &str) -> &'h str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

#[tokio::test]
async fn pages_carry_a_nonce_csp_and_no_store_and_scim_answers_too() {
    let app = spawn_app().await;
    let r = app.browser.get(format!("{}/login", app.base)).send().await.unwrap();
    let h = r.headers().clone();
    let html = r.text().await.unwrap();
    let csp = header(&h, "content-security-policy");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("'wasm-unsafe-eval'"), "{csp}");
    let nonce = csp.split("'nonce-").nth(1).and_then(|n| n.split('\'').next()).expect("a nonce");
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "the hydration script carries the header's nonce");
    assert!(!html.contains("onclick="), "no inline event handlers");
    assert_eq!(header(&h, "x-content-type-options"), "nosniff");
    assert_eq!(header(&h, "x-frame-options"), "DENY");
    assert_eq!(header(&h, "referrer-policy"), "same-origin");
    assert_eq!(header(&h, "cache-control"), "no-store");
    assert!(h.get("strict-transport-security").is_none(), "no HSTS over plain http");

    let r = app.get("/ServiceProviderConfig").await;
    assert_eq!(header(&r.headers, "x-content-type-options"), "nosniff");
    assert_eq!(header(&r.headers, "cache-control"), "no-store");
    assert!(header(&r.headers, "content-security-policy").contains("default-src 'none'"));

    let https = spawn_with(|c| c.public_url = Some("https://roster.example.test".into())).await;
    let r = https.http.get(format!("{}/healthz", https.base)).send().await.unwrap();
    assert_eq!(header(r.headers(), "strict-transport-security"), "max-age=31536000");
}

// ---- Bad input ----

#[tokio::test]
async fn control_characters_are_invalid_value_everywhere() {
    let app = spawn_app().await;
    let id = app.user_id("ada@example.com").await;
    let group = app.group_id("Engineering", &[&id]).await;
    let nul = "a\u{0}b";
    let bad_user = |field: &str, value: Value| {
        let mut u = okta_user("nul@example.com");
        u[field] = value;
        u
    };
    let cases: Vec<(&str, reqwest::RequestBuilder)> = vec![
        ("userName", app.scim_req(reqwest::Method::POST, "/Users").json(&bad_user("userName", json!(nul)))),
        ("displayName", app.scim_req(reqwest::Method::POST, "/Users").json(&bad_user("displayName", json!(nul)))),
        (
            "a line break in userName",
            app.scim_req(reqwest::Method::POST, "/Users").json(&bad_user("userName", json!("a\nb"))),
        ),
        (
            "an extension key",
            app.scim_req(reqwest::Method::POST, "/Users").json(&bad_user("urn:x:ext", json!({"k\u{1}": 1}))),
        ),
        ("PUT", app.scim_req(reqwest::Method::PUT, &format!("/Users/{id}")).json(&bad_user("title", json!("\u{7}")))),
        (
            "PATCH",
            app.scim_req(reqwest::Method::PATCH, &format!("/Users/{id}"))
                .json(&json!({"Operations": [{"op": "replace", "path": "title", "value": nul}]})),
        ),
        ("a group name", app.scim_req(reqwest::Method::POST, "/Groups").json(&json!({"displayName": nul}))),
        (
            "a member id",
            app.scim_req(reqwest::Method::PATCH, &format!("/Groups/{group}"))
                .json(&json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": nul}]}]})),
        ),
        ("a filter literal", app.scim_req(reqwest::Method::GET, "/Users?filter=userName%20eq%20%22a%5Cu0000b%22")),
        ("a raw NUL in a filter", app.scim_req(reqwest::Method::GET, "/Users?filter=userName%20eq%20%22a%00b%22")),
        ("an id", app.scim_req(reqwest::Method::GET, "/Users/%00")),
        ("a group id", app.scim_req(reqwest::Method::DELETE, "/Groups/a%00")),
    ];
    for (what, req) in cases {
        let r = app.raw(req).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{what}: {:?}", r.body);
        assert!(r.body["scimType"] == "invalidValue" || r.body["scimType"] == "invalidFilter", "{what}: {:?}", r.body);
        assert!(r.detail().contains("(roster log #"), "{what}: the failure is logged: {:?}", r.detail());
    }
    assert_eq!(app.total("/Users").await, 1, "nothing was created");
    assert_eq!(app.fetch(&format!("/Users/{id}")).await["userName"], "ada@example.com");
    // The panel's search box and forms take the same care.
    app.sign_in().await;
    let (status, html) = app.page("/users?q=a%00b").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("NUL"), "a readable message, not a crash");
}

#[tokio::test]
async fn paths_and_filters_cannot_escape_scim_handling() {
    let app = spawn_app().await;
    for path in ["/", "/Nope", "/Users/x/y", "/Groups/"] {
        let r = app.get(path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {:?}", r.body);
        assert_eq!(r.headers["content-type"], "application/scim+json", "{path}");
        assert_eq!(r.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error", "{path}");
    }
    let r = app.get("/Users?filter=").await;
    assert_eq!((r.status, r.body["scimType"].as_str()), (StatusCode::BAD_REQUEST, Some("invalidFilter")));
    let r = app.get("/Users?startIndex=%ZZ").await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "a malformed query string is a SCIM error too: {:?}", r.body);
    assert_eq!(r.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
}

#[tokio::test]
async fn the_bearer_scheme_is_matched_without_regard_to_case() {
    let app = spawn_app().await;
    for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
        let r = app
            .raw(app.http.get(format!("{}/Users", app.scim)).header("Authorization", format!("{scheme} {}", app.token)))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{scheme}");
    }
    let r = app
        .raw(app.http.get(format!("{}/Users", app.scim)).header("Authorization", format!("Basic {}", app.token)))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

// ---- Limits ----

#[tokio::test]
async fn values_and_members_per_request_are_bounded() {
    use roster::scim::{MAX_MEMBERS_PER_REQUEST, MAX_MULTI_VALUES};
    let app = spawn_app().await;
    let mut u = okta_user("many@example.com");
    u["emails"] = Value::Array((0..=MAX_MULTI_VALUES).map(|i| json!({"value": format!("e{i}@x")})).collect());
    let r = app.post("/Users", u).await;
    assert_eq!(
        (r.status, r.body["scimType"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalidValue")),
        "{:?}",
        r.body
    );
    let id = app.user_id("one@example.com").await;
    let add: Vec<Value> = (0..=MAX_MULTI_VALUES).map(|i| json!({"value": format!("p{i}@x")})).collect();
    let r = app.patch(&format!("/Users/{id}"), json!([{"op": "add", "path": "emails", "value": add}])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "a PATCH cannot grow a list past the bound either");

    let members: Vec<Value> = (0..=MAX_MEMBERS_PER_REQUEST).map(|i| json!({"value": format!("u{i}")})).collect();
    let r = app.post("/Groups", json!({"displayName": "Huge", "members": members})).await;
    assert_eq!(
        (r.status, r.body["scimType"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalidValue")),
        "{:?}",
        r.detail()
    );
    assert!(r.detail().contains(&MAX_MEMBERS_PER_REQUEST.to_string()));
}

#[tokio::test]
async fn unauthenticated_log_entries_are_small() {
    let app = spawn_app().await;
    let long = "x".repeat(20_000);
    let r = app.raw(app.http.get(format!("{}/Users/{long}", app.scim))).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let events = app.services.settings.log(&LogQuery { start_index: 1, count: 10, ..Default::default() }).await;
    let e = events.unwrap().items.into_iter().find(|e| e.status == 401).expect("logged");
    assert!(e.path.chars().count() <= 257, "{} characters", e.path.len());
}

#[tokio::test]
async fn the_log_is_pruned_after_its_retention() {
    let app = spawn_app().await;
    app.user_id("a@example.com").await;
    let all = |app: &TestApp| {
        let s = app.services.settings.clone();
        async move { s.log(&LogQuery { start_index: 1, count: 0, ..Default::default() }).await.unwrap().total }
    };
    assert!(all(&app).await > 0);
    assert_eq!(app.services.settings.prune_log(3_600_000).await.unwrap(), 0, "an hour's retention keeps today's");
    app.services.admins.login("nobody@example.com", "wrong password!", "10.1.1.1").await.unwrap_err();
    let pruned = app.services.settings.prune_log(-1).await.unwrap();
    assert!(pruned > 0);
    assert_eq!(all(&app).await, 0);
    app.user_id("b@example.com").await;
    assert!(all(&app).await > 0, "writes go on");
}

// ---- Passwords and sign-in ----

#[tokio::test]
async fn setup_checks_the_link_before_any_password_work() {
    let app = crate::helpers::spawn_bare().await;
    // A wrong link with a password too short to hash still answers "used or expired": the link is checked first.
    let err = app.services.admins.complete_setup("not-the-token", "a@example.com", "short").await.unwrap_err();
    assert!(matches!(err, Error::Forbidden(_)), "{err}");
}

#[tokio::test]
async fn parallel_guesses_are_each_counted() {
    let app = spawn_app().await;
    app.services
        .admins
        .create(&Ctx::cli("test"), "a@example.com", "correct horse battery", roster::model::Role::Owner, false)
        .await
        .unwrap();
    let guesses = (0..20).map(|i| {
        let s = app.services.admins.clone();
        tokio::spawn(async move { s.login("a@example.com", &format!("wrong guess {i}"), "10.0.0.1").await })
    });
    let mut checked = 0;
    for g in guesses.collect::<Vec<_>>() {
        match g.await.unwrap() {
            Err(Error::Unauthenticated) => checked += 1,
            Err(Error::Throttled { minutes }) => assert!((1..=15).contains(&minutes)),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(
        checked,
        roster::service::SIGN_IN_PER_ACCOUNT_AND_ADDRESS,
        "only the allowed attempts reached the password check"
    );
    let err = app.services.admins.login("a@example.com", "correct horse battery", "10.0.0.1").await.unwrap_err();
    assert!(matches!(err, Error::Throttled { .. }), "the account stays throttled from that address");
    // An attacker's guesses from elsewhere do not lock the admin out.
    assert!(app.services.admins.login("a@example.com", "correct horse battery", "10.0.0.2").await.is_ok());
}

#[tokio::test]
async fn spraying_many_accounts_from_one_address_is_throttled() {
    let app = spawn_app().await;
    app.services
        .admins
        .create(&Ctx::cli("test"), "a@example.com", "correct horse battery", roster::model::Role::Owner, false)
        .await
        .unwrap();
    let mut refused = None;
    for i in 0..=roster::service::SIGN_IN_PER_ADDRESS {
        match app.services.admins.login(&format!("guess{i}@example.com"), "password1234", "10.0.0.9").await {
            Err(Error::Unauthenticated) => {}
            Err(Error::Throttled { .. }) => {
                refused = Some(i);
                break;
            }
            other => panic!("{i}: {other:?}"),
        }
    }
    assert!(refused.is_some(), "a spray from one address is stopped within the per-address limit");
    let err = app.services.admins.login("a@example.com", "correct horse battery", "10.0.0.9").await.unwrap_err();
    assert!(matches!(err, Error::Throttled { .. }), "{err}");
    assert!(app.services.admins.login("a@example.com", "correct horse battery", "10.0.0.10").await.is_ok());
}

#[tokio::test]
async fn a_trusted_proxy_header_names_the_client() {
    let app = spawn_with(|c| c.trusted_proxy_header = Some("X-Forwarded-For".into())).await;
    app.services
        .admins
        .create(&Ctx::cli("test"), "a@example.com", "correct horse battery", roster::model::Role::Owner, false)
        .await
        .unwrap();
    let attempt = |lines: &'static [&'static str]| {
        let mut req = app
            .http
            .post(format!("{}/api/login", app.base))
            .header("Origin", &app.base)
            .header("Accept", "text/html")
            .form(&[("email", "a@example.com"), ("password", "wrong password!")]);
        for l in lines {
            req = req.header("X-Forwarded-For", *l);
        }
        req.send()
    };
    // The client forges the first line; the proxy's own last line names it. Six attempts from 203.0.113.7 lock that
    // account there, and the forged addresses do not spread the attempts out.
    for i in 0..6 {
        let forged: &'static [&'static str] = match i % 2 {
            0 => &["10.9.9.9", "198.51.100.1, 203.0.113.7"],
            _ => &["10.8.8.8, 203.0.113.7"],
        };
        attempt(forged).await.unwrap();
    }
    let err = app.services.admins.login("a@example.com", "correct horse battery", "203.0.113.7").await.unwrap_err();
    assert!(matches!(err, Error::Throttled { .. }), "{err}");
    assert!(app.services.admins.login("a@example.com", "correct horse battery", "10.9.9.9").await.is_ok());
}

// ---- Sessions and admins ----

#[tokio::test]
async fn a_password_change_ends_every_other_session() {
    let app = spawn_app().await;
    let (email, old) = ("ada@example.com", "correct horse battery");
    app.services.admins.create(&Ctx::cli("test"), email, old, roster::model::Role::Owner, false).await.unwrap();
    let laptop = app.panel_as(email, old).await;
    let phone = app.panel_as(email, old).await;
    assert!(laptop.signed_in().await && phone.signed_in().await);
    let fields = [("current", old), ("new", "a brand new passphrase"), ("repeat", "a brand new passphrase")];
    let r = laptop.form("/api/password", &fields, "/admins").await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert!(laptop.signed_in().await, "the session that changed it stays");
    assert!(!phone.signed_in().await, "the other one has ended");
}

#[tokio::test]
async fn sessions_have_an_absolute_lifetime() {
    let app = spawn_app().await;
    let a = app
        .services
        .admins
        .create(&Ctx::cli("test"), "a@example.com", "correct horse battery", roster::model::Role::Owner, false)
        .await
        .unwrap();
    let now = roster::service::now();
    let lifetime = app.services.admins.session_lifetime();
    assert!(app.services.admins.session(a.id, now - 1000, now - 1000).await.is_ok());
    let old = now - lifetime - 1;
    assert!(app.services.admins.session(a.id, old, old).await.is_err(), "however active it was");
    assert!(app.services.admins.session(a.id, old, now).await.is_err(), "however recently it proved the password");
}

#[tokio::test]
async fn admins_can_be_removed_but_never_the_last() {
    let app = spawn_app().await;
    app.sign_in().await;
    let other = ("bob@example.com", "correct horse battery");
    app.services.admins.create(&Ctx::cli("test"), other.0, other.1, roster::model::Role::Owner, false).await.unwrap();
    let bob = app.panel_as(other.0, other.1).await;
    let r = app.form("/api/admin_remove", &[("email", other.0), ("confirm", "yes")], "/admins").await;
    assert_eq!(r.status(), StatusCode::FOUND);
    assert!(!bob.signed_in().await, "a removed admin's session ends");
    let (_, html) = app.page("/admins").await;
    assert!(html.contains("can no longer sign in"), "the page says so");
    assert!(app.services.admins.list().await.unwrap().iter().all(|a| a.email != other.0));
    let err = app.services.admins.remove(&Ctx::cli("test"), crate::helpers::ADMIN.0).await.unwrap_err();
    assert!(matches!(&err, Error::InvalidValue(m) if m.contains("only admin")), "{err}");
}

#[tokio::test]
async fn a_new_token_is_shown_once_and_never_stored_in_clear() {
    let app = spawn_app().await;
    app.sign_in().await;
    let r = app.form("/api/token_create", &[("name", "Entra ID")], "/scim").await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let (_, first) = app.page("/scim").await;
    let token = first.split("roster_scim_").nth(1).map(|t| format!("roster_scim_{}", &t[..64])).expect("shown");
    let (_, second) = app.page("/scim").await;
    assert!(!second.contains(&token), "shown once");
    // The token works, and no table holds it.
    let r = app.raw(app.http.get(format!("{}/Users", app.scim)).bearer_auth(&token)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!database_contains(&app, &token).await, "the token is stored only as a hash");
}

/// Whether any text in the session, token or log tables contains `needle`.
async fn database_contains(app: &TestApp, needle: &str) -> bool {
    use server::store::Db;
    let like = format!("%{needle}%");
    let sql = "select (select count(*) from panel_session where data like $1 or session_hash like $1) + \
               (select count(*) from scim_token where token_hash like $1 or name like $1) + \
               (select count(*) from log_entry where diff like $1 or detail like $1 or path like $1)";
    let n: i64 = match Db::connect(&app.db_url).await.unwrap() {
        Db::Sqlite(p) => sqlx::query_scalar(sql).bind(&like).fetch_one(&p.read).await.unwrap(),
        Db::Postgres(p) => sqlx::query_scalar(sql).bind(&like).fetch_one(&p.read).await.unwrap(),
    };
    n > 0
}

#[tokio::test]
async fn an_idp_cannot_write_what_another_idp_manages_until_released() {
    let app = spawn_app().await;
    let alice = app.user_id("alice@okta.local").await;
    let group = app.group_id("Engineering", &[&alice]).await;
    let entra = app.second_idp("Entra ID").await;
    use reqwest::Method as M;
    let patch = json!({"Operations": [{"op": "replace", "value": {"active": false}}]});
    let gpatch = json!({"Operations": [{"op": "remove", "path": "members"}]});
    let writes = [
        (M::PUT, format!("/Users/{alice}"), Some(okta_user("alice@okta.local"))),
        (M::PATCH, format!("/Users/{alice}"), Some(patch.clone())),
        (M::DELETE, format!("/Users/{alice}"), None),
        (M::PUT, format!("/Groups/{group}"), Some(json!({"displayName": "Engineering", "members": []}))),
        (M::PATCH, format!("/Groups/{group}"), Some(gpatch.clone())),
        (M::DELETE, format!("/Groups/{group}"), None),
    ];
    for (method, path, body) in &writes {
        let r = entra.send(method.clone(), path, body.clone()).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{method} {path}: {:?}", r.body);
        assert!(r.detail().contains("managed by Okta") && r.detail().contains("release"), "{}", r.detail());
    }
    assert!(app.is_active(&alice).await);
    assert_eq!(app.member_ids(&group).await.len(), 1, "nothing changed");
    // Entra's reads still work.
    let r = entra.send(M::GET, &format!("/Users/{alice}"), None).await;
    assert_eq!(r.status, StatusCode::OK);

    // Rotating Okta's token (revoke, then a new one of the same name in any case) keeps what Okta owns.
    app.services.tokens.revoke(&Ctx::cli("test"), roster::model::TokenKind::Scim, "Okta").await.unwrap();
    let okta2 = app.second_idp("OKTA").await;
    let r = okta2.send(M::PATCH, &format!("/Users/{alice}"), Some(patch.clone())).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    // Released, the objects are local, and Entra's next write adopts them.
    let released = app.services.settings.release_idp(&Ctx::cli("test"), "okta").await.unwrap();
    assert_eq!((released.users, released.groups), (1, 1));
    let r = entra.send(M::PATCH, &format!("/Groups/{group}"), Some(gpatch)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let users = app.services.users.get(&UserId(alice.clone())).await.unwrap();
    assert_eq!(users.managed_by.label(), "roster", "a write to the group adopts the group, not its members");
    let r = okta2.send(M::PATCH, &format!("/Groups/{group}"), Some(json!({"Operations": []}))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "now Entra's");
}

#[tokio::test]
async fn group_rules_never_touch_another_idps_users() {
    let app = spawn_app().await;
    let entra = app.second_idp("Entra ID").await;
    let post = |body: Value, path: &'static str| entra.send(reqwest::Method::POST, path, Some(body));
    let oktas = app.user_id("alice@okta.local").await;
    let r = post(okta_user("bob@entra.local"), "/Users").await;
    let entras = r.body["id"].as_str().unwrap().to_owned();
    // Entra pushes a group with Okta's user and its own, then deletes it: only Entra's user loses their last group.
    let r =
        post(json!({"displayName": "Entra group", "members": [{"value": oktas}, {"value": entras}]}), "/Groups").await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let g = r.body["id"].as_str().unwrap().to_owned();
    let r = entra.send(reqwest::Method::DELETE, &format!("/Groups/{g}"), None).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(app.is_active(&oktas).await, "Okta's user is not Entra's to deactivate");
    assert!(!app.is_active(&entras).await, "Entra's own user lost their only group");
}

#[tokio::test]
async fn patch_values_may_span_lines_but_names_may_not() {
    let app = spawn_app().await;
    let id = app.user_id("ada@example.com").await;
    let address =
        json!([{"op": "add", "path": "addresses", "value": [{"formatted": "1 Main St\nSpringfield", "type": "work"}]}]);
    let r = app.patch(&format!("/Users/{id}"), address).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let title = json!([{"op": "replace", "path": "title", "value": "Head\tof things"}]);
    assert_eq!(app.patch(&format!("/Users/{id}"), title).await.status, StatusCode::OK);
    let name = json!([{"op": "replace", "value": {"userName": "ada\n@example.com"}}]);
    let r = app.patch(&format!("/Users/{id}"), name).await;
    assert_eq!((r.status, r.body["scimType"].as_str()), (StatusCode::BAD_REQUEST, Some("invalidValue")));
}

#[tokio::test]
async fn a_deleted_users_name_is_restored_only_by_its_owner() {
    let app = spawn_app().await;
    let alice = app.user_id("alice@okta.local").await;
    assert_eq!(app.delete(&format!("/Users/{alice}")).await.status, StatusCode::NO_CONTENT);
    let panel = Ctx::panel(app.admin().await, "create user");
    let err = app.services.users.create_local(&panel, "alice@okta.local", "A", "L").await.unwrap_err();
    assert!(matches!(err, Error::ReadOnly { .. }), "an admin cannot revive Okta's tombstone while SCIM is on: {err}");
    let entra = app.second_idp("Entra ID").await;
    let r = entra.send(reqwest::Method::POST, "/Users", Some(okta_user("alice@okta.local"))).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "nor can another IdP: {:?}", r.body);
    let r = app.create_user("alice@okta.local").await;
    assert_eq!((r.status, r.body["id"].as_str()), (StatusCode::CREATED, Some(alice.as_str())), "Okta restores it");
}

// ---- Timeouts ----

#[tokio::test]
async fn a_client_that_trickles_its_headers_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_with(|c| c.header_timeout_secs = 1).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let mut buf = Vec::new();
    // The server closes the connection (perhaps after a 408) instead of waiting for the rest.
    let read = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut buf)).await;
    assert!(matches!(read, Ok(Ok(_)) | Ok(Err(_))), "the connection was closed");
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
}

#[tokio::test]
async fn a_request_that_takes_too_long_gets_503() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_with(|c| c.request_timeout_secs = 1).await;
    app.set_scim(true).await;
    // A body that arrives too slowly: the headers promise 40 bytes, and 12 come.
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /scim/v2/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/scim+json\r\nContent-Length: 40\r\n\r\n{{\"userName\":",
        app.token
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut buf)).await.unwrap().unwrap();
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("\"status\":\"503\""), "a SCIM error body: {answer}");
    assert_eq!(app.total("/Users").await, 0);
}

// ---- Webhooks and roster's network policy (server-side request forgery) ----

/// The deliveries recorded for an endpoint, once there is at least one.
async fn deliveries(app: &TestApp, endpoint: &str) -> Vec<roster::model::WebhookDelivery> {
    for _ in 0..200 {
        let (_, d) = app.services.webhooks.detail(endpoint).await.unwrap();
        if !d.is_empty() {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no delivery was attempted");
}

/// Receivers on this machine stand for the internal services an attacker would aim at; nothing here sends traffic
/// anywhere but loopback. By default an address in the URL is refused when the endpoint is added, and a name that
/// resolves to loopback is accepted then but refused when connecting, with a short reason and nothing sent. Once the
/// operator allows 127.0.0.0/8, both are reached.
#[tokio::test]
async fn webhooks_to_this_machine_are_refused_until_the_operator_allows_its_network() {
    let ctx = Ctx::cli("test");
    let app = spawn_app().await;
    let receiver = crate::helpers::Receiver::start().await;
    let e = app.services.webhooks.add(&ctx, &receiver.url, "*").await.unwrap_err().to_string();
    assert!(e.contains("loopback") && e.contains("refused by roster's network policy"), "{e}");
    assert!(e.contains("--webhook-allow-networks"), "says how an operator allows it: {e}");

    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    let (endpoint, _) = app.services.webhooks.add(&ctx, &by_name, "*").await.unwrap();
    app.user_id("ada@example.com").await;
    let d = deliveries(&app, &endpoint.id).await;
    assert_eq!((d[0].status, d[0].error.as_str()), (None, "refused by roster's network policy"));
    assert!(receiver.received().is_empty(), "nothing reached the receiver");
    // The panel's "Send again" says the same few words, not the error chain.
    app.sign_in().await;
    let seq = d[0].event_seq.to_string();
    let r = app.form("/api/webhook_send_again", &[("id", &endpoint.id), ("event_seq", &seq)], "/integrations").await;
    assert_eq!(r.status(), StatusCode::FOUND);
    let (_, html) = app.page("/integrations").await;
    assert!(
        html.contains("it failed: refused by roster&#x27;s network policy")
            || html.contains("it failed: refused by roster's network policy"),
        "{html}"
    );
    assert!(receiver.received().is_empty());

    let allowed = crate::helpers::spawn_app_with(|c| c.webhook_allow_networks = Some("127.0.0.0/8".into())).await;
    let (literal, _) = allowed.services.webhooks.add(&ctx, &receiver.url, "*").await.unwrap();
    let (named, _) = allowed.services.webhooks.add(&ctx, &by_name, "*").await.unwrap();
    allowed.user_id("bob@example.com").await;
    for endpoint in [&literal.id, &named.id] {
        let d = deliveries(&allowed, endpoint).await;
        assert_eq!((d[0].status, d[0].error.as_str()), (Some(200), ""), "delivered");
    }
    assert_eq!(receiver.wait_for(2, Duration::from_secs(10)).await.len(), 2, "both reached the receiver");
}

/// A webhook's signing secret as stored.
async fn stored_secret(app: &TestApp, endpoint: &str) -> String {
    use server::store::Db;
    let sql = "select secret from webhook_endpoint where endpoint_id = $1";
    match Db::connect(&app.db_url).await.unwrap() {
        Db::Sqlite(p) => sqlx::query_scalar(sql).bind(endpoint).fetch_one(&p.read).await.unwrap(),
        Db::Postgres(p) => sqlx::query_scalar(sql).bind(endpoint).fetch_one(&p.read).await.unwrap(),
    }
}

/// Secrets at rest: with a key file, a webhook's signing secret is stored sealed and still signs; a start with a new key
/// first reseals it.
#[tokio::test]
async fn webhook_secrets_are_sealed_at_rest_with_a_key_file_and_resealed_by_a_new_key() {
    let dir = std::env::temp_dir().join(format!("roster-keys-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (old, new) =
        (roster::service::SecretKeys::generate().unwrap(), roster::service::SecretKeys::generate().unwrap());
    let file = dir.join("keys");
    std::fs::write(&file, format!("{old}\n")).unwrap();
    let app = crate::helpers::spawn_app_with(|c| {
        c.secret_key_file = Some(file.clone());
        c.webhook_allow_networks = Some("127.0.0.0/8".into());
    })
    .await;
    let receiver = crate::helpers::Receiver::start().await;
    let (endpoint, secret) = app.services.webhooks.add(&Ctx::cli("test"), &receiver.url, "*").await.unwrap();
    assert!(!database_contains(&app, &secret["whsec_".len()..]).await, "not stored in clear");
    app.user_id("ada@example.com").await;
    let got = receiver.wait_for(1, Duration::from_secs(10)).await;
    let hook = standardwebhooks::Webhook::new(&secret).unwrap();
    hook.verify(got[0].body.as_bytes(), &got[0].headers).expect("signed with the secret it was given");

    // A new key goes first and the old one stays below: a start reseals with the new one, and signing goes on.
    let keys = roster::service::SecretKeys::parse(&format!("{new}\n{old}\n")).unwrap();
    let stored = stored_secret(&app, &endpoint.id).await;
    assert!(keys.needs_reseal(&stored), "sealed with the old key");
    let rotated = app.services.webhooks.clone().with_keys(keys.clone());
    assert_eq!(rotated.reseal_secrets().await.unwrap(), 1);
    let stored = stored_secret(&app, &endpoint.id).await;
    assert!(!keys.needs_reseal(&stored) && keys.open(&stored).unwrap() == secret, "resealed under the new key");
    let _ = std::fs::remove_dir_all(&dir);
}
