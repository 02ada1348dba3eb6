//! Browser tests in Debian's Chromium, headless. They need `chromium`, `chromium-driver` and the built site
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly by design.
//! (`scripts/build-site.sh`), so they are ignored by a plain `cargo test` and run by `.ci/run` with `--ignored`.
//! Each test runs roster in-process on port 0 with a fresh database and saves screenshots to docs/screenshots/.
use fantoccini::{Client, ClientBuilder, Locator};
use roster::service::Ctx;
use std::process::Stdio;
use std::time::Duration;
use testkit::{TestApp, loopback_webhooks, spawn_app_with, spawn_bare};

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

    /// Runs axe-core (end2end/node_modules, from `npm ci` in end2end/) on the page as it is now, for WCAG 2.1 A and
    /// AA, and fails on any serious or critical violation, naming the rule and the elements.
    async fn audit(&self, page: &str) {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/node_modules/axe-core/axe.min.js");
        let axe = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("{path}: {e}; run `npm ci` in end2end/ (.ci/run does)"));
        self.client.execute(&axe, vec![]).await.expect("inject axe-core");
        let found = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
                   .then(r => done(r.violations
                     .filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' -> ' +
                          v.nodes.slice(0, 4).map(n => n.target.join(' ') + ' (' + (n.failureSummary || '') + ')').join('; '))))
                   .catch(e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .expect("axe.run");
        let found: Vec<String> = serde_json::from_value(found).expect("a list of violations");
        assert!(found.is_empty(), "accessibility violations on {page}:\n{}", found.join("\n"));
    }

    /// Presses keys on whatever has focus (WebDriver key codes: Tab is \u{E004}, Enter \u{E007}).
    async fn keys(&self, keys: &str) {
        self.client.active_element().await.expect("focus").send_keys(keys).await.expect("keys");
    }

    /// Tabs forward until the focused element matches `css` (at most 80 presses), checking that each stop shows a
    /// focus outline.
    async fn tab_to(&self, css: &str) {
        for _ in 0..80 {
            self.keys("\u{E004}").await;
            let state = self
                .client
                .execute(
                    "const e = document.activeElement; const s = getComputedStyle(e);
                     return [e.matches(arguments[0]), s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0,
                             e.outerHTML.slice(0, 120)];",
                    vec![css.into()],
                )
                .await
                .expect("focus state");
            assert_eq!(state[1], serde_json::json!(true), "no visible focus on {}", state[2]);
            if state[0] == serde_json::json!(true) {
                return;
            }
        }
        panic!("Tab never reached {css}");
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

#[tokio::test]
#[ignore = "needs Chromium, the built site and npm oidc-provider: run by .ci/run"]
async fn an_owner_signs_in_through_the_company_idp_and_signing_out_ends_the_idp_session_too() {
    let app = spawn_app_with(|_| {}).await;
    let op =
        testkit::OpenIdProvider::start(&app.base, &[("00u-ada", "ada@example.com", true, &["roster-owners"])]).await;
    let (cli, sso) = (Ctx::cli("e2e"), &app.services.sso);
    let (client, secret) = testkit::OIDC_CLIENT;
    sso.set(&cli, &op.issuer, client, secret, Some("Okta"), "groups", "groups").await.expect("sso set");
    sso.map(&cli, "roster-owners", roster::model::Role::Owner).await.expect("sso map");
    let b = browser().await;
    b.client.goto(&format!("{}/login", app.base)).await.expect("login page");
    b.wait_for_text("Sign in with Okta").await;
    b.audit("/login with single sign-on").await;
    b.screenshot("login-sso").await;
    b.click("[data-testid=sso]").await;
    // The provider's own sign-in page.
    b.fill("input[name=login]", "00u-ada").await;
    b.fill("input[name=password]", "any password").await;
    b.click("button[type=submit]").await;
    b.wait_for_text("seats in use").await;
    assert!(b.text(".me-email").await.contains("ada@example.com"));
    assert_eq!(b.text(".me-role").await, "owner");
    // The owner sees the single sign-on page, with the redirect URI to register.
    b.client.goto(&format!("{}/sso", app.base)).await.expect("sso page");
    b.wait_for_text(&format!("{}/auth/oidc/callback", app.base)).await;
    b.audit("/sso").await;
    b.screenshot("sso").await;
    // Signing out ends roster's session, then the provider's: it asks, and sends the browser back to sign-in.
    b.click(".me button").await;
    b.wait_for_text("Do you want to sign-out").await;
    b.click("button[value=yes]").await;
    b.wait_for_text("Sign in with Okta").await;
    b.client.goto(&format!("{}/admins", app.base)).await.expect("admins");
    b.wait_for_text("Sign in with Okta").await;
    b.close().await;
}

/// A running app with SCIM on, an IdP token, and an admin signed in through the real form.
async fn signed_in() -> (TestApp, Browser) {
    // Webhook receivers in these tests listen on this machine.
    let app = spawn_app_with(loopback_webhooks).await;
    app.services
        .admins
        .create(&Ctx::cli("e2e"), "ada@example.com", "correct horse battery", roster::model::Role::Owner, false)
        .await
        .expect("admin");
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

#[tokio::test]
#[ignore = "needs Chromium and the built site: run by .ci/run"]
async fn drift_is_listed_before_scim_goes_back_on_and_the_push_says_what_it_undid() {
    let (app, b) = signed_in().await;
    let grace = idp_user(&app, "grace@example.com").await;
    let linus = idp_user(&app, "linus@example.com").await;
    let gid = app.group_id("Engineering", &[&grace]).await;
    app.services.settings.set_scim_enabled(&Ctx::cli("e2e"), false).await.expect("scim off");
    // The admin adds Linus in the browser while SCIM is off.
    b.client.goto(&format!("{}/groups/{gid}", app.base)).await.expect("group");
    b.fill("#find", "linus").await;
    b.click("form[role=search] button").await;
    b.click("button[aria-label='Add linus@example.com']").await;
    b.wait_for_text("Member added.").await;
    b.client.goto(&format!("{}/scim", app.base)).await.expect("scim page");
    b.wait_for_text("Engineering: +1 member since SCIM was turned off").await;
    let confirm = b.text("[data-testid=drift-confirm]").await;
    assert!(confirm.contains("next Push now will undo") && confirm.contains("Engineering: +1 member"), "{confirm}");
    b.screenshot("drift").await;
    b.click("label.check input[name=confirm]").await;
    b.click("[data-testid=scim-status] ~ form button[type=submit]").await;
    b.wait_for_text("SCIM provisioning is on.").await;
    // Okta's Push now: the group as the IdP has it.
    let push = serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering",
        "members": [{"value": grace}]});
    assert_eq!(app.put(&format!("/Groups/{gid}"), push).await.status, 200);
    assert_eq!(app.member_ids(&gid).await, vec![grace.clone()]);
    b.client.goto(&format!("{}/log", app.base)).await.expect("log");
    b.wait_for_text("undid changes made in roster while SCIM was off: +linus@example.com").await;
    b.client.goto(&format!("{}/scim", app.base)).await.expect("scim page");
    b.wait_for_text("Tokens").await;
    let page = b.client.source().await.expect("source");
    assert!(!page.contains("data-testid=\"drift\""), "no drift left after the push");
    let _ = linus;
    b.close().await;
}

