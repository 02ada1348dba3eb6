//! Browser tests in Debian's Chromium, headless. They need `chromium`, `chromium-driver` and the built site
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly by design.
//! (`scripts/build-site.sh`), so they are ignored by a plain `cargo test` and run by `.ci/run` with `--ignored`.
//! Each test runs roster in-process on port 0 with a fresh database and saves screenshots to docs/screenshots/.
use fantoccini::{Client, ClientBuilder, Locator};
use roster::service::Ctx;
use server::config::Config;
use server::startup::Application;
use server::testing::TestDb;
use std::process::Stdio;
use std::time::Duration;

const IGNORE: &str = "needs Chromium and the built site: run by .ci/run";

struct Browser {
    client: Client,
    driver: tokio::process::Child,
    _profile: TestDir,
}

struct TestDir(std::path::PathBuf);
impl Drop for TestDir {
    fn drop(&mut self) {
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

    /// Waits until the page's text contains `needle` (fantoccini's default wait bound applies).
    async fn wait_for_text(&self, needle: &str) {
        let n = needle.to_owned();
        let found = self
            .client
            .wait()
            .at_most(Duration::from_secs(20))
            .for_element(Locator::XPath(&format!("//*[contains(normalize-space(.), {n:?})]")))
            .await;
        assert!(found.is_ok(), "the page never showed {needle:?}: {}", self.client.source().await.unwrap_or_default());
    }

    async fn screenshot(&self, name: &str) {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/screenshots");
        let _ = std::fs::create_dir_all(dir);
        if let Ok(png) = self.client.screenshot().await {
            let _ = std::fs::write(format!("{dir}/{name}.png"), png);
        }
    }
}

struct Running {
    base: String,
    setup_token: Option<String>,
    services: roster::service::Services,
    _db: TestDb,
}

async fn roster_app() -> Running {
    let db = TestDb::fresh().await.expect("database");
    let config = Config {
        database_url: db.url.clone(),
        listen: "127.0.0.1:0".parse().expect("addr"),
        public_url: None,
        site_root: concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site").into(),
    };
    let app = Application::build(&config).await.expect("app");
    let r = Running {
        base: app.public_url().to_owned(),
        setup_token: app.setup_token().map(str::to_owned),
        services: app.services.clone(),
        _db: db,
    };
    tokio::spawn(app.run_until_stopped());
    r
}

#[tokio::test]
#[ignore = "needs Chromium and the built site: run by .ci/run"]
async fn first_run_setup_then_sign_in_and_the_dashboard_hydrates() {
    let _ = IGNORE;
    let app = roster_app().await;
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
    let _ = Ctx::cli("unused");
    b.close().await;
}
