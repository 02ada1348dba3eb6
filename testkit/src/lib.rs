//! The one test harness, shared by the server's HTTP tests, the browser tests and the bench: a fresh database (a temp
//! SQLite file, or a new PostgreSQL database on the server named by `ROSTER_TEST_POSTGRES_URL`), the real application
//! on port 0, and clients that speak SCIM (as Okta, or as a second IdP) and the panel's forms (signed in). A crate of
//! its own, so none of it is in the roster binary.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // A harness fails loudly by design.
use reqwest::StatusCode;
use roster::model::Actor;
use roster::service::{Ctx, Services};
use serde_json::{Value, json};
use server::config::Config;
use server::startup::Application;
use std::path::PathBuf;

/// Which backend the tests use.
pub const POSTGRES_ENV: &str = "ROSTER_TEST_POSTGRES_URL";

/// A database that exists for one test. SQLite files are removed on drop; PostgreSQL test databases are named
/// `roster_test_*` and dropped by `.ci/run` before each run.
pub struct TestDb {
    pub url: String,
    files: Option<PathBuf>,
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(p) = &self.files {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
            }
        }
    }
}

impl TestDb {
    pub async fn fresh() -> anyhow::Result<TestDb> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        match std::env::var(POSTGRES_ENV).ok().filter(|u| !u.is_empty()) {
            Some(admin_url) => {
                use sqlx::Connection;
                let name = format!("roster_test_{id}");
                let mut conn = sqlx::PgConnection::connect(&admin_url).await?;
                sqlx::query(&format!("create database {name}")).execute(&mut conn).await?;
                let base = admin_url.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin_url);
                Ok(TestDb { url: format!("{base}/{name}"), files: None })
            }
            None => {
                let path = std::env::temp_dir().join(format!("roster-test-{id}.db"));
                Ok(TestDb { url: format!("sqlite://{}", path.display()), files: Some(path) })
            }
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.files.is_none()
    }

    /// Keeps the database after this is dropped (the bench's `--keep`, to look into it afterwards); its URL.
    pub fn keep(mut self) -> String {
        self.files = None;
        std::mem::take(&mut self.url)
    }
}

/// The built site of this checkout (`scripts/build-site.sh` writes it), whatever the working directory.
pub fn site_root() -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site").to_owned()
}

/// A running app, its database, and clients for SCIM (with the token of an IdP named "Okta") and for the panel.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`
    pub base: String,
    /// `<base>/scim/v2`
    pub scim: String,
    /// A client with a cookie jar and no redirects, like a browser without JavaScript.
    pub browser: reqwest::Client,
    pub http: reqwest::Client,
    pub token: String,
    pub setup_token: Option<String>,
    pub services: Services,
    pub db_url: String,
    pub db: TestDb,
    /// `http://<addr>/metrics` when the test asked for `metrics_listen`.
    pub metrics: Option<String>,
}

/// An HTTP answer: status, headers and the body as JSON (a string when it is not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn detail(&self) -> String {
        self.body["detail"].as_str().unwrap_or_default().to_owned()
    }
}

/// A running app with SCIM enabled and one token named "Okta".
pub async fn spawn_app() -> TestApp {
    let app = spawn_bare().await;
    app.set_scim(true).await;
    app
}

/// [`spawn_app`] with a configuration of the test's own.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let app = spawn_with(configure).await;
    app.set_scim(true).await;
    app
}

/// Lets webhooks reach receivers on this machine, such as [`Receiver`] on 127.0.0.1: roster's network policy refuses
/// loopback unless the operator allows it.
pub fn loopback_webhooks(c: &mut Config) {
    c.webhook_allow_networks = Some("127.0.0.0/8,::1".into());
}

/// A running app as a fresh install leaves it: SCIM off, no admin, but a token exists.
pub async fn spawn_bare() -> TestApp {
    spawn_with(|_| {}).await
}

/// [`spawn_bare`] with a configuration of the test's own (a public URL, timeouts, …); the database and the listening
/// address are the harness's.
pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    capture_logs();
    let db = TestDb::fresh().await.expect("fresh database");
    let mut config = Config { site_root: Some(site_root()), ..Config::default() };
    configure(&mut config);
    config.database_url = db.url.clone();
    config.listen = "127.0.0.1:0".parse().unwrap();
    let app = Application::build(&config).await.expect("build app");
    // Requests go to the address the app listens on, whatever public URL it was given.
    let base = format!("http://{}", app.local_addr());
    let metrics = app.metrics_addr().map(|a| format!("http://{a}/metrics"));
    let services = app.services.clone();
    let setup_token = app.setup_token().map(str::to_owned);
    tokio::spawn(app.run_until_stopped());
    let (_, token) = services.tokens.create(&Ctx::cli("test"), roster::model::TokenKind::Scim, "Okta").await.unwrap();
    let browser =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    TestApp {
        scim: format!("{base}/scim/v2"),
        base,
        browser,
        http: reqwest::Client::new(),
        token,
        setup_token,
        services,
        db_url: db.url.clone(),
        db,
        metrics,
    }
}