#[tokio::test]
#[ignore = "needs Chromium and the built site: run by .ci/run"]
async fn an_admin_adds_a_webhook_and_an_api_token_in_the_panel_and_sees_the_deliveries() {
    let (app, b) = signed_in().await;
    let receiver = testkit::Receiver::start().await;
    b.client.goto(&format!("{}/integrations", app.base)).await.expect("integrations");
    b.fill("#api-token-name", "billing").await;
    b.click("#api-token-form button[type=submit]").await;
    b.wait_for_text("shown only once").await;
    let token = b.text("#new-token").await;
    assert!(token.starts_with("roster_api_"), "{token}");
    let r = reqwest::Client::new().get(format!("{}/v1/users", app.base)).bearer_auth(&token).send().await.expect("get");
    assert_eq!(r.status().as_u16(), 200);
    b.fill("#webhook-url", &receiver.url).await;
    b.fill("#webhook-events", "user.*").await;
    b.click("#webhook-form button[type=submit]").await;
    b.wait_for_text("Copy its signing secret now").await;
    let secret = b.text("#new-token").await;
    assert!(secret.starts_with("whsec_"), "{secret}");
    idp_user(&app, "grace@example.com").await;
    let got = receiver.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(got.len(), 1);
    b.client.goto(&format!("{}/integrations", app.base)).await.expect("reload");
    b.wait_for_text("delivered · HTTP 200").await;
    b.screenshot("integrations").await;
    b.click("button[aria-label^='Send ']").await;
    b.wait_for_text("again; the receiver answered 200").await;
    assert_eq!(receiver.wait_for(2, Duration::from_secs(10)).await.len(), 2, "sent again");
    b.close().await;
}

