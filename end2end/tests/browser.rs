//! Browser tests in Debian's Chromium, headless. They need `chromium`, `chromium-driver` and the built site
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly by design.
//! (`scripts/build-site.sh`), so they are ignored by a plain `cargo test` and run by `.ci/run` with `--ignored`.
//! Each test runs roster in-process on port 0 with a fresh database and saves screenshots to docs/screenshots/.
use fantoccini::{Client, ClientBuilder, Locator};
use roster::service::Ctx;
use server::testing::{TestApp, spawn_app, spawn_bare};
use std::process::Stdio;
use std::time::Duration;

struct Browser {
    client: Client,
    driver: tokio::process::Child,
    _profile: TestDir,
}

struct TestDir(std::path::PathBuf);
impl Drop for TestDir {
    fn drop(&mut self) {
        // A test that panics never reaches `close()`: end its Chromium (found by its own profile directory) so no
        // browser outlives the test and holds its output open.
        let _ =
            std::process::Command::new("pkill").arg("-f").arg(format!("user-data-dir={}", self.0.display())).status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

async fn browser() -> Browser {
    let port = free_port();
    let driver = tokio::process::Command::new(std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into()))
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("chromedriver (apt-get install chromium-driver)");
    let profile = TestDir(std::env::temp_dir().join(format!("roster-chromium-{port}")));
    let caps: serde_json::Map<String, serde_json::Value> = serde_json::from_value(serde_json::json!({
        "goog:chromeOptions": {
            "binary": std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                     "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--window-size=1280,900", format!("--user-data-dir={}", profile.0.display())]
        }
    }))
    .expect("capabilities");
    let mut last = None;
    for _ in 0..50 {
        match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(client) => {
                return Browser { client, driver, _profile: profile };
            }
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("could not start Chromium through chromedriver: {last:?}");
}

impl Browser {
    async fn close(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill().await;
    }

    async fn fill(&self, css: &str, text: &str) {
        let e = self.client.wait().for_element(Locator::Css(css)).await.expect(css);
        e.clear().await.expect("clear");
        e.send_keys(text).await.expect("type");
    }

    async fn click(&self, css: &str) {
        self.client.wait().for_element(Locator::Css(css)).await.expect(css).click().await.expect("click");
    }

    async fn text(&self, css: &str) -> String {
        self.client.wait().for_element(Locator::Css(css)).await.expect(css).text().await.expect("text")
    }