/// roster's warnings and errors go to the test's captured output, so a failing test shows them (a slow database call,
/// a failed write) beside its assertion; `RUST_LOG` asks for more.
fn capture_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(false).with_test_writer().try_init();
}

/// Sends a request and reads its answer.
async fn reply(req: reqwest::RequestBuilder) -> Reply {
    let r = req.send().await.expect("request");
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap_or_default();
    let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    Reply { status, headers, body }
}

impl TestApp {
    async fn send(&self, req: reqwest::RequestBuilder) -> Reply {
        reply(req).await
    }

    /// A second IdP: a SCIM token named `name` ("Entra ID"), and a client that uses it.
    pub async fn second_idp(&self, name: &str) -> Idp {
        let (_, token) =
            self.services.tokens.create(&Ctx::cli("test"), roster::model::TokenKind::Scim, name).await.unwrap();
        Idp { name: name.to_owned(), token, scim: self.scim.clone(), http: self.http.clone() }
    }

    /// A browser of its own signed in as `email` (an existing admin) through the real sign-in form.
    pub async fn panel_as(&self, email: &str, password: &str) -> PanelClient {
        let http =
            reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let panel = PanelClient { http, base: self.base.clone() };
        let r = panel.form("/api/login", &[("email", email), ("password", password)], "/login").await;
        assert_eq!(r.status(), StatusCode::FOUND, "sign-in should redirect");
        panel
    }