/// Data of every kind on the pages: users of each status and source, a group with members, tokens, log entries of
/// each outcome.
async fn every_kind_of_data(app: &TestApp) -> (String, String, i64) {
    // A webhook nobody listens at: its deliveries fail and the page shows the retries.
    app.services.webhooks.add(&Ctx::cli("e2e"), "http://127.0.0.1:9/hook", "user.*").await.expect("webhook");
    let grace = idp_user(app, "grace@example.com").await;
    let off = idp_user(app, "offboarded@example.com").await;
    let ops = serde_json::json!([{"op": "replace", "value": {"active": false}}]);
    assert_eq!(app.patch(&format!("/Users/{off}"), ops).await.status, 200);
    let gone = idp_user(app, "gone@example.com").await;
    assert_eq!(app.delete(&format!("/Users/{gone}")).await.status, 204);
    let gid = app.group_id("Engineering", &[&grace]).await;
    let admin = app.admin().await;
    let ctx = Ctx::panel(admin, "e2e");
    let local = app.services.users.create_local(&ctx, "local@example.com", "Lo", "Cal").await.expect("local user");
    app.services.users.set_active(&ctx, &local.id, false).await.expect("deactivated");
    app.services.users.create_local(&ctx, "active.local@example.com", "Ac", "Tive").await.expect("local user");
    app.services.tokens.create(&Ctx::cli("e2e"), roster::model::TokenKind::Scim, "Entra ID").await.expect("token");
    app.services.tokens.create(&Ctx::cli("e2e"), roster::model::TokenKind::Api, "billing").await.expect("API token");
    // A failure and a refusal for lack of seats, in the log.
    assert_eq!(app.get("/Users?filter=bogus").await.status, 400);
    let used = app.services.settings.seats().await.expect("seats").used;
    app.set_seats(used).await;
    assert_eq!(app.post("/Users", testkit::okta_user("late@example.com")).await.status, 403);
    let recent = roster::model::LogQuery { start_index: 1, count: 50, ..Default::default() };
    let failed = app.services.settings.log(&recent).await.expect("log");
    let failed = failed.items.iter().find(|e| e.status == 400).expect("a failed entry").id.0;
    (grace, gid, failed)
}

#[tokio::test]
#[ignore = "needs Chromium and the built site: run by .ci/run"]
async fn every_page_passes_an_accessibility_audit_with_data_on_it() {
    let (app, b) = signed_in().await;
    let (grace, gid, failed) = every_kind_of_data(&app).await;
    let pages = [
        ("/", "Recent provisioning"),
        ("/users", "grace@example.com"),
        ("/users?status=inactive", "Users"),
        ("/users/new", "userName"),
        (&*format!("/users/{grace}"), "Provisioning history"),
        ("/groups", "Engineering"),
        (&*format!("/groups/{gid}"), "Members"),
        ("/scim", "Entra ID"),
        ("/licence", "Seats"),
        ("/log", "Log"),
        (&*format!("/log/{failed}"), "Detail"),
        ("/admins", "ada@example.com"),
        ("/integrations", "Failing since"),
        ("/no-such-page", "not"),
    ];
    for (path, text) in pages {
        b.client.goto(&format!("{}{path}", app.base)).await.expect(path);
        b.wait_for_text(text).await;
        b.audit(path).await;
    }
    // With SCIM off the group page has its editing forms and the SCIM page its confirmation and the drift.
    app.services.settings.set_scim_enabled(&Ctx::cli("e2e"), false).await.expect("scim off");
    let ctx = Ctx::panel(app.admin().await, "e2e");
    let gid_ = roster::model::GroupId(gid.clone());
    app.services.groups.remove_members(&ctx, &gid_, vec![grace.clone()]).await.expect("drift");
    for (path, text) in [(&*format!("/groups/{gid}"), "Add members"), ("/scim", "since SCIM was turned off")] {
        b.client.goto(&format!("{}{path}", app.base)).await.expect(path);
        b.wait_for_text(text).await;
        b.audit(path).await;
    }
    b.click(".me button").await;
    b.wait_for_text("Sign in").await;
    b.audit("/login").await;
    b.close().await;

    let bare = spawn_bare().await;
    let b = browser().await;
    let token = bare.setup_token.clone().expect("setup token");
    b.client.goto(&format!("{}/setup?token={token}", bare.base)).await.expect("setup");
    b.wait_for_text("Create the first admin").await;
    b.audit("/setup").await;
    b.close().await;
}

