//! Admins signing in through the company's OpenID provider: a real, certified provider (npm `oidc-provider`) started
//! on loopback, and roster driven over HTTP as a browser drives it. Ignored by a plain `cargo test` (they need the
//! provider's node_modules); `.ci/run` installs them and runs these with the browser tests.
use crate::helpers::{OIDC_CLIENT, OpenIdProvider, TestApp, okta_user, roster_redirect, spawn_app};
use reqwest::StatusCode;
use roster::model::{LogQuery, Role};
use roster::service::Ctx;
use serde_json::json;

fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// roster with single sign-on through a fresh provider, and groups mapped: owners, auditors.
async fn with_provider(accounts: &[(&str, &str, bool, &[&str])]) -> (TestApp, OpenIdProvider) {
    let app = spawn_app().await;
    let op = OpenIdProvider::start(&app.base, accounts).await;
    let cli = Ctx::cli("test");
    let sso = &app.services.sso;
    sso.set(&cli, &op.issuer, OIDC_CLIENT.0, OIDC_CLIENT.1, Some("Okta"), "groups", "groups").await.unwrap();
    sso.map(&cli, "roster-owners", Role::Owner).await.unwrap();
    sso.map(&cli, "roster-auditors", Role::Auditor).await.unwrap();
    (app, op)
}

/// A server function, as the hydrated panel calls it.
async fn call(browser: &reqwest::Client, app: &TestApp, endpoint: &str, fields: &[(&str, &str)]) -> StatusCode {
    let req = browser.post(format!("{}/api/{endpoint}", app.base)).header("Origin", &app.base);
    req.form(fields).send().await.unwrap().status()
}

async fn whoami(browser: &reqwest::Client, app: &TestApp) -> serde_json::Value {
    let r = browser.post(format!("{}/api/whoami", app.base)).header("Origin", &app.base).send().await.unwrap();
    r.json().await.unwrap()
}

async fn login_page(browser: &reqwest::Client, app: &TestApp) -> String {
    browser.get(format!("{}/login", app.base)).send().await.unwrap().text().await.unwrap()
}

async fn log_says(app: &TestApp, needle: &str) -> bool {
    let log = app.services.settings.log(&LogQuery { count: 200, ..Default::default() }).await.unwrap();
    log.items.iter().any(|e| e.diff.contains(needle))
}

#[tokio::test]
#[ignore = "needs npm oidc-provider (npm ci in end2end/): run by .ci/run"]
async fn an_owner_signs_in_through_the_provider_and_is_created_just_in_time() {
    let (app, op) = with_provider(&[("00u-ada", "ada@example.com", true, &["roster-owners", "sales"])]).await;
    let b = browser();
    assert!(login_page(&b, &app).await.contains("Sign in with Okta"));
    assert_eq!(op.sign_in(&b, &app.base, "00u-ada").await, "/");
    assert_eq!(whoami(&b, &app).await, json!({ "email": "ada@example.com", "role": "owner" }));
    assert_eq!(call(&b, &app, "seats_set", &[("seats", "40")]).await, StatusCode::OK);
    let admins = app.services.admins.list().await.unwrap();
    let ada = admins.iter().find(|a| a.email == "ada@example.com").unwrap();
    assert_eq!((ada.oidc_subject.as_deref(), ada.sign_in_method()), (Some("00u-ada"), "single sign-on"));
    assert!(log_says(&app, "signed in through Okta as owner").await);
    // The next sign-in finds the same admin by subject.
    assert_eq!(op.sign_in(&browser(), &app.base, "00u-ada").await, "/");
    assert_eq!(app.services.admins.list().await.unwrap().len(), admins.len());
}

#[tokio::test]
#[ignore = "needs npm oidc-provider (npm ci in end2end/): run by .ci/run"]
async fn an_unmapped_account_is_refused_with_the_claim_it_was_read_from() {
    let (app, op) = with_provider(&[("00u-bob", "bob@example.com", true, &["sales"])]).await;
    let b = browser();
    assert_eq!(op.sign_in(&b, &app.base, "00u-bob").await, "/login");
    let page = login_page(&b, &app).await;
    assert!(
        page.contains("none of your groups gives a role") && page.contains("claim &#x27;groups&#x27;")
            || page.contains("claim 'groups'"),
        "{page}"
    );
    assert!(page.contains("sales"), "names what it found: {page}");
    assert_eq!(whoami(&b, &app).await, json!(null), "no session");
    assert!(log_says(&app, "refused: none of your groups").await);
}

