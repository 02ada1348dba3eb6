//! Several roster processes on one PostgreSQL behave as one installation. PostgreSQL only: SQLite is one process per
//! database file (docs/operations.md, "Running several instances"); on SQLite these tests return at once.
use crate::helpers::{TestDb, okta_user};
use reqwest::StatusCode;
use roster::service::{Ctx, Services};
use serde_json::{Value, json};
use server::store::Db;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A `roster serve` process of this build.
struct Instance {
    child: Child,
    base: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Instance {
    /// Starts on a port the system picks, so two instances can never share one; [`Instance::learn_address`] reads it.
    fn start(db_url: &str) -> Instance {
        let child = Command::new(env!("CARGO_BIN_EXE_roster"))
            .args(["serve", "--database-url", db_url, "--listen", "127.0.0.1:0"])
            .args(["--webhook-allow-networks", "127.0.0.0/8"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start roster");
        Instance { child, base: String::new() }
    }

    /// Waits for the line `roster is running at http://127.0.0.1:PORT` that `serve` prints once it listens.
    fn learn_address(&mut self) {
        use std::io::BufRead;
        let stdout = self.child.stdout.take().expect("stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        self.base = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|l| l.strip_prefix("roster is running at ").map(str::to_owned))
            .expect("roster prints where it runs");
        // Keep reading, so that a full pipe never blocks the server's later output.
        std::thread::spawn(move || lines.for_each(drop));
    }

    async fn ready(&self) {
        for _ in 0..300 {
            if reqwest::get(format!("{}/readyz", self.base)).await.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("roster at {} never became ready", self.base);
    }

    async fn scim(&self, token: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = reqwest::Client::new().request(method, format!("{}/scim/v2{path}", self.base)).bearer_auth(token);
        if let Some(b) = body {
            req = req.header("Content-Type", "application/scim+json").body(b.to_string());
        }
        let r = req.send().await.unwrap();
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }
}

/// Two instances on one fresh PostgreSQL database, started at the same moment, and the services over it.
async fn two_instances() -> Option<(TestDb, Instance, Instance, Services)> {
    let db = TestDb::fresh().await.unwrap();
    if !db.is_postgres() {
        eprintln!("several instances need PostgreSQL: set ROSTER_TEST_POSTGRES_URL (.ci/run does)");
        return None;
    }
    // Both migrate the empty database at once; PostgreSQL's advisory lock lets one apply the migrations.
    let (mut a, mut b) = (Instance::start(&db.url), Instance::start(&db.url));
    a.learn_address();
    b.learn_address();
    a.ready().await;
    b.ready().await;
    let pool = Db::connect(&db.url).await.unwrap();
    if let Db::Postgres(p) = &pool {
        let (applied, distinct): (i64, i64) =
            sqlx::query_as("select count(*), count(distinct version) from _sqlx_migrations where success")
                .fetch_one(&p.read)
                .await
                .unwrap();
        let files = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../migrations/postgres")).unwrap().count();
        assert_eq!((applied, distinct), (files as i64, files as i64), "every migration applied exactly once");
    }
    let mut services = Services::new(pool.store());
    services.webhooks =
        services.webhooks.with_policy(false, roster::service::NetworkPolicy::parse("127.0.0.0/8").unwrap());
    Some((db, a, b, services))
}

#[tokio::test]
async fn two_instances_on_one_postgres_share_sessions_seats_members_and_switches() {
    let Some((_db, a, b, services)) = two_instances().await else { return };
    let ctx = Ctx::cli("test");
    let (_, token) = services.tokens.create(&ctx, roster::model::TokenKind::Scim, "Okta").await.unwrap();
    services.settings.set_scim_enabled(&ctx, true).await.unwrap();
    services.settings.set_seats(&ctx, 20).await.unwrap();

    // A session made on one instance works on the other.
    services
        .admins
        .create(&ctx, "ada@example.com", "correct horse battery", roster::model::Role::Owner, false)
        .await
        .unwrap();
    let browser =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let login = browser
        .post(format!("{}/api/login", a.base))
        .header("Accept", "text/html")
        .header("Origin", &a.base)
        .form(&[("email", "ada@example.com"), ("password", "correct horse battery")])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::FOUND);
    let page = browser.get(format!("{}/users", b.base)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK, "signed in on A, the session works on B");

    // Concurrent creates through both never exceed the seats: 30 for 20 seats.
    let creates = (0..30).map(|i| {
        let (inst, token) = (if i % 2 == 0 { &a } else { &b }, token.clone());
        async move {
            inst.scim(&token, reqwest::Method::POST, "/Users", Some(okta_user(&format!("u{i}@example.com")))).await
        }
    });
    let results = futures_util::future::join_all(creates).await;
    let created: Vec<String> = results
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .map(|(_, b)| b["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(created.len(), 20, "{results:?}");
    assert!(results.iter().all(|(s, _)| *s == StatusCode::CREATED || *s == StatusCode::FORBIDDEN));
    assert_eq!(services.settings.seats().await.unwrap().used, 20);

    // Concurrent member adds through both lose none.
    let (s, group) = a.scim(&token, reqwest::Method::POST, "/Groups", Some(json!({"displayName": "Eng"}))).await;
    assert_eq!(s, StatusCode::CREATED);
    let gid = group["id"].as_str().unwrap().to_owned();
    let adds = created.iter().enumerate().map(|(i, id)| {
        let (inst, token, path) = (if i % 2 == 0 { &a } else { &b }, token.clone(), format!("/Groups/{gid}"));
        let ops = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "add", "path": "members", "value": [{"value": id}]}]});
        async move { inst.scim(&token, reqwest::Method::PATCH, &path, Some(ops)).await.0 }
    });
    let statuses = futures_util::future::join_all(adds).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::NO_CONTENT), "{statuses:?}");
    let (_, g) = b.scim(&token, reqwest::Method::GET, &format!("/Groups/{gid}"), None).await;
    assert_eq!(g["members"].as_array().map(Vec::len), Some(20), "no member lost");
    // Both instances wrote log entries at once, and they form one chain in commit order.
    let chain = services.audit.verify().await.unwrap();
    assert_eq!(chain.broken, None);
    assert!(chain.checked >= 50, "{}", chain.checked);