#[tokio::test]
#[ignore = "needs Chromium and the built site: run by .ci/run"]
async fn the_keyboard_alone_finds_adds_a_member_and_confirms_with_visible_focus() {
    let (app, b) = signed_in().await;
    let grace = idp_user(&app, "grace@example.com").await;
    idp_user(&app, "linus@example.com").await;
    let gid = app.group_id("Engineering", &[&grace]).await;
    app.services.settings.set_scim_enabled(&Ctx::cli("e2e"), false).await.expect("scim off");
    b.client.goto(&format!("{}/groups/{gid}", app.base)).await.expect("group");
    b.wait_for_text("Add members").await;
    // From the top of the page: the skip link first, then on through the page.
    b.tab_to("a.skip").await;
    b.tab_to("#find").await;
    b.keys("linus\u{E007}").await;
    b.wait_for_text("linus@example.com").await;
    b.tab_to("button[aria-label='Add linus@example.com']").await;
    b.keys("\u{E007}").await;
    b.wait_for_text("Member added.").await;
    b.wait_for_text("Members (2)").await;
    // The delete confirmation: a checkbox reached and ticked with Space, no mouse.
    b.client.goto(&format!("{}/groups/{gid}", app.base)).await.expect("group");
    b.wait_for_text("Delete group").await;
    b.tab_to("input[name=confirm]").await;
    b.keys(" ").await;
    let ticked = b.client.execute("return document.activeElement.checked", vec![]).await.expect("checked");
    assert_eq!(ticked, serde_json::json!(true));
    b.close().await;
}

#[tokio::test]
#[ignore = "needs the release binary with the embed-site feature: run by .ci/run"]
async fn the_release_binary_alone_in_an_empty_folder_serves_the_panel_styled_and_hydrated() {
    use tokio::io::AsyncBufReadExt;
    let built = std::env::var("ROSTER_EMBEDDED_BINARY")
        .expect("ROSTER_EMBEDDED_BINARY: a release build with `--features embed-site` (.ci/run builds one)");
    // A relative path is taken from the repository root (tests run in end2end/).
    let built = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")).join(built);
    let dir = TestDir(std::env::temp_dir().join(format!("roster-alone-{}", free_port())));
    std::fs::create_dir_all(&dir.0).expect("empty folder");
    let binary = dir.0.join("roster");
    std::fs::copy(&built, &binary).expect("copy the binary");
    let port = free_port();
    let mut child = tokio::process::Command::new(&binary)
        .current_dir(&dir.0)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .env_remove("ROSTER_SITE_ROOT")
        .env_remove("ROSTER_DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start the copied binary");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut setup = None;
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(i) = line.find("/setup?token=") {
            setup = Some(format!("http://127.0.0.1:{port}{}", &line[i..]));
            break;
        }
    }
    let setup = setup.expect("the setup link on standard output");
    let base = format!("http://127.0.0.1:{port}");

    // The assets, from inside the binary: right types, gzip when asked, revalidated by ETag.
    let http = reqwest::Client::new();
    for (file, kind) in
        [("roster.css", "text/css"), ("roster.js", "text/javascript"), ("roster_bg.wasm", "application/wasm")]
    {
        let r = http.get(format!("{base}/pkg/{file}")).header("Accept-Encoding", "gzip").send().await.expect(file);
        assert_eq!(r.status(), 200, "{file}");
        let h = r.headers().clone();
        assert!(h["content-type"].to_str().unwrap().starts_with(kind), "{file}: {h:?}");
        assert_eq!(h["content-encoding"], "gzip", "{file}");
        assert_eq!(h["cache-control"], "no-cache", "{file}");
        let etag = h["etag"].clone();
        let revalidate = |encoding: &'static str| {
            let request = http.get(format!("{base}/pkg/{file}")).header("If-None-Match", etag.clone());
            request.header("Accept-Encoding", encoding).send()
        };
        assert_eq!(revalidate("gzip").await.expect(file).status(), 304, "{file}");
        // The plain body is another representation, with its own ETag.
        assert_eq!(revalidate("identity").await.expect(file).status(), 200, "{file}");
    }
    let plain = http.get(format!("{base}/pkg/roster.css")).send().await.expect("css");
    assert!(plain.headers().get("content-encoding").is_none());
    assert!(plain.text().await.expect("css").contains(":root"));

    let b = browser().await;
    b.client.goto(&setup).await.expect("setup page");
    b.wait_for_text("Create the first admin").await;
    b.fill("#email", "ada@example.com").await;
    b.fill("#password", "correct horse battery").await;
    b.click("button[type=submit]").await;
    b.wait_for_text("seats in use").await;
    let hydrated =
        b.client.wait().at_most(Duration::from_secs(30)).for_element(Locator::Css("[data-hydrated=true]")).await;
    assert!(hydrated.is_ok(), "the panel hydrated from the embedded wasm");
    let styled = b
        .client
        .execute("return getComputedStyle(document.querySelector('.card')).borderTopLeftRadius", vec![])
        .await
        .expect("style");
    assert_eq!(styled, serde_json::json!("10px"), "the embedded stylesheet applies");
    b.screenshot("embedded").await;
    b.close().await;
    let _ = child.kill().await;
}