    /// A SCIM request as Okta sends it.
    pub fn scim_req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.scim))
            .bearer_auth(&self.token)
            .header("Accept", "application/scim+json")
            .header("User-Agent", "Okta SCIM Client 1.0.0")
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.scim_req(reqwest::Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send_json(reqwest::Method::POST, path, body).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Reply {
        self.send_json(reqwest::Method::PUT, path, body).await
    }

    pub async fn patch(&self, path: &str, ops: Value) -> Reply {
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
        self.send_json(reqwest::Method::PATCH, path, body).await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(self.scim_req(reqwest::Method::DELETE, path)).await
    }

    async fn send_json(&self, method: reqwest::Method, path: &str, body: Value) -> Reply {
        let req = self.scim_req(method, path).header("Content-Type", "application/scim+json; charset=utf-8");
        self.send(req.body(body.to_string())).await
    }

    /// A raw request, for headers and bodies the helpers would not send.
    pub async fn raw(&self, req: reqwest::RequestBuilder) -> Reply {
        self.send(req).await
    }

    /// Okta's POST /Users body for `user_name`.
    pub async fn create_user(&self, user_name: &str) -> Reply {
        self.post("/Users", okta_user(user_name)).await
    }

    /// Creates a user and returns its id, asserting 201.
    pub async fn user_id(&self, user_name: &str) -> String {
        let r = self.create_user(user_name).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    }

    /// Pushes a group with these members and returns its id, asserting 201.
    pub async fn group_id(&self, name: &str, members: &[&str]) -> String {
        let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": name, "members": members});
        let r = self.post("/Groups", body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    }

    pub async fn set_seats(&self, n: i64) {
        self.services.settings.set_seats(&Ctx::cli("test"), n).await.unwrap();
    }

    pub async fn set_scim(&self, on: bool) {
        self.services.settings.set_scim_enabled(&Ctx::cli("test"), on).await.unwrap();
    }

    /// Adds an admin with `role`, as `roster admin create` does.
    pub async fn create_admin(
        &self,
        email: &str,
        password: &str,
        role: roster::model::Role,
    ) -> roster::Result<roster::model::Admin> {
        self.services.admins.create(&Ctx::cli("test"), email, password, role, false).await
    }

    /// A browser of its own, signed in as a new admin with `role` (`helpdesk@example.com` for helpdesk, …).
    pub async fn panel_with_role(&self, role: roster::model::Role) -> PanelClient {
        let email = format!("{role}@example.com");
        self.create_admin(&email, "correct horse battery", role).await.expect("a new admin");
        self.panel_as(&email, "correct horse battery").await
    }

    /// Creates an admin and signs the browser in through the real form endpoint.
    pub async fn sign_in(&self) {
        let (email, password) = ADMIN;
        let _ = self.create_admin(email, password, roster::model::Role::Owner).await;
        let r = self.form("/api/login", &[("email", email), ("password", password)], "/login").await;
        assert_eq!(r.status(), StatusCode::FOUND, "sign-in should redirect");
    }

    /// Posts a form the way a browser without JavaScript does.
    pub async fn form(&self, path: &str, fields: &[(&str, &str)], referer: &str) -> reqwest::Response {
        self.browser
            .post(format!("{}{path}", self.base))
            .header("Accept", "text/html")
            .header("Referer", format!("{}{referer}", self.base))
            .form(fields)
            .send()
            .await
            .expect("form post")
    }

    pub async fn page(&self, path: &str) -> (StatusCode, String) {
        let r = self.browser.get(format!("{}{path}", self.base)).send().await.expect("page");
        (r.status(), r.text().await.unwrap_or_default())
    }

    /// An admin that exists in the database, as the actor of panel actions (`Ctx::panel(app.admin().await, …)`).
    pub async fn admin(&self) -> Actor {
        let email = "panel-admin@example.com";
        let admin = match self.create_admin(email, "correct horse battery", roster::model::Role::Owner).await {
            Ok(a) => a,
            Err(_) => self.services.admins.login(email, "correct horse battery", "test").await.expect("admin exists"),
        };
        Actor::Admin { id: admin.id, email: admin.email, role: admin.role }
    }

    /// GET /Users/{id} (or /Groups/{id}), asserting 200, and returns the body.
    pub async fn fetch(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "GET {path}: {:?}", r.body);
        r.body
    }

    /// Whether the user is active, read over SCIM.
    pub async fn is_active(&self, user_id: &str) -> bool {
        self.fetch(&format!("/Users/{user_id}")).await["active"].as_bool().expect("active is a boolean")
    }

    /// The member ids of a group, read over SCIM, sorted.
    pub async fn member_ids(&self, group_id: &str) -> Vec<String> {
        let g = self.fetch(&format!("/Groups/{group_id}")).await;
        let mut ids: Vec<String> = g["members"]
            .as_array()
            .map(|m| m.iter().filter_map(|m| m["value"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        ids.sort();
        ids
    }

    /// `totalResults` of a list request.
    pub async fn total(&self, path: &str) -> i64 {
        let r = self.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "GET {path}: {:?}", r.body);
        r.body["totalResults"].as_i64().expect("totalResults is an integer")
    }
}

/// A second IdP, with a SCIM token of its own: what the harness's "Okta" client does, under another name.
pub struct Idp {
    pub name: String,
    pub token: String,
    scim: String,
    http: reqwest::Client,
}

impl Idp {
    /// A SCIM request with this IdP's token; `body` is sent as SCIM JSON.
    pub fn request(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> reqwest::RequestBuilder {
        let mut req = self.http.request(method, format!("{}{path}", self.scim)).bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.header("Content-Type", "application/scim+json").body(b.to_string());
        }
        req
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Reply {
        reply(self.request(method, path, body)).await
    }
}

/// A browser of its own (its own cookie jar, no redirects followed, no JavaScript), signed in to the panel.
pub struct PanelClient {
    pub http: reqwest::Client,
    base: String,
}

impl PanelClient {
    /// A page: its status and HTML.
    pub async fn page(&self, path: &str) -> (StatusCode, String) {
        let r = self.http.get(format!("{}{path}", self.base)).send().await.expect("page");
        (r.status(), r.text().await.unwrap_or_default())
    }

    /// Posts a form from `referer`, as a browser without JavaScript does.
    pub async fn form(&self, path: &str, fields: &[(&str, &str)], referer: &str) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.base))
            .header("Accept", "text/html")
            .header("Referer", format!("{}{referer}", self.base))
            .form(fields)
            .send()
            .await
            .expect("form post")
    }

    /// Whether the session still signs this browser in (a page behind sign-in answers rather than redirecting).
    pub async fn signed_in(&self) -> bool {
        self.page("/admins").await.0 == StatusCode::OK
    }
}

/// The admin [`TestApp::sign_in`] creates: email and password.
pub const ADMIN: (&str, &str) = ("admin@example.com", "correct horse battery");