#[tokio::test]
#[ignore = "needs npm oidc-provider (npm ci in end2end/): run by .ci/run"]
async fn an_auditor_reads_every_page_but_every_change_is_refused() {
    let (app, op) = with_provider(&[("00u-aud", "aud@example.com", true, &["roster-auditors"])]).await;
    let b = browser();
    assert_eq!(op.sign_in(&b, &app.base, "00u-aud").await, "/");
    assert_eq!(b.get(format!("{}/admins", app.base)).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(call(&b, &app, "seats_set", &[("seats", "40")]).await, StatusCode::FORBIDDEN);
    assert_eq!(call(&b, &app, "group_create", &[("name", "Nope")]).await, StatusCode::FORBIDDEN);
}

#[tokio::test]
#[ignore = "needs npm oidc-provider (npm ci in end2end/): run by .ci/run"]
async fn a_replayed_code_and_a_forged_state_give_no_session() {
    let (app, op) = with_provider(&[("00u-ada", "ada@example.com", true, &["roster-owners"])]).await;
    let b = browser();
    let callback = op.callback(&b, &app.base, "00u-ada").await;
    // A forged state: refused, and the flow is spent.
    let forged = callback.replace("state=", "state=forged");
    assert_eq!(roster_redirect(&b, &forged, &app.base).await, "/login");
    assert_eq!(roster_redirect(&b, &callback, &app.base).await, "/login", "the flow was used up by the forgery");
    assert_eq!(whoami(&b, &app).await, json!(null));
    // A good sign-in, then its code replayed from another browser and from the same one.
    let callback = op.callback(&b, &app.base, "00u-ada").await;
    assert_eq!(roster_redirect(&b, &callback, &app.base).await, "/");
    let thief = browser();
    assert_eq!(roster_redirect(&thief, &callback, &app.base).await, "/login");
    assert_eq!(whoami(&thief, &app).await, json!(null));
}

#[tokio::test]
#[ignore = "needs npm oidc-provider (npm ci in end2end/): run by .ci/run"]
async fn with_sso_required_only_break_glass_admins_use_a_password_and_it_is_logged() {
    let (app, _op) = with_provider(&[]).await;
    let cli = Ctx::cli("test");
    let pw = "correct horse battery";
    app.services.admins.create(&cli, "plain@example.com", pw, Role::Owner, false).await.unwrap();
    let locked_out = app.services.sso.set_required(&cli, true).await;
    assert!(matches!(locked_out, Err(roster::Error::InvalidValue(m)) if m.contains("break-glass owner")));
    app.services.admins.create(&cli, "glass@example.com", pw, Role::Owner, true).await.unwrap();
    app.services.sso.set_required(&cli, true).await.unwrap();
    let b = browser();
    assert!(login_page(&b, &app).await.contains("for break-glass admins only"));
    let r = b
        .post(format!("{}/api/login", app.base))
        .header("Origin", &app.base)
        .form(&[("email", "plain@example.com"), ("password", pw)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let right_password = r.text().await.unwrap();
    assert!(right_password.contains("single sign-on button"));
    // A wrong password gets the same answer: it tells nothing of whether the password was right.
    let wrong = b
        .post(format!("{}/api/login", app.base))
        .header("Origin", &app.base)
        .form(&[("email", "plain@example.com"), ("password", "not the password")])
        .send()
        .await
        .unwrap();
    assert_eq!((wrong.status(), wrong.text().await.unwrap()), (StatusCode::FORBIDDEN, right_password));
    let glass = app.panel_as("glass@example.com", pw).await;
    assert!(glass.signed_in().await);
    assert!(log_says(&app, "signed in with a break-glass password").await);
    assert!(log_says(&app, "refused: sign-in through your company").await);
}

#[tokio::test]
#[ignore = "needs npm oidc-provider (npm ci in end2end/): run by .ci/run"]
async fn offboarding_over_scim_ends_a_live_session_and_refuses_the_next_sign_in() {
    let (app, op) = with_provider(&[("00u-ada", "ada@example.com", true, &["roster-owners"])]).await;
    // Okta provisions ada with her Okta id as externalId, the same as her OIDC subject.
    let mut user = okta_user("ada@example.com");
    user["externalId"] = json!("00u-ada");
    let id = app.post("/Users", user).await.body["id"].as_str().unwrap().to_owned();
    let b = browser();
    assert_eq!(op.sign_in(&b, &app.base, "00u-ada").await, "/");
    assert_eq!(whoami(&b, &app).await["role"], "owner");
    let deactivate = json!([{"op": "replace", "value": {"active": false}}]);
    assert_eq!(app.patch(&format!("/Users/{id}"), deactivate).await.status, StatusCode::OK);
    assert_eq!(whoami(&b, &app).await, json!(null), "the live session ended with the SCIM request");
    assert_eq!(op.sign_in(&browser(), &app.base, "00u-ada").await, "/login");
    assert!(log_says(&app, "deactivated in the directory: panel sessions ended").await);
    assert!(log_says(&app, "refused: your account is deactivated").await);
}

#[tokio::test]
#[ignore = "needs npm oidc-provider (npm ci in end2end/): run by .ci/run"]
async fn leaving_the_group_locks_the_account_out_at_the_next_sign_in_and_roles_follow_groups() {
    let (app, op) = with_provider(&[("00u-ada", "ada@example.com", true, &["roster-owners"])]).await;
    assert_eq!(op.sign_in(&browser(), &app.base, "00u-ada").await, "/");
    op.set_groups("00u-ada", &["roster-auditors"]);
    let b = browser();
    assert_eq!(op.sign_in(&b, &app.base, "00u-ada").await, "/");
    assert_eq!(whoami(&b, &app).await["role"], "owner", "the only owner stays one, whatever the groups say");
    app.create_admin("second-owner@example.com", "correct horse battery", Role::Owner).await.unwrap();
    let b = browser();
    assert_eq!(op.sign_in(&b, &app.base, "00u-ada").await, "/");
    assert_eq!(whoami(&b, &app).await["role"], "auditor", "re-checked at every sign-in");
    assert!(log_says(&app, "(role: owner → auditor)").await);
    op.set_groups("00u-ada", &["sales"]);
    assert_eq!(op.sign_in(&browser(), &app.base, "00u-ada").await, "/login");
}

#[tokio::test]
#[ignore = "needs npm oidc-provider (npm ci in end2end/): run by .ci/run"]
async fn only_the_idp_offboards_and_only_through_users_it_provisioned() {
    let (app, op) = with_provider(&[("00u-ada", "ada@example.com", true, &["roster-owners"])]).await;
    let b = browser();
    assert_eq!(op.sign_in(&b, &app.base, "00u-ada").await, "/");
    // A local user with the owner's email, made and deactivated in the panel or the CLI, is not the owner.
    let cli = Ctx::cli("test");
    let local = app.services.users.create_local(&cli, "ada@example.com", "Not", "Ada").await.unwrap();
    app.services.users.set_active(&cli, &local.id, false).await.unwrap();
    assert_eq!(whoami(&b, &app).await["role"], "owner", "the session goes on");
    assert_eq!(op.sign_in(&browser(), &app.base, "00u-ada").await, "/", "and sign-in works");
    // A callback nobody started here makes no session and writes nothing.
    let before = app.services.settings.log(&LogQuery::default()).await.unwrap().total;
    let stray = browser();
    let url = format!("{}/auth/oidc/callback?code=x&state=y&error=access_denied&error_description=Call+us", app.base);
    assert_eq!(roster_redirect(&stray, &url, &app.base).await, "/login");
    assert!(!login_page(&stray, &app).await.contains("Call us"), "a crafted link puts no text on the page");
    assert_eq!(app.services.settings.log(&LogQuery::default()).await.unwrap().total, before);
}

#[tokio::test]
#[ignore = "needs npm oidc-provider (npm ci in end2end/): run by .ci/run"]
async fn signing_out_ends_the_session_at_the_provider_too() {
    let (app, op) = with_provider(&[("00u-ada", "ada@example.com", true, &["roster-owners"])]).await;
    let b = browser();
    assert_eq!(op.sign_in(&b, &app.base, "00u-ada").await, "/");
    let r = b
        .post(format!("{}/api/logout", app.base))
        .header("Origin", &app.base)
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with(&op.end_session_prefix()), "{to}");
    assert!(to.contains("id_token_hint=") && to.contains("post_logout_redirect_uri="), "{to}");
    assert_eq!(whoami(&b, &app).await, json!(null), "ended in roster at once");
    // The provider shows its confirmation page for the hint roster sent.
    let page = b.get(&to).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(log_says(&app, "signed out").await);
}

#[tokio::test]
#[ignore = "needs npm oidc-provider (npm ci in end2end/): run by .ci/run"]
async fn a_rotated_signing_key_is_fetched() {
    let (app, mut op) = with_provider(&[("00u-ada", "ada@example.com", true, &["roster-owners"])]).await;
    assert_eq!(op.sign_in(&browser(), &app.base, "00u-ada").await, "/");
    op.rotate_keys().await;
    assert_eq!(op.sign_in(&browser(), &app.base, "00u-ada").await, "/", "a token signed with the new key");
}