    /// Waits (up to 20 s) until the page's visible text contains `needle`. Visible text only: the serialised
    /// hydration data in `<script>` tags holds words such as "revoked_at" that must not satisfy a wait.
    async fn wait_for_text(&self, needle: &str) {
        for _ in 0..200 {
            let found = self
                .client
                .execute(
                    "return !!document.body && document.body.innerText.includes(arguments[0])",
                    vec![needle.into()],
                )
                .await;
            if matches!(found, Ok(serde_json::Value::Bool(true))) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let text = self.client.execute("return document.body ? document.body.innerText : ''", vec![]).await;
        panic!("the page never showed {needle:?}; it shows: {:?}", text.unwrap_or_default());
    }

    async fn screenshot(&self, name: &str) {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/screenshots");
        let _ = std::fs::create_dir_all(dir);
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(format!("{dir}/{name}.png"), png);
        }
    }
}

#[tokio::test]
#[ignore = "needs Chromium and the built site: run by .ci/run"]
async fn first_run_setup_then_sign_in_and_the_dashboard_hydrates() {
    let app = spawn_bare().await;
    let b = browser().await;
    let token = app.setup_token.clone().expect("setup token");
    b.client.goto(&format!("{}/setup?token={token}", app.base)).await.expect("setup page");
    b.wait_for_text("Create the first admin").await;
    b.screenshot("setup").await;
    b.fill("#email", "ada@example.com").await;
    b.fill("#password", "correct horse battery").await;
    b.click("button[type=submit]").await;
    b.wait_for_text("Dashboard").await;
    b.wait_for_text("seats in use").await;
    // Hydration: the wasm ran and flipped the marker that server rendering leaves false.
    let hydrated =
        b.client.wait().at_most(Duration::from_secs(30)).for_element(Locator::Css("[data-hydrated=true]")).await;
    assert!(hydrated.is_ok(), "the page never hydrated; is target/site/pkg built?");
    b.screenshot("dashboard").await;

    // Sign out, then sign in again through the hydrated form.
    b.click(".me button").await;
    b.wait_for_text("Sign in").await;
    b.fill("#email", "ada@example.com").await;
    b.fill("#password", "wrong password!").await;
    b.click("button[type=submit]").await;
    b.wait_for_text("do not match").await;
    b.screenshot("login").await;
    b.fill("#password", "correct horse battery").await;
    b.click("button[type=submit]").await;
    b.wait_for_text("seats in use").await;
    assert!(b.text(".me-email").await.contains("ada@example.com"));
    assert!(app.services.admins.count().await.expect("count") == 1);
    b.close().await;
}

/// A running app with SCIM on, an IdP token, and an admin signed in through the real form.
async fn signed_in() -> (TestApp, Browser) {
    let app = spawn_app().await;
    app.services.admins.create(&Ctx::cli("e2e"), "ada@example.com", "correct horse battery").await.expect("admin");
    let b = browser().await;
    b.client.goto(&format!("{}/login", app.base)).await.expect("login page");
    b.fill("#email", "ada@example.com").await;
    b.fill("#password", "correct horse battery").await;
    b.click("button[type=submit]").await;
    b.wait_for_text("seats in use").await;
    (app, b)
}

/// Provisions a user from the IdP, named Grace Hopper, and returns its id.
async fn idp_user(app: &TestApp, name: &str) -> String {
    let body = serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name,
        "name": {"givenName": "Grace", "familyName": "Hopper"}, "emails": [{"value": name, "type": "work", "primary": true}], "active": true});
    let r = app.post("/Users", body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.body["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
#[ignore = "needs Chromium and the built site: run by .ci/run"]
async fn an_idp_user_shows_the_badge_and_no_edit_controls_and_a_crafted_edit_is_refused() {
    let (app, b) = signed_in().await;
    let id = idp_user(&app, "grace@example.com").await;
    b.client.goto(&format!("{}/users", app.base)).await.expect("users");
    b.wait_for_text("grace@example.com").await;
    b.wait_for_text("Managed by Okta").await;
    b.screenshot("users").await;
    b.client.goto(&format!("{}/users/{id}", app.base)).await.expect("user");
    b.wait_for_text("Provisioning history").await;
    let button = b.client.find(Locator::Css("button[data-testid=toggle-active][disabled]")).await;
    assert!(button.is_ok(), "the Deactivate control is disabled");
    assert!(b.text("[data-testid=read-only]").await.contains("edit it in Okta"));
    b.screenshot("user").await;
    // A crafted request from the signed-in browser to the panel's endpoint: the service refuses it.
    let script = format!(
        "return fetch('/api/user_active', {{method: 'POST', headers: {{'Content-Type': 'application/x-www-form-urlencoded'}}, \
         body: 'id={id}&active=false'}}).then(r => r.status)"
    );
    let status = b.client.execute(&script, vec![]).await.expect("fetch");
    assert_ne!(status.as_u64(), Some(200), "the crafted edit must fail");
    let user = app.fetch(&format!("/Users/{id}")).await;
    assert_eq!(user["active"], serde_json::json!(true), "and change nothing");
    b.close().await;
}

#[tokio::test]
#[ignore = "needs Chromium and the built site: run by .ci/run"]
async fn with_scim_off_an_admin_adds_and_removes_a_group_member() {
    let (app, b) = signed_in().await;
    let grace = idp_user(&app, "grace@example.com").await;
    let _linus = idp_user(&app, "linus@example.com").await;
    let gid = app.group_id("Engineering", &[&grace]).await;
    app.services.settings.set_scim_enabled(&Ctx::cli("e2e"), false).await.expect("scim off");
    b.client.goto(&format!("{}/groups", app.base)).await.expect("groups");
    b.wait_for_text("Engineering").await;
    b.screenshot("groups").await;
    b.client.goto(&format!("{}/groups/{gid}", app.base)).await.expect("group");
    b.fill("#find", "linus").await;
    b.click("form[role=search] button").await;
    b.click("button[aria-label='Add linus@example.com']").await;
    b.wait_for_text("Member added.").await;
    b.wait_for_text("Members (2)").await;
    b.screenshot("group").await;
    b.click("button[aria-label='Remove grace@example.com']").await;
    b.wait_for_text("Member removed.").await;
    b.wait_for_text("Members (1)").await;
    // SCIM is off (so it answers 403): ask the service what the group holds now.
    let (_, members) = app.services.groups.get_with_members(&roster::model::GroupId(gid)).await.expect("group");
    assert_eq!(members.iter().map(|m| m.user_name.as_str()).collect::<Vec<_>>(), ["linus@example.com"]);
    b.close().await;
}

#[tokio::test]
#[ignore = "needs Chromium and the built site: run by .ci/run"]
async fn a_token_is_created_shown_once_and_revoked() {
    let (app, b) = signed_in().await;
    b.client.goto(&format!("{}/scim", app.base)).await.expect("scim page");
    b.fill("#token-name", "Entra ID").await;
    b.click("form.row button[type=submit]").await;
    b.wait_for_text("shown only once").await;
    let token = b.text("#new-token").await;
    assert!(token.starts_with("roster_scim_"), "{token}");
    b.screenshot("scim").await;
    let ok = reqwest::Client::new()
        .get(format!("{}/scim/v2/Users", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    assert_eq!(ok.status().as_u16(), 200);
    b.client.goto(&format!("{}/scim", app.base)).await.expect("reload");
    b.wait_for_text("Tokens").await;
    assert!(!b.client.source().await.expect("source").contains(&token), "shown once only");
    b.click("button[aria-label='Revoke Entra ID']").await;
    b.wait_for_text("Token 'Entra ID' revoked.").await;
    let denied = reqwest::Client::new()
        .get(format!("{}/scim/v2/Users", app.base))
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    assert_eq!(denied.status().as_u16(), 401);
    b.close().await;
}

#[tokio::test]
#[ignore = "needs Chromium and the built site: run by .ci/run"]
async fn the_seat_meter_and_the_no_seat_message_when_activating_a_local_user_at_the_limit() {
    let (app, b) = signed_in().await;
    app.services.settings.set_seats(&Ctx::cli("e2e"), 1).await.expect("seats");
    b.client.goto(&format!("{}/users/new", app.base)).await.expect("new user");
    b.fill("#email", "local@example.com").await;
    b.fill("#given_name", "Lo").await;
    b.fill("#family_name", "Cal").await;
    b.click("button[type=submit].primary").await;
    b.wait_for_text("User local@example.com created.").await;
    b.click("button[data-testid=toggle-active]").await; // Deactivate
    b.wait_for_text("is now inactive").await;
    idp_user(&app, "grace@example.com").await; // the IdP takes the only seat
    b.click("button[data-testid=toggle-active]").await; // Activate
    b.wait_for_text("No free seats: 1 of 1 in use.").await;
    b.screenshot("no-seats").await;
    b.client.goto(&format!("{}/licence", app.base)).await.expect("licence");
    b.wait_for_text("1 of 1 seats in use").await;
    b.screenshot("licence").await;
    b.client.goto(&format!("{}/", app.base)).await.expect("dashboard");
    b.wait_for_text("0 free").await;
    b.close().await;
}

#[tokio::test]
#[ignore = "needs Chromium and the built site: run by .ci/run"]
async fn the_provisioning_log_finds_the_entry_of_a_failed_push() {
    let (app, b) = signed_in().await;
    app.services.settings.set_seats(&Ctx::cli("e2e"), 0).await.expect("seats");
    let body = serde_json::json!({"userName": "nora@example.com", "active": true});
    let r = app.post("/Users", body).await;
    assert_eq!(r.status, 403);
    let detail = r.detail();
    let n = detail.rsplit('#').next().expect("log id").trim_end_matches(')').to_owned();
    b.client.goto(&format!("{}/log", app.base)).await.expect("log");
    b.fill("#q", &format!("#{n}")).await;
    b.click("form[role=search] button").await;
    b.wait_for_text("No free seats").await;
    b.screenshot("log").await;
    b.click(&format!("a[href='/log/{n}']")).await;
    b.wait_for_text(&format!("Log entry #{n}")).await;
    assert!(b.text("[data-testid=event-detail]").await.contains("No free seats: 0 of 0 in use"));
    b.client.goto(&format!("{}/admins", app.base)).await.expect("admins");
    b.wait_for_text("Change your password").await;
    b.screenshot("admins").await;
    b.close().await;
}

/// A page on another origin (another port of the same host, so the same *site* to SameSite cookies) posts a form to the
/// panel while the admin is signed in. roster refuses it with a page that says why, and nothing changes.
#[tokio::test]
#[ignore = "needs Chromium and the built site: run by .ci/run"]
async fn a_form_on_another_origin_is_refused() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (app, b) = signed_in().await;
    let before = app.services.admins.count().await.expect("count");
    let evil = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let evil_addr = evil.local_addr().expect("addr");
    let page = format!(
        "<!DOCTYPE html><html><body><form id=f method=post action=\"{}/api/admin_add\">\
         <input name=email value=mallory@evil.example.com><input name=password value=\"correct horse battery\">\
         <button id=go type=submit>Win a prize</button></form></body></html>",
        app.base
    );
    tokio::spawn(async move {
        while let Ok((mut s, _)) = evil.accept().await {
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf).await;
            let reply = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = s.write_all(reply.as_bytes()).await;
        }
    });
    b.client.goto(&format!("http://{evil_addr}/")).await.expect("the other page");
    b.click("#go").await;
    b.wait_for_text("Request refused").await;
    b.wait_for_text("not from roster's own pages").await;
    assert_eq!(app.services.admins.count().await.expect("count"), before, "no admin was added");
    b.close().await;
}