/// Okta's POST /Users body for `user_name`.
pub fn okta_user(user_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": format!("00u{}", user_name.len()),
        "groups": [],
        "password": "1mz050nq",
        "active": true
    })
}

/// Sorted owned ids, to compare with [`TestApp::member_ids`].
pub fn sorted(ids: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ids.iter().map(|s| (*s).to_owned()).collect();
    v.sort();
    v
}

/// A webhook receiver on a port of its own that records every delivery. It can go down (connections refused) and
/// come back on the same port, and answers each request with `Connection: close` so that going down is real.
pub struct Receiver {
    pub url: String,
    addr: std::net::SocketAddr,
    got: std::sync::Arc<std::sync::Mutex<Vec<Received>>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// One delivery as the receiver got it.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: axum::http::HeaderMap,
    pub body: String,
    pub at: std::time::Instant,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("a delivery is JSON")
    }
}

impl Receiver {
    pub async fn start() -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut r = Receiver { url: format!("http://{addr}/hook"), addr, got: Default::default(), task: None };
        r.serve(listener);
        r
    }

    fn serve(&mut self, listener: tokio::net::TcpListener) {
        let got = self.got.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let got = got.clone();
                async move {
                    got.lock().unwrap().push(Received { headers, body, at: std::time::Instant::now() });
                    ([(axum::http::header::CONNECTION, "close")], "ok")
                }
            }),
        );
        self.task = Some(tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }));
    }

    /// Stops listening: deliveries get "connection refused".
    pub async fn stop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
            let _ = t.await;
        }
    }

    /// Listens again on the same port.
    pub async fn resume(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.serve(listener);
    }

    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until at least `n` deliveries arrived, up to `within`, and returns them all.
    pub async fn wait_for(&self, n: usize, within: std::time::Duration) -> Vec<Received> {
        let deadline = std::time::Instant::now() + within;
        loop {
            let got = self.received();
            if got.len() >= n || std::time::Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// A certified OpenID Provider (npm `oidc-provider`, `end2end/oidc-provider.mjs`) on loopback, with one client for
/// roster and accounts the test names. Its node_modules come from `npm ci` in `end2end/` (`.ci/run` does it).
pub struct OpenIdProvider {
    pub issuer: String,
    port: u16,
    config: PathBuf,
    process: Option<tokio::process::Child>,
}

/// The client roster is at the test provider.
pub const OIDC_CLIENT: (&str, &str) = ("roster", "client-secret-for-tests");

impl OpenIdProvider {
    /// Starts a provider for the roster at `roster_base`, with `accounts`: id → (email, email_verified, groups).
    pub async fn start(roster_base: &str, accounts: &[(&str, &str, bool, &[&str])]) -> OpenIdProvider {
        let config = std::env::temp_dir().join(format!("roster-op-{}.json", uuid::Uuid::new_v4().simple()));
        let mut op = OpenIdProvider { issuer: String::new(), port: 0, config, process: None };
        let accounts: serde_json::Map<String, Value> = accounts
            .iter()
            .map(|(id, email, verified, groups)| {
                ((*id).to_owned(), json!({ "email": email, "email_verified": verified, "groups": groups, "name": id }))
            })
            .collect();
        let config = json!({
            "client_id": OIDC_CLIENT.0,
            "client_secret": OIDC_CLIENT.1,
            "redirect_uri": format!("{roster_base}/auth/oidc/callback"),
            "post_logout_redirect_uri": format!("{roster_base}/login"),
            "accounts": accounts,
        });
        std::fs::write(&op.config, config.to_string()).unwrap();
        op.run().await;
        op.issuer = format!("http://127.0.0.1:{}", op.port);
        op
    }

    /// Starts node on `self.port` (0 the first time: the provider binds a free port itself and reports it, so no other
    /// process can take a port chosen beforehand). A start that does not report ready is retried once, with what the
    /// first attempt wrote to stderr printed, so a failure says why.
    async fn run(&mut self) {
        let mut failures = Vec::new();
        for _ in 0..2 {
            match self.spawn().await {
                Ok((child, port)) => {
                    self.port = port;
                    self.process = Some(child);
                    return;
                }
                Err(why) => {
                    eprintln!("the test OpenID provider did not start: {why}");
                    failures.push(why);
                }
            }
        }
        panic!("the test OpenID provider did not start (run `npm ci` in end2end/): {failures:?}");
    }

    async fn spawn(&self) -> Result<(tokio::process::Child, u16), String> {
        use tokio::io::AsyncBufReadExt;
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../end2end/oidc-provider.mjs");
        let stderr = self.config.with_extension("stderr");
        let mut child = tokio::process::Command::new("node")
            .arg(script)
            .arg(self.port.to_string())
            .arg(&self.config)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../end2end"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::fs::File::create(&stderr).map_err(|e| e.to_string())?)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("node, for the test OpenID provider: {e}"))?;
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let ready = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line()).await;
        let port = match &ready {
            Ok(Ok(Some(line))) => line.strip_prefix("ready ").and_then(|p| p.parse::<u16>().ok()),
            _ => None,
        };
        let Some(port) = port else {
            let _ = child.kill().await;
            let said = std::fs::read_to_string(&stderr).unwrap_or_default();
            let _ = std::fs::remove_file(&stderr);
            return Err(format!("{ready:?}; stderr: {}", said.trim()));
        };
        // Whatever it prints later goes on being read: a closed pipe would stop it.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok((child, port))
    }

    /// Restarts the provider: it signs with a new key from now on (a key rotation), and forgets its sessions.
    pub async fn rotate_keys(&mut self) {
        if let Some(mut p) = self.process.take() {
            let _ = p.kill().await;
        }
        self.run().await;
    }

    /// Moves an account to other groups; the provider reads them at the next sign-in.
    pub fn set_groups(&self, account: &str, groups: &[&str]) {
        let mut config: Value = serde_json::from_str(&std::fs::read_to_string(&self.config).unwrap()).unwrap();
        config["accounts"][account]["groups"] = json!(groups);
        std::fs::write(&self.config, config.to_string()).unwrap();
    }

    /// Signs `account` in to roster through this provider, as a browser does (following the redirects, submitting the
    /// provider's login form). Returns where roster sent the browser at the end: `/` when signed in, `/login` when
    /// refused.
    pub async fn sign_in(&self, browser: &reqwest::Client, roster_base: &str, account: &str) -> String {
        let callback = self.callback(browser, roster_base, account).await;
        roster_redirect(browser, &callback, roster_base).await
    }

    /// Goes through the provider's sign-in as `account`, up to the redirect back to roster's callback, and returns that
    /// URL (with the code and state) without following it.
    pub async fn callback(&self, browser: &reqwest::Client, roster_base: &str, account: &str) -> String {
        let mut url = format!("{roster_base}/auth/oidc/login");
        let mut form: Option<Vec<(&str, String)>> = None;
        for _ in 0..20 {
            let req = match form.take() {
                Some(f) => browser.post(&url).form(&f),
                None => browser.get(&url),
            };
            let r = req.send().await.expect("sign-in step");
            if r.status().is_redirection() {
                let to = r.headers()["location"].to_str().unwrap().to_owned();
                let to = if to.starts_with('/') {
                    let origin =
                        if url.starts_with(roster_base) { roster_base.to_owned() } else { self.issuer.clone() };
                    format!("{origin}{to}")
                } else {
                    to
                };
                if to.starts_with(&format!("{roster_base}/auth/oidc/callback")) {
                    return to;
                }
                if to.starts_with(roster_base) && !to.contains("/auth/oidc/") {
                    panic!("roster sent the browser to {to} before the provider's sign-in");
                }
                url = to;
                continue;
            }
            let html = r.text().await.unwrap_or_default();
            if url.contains("/interaction/") && html.contains("name=\"prompt\" value=\"login\"") {
                form = Some(vec![("prompt", "login".into()), ("login", account.into()), ("password", "any".into())]);
            } else if url.contains("/interaction/") && html.contains("name=\"prompt\" value=\"consent\"") {
                form = Some(vec![("prompt", "consent".into())]);
            } else {
                panic!("unexpected page at {url}: {html}");
            }
        }
        panic!("the sign-in did not finish");
    }

    /// Where an RP-initiated logout at this provider begins.
    pub fn end_session_prefix(&self) -> String {
        format!("{}/session/end", self.issuer)
    }
}

/// GETs a roster URL and returns the path it redirects to ("/" after a sign-in, "/login" after a refusal).
pub async fn roster_redirect(browser: &reqwest::Client, url: &str, roster_base: &str) -> String {
    let r = browser.get(url).send().await.expect("roster");
    assert!(r.status().is_redirection(), "{url}: {}", r.status());
    r.headers()["location"].to_str().unwrap().trim_start_matches(roster_base).to_owned()
}

impl Drop for OpenIdProvider {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.config);
        let _ = std::fs::remove_file(self.config.with_extension("stderr"));
    }
}