    // Seats changed through one instance hold on the other at once (they are read in each write's transaction).
    let (s, _) = b.scim(&token, reqwest::Method::POST, "/Users", Some(okta_user("late@example.com"))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    services.settings.set_seats(&ctx, 21).await.unwrap();
    let (s, _) = b.scim(&token, reqwest::Method::POST, "/Users", Some(okta_user("late@example.com"))).await;
    assert_eq!(s, StatusCode::CREATED);

    // SCIM off and a revoked token: each instance remembers an authentication for at most a second (docs/operations.md).
    let (s, _) = b.scim(&token, reqwest::Method::GET, "/Users?count=1", None).await;
    assert_eq!(s, StatusCode::OK);
    services.settings.set_scim_enabled(&ctx, false).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (s, body) = b.scim(&token, reqwest::Method::GET, "/Users?count=1", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "SCIM off on A is off on B a second later: {body}");
    services.settings.set_scim_enabled(&ctx, true).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (s, _) = a.scim(&token, reqwest::Method::GET, "/Users?count=1", None).await;
    assert_eq!(s, StatusCode::OK);
    services.tokens.revoke(&ctx, roster::model::TokenKind::Scim, "Okta").await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    for inst in [&a, &b] {
        let (s, _) = inst.scim(&token, reqwest::Method::GET, "/Users?count=1", None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "a revoked token fails on every instance a second later");
    }
}

/// Two instances deliver one endpoint's events: each attempt is made by one instance only, so a receiver that always
/// answers 200 gets each event exactly once, in commit order.
#[tokio::test]
async fn two_instances_never_deliver_one_attempt_twice() {
    let Some((_db, a, b, services)) = two_instances().await else { return };
    let ctx = Ctx::cli("test");
    let (_, token) = services.tokens.create(&ctx, roster::model::TokenKind::Scim, "Okta").await.unwrap();
    services.settings.set_scim_enabled(&ctx, true).await.unwrap();
    let receiver = testkit::Receiver::start().await;
    let (endpoint, _) = services.webhooks.add(&ctx, &receiver.url, "user.created").await.unwrap();
    let writes: Vec<_> = (0..40)
        .map(|i| {
            let (instance, token) = (if i % 2 == 0 { &a } else { &b }, token.clone());
            let user = okta_user(&format!("hook{i}@example.com"));
            async move { instance.scim(&token, reqwest::Method::POST, "/Users", Some(user)).await.0 }
        })
        .collect();
    for status in futures_util::future::join_all(writes).await {
        assert_eq!(status, StatusCode::CREATED);
    }
    let got = receiver.wait_for(40, Duration::from_secs(30)).await;
    // Time for a duplicate to show up, if one were coming.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let got = receiver.received().len().max(got.len());
    assert_eq!(got, 40, "each event exactly once");
    let ids: Vec<String> =
        receiver.received().iter().map(|d| d.headers["webhook-id"].to_str().unwrap().to_owned()).collect();
    let unique: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), 40);
    let (_, deliveries) = services.webhooks.detail(&endpoint.id).await.unwrap();
    let mut seqs: Vec<i64> = deliveries.iter().map(|d| d.event_seq).collect();
    assert!(deliveries.iter().all(|d| d.outcome == roster::model::DeliveryOutcome::Delivered && d.attempt == 1));
    seqs.reverse();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in commit order");
}
